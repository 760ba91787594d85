//! Offline hosts: init refused with 40401, or an offline-queued session whose commands wait for
//! the host and run when it comes back.

use rtrsh_command::Tier;
use serde_json::json;

use crate::support::{TestEnv, fast};

const QUEUED: &str = "/real-time-response/entities/queued-sessions/GET/v1";
const QUEUED_CMD: &str = "/real-time-response/entities/queued-sessions/command/v1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_host_refuses_a_session_unless_queueing() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.offline_aid().await;
    api.init_reply(&aid, false).await.expect_api_error(
        404,
        40401,
        "Could not establish sensor comms",
    );
    let r = api.init_reply(&aid, true).await;
    r.expect(201);
    assert_eq!(r.first()["offline_queued"], true);
    assert_eq!(r.first()["scripts"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_commands_run_when_the_host_comes_back() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.offline_aid().await;
    let r = api.init_reply(&aid, true).await;
    let sid = r.first()["session_id"].as_str().expect("sid").to_string();

    let r = api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd").await;
    r.expect(201);
    assert_eq!(r.first()["queued_command_offline"], true);
    let id = r.first()["cloud_request_id"]
        .as_str()
        .expect("id")
        .to_string();

    let pending = api.status(Tier::ReadOnly, &id, 0).await;
    pending.expect(200);
    assert_eq!(pending.first()["complete"], false);

    let q = api.post(QUEUED, &json!({ "ids": [sid] })).await;
    q.expect(200);
    let job = q.first();
    assert_eq!(job["aid"], aid.as_str());
    assert_eq!(job["status"], "PENDING");
    assert_eq!(job["Commands"][0]["cloud_request_id"], id.as_str());
    assert_eq!(job["Commands"][0]["status"], "PENDING");
    assert_eq!(env.stats().await["hosts"][&aid]["commands"], 1);

    env.set_online(&aid, true).await;
    let done = api.wait(Tier::ReadOnly, &id).await;
    assert_eq!(done["complete"], true);
    assert_eq!(done["stderr"], "");

    let q = api.post(QUEUED, &json!({ "ids": [sid] })).await;
    assert_eq!(q.first()["Commands"][0]["status"], "FINISHED");
    assert_eq!(q.first()["status"], "COMPLETED");
    let stats = env.stats().await;
    assert_eq!(
        stats["command_log"].as_array().map(Vec::len),
        Some(1),
        "the queued command ran once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_queued_command_never_runs() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.offline_aid().await;
    let sid = api.init_reply(&aid, true).await.first()["session_id"]
        .as_str()
        .expect("sid")
        .to_string();
    let keep = api.exec(Tier::ReadOnly, &sid, &aid, "pwd").await;
    let drop = api.exec(Tier::ReadOnly, &sid, &aid, "ls").await;
    let r = api
        .delete(&format!(
            "{QUEUED_CMD}?session_id={sid}&cloud_request_id={drop}"
        ))
        .await;
    r.expect(204);
    let q = api.post(QUEUED, &json!({ "ids": [sid] })).await;
    let statuses: Vec<(String, String)> = q.first()["Commands"]
        .as_array()
        .expect("Commands")
        .iter()
        .map(|c| {
            (
                c["cloud_request_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(drop.clone(), "CANCELED".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(keep.clone(), "PENDING".into())),
        "{statuses:?}"
    );

    env.set_online(&aid, true).await;
    api.wait(Tier::ReadOnly, &keep).await;
    api.status(Tier::ReadOnly, &drop, 0)
        .await
        .expect_api_error(404, 404, "Could not find command");
    let never_ran = env.handle.emulator().lock().commands[&drop]
        .ready_at
        .is_none();
    assert!(
        never_ran,
        "the deleted command must not run when the host returns"
    );
    // Deleting it again is harmless; an unknown command is 404.
    api.delete(&format!(
        "{QUEUED_CMD}?session_id={sid}&cloud_request_id={drop}"
    ))
    .await
    .expect(204);
    api.delete(&format!(
        "{QUEUED_CMD}?session_id={sid}&cloud_request_id={}",
        uuid::Uuid::nil()
    ))
    .await
    .expect_api_error(404, 404, "queued command");
    api.delete(QUEUED_CMD)
        .await
        .expect_api_error(400, 400, "session_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_whose_host_drops_off_gets_40401() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    env.set_online(&aid, false).await;
    api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd")
        .await
        .expect_api_error(404, 40401, "Could not establish sensor comms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_sessions_of_nobody_known_are_404() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let live = api.init(&aid).await;
    // A normal (not queued) session is not a queued session.
    api.post(QUEUED, &json!({ "ids": [live] }))
        .await
        .expect_api_error(404, 404, "");
    api.post(QUEUED, &json!({}))
        .await
        .expect_api_error(400, 400, "ids");
}
