//! Single-host sessions: init (and its re-use), pulse, expiry, delete, list, details, aggregates.

use std::time::{Duration, Instant};

use rtrsh_command::Tier;
use rtrsh_emulator::EmulatorConfig;
use serde_json::json;

use crate::support::{
    Api, DEADLINE, RESPONDER, TestEnv, assert_no_violations, fast, ms, violations,
};

const SESSIONS: &str = "/real-time-response/entities/sessions/v1";
const PULSE: &str = "/real-time-response/entities/refresh-session/v1";
const LIST: &str = "/real-time-response/queries/sessions/v1";
const DETAILS: &str = "/real-time-response/entities/sessions/GET/v1";
const AGGREGATE: &str = "/real-time-response/aggregates/sessions/GET/v1";

/// A tenant whose sessions expire after `idle` without activity, and a session on DESKTOP-01:
/// (the tenant, a client, the host's aid, the session id).
async fn session_idle_for(idle: Duration) -> (TestEnv, Api, String, String) {
    let env = TestEnv::start(EmulatorConfig {
        session_idle: idle,
        ..fast()
    })
    .await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    (env, api, aid, sid)
}

fn pulse_body(aid: &str) -> serde_json::Value {
    json!({ "device_id": aid, "origin": "rtrsh-tests", "queue_offline": false })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_opens_a_session_with_the_prompt_directory() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let r = api.init_reply(&aid, false).await;
    r.expect(201);
    let s = r.first();
    assert!(uuid::Uuid::parse_str(s["session_id"].as_str().expect("id")).is_ok());
    assert_eq!(s["pwd"], "C:\\");
    assert_eq!(s["offline_queued"], false);
    assert_eq!(s["existing_aid_sessions"], 1);
    assert!(s["scripts"].is_array());
    assert_eq!(r.body["meta"]["powered_by"], "empower-api");
    let stats = env.stats().await;
    assert_eq!(stats["open_sessions"], 1);
    assert_eq!(stats["hosts"][&aid]["sessions_opened"], 1);
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_again_reuses_the_callers_session_on_that_host() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let first = api.init(&aid).await;
    api.exec(Tier::ReadOnly, &first, &aid, "pwd").await;
    let r = api.init_reply(&aid, false).await;
    r.expect(201);
    assert_eq!(r.first()["session_id"], first.as_str());
    assert_eq!(r.first()["previous_commands"], json!(["pwd"]));

    // Another API client gets its own session on the same host.
    let other = env.api_as(RESPONDER.0, RESPONDER.1);
    let theirs = other.init(&aid).await;
    assert_ne!(theirs, first);

    let stats = env.stats().await;
    assert_eq!(stats["sessions"][&first]["inits"], 2);
    assert_eq!(stats["hosts"][&aid]["sessions_opened"], 2);
    assert_eq!(stats["open_sessions"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_on_an_unknown_device_is_404() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api.init_reply(&"f".repeat(32), false).await;
    r.expect_api_error(404, 404, "Could not find device");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_expires_and_commands_then_fail_with_40002() {
    let (_env, api, aid, sid) = session_idle_for(ms(300)).await;
    let start = Instant::now();
    loop {
        let r = api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd").await;
        if r.status == 400 {
            r.expect_api_error(400, 40002, "Could not find existing session");
            break;
        }
        r.expect(201);
        assert!(start.elapsed() < DEADLINE, "the session never expired");
        // Each command is activity too; wait longer than the idle window between tries.
        tokio::time::sleep(ms(400)).await;
    }
    api.post(PULSE, &pulse_body(&aid)).await.expect_api_error(
        400,
        40002,
        "Could not find existing session",
    );
    // A new init opens a new session.
    let again = api.init(&aid).await;
    assert_ne!(again, sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsing_keeps_a_session_alive_past_its_idle_window() {
    let idle = ms(1000);
    let (env, api, aid, sid) = session_idle_for(idle).await;
    let start = Instant::now();
    let mut pulses = 0;
    // Pulse well inside the window until more than twice the window has passed.
    while start.elapsed() < idle * 2 + ms(200) {
        tokio::time::sleep(ms(150)).await;
        let r = api.post(PULSE, &pulse_body(&aid)).await;
        r.expect(201);
        assert_eq!(r.first()["session_id"], sid.as_str());
        pulses += 1;
    }
    api.exec(Tier::ReadOnly, &sid, &aid, "pwd").await;
    assert_eq!(env.stats().await["sessions"][&sid]["refreshes"], pulses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_sessions_on_demand_ends_them_like_a_sleeping_laptop() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    assert_eq!(
        env.control_post("/_emulator/sessions/expire", json!({}))
            .await,
        204
    );
    api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd")
        .await
        .expect_api_error(400, 40002, "Could not find existing session");
    assert_eq!(env.stats().await["open_sessions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulse_without_a_session_is_40002() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    api.post(PULSE, &pulse_body(&aid)).await.expect_api_error(
        400,
        40002,
        "Could not find existing session",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_session_is_gone() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let r = api.delete(&format!("{SESSIONS}?session_id={sid}")).await;
    r.expect(204);
    api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd")
        .await
        .expect_api_error(400, 40002, "");
    api.delete(&format!("{SESSIONS}?session_id={sid}"))
        .await
        .expect_api_error(400, 40002, "");
    api.delete(SESSIONS)
        .await
        .expect_api_error(400, 400, "session_id");
    let stats = env.stats().await;
    assert_eq!(stats["sessions"][&sid]["deleted"], true);
    assert_eq!(stats["open_sessions"], 0);
    // The next init starts afresh.
    assert_ne!(api.init(&aid).await, sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_and_reading_sessions() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_aids(3).await;
    let mut sids = Vec::new();
    for aid in &aids {
        sids.push(api.init(aid).await);
    }
    api.exec(Tier::ReadOnly, &sids[0], &aids[0], "pwd").await;

    let r = api.get(LIST).await;
    r.expect(200);
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);
    let mut listed: Vec<String> = serde_json::from_value(r.body["resources"].clone()).expect("ids");
    listed.sort();
    let mut want = sids.clone();
    want.sort();
    assert_eq!(listed, want);

    // Paging with a string offset, newest first.
    let mut paged = Vec::new();
    for offset in 0..3 {
        let r = api
            .get(&format!(
                "{LIST}?limit=1&offset={offset}&sort=created_at|desc"
            ))
            .await;
        r.expect(200);
        paged.extend(
            serde_json::from_value::<Vec<String>>(r.body["resources"].clone()).expect("ids"),
        );
    }
    paged.sort();
    assert_eq!(paged, want);

    let r = api.post(DETAILS, &json!({ "ids": [sids[0]] })).await;
    r.expect(200);
    let s = r.first();
    assert_eq!(s["id"], sids[0].as_str());
    assert_eq!(s["device_id"], aids[0].as_str());
    assert_eq!(s["origin"], "rtrsh-tests");
    assert_eq!(s["logs"][0]["command_string"], "pwd");
    assert_eq!(s["cloud_request_ids"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["deleted_at"], "0001-01-01T00:00:00Z");

    // Another client cannot read them.
    let other = env.api_as(RESPONDER.0, RESPONDER.1);
    other
        .post(DETAILS, &json!({ "ids": sids }))
        .await
        .expect_api_error(404, 404, "");
    api.get(&format!("{LIST}?offset=abc")).await.expect(400);
    api.get(&format!("{LIST}?limit=0")).await.expect(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn listing_sessions_filters_by_fql() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_aids(2).await;
    let mine = api.init(&aids[0]).await;
    let other = env.api_as(RESPONDER.0, RESPONDER.1);
    other.init(&aids[1]).await;
    let r = api.get(&format!("{LIST}?filter=user_id:'@me'")).await;
    r.expect(200);
    assert_eq!(r.body["resources"], json!([mine]));
    let r = api
        .get(&format!("{LIST}?filter=device_id:'{}'", aids[1]))
        .await;
    assert_eq!(r.body["resources"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_count_sessions_by_a_field() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_aids(2).await;
    for aid in &aids {
        api.init(aid).await;
    }
    let r = api
        .post(
            AGGREGATE,
            &json!([{ "name": "by_origin", "field": "origin", "type": "terms" }]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.first()["name"], "by_origin");
    assert_eq!(
        r.first()["buckets"],
        json!([{ "label": "rtrsh-tests", "count": 2 }])
    );
    api.post(AGGREGATE, &json!({ "field": "origin" }))
        .await
        .expect_api_error(400, 400, "array");
    api.post(AGGREGATE, &json!([{ "field": "origin", "type": "sum" }]))
        .await
        .expect_api_error(400, 400, "terms");
    api.post(AGGREGATE, &json!([{ "field": "nope", "type": "terms" }]))
        .await
        .expect_api_error(400, 400, "field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_without_origin_or_queue_offline_works_but_is_a_recorded_violation() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    // What gofalcon sends: only device_id.
    let r = api.post(SESSIONS, &json!({ "device_id": aid })).await;
    r.expect(201);
    let v = violations(&env.stats().await);
    let problems: Vec<&str> = v.iter().filter_map(|v| v["problem"].as_str()).collect();
    assert_eq!(problems.len(), 2, "{v:?}");
    assert!(problems.iter().any(|p| p.contains("`origin`")));
    assert!(problems.iter().any(|p| p.contains("`queue_offline`")));
    assert!(v.iter().all(|v| v["path"] == SESSIONS));
}
