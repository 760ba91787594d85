//! Test and demo controls under `/_emulator/`, a prefix the real API never uses. No auth, no
//! rate limit, no faults: these are the test's eyes and hands, not part of the emulated API.
//!
//! - `GET  /_emulator/stats`: counters (see `stats.rs`).
//! - `POST /_emulator/stats/reset`: zero the counters.
//! - `GET  /_emulator/hosts`: every host with its aid, hostname, platform, cid and online state
//!   (and what was planted on it for stacking to find).
//! - `POST /_emulator/hosts/{aid}/online?state=true|false`: bring a host online (its queued
//!   commands run) or take it offline.
//! - `GET  /_emulator/hosts/{aid}/file?path=...`: the raw bytes of a file on a host, streamed.
//! - `POST /_emulator/faults`: `{"fault_5xx": 0.1, "fault_drop": 0.05}` changes fault shares;
//!   `{"corrupt_downloads": true}` makes every served archive arrive with one byte flipped;
//!   `{"once": {"endpoint": "POST /real-time-response/entities/command/v1", "fault":
//!   "drop-after"}}` arms one fault for the next request to that endpoint (`drop-before`,
//!   `drop-after`, `5xx-before`, `5xx-after`): "after" means the request took effect first.
//! - `POST /_emulator/sessions/expire`: every session becomes idle-expired (a laptop that slept).
//! - `POST /_emulator/tokens/expire`: every token expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::handlers::Query;
use crate::state::{Emulator, Inner, OnceFault};

pub fn router() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/stats/reset", post(reset_stats))
        .route("/_emulator/hosts", get(hosts))
        .route("/_emulator/hosts/{aid}/online", post(set_online))
        .route("/_emulator/hosts/{aid}/file", get(file))
        .route("/_emulator/faults", post(faults))
        .route("/_emulator/sessions/expire", post(expire_sessions))
        .route("/_emulator/tokens/expire", post(expire_tokens))
}

fn open_sessions(emu: &Emulator, inner: &Inner) -> u64 {
    let now = Instant::now();
    inner
        .sessions
        .values()
        .filter(|s| {
            s.deleted_at.is_none()
                && now.duration_since(s.last_active)
                    < s.lifetime(emu.config.session_idle, inner.queued_lifetime)
        })
        .count() as u64
}

/// The stats as JSON (also used by `EmulatorHandle::stats`).
pub fn stats_json(emu: &Emulator) -> Value {
    let mut inner = emu.lock();
    inner.stats.open_sessions = open_sessions(emu, &inner);
    serde_json::to_value(&inner.stats).unwrap_or(Value::Null)
}

async fn stats(State(emu): State<Arc<Emulator>>) -> Response {
    axum::Json(stats_json(&emu)).into_response()
}

async fn reset_stats(State(emu): State<Arc<Emulator>>) -> StatusCode {
    emu.lock().stats = Default::default();
    StatusCode::NO_CONTENT
}

async fn hosts(State(emu): State<Arc<Emulator>>) -> Response {
    let inner = emu.lock();
    let now = std::time::Instant::now();
    let list: Vec<Value> = emu
        .world
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({
                "aid": h.aid,
                "hostname": h.hostname,
                "platform_name": h.platform.api_name(),
                "cid": h.cid,
                "online": inner.online.get(i).copied().unwrap_or(false),
                "hostile": h.hostile,
                "slow": emu.is_slow(i),
                "planted": emu.world.planted(i),
                "containment": inner.containment_status(i, emu.config.containment_delay, now),
            })
        })
        .collect();
    axum::Json(json!({ "cid": emu.world.cid, "child_cids": emu.world.child_cids, "hosts": list }))
        .into_response()
}

async fn set_online(
    State(emu): State<Arc<Emulator>>,
    Path(aid): Path<String>,
    q: Query,
) -> Response {
    let state = !matches!(q.get("state"), Some("false" | "0" | "offline"));
    let Some(host) = emu.host_index(&aid) else {
        return (StatusCode::NOT_FOUND, "no such host").into_response();
    };
    emu.lock().set_online(&emu, host, state, Instant::now());
    StatusCode::NO_CONTENT.into_response()
}

async fn file(State(emu): State<Arc<Emulator>>, Path(aid): Path<String>, q: Query) -> Response {
    let Some(host) = emu.host_index(&aid) else {
        return (StatusCode::NOT_FOUND, "no such host").into_response();
    };
    let Some(path) = q.get("path") else {
        return (StatusCode::BAD_REQUEST, "path is required").into_response();
    };
    let content = {
        let inner = emu.lock();
        let state = inner.host_states.get(&host).cloned().unwrap_or_default();
        emu.world.read_file(host, &state, path)
    };
    let Some(content) = content else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    const PIECE: u64 = 256 * 1024;
    let stream = futures_util::stream::unfold(0u64, move |pos| {
        let content = content.clone();
        async move {
            if pos >= content.len() {
                return None;
            }
            let piece: Bytes = content.slice(pos, pos + PIECE);
            Some((Ok::<_, std::io::Error>(piece), pos + PIECE))
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

async fn faults(State(emu): State<Arc<Emulator>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")).into_response(),
    };
    let share = |k: &str| {
        v.get(k)
            .and_then(Value::as_f64)
            .filter(|x| (0.0..=1.0).contains(x))
    };
    let mut inner = emu.lock();
    if let Some(x) = share("fault_5xx") {
        inner.fault_5xx = x;
    }
    if let Some(x) = share("fault_drop") {
        inner.fault_drop = x;
    }
    if let Some(b) = v.get("corrupt_downloads").and_then(Value::as_bool) {
        inner.corrupt_downloads = b;
    }
    if let Some(once) = v.get("once") {
        let endpoint = once.get("endpoint").and_then(Value::as_str);
        let fault = match once.get("fault").and_then(Value::as_str) {
            Some("drop-before") => Some(OnceFault {
                status: None,
                after: false,
            }),
            Some("drop-after") => Some(OnceFault {
                status: None,
                after: true,
            }),
            Some("5xx-before") => Some(OnceFault {
                status: Some(503),
                after: false,
            }),
            Some("5xx-after") => Some(OnceFault {
                status: Some(503),
                after: true,
            }),
            _ => None,
        };
        let (Some(endpoint), Some(fault)) = (endpoint, fault) else {
            return (
                StatusCode::BAD_REQUEST,
                "once: needs endpoint (\"METHOD /path\") and fault (drop-before, drop-after, 5xx-before, 5xx-after)",
            )
                .into_response();
        };
        inner.faults_once.push((endpoint.to_string(), fault));
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_sessions(State(emu): State<Arc<Emulator>>) -> StatusCode {
    let idle = emu.config.session_idle + Duration::from_secs(1);
    let mut inner = emu.lock();
    let now = Instant::now();
    let past = now.checked_sub(idle).unwrap_or(emu.started);
    for s in inner.sessions.values_mut() {
        s.last_active = s.last_active.min(past);
    }
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(emu): State<Arc<Emulator>>) -> StatusCode {
    let now = Instant::now();
    for t in emu.lock().tokens.values_mut() {
        t.expires = now;
    }
    StatusCode::NO_CONTENT
}
