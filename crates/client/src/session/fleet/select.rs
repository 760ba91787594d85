//! Choosing the hosts of a fleet: names and aids (in any mix) and FQL filters resolved through
//! the devices API with paging and de-duplication, and their online state.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use futures_util::stream;

use crate::devices::Device;
use crate::ids::Aid;
use crate::session::names;
use crate::{FalconClient, FalconError};

/// Concurrent online-state requests (100 ids each).
const ONLINE_CONCURRENCY: usize = 32;
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
    /// "Did you mean" for the first few unmatched names that have near names.
    pub suggestions: Vec<(String, Vec<String>)>,
    /// Names that matched several hosts (all are taken), with how many.
    pub ambiguous: Vec<(String, usize)>,
}

/// Unmatched names that get a "did you mean" (each may cost a devices query).
const SUGGESTED_NAMES: usize = 5;

fn is_aid(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Resolves names, aids and a filter to hosts, de-duplicated by aid, in the order given
/// (a name's hosts most recently seen first; filter matches sorted by hostname). Names are
/// matched as [`crate::session::names`] explains: equal, ignoring case, never by prefix.
pub async fn resolve(client: &FalconClient, sel: &Selection) -> Result<Resolved, FalconError> {
    let mut aids: Vec<Aid> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for n in &sel.names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        if is_aid(n) {
            aids.push(Aid::new(n.to_ascii_lowercase()));
        } else {
            names.push(n.to_string());
        }
    }
    let given_aids: Vec<Aid> = aids.clone();
    let mut by_name = names::find_names(client, &names).await?;
    if let Some(f) = sel.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        aids.extend(client.query_all_devices(f).await?);
    }
    let mut unique = HashSet::new();
    aids.retain(|a| unique.insert(a.clone()));
    let mut devices = client.get_devices(&aids).await?;
    let mut unmatched: Vec<String> = {
        let found: HashSet<&str> = devices.iter().map(|d| d.device_id.as_str()).collect();
        given_aids
            .into_iter()
            .filter(|a| !found.contains(a.as_str()))
            .map(String::from)
            .collect()
    };
    let mut ambiguous = Vec::new();
    let mut suggestions = Vec::new();
    let mut from_names: Vec<Device> = Vec::new();
    let mut asked = 0;
    for m in &mut by_name {
        match m.hosts.len() {
            0 => {
                // Each look-up may cost requests: only for the first few unmatched names.
                if asked < SUGGESTED_NAMES {
                    asked += 1;
                    let near = names::suggestions(client, m).await?;
                    if !near.is_empty() {
                        suggestions.push((m.name.clone(), near));
                    }
                }
                unmatched.push(m.name.clone());
            }
            1 => {}
            k => ambiguous.push((m.name.clone(), k)),
        }
        from_names.append(&mut m.hosts);
    }
    // Names first (in the order given), then aids and the filter's matches, each host once.
    // Sorted in place: at 50,000 hosts every copy of the list is 12 MB.
    let mut seen = HashSet::new();
    from_names.retain(|d| seen.insert(d.device_id.clone()));
    {
        let rank: HashMap<&str, usize> = aids
            .iter()
            .enumerate()
            .map(|(i, a)| (a.as_str(), i))
            .collect();
        devices.retain(|d| rank.contains_key(d.device_id.as_str()));
        devices.sort_unstable_by_key(|d| rank[d.device_id.as_str()]);
    }
    devices.dedup_by(|a, b| a.device_id == b.device_id);
    let out = if from_names.is_empty() {
        devices
    } else {
        devices.retain(|d| !seen.contains(&d.device_id));
        from_names.append(&mut devices);
        from_names
    };
    Ok(Resolved {
        devices: out,
        unmatched,
        suggestions,
        ambiguous,
    })
}

/// Online state of each aid (`true` online), 100 ids per request, a few requests at a time.
/// Aids the API does not mention are left out, and so are those of a page that failed (after
/// the client's own retries): an unknown state is no reason to give up on the whole fleet (the
/// batch init then says which hosts are offline). Authentication and connection failures stop
/// it. The second value: the first failure, when some pages failed.
pub async fn online_states(
    client: &FalconClient,
    aids: &[Aid],
) -> Result<(HashMap<Aid, bool>, Option<FalconError>), FalconError> {
    let mut out = HashMap::with_capacity(aids.len());
    let mut failure = None;
    let mut replies = stream::iter(aids.chunks(100))
        .map(|chunk| {
            let client = client.clone();
            async move { client.online_states(chunk).await }
        })
        .buffer_unordered(ONLINE_CONCURRENCY);
    while let Some(states) = replies.next().await {
        match states {
            Ok(states) => {
                for s in states {
                    out.insert(s.id, s.state.eq_ignore_ascii_case("online"));
                }
            }
            Err(e) if e.is_auth_or_connection() => return Err(e),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    Ok((out, failure))
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
