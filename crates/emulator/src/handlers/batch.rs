//! Batch RTR (docs/protocol.md, "Batch sessions", "Batch commands" and "Files"): batch init,
//! refresh, synchronous batch commands for the three tiers, and batch get with its status endpoint.
//!
//! Batch commands are synchronous: the reply waits until every host finished or the timeout
//! passed. Each host's result is an ordinary command record, so output larger than one chunk is
//! fetched afterwards through the single-host status endpoint with the host's `task_id`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::handlers::commands::{
    ChunkView, StatusOf, check_command_line, chunk_view, write_status_fields,
};
use crate::handlers::devices::caller_owns;
use crate::handlers::files::file_v1;
use crate::handlers::sessions::open_session;
use crate::handlers::{Body, Call, Query, parse_go_duration, request_timeout};
use crate::http::{
    ApiError, ApiResult, PoweredBy, json_reply, meta, raw_json_reply, write_json_bytes,
};
use crate::state::{BatchGetRec, BatchRec, Caller, Emulator, Execute};
use rtrsh_command::Tier;

const INIT: &str = "/real-time-response/combined/batch-init-session/v1";
const REFRESH: &str = "/real-time-response/combined/batch-refresh-session/v1";
const GET: &str = "/real-time-response/combined/batch-get-command/v1";

/// `host_timeout_duration`: how long each host may take; never more than the request timeout.
fn host_timeout(q: &Query, overall: Duration) -> Result<Duration, ApiError> {
    match q.get("host_timeout_duration") {
        None | Some("") => Ok(overall),
        Some(v) => {
            let d = parse_go_duration(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "host_timeout_duration {v:?} is not a valid duration such as 30s"
                ))
            })?;
            if d > overall {
                return Err(ApiError::bad_request(
                    "host_timeout_duration must not exceed the request timeout",
                ));
            }
            Ok(d)
        }
    }
}

/// Counts a batch request as being answered while it lives (`batch_in_flight` in the stats).
struct InFlight(Arc<Emulator>);

impl InFlight {
    /// Takes a place; `None` over `--batch-concurrency` (answer [`too_many_batches`]).
    fn enter(emu: &Arc<Emulator>) -> Option<InFlight> {
        let mut inner = emu.lock();
        let limit = u64::from(emu.config.batch_concurrency);
        if limit > 0 && inner.stats.batch_in_flight >= limit {
            inner.stats.rate_limited += 1;
            return None;
        }
        let s = &mut inner.stats;
        s.batch_in_flight += 1;
        s.batch_in_flight_max = s.batch_in_flight_max.max(s.batch_in_flight);
        Some(InFlight(emu.clone()))
    }
}

/// A 429 for a batch request over `--batch-concurrency`, with a `RetryAfter` one second away
/// (epoch seconds, as the rate limit's).
fn too_many_batches() -> Response {
    let mut resp = ApiError::gateway(
        StatusCode::TOO_MANY_REQUESTS,
        "too many batch requests at once",
    )
    .into_response();
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + 1;
    resp.headers_mut()
        .insert("x-ratelimit-retryafter", at.into());
    resp
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.stats.batch_in_flight = inner.stats.batch_in_flight.saturating_sub(1);
    }
}

fn host_error(code: u32, message: &str) -> Value {
    json!([{ "code": code, "message": message }])
}

fn failed_host(aid: &str, errors: Value) -> Value {
    json!({
        "aid": aid, "session_id": "", "complete": false, "stdout": "", "stderr": "",
        "errors": errors, "query_time": 0.0, "offline_queued": false,
    })
}

/// A host id that is not a well-formed aid fails the way the real API reports it.
fn unknown_host_error(aid: &str) -> Value {
    if aid.len() != 32 || !aid.chars().all(|c| c.is_ascii_hexdigit()) {
        host_error(500, &format!("uuid: incorrect UUID length {}", aid.len()))
    } else {
        host_error(40401, "Could not establish sensor comms")
    }
}

/// One host's entry in a batch-init reply. Fields in alphabetical order, as the
/// `serde_json::Value` object it replaces wrote them.
#[derive(Serialize)]
struct InitHost<'a> {
    aid: &'a str,
    base_command: &'static str,
    complete: bool,
    errors: Value,
    offline_queued: bool,
    query_time: f64,
    session_id: String,
    stderr: &'static str,
    stdout: String,
    task_id: String,
}

impl<'a> InitHost<'a> {
    /// A host that joined the batch: complete unless queued or late (then 50401).
    fn joined(
        aid: &'a str,
        session_id: String,
        task_id: String,
        queued: bool,
        in_time: bool,
        query_time: f64,
        stdout: String,
    ) -> InitHost<'a> {
        InitHost {
            aid,
            base_command: "pwd",
            complete: !queued && in_time,
            errors: if in_time {
                Value::Array(Vec::new())
            } else {
                host_error(50401, "Exceeded maximum timeout")
            },
            offline_queued: queued,
            query_time,
            session_id,
            stderr: "",
            stdout,
            task_id,
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum InitEntry<'a> {
    Joined(InitHost<'a>),
    /// [`failed_host`]
    Failed(Value),
}

/// A batch-init reply (fields alphabetical, as the `Value` object's were); `resources` is keyed
/// and so ordered by aid.
#[derive(Serialize)]
struct InitReply<'a> {
    batch_id: &'a str,
    errors: Value,
    meta: Value,
    resources: BTreeMap<&'a str, InitEntry<'a>>,
}

/// `POST /real-time-response/combined/batch-init-session/v1`
pub async fn init(Call { emu, caller, q }: Call, body: Bytes) -> ApiResult {
    let Some(_in_flight) = InFlight::enter(&emu) else {
        return Ok(too_many_batches());
    };
    let timeout = request_timeout(&q, &emu, INIT)?;
    let per_host = host_timeout(&q, timeout)?;
    let b = Body::parse(&emu, "POST", INIT, &body)?;
    let host_ids = b.strings("host_ids", true, false)?.unwrap_or_default();
    let queue_offline = b.bool("queue_offline", true)?;
    let existing = b.str("existing_batch_id", true, false)?.unwrap_or_default();
    if host_ids.is_empty() || host_ids.len() > 10_000 {
        return Err(ApiError::bad_request(format!(
            "Invalid number of hosts in request: {}. Must be an integer greater than 0 and less than or equal to 10000",
            host_ids.len()
        )));
    }
    let now = Instant::now();
    let mut resources = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    let batch_id = {
        let mut inner = emu.lock();
        let batch_id = if existing.is_empty() {
            inner.uuid()
        } else {
            match inner.batches.get(&existing) {
                Some(b) if b.owner == caller.client_id => existing.clone(),
                _ => {
                    return Err(ApiError::not_found(format!(
                        "Could not find batch {existing}"
                    )));
                }
            }
        };
        let mut joined = Vec::new();
        let mut seen = HashSet::new();
        for aid in &host_ids {
            if !seen.insert(aid.as_str()) {
                continue;
            }
            let Some(host) = emu
                .host_index(aid)
                .filter(|&h| caller_owns(&emu, &caller, h))
            else {
                resources.insert(
                    aid.as_str(),
                    InitEntry::Failed(failed_host(aid, unknown_host_error(aid))),
                );
                continue;
            };
            match open_session(
                &mut inner,
                &emu,
                &caller,
                host,
                "rtrsh-batch",
                queue_offline,
                now,
            ) {
                Ok((sid, new)) => {
                    inner
                        .stats
                        .record_init(&sid, aid, &emu.world.hosts()[host].hostname, new);
                    let s = &inner.sessions[&sid];
                    let queued = s.offline_queued;
                    let latency = emu.latency_for(host, 0);
                    let in_time = queued || latency <= per_host;
                    // The reply waits for every host, up to the timeout (as a batch command).
                    if !queued {
                        slowest = slowest.max(latency.min(per_host));
                    }
                    let task_id = inner.uuid();
                    let s = &inner.sessions[&sid];
                    resources.insert(
                        aid.as_str(),
                        InitEntry::Joined(InitHost::joined(
                            aid,
                            sid.clone(),
                            task_id,
                            queued,
                            in_time,
                            latency.min(per_host).as_secs_f64(),
                            if queued || !in_time {
                                String::new()
                            } else {
                                s.cwd.clone()
                            },
                        )),
                    );
                    joined.push((host, sid));
                }
                Err(e) => {
                    resources.insert(
                        aid.as_str(),
                        InitEntry::Failed(failed_host(aid, host_error(e.code, &e.message))),
                    );
                }
            }
        }
        if joined.is_empty() && existing.is_empty() {
            drop(inner);
            let body = InitReply {
                batch_id: "",
                errors: json!([{ "code": 404, "message": "no successful hosts initialized on RTR" }]),
                meta: meta(PoweredBy::Rtr),
                resources,
            };
            return Ok(json_reply(StatusCode::NOT_FOUND, &body));
        }
        let batch = inner
            .batches
            .entry(batch_id.clone())
            .or_insert_with(|| BatchRec {
                id: batch_id.clone(),
                owner: caller.client_id.clone(),
                hosts: Vec::new(),
                removed: HashSet::new(),
            });
        for (host, sid) in joined {
            batch.removed.remove(&host);
            if let Some(slot) = batch.hosts.iter_mut().find(|(h, _)| *h == host) {
                slot.1 = sid;
            } else {
                batch.hosts.push((host, sid));
            }
        }
        batch_id
    };
    tokio::time::sleep(slowest).await;
    let body = InitReply {
        batch_id: &batch_id,
        errors: Value::Array(Vec::new()),
        meta: meta(PoweredBy::Rtr),
        resources,
    };
    Ok(json_reply(StatusCode::CREATED, &body))
}

/// `POST /real-time-response/combined/batch-refresh-session/v1`
pub async fn refresh(Call { emu, caller, q }: Call, body: Bytes) -> ApiResult {
    request_timeout(&q, &emu, REFRESH)?;
    let b = Body::parse(&emu, "POST", REFRESH, &body)?;
    let batch_id = b.str("batch_id", true, true)?.unwrap_or_default();
    let remove = b
        .strings("hosts_to_remove", true, false)?
        .unwrap_or_default();
    let now = Instant::now();
    let idle = emu.config.session_idle;
    let mut inner = emu.lock();
    let batch = match inner.batches.get_mut(&batch_id) {
        Some(b) if b.owner == caller.client_id => b,
        _ => {
            return Err(ApiError::not_found(format!(
                "Could not find batch {batch_id}"
            )));
        }
    };
    for aid in &remove {
        if let Some(h) = emu.host_index(aid) {
            batch.removed.insert(h);
        }
    }
    let members: Vec<(usize, String)> = batch
        .hosts
        .iter()
        .filter(|(h, _)| !batch.removed.contains(h))
        .cloned()
        .collect();
    if members.is_empty() {
        return Err(ApiError::bad_request("no hosts in this batch session"));
    }
    let mut resources = Map::new();
    for (host, sid) in members {
        let aid = emu.world.hosts()[host].aid.clone();
        let errors = match inner.live_session(&sid, &caller, idle, now) {
            Ok(s) => {
                s.last_active = now;
                inner.stats.record_refresh(&sid);
                json!([])
            }
            Err(_) => host_error(50007, "could not get session"),
        };
        resources.insert(
            aid.clone(),
            json!({ "aid": aid, "session_id": sid, "errors": errors }),
        );
    }
    drop(inner);
    Ok(json_reply(
        StatusCode::CREATED,
        &json!({ "meta": meta(PoweredBy::Rtr), "resources": resources, "errors": [] }),
    ))
}

/// One host's part in a batch command.
enum Slot {
    /// `host` ran the command `id`.
    Ran {
        host: usize,
        id: String,
    },
    Failed {
        host: usize,
        errors: Value,
    },
}

/// Sends `command_string` to the batch's hosts and waits (at most the timeouts) for them.
/// What a batch command sends, and to which batch.
struct BatchCall<'a> {
    tier: Tier,
    path: &'static str,
    batch_id: &'a str,
    base_command: &'a str,
    command_string: &'a str,
    optional_hosts: Option<Vec<String>>,
}

async fn run_batch(
    emu: &Arc<Emulator>,
    caller: &Caller,
    q: &Query,
    call: BatchCall<'_>,
) -> Result<(Vec<Slot>, Instant), ApiError> {
    // Returns the slots and when the command was sent.
    let BatchCall {
        tier,
        path,
        batch_id,
        base_command,
        command_string,
        optional_hosts,
    } = call;
    let timeout = request_timeout(q, emu, path)?;
    let per_host = host_timeout(q, timeout)?;
    let now = Instant::now();
    let idle = emu.config.session_idle;
    let mut slots = Vec::new();
    let mut latest = now;
    // Outputs the hosts' commands left to render (their effects are applied under the lock).
    let mut deferred = Vec::new();
    {
        let mut inner = emu.lock();
        let batch = match inner.batches.get(batch_id) {
            Some(b) if b.owner == caller.client_id => b.clone(),
            _ => {
                return Err(ApiError::not_found(format!(
                    "Could not find batch {batch_id}"
                )));
            }
        };
        let wanted: Option<HashSet<String>> = match optional_hosts {
            Some(list) if list.is_empty() => {
                inner.stats.violation(
                    "POST",
                    path,
                    "optional_hosts is an empty list (its meaning is undocumented)",
                );
                None
            }
            Some(list) => Some(list.into_iter().collect()),
            None => None,
        };
        for (host, sid) in batch
            .hosts
            .iter()
            .filter(|(h, _)| !batch.removed.contains(h))
        {
            let host = *host;
            let aid = &emu.world.hosts()[host].aid;
            if wanted.as_ref().is_some_and(|w| !w.contains(aid)) {
                continue;
            }
            if inner.live_session(sid, caller, idle, now).is_err() {
                slots.push(Slot::Failed {
                    host,
                    errors: host_error(50007, "could not get session"),
                });
                continue;
            }
            let cmd = Execute {
                tier,
                base_command,
                command_string,
                batch: true,
            };
            match inner.execute_deferring(emu, sid, cmd, now) {
                Ok((id, later)) => {
                    if let Some(t) = inner.commands.get(&id).and_then(|c| c.ready_at) {
                        latest = latest.max(t.min(now + per_host));
                    }
                    if let Some(d) = later {
                        deferred.push((id.clone(), d));
                    }
                    slots.push(Slot::Ran { host, id });
                }
                Err(e) => slots.push(Slot::Failed {
                    host,
                    errors: host_error(e.code, &e.message),
                }),
            }
        }
    }
    // Rendered outside the lock, so that other requests (and other batches' rendering) go on
    // meanwhile; no await in between, so every output is in before this request can be dropped.
    if !deferred.is_empty() {
        let outputs: Vec<_> = deferred
            .into_iter()
            .map(|(id, d)| (id, emu.world.render_deferred(&d)))
            .collect();
        let mut inner = emu.lock();
        for (id, stdout) in outputs {
            inner.complete_output(&id, stdout);
        }
    }
    tokio::time::sleep_until(latest.into()).await;
    Ok((slots, now))
}

/// What a batch reply says of one host's command, read under the lock ([`read_slots`]) so that
/// the reply is written without it.
enum Part<'a> {
    Ran {
        host: usize,
        task_id: &'a str,
        session_id: String,
        base_command: String,
        view: ChunkView,
        timed_out: bool,
        took: f64,
        queued: bool,
    },
    Failed {
        host: usize,
        errors: &'a Value,
    },
    /// The command is gone (not expected: commands are never removed).
    Missing,
}

/// Reads what the reply needs of each slot's command (called once the wait is over: hosts not
/// finished by now are reported as timed out). `started`: when the command was sent. The
/// outputs are shared, not copied.
fn read_slots<'a>(emu: &Emulator, slots: &'a [Slot], started: Instant) -> Vec<Part<'a>> {
    let now = Instant::now();
    let inner = emu.lock();
    slots
        .iter()
        .map(|slot| match slot {
            Slot::Failed { host, errors } => Part::Failed {
                host: *host,
                errors,
            },
            Slot::Ran { host, id } => {
                let Some(rec) = inner.commands.get(id) else {
                    return Part::Missing;
                };
                let view = chunk_view(rec, 0, emu.config.chunk_model, emu.config.chunk_size, now);
                let timed_out = !rec.queued && !rec.finished(now);
                let took = match rec.ready_at {
                    Some(r) if !timed_out => r.saturating_duration_since(started).as_secs_f64(),
                    _ => now.saturating_duration_since(started).as_secs_f64(),
                };
                Part::Ran {
                    host: *host,
                    task_id: id,
                    session_id: rec.session_id.clone(),
                    base_command: rec.base_command.clone(),
                    view,
                    timed_out,
                    took,
                    queued: rec.queued,
                }
            }
        })
        .collect()
}

/// A good first size for a batch reply buffer: the first chunk of every host's output plus
/// the per-host envelope (so a 40 MB reply does not grow by doubling, holding twice that).
fn reply_capacity(parts: &[Part]) -> usize {
    let out: usize = parts
        .iter()
        .map(|p| match p {
            Part::Ran { view, .. } => view.stdout.len() + view.stderr.len(),
            _ => 0,
        })
        .sum();
    // JSON escaping grows text a little; 320 bytes covers the fixed fields of a host.
    out + out / 16 + 320 * parts.len() + 256
}

/// Serialises `combined.resources` of a batch command reply from [`read_slots`], without the
/// lock.
fn write_combined(out: &mut Vec<u8>, emu: &Emulator, parts: &[Part]) {
    let utf8 = emu.config.invalid_utf8;
    out.extend_from_slice(b"\"combined\":{\"resources\":{");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match part {
            Part::Failed { host, errors } => {
                let aid = &emu.world.hosts()[*host].aid;
                write_json_bytes(out, aid.as_bytes(), utf8);
                out.push(b':');
                out.extend_from_slice(
                    &serde_json::to_vec(&failed_host(aid, (*errors).clone())).unwrap_or_default(),
                );
            }
            Part::Ran {
                host,
                task_id,
                session_id,
                base_command,
                view,
                timed_out,
                took,
                queued,
            } => {
                let aid = &emu.world.hosts()[*host].aid;
                write_json_bytes(out, aid.as_bytes(), utf8);
                out.extend_from_slice(b":{\"aid\":");
                write_json_bytes(out, aid.as_bytes(), utf8);
                out.push(b',');
                let of = StatusOf {
                    session_id,
                    task_id,
                    base_command,
                };
                write_status_fields(out, of, view, utf8);
                let errors: &[u8] = if *timed_out {
                    b",\"errors\":[{\"code\":50401,\"message\":\"Exceeded maximum timeout\"}]"
                } else {
                    b",\"errors\":[]"
                };
                out.extend_from_slice(errors);
                let _ = write!(out, ",\"query_time\":{took},\"offline_queued\":{queued}}}");
            }
            Part::Missing => {}
        }
    }
    out.extend_from_slice(b"}}");
}

async fn batch_command(Call { emu, caller, q }: Call, tier: Tier, body: Bytes) -> ApiResult {
    let Some(_in_flight) = InFlight::enter(&emu) else {
        return Ok(too_many_batches());
    };
    let path = tier.batch_path();
    let b = Body::parse(&emu, "POST", path, &body)?;
    let base_command = b.str("base_command", true, true)?.unwrap_or_default();
    let command_string = b.str("command_string", true, true)?.unwrap_or_default();
    let batch_id = b.str("batch_id", true, true)?.unwrap_or_default();
    let optional_hosts = b.strings("optional_hosts", true, false)?;
    b.bool("persist_all", true)?;
    check_command_line(&emu, path, tier, &base_command, &command_string)?;
    let call = BatchCall {
        tier,
        path,
        batch_id: &batch_id,
        base_command: &base_command,
        command_string: &command_string,
        optional_hosts,
    };
    let (slots, started) = run_batch(&emu, &caller, &q, call).await?;
    let parts = read_slots(&emu, &slots, started);
    let mut out = Vec::with_capacity(reply_capacity(&parts));
    out.extend_from_slice(b"{\"meta\":");
    out.extend_from_slice(&serde_json::to_vec(&meta(PoweredBy::Rtr)).unwrap_or_default());
    out.push(b',');
    write_combined(&mut out, &emu, &parts);
    out.extend_from_slice(b",\"errors\":[]}");
    Ok(raw_json_reply(StatusCode::CREATED, out))
}

macro_rules! batch_handler {
    ($name:ident, $tier:expr) => {
        pub async fn $name(call: Call, body: Bytes) -> ApiResult {
            batch_command(call, $tier, body).await
        }
    };
}

batch_handler!(command_read_only, Tier::ReadOnly);
batch_handler!(command_active_responder, Tier::ActiveResponder);
batch_handler!(command_admin, Tier::Admin);

/// Quotes a host path for a `get` command line.
fn quoted(path: &str) -> String {
    if path.contains(char::is_whitespace) {
        format!("\"{path}\"")
    } else {
        path.to_string()
    }
}

/// `POST /real-time-response/combined/batch-get-command/v1`
pub async fn get_command(Call { emu, caller, q }: Call, body: Bytes) -> ApiResult {
    let Some(_in_flight) = InFlight::enter(&emu) else {
        return Ok(too_many_batches());
    };
    let b = Body::parse(&emu, "POST", GET, &body)?;
    let batch_id = b.str("batch_id", true, true)?.unwrap_or_default();
    let file_path = b.str("file_path", true, true)?.unwrap_or_default();
    let optional_hosts = b.strings("optional_hosts", true, false)?;
    let line = format!("get {}", quoted(&file_path));
    let call = BatchCall {
        tier: Tier::ActiveResponder,
        path: GET,
        batch_id: &batch_id,
        base_command: "get",
        command_string: &line,
        optional_hosts,
    };
    let (slots, started) = run_batch(&emu, &caller, &q, call).await?;
    let req_id = {
        let mut inner = emu.lock();
        let id = inner.uuid();
        let requests = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Ran { host, id } => Some((*host, id.clone())),
                Slot::Failed { .. } => None,
            })
            .collect();
        inner.batch_gets.insert(
            id.clone(),
            BatchGetRec {
                id: id.clone(),
                batch_id: batch_id.clone(),
                requests,
            },
        );
        id
    };
    let parts = read_slots(&emu, &slots, started);
    let mut out = Vec::with_capacity(reply_capacity(&parts));
    out.extend_from_slice(b"{\"meta\":");
    out.extend_from_slice(&serde_json::to_vec(&meta(PoweredBy::Rtr)).unwrap_or_default());
    out.extend_from_slice(format!(",\"batch_get_cmd_req_id\":\"{req_id}\",").as_bytes());
    write_combined(&mut out, &emu, &parts);
    out.extend_from_slice(b",\"errors\":[]}");
    Ok(raw_json_reply(StatusCode::CREATED, out))
}

/// `GET /real-time-response/combined/batch-get-command/v1?batch_get_cmd_req_id=...`: the files
/// that have finished uploading, keyed by aid.
pub async fn get_status(Call { emu, caller, q }: Call) -> ApiResult {
    request_timeout(&q, &emu, GET)?;
    let id = q.required("batch_get_cmd_req_id")?.to_string();
    let now = Instant::now();
    let inner = emu.lock();
    let req = match inner.batch_gets.get(&id) {
        Some(r)
            if inner
                .batches
                .get(&r.batch_id)
                .is_some_and(|b| b.owner == caller.client_id) =>
        {
            r
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "Could not find batch get request {id}"
            )));
        }
    };
    let mut resources = Map::new();
    for (host, crid) in &req.requests {
        let Some(f) = inner
            .files
            .iter()
            .find(|f| &f.cloud_request_id == crid && !f.deleted)
        else {
            continue;
        };
        let Some(sha) = f.sha256.get().filter(|_| now >= f.available_at) else {
            continue;
        };
        resources.insert(emu.world.hosts()[*host].aid.clone(), file_v1(f, sha));
    }
    drop(inner);
    Ok(json_reply(
        StatusCode::OK,
        &json!({ "meta": meta(PoweredBy::Rtr), "resources": resources, "errors": [] }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_reply_serialises_as_the_value_tree_did() {
        let ok = |aid: &'static str, queued: bool, in_time: bool| {
            let stdout = if queued { String::new() } else { "C:\\".into() };
            let entry = InitHost::joined(
                aid,
                "s-1".into(),
                "t-1".into(),
                queued,
                in_time,
                0.3,
                stdout,
            );
            let value = json!({
                "aid": aid,
                "session_id": "s-1",
                "task_id": "t-1",
                "complete": !queued && in_time,
                "stdout": if queued { "" } else { "C:\\" },
                "stderr": "",
                "base_command": "pwd",
                "errors": if in_time { json!([]) } else { host_error(50401, "Exceeded maximum timeout") },
                "query_time": 0.3,
                "offline_queued": queued,
            });
            (entry, value)
        };
        let mut resources = BTreeMap::new();
        let mut values = Map::new();
        for (aid, queued, in_time) in [("b", false, true), ("a", true, true), ("c", false, false)] {
            let (entry, value) = ok(aid, queued, in_time);
            resources.insert(aid, InitEntry::Joined(entry));
            values.insert(aid.to_string(), value);
        }
        let failed = failed_host("zz", unknown_host_error("zz"));
        resources.insert("zz", InitEntry::Failed(failed.clone()));
        values.insert("zz".into(), failed);
        let meta = json!({"query_time": 0.25, "powered_by": "empower-api", "trace_id": "x"});
        let ours = InitReply {
            batch_id: "batch",
            errors: Value::Array(Vec::new()),
            meta: meta.clone(),
            resources,
        };
        let theirs =
            json!({ "meta": meta, "batch_id": "batch", "resources": values, "errors": [] });
        assert_eq!(
            serde_json::to_vec(&ours).expect("json"),
            serde_json::to_vec(&theirs).expect("json")
        );
    }
}
