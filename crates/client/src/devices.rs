//! Host lookup: FQL queries, device details and online state (docs/protocol.md, "Host lookup").

use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::FalconClient;
use crate::error::{ApiErrorItem, FalconError};
use crate::ids::Aid;
use crate::{Envelope, null_default};

/// The devices action endpoint (`PerformActionV2`, scope `devices:write`).
pub const DEVICE_ACTIONS_PATH: &str = "/devices/entities/devices-actions/v2";

/// The most ids one devices action carries: PSFalcon sends `contain` and `lift_containment` in
/// groups of 500 (psfalcon#73, maintainer).
pub const ACTION_IDS_PER_REQUEST: usize = 500;

/// Ids per device-details request (the API's limit).
pub const DEVICES_PER_REQUEST: usize = 5_000;

/// Device-details requests in flight at once: a 50,000-host fleet's details come in the time
/// of three requests, not ten, and at most this many replies (~3 MB each) are held at once.
const DEVICE_REQUESTS_AT_ONCE: usize = 4;

/// Network containment of hosts (docs/protocol.md, "Containment").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Containment {
    /// `contain`: the host talks to the Falcon cloud only (RTR keeps working).
    Contain,
    /// `lift_containment`: its network is back to normal.
    Lift,
}

impl Containment {
    /// The `action_name` of the request.
    pub fn action_name(self) -> &'static str {
        match self {
            Containment::Contain => "contain",
            Containment::Lift => "lift_containment",
        }
    }

    /// The shell's word for it (`contain`, `lift`).
    pub fn word(self) -> &'static str {
        match self {
            Containment::Contain => "contain",
            Containment::Lift => "lift",
        }
    }
}

/// One `msa.AffectedEntity`.
#[derive(Clone, Debug, Default, Deserialize)]
struct AffectedEntity {
    #[serde(default, deserialize_with = "null_default")]
    id: Aid,
}

/// What a containment action did.
#[derive(Debug, Default)]
pub struct ActionOutcome {
    /// Aids the action was taken on (`resources`).
    pub done: Vec<Aid>,
    /// Per-host errors the API gave (`errors`; the message names the aid). Code 409: the host
    /// is already in, or on its way to, that state.
    pub errors: Vec<ApiErrorItem>,
    /// A request that failed as a whole (403 without the scope, ...): its hosts, and those of
    /// any later request, were not acted on.
    pub failed: Option<FalconError>,
}

/// The fields of `deviceapi.DeviceSwagger` rtrsh uses.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Device {
    #[serde(default, deserialize_with = "null_default")]
    pub device_id: Aid,
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
    pub id: Aid,
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
}

/// One page of a devices query.
#[derive(Clone, Debug, Default)]
pub struct IdPage {
    pub ids: Vec<Aid>,
    pub total: u64,
}

/// The most aids one selection may hold: far beyond the largest tenants, a guard against a
/// server that keeps inventing ids.
pub const MAX_SELECTION: usize = 2_000_000;

/// One page of a devices scroll query.
#[derive(Clone, Debug, Default)]
pub struct ScrollPage {
    pub ids: Vec<Aid>,
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
        let env: Envelope<Vec<Aid>> = reply.json()?;
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
        let env: Envelope<Vec<Aid>> = reply.json()?;
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
    /// (docs/protocol.md, "Host lookup"). The loop ends on a page that adds no new aid, once
    /// `total` aids are in hand, or when the API gives no next token or the same one again, so a
    /// server that misreports cannot keep it going; more than [`MAX_SELECTION`] aids is an error.
    pub async fn query_all_devices(&self, filter: &str) -> Result<Vec<Aid>, FalconError> {
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

    /// `POST /devices/entities/devices/v2`: details of hosts, [`DEVICES_PER_REQUEST`] per
    /// request, [`DEVICE_REQUESTS_AT_ONCE`] requests in flight (in the order asked). Unknown ids
    /// are left out.
    pub async fn get_devices(&self, ids: &[Aid]) -> Result<Vec<Device>, FalconError> {
        let mut out = Vec::with_capacity(ids.len());
        // Each request is read and parsed in a task of its own: side by side on the runtime's
        // threads. Dropping this stops them.
        let mut replies = stream::iter(ids.chunks(DEVICES_PER_REQUEST))
            .map(|chunk| {
                let client = self.clone();
                let body = json!({ "ids": chunk });
                crate::spawned(async move {
                    let page = client
                        .post_repeatable("/devices/entities/devices/v2", &body)
                        .await
                        .and_then(|r| {
                            let page = r.json::<Envelope<Vec<Device>>>();
                            client.recycle(r.body);
                            page
                        });
                    page.map(|p| p.resources)
                })
            })
            .buffered(DEVICE_REQUESTS_AT_ONCE);
        while let Some(page) = replies.next().await {
            match page {
                Ok(devices) => out.extend(devices),
                // 404: none of these ids exist.
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `POST /devices/entities/devices-actions/v2?action_name=...`: contains hosts or lifts their
    /// containment, [`ACTION_IDS_PER_REQUEST`] ids per request. The API answers per host: the
    /// hosts it acted on in `resources`, the others in `errors` (with 409, "already", when every
    /// host was already there; CrowdStrike's Ansible `host_contain` module reads it so). Stops at
    /// the first request that fails as a whole. Re-sending is safe: a host that took the action
    /// comes back as a 409.
    pub async fn device_action(&self, action: Containment, ids: &[Aid]) -> ActionOutcome {
        let mut out = ActionOutcome::default();
        for chunk in ids.chunks(ACTION_IDS_PER_REQUEST) {
            let body = json!({ "ids": chunk });
            let q = [("action_name", action.action_name().to_string())];
            let reply = self
                .request(Method::POST, DEVICE_ACTIONS_PATH)
                .query(&q)
                .json(&body)
                .send()
                .await;
            match reply {
                Ok(r) => match r.json::<Envelope<Vec<AffectedEntity>>>() {
                    Ok(env) => {
                        out.done.extend(env.resources.into_iter().map(|e| e.id));
                        out.errors.extend(env.errors);
                    }
                    Err(e) => {
                        out.failed = Some(e);
                        break;
                    }
                },
                // Every host of the request refused, each with its reason.
                Err(FalconError::Api {
                    status: 404 | 409,
                    errors,
                    ..
                }) if !errors.is_empty() => out.errors.extend(errors),
                Err(e) => {
                    out.failed = Some(e);
                    break;
                }
            }
        }
        out
    }

    /// `GET /devices/entities/online-state/v1`, 100 ids per request.
    pub async fn online_states(&self, ids: &[Aid]) -> Result<Vec<OnlineState>, FalconError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let q: Vec<(&str, String)> = chunk.iter().map(|id| ("ids", id.to_string())).collect();
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
