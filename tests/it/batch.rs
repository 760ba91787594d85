//! Batch RTR: init (mixed hosts), refresh, synchronous batch commands on three tiers with
//! `optional_hosts`, host timeouts, and batch get.

use std::time::Duration;

use rtrsh_command::Tier;
use rtrsh_emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::support::schema::validate_request;
use crate::support::{Api, TestEnv, assert_no_violations, assert_one_violation, fast};

const INIT: &str = "/real-time-response/combined/batch-init-session/v1";
const REFRESH: &str = "/real-time-response/combined/batch-refresh-session/v1";
const GET: &str = "/real-time-response/combined/batch-get-command/v1";

fn init_body(hosts: &[String]) -> Value {
    let body = json!({ "host_ids": hosts, "queue_offline": false, "existing_batch_id": "" });
    validate_request("domain.BatchInitSessionRequest", &body);
    body
}

async fn batch_init(api: &Api, hosts: &[String]) -> String {
    let r = api.post(INIT, &init_body(hosts)).await;
    r.expect(201);
    r.body["batch_id"].as_str().expect("batch_id").to_string()
}

/// A quick tenant, a client, `n` online hosts and a batch session open on them.
async fn batch_on_online_hosts(n: usize) -> (TestEnv, Api, Vec<String>, String) {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_aids(n).await;
    let batch = batch_init(&api, &aids).await;
    (env, api, aids, batch)
}

fn cmd_body(batch_id: &str, line: &str, hosts: &[String]) -> Value {
    let body = json!({
        "base_command": line.split_whitespace().next().unwrap_or_default(),
        "command_string": line,
        "batch_id": batch_id,
        "optional_hosts": hosts,
        "persist_all": false,
    });
    validate_request("domain.BatchExecuteCommandRequest", &body);
    body
}

fn hosts_of(resources: &Value) -> Vec<String> {
    let mut v: Vec<String> = resources
        .as_object()
        .expect("resources keyed by aid")
        .keys()
        .cloned()
        .collect();
    v.sort();
    v
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_init_reports_every_host_whatever_its_fate() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let online = env.online_aids(2).await;
    let offline = env.offline_aid().await;
    let unknown = "0".repeat(32);
    let malformed = "not-an-aid".to_string();
    let hosts = vec![
        online[0].clone(),
        offline.clone(),
        unknown.clone(),
        malformed.clone(),
    ];
    let r = api.post(INIT, &init_body(&hosts)).await;
    r.expect(201);
    assert!(uuid::Uuid::parse_str(r.body["batch_id"].as_str().expect("id")).is_ok());
    let res = &r.body["resources"];
    assert_eq!(hosts_of(res), sorted(&hosts));

    let ok = &res[&online[0]];
    assert_eq!(ok["complete"], true);
    assert_eq!(ok["base_command"], "pwd");
    assert_eq!(ok["stdout"].as_str().map(str::trim_end), Some("C:\\"));
    assert_eq!(ok["errors"], json!([]));
    assert!(!ok["session_id"].as_str().unwrap_or_default().is_empty());

    for aid in [&offline, &unknown] {
        assert_eq!(res[aid]["session_id"], "");
        assert_eq!(res[aid]["errors"][0]["code"], 40401, "{aid}");
    }
    assert_eq!(res[&malformed]["errors"][0]["code"], 500);
    assert!(
        res[&malformed]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("incorrect UUID length")),
        "{}",
        res[&malformed]
    );
    let stats = env.stats().await;
    assert_eq!(stats["open_sessions"], 1);
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_init_with_no_usable_host_is_404() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let offline = env.offline_aid().await;
    let r = api
        .post(INIT, &init_body(std::slice::from_ref(&offline)))
        .await;
    r.expect(404);
    assert_eq!(r.body["batch_id"], "");
    assert_eq!(
        r.body["errors"][0]["message"],
        "no successful hosts initialized on RTR"
    );
    assert_eq!(r.body["resources"][&offline]["errors"][0]["code"], 40401);
    crate::support::schema::validate_definition("domain.BatchInitSessionResponse", &r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_init_takes_between_1_and_10000_hosts() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    api.post(INIT, &init_body(&[])).await.expect_api_error(
        400,
        400,
        "Invalid number of hosts in request: 0",
    );
    let too_many = vec!["0".repeat(32); 10_001];
    api.post(INIT, &init_body(&too_many))
        .await
        .expect_api_error(400, 400, "Invalid number of hosts in request: 10001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_batch_grows_with_more_hosts() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_aids(3).await;
    let batch = batch_init(&api, &aids[..1]).await;
    let body = json!({ "host_ids": aids[1..], "queue_offline": false, "existing_batch_id": batch });
    let r = api.post(INIT, &body).await;
    r.expect(201);
    assert_eq!(r.body["batch_id"], batch.as_str());
    let r = api
        .post(Tier::ReadOnly.batch_path(), &cmd_body(&batch, "pwd", &aids))
        .await;
    r.expect(201);
    assert_eq!(hosts_of(&r.body["combined"]["resources"]), sorted(&aids));
    let body = json!({ "host_ids": aids, "queue_offline": false, "existing_batch_id": uuid::Uuid::nil().to_string() });
    api.post(INIT, &body).await.expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_refresh_keeps_members_alive_and_drops_removed_ones() {
    let (env, api, aids, batch) = batch_on_online_hosts(3).await;
    let body = json!({ "batch_id": batch, "hosts_to_remove": [] });
    validate_request("domain.BatchRefreshSessionRequest", &body);
    let r = api.post(REFRESH, &body).await;
    r.expect(201);
    assert_eq!(hosts_of(&r.body["resources"]), sorted(&aids));
    let sids: Vec<String> = aids
        .iter()
        .map(|a| {
            r.body["resources"][a]["session_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();

    let r = api
        .post(
            REFRESH,
            &json!({ "batch_id": batch, "hosts_to_remove": [aids[0]] }),
        )
        .await;
    r.expect(201);
    assert_eq!(hosts_of(&r.body["resources"]), sorted(&aids[1..]));

    let stats = env.stats().await;
    assert_eq!(stats["sessions"][&sids[0]]["refreshes"], 1);
    assert_eq!(stats["sessions"][&sids[1]]["refreshes"], 2);

    // A removed host no longer takes batch commands.
    let r = api
        .post(Tier::ReadOnly.batch_path(), &cmd_body(&batch, "pwd", &aids))
        .await;
    assert_eq!(
        hosts_of(&r.body["combined"]["resources"]),
        sorted(&aids[1..])
    );

    api.post(
        REFRESH,
        &json!({ "batch_id": batch, "hosts_to_remove": aids }),
    )
    .await
    .expect_api_error(400, 400, "no hosts in this batch session");
    api.post(
        REFRESH,
        &json!({ "batch_id": uuid::Uuid::nil().to_string(), "hosts_to_remove": [] }),
    )
    .await
    .expect_api_error(404, 404, "batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_commands_run_on_the_chosen_hosts_of_each_tier() {
    let (env, api, aids, batch) = batch_on_online_hosts(3).await;
    let chosen = aids[..2].to_vec();
    let lines = [
        (Tier::ReadOnly, "pwd"),
        (Tier::ActiveResponder, "mkdir C:\\Windows\\Temp\\rtrsh-test"),
        (Tier::Admin, "put triage.ps1"),
    ];
    for (tier, line) in lines {
        let r = api
            .post(tier.batch_path(), &cmd_body(&batch, line, &chosen))
            .await;
        r.expect(201);
        let res = &r.body["combined"]["resources"];
        assert_eq!(hosts_of(res), sorted(&chosen), "{line}");
        for aid in &chosen {
            let h = &res[aid];
            assert_eq!(h["aid"], aid.as_str());
            assert_eq!(h["complete"], true, "{line}: {h}");
            assert_eq!(h["errors"], json!([]));
            assert_eq!(h["offline_queued"], false);
            assert_eq!(
                h["base_command"],
                line.split(' ').next().unwrap_or_default()
            );
        }
    }
    let stats = env.stats().await;
    let log = stats["command_log"].as_array().expect("log");
    assert_eq!(log.len(), 6, "three commands on two hosts each");
    assert!(log.iter().all(|c| c["via"] == "batch"));
    assert_eq!(
        stats["hosts"][&aids[2]]["commands"].as_u64().unwrap_or(0),
        0
    );
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_commands_respect_the_tier_of_their_endpoint() {
    let (_env, api, aids, batch) = batch_on_online_hosts(1).await;
    api.post(
        Tier::ReadOnly.batch_path(),
        &cmd_body(&batch, "rm C:\\x", &aids),
    )
    .await
    .expect_api_error(400, 40007, "Command not found");
    api.post(
        Tier::ActiveResponder.batch_path(),
        &cmd_body(&batch, "put triage.ps1", &aids),
    )
    .await
    .expect_api_error(400, 40007, "Command not found");
    api.post(
        Tier::ReadOnly.batch_path(),
        &cmd_body(&uuid::Uuid::nil().to_string(), "pwd", &aids),
    )
    .await
    .expect_api_error(404, 404, "batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_optional_hosts_list_means_all_but_is_recorded() {
    let (env, api, aids, batch) = batch_on_online_hosts(2).await;
    let r = api
        .post(Tier::ReadOnly.batch_path(), &cmd_body(&batch, "pwd", &[]))
        .await;
    r.expect(201);
    assert_eq!(hosts_of(&r.body["combined"]["resources"]), sorted(&aids));
    assert_one_violation(&env.stats().await, "optional_hosts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_slower_than_the_host_timeout_comes_back_incomplete() {
    let env = TestEnv::start(EmulatorConfig {
        latency: Duration::from_secs(3),
        ..fast()
    })
    .await;
    let api = env.api();
    let aids = env.online_aids(1).await;
    let r = api
        .post(
            &format!("{INIT}?host_timeout_duration=100ms&timeout=30"),
            &init_body(&aids),
        )
        .await;
    r.expect(201);
    let init = &r.body["resources"][&aids[0]];
    assert_eq!(init["complete"], false);
    assert_eq!(init["errors"][0]["code"], 50401);
    let batch = r.body["batch_id"].as_str().expect("batch").to_string();

    let r = api
        .post(
            &format!(
                "{}?host_timeout_duration=100ms&timeout=30",
                Tier::ReadOnly.batch_path()
            ),
            &cmd_body(&batch, "pwd", &aids),
        )
        .await;
    r.expect(201);
    let h = &r.body["combined"]["resources"][&aids[0]];
    assert_eq!(h["complete"], false);
    assert_eq!(h["stdout"], "");
    assert_eq!(h["errors"][0]["code"], 50401);
    assert_eq!(h["errors"][0]["message"], "Exceeded maximum timeout");
    // The command still finishes on the host; its task_id works on the single-host endpoint.
    let task = h["task_id"].as_str().expect("task_id");
    let done = api.wait(Tier::ReadOnly, task).await;
    assert_eq!(done["stdout"].as_str().map(str::trim_end), Some("C:\\"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_host_whose_session_expired_reports_50007() {
    let (env, api, aids, batch) = batch_on_online_hosts(1).await;
    assert_eq!(
        env.control_post("/_emulator/sessions/expire", json!({}))
            .await,
        204
    );
    let r = api
        .post(Tier::ReadOnly.batch_path(), &cmd_body(&batch, "pwd", &aids))
        .await;
    r.expect(201);
    let h = &r.body["combined"]["resources"][&aids[0]];
    assert_eq!(h["errors"][0]["code"], 50007);
    assert_eq!(h["session_id"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_hosts_queue_in_a_batch_when_asked() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let online = env.online_aids(1).await;
    let offline = env.offline_aid().await;
    let hosts = vec![online[0].clone(), offline.clone()];
    let body = json!({ "host_ids": hosts, "queue_offline": true, "existing_batch_id": "" });
    let r = api.post(INIT, &body).await;
    r.expect(201);
    assert_eq!(r.body["resources"][&offline]["offline_queued"], true);
    let batch = r.body["batch_id"].as_str().expect("batch").to_string();
    let r = api
        .post(
            Tier::ReadOnly.batch_path(),
            &cmd_body(&batch, "pwd", &hosts),
        )
        .await;
    let q = &r.body["combined"]["resources"][&offline];
    assert_eq!(q["offline_queued"], true);
    assert_eq!(q["complete"], false);
    assert_eq!(q["errors"], json!([]), "a queued host is not a timeout");
    assert_eq!(
        r.body["combined"]["resources"][&online[0]]["complete"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_answers_with_a_request_id_and_a_status() {
    let (_env, api, aids, batch) = batch_on_online_hosts(2).await;
    let body = json!({
        "batch_id": batch,
        "file_path": "C:\\Windows\\System32\\drivers\\etc\\hosts",
        "optional_hosts": aids[..1],
    });
    validate_request("domain.BatchGetCommandRequest", &body);
    let r = api.post(GET, &body).await;
    r.expect(201);
    let req = r.body["batch_get_cmd_req_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        hosts_of(&r.body["combined"]["resources"]),
        vec![aids[0].clone()]
    );
    assert_eq!(
        r.body["combined"]["resources"][&aids[0]]["base_command"],
        "get"
    );
    let r = api.get(&format!("{GET}?batch_get_cmd_req_id={req}")).await;
    r.expect(200);
    assert!(r.body["resources"].is_object());
    api.get(&format!("{GET}?batch_get_cmd_req_id={}", uuid::Uuid::nil()))
        .await
        .expect_api_error(404, 404, "");
    api.get(GET)
        .await
        .expect_api_error(400, 400, "batch_get_cmd_req_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn batch_get_lists_each_uploaded_file_once_ready() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = env.online_windows_aids(2).await;
    let batch = batch_init(&api, &aids).await;
    let path = "C:\\Windows\\System32\\drivers\\etc\\hosts";
    let body = json!({ "batch_id": batch, "file_path": path, "optional_hosts": aids });
    let r = api.post(GET, &body).await;
    r.expect(201);
    let req = r.body["batch_get_cmd_req_id"]
        .as_str()
        .expect("id")
        .to_string();
    let start = std::time::Instant::now();
    let files = loop {
        let r = api.get(&format!("{GET}?batch_get_cmd_req_id={req}")).await;
        if r.body["resources"].as_object().map(|o| o.len()) == Some(2) {
            break r.body["resources"].clone();
        }
        assert!(
            start.elapsed() < crate::support::DEADLINE,
            "files never appeared"
        );
        tokio::time::sleep(crate::support::ms(20)).await;
    };
    for aid in &aids {
        let f = &files[aid];
        assert_eq!(f["name"], path);
        assert_eq!(f["sha256"].as_str().map(str::len), Some(64));
        assert!(f["size"].as_u64().is_some_and(|s| s > 0));
    }
}
