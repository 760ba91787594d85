//! Host lookup: FQL queries, device details and online state (reference §5).

use serde::Deserialize;
use serde_json::json;

use crate::falcon::client::FalconClient;
use crate::falcon::error::FalconError;
use crate::falcon::{Envelope, null_default};

/// The fields of `deviceapi.DeviceSwagger` rtrsh uses.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Device {
    #[serde(default, deserialize_with = "null_default")]
    pub device_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cid: String,
    #[serde(default, deserialize_with = "null_default")]
    pub hostname: String,
    #[serde(default, deserialize_with = "null_default")]
    pub platform_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub os_version: String,
    #[serde(default, deserialize_with = "null_default")]
    pub last_seen: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_default")]
    pub local_ip: String,
    #[serde(default, deserialize_with = "null_default")]
    pub product_type_desc: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
}

/// One entry of the online-state endpoint.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct OnlineState {
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
}

/// One page of a devices query.
#[derive(Clone, Debug, Default)]
pub struct IdPage {
    pub ids: Vec<String>,
    pub total: u64,
}

/// The most aids one selection may hold: far beyond the largest tenants, a guard against a
/// server that keeps inventing ids.
pub const MAX_SELECTION: usize = 2_000_000;

/// One page of a devices scroll query.
#[derive(Clone, Debug, Default)]
pub struct ScrollPage {
    pub ids: Vec<String>,
    /// Aids matching in all, when the reply says.
    pub total: Option<u64>,
    /// The token of the next page (`meta.pagination.offset`); empty when none was given.
    pub next: String,
}

/// Quotes a value for an FQL filter (`'...'`, with `'` and `\` escaped).
pub fn fql_quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

impl FalconClient {
    /// `GET /devices/queries/devices/v1`: one page of aids matching an FQL filter.
    pub async fn query_devices(
        &self,
        filter: &str,
        limit: u32,
        offset: u64,
        sort: Option<&str>,
    ) -> Result<IdPage, FalconError> {
        let mut q = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        if !filter.is_empty() {
            q.push(("filter", filter.to_string()));
        }
        if let Some(s) = sort {
            q.push(("sort", s.to_string()));
        }
        let reply = self.get("/devices/queries/devices/v1", &q).await?;
        let env: Envelope<Vec<String>> = reply.json()?;
        let total = env
            .meta
            .pagination
            .map(|p| p.total)
            .unwrap_or(env.resources.len() as u64);
        Ok(IdPage {
            ids: env.resources,
            total,
        })
    }

    /// `GET /devices/queries/devices-scroll/v1`: one page of aids matching an FQL filter, from
    /// the position an earlier page's token names (`""`: the start).
    pub async fn scroll_devices(
        &self,
        filter: &str,
        limit: u32,
        token: &str,
        sort: Option<&str>,
    ) -> Result<ScrollPage, FalconError> {
        let mut q = vec![("limit", limit.to_string())];
        if !token.is_empty() {
            q.push(("offset", token.to_string()));
        }
        if !filter.is_empty() {
            q.push(("filter", filter.to_string()));
        }
        if let Some(s) = sort {
            q.push(("sort", s.to_string()));
        }
        let reply = self.get("/devices/queries/devices-scroll/v1", &q).await?;
        let env: Envelope<Vec<String>> = reply.json()?;
        let (next, total) = env
            .meta
            .pagination
            .map_or((String::new(), None), |p| (p.offset, Some(p.total)));
        Ok(ScrollPage {
            ids: env.resources,
            total,
            next,
        })
    }

    /// Every aid matching a filter, 5,000 a page, de-duplicated, in the order the API gives.
    ///
    /// Through the scroll endpoint: the offset query stops at 10,000 results on real tenants
    /// (reference §5.1). The loop ends on a page that adds no new aid, once `total` aids are in
    /// hand, or when the API gives no next token or the same one again, so a server that
    /// misreports cannot keep it going; more than [`MAX_SELECTION`] aids is an error.
    pub async fn query_all_devices(&self, filter: &str) -> Result<Vec<String>, FalconError> {
        const PAGE: u32 = 5000;
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut token = String::new();
        let mut pages = 0usize;
        loop {
            let page = self
                .scroll_devices(filter, PAGE, &token, Some("hostname.asc"))
                .await?;
            pages += 1;
            let before = all.len();
            for id in page.ids {
                if seen.insert(id.clone()) {
                    all.push(id);
                }
            }
            let added = all.len() - before;
            let complete = page.total.is_some_and(|t| all.len() as u64 >= t);
            let stuck = page.next.is_empty() || page.next == token;
            if added == 0 || complete || stuck {
                return Ok(all);
            }
            if all.len() > MAX_SELECTION {
                return Err(FalconError::Decode {
                    path: "/devices/queries/devices-scroll/v1".into(),
                    detail: format!(
                        "more than {MAX_SELECTION} hosts after {pages} pages; narrow the filter"
                    ),
                });
            }
            token = page.next;
        }
    }

    /// `POST /devices/entities/devices/v2`: details of hosts, 5,000 per request. Unknown ids
    /// are left out.
    pub async fn get_devices(&self, ids: &[String]) -> Result<Vec<Device>, FalconError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(5000) {
            let body = json!({ "ids": chunk });
            let reply = self.post_read("/devices/entities/devices/v2", &body).await;
            match reply {
                Ok(r) => out.extend(r.json::<Envelope<Vec<Device>>>()?.resources),
                // 404: none of these ids exist.
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `GET /devices/entities/online-state/v1`, 100 ids per request.
    pub async fn online_states(&self, ids: &[String]) -> Result<Vec<OnlineState>, FalconError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let q: Vec<(&str, String)> = chunk.iter().map(|id| ("ids", id.clone())).collect();
            match self.get("/devices/entities/online-state/v1", &q).await {
                Ok(r) => out.extend(r.json::<Envelope<Vec<OnlineState>>>()?.resources),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fql_quoting() {
        assert_eq!(fql_quote("DESKTOP-01"), "'DESKTOP-01'");
        assert_eq!(fql_quote("o'brien\\x"), "'o\\'brien\\\\x'");
    }
}
