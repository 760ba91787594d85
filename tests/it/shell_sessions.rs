//! The session under the shell: the pulse keeps it alive past the idle lifetime, and when it
//! expires anyway the next command re-opens it, restores the working directory, runs once, and
//! the user is told in one line.

use std::time::Duration;

use rtrsh_emulator::EmulatorConfig;
use serde_json::json;

use crate::support::shell::{
    events, executed, executions, rtrsh, sessions_of, transcript_entries, transcript_files,
    wait_for_stats,
};
use crate::support::{TestEnv, assert_no_violations, fast, ms};

/// Sessions die after 300 ms without activity (init, command, pulse; status polls do not
/// count). `cat` of the 1 MiB log in 2 KiB chunks streams for longer than that (512 status
/// calls), so the next command comes after the session's idle lifetime.
fn short_lived_sessions() -> EmulatorConfig {
    EmulatorConfig {
        session_idle: ms(300),
        chunk_size: 2 * 1024,
        ..fast()
    }
}

const SLOW: &str = r"cat C:\Logs\big-10mb.log";

/// The script's records, after checking that the slow command really outlived the idle
/// lifetime (otherwise the test would prove nothing).
fn records_after_a_long_gap(out: &crate::support::shell::Out) -> Vec<serde_json::Value> {
    let recs = out.json_lines();
    assert_eq!(recs.len(), 3, "{}", out.stderr);
    let took = recs[1]["duration_ms"].as_u64().unwrap_or(0);
    assert!(
        took > 500,
        "precondition: the slow command took only {took} ms, not longer than the idle lifetime"
    );
    recs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pulse_keeps_the_session_alive_past_its_idle_lifetime() {
    let env = TestEnv::start(short_lived_sessions()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--json",
            "--pulse-interval",
            "100ms",
        ])
        .commands(["cd Windows", SLOW, "pwd"])
        .run()
        .await;
    out.expect_code(0);
    let recs = records_after_a_long_gap(&out);
    assert_eq!(recs[2]["stdout"], r"C:\Windows");
    assert!(!out.stderr.contains("re-opened"), "{}", out.stderr);
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), ["cd Windows", SLOW, "pwd"]);
    let sessions = sessions_of(&stats, &aid);
    assert_eq!(sessions.len(), 1, "never re-opened: {sessions:#?}");
    let (_, s) = &sessions[0];
    assert!(s["refreshes"].as_u64().unwrap_or(0) > 0, "{s}");
    assert_eq!(s["inits"], 1);
    assert_eq!(s["deleted"], true, "closed at the end");
    assert_eq!(stats["hosts"][&aid]["sessions_opened"], 1);
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_pulse_the_idle_session_is_reopened_in_the_same_directory() {
    let env = TestEnv::start(short_lived_sessions()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "--pulse-interval", "1h"])
        .commands(["cd Windows", SLOW, "pwd"])
        .run()
        .await;
    out.expect_code(0);
    let recs = records_after_a_long_gap(&out);
    assert_eq!(
        recs[2]["stdout"], r"C:\Windows",
        "pwd runs in the restored directory"
    );
    assert_eq!(recs[2]["status"], "ok");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("re-opened"))
            .count(),
        1,
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &aid),
        ["cd Windows", SLOW, r"cd C:\Windows", "pwd"]
    );
    assert_eq!(stats["hosts"][&aid]["sessions_opened"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_reopened_with_its_directory_and_the_command_runs_once() {
    let env = TestEnv::start(EmulatorConfig {
        latency: ms(400),
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .stdin("cd Windows\nls\npwd\n");
    let running = sh.spawn();
    // While `ls` runs, every session expires (a laptop that slept).
    wait_for_stats(&env, Duration::from_secs(20), "ls executed", |s| {
        executions(s, &aid, "ls") == 1
    })
    .await;
    assert_eq!(
        env.control_post("/_emulator/sessions/expire", json!({}))
            .await,
        204
    );
    let out = running.wait().await;
    out.expect_code(0);
    assert!(
        out.stdout().ends_with(r"C:\Windows"),
        "pwd after the re-open prints the directory from before: {}",
        out.stdout()
    );
    let told: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("re-opened"))
        .collect();
    assert_eq!(told.len(), 1, "told once, in one line: {}", out.stderr);
    assert!(told[0].contains(r"C:\Windows"), "{}", told[0]);
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &aid),
        ["cd Windows", "ls", r"cd C:\Windows", "pwd"],
        "the directory is restored, then pwd runs exactly once"
    );
    assert_eq!(stats["hosts"][&aid]["sessions_opened"], 2);
    assert_eq!(
        stats["open_sessions"], 0,
        "the new session is closed at the end"
    );
    assert_no_violations(&stats);

    // The audit transcript records the re-open.
    let files = transcript_files(sh.home());
    assert_eq!(files.len(), 1, "{files:#?}");
    let (_, entries) = transcript_entries(&files[0]);
    assert_eq!(
        events(&entries),
        [
            "session_open",
            "command",
            "command",
            "session_reopen",
            "command",
            "session_close"
        ]
    );
}
