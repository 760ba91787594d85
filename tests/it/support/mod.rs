//! The test harness: an in-process emulator ([`TestEnv`]) and an HTTP client for it ([`Api`])
//! that checks every reply it receives: `X-CS-TRACEID` present and equal to `meta.trace_id`,
//! error bodies carry an `errors` array, 204s are empty, and JSON bodies match the spec
//! (see [`schema`]) unless a test opts out with [`Api::unvalidated`].

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod client;
pub mod schema;
pub mod shell;
pub mod term;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use rtrsh_command::Tier;
use rtrsh_emulator::{self as emulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use serde_json::{Value, json};

/// No single request may take longer than this: a hang is a failure, not a stuck test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a test waits for something that should happen "soon" (a command finishing).
pub const DEADLINE: Duration = Duration::from_secs(15);

pub const READONLY: (&str, &str) = ("readonly-client", "readonly-secret");
pub const RESPONDER: (&str, &str) = ("responder-client", "responder-secret");

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A small, quick tenant: 20 ms per command, so tests are fast.
pub fn fast() -> EmulatorConfig {
    EmulatorConfig {
        latency: ms(20),
        upload_time_per_mib: ms(5),
        ..Default::default()
    }
}

fn http_client(follow_redirects: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = if follow_redirects {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(policy)
        .build()
        .expect("building the HTTP client")
}

/// An emulator running on the test's runtime.
pub struct TestEnv {
    pub handle: emulator::EmulatorHandle,
    pub base: String,
    http: reqwest::Client,
    rate_headers: bool,
}

impl TestEnv {
    pub async fn start(config: EmulatorConfig) -> TestEnv {
        let rate_headers = config.rate_limit > 0;
        let handle = emulator::spawn(config)
            .await
            .expect("starting the emulator");
        TestEnv {
            base: handle.base_url(),
            handle,
            http: http_client(true),
            rate_headers,
        }
    }

    /// A client with every scope (the default credentials).
    pub fn api(&self) -> Api {
        self.api_as(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    }

    pub fn api_as(&self, client_id: &str, client_secret: &str) -> Api {
        Api {
            inner: Arc::new(ApiInner {
                base: self.base.clone(),
                http: self.http.clone(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                token: Mutex::new(None),
            }),
            validate: true,
            rate_headers: self.rate_headers,
        }
    }

    /// A plain client for requests the harness must not touch (redirects not followed).
    pub fn raw_http(&self, follow_redirects: bool) -> reqwest::Client {
        http_client(follow_redirects)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /_emulator/...` as JSON.
    pub async fn control_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("control endpoint JSON")
    }

    /// `POST /_emulator/...`; returns the status.
    pub async fn control_post(&self, path: &str, body: Value) -> u16 {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
            .status()
            .as_u16()
    }

    /// The emulator's counters (`GET /_emulator/stats`).
    /// The raw bytes of a file on a host, as the emulator holds them.
    pub async fn host_file(&self, aid: &str, path: &str) -> Vec<u8> {
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!("/_emulator/hosts/{aid}/file")),
            &[("path", path)],
        )
        .expect("url");
        let r = self.raw_http(false).get(url).send().await.expect("file");
        assert!(r.status().is_success(), "{}", r.status());
        r.bytes().await.expect("body").to_vec()
    }

    pub async fn stats(&self) -> Value {
        self.control_get("/_emulator/stats").await
    }

    pub async fn reset_stats(&self) {
        assert_eq!(
            self.control_post("/_emulator/stats/reset", json!({})).await,
            204
        );
    }

    /// Every host as `/_emulator/hosts` lists it.
    pub async fn hosts(&self) -> Vec<Value> {
        self.control_get("/_emulator/hosts").await["hosts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The aid of the (first) host with this hostname.
    pub async fn aid(&self, hostname: &str) -> String {
        self.hosts()
            .await
            .iter()
            .find(|h| h["hostname"] == hostname)
            .and_then(|h| h["aid"].as_str())
            .unwrap_or_else(|| panic!("no host named {hostname}"))
            .to_string()
    }

    /// Every online host (aids, the hostile one too), in the emulator's order.
    pub async fn all_online_aids(&self) -> Vec<String> {
        self.all_online_aids_where(|_| true).await
    }

    /// Every online host of one platform (`"Windows"`, `"Linux"`, `"Mac"`), in the emulator's
    /// order.
    pub async fn all_online_aids_on(&self, platform: &str) -> Vec<String> {
        self.all_online_aids_where(|h| h["platform_name"] == platform)
            .await
    }

    async fn all_online_aids_where(&self, keep: impl Fn(&Value) -> bool) -> Vec<String> {
        self.hosts()
            .await
            .iter()
            .filter(|h| h["online"] == true && keep(h))
            .filter_map(|h| h["aid"].as_str().map(str::to_string))
            .collect()
    }

    /// `n` distinct online, well-behaved hosts (aids), DESKTOP-01 first.
    pub async fn online_aids(&self, n: usize) -> Vec<String> {
        self.online_aids_on(n, None).await
    }

    /// `n` online, non-hostile Windows hosts (DESKTOP-01 first).
    pub async fn online_windows_aids(&self, n: usize) -> Vec<String> {
        self.online_aids_on(n, Some("Windows")).await
    }

    async fn online_aids_on(&self, n: usize, platform: Option<&str>) -> Vec<String> {
        let mut hosts: Vec<Value> = self
            .hosts()
            .await
            .into_iter()
            .filter(|h| h["online"] == true && h["hostile"] != true)
            .filter(|h| platform.is_none_or(|p| h["platform_name"] == p))
            .collect();
        hosts.sort_by_key(|h| h["hostname"] != "DESKTOP-01");
        assert!(
            hosts.len() >= n,
            "need {n} online hosts, have {}",
            hosts.len()
        );
        hosts
            .iter()
            .take(n)
            .map(|h| h["aid"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A host taken offline for the test (a specific online host, so tests do not depend on
    /// which hosts the world starts offline).
    pub async fn offline_aid(&self) -> String {
        let aid = self.online_aids(2).await.pop().expect("a second host");
        self.set_online(&aid, false).await;
        aid
    }

    pub async fn set_online(&self, aid: &str, online: bool) {
        let status = self
            .http
            .post(self.url(&format!("/_emulator/hosts/{aid}/online?state={online}")))
            .send()
            .await
            .expect("set online")
            .status();
        assert_eq!(status, 204, "setting {aid} online={online}");
    }

    pub async fn set_faults(&self, fault_5xx: f64, fault_drop: f64) {
        let body = json!({ "fault_5xx": fault_5xx, "fault_drop": fault_drop });
        assert_eq!(self.control_post("/_emulator/faults", body).await, 204);
    }

    /// Makes the next request to `endpoint` (`"METHOD /path"`) fail once: `fault` is
    /// `drop-before`, `drop-after`, `5xx-before` or `5xx-after` (before or after it is handled).
    pub async fn fault_once(&self, endpoint: &str, fault: &str) {
        let body = json!({ "once": { "endpoint": endpoint, "fault": fault } });
        assert_eq!(
            self.control_post("/_emulator/faults", body).await,
            204,
            "arming {fault} on {endpoint}"
        );
    }
}

struct ApiInner {
    base: String,
    http: reqwest::Client,
    client_id: String,
    client_secret: String,
    token: Mutex<Option<String>>,
}

/// An API client with one set of credentials. Cheap to clone (the token is shared).
#[derive(Clone)]
pub struct Api {
    inner: Arc<ApiInner>,
    validate: bool,
    rate_headers: bool,
}

/// One HTTP reply, already checked by the harness.
#[derive(Debug)]
pub struct Reply {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// `Value::Null` for an empty body.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `resources[0]`.
    pub fn first(&self) -> &Value {
        &self.body["resources"][0]
    }

    /// `resources` as a list of ids (a query's reply).
    pub fn resource_ids(&self) -> Vec<String> {
        self.body["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|s| s.as_str().expect("aid string").to_string())
            .collect()
    }

    /// Panics (showing the body) unless the status is `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{} {}: expected {status}, got {}; body:\n{}",
            self.method,
            self.path,
            self.status,
            serde_json::to_string_pretty(&self.body).unwrap_or_default()
        );
        self
    }

    /// An RTR error reply in the dual 2023/2026 `domain.APIError` shape: `errors[0].code/message`
    /// and top-level `code`/`message`, the message containing `message`.
    #[track_caller]
    pub fn expect_api_error(&self, status: u16, code: u64, message: &str) -> &Self {
        self.expect(status);
        let b = &self.body;
        let e = &b["errors"][0];
        assert_eq!(e["code"], code, "errors[0].code in {b:#}");
        let text = e["message"].as_str().unwrap_or_default();
        assert!(
            text.contains(message),
            "errors[0].message {text:?} lacks {message:?}"
        );
        assert_eq!(b["code"], code, "top-level code in {b:#}");
        assert_eq!(b["message"], e["message"], "top-level message in {b:#}");
        self
    }

    /// A gateway/OAuth2 error (`msa.ReplyMetaOnly`): `errors[0]` only.
    #[track_caller]
    pub fn expect_meta_error(&self, status: u16, code: u64, message: &str) -> &Self {
        self.expect(status);
        let e = &self.body["errors"][0];
        assert_eq!(e["code"], code, "errors[0].code in {:#}", self.body);
        let text = e["message"].as_str().unwrap_or_default();
        assert!(
            text.contains(message),
            "errors[0].message {text:?} lacks {message:?}"
        );
        self
    }
}

impl Api {
    /// The same client, but replies are not validated against the spec (for deliberately broken
    /// exchanges). The trace-id and JSON checks still apply.
    pub fn unvalidated(&self) -> Api {
        Api {
            validate: false,
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// The bearer token, fetched on first use.
    pub async fn token(&self) -> String {
        if let Some(t) = self.cached_token() {
            return t;
        }
        let r = self
            .send(self.form_request(
                "/oauth2/token",
                &[
                    ("client_id", self.inner.client_id.as_str()),
                    ("client_secret", self.inner.client_secret.as_str()),
                ],
            ))
            .await;
        r.expect(201);
        let token = r.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        *self.inner.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        token
    }

    fn cached_token(&self) -> Option<String> {
        self.inner
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Uses `token` from now on (e.g. a revoked or foreign one).
    pub fn set_token(&self, token: &str) {
        *self.inner.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.to_string());
    }

    /// A request with no `Authorization` header.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.inner
            .http
            .request(method, format!("{}{path}", self.inner.base))
    }

    /// A request carrying the bearer token.
    pub async fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let token = self.token().await;
        self.anonymous(method, path).bearer_auth(token)
    }

    /// A form POST without a bearer token (the OAuth2 endpoints).
    pub fn form_request(&self, path: &str, form: &[(&str, &str)]) -> RequestBuilder {
        self.anonymous(Method::POST, path).form(form)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path).await).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path).await).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).await.json(body))
            .await
    }

    /// POST with a raw body (malformed JSON and the like).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.request(Method::POST, path)
                .await
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// A `multipart/form-data` request (put-files and scripts). `file`: (file name, bytes).
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> Reply {
        let boundary = "rtrsh-test-boundary-7d1f0c";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((fname, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{fname}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            self.request(method, path)
                .await
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await
    }

    /// Sends a request and checks the reply (see the module docs). Panics on a transport error.
    pub async fn send(&self, rb: RequestBuilder) -> Reply {
        self.try_send(rb)
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Like [`Api::send`], but a transport error (timeout, dropped connection) is returned.
    pub async fn try_send(&self, rb: RequestBuilder) -> Result<Reply, reqwest::Error> {
        let (client, req) = rb.build_split();
        let req = req?;
        let method = req.method().clone();
        let path = req.url().path().to_string();
        let resp = client.execute(req).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let body = self.check(&method, &path, status, &headers, &bytes);
        Ok(Reply {
            method,
            path,
            status,
            headers,
            body,
        })
    }

    #[track_caller]
    fn check(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        bytes: &[u8],
    ) -> Value {
        let what = format!("{method} {path} ({status})");
        let trace = headers
            .get("x-cs-traceid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no X-CS-TRACEID header"))
            .to_string();
        assert!(
            headers.contains_key("x-cs-region"),
            "{what}: no X-CS-Region header"
        );
        if self.rate_headers {
            for h in ["x-ratelimit-limit", "x-ratelimit-remaining"] {
                assert!(headers.contains_key(h), "{what}: no {h} header");
            }
        }
        if status == 204 {
            assert!(bytes.is_empty(), "{what}: a 204 must have no body");
            return Value::Null;
        }
        if (300..400).contains(&status) {
            return Value::Null;
        }
        let body: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
            panic!(
                "{what}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
        });
        if let Some(meta) = body.get("meta") {
            assert_eq!(
                meta["trace_id"], trace,
                "{what}: meta.trace_id differs from X-CS-TRACEID"
            );
        }
        if status >= 400 {
            assert!(
                body.get("meta").is_some(),
                "{what}: error body without meta"
            );
            let errors = body["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: errors is not an array: {body:#}"));
            assert!(!errors.is_empty(), "{what}: an error reply with no errors");
            for e in errors {
                assert!(
                    e["code"].is_u64() && e["message"].is_string(),
                    "{what}: malformed error {e}"
                );
            }
        }
        if self.validate {
            schema::validate_response(method.as_str(), path, status, &body);
        }
        body
    }

    // --- RTR conveniences -------------------------------------------------------------------

    /// Opens (or re-uses) a session on `aid` with a complete, spec-valid body; returns its id.
    pub async fn init(&self, aid: &str) -> String {
        let r = self.init_reply(aid, false).await;
        r.expect(201);
        r.first()["session_id"]
            .as_str()
            .expect("session_id")
            .to_string()
    }

    pub async fn init_reply(&self, aid: &str, queue_offline: bool) -> Reply {
        let body =
            json!({ "device_id": aid, "origin": "rtrsh-tests", "queue_offline": queue_offline });
        schema::validate_request("domain.InitRequest", &body);
        self.post("/real-time-response/entities/sessions/v1", &body)
            .await
    }

    /// A complete `domain.CommandExecuteRequest`.
    pub fn exec_body(session_id: &str, aid: &str, line: &str) -> Value {
        let base = line.split_whitespace().next().unwrap_or_default();
        let body = json!({
            "base_command": base,
            "command_string": line,
            "session_id": session_id,
            "device_id": aid,
            "id": 0,
            "persist": false,
        });
        schema::validate_request("domain.CommandExecuteRequest", &body);
        body
    }

    pub async fn exec_reply(&self, tier: Tier, session_id: &str, aid: &str, line: &str) -> Reply {
        self.post(tier.single_path(), &Self::exec_body(session_id, aid, line))
            .await
    }

    /// Executes `line` on `tier`; returns the cloud_request_id.
    pub async fn exec(&self, tier: Tier, session_id: &str, aid: &str, line: &str) -> String {
        let r = self.exec_reply(tier, session_id, aid, line).await;
        r.expect(201);
        r.first()["cloud_request_id"]
            .as_str()
            .expect("cloud_request_id")
            .to_string()
    }

    pub async fn status(&self, tier: Tier, cloud_request_id: &str, sequence_id: u64) -> Reply {
        self.get(&format!(
            "{}?cloud_request_id={cloud_request_id}&sequence_id={sequence_id}",
            tier.single_path()
        ))
        .await
    }

    /// Polls `sequence_id=0` until the command is complete; returns the status record.
    pub async fn wait(&self, tier: Tier, cloud_request_id: &str) -> Value {
        let start = Instant::now();
        loop {
            let r = self.status(tier, cloud_request_id, 0).await;
            r.expect(200);
            if r.first()["complete"] == true {
                return r.first().clone();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "command {cloud_request_id} did not complete within {DEADLINE:?}"
            );
            tokio::time::sleep(ms(10)).await;
        }
    }

    /// Reads a command's whole output, following `sequence_id` the way docs/protocol.md
    /// ("Chunk protocol") tells clients to, tolerant of all three chunk models. Returns (stdout,
    /// stderr, number of chunks that carried output).
    pub async fn read_all(&self, tier: Tier, cloud_request_id: &str) -> (String, String, u64) {
        let start = Instant::now();
        let (mut out, mut err) = (String::new(), String::new());
        let mut next = 0u64;
        let mut seen_complete = false;
        let mut delivered = std::collections::HashSet::new();
        loop {
            assert!(
                start.elapsed() < DEADLINE * 4,
                "reading {cloud_request_id} took too long"
            );
            let r = self.status(tier, cloud_request_id, next).await;
            r.expect(200);
            let rec = r.first();
            let stdout = rec["stdout"].as_str().unwrap_or_default();
            let stderr = rec["stderr"].as_str().unwrap_or_default();
            let got = !stdout.is_empty() || !stderr.is_empty();
            if got && delivered.insert(next) {
                out.push_str(stdout);
                err.push_str(stderr);
            }
            let rs = rec["sequence_id"].as_u64().unwrap_or(0);
            if rec["complete"] == true {
                seen_complete = true;
                if rs > next && got {
                    next = rs;
                    continue;
                }
                break;
            } else if got {
                next = rs.max(next + 1);
            } else if seen_complete {
                break;
            } else {
                tokio::time::sleep(ms(10)).await;
            }
        }
        (out, err, delivered.len() as u64)
    }
}

/// The entries of `stats.spec_violations`.
pub fn violations(stats: &Value) -> Vec<Value> {
    stats["spec_violations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Fails, showing them, if the emulator recorded any violation of the spec.
#[track_caller]
pub fn assert_no_violations(stats: &Value) {
    assert!(
        violations(stats).is_empty(),
        "spec violations: {:#}",
        stats["spec_violations"]
    );
}

/// The emulator recorded exactly one violation of the spec, and it is about `about`.
#[track_caller]
pub fn assert_one_violation(stats: &Value, about: &str) {
    let v = violations(stats);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(
        v[0]["problem"].as_str().unwrap_or_default().contains(about),
        "not about {about}: {v:#?}"
    );
}

/// How many requests the emulator answered for `METHOD /path`.
pub fn endpoint_count(stats: &Value, endpoint: &str) -> u64 {
    stats["endpoints"][endpoint]["count"].as_u64().unwrap_or(0)
}
