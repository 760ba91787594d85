//! Bad input never hangs and never gets a 5xx: always a 4xx whose body has `errors[].code/message`
//! and, for RTR errors, top-level `code`/`message` too (the dual 2023/2026 shape).

use rtrsh_command::Tier;
use serde_json::{Value, json};

use crate::support::{Api, TestEnv, fast};

const SESSIONS: &str = "/real-time-response/entities/sessions/v1";
const BATCH_INIT: &str = "/real-time-response/combined/batch-init-session/v1";

/// Every JSON-body endpoint.
const JSON_ENDPOINTS: [&str; 12] = [
    SESSIONS,
    "/real-time-response/entities/refresh-session/v1",
    "/real-time-response/entities/sessions/GET/v1",
    "/real-time-response/entities/command/v1",
    "/real-time-response/entities/active-responder-command/v1",
    "/real-time-response/entities/admin-command/v1",
    "/real-time-response/entities/queued-sessions/GET/v1",
    BATCH_INIT,
    "/real-time-response/combined/batch-refresh-session/v1",
    "/real-time-response/combined/batch-command/v1",
    "/real-time-response/combined/batch-get-command/v1",
    "/real-time-response/aggregates/sessions/GET/v1",
];

/// Each (path, body) is refused with a 400 whose message contains the complaint.
async fn assert_each_refused(api: &Api, cases: Vec<(&str, Value, &str)>) {
    for (path, body, complaint) in cases {
        api.unvalidated()
            .post(path, &body)
            .await
            .expect_api_error(400, 400, complaint);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_everywhere() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for path in JSON_ENDPOINTS {
        for body in [&b"{\"device_id\": "[..], b"not json", b""] {
            api.post_raw(path, "application/json", body.to_vec())
                .await
                .expect_api_error(400, 400, "Invalid JSON");
        }
    }
    api.post_raw(
        "/devices/entities/devices/v2",
        "application/json",
        b"{".to_vec(),
    )
    .await
    .expect_api_error(400, 400, "Invalid JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_an_object_is_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for path in &JSON_ENDPOINTS[..11] {
        api.post(path, &json!(["device_id"]))
            .await
            .expect_api_error(400, 400, "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_the_wrong_type_are_named_in_the_error() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            SESSIONS,
            json!({ "device_id": 42, "origin": "t", "queue_offline": false }),
            "device_id must be a string",
        ),
        (
            SESSIONS,
            json!({ "device_id": aid, "origin": "t", "queue_offline": "yes" }),
            "queue_offline must be a boolean",
        ),
        (
            SESSIONS,
            json!({ "device_id": aid, "origin": 1, "queue_offline": false }),
            "origin must be a string",
        ),
        (
            Tier::ReadOnly.single_path(),
            json!({ "base_command": "pwd", "command_string": "pwd", "session_id": sid, "id": "zero" }),
            "id must be an integer",
        ),
        (
            Tier::ReadOnly.single_path(),
            json!({ "base_command": "pwd", "command_string": "pwd", "session_id": sid, "persist": 1 }),
            "persist must be a boolean",
        ),
        (
            BATCH_INIT,
            json!({ "host_ids": aid, "queue_offline": false }),
            "host_ids must be an array of strings",
        ),
        (
            BATCH_INIT,
            json!({ "host_ids": [1, 2], "queue_offline": false }),
            "host_ids must be an array of strings",
        ),
        (
            "/devices/entities/devices/v2",
            json!({ "ids": "x" }),
            "ids must be an array of strings",
        ),
    ];
    assert_each_refused(&api, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_the_server_needs_are_required() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let exec = Tier::ReadOnly.single_path();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            SESSIONS,
            json!({ "origin": "t", "queue_offline": false }),
            "device_id is required",
        ),
        (
            exec,
            json!({ "command_string": "pwd", "session_id": sid }),
            "base_command is required",
        ),
        (
            exec,
            json!({ "base_command": "pwd", "session_id": sid }),
            "command_string is required",
        ),
        (
            exec,
            json!({ "base_command": "pwd", "command_string": "pwd" }),
            "session_id is required",
        ),
        (
            "/real-time-response/combined/batch-refresh-session/v1",
            json!({}),
            "batch_id is required",
        ),
        (
            "/real-time-response/combined/batch-get-command/v1",
            json!({ "batch_id": "b" }),
            "file_path is required",
        ),
        (
            "/real-time-response/entities/sessions/GET/v1",
            json!({}),
            "ids is required",
        ),
    ];
    assert_each_refused(&api, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_is_40002() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    for tier in Tier::ALL {
        api.exec_reply(tier, &uuid::Uuid::max().to_string(), &aid, "pwd")
            .await
            .expect_api_error(400, 40002, "Could not find existing session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_checks_need_a_uuid_and_an_integer_sequence() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for tier in Tier::ALL {
        let path = tier.single_path();
        let r = api
            .get(&format!("{path}?cloud_request_id=12345&sequence_id=0"))
            .await;
        r.expect_api_error(400, 400, "cloud_request_id must be a uuid string");
        assert_eq!(r.body["resources"], json!([]));
        api.get(&format!("{path}?sequence_id=0"))
            .await
            .expect_api_error(400, 400, "cloud_request_id");
        api.get(&format!(
            "{path}?cloud_request_id={}&sequence_id=x",
            uuid::Uuid::nil()
        ))
        .await
        .expect_api_error(400, 400, "sequence_id");
        api.get(&format!(
            "{path}?cloud_request_id={}&sequence_id=0",
            uuid::Uuid::nil()
        ))
        .await
        .expect_api_error(404, 404, "Could not find command");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_timeouts_are_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let body = json!({ "device_id": aid, "origin": "t", "queue_offline": false });
    for q in [
        "timeout=0",
        "timeout=601",
        "timeout=soon",
        "timeout_duration=banana",
        "timeout_duration=0s",
        "timeout_duration=11m",
        "timeout_duration=tiny%20bit%20less%20than%20overall%20request%20timeout",
    ] {
        api.post(&format!("{SESSIONS}?{q}"), &body)
            .await
            .expect_api_error(400, 400, "timeout");
    }
    let batch = json!({ "host_ids": [aid], "queue_offline": false, "existing_batch_id": "" });
    api.post(
        &format!("{BATCH_INIT}?timeout=10&host_timeout_duration=20s"),
        &batch,
    )
    .await
    .expect_api_error(400, 400, "host_timeout_duration");
    api.post(&format!("{BATCH_INIT}?host_timeout_duration=fast"), &batch)
        .await
        .expect_api_error(400, 400, "host_timeout_duration");
    // The accepted forms.
    api.post(&format!("{SESSIONS}?timeout=600"), &body)
        .await
        .expect(201);
    api.post(&format!("{SESSIONS}?timeout_duration=1m30s"), &body)
        .await
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_a_json_404() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api.get("/real-time-response/entities/nothing/v9").await;
    r.expect_meta_error(404, 404, "Not Found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbalanced_quote_in_a_command_line_is_a_400_not_a_crash() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let body = Api::exec_body(&sid, &aid, "ls \"C:\\Program Files");
    let r = api.post(Tier::ReadOnly.single_path(), &body).await;
    assert_eq!(r.status, 400, "{:#}", r.body);
    assert!(r.body["code"].is_u64() && r.body["message"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_malformed_fql_filter_is_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for path in [
        "/devices/queries/devices/v1",
        "/real-time-response/queries/sessions/v1",
        "/real-time-response/queries/scripts/v1",
    ] {
        api.get(&format!("{path}?filter=hostname:'unterminated"))
            .await
            .expect_api_error(400, 400, "filter");
    }
}
