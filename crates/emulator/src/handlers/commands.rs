//! Single-host RTR commands: execute and check-status for the three tiers, with the
//! `sequence_id` chunk models of docs/protocol.md, "Chunk protocol" (also used by batch replies).

use std::time::Instant;

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::json;

use crate::config::{ChunkModel, InvalidUtf8, Misbehaviour, QueuedStatus};
use crate::handlers::{Body, Call, Kind};
use crate::http::{ApiError, ApiResult, PoweredBy, meta, ok, raw_json_reply, write_json_bytes};
use crate::state::{CommandRec, Emulator, Execute, Inner};
use rtrsh_command::{Tier, catalog, lexer};

/// The view of one `sequence_id` chunk of a command's output under the configured chunk model
/// (docs/protocol.md, "Chunk protocol").
pub struct ChunkView {
    pub complete: bool,
    pub stdout: Bytes,
    pub stderr: Bytes,
    pub sequence_id: Option<u64>,
}

pub fn chunk_view(
    rec: &CommandRec,
    seq: u64,
    model: ChunkModel,
    chunk_size: u64,
    now: Instant,
) -> ChunkView {
    if !rec.finished(now) {
        return ChunkView {
            complete: false,
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            sequence_id: None,
        };
    }
    let Some((a, b)) = rec.stdout.chunk_bounds(chunk_size, seq) else {
        // Asked past the end, after completion.
        return ChunkView {
            complete: true,
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            sequence_id: None,
        };
    };
    let stdout = rec.stdout.slice(a, b);
    // The last chunk is the one that reaches the end (O(1): never count all chunks per request).
    let last = b >= rec.stdout.len();
    let nonzero = |s: u64| (s > 0).then_some(s);
    if last {
        let sequence_id = match model {
            ChunkModel::Splunk => None,
            _ => nonzero(seq),
        };
        return ChunkView {
            complete: true,
            stdout,
            stderr: Bytes::from(rec.stderr.clone().into_bytes()),
            sequence_id,
        };
    }
    let (complete, sequence_id) = match model {
        ChunkModel::Next => (false, Some(seq + 1)),
        ChunkModel::Echo => (false, nonzero(seq)),
        ChunkModel::Splunk => (true, Some(seq + 1)),
    };
    ChunkView {
        complete,
        stdout,
        stderr: Bytes::new(),
        sequence_id,
    }
}

/// Which command a status record is about: the ids and base command it repeats.
#[derive(Clone, Copy)]
pub struct StatusOf<'a> {
    pub session_id: &'a str,
    pub task_id: &'a str,
    pub base_command: &'a str,
}

impl<'a> StatusOf<'a> {
    pub fn of(rec: &'a CommandRec) -> Self {
        StatusOf {
            session_id: &rec.session_id,
            task_id: &rec.id,
            base_command: &rec.base_command,
        }
    }
}

/// Writes the fields of a status record shared by `domain.StatusResponse` and
/// `domain.MultiStatusSensorResponse` (without the braces).
pub fn write_status_fields(
    out: &mut Vec<u8>,
    of: StatusOf<'_>,
    view: &ChunkView,
    utf8: InvalidUtf8,
) {
    out.extend_from_slice(b"\"session_id\":");
    write_json_bytes(out, of.session_id.as_bytes(), utf8);
    out.extend_from_slice(b",\"task_id\":");
    write_json_bytes(out, of.task_id.as_bytes(), utf8);
    out.extend_from_slice(if view.complete {
        b",\"complete\":true"
    } else {
        b",\"complete\":false"
    });
    out.extend_from_slice(b",\"stdout\":");
    write_json_bytes(out, &view.stdout, utf8);
    out.extend_from_slice(b",\"stderr\":");
    write_json_bytes(out, &view.stderr, utf8);
    out.extend_from_slice(b",\"base_command\":");
    write_json_bytes(out, of.base_command.as_bytes(), utf8);
    if let Some(s) = view.sequence_id {
        out.extend_from_slice(format!(",\"sequence_id\":{s}").as_bytes());
    }
}

fn execute(
    Call { emu, caller, .. }: Call,
    tier: Tier,
    path: &'static str,
    body: Bytes,
) -> ApiResult {
    let b = Body::parse(&emu, "POST", path, &body)?;
    let base_command = b.str("base_command", true, true)?.unwrap_or_default();
    let command_string = b.str("command_string", true, true)?.unwrap_or_default();
    let session_id = b.str("session_id", true, true)?.unwrap_or_default();
    let device_id = b.str("device_id", true, false)?;
    b.field("id", Kind::Int, true, false)?;
    b.bool("persist", true)?;
    check_command_line(&emu, path, tier, &base_command, &command_string)?;
    let now = Instant::now();
    let mut inner = emu.lock();
    let s = inner.live_session(&session_id, &caller, emu.config.session_idle, now)?;
    let host = s.host;
    if let Some(d) = device_id
        && !d.is_empty()
        && emu.world.hosts()[host].aid != d
    {
        inner
            .stats
            .violation("POST", path, "device_id does not match the session's host");
    }
    let cmd = Execute {
        tier,
        base_command: &base_command,
        command_string: &command_string,
        batch: false,
    };
    let id = inner.execute(&emu, &session_id, cmd, now)?;
    let queued = inner.commands.get(&id).is_some_and(|c| c.queued);
    Ok(ok(
        StatusCode::CREATED,
        PoweredBy::Rtr,
        json!([{ "session_id": session_id, "cloud_request_id": id, "queued_command_offline": queued }]),
    ))
}

/// What the API refuses about a command line sent to `path` (a `POST` for `tier`) before any host
/// sees it: a line that does not lex (40012), a `base_command` that does not start it, a command
/// unknown or above the tier (40007).
pub fn check_command_line(
    emu: &Emulator,
    path: &str,
    tier: Tier,
    base_command: &str,
    command_string: &str,
) -> Result<(), ApiError> {
    let words = lexer::words(command_string).map_err(|e| ApiError::rtr(40012, e.to_string()))?;
    check_base_command(emu, "POST", path, base_command, &words)?;
    let needed =
        catalog::required_tier(&words).ok_or_else(|| ApiError::rtr(40007, "Command not found"))?;
    if needed > tier {
        return Err(ApiError::rtr(40007, "Command not found"));
    }
    Ok(())
}

/// `base_command` must be the first word of `command_string` (or its two-word form, which real
/// clients such as PSFalcon send: `reg query`).
fn check_base_command(
    emu: &Emulator,
    method: &str,
    path: &str,
    base: &str,
    words: &[String],
) -> Result<(), ApiError> {
    let first = words.first().map(String::as_str).unwrap_or_default();
    let two = words.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
    if first.is_empty() {
        return Err(ApiError::bad_request("command_string is required"));
    }
    if base.eq_ignore_ascii_case(first) || base.eq_ignore_ascii_case(&two) {
        return Ok(());
    }
    emu.lock().stats.violation(
        method,
        path,
        format!("base_command {base:?} does not start command_string"),
    );
    Err(ApiError::bad_request(format!(
        "base_command {base:?} does not match command_string"
    )))
}

fn status(Call { emu, caller, q }: Call, tier: Tier, path: &'static str) -> ApiResult {
    let id = q.required("cloud_request_id")?.to_string();
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::bad_request(
            "cloud_request_id must be a uuid string",
        ));
    }
    let seq = match q.get("sequence_id") {
        None => {
            emu.lock().stats.violation(
                "GET",
                path,
                "required query parameter `sequence_id` missing",
            );
            0
        }
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("sequence_id must be an integer, got {v:?}"))
        })?,
    };
    let now = Instant::now();
    let mut inner = emu.lock();
    let owner_ok = |inner: &Inner, rec: &CommandRec| {
        inner
            .sessions
            .get(&rec.session_id)
            .is_some_and(|s| s.owner == caller.client_id)
    };
    let rec = match inner.commands.get(&id) {
        Some(r) if r.tier == tier && owner_ok(&inner, r) && !r.deleted => r,
        _ => return Err(ApiError::not_found(format!("Could not find command {id}"))),
    };
    if rec.queued && rec.ready_at.is_none() {
        // Queued for an offline host and not run yet: the configured reading.
        match emu.config.queued_status {
            QueuedStatus::Pending => {}
            QueuedStatus::NotFound => {
                return Err(ApiError::not_found(format!("Could not find command {id}")));
            }
            QueuedStatus::SensorOffline => {
                return Err(ApiError::rtr(40401, "Could not establish sensor comms"));
            }
        }
    }
    let mut view = chunk_view(rec, seq, emu.config.chunk_model, emu.config.chunk_size, now);
    if emu.config.misbehaves(Misbehaviour::EndlessOutput) {
        view = ChunkView {
            complete: false,
            stdout: Bytes::from_static(b"still going\n"),
            stderr: Bytes::new(),
            sequence_id: Some(seq.saturating_add(1)),
        };
    } else if emu.config.misbehaves(Misbehaviour::AbsurdNumbers) {
        view.sequence_id = Some(u64::MAX);
    }
    let mut out = Vec::with_capacity(view.stdout.len() + 512);
    out.extend_from_slice(b"{\"meta\":");
    out.extend_from_slice(&serde_json::to_vec(&meta(PoweredBy::Rtr)).unwrap_or_default());
    out.extend_from_slice(b",\"resources\":[{");
    write_status_fields(&mut out, StatusOf::of(rec), &view, emu.config.invalid_utf8);
    out.extend_from_slice(b"}],\"errors\":[]}");
    inner.stats.record_poll(&id, seq);
    drop(inner);
    Ok(raw_json_reply(StatusCode::OK, out))
}

macro_rules! tier_handlers {
    ($exec:ident, $stat:ident, $tier:expr) => {
        pub async fn $exec(call: Call, body: Bytes) -> ApiResult {
            execute(call, $tier, $tier.single_path(), body)
        }

        pub async fn $stat(call: Call) -> ApiResult {
            status(call, $tier, $tier.single_path())
        }
    };
}

tier_handlers!(execute_read_only, status_read_only, Tier::ReadOnly);
tier_handlers!(
    execute_active_responder,
    status_active_responder,
    Tier::ActiveResponder
);
tier_handlers!(execute_admin, status_admin, Tier::Admin);
