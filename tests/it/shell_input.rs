//! Bad input from a careless script, for one host and for fleets: control characters, a second
//! command hidden in one `-c`, bytes that are not UTF-8, shell pipes. Every line is checked
//! before anything is asked of the API, so a refused script leaves no trace in the emulator's
//! stats (no token, no session, no command). And with `--json`, stdout is JSON lines only,
//! built-ins included.

use serde_json::Value;

use crate::fleet_harness;
use crate::support::shell::{Out, executed, rtrsh, script_on};
use crate::support::{TestEnv, fast};

/// Nothing reached the API: no request at all (so no token and no session either).
#[track_caller]
fn assert_untouched(stats: &Value) {
    assert_eq!(
        stats["requests_total"], 0,
        "API requests: {:#}",
        stats["endpoints"]
    );
    assert_eq!(stats["tokens_issued"], 0);
    assert!(stats["command_log"].as_array().is_none_or(|a| a.is_empty()));
}

/// The `rtrsh: ...` lines on stderr that name a place (`source:line:column:`).
fn located<'a>(out: &'a Out, source: &str) -> Vec<&'a str> {
    let prefix = format!("rtrsh: {source}:");
    out.stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carriage_return_in_dash_c_is_refused_with_its_column_and_nothing_is_sent() {
    let env = TestEnv::start(fast()).await;
    env.reset_stats().await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .commands(["pwd", "ls C:\\\rrm C:\\x"])
        .run()
        .await;
    out.expect_code(2);
    let lines = located(&out, "-c");
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("rtrsh: -c:2:7: control character U+000D in the line;"),
        "{}",
        lines[0]
    );
    assert!(out.stderr.contains("nothing was run"), "{}", out.stderr);
    assert_eq!(out.stdout(), "", "the valid -c did not run either");
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dash_c_is_one_command_a_newline_in_it_is_refused() {
    let env = TestEnv::start(fast()).await;
    env.reset_stats().await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .commands(["pwd\nrm C:\\x"])
        .run()
        .await;
    out.expect_code(2);
    let lines = located(&out, "-c");
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(lines[0].starts_with("rtrsh: -c:1:4: "), "{}", lines[0]);
    assert!(lines[0].contains("its own -c"), "{}", lines[0]);
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_on_stdin_is_refused_never_guessed() {
    let env = TestEnv::start(fast()).await;
    env.reset_stats().await;
    let out = script_on(&env, "DESKTOP-01", &b"pwd\nls C:\\\xff\xfe\n"[..]).await;
    out.expect_code(2);
    let lines = located(&out, "stdin");
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("rtrsh: stdin:2:7: ") && lines[0].contains("UTF-8"),
        "{}",
        lines[0]
    );
    assert!(!out.stderr.contains('\u{fffd}'), "{}", out.stderr);
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_script_file_names_the_file_line_and_column() {
    let env = TestEnv::start(fast()).await;
    env.reset_stats().await;
    let sh = rtrsh(&env);
    let file = sh.home().join("triage.rtr");
    std::fs::write(
        &file,
        b"# latin-1 comment: M\xfcller\npwd\n  cat C:\\\xe9t\xe9.txt\n",
    )
    .expect("writing the script");
    let path = file.display().to_string();
    let out = sh
        .args(["--host", "DESKTOP-01", "--script", &path])
        .run()
        .await;
    out.expect_code(2);
    let lines = located(&out, &path);
    assert_eq!(lines.len(), 1, "only the command line: {}", out.stderr);
    assert!(
        lines[0].starts_with(&format!("rtrsh: {path}:3:10: ")),
        "{}",
        lines[0]
    );
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_line_is_reported_and_no_token_or_session_is_requested() {
    let env = TestEnv::start(fast()).await;
    env.reset_stats().await;
    let script = "# triage\nlss\n\ncat \"C:\\Windows\\win.ini\nps ; findstr svchost\n\tpwd\nls\tC:\\\nrm C:\\x -Forse\n";
    let out = script_on(&env, "DESKTOP-01", script).await;
    out.expect_code(2);
    let lines = located(&out, "stdin");
    let places: Vec<&str> = lines
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        places,
        [
            "stdin:2:1:",
            "stdin:4:5:",
            "stdin:5:4:",
            "stdin:7:3:",
            "stdin:8:9:"
        ],
        "{}",
        out.stderr
    );
    assert!(
        lines[2].contains("`;` would start a second command"),
        "{}",
        lines[2]
    );
    assert!(
        out.stderr.contains("5 of 6 lines invalid"),
        "{}",
        out.stderr
    );
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quoted_operators_crlf_and_tab_indentation_still_run() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = script_on(
        &env,
        "DESKTOP-01",
        "\tpwd\r\n  # comment\twith a tab\r\nls \"C:\\a|b; c > d\"\r\n",
    )
    .await;
    // The quoted path does not exist on the host: exit 1, but it was sent as typed.
    out.expect_code(1);
    assert_eq!(
        executed(&env.stats().await, &aid),
        ["pwd", "ls \"C:\\a|b; c > d\""]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_script_with_a_bad_line_opens_no_batch_session() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(3).await;
    env.reset_stats().await;
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--yes"])
        .stdin("pwd\nonly DESKTOP-01 ls C:\\\rrm C:\\x\nhosts\nqueue later\n")
        .run()
        .await;
    out.expect_code(2);
    let lines = located(&out, "stdin");
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with("rtrsh: stdin:2:23: control character U+000D"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("rtrsh: stdin:4:"), "{}", lines[1]);
    assert_eq!(out.stdout(), "");
    assert_untouched(&env.stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_only_one_platform_rejects_is_still_checked_when_it_runs() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("SRV-LNX-01").await;
    let out = script_on(&env, "SRV-LNX-01", "pwd\nreg query HKLM\\Software\npwd\n").await;
    out.expect_code(2);
    let lines = located(&out, "stdin");
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("rtrsh: stdin:2:1: `reg` is not available on Linux"),
        "{}",
        lines[0]
    );
    assert_eq!(executed(&env.stats().await, &aid), ["pwd", "pwd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_stdout_is_only_json_for_one_hosts_builtins() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json"])
        .commands(["help", "help ls", "pwd", "history", "library", "files"])
        .run()
        .await;
    out.expect_code(0);
    let records = out.json_lines();
    assert!(
        records.iter().any(|r| r["command"] == "pwd"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stderr.contains("RTR commands") && out.stderr.contains("    1  pwd"),
        "help and history go to stderr: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_stdout_is_only_json_for_fleet_builtins() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(2).await;
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--json"])
        .stdin(format!(
            "help\nhelp ls\npwd\nhistory\nhosts\nqueue\nlibrary\ndrop {}\nhosts\n",
            aids[1]
        ))
        .run()
        .await;
    out.expect_code(0);
    let objects = out.json_lines();
    let hosts: Vec<&Value> = objects
        .iter()
        .filter(|o| o.get("state").is_some())
        .collect();
    assert_eq!(
        hosts.len(),
        4,
        "two `hosts`, two hosts each: {}",
        out.stdout()
    );
    assert!(
        hosts
            .iter()
            .all(|h| h["aid"].is_string() && h["host"].is_string())
    );
    assert_eq!(
        hosts
            .iter()
            .filter(|h| h["state"] == "dropped" && h["aid"] == aids[1].as_str())
            .count(),
        1
    );
    assert_eq!(objects.iter().filter(|o| o["command"] == "pwd").count(), 2);
    assert!(out.stderr.contains("RTR commands"), "{}", out.stderr);
    assert!(out.stderr.contains("no queued commands"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_dry_run_is_json_too() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(2).await;
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--json", "--dry-run"])
        .stdin("pwd\nrm C:\\x\nhosts\n")
        .run()
        .await;
    out.expect_code(0);
    let objects = out.json_lines();
    assert_eq!(
        objects
            .iter()
            .filter(|o| o.get("last_seen").is_some())
            .count(),
        2
    );
    let rm = objects
        .iter()
        .find(|o| o["command"] == "rm C:\\x")
        .expect("a plan for rm");
    assert_eq!(rm["tier"], "active-responder");
    assert_eq!(rm["hosts"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_queue_lists_each_queued_command_as_an_object() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_aids(3).await;
    let off = env.offline_aid().await;
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--queue-offline", "--json"])
        .stdin("pwd\nqueue\n")
        .run()
        .await;
    out.expect_code(0);
    let objects = out.json_lines();
    let queued: Vec<&Value> = objects
        .iter()
        .filter(|o| o.get("queued_at").is_some())
        .collect();
    assert_eq!(queued.len(), 1, "{}", out.stdout());
    assert_eq!(queued[0]["aid"], off.as_str());
    assert_eq!(queued[0]["command"], "pwd");
    assert_eq!(queued[0]["result"], "waiting");
    assert!(queued[0]["cloud_request_id"].is_string());
}
