//! OAuth2: tokens, revocation, expiry, the region redirect, and scopes at the gateway.

use std::time::{Duration, Instant};

use reqwest::Method;
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use serde_json::json;

use crate::support::{Api, DEADLINE, READONLY, RESPONDER, Reply, TestEnv, fast, ms};

const TOKEN: &str = "/oauth2/token";
const DEVICES: &str = "/devices/queries/devices/v1";

/// `POST /oauth2/token` with this form.
async fn token_request(api: &Api, form: &[(&str, &str)]) -> Reply {
    api.send(api.form_request(TOKEN, form)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gets_a_bearer_token_with_its_region_and_lifetime() {
    let env = TestEnv::start(EmulatorConfig {
        region: "eu-1".into(),
        ..fast()
    })
    .await;
    let api = env.api();
    let r = token_request(
        &api,
        &[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
    )
    .await;
    r.expect(201);
    assert_eq!(r.header("x-cs-region"), Some("eu-1"));
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(
        r.body["expires_in"], 1799,
        "30 minutes, as the real API says"
    );
    let token = r.body["access_token"].as_str().expect("token");
    assert!(token.len() > 20);
    // The token works.
    api.set_token(token);
    api.get(DEVICES).await.expect(200);
    assert_eq!(env.stats().await["tokens_issued"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_a_basic_auth_header_are_accepted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api
        .send(
            api.anonymous(Method::POST, TOKEN)
                .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(""),
        )
        .await;
    r.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_403_and_missing_fields_are_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = token_request(
        &api,
        &[("client_id", DEFAULT_CLIENT_ID), ("client_secret", "wrong")],
    )
    .await;
    r.expect_meta_error(403, 403, "Client authentication failed");
    assert_eq!(r.body["meta"]["powered_by"], "csam");

    let r = token_request(&api, &[("client_id", DEFAULT_CLIENT_ID)]).await;
    r.expect_meta_error(400, 400, "Failed to generate access token");

    let r = token_request(&api, &[]).await;
    r.expect(400);
    assert_eq!(env.stats().await["tokens_issued"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_member_cid_is_refused() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = token_request(
        &api,
        &[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("member_cid", "0123456789abcdef0123456789abcdef"),
        ],
    )
    .await;
    r.expect_meta_error(403, 403, "member_cid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_token_request_can_be_redirected_to_the_same_url() {
    let env = TestEnv::start(EmulatorConfig {
        redirect_first_token: true,
        ..fast()
    })
    .await;
    // A client that does not follow redirects sees the 308 and where it points.
    let raw = env.raw_http(false);
    let form = [
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
    ];
    let r = raw
        .post(env.url(TOKEN))
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), 308);
    let location = r.headers()["location"].to_str().expect("ascii");
    assert_eq!(location, env.url(TOKEN));
    // Re-posting the form there (what a redirect-following client does) issues a token.
    let api = env.api();
    let r = token_request(&api, &form).await;
    r.expect(201);
    assert_eq!(env.stats().await["tokens_issued"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_following_client_gets_its_token_transparently() {
    let env = TestEnv::start(EmulatorConfig {
        redirect_first_token: true,
        ..fast()
    })
    .await;
    let api = env.api();
    api.token().await; // follows the 308, re-posting the form
    api.get(DEVICES).await.expect(200);
    let stats = env.stats().await;
    assert_eq!(stats["tokens_issued"], 1);
    assert_eq!(
        stats["endpoints"]["POST /oauth2/token"]["statuses"]["308"], 1,
        "{stats:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_gets_the_gateway_401() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let token = api.token().await;
    api.get(DEVICES).await.expect(200);
    let r = api
        .send(
            api.form_request(
                TOKEN.replace("token", "revoke").as_str(),
                &[("token", &token)],
            )
            .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET)),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["errors"], json!([]));

    let r = api.get(DEVICES).await;
    r.expect_meta_error(401, 401, "access denied, invalid bearer token");
    assert_eq!(r.body["meta"]["powered_by"], "crowdstrike-api-gateway");
    assert_eq!(env.stats().await["tokens_revoked"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_needs_a_token_and_good_basic_credentials() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api.send(api.form_request("/oauth2/revoke", &[])).await;
    r.expect_meta_error(400, 400, "token");
    let r = api
        .send(
            api.form_request("/oauth2/revoke", &[("token", "whatever")])
                .basic_auth(DEFAULT_CLIENT_ID, Some("wrong")),
        )
        .await;
    r.expect_meta_error(403, 403, "access denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_stops_working_when_its_lifetime_ends() {
    let env = TestEnv::start(EmulatorConfig {
        token_lifetime: ms(300),
        ..fast()
    })
    .await;
    let api = env.api();
    let start = Instant::now();
    api.token().await;
    // Poll until the gateway refuses it (no timing assertion: only "it does expire").
    loop {
        let r = api.get(DEVICES).await;
        if r.status == 401 {
            r.expect_meta_error(401, 401, "invalid bearer token");
            break;
        }
        r.expect(200);
        assert!(start.elapsed() < DEADLINE, "token never expired");
        tokio::time::sleep(ms(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_every_token_forces_a_new_one() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    api.get(DEVICES).await.expect(200);
    assert_eq!(
        env.control_post("/_emulator/tokens/expire", json!({}))
            .await,
        204
    );
    api.get(DEVICES).await.expect(401);
    let fresh = env.api();
    fresh.get(DEVICES).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_401_under_the_unauthenticated_limit() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api.send(api.anonymous(Method::GET, DEVICES)).await;
    r.expect_meta_error(401, 401, "access denied, invalid bearer token");
    assert_eq!(r.header("x-ratelimit-limit"), Some("15"));
    let r = api
        .send(
            api.anonymous(Method::GET, DEVICES)
                .bearer_auth("not-a-token"),
        )
        .await;
    r.expect(401);
}

/// Endpoints (method, path, body) that need more than the read scopes.
fn privileged() -> Vec<(Method, &'static str, &'static str)> {
    let ar = "real-time-response:write";
    let admin = "real-time-response-admin:write";
    vec![
        (
            Method::POST,
            "/real-time-response/entities/active-responder-command/v1",
            ar,
        ),
        (
            Method::GET,
            "/real-time-response/entities/active-responder-command/v1",
            ar,
        ),
        (
            Method::POST,
            "/real-time-response/combined/batch-active-responder-command/v1",
            ar,
        ),
        (Method::GET, "/real-time-response/entities/file/v2", ar),
        (Method::DELETE, "/real-time-response/entities/file/v1", ar),
        (
            Method::GET,
            "/real-time-response/entities/extracted-file-contents/v1",
            ar,
        ),
        (
            Method::POST,
            "/real-time-response/combined/batch-get-command/v1",
            ar,
        ),
        (
            Method::POST,
            "/real-time-response/entities/admin-command/v1",
            admin,
        ),
        (
            Method::GET,
            "/real-time-response/entities/admin-command/v1",
            admin,
        ),
        (
            Method::POST,
            "/real-time-response/combined/batch-admin-command/v1",
            admin,
        ),
        (
            Method::GET,
            "/real-time-response/queries/put-files/v1",
            admin,
        ),
        (
            Method::GET,
            "/real-time-response/entities/put-files/v2",
            admin,
        ),
        (
            Method::POST,
            "/real-time-response/entities/put-files/v1",
            admin,
        ),
        (Method::GET, "/real-time-response/queries/scripts/v1", admin),
        (
            Method::PATCH,
            "/real-time-response/entities/scripts/v1",
            admin,
        ),
        (
            Method::DELETE,
            "/real-time-response/entities/scripts/v1",
            admin,
        ),
        (
            Method::POST,
            "/devices/entities/devices-actions/v2",
            "devices:write",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_client_is_refused_every_write_and_admin_endpoint() {
    let env = TestEnv::start(fast()).await;
    let ro = env.api_as(READONLY.0, READONLY.1);
    for (method, path, _) in privileged() {
        let rb = ro.request(method.clone(), path).await.json(&json!({}));
        let r = ro.send(rb).await;
        r.expect_meta_error(403, 403, "access denied, authorization failed");
        assert_eq!(r.body["meta"]["powered_by"], "crowdstrike-api-gateway");
    }
    // What it may do still works.
    ro.get(DEVICES).await.expect(200);
    ro.get("/real-time-response/queries/sessions/v1")
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_reaches_active_responder_endpoints_but_not_admin() {
    let env = TestEnv::start(fast()).await;
    let responder = env.api_as(RESPONDER.0, RESPONDER.1);
    for (method, path, scope) in privileged() {
        let rb = responder
            .request(method.clone(), path)
            .await
            .json(&json!({}));
        let r = responder.unvalidated().send(rb).await;
        // Neither admin nor containment (`devices:write`) comes with a responder's scopes.
        if scope == "real-time-response-admin:write" || scope == "devices:write" {
            r.expect_meta_error(403, 403, "authorization failed");
        } else {
            assert_ne!(r.status, 403, "{method} {path} refused a responder");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_are_not_slowed_by_the_api_rate_limit() {
    let env = TestEnv::start(EmulatorConfig {
        rate_limit: 2,
        ..fast()
    })
    .await;
    // Three tokens in a row: /oauth2/token has its own, higher, per-IP limit.
    for _ in 0..3 {
        let api = env.api();
        let _ = tokio::time::timeout(Duration::from_secs(10), api.token())
            .await
            .expect("token in time");
    }
    assert_eq!(env.stats().await["tokens_issued"], 3);
}
