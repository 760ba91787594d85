//! Single-host RTR sessions: init (which re-uses the caller's live session on a host, as the
//! real API does), pulse, delete, list and details (with FQL), aggregates, and offline-queued
//! sessions and their commands.

use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::LogOrder;
use crate::fql::{self, Record};
use crate::handlers::devices::caller_owns;
use crate::handlers::{
    Body, Call, ZERO_TIME, body_ids, parse_filter, request_timeout, rfc3339, rfc3339_nanos,
};
use crate::http::{ApiError, ApiResult, PoweredBy, ok, ok_paged};
use crate::state::{Caller, CommandRec, Emulator, Inner, LogRec, SessionRec};
use rtrsh_command::{Tier, catalog};

const SESSIONS: &str = "/real-time-response/entities/sessions/v1";
const REFRESH: &str = "/real-time-response/entities/refresh-session/v1";

/// A stable UUID for an API client (the `user_uuid` of its sessions).
pub fn user_uuid(client_id: &str) -> String {
    let h = client_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    crate::rng::Rng::new(h).uuid()
}

/// The `domain.InitResponse` for a session.
fn init_resource(
    emu: &Emulator,
    caller: &Caller,
    s: &SessionRec,
    existing: u64,
    previous: Vec<String>,
) -> Value {
    let host = &emu.world.hosts()[s.host];
    // Like the real API, the help catalogue lists what the caller's role may run.
    let max = Tier::ALL
        .iter()
        .rev()
        .copied()
        .find(|t| caller.has_scope(t.scope()))
        .unwrap_or(Tier::ReadOnly);
    json!({
        "session_id": s.id,
        "pwd": s.cwd,
        "created_at": rfc3339_nanos(s.created_at),
        "existing_aid_sessions": existing,
        "offline_queued": s.offline_queued,
        "previous_commands": previous,
        "scripts": if s.offline_queued { json!([]) } else { catalog::script_help_for_tier(host.platform, max) },
        "device_id": host.aid,
        "platform": host.platform.api_name().to_ascii_lowercase(),
    })
}

/// Parsed `domain.InitRequest`.
struct InitRequest {
    host: usize,
    origin: String,
    queue_offline: bool,
}

fn parse_init(
    emu: &Emulator,
    caller: &Caller,
    path: &'static str,
    bytes: &Bytes,
) -> Result<InitRequest, ApiError> {
    let b = Body::parse(emu, "POST", path, bytes)?;
    let device_id = b.str("device_id", true, true)?.unwrap_or_default();
    let origin = b.str("origin", true, false)?.unwrap_or_default();
    let queue_offline = b.bool("queue_offline", true)?;
    let host = emu
        .host_index(&device_id)
        .filter(|&h| caller_owns(emu, caller, h))
        .ok_or_else(|| ApiError::not_found(format!("Could not find device {device_id}")))?;
    Ok(InitRequest {
        host,
        origin,
        queue_offline,
    })
}

/// Opens (or, as the real API does, re-uses) the caller's session on a host. Shared by the
/// single-host init and batch init. Returns the session id, whether it is new, and how many
/// live sessions the host has.
pub fn open_session(
    inner: &mut Inner,
    emu: &Emulator,
    caller: &Caller,
    host: usize,
    origin: &str,
    queue_offline: bool,
    now: Instant,
) -> Result<(String, bool), ApiError> {
    let idle = emu.config.session_idle;
    let key = (caller.client_id.clone(), host);
    let online = inner.online.get(host).copied().unwrap_or(false);
    if let Some(sid) = inner.session_of.get(&key).cloned()
        && let Ok(s) = inner.live_session(&sid, caller, idle, now)
        && (online || s.offline_queued)
    {
        s.last_active = now;
        s.updated_at = SystemTime::now();
        return Ok((sid, false));
    }
    if !online && !queue_offline {
        return Err(ApiError::rtr(40401, "Could not establish sensor comms"));
    }
    let id = inner.uuid();
    let at = SystemTime::now();
    inner.sessions.insert(
        id.clone(),
        SessionRec {
            id: id.clone(),
            host,
            owner: caller.client_id.clone(),
            cid: caller.cid.clone(),
            cwd: if online {
                emu.world.initial_cwd(host)
            } else {
                String::new()
            },
            origin: origin.to_string(),
            created_at: at,
            updated_at: at,
            last_active: now,
            deleted_at: None,
            offline_queued: !online,
            logs: Vec::new(),
        },
    );
    inner.session_of.insert(key, id.clone());
    Ok((id, true))
}

fn live_sessions_on(inner: &Inner, host: usize, idle: Duration, now: Instant) -> u64 {
    inner
        .sessions
        .values()
        .filter(|s| {
            s.host == host
                && s.deleted_at.is_none()
                && now.duration_since(s.last_active) < s.lifetime(idle, inner.queued_lifetime)
        })
        .count() as u64
}

/// `POST /real-time-response/entities/sessions/v1`
pub async fn init_session(Call { emu, caller, q }: Call, body: Bytes) -> ApiResult {
    let timeout = request_timeout(&q, &emu, SESSIONS)?;
    let req = parse_init(&emu, &caller, SESSIONS, &body)?;
    let now = Instant::now();
    let (sid, new, wait) = {
        let mut inner = emu.lock();
        let (sid, new) = open_session(
            &mut inner,
            &emu,
            &caller,
            req.host,
            &req.origin,
            req.queue_offline,
            now,
        )?;
        let hostname = &emu.world.hosts()[req.host].hostname;
        inner
            .stats
            .record_init(&sid, &emu.world.hosts()[req.host].aid, hostname, new);
        let online = inner.online.get(req.host).copied().unwrap_or(false);
        let wait = if online {
            emu.latency_for(req.host, 0).min(timeout)
        } else {
            Duration::ZERO
        };
        (sid, new, wait)
    };
    // The sensor runs `pwd` for the prompt before init answers.
    tokio::time::sleep(wait).await;
    let mut inner = emu.lock();
    // The session's idle clock starts when init answers, not when it was asked.
    if let Some(s) = inner.sessions.get_mut(&sid) {
        s.last_active = Instant::now();
    }
    let s = inner
        .sessions
        .get(&sid)
        .ok_or_else(|| ApiError::rtr(50007, "could not get session"))?;
    let previous = if new {
        Vec::new()
    } else {
        s.logs.iter().map(|l| l.command_string.clone()).collect()
    };
    let existing = live_sessions_on(&inner, s.host, emu.config.session_idle, Instant::now());
    Ok(ok(
        StatusCode::CREATED,
        PoweredBy::Rtr,
        json!([init_resource(&emu, &caller, s, existing, previous)]),
    ))
}

/// `POST /real-time-response/entities/refresh-session/v1` (the pulse)
pub async fn pulse(Call { emu, caller, .. }: Call, body: Bytes) -> ApiResult {
    let req = parse_init(&emu, &caller, REFRESH, &body)?;
    let now = Instant::now();
    let mut inner = emu.lock();
    let sid = inner
        .session_of
        .get(&(caller.client_id.clone(), req.host))
        .cloned()
        .ok_or_else(|| ApiError::rtr(40002, "Could not find existing session"))?;
    let s = inner.live_session(&sid, &caller, emu.config.session_idle, now)?;
    s.last_active = now;
    s.updated_at = SystemTime::now();
    let host = s.host;
    inner.stats.record_refresh(&sid);
    let existing = live_sessions_on(&inner, host, emu.config.session_idle, now);
    let s = inner
        .sessions
        .get(&sid)
        .ok_or_else(|| ApiError::rtr(50007, "could not get session"))?;
    Ok(ok(
        StatusCode::CREATED,
        PoweredBy::Rtr,
        json!([init_resource(&emu, &caller, s, existing, Vec::new())]),
    ))
}

/// `DELETE /real-time-response/entities/sessions/v1?session_id=...`
pub async fn delete_session(Call { emu, caller, q }: Call) -> ApiResult {
    let sid = q.required("session_id")?.to_string();
    let now = Instant::now();
    let mut inner = emu.lock();
    let s = inner.live_session(&sid, &caller, emu.config.session_idle, now)?;
    s.deleted_at = Some(SystemTime::now());
    let key = (s.owner.clone(), s.host);
    if inner.session_of.get(&key) == Some(&sid) {
        inner.session_of.remove(&key);
    }
    inner.stats.record_delete(&sid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

struct SessionRecord<'a> {
    s: &'a SessionRec,
    emu: &'a Emulator,
    caller: &'a Caller,
    queued: bool,
    created: String,
    updated: String,
    deleted: Option<String>,
}

impl Record for SessionRecord<'_> {
    fn field(&self, name: &str) -> Option<fql::Value<'_>> {
        let host = &self.emu.world.hosts()[self.s.host];
        Some(match name {
            "id" => fql::Value::Str(&self.s.id),
            "device_id" | "aid" => fql::Value::Str(&host.aid),
            "hostname" => fql::Value::Str(&host.hostname),
            "user_id" => {
                if self.s.owner == self.caller.client_id {
                    fql::Value::List(vec!["@me", &self.s.owner])
                } else {
                    fql::Value::Str(&self.s.owner)
                }
            }
            "origin" => fql::Value::Str(&self.s.origin),
            "offline_queued" => fql::Value::Bool(self.s.offline_queued),
            "commands_queued" => fql::Value::Bool(self.queued),
            "created_at" | "date_created" => fql::Value::Str(&self.created),
            "updated_at" => fql::Value::Str(&self.updated),
            "deleted_at" => match &self.deleted {
                Some(d) => fql::Value::Str(d),
                None => fql::Value::Null,
            },
            _ => return None,
        })
    }
}

/// When a session ended: deleted, or expired through idleness (offline-queued sessions: their
/// own, much longer lifetime).
fn ended_at(s: &SessionRec, idle: Duration, queued: Duration, now: Instant) -> Option<SystemTime> {
    let idle = s.lifetime(idle, queued);
    s.deleted_at.or_else(|| {
        let idle_for = now.duration_since(s.last_active);
        (idle_for >= idle).then(|| SystemTime::now() - (idle_for - idle))
    })
}

fn commands_queued(inner: &Inner, sid: &str) -> bool {
    inner
        .commands
        .values()
        .any(|c| c.session_id == sid && c.queued && !c.deleted)
}

/// The sessions of the caller's customer as filters see them, as of `now`.
fn session_records<'a>(
    emu: &'a Emulator,
    inner: &'a Inner,
    caller: &'a Caller,
    now: Instant,
) -> impl Iterator<Item = SessionRecord<'a>> {
    inner
        .sessions
        .values()
        .filter(move |s| s.cid == caller.cid)
        .map(move |s| SessionRecord {
            s,
            emu,
            caller,
            queued: commands_queued(inner, &s.id),
            created: rfc3339(s.created_at),
            updated: rfc3339(s.updated_at),
            deleted: ended_at(s, emu.config.session_idle, inner.queued_lifetime, now).map(rfc3339),
        })
}

/// `GET /real-time-response/queries/sessions/v1`
pub async fn query_sessions(Call { emu, caller, q }: Call) -> ApiResult {
    let (limit, offset) = q.paging()?;
    let filter = parse_filter(q.get("filter").unwrap_or_default())?;
    let now = Instant::now();
    let inner = emu.lock();
    let mut rows: Vec<&SessionRec> = session_records(&emu, &inner, &caller, now)
        .filter(|rec| filter.matches(rec))
        .map(|rec| rec.s)
        .collect();
    let desc = q
        .get("sort")
        .is_some_and(|s| s.to_ascii_lowercase().ends_with("desc"));
    rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    if desc {
        rows.reverse();
    }
    let total = rows.len();
    let ids: Vec<&str> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| s.id.as_str())
        .collect();
    Ok(ok_paged(PoweredBy::Rtr, offset, limit, total, json!(ids)))
}

fn session_json(emu: &Emulator, inner: &Inner, s: &SessionRec, now: Instant) -> Value {
    let host = &emu.world.hosts()[s.host];
    let platform_id = match host.platform {
        rtrsh_command::Platform::Windows => 0,
        rtrsh_command::Platform::Mac => 1,
        rtrsh_command::Platform::Linux => 3,
    };
    let end = ended_at(s, emu.config.session_idle, inner.queued_lifetime, now);
    let duration = end
        .unwrap_or_else(SystemTime::now)
        .duration_since(s.created_at)
        .unwrap_or_default()
        .as_secs_f64();
    // The log as configured: entries younger than the lag are not visible yet, and the order
    // is oldest or newest first (neither is documented; docs/protocol.md, "Session log recovery").
    let wall = SystemTime::now();
    let lag = emu.config.session_log_lag;
    let mut visible: Vec<&LogRec> = s
        .logs
        .iter()
        .filter(|l| lag.is_zero() || l.created_at + lag <= wall)
        .collect();
    if emu.config.session_log_order == LogOrder::NewestFirst {
        visible.reverse();
    }
    let logs: Vec<Value> = visible
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "session_id": s.id,
                "cloud_request_id": l.cloud_request_id,
                "base_command": l.base_command,
                "command_string": l.command_string,
                "current_directory": l.current_directory,
                "created_at": rfc3339(l.created_at),
                "updated_at": rfc3339(l.created_at),
            })
        })
        .collect();
    json!({
        "id": s.id,
        "cid": s.cid,
        "device_id": host.aid,
        "hostname": host.hostname,
        "user_id": s.owner,
        "user_uuid": user_uuid(&s.owner),
        "origin": s.origin,
        "created_at": rfc3339(s.created_at),
        "updated_at": rfc3339(s.updated_at),
        "deleted_at": end.map(rfc3339).unwrap_or_else(|| ZERO_TIME.to_string()),
        "duration": duration,
        "offline_queued": s.offline_queued,
        "commands_queued": commands_queued(inner, &s.id),
        "cloud_request_ids": visible.iter().map(|l| l.cloud_request_id.clone()).collect::<Vec<_>>(),
        "logs": logs,
        "pwd": s.cwd,
        "platform_id": platform_id,
        "platform_name": host.platform.api_name(),
        "device_details": {
            "device_id": host.aid,
            "PlatformIDNumeric": platform_id,
            // The 2026 definition (regenerated by gofalcon) names the same field `_`.
            "_": platform_id,
            "hostname": host.hostname,
            "platform_name": host.platform.api_name(),
            "os_version": host.os_version,
            "agent_version": host.agent_version,
            "local_ip": host.local_ip,
            "external_ip": host.external_ip,
            "mac_address": host.mac_address,
            "last_seen": host.last_seen,
            "first_seen": host.first_seen,
            "status": "normal",
            "tags": host.tags,
        },
        "commands": {},
    })
}

/// `POST /real-time-response/entities/sessions/GET/v1` with `{"ids": [...]}`
pub async fn get_sessions(Call { emu, caller, .. }: Call, body: Bytes) -> ApiResult {
    let ids = body_ids(&emu, "/real-time-response/entities/sessions/GET/v1", &body)?;
    let now = Instant::now();
    let inner = emu.lock();
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| inner.sessions.get(id))
        .filter(|s| s.owner == caller.client_id)
        .map(|s| session_json(&emu, &inner, s, now))
        .collect();
    if found.is_empty() {
        return Err(ApiError::not_found("No sessions found for the given ids"));
    }
    Ok(ok(StatusCode::OK, PoweredBy::Rtr, Value::Array(found)))
}

/// `POST /real-time-response/aggregates/sessions/GET/v1`: `terms` aggregations over sessions.
pub async fn aggregate_sessions(Call { emu, caller, .. }: Call, body: Bytes) -> ApiResult {
    let reqs: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return Err(ApiError::bad_request(
                "Request body must be an array of aggregate queries",
            ));
        }
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "Invalid JSON in request body: {e}"
            )));
        }
    };
    let now = Instant::now();
    let inner = emu.lock();
    let mut results = Vec::new();
    for r in reqs {
        let name = r
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("aggregation")
            .to_string();
        let field = r
            .get("field")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = r.get("type").and_then(Value::as_str).unwrap_or("terms");
        if kind != "terms" {
            return Err(ApiError::bad_request(format!(
                "Unsupported aggregation type {kind:?}: only terms"
            )));
        }
        let filter = parse_filter(r.get("filter").and_then(Value::as_str).unwrap_or_default())?;
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for rec in session_records(&emu, &inner, &caller, now) {
            if !filter.matches(&rec) {
                continue;
            }
            let label = match rec.field(&field) {
                Some(fql::Value::Str(v)) => v.to_string(),
                Some(fql::Value::Bool(b)) => b.to_string(),
                Some(fql::Value::List(l)) => l.last().copied().unwrap_or_default().to_string(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Unknown aggregation field {field:?}"
                    )));
                }
            };
            *counts.entry(label).or_default() += 1;
        }
        let buckets: Vec<Value> = counts
            .into_iter()
            .map(|(label, count)| json!({ "label": label, "count": count }))
            .collect();
        results.push(json!({ "name": name, "buckets": buckets }));
    }
    Ok(ok(StatusCode::OK, PoweredBy::Rtr, Value::Array(results)))
}

/// `POST /real-time-response/entities/queued-sessions/GET/v1` with `{"ids": [session ids]}`
pub async fn queued_sessions(Call { emu, caller, .. }: Call, body: Bytes) -> ApiResult {
    let ids = body_ids(
        &emu,
        "/real-time-response/entities/queued-sessions/GET/v1",
        &body,
    )?;
    let now = Instant::now();
    let inner = emu.lock();
    let mut out = Vec::new();
    for id in &ids {
        let Some(s) = inner
            .sessions
            .get(id)
            .filter(|s| s.owner == caller.client_id && s.offline_queued)
        else {
            continue;
        };
        let mut cmds: Vec<&CommandRec> = inner
            .commands
            .values()
            .filter(|c| c.session_id == s.id && c.queued)
            .collect();
        cmds.sort_by_key(|c| c.created_at);
        // A queued session that outlived its lifetime (7 days) takes its waiting commands with
        // it: they never run (the status name is a guess; the API documents only PENDING and
        // FINISHED).
        let ended = now.duration_since(s.last_active)
            >= s.lifetime(emu.config.session_idle, inner.queued_lifetime);
        let commands: Vec<Value> = cmds
            .iter()
            .map(|c| {
                let status = if c.deleted {
                    "CANCELED"
                } else if c.finished(now) {
                    "FINISHED"
                } else if c.ready_at.is_some() {
                    "IN_PROGRESS"
                } else if ended {
                    "EXPIRED"
                } else {
                    "PENDING"
                };
                json!({
                    "cloud_request_id": c.id,
                    "base_command": c.base_command,
                    "command_string": c.command_string,
                    "status": status,
                    "status_text": "",
                    "created_at": rfc3339(c.created_at),
                    "updated_at": rfc3339(c.updated_at),
                    "deleted_at": ZERO_TIME,
                })
            })
            .collect();
        let pending = !ended && cmds.iter().any(|c| !c.deleted && !c.finished(now));
        out.push(json!({
            "id": s.id,
            "aid": emu.world.hosts()[s.host].aid,
            "user_id": s.owner,
            "user_uuid": user_uuid(&s.owner),
            "status": if pending { "PENDING" } else { "COMPLETED" },
            "created_at": rfc3339(s.created_at),
            "updated_at": rfc3339(s.updated_at),
            "deleted_at": s.deleted_at.map(rfc3339).unwrap_or_else(|| ZERO_TIME.to_string()),
            "Commands": commands,
        }));
    }
    if out.is_empty() {
        return Err(ApiError::not_found(
            "No queued sessions found for the given ids",
        ));
    }
    Ok(ok(StatusCode::OK, PoweredBy::Rtr, Value::Array(out)))
}

/// `DELETE /real-time-response/entities/queued-sessions/command/v1?session_id=...&cloud_request_id=...`
pub async fn delete_queued_command(Call { emu, caller, q }: Call) -> Response {
    let result = (|| {
        let sid = q.required("session_id")?.to_string();
        let id = q.required("cloud_request_id")?.to_string();
        let mut inner = emu.lock();
        let owner = inner.sessions.get(&sid).map(|s| s.owner.clone());
        match inner.commands.get_mut(&id) {
            Some(c)
                if c.session_id == sid
                    && c.queued
                    && owner.as_deref() == Some(&caller.client_id) =>
            {
                c.deleted = true;
                Ok(())
            }
            _ => Err(ApiError::not_found(format!(
                "Could not find queued command {id}"
            ))),
        }
    })();
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
