//! Host lookup: FQL queries, device details and online state (reference §5).

use serde::Deserialize;
use serde_json::json;

use crate::falcon::client::{FalconClient, Safety};
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

    /// Every aid matching a filter, paging 5,000 at a time.
    pub async fn query_all_devices(&self, filter: &str) -> Result<Vec<String>, FalconError> {
        let mut all = Vec::new();
        loop {
            let page = self
                .query_devices(filter, 5000, all.len() as u64, Some("hostname.asc"))
                .await?;
            let n = page.ids.len();
            all.extend(page.ids);
            if n == 0 || all.len() as u64 >= page.total {
                return Ok(all);
            }
        }
    }

    /// `POST /devices/entities/devices/v2`: details of hosts, 5,000 per request. Unknown ids
    /// are left out.
    pub async fn get_devices(&self, ids: &[String]) -> Result<Vec<Device>, FalconError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(5000) {
            let body = json!({ "ids": chunk });
            let reply = self
                .send(
                    reqwest::Method::POST,
                    "/devices/entities/devices/v2",
                    &[],
                    Some(&body),
                    Safety::Retry,
                    std::time::Duration::ZERO,
                )
                .await;
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
