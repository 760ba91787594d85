//! The HTTP side: the accept loop, the gateway every API request passes (trace id, auth, scopes,
//! rate limits, fault injection, common headers, counters), and the route table.
//!
//! The accept loop is our own (hyper directly, not `axum::serve`) for one reason: to inject a
//! *dropped connection* fault, a handler must be able to close the TCP connection without any
//! reply, which only the task owning the connection can do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::config::{Misbehaviour, RetryAfterUnit};
use crate::handlers::{auth, batch, commands, devices, files, introspect, library, sessions};
use crate::http::{self, ApiError, Ctx};
use crate::state::{Caller, Emulator, RateDecision};

/// Lets a handler close the connection it is serving without a reply.
#[derive(Clone)]
pub struct DropConnection(pub Arc<Notify>);

/// The client's address.
#[derive(Clone, Copy)]
pub struct Peer(pub SocketAddr);

pub fn router(emu: Arc<Emulator>) -> Router {
    let rtr_base = "/real-time-response";
    let api = Router::new()
        .route("/oauth2/token", post(auth::token))
        .route("/oauth2/revoke", post(auth::revoke))
        .route("/devices/queries/devices/v1", get(devices::query))
        .route("/devices/queries/devices-scroll/v1", get(devices::scroll))
        .route(
            "/devices/entities/devices/v2",
            get(devices::get_details).post(devices::post_details),
        )
        .route(
            "/devices/entities/devices-actions/v2",
            post(devices::action),
        )
        .route(
            "/devices/entities/online-state/v1",
            get(devices::online_state),
        )
        .route(
            &format!("{rtr_base}/entities/sessions/v1"),
            post(sessions::init_session).delete(sessions::delete_session),
        )
        .route(
            &format!("{rtr_base}/entities/refresh-session/v1"),
            post(sessions::pulse),
        )
        .route(
            &format!("{rtr_base}/queries/sessions/v1"),
            get(sessions::query_sessions),
        )
        .route(
            &format!("{rtr_base}/entities/sessions/GET/v1"),
            post(sessions::get_sessions),
        )
        .route(
            &format!("{rtr_base}/aggregates/sessions/GET/v1"),
            post(sessions::aggregate_sessions),
        )
        .route(
            &format!("{rtr_base}/entities/command/v1"),
            post(commands::execute_read_only).get(commands::status_read_only),
        )
        .route(
            &format!("{rtr_base}/entities/active-responder-command/v1"),
            post(commands::execute_active_responder).get(commands::status_active_responder),
        )
        .route(
            &format!("{rtr_base}/entities/admin-command/v1"),
            post(commands::execute_admin).get(commands::status_admin),
        )
        .route(
            &format!("{rtr_base}/entities/file/v2"),
            get(files::list_v2).delete(files::delete_file),
        )
        .route(
            &format!("{rtr_base}/entities/file/v1"),
            get(files::list_v1).delete(files::delete_file),
        )
        .route(
            &format!("{rtr_base}/entities/extracted-file-contents/v1"),
            get(files::contents),
        )
        .route(
            &format!("{rtr_base}/entities/queued-sessions/GET/v1"),
            post(sessions::queued_sessions),
        )
        .route(
            &format!("{rtr_base}/entities/queued-sessions/command/v1"),
            axum::routing::delete(sessions::delete_queued_command),
        )
        .route(
            &format!("{rtr_base}/combined/batch-init-session/v1"),
            post(batch::init),
        )
        .route(
            &format!("{rtr_base}/combined/batch-refresh-session/v1"),
            post(batch::refresh),
        )
        .route(
            &format!("{rtr_base}/combined/batch-command/v1"),
            post(batch::command_read_only),
        )
        .route(
            &format!("{rtr_base}/combined/batch-active-responder-command/v1"),
            post(batch::command_active_responder),
        )
        .route(
            &format!("{rtr_base}/combined/batch-admin-command/v1"),
            post(batch::command_admin),
        )
        .route(
            &format!("{rtr_base}/combined/batch-get-command/v1"),
            post(batch::get_command).get(batch::get_status),
        )
        .route(
            &format!("{rtr_base}/queries/put-files/v1"),
            get(library::query_put_files),
        )
        .route(
            &format!("{rtr_base}/entities/put-files/v1"),
            get(library::get_put_files_v1)
                .post(library::create_put_file)
                .delete(library::delete_put_file),
        )
        .route(
            &format!("{rtr_base}/entities/put-files/v2"),
            get(library::get_put_files_v2),
        )
        .route(
            &format!("{rtr_base}/queries/scripts/v1"),
            get(library::query_scripts),
        )
        .route(
            &format!("{rtr_base}/entities/scripts/v1"),
            get(library::get_scripts_v1)
                .post(library::create_script)
                .patch(library::update_script)
                .delete(library::delete_script),
        )
        .route(
            &format!("{rtr_base}/entities/scripts/v2"),
            get(library::get_scripts_v2),
        )
        .route(
            &format!("{rtr_base}/queries/falcon-scripts/v1"),
            get(library::query_falcon_scripts),
        )
        .route(
            &format!("{rtr_base}/entities/falcon-scripts/v1"),
            get(library::get_falcon_scripts),
        )
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(emu.clone(), gateway));
    Router::new()
        .merge(introspect::router())
        .merge(api)
        .with_state(emu)
}

async fn unknown_route() -> Response {
    ApiError::gateway(StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// The scope a route needs (docs/protocol.md, "Command tiers").
fn required_scope(method: &Method, path: &str) -> Option<&'static str> {
    if path.starts_with("/oauth2/") {
        return None;
    }
    if path.starts_with("/devices/entities/devices-actions/") {
        return Some("devices:write");
    }
    if path.starts_with("/devices/") {
        return Some("devices:read");
    }
    let write = [
        "/entities/active-responder-command/",
        "/entities/file/",
        "/entities/extracted-file-contents/",
        "/combined/batch-active-responder-command/",
        "/combined/batch-get-command/",
    ];
    let admin = [
        "/entities/admin-command/",
        "/combined/batch-admin-command/",
        "/put-files/",
        "/scripts/",
    ];
    let _ = method;
    if admin.iter().any(|p| path.contains(p)) {
        Some("real-time-response-admin:write")
    } else if write.iter().any(|p| path.contains(p)) {
        Some("real-time-response:write")
    } else {
        Some("real-time-response:read")
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

enum Fault {
    None,
    Error { status: StatusCode, after: bool },
    Drop { after: bool },
}

/// Everything an API request goes through before and after its handler.
async fn gateway(State(emu): State<Arc<Emulator>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let endpoint = match req.extensions().get::<MatchedPath>() {
        Some(m) => format!("{method} {}", m.as_str()),
        None => format!("{method} (unknown route)"),
    };
    // The peer's address as text, only where a rate-limit key needs it.
    let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let peer = move || peer.map(|ip| ip.to_string()).unwrap_or_default();
    let drop_conn = req.extensions().get::<DropConnection>().cloned();
    let now = Instant::now();

    let (trace_id, fault, caller, rate, forced_retry_after) = {
        let mut inner = emu.lock();
        let trace_id = inner.uuid();
        let fault = {
            let (p5, pd) = (inner.fault_5xx, inner.fault_drop);
            let roll = inner.rng.unit();
            let after = inner.rng.chance(0.5);
            if roll < pd {
                Fault::Drop { after }
            } else if roll < pd + p5 {
                let status = *inner.rng.pick(&[
                    StatusCode::INTERNAL_SERVER_ERROR,
                    StatusCode::BAD_GATEWAY,
                    StatusCode::SERVICE_UNAVAILABLE,
                ]);
                Fault::Error { status, after }
            } else {
                Fault::None
            }
        };
        // A fault armed for this endpoint wins (tests aim faults at one request).
        let fault = match inner.faults_once.iter().position(|(e, _)| *e == endpoint) {
            Some(i) => {
                let (_, once) = inner.faults_once.remove(i);
                match once.status {
                    None => Fault::Drop { after: once.after },
                    Some(code) => Fault::Error {
                        status: StatusCode::from_u16(code)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                        after: once.after,
                    },
                }
            }
            None => fault,
        };
        let is_oauth = path.starts_with("/oauth2/");
        let caller = if is_oauth {
            None
        } else {
            bearer(req.headers()).and_then(|t| {
                inner
                    .tokens
                    .get(t)
                    .filter(|r| !r.revoked && r.expires > now)
                    .map(|r| Caller {
                        client_id: r.client_id.clone(),
                        cid: r.cid.clone(),
                        scopes: r.scopes.clone(),
                    })
            })
        };
        let limit = match (&caller, is_oauth) {
            (_, true) => 300,
            (Some(_), _) => emu.config.rate_limit,
            (None, _) => emu.config.unauthenticated_rate_limit,
        };
        // No limit, no window to look up (nor a key to build).
        let mut rate = if limit == 0 {
            RateDecision::Unlimited
        } else {
            let key = match (&caller, is_oauth) {
                (_, true) => format!("oauth:{}", peer()),
                (Some(c), _) => format!("cid:{}", c.cid),
                (None, _) => format!("ip:{}", peer()),
            };
            inner.rate.check(&key, limit, now)
        };
        let mut forced_retry_after = None;
        let throttle = [
            Misbehaviour::RetryAfterSeconds,
            Misbehaviour::RetryAfterCentury,
        ]
        .into_iter()
        .find(|m| emu.config.misbehaves(*m));
        if let Some(m) = throttle
            && !is_oauth
            && !inner.throttled_once
        {
            inner.throttled_once = true;
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            forced_retry_after = Some(match m {
                Misbehaviour::RetryAfterSeconds => wall + 2,
                // 2100-01-01T00:00:00Z
                _ => 4_102_444_800,
            });
            rate = RateDecision::Limited {
                limit,
                retry_at: now,
            };
        }
        (trace_id, fault, caller, rate, forced_retry_after)
    };

    let ctx = Ctx {
        trace_id: trace_id.clone(),
        start,
    };
    let mut resp = http::scope(ctx, async {
        if let RateDecision::Limited { .. } = rate {
            emu.lock().stats.rate_limited += 1;
            return ApiError::gateway(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded.")
                .into_response();
        }
        if !path.starts_with("/oauth2/") {
            let Some(caller) = caller else {
                return ApiError::gateway(
                    StatusCode::UNAUTHORIZED,
                    "access denied, invalid bearer token",
                )
                .into_response();
            };
            if let Some(scope) = required_scope(&method, &path)
                && !caller.has_scope(scope)
            {
                return ApiError::gateway(
                    StatusCode::FORBIDDEN,
                    "access denied, authorization failed",
                )
                .into_response();
            }
            req.extensions_mut().insert(caller);
        }
        match fault {
            Fault::Error {
                status,
                after: false,
            } => return fault_reply(&emu, status),
            Fault::Drop { after: false } => return drop_now(&emu, drop_conn.as_ref()).await,
            _ => {}
        }
        let resp = next.run(req).await;
        match fault {
            Fault::Error {
                status,
                after: true,
            } => fault_reply(&emu, status),
            Fault::Drop { after: true } => drop_now(&emu, drop_conn.as_ref()).await,
            _ => resp,
        }
    })
    .await;

    let h = resp.headers_mut();
    let hv = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    h.insert("server", HeaderValue::from_static("nginx"));
    h.insert("x-cs-traceid", hv(&trace_id));
    h.insert("x-cs-region", hv(&emu.config.region));
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    match rate {
        RateDecision::Allowed { limit, remaining } => {
            h.insert("x-ratelimit-limit", limit.into());
            h.insert("x-ratelimit-remaining", remaining.into());
        }
        RateDecision::Limited { limit, retry_at } => {
            h.insert("x-ratelimit-limit", limit.into());
            h.insert("x-ratelimit-remaining", 0u32.into());
            let wall = SystemTime::now() + retry_at.saturating_duration_since(Instant::now());
            let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
            let value = match emu.config.retry_after_unit {
                RetryAfterUnit::Seconds => since.as_secs() + u64::from(since.subsec_nanos() > 0),
                RetryAfterUnit::Millis => since.as_millis() as u64 + 1,
            };
            h.insert(
                "x-ratelimit-retryafter",
                forced_retry_after.unwrap_or(value).into(),
            );
        }
        RateDecision::Unlimited => {}
    }
    emu.lock()
        .stats
        .record_request(&endpoint, resp.status().as_u16());
    if emu.config.misbehaves(Misbehaviour::HostileErrors) && resp.status().as_u16() >= 400 {
        return hostile_error(resp).await;
    }
    resp
}

/// An error reply whose messages end in an OSC 52 clipboard write, a bidi override and a CR.
async fn hostile_error(resp: Response) -> Response {
    const EVIL: &str = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{202e}gnirts\r";
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    if let Some(errors) = v.get_mut("errors").and_then(|e| e.as_array_mut()) {
        for e in errors {
            if let Some(m) = e.get_mut("message") {
                *m = format!("{}{EVIL}", m.as_str().unwrap_or_default()).into();
            }
        }
    }
    if let Some(m) = v.get_mut("message") {
        *m = format!("{}{EVIL}", m.as_str().unwrap_or_default()).into();
    }
    let body = serde_json::to_vec(&v).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn fault_reply(emu: &Emulator, status: StatusCode) -> Response {
    emu.lock().stats.faults.http_5xx += 1;
    ApiError::new(status, status.as_u16() as u32, "Internal Server Error").into_response()
}

/// Closes the connection without a reply and never returns.
async fn drop_now(emu: &Emulator, conn: Option<&DropConnection>) -> Response {
    emu.lock().stats.faults.dropped += 1;
    if let Some(c) = conn {
        c.0.notify_one();
        std::future::pending::<()>().await;
    }
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// A running emulator.
pub struct EmulatorHandle {
    addr: SocketAddr,
    emulator: Arc<Emulator>,
    shutdown: watch::Sender<bool>,
    /// Set when the emulator owns its runtime (started with [`start`]).
    runtime_thread: Option<std::thread::JoinHandle<()>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator's state (world, counters) for in-process assertions.
    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// The same JSON as `GET /_emulator/stats`.
    pub fn stats(&self) -> serde_json::Value {
        introspect::stats_json(&self.emulator)
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.runtime_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the emulator on the current tokio runtime.
pub async fn spawn(config: crate::EmulatorConfig) -> std::io::Result<EmulatorHandle> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let emu = Emulator::new(config)?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(accept_loop(listener, router(emu.clone()), rx));
    Ok(EmulatorHandle {
        addr,
        emulator: emu,
        shutdown: tx,
        runtime_thread: None,
    })
}

/// Starts the emulator on its own runtime thread (for synchronous callers such as tests that
/// drive the `rtrsh` binary). It stops when the handle is dropped.
pub fn start(config: crate::EmulatorConfig) -> std::io::Result<EmulatorHandle> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("emulator")
        .build()?;
    let std_listener = std::net::TcpListener::bind(config.listen)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let emu = Emulator::new(config)?;
    let (tx, rx) = watch::channel(false);
    let app = router(emu.clone());
    let mut stop = rx.clone();
    let thread = std::thread::Builder::new()
        .name("emulator".into())
        .spawn(move || {
            rt.block_on(async move {
                match TcpListener::from_std(std_listener) {
                    Ok(listener) => {
                        tokio::spawn(accept_loop(listener, app, rx));
                        stopped(&mut stop).await;
                    }
                    Err(e) => tracing::error!("emulator listener: {e}"),
                }
            });
            rt.shutdown_timeout(std::time::Duration::from_millis(200));
        })?;
    Ok(EmulatorHandle {
        addr,
        emulator: emu,
        shutdown: tx,
        runtime_thread: Some(thread),
    })
}

/// Resolves once the shutdown flag is set (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

async fn accept_loop(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("emulator accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => return,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let k = kill.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(DropConnection(k.clone()));
                    req.extensions_mut().insert(Peer(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                biased;
                _ = kill.notified() => {}
                _ = stopped(&mut stop) => {}
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!("emulator connection: {e}");
                    }
                }
            }
        });
    }
}
