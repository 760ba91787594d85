//! The HTTP client of the Falcon API: one `reqwest::Client`, one token cache and one rate-limit
//! governor per process, shared (cheap `Clone`) by the shell, the pollers and the pulse task.
//!
//! Retry rules (the heart of "no command sent twice, nothing lost"):
//! - 401: the token is refreshed once and the request re-sent once (a 401 comes from the gateway:
//!   nothing ran).
//! - 429: wait until `X-RateLimit-RetryAfter` and re-send (nothing ran).
//! - 5xx and connection failures: re-sent with backoff only when the request is [`Safety::Retry`]
//!   (reads, pulses, session init). A request that may run a command ([`Safety::Once`]) is never
//!   re-sent after it may have reached the API; the error says the command may or may not have
//!   run. A connection that could not even be opened is safe to retry for any request.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiErrorItem, FalconError};
use crate::governor::{Governor, RateWait, WaitNotice};

/// Credentials of an API client.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
    /// MSSP: act inside this child CID.
    pub member_cid: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("member_cid", &self.member_cid)
            .finish()
    }
}

/// Whether a request may be re-sent after an ambiguous failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Safety {
    /// Reads and idempotent writes: re-send on 5xx and broken connections.
    Retry,
    /// May run a command on a host: never re-send once it may have reached the API.
    Once,
}

/// Tunables of the client. `Default` suits an interactive shell.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Upper bound for one request (batch commands wait up to their own timeout on the server,
    /// so callers add that to this).
    pub request_timeout: Duration,
    /// Attempts for [`Safety::Retry`] requests that fail with 5xx or a broken connection.
    pub max_attempts: u32,
    /// First backoff between such attempts (doubles each time, capped at 5 s).
    pub backoff: Duration,
    /// Re-sends allowed after 429s for one request.
    pub max_rate_limit_waits: u32,
    pub user_agent: String,
    /// Region autodiscovery: maps the token reply's `X-CS-Region` to the API URL to move to.
    /// None: never move (explicit URLs, GovCloud).
    pub region_switch: Option<RegionSwitch>,
}

/// Maps an `X-CS-Region` value to the base URL of that cloud (None: stay where we are).
#[derive(Clone)]
pub struct RegionSwitch(Arc<RegionFn>);

type RegionFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl RegionSwitch {
    pub fn new(f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        RegionSwitch(Arc::new(f))
    }

    /// The URL the client should use for a token reply naming `region`.
    pub fn target(&self, region: &str) -> Option<String> {
        (self.0)(region)
    }
}

impl std::fmt::Debug for RegionSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegionSwitch")
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_attempts: 5,
            backoff: Duration::from_millis(200),
            max_rate_limit_waits: 20,
            user_agent: format!("rtrsh/{}", env!("CARGO_PKG_VERSION")),
            region_switch: None,
        }
    }
}

/// A successful (2xx) reply.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trace_id: Option<String>,
    pub path: String,
    /// The place taken in the gate of [`ApiRequest::gate`], held until this is dropped.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Reply {
    /// Parses the JSON body. Hosts can put bytes that are not UTF-8 into command output and some
    /// servers pass them through into the JSON: such a body is decoded with invalid sequences
    /// replaced (U+FFFD) rather than rejected, so output is shown safely instead of lost.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FalconError> {
        parse_json(&self.body, &self.path)
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8], path: &str) -> Result<T, FalconError> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            if std::str::from_utf8(body).is_err() {
                let lossy = String::from_utf8_lossy(body);
                if let Ok(v) = serde_json::from_str(&lossy) {
                    return Ok(v);
                }
            }
            Err(FalconError::Decode {
                path: path.to_string(),
                detail: first.to_string(),
            })
        }
    }
}

#[derive(Debug)]
struct Token {
    value: SecretString,
    refresh_at: Instant,
    /// The base URL that issued it (after any 308 redirect).
    issued_by: String,
    /// `X-CS-Region` of the reply.
    region: Option<String>,
}

struct Inner {
    /// Honours the proxy environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, ...).
    http: reqwest::Client,
    /// Never uses a proxy: for loopback URLs, whatever the environment says, so a token or a
    /// secret sent over plain `http://` to the emulator never crosses a proxy in clear text.
    direct: reqwest::Client,
    /// The same two for batch requests ([`ApiRequest::bulk`]), in a pool of their own that
    /// keeps at most [`BULK_IDLE`] idle connections.
    bulk: reqwest::Client,
    bulk_direct: reqwest::Client,
    base_url: std::sync::RwLock<String>,
    creds: Credentials,
    token: tokio::sync::Mutex<Option<Token>>,
    governor: Governor,
    opts: ClientOptions,
    region: std::sync::RwLock<Option<String>>,
    /// Set once autodiscovery moved the client: the URL it started at.
    moved_from: std::sync::RwLock<Option<String>>,
    /// The `Date` of the latest reply and when it arrived (see [`FalconClient::server_time_floor`]).
    last_date: std::sync::Mutex<Option<(SystemTime, Instant)>>,
    /// Buffers of large reply bodies, given back once read ([`FalconClient::recycle`]) and
    /// filled again by the next: a fleet's 100 batch replies of some MB each reuse two buffers
    /// instead of leaving the allocator 100 freed ones to scatter.
    bodies: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// Reply bodies [`Inner::bodies`] keeps for reuse (a fleet holds two batch replies at once).
const BODIES_KEPT: usize = 2;

/// A body is read into a kept buffer from this size up (batch replies, device details; not a
/// command's chunk)...
const BODY_REUSE_FROM: usize = 256 * 1024;

/// ...and a buffer is kept up to this size (a `ps` batch reply is ~2.4 MB, device details of
/// 5,000 hosts ~5 MB); a larger one is given back to the allocator.
const BODY_KEEP_MAX: usize = 8 << 20;

/// Idle connections kept for batch requests. A connection that has read a large reply keeps a
/// read buffer of ~400 KB, and reads that much of its next reply ahead while the reply waits
/// its turn ([`ApiRequest::gate`]): with every batch of a 50,000-host fleet waiting at once,
/// 50 reused connections held 20 MB of replies ahead; fresh ones hold a few KB each. Fleets of
/// up to this many batches (8,000 hosts) reuse every connection; larger ones open the rest
/// anew for each command (one connection set-up, side by side, per batch request).
pub const BULK_IDLE: usize = 16;

/// The Falcon API client. Clones share everything.
#[derive(Clone)]
pub struct FalconClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FalconClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FalconClient")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

/// Parses an HTTP date (IMF-fixdate, RFC 9110: `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let mut w = s.split_whitespace();
    let (_day, dd, mon, yyyy, hms, gmt) = (
        w.next()?,
        w.next()?,
        w.next()?,
        w.next()?,
        w.next()?,
        w.next()?,
    );
    if gmt != "GMT" || w.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == mon)? + 1;
    let d: u32 = dd.parse().ok()?;
    let y: u32 = yyyy.parse().ok()?;
    humantime::parse_rfc3339(&format!("{y:04}-{m:02}-{d:02}T{hms}Z")).ok()
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a base URL: `https://` anywhere, `http://` only to loopback. Returns it without a
/// trailing slash.
pub fn check_base_url(url: &str) -> Result<String, FalconError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| FalconError::Config(format!("invalid API URL {url:?}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => {
            return Err(FalconError::Config(format!(
                "refusing plain http:// to {host}: use https:// (http is allowed only for loopback)"
            )));
        }
        s => {
            return Err(FalconError::Config(format!(
                "unsupported URL scheme {s:?} in {url:?}"
            )));
        }
    }
    // Normalised (lower-case host, no default port) so it compares with the URLs replies name.
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// The longest a token is trusted, whatever `expires_in` says (real tokens: 30 minutes).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The error for a 429 whose `X-RateLimit-RetryAfter` is further away than rtrsh waits.
fn rate_limited_too_long(path: &str, wait: Duration) -> FalconError {
    let how_long = if wait >= Duration::from_secs(100 * 365 * 86_400) {
        "more than a century".to_string()
    } else {
        humantime::format_duration(Duration::from_secs(wait.as_secs())).to_string()
    };
    FalconError::Api {
        status: 429,
        errors: vec![ApiErrorItem {
            code: 429,
            message: format!(
                "rate limited: the API asks to wait {how_long} (X-RateLimit-RetryAfter), more than \
                 the {} rtrsh waits; try again later",
                humantime::format_duration(crate::governor::MAX_RETRY_WAIT)
            ),
        }],
        trace_id: None,
        path: path.to_string(),
        maybe_executed: false,
    }
}

/// Follows redirects only for the token request (a region redirect; docs/protocol.md,
/// "Clouds and region discovery"), only to https (or loopback http), and never more than three
/// times.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let url = attempt.url();
        let ok_scheme = url.scheme() == "https"
            || (url.scheme() == "http" && is_loopback_host(url.host_str().unwrap_or_default()));
        let from_token = attempt
            .previous()
            .first()
            .is_some_and(|u| u.path() == "/oauth2/token");
        if from_token && ok_scheme && attempt.previous().len() < 3 && url.path() == "/oauth2/token"
        {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

impl Inner {
    /// The HTTP client for a URL: never through a proxy to loopback; batch requests (`bulk`)
    /// in their own pool.
    fn http_for(&self, url: &str, bulk: bool) -> &reqwest::Client {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        match (is_loopback_host(&host), bulk) {
            (true, false) => &self.direct,
            (false, false) => &self.http,
            (true, true) => &self.bulk_direct,
            (false, true) => &self.bulk,
        }
    }
}

impl FalconClient {
    pub fn new(
        base_url: &str,
        creds: Credentials,
        opts: ClientOptions,
    ) -> Result<Self, FalconError> {
        let base = check_base_url(base_url)?;
        install_crypto_provider();
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(opts.connect_timeout)
                .timeout(opts.request_timeout)
                .user_agent(opts.user_agent.clone())
                .redirect(redirect_policy())
                .pool_idle_timeout(Duration::from_secs(50))
                .tcp_nodelay(true)
        };
        let build_err =
            |e: reqwest::Error| FalconError::Config(format!("cannot build the HTTP client: {e}"));
        let http = builder().build().map_err(build_err)?;
        let direct = builder().no_proxy().build().map_err(build_err)?;
        let bulk = builder()
            .pool_max_idle_per_host(BULK_IDLE)
            .build()
            .map_err(build_err)?;
        let bulk_direct = builder()
            .pool_max_idle_per_host(BULK_IDLE)
            .no_proxy()
            .build()
            .map_err(build_err)?;
        Ok(FalconClient {
            inner: Arc::new(Inner {
                http,
                direct,
                bulk,
                bulk_direct,
                base_url: std::sync::RwLock::new(base),
                creds,
                token: tokio::sync::Mutex::new(None),
                governor: Governor::default(),
                opts,
                region: std::sync::RwLock::new(None),
                moved_from: std::sync::RwLock::new(None),
                last_date: std::sync::Mutex::new(None),
                bodies: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    /// Who to tell when every request waits out a 429 for a second or more.
    pub fn on_rate_limit_wait(&self, notice: WaitNotice) {
        self.inner.governor.on_wait(notice);
    }

    pub fn base_url(&self) -> String {
        self.inner
            .base_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The API client id (never the secret).
    pub fn client_id(&self) -> &str {
        &self.inner.creds.client_id
    }

    /// The region the token endpoint named in `X-CS-Region`, once a token was obtained.
    pub fn region(&self) -> Option<String> {
        self.inner
            .region
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn governor(&self) -> &Governor {
        &self.inner.governor
    }

    /// Returns a valid bearer token, fetching one if needed. Single-flight: concurrent callers
    /// wait for the one refresh in progress.
    async fn token(&self, force: bool) -> Result<SecretString, FalconError> {
        let mut guard = self.inner.token.lock().await;
        if !force
            && let Some(t) = guard.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        let mut fresh = self.fetch_token().await?;
        if let Some(moved) = self.discover(&fresh).await? {
            fresh = moved;
        }
        let value = fresh.value.clone();
        *guard = Some(fresh);
        Ok(value)
    }

    /// Obtains a token now (checks the credentials; performs region autodiscovery).
    pub async fn authenticate(&self) -> Result<(), FalconError> {
        self.token(false).await.map(|_| ())
    }

    /// The URL the client started at, when region autodiscovery moved it elsewhere.
    pub fn moved_from(&self) -> Option<String> {
        self.inner
            .moved_from
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Region autodiscovery (docs/protocol.md, "Clouds and region discovery"): when the token reply
    /// names another cloud than the one in use (`X-CS-Region`), or a 308 took the token request to
    /// another host, move there once. A token issued there is kept; otherwise a token is fetched
    /// from the new home first and only then is the move made and the discovery token revoked, so a
    /// failed switch leaves the client where it was. Clouds that may not move (GovCloud, explicit
    /// URLs) refuse a redirect elsewhere instead of calling the API on a host that did not issue
    /// the token.
    async fn discover(&self, fresh: &Token) -> Result<Option<Token>, FalconError> {
        if self.moved_from().is_some() {
            return Ok(None);
        }
        let current = self.base_url();
        let switch = self.inner.opts.region_switch.as_ref();
        let by_region = match (switch, &fresh.region) {
            (Some(sw), Some(r)) => sw.target(r),
            _ => None,
        };
        // A token works where it was issued: a followed redirect decides before the header.
        let redirected = fresh.issued_by != current;
        let target = match (redirected.then(|| fresh.issued_by.clone()), by_region) {
            (Some(r), _) if switch.is_some() => r,
            (Some(r), _) => {
                let _ = self.revoke_at(&fresh.issued_by, &fresh.value).await;
                return Err(FalconError::Config(format!(
                    "the token endpoint at {current} redirected to {r}: use that URL (--base-url {r})"
                )));
            }
            (None, Some(t)) => match check_base_url(&t) {
                Ok(t) => t,
                Err(e) => {
                    let _ = self.revoke_at(&fresh.issued_by, &fresh.value).await;
                    return Err(e);
                }
            },
            (None, None) => return Ok(None),
        };
        if target == current {
            return Ok(None);
        }
        let why = match &fresh.region {
            _ if redirected => format!("the token endpoint redirected to {target}"),
            Some(r) => format!("the token endpoint names region {r}"),
            None => format!("moving to {target}"),
        };
        let token = if fresh.issued_by == target {
            None
        } else {
            let t = self.fetch_token_at(&target).await.map_err(|e| {
                FalconError::Auth(format!(
                    "autodiscovery: {why}, but {target} gave no token ({e}); name the cloud with --base-url"
                ))
            })?;
            if let Err(e) = self.revoke_at(&fresh.issued_by, &fresh.value).await {
                tracing::debug!("revoking the discovery token: {e}");
            }
            Some(t)
        };
        tracing::info!("{why}: moving from {current} to {target}");
        *self
            .inner
            .moved_from
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(current);
        *self
            .inner
            .base_url
            .write()
            .unwrap_or_else(|p| p.into_inner()) = target;
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<Token, FalconError> {
        self.fetch_token_at(&self.base_url()).await
    }

    async fn fetch_token_at(&self, base: &str) -> Result<Token, FalconError> {
        let url = format!("{base}/oauth2/token");
        let mut form = vec![
            ("client_id", self.inner.creds.client_id.clone()),
            (
                "client_secret",
                self.inner.creds.client_secret.expose_secret().to_string(),
            ),
        ];
        if let Some(m) = &self.inner.creds.member_cid {
            form.push(("member_cid", m.clone()));
        }
        let opts = &self.inner.opts;
        let mut tries = Tries::new(opts);
        loop {
            tries.attempt += 1;
            let attempt = tries.attempt;
            self.inner.governor.ready().await;
            // Asking for a token changes nothing: 5xx and broken connections are retried.
            let resp = match self
                .inner
                .http_for(&url, false)
                .post(&url)
                .form(&form)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) if tries.again(opts) && !is_permanent(&e) => {
                    tracing::debug!(
                        "/oauth2/token: {} (attempt {attempt}), retrying",
                        describe(&e)
                    );
                    tries.back_off().await;
                    continue;
                }
                Err(e) => return Err(token_unreachable(&e)),
            };
            let status = resp.status();
            // The request's form holds the secret and the reply the token: neither is logged.
            tracing::debug!(
                target: "rtrsh::http",
                "POST /oauth2/token -> {} (attempt {attempt})",
                status.as_u16()
            );
            let issued_by = resp
                .url()
                .as_str()
                .trim_end_matches("/oauth2/token")
                .to_string();
            match self.inner.governor.observe(status.as_u16(), resp.headers()) {
                Some(RateWait::Wait(wait)) => {
                    tries.rate_waits += 1;
                    if tries.rate_waits > opts.max_rate_limit_waits {
                        return Err(FalconError::Auth(
                            "rate limited by the token endpoint".into(),
                        ));
                    }
                    tokio::time::sleep(wait).await;
                    tries.attempt -= 1;
                    continue;
                }
                Some(RateWait::TooLong(wait)) => {
                    return Err(rate_limited_too_long("/oauth2/token", wait));
                }
                None => {}
            }
            if status.is_server_error() && tries.again(opts) {
                tries.back_off().await;
                continue;
            }
            let region = resp
                .headers()
                .get("x-cs-region")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if let Some(region) = &region {
                *self.inner.region.write().unwrap_or_else(|p| p.into_inner()) =
                    Some(region.clone());
            }
            let body = match resp.bytes().await {
                Ok(b) => b,
                Err(_) if tries.again(opts) => {
                    tries.back_off().await;
                    continue;
                }
                Err(e) => return Err(token_unreachable(&e)),
            };
            if status.is_server_error() {
                return Err(FalconError::Api {
                    status: status.as_u16(),
                    errors: envelope_errors(&body),
                    trace_id: None,
                    path: "/oauth2/token".into(),
                    maybe_executed: false,
                });
            }
            if !status.is_success() {
                let errors = envelope_errors(&body);
                let msg = errors
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| format!("HTTP {status}"));
                return Err(FalconError::Auth(msg));
            }
            let v: Value = parse_json(&body, "/oauth2/token")?;
            let token = v
                .get("access_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    FalconError::Auth("the token endpoint returned no access_token".into())
                })?;
            // Clamped: real tokens live 30 minutes; a server's absurd value (a negative, a
            // float, 2^64) must neither overflow the clock nor keep a token forever.
            let lifetime = Duration::from_secs(
                v.get("expires_in")
                    .and_then(Value::as_u64)
                    .unwrap_or(1799)
                    .clamp(1, MAX_TOKEN_LIFETIME.as_secs()),
            );
            // Renew before expiry: 120 s early for real tokens (FalconPy's window), a tenth of
            // the lifetime for short ones.
            let margin =
                (lifetime / 10).clamp(Duration::from_millis(200), Duration::from_secs(120));
            return Ok(Token {
                value: SecretString::from(token.to_string()),
                refresh_at: Instant::now() + lifetime.saturating_sub(margin),
                issued_by,
                region,
            });
        }
    }

    /// Revokes the current token (best effort; used on exit).
    pub async fn revoke(&self) -> Result<(), FalconError> {
        let token = match self.inner.token.lock().await.take() {
            Some(t) => t.value,
            None => return Ok(()),
        };
        self.revoke_at(&self.base_url(), &token).await
    }

    async fn revoke_at(&self, base: &str, token: &SecretString) -> Result<(), FalconError> {
        let url = format!("{base}/oauth2/revoke");
        self.inner
            .http_for(&url, false)
            .post(&url)
            .basic_auth(
                &self.inner.creds.client_id,
                Some(self.inner.creds.client_secret.expose_secret()),
            )
            .form(&[
                ("token", token.expose_secret()),
                ("client_id", self.inner.creds.client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|e| FalconError::Transport {
                path: "/oauth2/revoke".into(),
                detail: describe(&e),
                maybe_executed: false,
            })?;
        Ok(())
    }

    /// One API request with the retry rules of this module: add a query, a JSON body, whether
    /// it may be re-sent (by default it may), the time the server may take, a gate for its body;
    /// then [`ApiRequest::send`].
    pub fn request<'a>(&'a self, method: Method, path: &'a str) -> ApiRequest<'a> {
        ApiRequest {
            client: self,
            request: Request {
                method,
                path,
                query: &[],
                body: None,
                safety: Safety::Retry,
                timeout: self.inner.opts.request_timeout,
                json: true,
                bulk: false,
            },
            gate: None,
        }
    }

    /// The one retry loop of every request, up to a successful status line (the body unread):
    /// a fresh token once on 401, rate-limit waits as the governor says, 5xx and broken
    /// connections retried when the request may be re-sent, one log line per attempt.
    async fn respond(&self, r: &Request<'_>, tries: &mut Tries) -> Result<Success, FalconError> {
        let opts = &self.inner.opts;
        let (method, path) = (&r.method, r.path);
        loop {
            tries.attempt += 1;
            let attempt = tries.attempt;
            let token = self.token(false).await?;
            self.inner.governor.ready().await;
            let url = format!("{}{}", self.base_url(), path);
            let mut req = self
                .inner
                .http_for(&url, r.bulk)
                .request(method.clone(), &url)
                .bearer_auth(token.expose_secret())
                .timeout(r.timeout);
            if r.json {
                req = req.header(
                    reqwest::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
            }
            if !r.query.is_empty() {
                req = req.query(r.query);
            }
            if let Some(b) = r.body {
                req = req.json(b);
            }
            let sent_at = std::time::Instant::now();
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::debug!(
                        target: "rtrsh::http",
                        "{method} {path} -> {} ({} ms, attempt {attempt})",
                        describe(&e),
                        sent_at.elapsed().as_millis()
                    );
                    // Not even connected: nothing can have run, any request may be re-sent.
                    let unsent = e.is_connect();
                    if (unsent || r.safety == Safety::Retry)
                        && tries.again(opts)
                        && !is_permanent(&e)
                    {
                        tracing::debug!("{path}: {} (attempt {attempt}), retrying", describe(&e));
                        tries.back_off().await;
                        continue;
                    }
                    return Err(FalconError::Transport {
                        path: path.to_string(),
                        detail: describe(&e),
                        maybe_executed: r.safety == Safety::Once && !unsent,
                    });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.observe_date(&headers);
            match self.inner.governor.observe(status.as_u16(), &headers) {
                Some(RateWait::Wait(wait)) => {
                    tries.rate_waits += 1;
                    if tries.rate_waits <= opts.max_rate_limit_waits {
                        tracing::debug!("{path}: rate limited, waiting {wait:?}");
                        tokio::time::sleep(wait).await;
                        tries.attempt -= 1;
                        continue;
                    }
                }
                Some(RateWait::TooLong(wait)) => return Err(rate_limited_too_long(path, wait)),
                None => {}
            }
            let trace_id = headers
                .get("x-cs-traceid")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // One line per request for a bug report: never the query (it names hosts), a
            // header, a token or a body.
            tracing::debug!(
                target: "rtrsh::http",
                "{method} {path} -> {} ({} ms, attempt {attempt}, trace_id {})",
                status.as_u16(),
                sent_at.elapsed().as_millis(),
                trace_id.as_deref().unwrap_or("-")
            );
            if status.is_success() {
                return Ok(Success {
                    resp,
                    status,
                    headers,
                    trace_id,
                });
            }
            // An error body is small JSON; a broken one only loses the error details.
            let body = resp.bytes().await.unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED && !tries.refreshed {
                tries.refreshed = true;
                self.token(true).await?;
                tries.attempt -= 1;
                continue;
            }
            if status.is_server_error() && r.safety == Safety::Retry && tries.again(opts) {
                tracing::debug!("{path}: HTTP {status} (attempt {attempt}), retrying");
                tries.back_off().await;
                continue;
            }
            return Err(FalconError::Api {
                status: status.as_u16(),
                errors: envelope_errors(&body),
                trace_id,
                path: path.to_string(),
                maybe_executed: r.safety == Safety::Once && status.is_server_error(),
            });
        }
    }

    /// Notes the `Date` header of a reply (the server's clock, to the second).
    fn observe_date(&self, headers: &HeaderMap) {
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        if let Some(d) = date {
            *self
                .inner
                .last_date
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((d, Instant::now()));
        }
    }

    /// Gives a large reply's body back once it has been read, for the next large reply to
    /// fill. A body still shared, or a small one, is simply dropped.
    pub fn recycle(&self, body: Bytes) {
        if body.len() < BODY_REUSE_FROM {
            return;
        }
        let Ok(body) = body.try_into_mut() else {
            return;
        };
        let mut buffer = Vec::from(body);
        if buffer.capacity() > BODY_KEEP_MAX {
            return;
        }
        buffer.clear();
        let mut kept = self.inner.bodies.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < BODIES_KEPT {
            kept.push(buffer);
        }
    }

    /// A time the server's clock had certainly reached by local instant `at` (`at` no earlier
    /// than the latest reply): that reply's `Date` plus the time since it arrived. The server
    /// wrote its `Date` (truncated to the second, so never ahead) before we received the reply,
    /// so this is a lower bound with no assumption about clock skew between us and the server,
    /// only that both clocks run at the same rate. None before any dated reply.
    pub fn server_time_floor(&self, at: Instant) -> Option<SystemTime> {
        let (date, received) = (*self
            .inner
            .last_date
            .lock()
            .unwrap_or_else(|p| p.into_inner()))?;
        Some(date + at.saturating_duration_since(received))
    }

    /// A POST that is harmless to send twice (it reads: ids in, records out; or it refreshes a
    /// session): retried on failure.
    pub async fn post_repeatable(&self, path: &str, body: &Value) -> Result<Reply, FalconError> {
        self.request(Method::POST, path).json(body).send().await
    }

    /// GET, retried on failure.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Reply, FalconError> {
        self.request(Method::GET, path).query(query).send().await
    }
}

impl FalconClient {
    /// GET whose 2xx body is returned unread, for downloads streamed to disk (no Content-Length,
    /// possibly gigabytes). Same rules as [`FalconClient::get`] up to the status line: the token
    /// is refreshed once on 401, 429s wait, 5xx and broken connections are retried. Reading the
    /// body is the caller's job; `timeout` bounds the whole transfer.
    pub async fn get_stream(
        &self,
        path: &str,
        query: &[(&str, String)],
        timeout: Duration,
    ) -> Result<reqwest::Response, FalconError> {
        let request = Request {
            method: Method::GET,
            path,
            query,
            body: None,
            safety: Safety::Retry,
            timeout,
            json: false,
            bulk: false,
        };
        let mut tries = Tries::new(&self.inner.opts);
        Ok(self.respond(&request, &mut tries).await?.resp)
    }
}

/// A request being built ([`FalconClient::request`]).
pub struct ApiRequest<'a> {
    client: &'a FalconClient,
    request: Request<'a>,
    gate: Option<&'a Arc<tokio::sync::Semaphore>>,
}

impl<'a> ApiRequest<'a> {
    /// Query pairs (keys may repeat).
    pub fn query(mut self, query: &'a [(&'a str, String)]) -> Self {
        self.request.query = query;
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: &'a Value) -> Self {
        self.request.body = Some(body);
        self
    }

    /// Never re-sent once it may have reached the API: it runs something on a host.
    pub fn once(mut self) -> Self {
        self.request.safety = Safety::Once;
        self
    }

    /// The server holds the reply up to `wait` (batch commands and session inits wait for
    /// the hosts): the request's timeout grows by as much.
    pub fn server_wait(mut self, wait: Duration) -> Self {
        self.request.timeout = self.client.inner.opts.request_timeout + wait;
        self
    }

    /// A batch request (many hosts, a large reply): sent through a connection pool of its own
    /// that keeps few idle connections (see [`BULK_IDLE`]).
    pub fn bulk(mut self) -> Self {
        self.request.bulk = true;
        self
    }

    /// Reads a successful reply's body only once a place in `gate` is free; the place stays
    /// taken while the returned [`Reply`] (its `permit`) lives. Requests go out side by side
    /// while only a few large bodies are held at once: the others wait in the server and the
    /// socket.
    pub fn gate(mut self, gate: Option<&'a Arc<tokio::sync::Semaphore>>) -> Self {
        self.gate = gate;
        self
    }

    /// Sends it, retrying as the request allows, and reads the successful reply.
    pub async fn send(self) -> Result<Reply, FalconError> {
        let ApiRequest {
            client,
            request,
            gate,
        } = self;
        let (path, safety) = (request.path, request.safety);
        let mut tries = Tries::new(&client.inner.opts);
        loop {
            let ok = client.respond(&request, &mut tries).await?;
            let permit = match gate {
                Some(g) => g.clone().acquire_owned().await.ok(),
                None => None,
            };
            match read_body(ok.resp, &client.inner.bodies).await {
                Ok(body) => {
                    return Ok(Reply {
                        status: ok.status,
                        headers: ok.headers,
                        body,
                        trace_id: ok.trace_id,
                        path: path.to_string(),
                        permit,
                    });
                }
                Err(e) if safety == Safety::Retry && tries.again(&client.inner.opts) => {
                    tracing::debug!("{path}: reply cut off: {}, retrying", describe(&e));
                    tries.back_off().await;
                }
                Err(e) => {
                    return Err(FalconError::Transport {
                        path: path.to_string(),
                        detail: format!("reply cut off: {}", describe(&e)),
                        // The status line arrived: a 2xx means the API took the request.
                        maybe_executed: safety == Safety::Once,
                    });
                }
            }
        }
    }
}

/// Room reserved up front for a body from its `Content-Length` at most (a server's word).
const BODY_RESERVE_MAX: usize = 16 << 20;

/// A reply's whole body, read chunk by chunk into one buffer sized from its length: each chunk
/// the HTTP client read is freed as soon as it is copied, so a large body is held once, not
/// twice (`Response::bytes` keeps every chunk until it has copied them all).
/// A large body goes into a buffer an earlier one left in `kept` ([`FalconClient::recycle`]).
async fn read_body(
    mut resp: reqwest::Response,
    kept: &std::sync::Mutex<Vec<Vec<u8>>>,
) -> Result<Bytes, reqwest::Error> {
    // Asked first: the length still to come shrinks as chunks are read.
    let known = resp.content_length().unwrap_or(0);
    let Some(first) = resp.chunk().await? else {
        return Ok(Bytes::new());
    };
    // A body that came in one chunk is kept as it is.
    let Some(second) = resp.chunk().await? else {
        return Ok(first);
    };
    let room = usize::try_from(known)
        .unwrap_or(usize::MAX)
        .min(BODY_RESERVE_MAX)
        .max(first.len() + second.len());
    let mut body = if room >= BODY_REUSE_FROM {
        kept.lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    body.reserve(room);
    body.extend_from_slice(&first);
    drop(first);
    body.extend_from_slice(&second);
    drop(second);
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The token endpoint could not be reached or its reply was cut off (asking for a token runs
/// nothing).
fn token_unreachable(e: &reqwest::Error) -> FalconError {
    FalconError::Transport {
        path: "/oauth2/token".into(),
        detail: describe(e),
        maybe_executed: false,
    }
}

/// One request as the retry loop sends it.
struct Request<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<&'a Value>,
    safety: Safety,
    timeout: Duration,
    /// Ask for JSON (`Accept: application/json`); not for file downloads.
    json: bool,
    /// A batch request: sent through the batch pool (see [`BULK_IDLE`]).
    bulk: bool,
}

/// A successful status line, its body not yet read.
struct Success {
    resp: reqwest::Response,
    status: StatusCode,
    headers: HeaderMap,
    trace_id: Option<String>,
}

/// What one request has used of its retries so far.
struct Tries {
    attempt: u32,
    refreshed: bool,
    rate_waits: u32,
    backoff: Duration,
}

impl Tries {
    fn new(opts: &ClientOptions) -> Tries {
        Tries {
            attempt: 0,
            refreshed: false,
            rate_waits: 0,
            backoff: opts.backoff,
        }
    }

    /// Another attempt is allowed.
    fn again(&self, opts: &ClientOptions) -> bool {
        self.attempt < opts.max_attempts
    }

    /// Waits before the next attempt, twice as long each time up to 5 s.
    async fn back_off(&mut self) {
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
    }
}

/// `errors[]` of an error body, tolerating missing keys, `null`, and non-JSON bodies.
pub(crate) fn envelope_errors(body: &[u8]) -> Vec<ApiErrorItem> {
    let Ok(v) = parse_json::<Value>(body, "") else {
        return Vec::new();
    };
    match v.get("errors") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| ApiErrorItem {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect(),
        _ => match (
            v.get("code").and_then(Value::as_i64),
            v.get("message").and_then(Value::as_str),
        ) {
            (Some(code), Some(message)) => vec![ApiErrorItem {
                code,
                message: message.to_string(),
            }],
            _ => Vec::new(),
        },
    }
}

/// A reqwest error in a few words, without the URL (which may carry ids but never secrets; kept
/// short for one-line errors).
fn describe(e: &reqwest::Error) -> String {
    if let Some(problem) = certificate_problem(e) {
        return problem;
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection closed mid-reply"
    } else if e.is_request() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

/// A failure that sending again cannot mend (the server's certificate is not to be trusted).
fn is_permanent(e: &reqwest::Error) -> bool {
    certificate_problem(e).is_some()
}

/// What is wrong with the server's TLS certificate, in plain words, if that is why `e` failed.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(rustls::Error::InvalidCertificate(c)) = err.downcast_ref::<rustls::Error>() {
            let what = match c {
                C::UnknownIssuer => {
                    "is not issued by an authority this machine trusts (self-signed, or a private \
                     CA: a TLS-inspecting proxy's CA can be added with SSL_CERT_FILE)"
                        .to_string()
                }
                C::Expired | C::ExpiredContext { .. } => "has expired".into(),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "is not valid yet (check this machine's clock)".into()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "is for another name than the host rtrsh connected to".into()
                }
                C::Revoked => "has been revoked".into(),
                other => format!("is not valid ({other:?})"),
            };
            return Some(format!("the server's TLS certificate {what}"));
        }
        // An io::Error hides the error it wraps from `source()` (and may wrap another).
        source = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// rustls needs one process-wide crypto provider; we use ring (see crates.md: smaller build).
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(check_base_url("https://api.crowdstrike.com").is_ok());
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/").expect("loopback ok"),
            "http://127.0.0.1:8080"
        );
        assert!(check_base_url("http://localhost:1").is_ok());
        assert!(check_base_url("http://[::1]:1").is_ok());
        let err = check_base_url("http://api.crowdstrike.com").expect_err("remote http refused");
        assert!(err.to_string().contains("https"), "{err}");
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("not a url").is_err());
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("IMF-fixdate");
        assert_eq!(
            humantime::format_rfc3339_seconds(t).to_string(),
            "1994-11-06T08:49:37Z"
        );
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET").is_none());
        assert!(parse_http_date("").is_none());
    }

    #[test]
    fn errors_from_any_envelope() {
        let e = envelope_errors(br#"{"meta":{},"errors":[{"code":40401,"message":"x"}]}"#);
        assert_eq!(
            e,
            vec![ApiErrorItem {
                code: 40401,
                message: "x".into()
            }]
        );
        assert!(envelope_errors(br#"{"errors":null}"#).is_empty());
        assert_eq!(
            envelope_errors(br#"{"code":400,"message":"flat"}"#)[0].message,
            "flat"
        );
        assert!(envelope_errors(b"<html>").is_empty());
    }

    #[test]
    fn lossy_json_for_invalid_utf8() {
        let body = b"{\"stdout\":\"a\xffb\"}";
        let v: Value = parse_json(body, "/x").expect("lossy parse");
        assert_eq!(v["stdout"], "a\u{fffd}b");
        assert!(parse_json::<Value>(b"{", "/x").is_err());
    }

    #[test]
    fn credentials_debug_redacts_secret() {
        let c = Credentials {
            client_id: "id".into(),
            client_secret: SecretString::from("hunter2".to_string()),
            member_cid: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
