//! Batch RTR endpoints (docs/protocol.md, "Batch sessions" and "Batch commands"): batch init, batch
//! refresh, and the synchronous batch commands of the three tiers.
//!
//! A batch command reply holds every host's chunk 0 under `combined.resources`, keyed by aid: at
//! 10,000 hosts running `ps` that is ~44 MB of JSON. It is never turned into a
//! `serde_json::Value` tree: [`parse_batch_reply`] walks it with a streaming visitor and hands
//! each host to a callback as a [`HostReply`] whose strings borrow from the body where JSON
//! escaping allows, so only one host's decoded text exists at a time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, de};
use serde_json::json;

use crate::client::{FalconClient, parse_json};
use crate::error::{ApiErrorItem, FalconError};
use crate::ids::{Aid, BatchId, CloudRequestId, SessionId};
use crate::rtr::Status;
use crate::{Meta, null_default};
use rtrsh_command::Tier;

const INIT: &str = "/real-time-response/combined/batch-init-session/v1";
const REFRESH: &str = "/real-time-response/combined/batch-refresh-session/v1";
const GET: &str = "/real-time-response/combined/batch-get-command/v1";

/// The reply of a batch `get`: its request id (for the status endpoint) and each host's part.
#[derive(Debug, Default)]
pub struct BatchGet {
    pub req_id: String,
    pub hosts: HashMap<Aid, HostReply<'static>>,
    pub trace_id: Option<String>,
}

/// The most hosts one batch session may hold (the API's limit).
pub const MAX_BATCH_HOSTS: usize = 10_000;

/// A string field that may be `null` or missing, borrowed from the body when it has no escapes.
fn cow_str<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
    }
    d.deserialize_any(V)
}

/// One host's part of a batch reply (`domain.MultiStatusSensorResponse`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HostReply<'a> {
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub aid: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub session_id: Cow<'a, str>,
    /// The command's cloud_request_id (for more chunks or a queued result).
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub task_id: Cow<'a, str>,
    #[serde(default, deserialize_with = "null_default")]
    pub complete: bool,
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub stdout: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub stderr: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "cow_str")]
    pub base_command: Cow<'a, str>,
    #[serde(default, deserialize_with = "null_default")]
    pub errors: Vec<ApiErrorItem>,
    #[serde(default, deserialize_with = "null_default")]
    pub offline_queued: bool,
    #[serde(default)]
    pub sequence_id: Option<u64>,
}

impl HostReply<'_> {
    /// A copy that owns its text.
    pub fn into_owned(self) -> HostReply<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        HostReply {
            aid: own(self.aid),
            session_id: own(self.session_id),
            task_id: own(self.task_id),
            complete: self.complete,
            stdout: own(self.stdout),
            stderr: own(self.stderr),
            base_command: own(self.base_command),
            errors: self.errors,
            offline_queued: self.offline_queued,
            sequence_id: self.sequence_id,
        }
    }

    /// This host's chunk 0 as a check-status reply, to continue with the chunk loop.
    pub fn to_status(&self) -> Status {
        Status {
            complete: self.complete,
            stdout: self.stdout.to_string(),
            stderr: self.stderr.to_string(),
            session_id: SessionId::new(self.session_id.as_ref()),
            base_command: self.base_command.to_string(),
            task_id: CloudRequestId::new(self.task_id.as_ref()),
            sequence_id: self.sequence_id,
        }
    }

    /// Whether more output than this chunk 0 exists (under any of the chunk models of
    /// docs/protocol.md, "Chunk protocol"): a non-final piece with output, or a complete one naming
    /// a next index.
    pub fn has_more_chunks(&self) -> bool {
        let got = !self.stdout.is_empty() || !self.stderr.is_empty();
        got && (!self.complete || self.sequence_id.unwrap_or(0) > 0)
    }
}

/// The reply of a batch init: the batch id and each host's result (keyed by aid).
#[derive(Debug, Default)]
pub struct BatchInit {
    pub batch_id: BatchId,
    pub hosts: HashMap<Aid, HostReply<'static>>,
    pub trace_id: Option<String>,
}

#[derive(Deserialize)]
struct InitEnvelope<'a> {
    #[serde(default, deserialize_with = "null_default")]
    batch_id: BatchId,
    #[serde(default, borrow)]
    resources: Option<HashMap<Aid, HostReply<'a>>>,
}

/// One host of a batch refresh reply.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Refreshed {
    #[serde(default, deserialize_with = "null_default")]
    pub aid: Aid,
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub errors: Vec<ApiErrorItem>,
}

#[derive(Deserialize)]
struct RefreshEnvelope {
    #[serde(default, deserialize_with = "null_default")]
    resources: HashMap<Aid, Refreshed>,
}

/// One command line for a batch ([`FalconClient::batch_command`]).
#[derive(Clone, Copy)]
pub struct BatchCommand<'a> {
    pub tier: Tier,
    pub batch_id: &'a str,
    pub base_command: &'a str,
    pub command_string: &'a str,
    /// All of the batch (`None`), or just these hosts (never empty: `[]` would mean all).
    pub optional_hosts: Option<&'a [Aid]>,
    /// How long the server waits for the hosts.
    pub timeout: Duration,
    /// Read the reply only once a place here is free (see [`crate::client::ApiRequest::gate`]);
    /// the place is returned in [`BatchReplyInfo::permit`].
    pub gate: Option<&'a std::sync::Arc<tokio::sync::Semaphore>>,
}

/// What a batch command reply said besides the hosts.
#[derive(Debug, Default)]
pub struct BatchReplyInfo {
    pub trace_id: Option<String>,
    /// Top-level `errors` (per-host errors are in each [`HostReply`]).
    pub errors: Vec<ApiErrorItem>,
    /// Hosts handed to the callback.
    pub hosts: usize,
    /// The place taken in the gate the reply was read through, if any (see
    /// [`crate::client::ApiRequest::gate`]): freed when this is dropped.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Seconds for the API's `timeout` parameter (1–600).
fn timeout_secs(timeout: Duration) -> u64 {
    timeout.as_secs().clamp(1, 600)
}

impl FalconClient {
    /// Opens sessions on up to 10,000 hosts as one batch (or adds them to `existing_batch_id`).
    /// Each host also runs `pwd` (its `stdout`). Sent once: it changes no host, but a request
    /// that took effect opened sessions, and sending it again opens more; the caller decides
    /// (see `Fleet::connect`, which cleans up after a lost reply).
    pub async fn batch_init(
        &self,
        host_ids: &[Aid],
        queue_offline: bool,
        timeout: Duration,
        existing_batch_id: Option<&str>,
    ) -> Result<BatchInit, FalconError> {
        let secs = timeout_secs(timeout);
        let body = json!({
            "host_ids": host_ids,
            "queue_offline": queue_offline,
            "existing_batch_id": existing_batch_id.unwrap_or_default(),
        });
        let reply = self.post_batch(INIT, &body, secs).await?;
        let lossy = String::from_utf8_lossy(&reply.body);
        let env: InitEnvelope<'_> =
            serde_json::from_str(&lossy).map_err(|e| FalconError::Decode {
                path: INIT.to_string(),
                detail: e.to_string(),
            })?;
        Ok(BatchInit {
            batch_id: env.batch_id,
            hosts: env
                .resources
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_owned()))
                .collect(),
            trace_id: reply.trace_id,
        })
    }

    /// A batch POST with the API's `timeout` of `secs` (the request waits as long), sent once:
    /// it starts sessions or commands.
    async fn post_batch(
        &self,
        path: &str,
        body: &serde_json::Value,
        secs: u64,
    ) -> Result<crate::client::Reply, FalconError> {
        self.request(Method::POST, path)
            .query(&[("timeout", secs.to_string())])
            .json(body)
            .once()
            .server_wait(Duration::from_secs(secs))
            .bulk()
            .send()
            .await
    }

    /// `POST …/combined/batch-get-command/v1`: asks each of `optional_hosts` to send `path`
    /// to the cloud (docs/protocol.md, "Files"). Sent once (it is a command).
    pub async fn batch_get(
        &self,
        batch_id: &str,
        path: &str,
        optional_hosts: &[Aid],
        timeout: Duration,
    ) -> Result<BatchGet, FalconError> {
        let secs = timeout_secs(timeout);
        let body = json!({
            "batch_id": batch_id,
            "file_path": path,
            "optional_hosts": optional_hosts,
        });
        let reply = self.post_batch(GET, &body, secs).await?;
        let mut hosts = HashMap::new();
        parse_batch_reply(&reply.body, GET, &mut |h| {
            hosts.insert(Aid::new(h.aid.as_ref()), h.into_owned());
        })?;
        let v: serde_json::Value = reply.json()?;
        Ok(BatchGet {
            req_id: v["batch_get_cmd_req_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            hosts,
            trace_id: reply.trace_id,
        })
    }

    /// `GET …/combined/batch-get-command/v1?batch_get_cmd_req_id=`: the files that have
    /// reached the cloud so far, by aid (hosts still uploading are absent).
    pub async fn batch_get_status(
        &self,
        req_id: &str,
    ) -> Result<HashMap<Aid, crate::files::SessionFile>, FalconError> {
        let reply = self
            .get(GET, &[("batch_get_cmd_req_id", req_id.to_string())])
            .await?;
        let v: serde_json::Value = reply.json()?;
        let text = |f: &serde_json::Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
        let mut out = HashMap::new();
        if let Some(files) = v["resources"].as_object() {
            for (aid, f) in files {
                // `model.File`: `id` is a number here, so the fields are read one by one.
                out.insert(
                    Aid::new(aid.to_ascii_lowercase()),
                    crate::files::SessionFile {
                        cloud_request_id: CloudRequestId::new(text(f, "cloud_request_id")),
                        session_id: SessionId::new(text(f, "session_id")),
                        name: text(f, "name"),
                        sha256: text(f, "sha256"),
                        size: f["size"].as_u64().unwrap_or(0),
                        complete: true,
                        progress: 1.0,
                        created_at: text(f, "created_at"),
                        ..Default::default()
                    },
                );
            }
        }
        Ok(out)
    }

    /// Keeps a batch's sessions alive; `hosts_to_remove` leave the batch.
    pub async fn batch_refresh(
        &self,
        batch_id: &str,
        hosts_to_remove: &[Aid],
    ) -> Result<Vec<Refreshed>, FalconError> {
        let body = json!({ "batch_id": batch_id, "hosts_to_remove": hosts_to_remove });
        let reply = self.post_repeatable(REFRESH, &body).await?;
        let env: RefreshEnvelope = parse_json(&reply.body, REFRESH)?;
        Ok(env.resources.into_values().collect())
    }

    /// Runs one command line on a batch ([`BatchCommand`]) and waits up to its `timeout` for
    /// the hosts. Each host's result goes to `on_host` as the reply is parsed. Never re-sent
    /// once it may have reached the API.
    pub async fn batch_command(
        &self,
        cmd: &BatchCommand<'_>,
        on_host: &mut (dyn FnMut(HostReply<'_>) + Send),
    ) -> Result<BatchReplyInfo, FalconError> {
        let BatchCommand {
            tier,
            batch_id,
            base_command,
            command_string,
            optional_hosts,
            timeout,
            gate,
        } = *cmd;
        let secs = timeout_secs(timeout);
        let mut body = json!({
            "base_command": base_command,
            "command_string": command_string,
            "batch_id": batch_id,
            "persist_all": false,
        });
        if let Some(hosts) = optional_hosts {
            debug_assert!(!hosts.is_empty(), "never send [] to mean every host");
            body["optional_hosts"] = json!(hosts);
        }
        let path = tier.batch_path();
        let mut reply = self
            .request(Method::POST, path)
            .query(&[("timeout", secs.to_string())])
            .json(&body)
            .once()
            .server_wait(Duration::from_secs(secs))
            .bulk()
            .gate(gate)
            .send()
            .await?;
        let parsed = parse_batch_reply(&reply.body, path, on_host);
        self.recycle(std::mem::take(&mut reply.body));
        let mut info = parsed?;
        info.trace_id = reply.trace_id.take();
        info.permit = reply.permit.take();
        Ok(info)
    }
}

/// Walks a batch command reply, handing every host of `combined.resources` to `on_host`.
/// A body that is not valid UTF-8 (raw bytes from a host) is decoded with replacement
/// characters first, as [`FalconClient`] does for every reply.
pub fn parse_batch_reply(
    body: &[u8],
    path: &str,
    on_host: &mut dyn FnMut(HostReply<'_>),
) -> Result<BatchReplyInfo, FalconError> {
    let lossy;
    let text: &str = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) => {
            lossy = String::from_utf8_lossy(body).into_owned();
            &lossy
        }
    };
    let mut info = BatchReplyInfo::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = TopSeed {
        on_host,
        info: &mut info,
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| FalconError::Decode {
            path: path.to_string(),
            detail: e.to_string(),
        })?;
    Ok(info)
}

/// The top-level object: `meta`, `errors`, `combined`.
struct TopSeed<'f, 'g> {
    on_host: &'f mut dyn FnMut(HostReply<'_>),
    info: &'g mut BatchReplyInfo,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch command reply")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "combined" => map.next_value_seed(HostsSeed {
                    on_host: &mut *self.on_host,
                    count: &mut self.info.hosts,
                    at_resources: false,
                })?,
                "errors" => {
                    self.info.errors = map
                        .next_value::<Option<Vec<ApiErrorItem>>>()?
                        .unwrap_or_default()
                }
                "meta" => {
                    let _: Option<Meta> = map.next_value()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `combined` (`{resources: {aid: host, ...}}`, or `null`) and, one level down, its `resources`:
/// one [`HostReply`] per aid, handed on one at a time.
struct HostsSeed<'f, 'c> {
    on_host: &'f mut dyn FnMut(HostReply<'_>),
    count: &'c mut usize,
    /// At `resources` (the hosts), not at `combined`.
    at_resources: bool,
}

impl<'de> DeserializeSeed<'de> for HostsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HostsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.at_resources {
            "an object keyed by aid"
        } else {
            "an object with resources"
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.at_resources {
                let mut host: HostReply<'de> = map.next_value()?;
                if host.aid.is_empty() {
                    host.aid = key;
                }
                *self.count += 1;
                (self.on_host)(host);
            } else if key == "resources" {
                map.next_value_seed(HostsSeed {
                    on_host: &mut *self.on_host,
                    count: &mut *self.count,
                    at_resources: true,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_hosts_with_borrowed_text() {
        let body = br#"{"meta":{"trace_id":"t"},"errors":null,"combined":{"resources":{
            "a1":{"aid":"a1","session_id":"s","task_id":"c1","complete":true,"stdout":"plain","stderr":"","errors":[],"offline_queued":false},
            "a2":{"session_id":"s2","task_id":"c2","complete":false,"stdout":"line\n","stderr":null,"errors":null,"sequence_id":1},
            "a3":{"aid":"a3","session_id":"","complete":false,"stdout":"","stderr":"","errors":[{"code":40401,"message":"offline"}]}
        }}}"#;
        let mut seen = Vec::new();
        let info = parse_batch_reply(body, "/x", &mut |h| {
            let borrowed = matches!(h.stdout, Cow::Borrowed(_));
            seen.push((
                h.aid.to_string(),
                h.stdout.to_string(),
                borrowed,
                h.has_more_chunks(),
                h.errors.first().map(|e| e.code),
            ));
        })
        .expect("parses");
        assert_eq!(info.hosts, 3);
        assert!(info.errors.is_empty());
        assert_eq!(seen[0], ("a1".into(), "plain".into(), true, false, None));
        // Escaped text is decoded (owned); the aid comes from the key when missing.
        assert_eq!(seen[1], ("a2".into(), "line\n".into(), false, true, None));
        assert_eq!(seen[2].4, Some(40401));
    }

    #[test]
    fn tolerates_null_combined_and_invalid_utf8() {
        let info = parse_batch_reply(br#"{"combined":null,"errors":[]}"#, "/x", &mut |_| {})
            .expect("null combined");
        assert_eq!(info.hosts, 0);
        let body =
            b"{\"combined\":{\"resources\":{\"a\":{\"stdout\":\"x\xffy\",\"complete\":true}}}}";
        let mut out = String::new();
        parse_batch_reply(body, "/x", &mut |h| out = h.stdout.to_string()).expect("lossy");
        assert_eq!(out, "x\u{fffd}y");
        assert!(parse_batch_reply(b"{", "/x", &mut |_| {}).is_err());
    }

    #[test]
    fn more_chunks_under_every_model() {
        let h = |complete, out: &'static str, seq| HostReply {
            complete,
            stdout: Cow::Borrowed(out),
            sequence_id: seq,
            ..Default::default()
        };
        assert!(!h(true, "all", None).has_more_chunks());
        assert!(h(false, "piece", Some(1)).has_more_chunks()); // next
        assert!(h(false, "piece", Some(0)).has_more_chunks()); // echo
        assert!(h(true, "piece", Some(1)).has_more_chunks()); // splunk
        assert!(!h(false, "", None).has_more_chunks()); // timed out: nothing yet
    }
}
