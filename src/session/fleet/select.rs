//! Choosing the hosts of a fleet: names and aids (in any mix) and FQL filters resolved through
//! the devices API with paging and de-duplication, and their online state.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use futures_util::stream;

use crate::falcon::devices::{Device, fql_quote};
use crate::falcon::{FalconClient, FalconError};

/// Hostnames per devices query when resolving a list of names.
const NAMES_PER_QUERY: usize = 100;
/// Concurrent online-state requests (100 ids each).
const ONLINE_CONCURRENCY: usize = 8;
/// Which hosts the user asked for.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Hostnames (exact, case-insensitive) or aids (32 hex characters), in any mix.
    pub names: Vec<String>,
    /// An FQL filter of the devices API.
    pub filter: Option<String>,
}

/// The hosts a [`Selection`] resolved to.
#[derive(Debug, Default)]
pub struct Resolved {
    pub devices: Vec<Device>,
    /// Names and aids that matched no host.
    pub unmatched: Vec<String>,
    /// Names that matched several hosts (all are taken), with how many.
    pub ambiguous: Vec<(String, usize)>,
}

fn is_aid(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Resolves names, aids and a filter to hosts, de-duplicated by aid, in the order given
/// (filter matches sorted by hostname).
pub async fn resolve(client: &FalconClient, sel: &Selection) -> Result<Resolved, FalconError> {
    let mut aids: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen_names = HashSet::new();
    for n in &sel.names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        if is_aid(n) {
            aids.push(n.to_ascii_lowercase());
        } else if seen_names.insert(n.to_ascii_lowercase()) {
            names.push(n.to_string());
        }
    }
    let given_aids: Vec<String> = aids.clone();
    // Names: one query per hundred (`hostname:['a','b',...]`), a few at a time.
    let queries: Vec<String> = names
        .chunks(NAMES_PER_QUERY)
        .map(|c| {
            let list: Vec<String> = c.iter().map(|n| fql_quote(n)).collect();
            format!("hostname:[{}]", list.join(","))
        })
        .collect();
    let mut found = stream::iter(queries)
        .map(|q| {
            let client = client.clone();
            async move { client.query_all_devices(&q).await }
        })
        .buffered(4);
    while let Some(ids) = found.next().await {
        aids.extend(ids?);
    }
    if let Some(f) = sel.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        aids.extend(client.query_all_devices(f).await?);
    }
    let mut unique = HashSet::new();
    aids.retain(|a| unique.insert(a.clone()));
    let devices = client.get_devices(&aids).await?;
    let by_id: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.device_id.as_str(), i))
        .collect();
    let mut order: Vec<usize> = aids
        .iter()
        .filter_map(|a| by_id.get(a.as_str()).copied())
        .collect();
    let mut dedup = HashSet::new();
    order.retain(|i| dedup.insert(*i));
    let mut unmatched: Vec<String> = given_aids
        .into_iter()
        .filter(|a| !by_id.contains_key(a.as_str()))
        .collect();
    let mut per_name: HashMap<String, usize> = HashMap::new();
    for d in &devices {
        *per_name.entry(d.hostname.to_ascii_lowercase()).or_default() += 1;
    }
    let mut ambiguous = Vec::new();
    for n in names {
        match per_name.get(&n.to_ascii_lowercase()) {
            None => unmatched.push(n),
            Some(&k) if k > 1 => ambiguous.push((n, k)),
            Some(_) => {}
        }
    }
    let mut slots: Vec<Option<Device>> = devices.into_iter().map(Some).collect();
    let devices = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(Resolved {
        devices,
        unmatched,
        ambiguous,
    })
}

/// Online state of each aid (`true` online), 100 ids per request, a few requests at a time.
/// Aids the API does not mention are left out.
pub async fn online_states(
    client: &FalconClient,
    aids: &[String],
) -> Result<HashMap<String, bool>, FalconError> {
    let mut out = HashMap::with_capacity(aids.len());
    let mut replies = stream::iter(aids.chunks(100))
        .map(|chunk| {
            let client = client.clone();
            async move { client.online_states(chunk).await }
        })
        .buffer_unordered(ONLINE_CONCURRENCY);
    while let Some(states) = replies.next().await {
        for s in states? {
            out.insert(s.id, s.state.eq_ignore_ascii_case("online"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aids_are_told_from_names() {
        assert!(is_aid("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_aid("DESKTOP-01"));
    }
}
