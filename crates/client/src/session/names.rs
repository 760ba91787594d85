//! Finding hosts by the names analysts type: one code path for `--host NAME`, a list of
//! `--host`s and `--hosts-file`.
//!
//! The devices API does not match names the way an analyst means them (docs/protocol.md,
//! "Host-name matching"): `hostname:'X'` is a case-insensitive *prefix* match on real tenants
//! (DESKTOP-01 also finds DESKTOP-010 and DESKTOP-01-OLD), and the list form `hostname:['X']` is
//! exact but case-sensitive (`desktop-01` misses DESKTOP-01). So rtrsh asks in the form that cannot
//! miss the host, the single form, ORed for up to [`NAMES_PER_QUERY`] names, and decides itself: a
//! host is a match when its name *equals* the typed one, ignoring case; the other hosts the query
//! brought back are only offered as "did you mean". Under a server that matches names exactly, the
//! same query finds the same hosts, so the answer does not depend on the reading.
//!
//! A typed name is a literal: one holding `*` is never sent (no host name can contain it, and
//! the API would read it as a wildcard); `--filter` is the way to ask with FQL.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use futures_util::StreamExt;
use futures_util::stream;

use crate::devices::{Device, fql_quote};
use crate::{FalconClient, FalconError};

/// Names per devices query. PSFalcon's `Find-FalconHostname` puts 100 names in one filter.
pub const NAMES_PER_QUERY: usize = 100;
/// Name queries in flight at once.
const QUERY_CONCURRENCY: usize = 4;
/// "Did you mean" names offered per typed name.
pub const MAX_SUGGESTIONS: usize = 5;

/// What one typed name found.
#[derive(Clone, Debug, Default)]
pub struct NameMatch {
    /// The name as typed (trimmed).
    pub name: String,
    /// The hosts whose name equals it, ignoring case; most recently seen first.
    pub hosts: Vec<Device>,
    /// Other host names the query brought back (names that start with it), closest first.
    pub near: Vec<String>,
}

/// Whether a typed name can be sent to the API as a name (see the module notes).
pub fn is_literal_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('*')
}

/// Finds the hosts of each name (trimmed; names equal but for case are asked once), in the
/// order given.
pub async fn find_names(
    client: &FalconClient,
    names: &[String],
) -> Result<Vec<NameMatch>, FalconError> {
    let mut typed: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for n in names {
        let n = n.trim();
        if !n.is_empty() && seen.insert(n.to_lowercase()) {
            typed.push(n.to_string());
        }
    }
    let askable: Vec<&String> = typed.iter().filter(|n| is_literal_name(n)).collect();
    let queries: Vec<String> = askable
        .chunks(NAMES_PER_QUERY)
        .map(|chunk| {
            chunk
                .iter()
                .map(|n| format!("hostname:{}", fql_quote(n)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let mut replies = stream::iter(queries)
        .map(|q| {
            let client = client.clone();
            async move { client.query_all_devices(&q).await }
        })
        .buffered(QUERY_CONCURRENCY);
    let mut aids = Vec::new();
    let mut unique = HashSet::new();
    while let Some(ids) = replies.next().await {
        aids.extend(ids?.into_iter().filter(|a| unique.insert(a.clone())));
    }
    let devices = client.get_devices(&aids).await?;
    // Sorted: the names that start with a typed one are one range (no scan per name).
    let mut by_name: BTreeMap<String, Vec<&Device>> = BTreeMap::new();
    for d in &devices {
        by_name
            .entry(d.hostname.to_lowercase())
            .or_default()
            .push(d);
    }
    let mut out = Vec::with_capacity(typed.len());
    for name in typed {
        let key = name.to_lowercase();
        let mut hosts: Vec<Device> = by_name
            .get(&key)
            .map(|v| v.iter().map(|d| (*d).clone()).collect())
            .unwrap_or_default();
        hosts.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
        // "Did you mean" is only wanted for a name that matched nothing.
        let mut near: Vec<String> = if hosts.is_empty() && is_literal_name(&name) {
            by_name
                .range::<str, _>((Bound::Excluded(key.as_str()), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(&key))
                .filter_map(|(_, v)| v.first().map(|d| d.hostname.clone()))
                .collect()
        } else {
            Vec::new()
        };
        near.sort_by_key(|n| (edit_distance(&n.to_lowercase(), &key), n.clone()));
        near.truncate(MAX_SUGGESTIONS);
        out.push(NameMatch { name, hosts, near });
    }
    Ok(out)
}

/// Host names close to `name` (same first three characters, closest first), for a name that
/// matched nothing.
pub async fn near_names(client: &FalconClient, name: &str) -> Result<Vec<String>, FalconError> {
    let prefix: String = name.chars().take_while(|c| *c != '*').take(3).collect();
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    let near = client
        .query_devices(
            &format!("hostname:{}", fql_quote(&format!("{prefix}*"))),
            500,
            0,
            None,
        )
        .await?;
    let devices = client.get_devices(&near.ids).await?;
    let key = name.to_lowercase();
    let mut names: Vec<String> = devices.into_iter().map(|d| d.hostname).collect();
    names.sort_by_key(|n| (edit_distance(&n.to_lowercase(), &key), n.clone()));
    names.dedup();
    names.truncate(MAX_SUGGESTIONS);
    Ok(names)
}

/// "Did you mean" for a name that matched nothing: the hosts its query brought back, or else
/// names close to it.
pub async fn suggestions(client: &FalconClient, m: &NameMatch) -> Result<Vec<String>, FalconError> {
    if !m.near.is_empty() {
        return Ok(m.near.clone());
    }
    near_names(client, &m.name).await
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("desktop-01", "desktop-01"), 0);
        assert_eq!(edit_distance("desktp-01", "desktop-01"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn names_with_wildcards_are_not_sent() {
        assert!(is_literal_name("DESKTOP-01"));
        assert!(!is_literal_name("DESKTOP-*"));
        assert!(!is_literal_name("*"));
        assert!(!is_literal_name(""));
    }
}
