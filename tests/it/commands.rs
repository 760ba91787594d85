//! Execute and check-status on the three tiers, tier rules, and `sequence_id` chunking.

use rtrsh_command::Tier;
use rtrsh_emulator::{ChunkModel, EmulatorConfig};
use serde_json::json;

use crate::support::{Api, TestEnv, assert_no_violations, assert_one_violation, fast, violations};

async fn session(env: &TestEnv, api: &Api) -> (String, String) {
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    (aid, sid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_once_and_its_status_is_polled_to_completion() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let r = api.exec_reply(Tier::ReadOnly, &sid, &aid, "pwd").await;
    r.expect(201);
    assert_eq!(r.first()["session_id"], sid.as_str());
    assert_eq!(r.first()["queued_command_offline"], false);
    let id = r.first()["cloud_request_id"]
        .as_str()
        .expect("id")
        .to_string();

    let done = api.wait(Tier::ReadOnly, &id).await;
    assert_eq!(done["stdout"].as_str().map(str::trim_end), Some("C:\\"));
    assert_eq!(done["stderr"], "");
    assert_eq!(
        done["task_id"],
        id.as_str(),
        "task_id is the cloud_request_id"
    );
    assert_eq!(done["base_command"], "pwd");
    assert!(
        done.get("sequence_id").is_none(),
        "a single-chunk reply omits sequence_id"
    );
    // Results stay readable after completion.
    let again = api.status(Tier::ReadOnly, &id, 0).await;
    assert_eq!(again.first()["stdout"], done["stdout"]);

    let stats = env.stats().await;
    assert_eq!(stats["command_log"].as_array().map(Vec::len), Some(1));
    assert_eq!(stats["command_log"][0]["command_string"], "pwd");
    assert_eq!(stats["command_log"][0]["via"], "single");
    assert_eq!(stats["hosts"][&aid]["commands"], 1);
    let polls = stats["commands"][&id]["polls"].as_u64().expect("polls");
    assert!(polls >= 2, "every status check is counted: {polls}");
    assert_eq!(stats["commands"][&id]["polls_by_sequence"]["0"], polls);
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tier_answers_status_only_for_its_own_commands() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    for tier in Tier::ALL {
        let id = api.exec(tier, &sid, &aid, "pwd").await;
        let done = api.wait(tier, &id).await;
        assert_eq!(done["complete"], true);
        for other in Tier::ALL.into_iter().filter(|t| *t != tier) {
            api.status(other, &id, 0)
                .await
                .expect_api_error(404, 404, "Could not find command");
        }
        let stats = env.stats().await;
        assert_eq!(stats["commands"][&id]["tier"], tier.label());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_above_an_endpoints_tier_are_not_found_there() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let cases = [
        (Tier::ReadOnly, "rm C:\\Windows\\Temp\\x.txt", false),
        (Tier::ReadOnly, "reg query HKLM\\Software", true),
        (Tier::ReadOnly, "put triage.ps1", false),
        (Tier::ActiveResponder, "rm C:\\Windows\\Temp\\x.txt", true),
        (Tier::ActiveResponder, "put triage.ps1", false),
        (Tier::Admin, "put triage.ps1", true),
        (Tier::Admin, "ls", true),
    ];
    for (tier, line, accepted) in cases {
        let r = api.exec_reply(tier, &sid, &aid, line).await;
        if accepted {
            r.expect(201);
        } else {
            r.expect_api_error(400, 40007, "Command not found");
        }
    }
    let stats = env.stats().await;
    let ran = stats["command_log"].as_array().map(Vec::len);
    assert_eq!(ran, Some(4), "refused commands never reach the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_word_base_command_form_is_accepted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let mut body = Api::exec_body(&sid, &aid, "reg query HKLM\\Software");
    body["base_command"] = json!("reg query");
    api.post(Tier::ReadOnly.single_path(), &body)
        .await
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_command_that_does_not_start_the_line_is_refused() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let mut body = Api::exec_body(&sid, &aid, "ls C:\\");
    body["base_command"] = json!("cat");
    api.post(Tier::ReadOnly.single_path(), &body)
        .await
        .expect_api_error(400, 400, "base_command");
    assert_eq!(violations(&env.stats().await).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimal_execute_body_works_but_every_omission_is_recorded() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (_, sid) = session(&env, &api).await;
    // What most real clients send.
    let body = json!({ "base_command": "pwd", "command_string": "pwd", "session_id": sid });
    api.post(Tier::ReadOnly.single_path(), &body)
        .await
        .expect(201);
    let v = violations(&env.stats().await);
    let problems: Vec<String> = v
        .iter()
        .filter_map(|v| v["problem"].as_str().map(str::to_string))
        .collect();
    for field in ["device_id", "id", "persist"] {
        assert!(
            problems.iter().any(|p| p.contains(&format!("`{field}`"))),
            "{field} not recorded: {problems:?}"
        );
    }
    // A device_id of another host is recorded too.
    let other = env.online_aids(2).await.pop().expect("host");
    let body = Api::exec_body(&sid, &other, "pwd");
    api.post(Tier::ReadOnly.single_path(), &body)
        .await
        .expect(201);
    let v = violations(&env.stats().await);
    assert!(v.iter().any(|v| {
        v["problem"]
            .as_str()
            .is_some_and(|p| p.contains("device_id does not match"))
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_sequence_id_is_a_recorded_violation() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let id = api.exec(Tier::ReadOnly, &sid, &aid, "pwd").await;
    api.get(&format!(
        "{}?cloud_request_id={id}",
        Tier::ReadOnly.single_path()
    ))
    .await
    .expect(200);
    assert_one_violation(&env.stats().await, "sequence_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_chunk_output_ends_the_same_under_every_chunk_model() {
    for model in [ChunkModel::Next, ChunkModel::Echo, ChunkModel::Splunk] {
        let env = TestEnv::start(EmulatorConfig {
            chunk_model: model,
            ..fast()
        })
        .await;
        let api = env.api();
        let (aid, sid) = session(&env, &api).await;
        let id = api.exec(Tier::ReadOnly, &sid, &aid, "pwd").await;
        let done = api.wait(Tier::ReadOnly, &id).await;
        assert!(done.get("sequence_id").is_none(), "{model:?}: {done}");
        // Asking past the end after completion: complete, nothing more.
        let past = api.status(Tier::ReadOnly, &id, 1).await;
        past.expect(200);
        assert_eq!(past.first()["complete"], true, "{model:?}");
        assert_eq!(past.first()["stdout"], "", "{model:?}");
        let (out, _, chunks) = api.read_all(Tier::ReadOnly, &id).await;
        assert_eq!(
            out,
            done["stdout"].as_str().unwrap_or_default(),
            "{model:?}"
        );
        assert_eq!(chunks, 1);
    }
}

/// Runs a command whose output is many chunks and checks that reading it chunk by chunk gives
/// exactly the host's bytes, and what each chunk's reply looks like under `model`.
async fn chunked_read(model: ChunkModel) {
    let chunk = 4096u64;
    let env = TestEnv::start(EmulatorConfig {
        chunk_model: model,
        chunk_size: chunk,
        ..fast()
    })
    .await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let path = "C:\\Logs\\big-1mb.log";
    let id = api
        .exec(Tier::ReadOnly, &sid, &aid, &format!("cat {path}"))
        .await;
    api.wait_any(Tier::ReadOnly, &id).await;

    // Chunk 0 and 1, raw.
    let c0 = api.status(Tier::ReadOnly, &id, 0).await;
    let c0 = c0.first();
    assert_eq!(c0["stdout"].as_str().map(str::len), Some(chunk as usize));
    match model {
        ChunkModel::Next => {
            assert_eq!(c0["complete"], false);
            assert_eq!(c0["sequence_id"], 1);
        }
        ChunkModel::Echo => {
            assert_eq!(c0["complete"], false);
            assert!(c0.get("sequence_id").is_none(), "echo omits 0: {c0}");
        }
        ChunkModel::Splunk => {
            assert_eq!(c0["complete"], true);
            assert_eq!(c0["sequence_id"], 1);
        }
    }
    let (out, _, chunks) = api.read_all(Tier::ReadOnly, &id).await;
    let expected = reqwest::get(env.url(&format!(
        "/_emulator/hosts/{aid}/file?path={}",
        path.replace('\\', "%5C")
    )))
    .await
    .expect("raw file")
    .bytes()
    .await
    .expect("bytes");
    assert_eq!(expected.len(), 1 << 20);
    assert_eq!(out.len(), expected.len());
    assert_eq!(out.as_bytes(), &expected[..]);
    assert_eq!(chunks, (1u64 << 20) / chunk);
    let stats = env.stats().await;
    let by_seq = stats["commands"][&id]["polls_by_sequence"]
        .as_object()
        .expect("polls_by_sequence");
    assert_eq!(
        by_seq.len() as u64,
        chunks,
        "every chunk fetched: {by_seq:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn chunked_output_reassembles_under_the_next_model() {
    chunked_read(ChunkModel::Next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn chunked_output_reassembles_under_the_echo_model() {
    chunked_read(ChunkModel::Echo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn chunked_output_reassembles_under_the_splunk_model() {
    chunked_read(ChunkModel::Splunk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn ls_lists_the_directory_and_cd_moves_the_session() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let (aid, sid) = session(&env, &api).await;
    let id = api.exec(Tier::ReadOnly, &sid, &aid, "ls C:\\Windows").await;
    let done = api.wait(Tier::ReadOnly, &id).await;
    assert!(
        done["stdout"]
            .as_str()
            .is_some_and(|s| s.contains("System32")),
        "{done}"
    );
    let id = api.exec(Tier::ReadOnly, &sid, &aid, "cd C:\\Windows").await;
    api.wait(Tier::ReadOnly, &id).await;
    let id = api.exec(Tier::ReadOnly, &sid, &aid, "pwd").await;
    let done = api.wait(Tier::ReadOnly, &id).await;
    assert_eq!(
        done["stdout"].as_str().map(str::trim_end),
        Some("C:\\Windows")
    );
    let id = api
        .exec(Tier::ReadOnly, &sid, &aid, "cat C:\\no\\such\\file.txt")
        .await;
    let done = api.wait(Tier::ReadOnly, &id).await;
    assert_eq!(done["complete"], true);
    assert_ne!(done["stderr"], "", "a failed command reports on stderr");
}

impl Api {
    /// Polls `sequence_id=0` until the host has finished (any non-empty output or complete).
    pub async fn wait_any(&self, tier: Tier, id: &str) {
        let start = std::time::Instant::now();
        loop {
            let r = self.status(tier, id, 0).await;
            let rec = r.first();
            if rec["complete"] == true || rec["stdout"] != "" {
                return;
            }
            assert!(
                start.elapsed() < crate::support::DEADLINE,
                "{id} never finished"
            );
            tokio::time::sleep(crate::support::ms(10)).await;
        }
    }
}
