//! The learned polling window of a single-host session (dense checks around the time the host
//! usually answers) against the emulator with faults on: whatever fails, every chunk arrives
//! exactly once and in order, nothing runs twice, and a command that runs far longer than the
//! session's usual is still followed to its end. No test here asserts a time.

use rtrsh_client::session::{Collect, Completion, HostSession, OutputSink, classify};
use rtrsh_command::Platform;
use rtrsh_command::{Tier, lexer};
use rtrsh_emulator::{ChunkModel, EmulatorConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::client::open_session;
use crate::support::shell::{executions, rtrsh};
use crate::support::{TestEnv, fast, ms};

const STATUS: &str = "GET /real-time-response/entities/command/v1";
const BIG: &str = r"C:\Logs\big-1mb.log";

async fn open(env: &TestEnv, hostname: &str) -> HostSession {
    open_session(env, hostname, Platform::Windows).await
}

async fn run(session: &HostSession, line: &str) -> (Collect, rtrsh_client::session::Outcome) {
    let (words, tier) = classify(line, Some(Platform::Windows)).expect("a valid line");
    let mut sink = Collect::default();
    let outcome = session
        .run(line, &words, tier, &mut sink, &CancellationToken::new())
        .await
        .expect("runs");
    (sink, outcome)
}

/// Arms `n` one-shot faults on the status endpoint: the next `n` status requests fail, in
/// turn with a 503 before or after the read, or a dropped connection.
async fn fail_status_checks(env: &TestEnv, n: usize) {
    let kinds = ["5xx-before", "drop-before", "5xx-after", "drop-after"];
    for i in 0..n {
        env.fault_once(STATUS, kinds[i % kinds.len()]).await;
    }
}

/// Collects output and, when the `at`-th chunk arrives, arms more one-shot faults on the status
/// endpoint (so some land while the chunks stream).
struct FaultsMidway {
    out: Collect,
    chunks: usize,
    at: usize,
    faults_url: String,
}

impl OutputSink for FaultsMidway {
    fn stdout(&mut self, chunk: &str) {
        self.chunks += 1;
        if self.chunks == self.at {
            let url = self.faults_url.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for kind in ["5xx-before", "drop-after", "5xx-after", "drop-before"] {
                    let body = json!({ "once": { "endpoint": STATUS, "fault": kind } });
                    let _ = http.post(&url).json(&body).send().await;
                }
            });
        }
        self.out.stdout(chunk);
    }

    fn stderr(&mut self, chunk: &str) {
        self.out.stderr(chunk);
    }
}

/// A session that learned its host from its init and three commands, then a 256-chunk `cat`
/// whose first status checks (the probe and the dense window) fail, and more while its chunks
/// stream, under every chunk model. Only status checks fail, so the command certainly ran.
async fn learned_window_under_faults(model: ChunkModel) {
    let env = TestEnv::start(EmulatorConfig {
        latency: ms(60),
        chunk_size: 4096,
        chunk_model: model,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let want = env.host_file(&aid, BIG).await;
    let session = open(&env, "DESKTOP-01").await;
    for _ in 0..3 {
        let (out, o) = run(&session, "pwd").await;
        assert!(o.ok(), "pwd: {}", out.stderr);
        assert_eq!(out.stdout.trim_end(), r"C:\");
    }
    fail_status_checks(&env, 6).await;
    let line = format!("cat {BIG}");
    let words = lexer::words(&line).expect("lexes");
    let mut sink = FaultsMidway {
        out: Collect::default(),
        chunks: 0,
        at: 10,
        faults_url: env.url("/_emulator/faults"),
    };
    let o = session
        .run(
            &line,
            &words,
            Tier::ReadOnly,
            &mut sink,
            &CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{model:?}: {e}"));
    let stats = env.stats().await;
    assert_eq!(executions(&stats, &aid, &line), 1, "{model:?}: ran once");
    let faults = &stats["faults"];
    assert!(
        faults["http_5xx"].as_u64().unwrap_or(0) + faults["dropped"].as_u64().unwrap_or(0) >= 6,
        "{model:?}: the status checks did fail: {faults}"
    );
    assert_eq!(o.polled.completion, Completion::Complete, "{model:?}");
    let out = sink.out;
    assert!(out.stderr.is_empty(), "{model:?}: {}", out.stderr);
    // Every byte once, in order.
    assert_eq!(out.stdout.len(), want.len(), "{model:?}");
    assert!(
        out.stdout.as_bytes() == want.as_slice(),
        "{model:?}: bytes differ"
    );
    assert_eq!(o.polled.chunks as usize, want.len() / 4096, "{model:?}");
    assert_eq!(
        sink.chunks,
        want.len() / 4096,
        "{model:?}: each chunk delivered once"
    );
    // The session goes on with a learned window afterwards.
    let (out, o) = run(&session, "pwd").await;
    assert!(o.ok(), "pwd after: {}", out.stderr);
    assert_eq!(out.stdout.trim_end(), r"C:\");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_window_under_faults_next_model() {
    learned_window_under_faults(ChunkModel::Next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_window_under_faults_echo_model() {
    learned_window_under_faults(ChunkModel::Echo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_window_under_faults_splunk_model() {
    learned_window_under_faults(ChunkModel::Splunk).await;
}

/// Only the status checks fail (one-shot faults aimed at them), so the command certainly
/// runs: its output must be whole, and each command ran once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_checks_in_the_dense_window_lose_nothing() {
    let env = TestEnv::start(EmulatorConfig {
        latency: ms(80),
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let session = open(&env, "DESKTOP-01").await;
    let (_, o) = run(&session, "pwd").await;
    assert!(o.ok());
    let lines = [
        r"cd C:\Windows",
        "pwd",
        r"ls C:\Windows\System32",
        r"cd C:\",
    ];
    let mut clean = Vec::new();
    for line in lines {
        let (out, o) = run(&session, line).await;
        assert!(o.ok(), "{line}: {}", out.stderr);
        clean.push(out.stdout);
    }
    let before = env.stats().await;
    for (i, line) in lines.iter().enumerate() {
        fail_status_checks(&env, 3 + i).await;
        let (out, o) = run(&session, line).await;
        assert!(o.ok(), "{line}: {}", out.stderr);
        assert_eq!(o.polled.completion, Completion::Complete);
        assert_eq!(
            out.stdout, clean[i],
            "{line}: same output as without faults"
        );
    }
    let stats = env.stats().await;
    for line in lines {
        let n = executions(&stats, &aid, line) - executions(&before, &aid, line);
        assert_eq!(n, 1, "{line}: ran once under faults");
    }
}

/// After the session learned that its host answers in ~20 ms, a script that sleeps on the
/// host is followed past the dense window to its end, its output whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_far_longer_than_usual_is_followed_to_its_end() {
    let env = TestEnv::start(EmulatorConfig {
        script_time_scale: 0.01,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let session = open(&env, "DESKTOP-01").await;
    for _ in 0..3 {
        let (_, o) = run(&session, "pwd").await;
        assert!(o.ok());
    }
    // 60 s of sleep at 1/100: 600 ms, some 30 times the usual.
    let line =
        "runscript -Raw=```Write-Output begun; Start-Sleep -Seconds 60; Write-Output finished```";
    fail_status_checks(&env, 2).await;
    let (out, o) = run(&session, line).await;
    assert!(o.ok(), "{}", out.stderr);
    assert_eq!(
        out.stdout.replace("\r\n", "\n").trim_end(),
        "begun\nfinished"
    );
    let stats = env.stats().await;
    let n = stats["command_log"]
        .as_array()
        .expect("command_log")
        .iter()
        .filter(|e| e["aid"] == aid)
        .filter(|e| {
            e["command_string"]
                .as_str()
                .is_some_and(|s| s.starts_with("runscript"))
        })
        .count();
    assert_eq!(n, 1, "the script ran once");
    // The window did not make it spin: far fewer checks than one per ms of its running time.
    let id = &o.cloud_request_id;
    let polls = stats["commands"][id.as_str()]["polls"]
        .as_u64()
        .unwrap_or(0);
    assert!(polls >= 1);
    assert!(polls < 100, "{polls} status checks");
}

/// `--json` writes a multi-chunk output into one valid line as it arrives, under failing
/// status checks: the record's `stdout` is the file, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_record_of_a_chunked_output_under_faults_is_one_exact_line() {
    let env = TestEnv::start(EmulatorConfig {
        chunk_size: 4096,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let want = env.host_file(&aid, BIG).await;
    fail_status_checks(&env, 8).await;
    let line = format!("cat {BIG}");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "--no-transcript"])
        .stdin(format!("{line}\nfilehash C:\\Nope.txt\npwd\n"))
        .run()
        .await;
    out.expect_code(1);
    let recs = out.json_lines();
    assert_eq!(recs.len(), 3, "one line per command");
    assert_eq!(recs[0]["command"], line.as_str());
    assert_eq!(recs[0]["status"], "ok");
    assert_eq!(
        recs[0]["stdout"].as_str().map(str::as_bytes),
        Some(want.as_slice())
    );
    assert_eq!(recs[0]["stderr"], "");
    assert!(recs[0].get("stdout_b64").is_none());
    let seen = recs[0]["sequence_ids_seen"].as_array().map_or(0, Vec::len);
    assert!(seen >= want.len() / 4096 - 1, "{seen} sequence_ids");
    // A failing command: stderr only, still one valid line with every field.
    assert_eq!(recs[1]["status"], "error");
    assert_eq!(recs[1]["stdout"], "");
    assert!(!recs[1]["stderr"].as_str().unwrap_or("").is_empty());
    for r in &recs {
        for field in [
            "host",
            "aid",
            "session_id",
            "command",
            "tier",
            "status",
            "stdout",
            "stderr",
            "exit",
            "cloud_request_id",
            "started_at",
            "duration_ms",
            "queued",
            "trace_ids",
            "sequence_ids_seen",
        ] {
            assert!(r.get(field).is_some(), "{field} missing: {r}");
        }
    }
    assert_eq!(recs[2]["stdout"].as_str().map(str::trim_end), Some(r"C:\"));
    assert_eq!(executions(&env.stats().await, &aid, &line), 1);
}
