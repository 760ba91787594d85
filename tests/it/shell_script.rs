//! The shell in scripts, as a user runs it: `rtrsh --host H < file`, `-c LINE`, `--script FILE`,
//! `--json`, exit codes, host resolution. The real binary against the emulator; the emulator's
//! command log proves which lines reached the API.

use serde_json::Value;

use crate::support::shell::{executed, rtrsh, script_on};
use crate::support::{TestEnv, assert_no_violations, endpoint_count, fast};

const MISSING: &str = r"cat C:\nope.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_on_stdin_runs_its_lines_in_order_without_a_prompt() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let script = "# triage of DESKTOP-01\n\npwd\n   \ncd Windows\n  # still a comment\npwd\n";
    let out = script_on(&env, "DESKTOP-01", script).await;
    out.expect_code(0);
    // Each command's output is byte-exact when piped; `pwd`/`cd` print no newline, so rtrsh
    // puts one between commands (never after the last).
    assert_eq!(out.stdout(), "C:\\\nC:\\Windows\nC:\\Windows");
    assert!(!out.stdout().contains("DESKTOP-01"), "a prompt was printed");
    assert_eq!(out.stderr, "", "nothing on stderr for a clean run");
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), ["pwd", "cd Windows", "pwd"]);
    assert_no_violations(&stats);
    assert_eq!(
        stats["open_sessions"], 0,
        "the session is closed at the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_dash_c_lines_run_in_order() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .commands(["pwd", "ls"])
        .run()
        .await;
    out.expect_code(0);
    let text = out.stdout();
    assert!(
        text.starts_with("C:\\\nDirectory listing for C:\\"),
        "{text}"
    );
    assert!(text.contains("Windows"), "{text}");
    assert_eq!(executed(&env.stats().await, &aid), ["pwd", "ls"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_file_runs_like_stdin() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("SRV-LNX-01").await;
    let sh = rtrsh(&env);
    let file = sh.home().join("triage.rtr");
    std::fs::write(&file, "# linux\ncd /etc\npwd\n").expect("writing the script");
    let out = sh
        .args(["--host", "SRV-LNX-01", "--script"])
        .arg(file.display().to_string())
        .run()
        .await;
    out.expect_code(0);
    assert!(out.stdout().ends_with("/etc"), "{}", out.stdout());
    assert_eq!(executed(&env.stats().await, &aid), ["cd /etc", "pwd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_exits_1_and_later_lines_still_run() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = script_on(&env, "DESKTOP-01", format!("{MISSING}\npwd\n")).await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("Cannot find path"),
        "the host's error goes to stderr: {}",
        out.stderr
    );
    assert_eq!(out.stdout(), r"C:\", "the next line ran");
    assert_eq!(executed(&env.stats().await, &aid), [MISSING, "pwd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_stops_at_the_first_failing_command() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--fail-fast"])
        .stdin(format!("pwd\n{MISSING}\ncd Windows\nls\n"))
        .run()
        .await;
    out.expect_code(1);
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &aid),
        ["pwd", MISSING],
        "nothing after the failure ran"
    );
    assert_eq!(stats["open_sessions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_lines_exit_2_with_one_line_each_and_never_reach_the_api() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = script_on(&env, "DESKTOP-01", "lss\ncat \"C:\\Windows\\win.ini\npwd\n").await;
    out.expect_code(2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "one line per invalid line, the summary and its hint: {lines:#?}"
    );
    assert!(
        lines[0].starts_with("rtrsh: stdin:1:1: ") && lines[0].contains("lss"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("rtrsh: stdin:2:5: "), "{}", lines[1]);
    assert_eq!(out.stdout(), "", "the lines are checked before any runs");
    assert!(
        executed(&env.stats().await, &aid).is_empty(),
        "invalid lines are caught locally"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_also_stops_at_an_invalid_line() {
    // `reg` is valid RTR, but not on Linux: known only once the host is.
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("SRV-LNX-01").await;
    let out = rtrsh(&env)
        .args(["--host", "SRV-LNX-01", "--fail-fast"])
        .stdin("pwd\nreg query HKLM\\Software\npwd\n")
        .run()
        .await;
    out.expect_code(2);
    assert_eq!(executed(&env.stats().await, &aid), ["pwd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_exit_3_without_echoing_the_secret() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .env("FALCON_CLIENT_SECRET", "not-the-secret-4711")
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(3);
    assert_eq!(
        out.stderr.lines().filter(|l| l.contains("error")).count(),
        1
    );
    assert!(
        !out.stderr.contains("not-the-secret-4711"),
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    assert_eq!(stats["command_log"].as_array().map(Vec::len), Some(0));
    assert_eq!(stats["tokens_issued"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_exits_3() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .env("FALCON_BASE_URL", format!("http://127.0.0.1:{port}"))
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(3);
    assert_eq!(out.stdout, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_exits_1_with_near_names() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-0"])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("no host named") && out.stderr.contains("did you mean: DESKTOP-01"),
        "{}",
        out.stderr
    );
    assert_eq!(env.stats().await["tokens_issued"], 1);
    assert_eq!(
        env.stats().await["command_log"].as_array().map(Vec::len),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_with_one_name_exit_2_listing_both_aids() {
    let env = TestEnv::start(fast()).await;
    let kiosks: Vec<Value> = env
        .hosts()
        .await
        .into_iter()
        .filter(|h| h["hostname"] == "KIOSK-01")
        .collect();
    assert_eq!(kiosks.len(), 2, "the world has two KIOSK-01");
    let online = kiosks
        .iter()
        .find(|h| h["online"] == true)
        .and_then(|h| h["aid"].as_str())
        .expect("an online KIOSK-01")
        .to_string();
    let kiosks: Vec<String> = kiosks
        .iter()
        .filter_map(|h| h["aid"].as_str().map(str::to_string))
        .collect();
    let out = rtrsh(&env)
        .args(["--host", "KIOSK-01"])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(2);
    assert!(out.stderr.contains("--aid"), "{}", out.stderr);
    for aid in &kiosks {
        assert!(
            out.stderr.contains(aid.as_str()),
            "{aid} not listed:\n{}",
            out.stderr
        );
    }
    let stats = env.stats().await;
    assert_eq!(stats["command_log"].as_array().map(Vec::len), Some(0));
    assert_eq!(stats["open_sessions"], 0);

    // Picking one with --aid works, and skips the hostname lookup.
    env.reset_stats().await;
    let out = rtrsh(&env)
        .args(["--aid", online.as_str()])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(0);
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &online), ["pwd"]);
    assert_eq!(endpoint_count(&stats, "GET /devices/queries/devices/v1"), 0);
    assert_eq!(
        endpoint_count(&stats, "GET /devices/queries/devices-scroll/v1"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_prints_one_record_per_line_matching_the_command_log() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let lines = ["pwd", "cd Windows", "pwd", MISSING];
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json"])
        .commands(lines)
        .run()
        .await;
    out.expect_code(1);
    let recs = out.json_lines();
    assert_eq!(recs.len(), 4, "{}", out.stdout());
    let stats = env.stats().await;
    let log: Vec<&Value> = stats["command_log"]
        .as_array()
        .expect("command_log")
        .iter()
        .collect();
    assert_eq!(log.len(), 4);
    for (i, rec) in recs.iter().enumerate() {
        assert_eq!(rec["host"], "DESKTOP-01");
        assert_eq!(rec["aid"], aid.as_str());
        assert_eq!(rec["command"], lines[i]);
        assert!(rec["duration_ms"].is_u64(), "{rec}");
        assert!(rec["started_at"].is_string(), "{rec}");
        assert!(rec["session_id"].is_string(), "{rec}");
        assert_eq!(
            rec["cloud_request_id"], log[i]["cloud_request_id"],
            "record {i} names the command the emulator ran"
        );
        assert_eq!(log[i]["command_string"], lines[i]);
    }
    let status: Vec<&str> = recs
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(status, ["ok", "ok", "ok", "error"]);
    assert_eq!(recs[0]["stdout"], r"C:\");
    assert_eq!(recs[1]["stdout"], r"C:\Windows");
    assert_eq!(
        recs[2]["stdout"], r"C:\Windows",
        "cd persists to the next command"
    );
    assert_eq!(recs[2]["stderr"], "");
    assert!(
        recs[3]["stderr"]
            .as_str()
            .is_some_and(|s| s.contains("Cannot find path")),
        "{}",
        recs[3]
    );
    assert_eq!(recs[3]["stdout"], "");
    assert!(
        out.stderr.is_empty(),
        "host stderr goes into the record: {}",
        out.stderr
    );
}
