//! An execute whose reply is lost after the command ran is recovered from the session's command
//! log, and only ever as *this* run's command: init hands a second rtrsh of the same API client
//! the session the first one still holds, so the log already has the same line, and the log
//! lags behind the execute and lists newest first (docs/protocol.md, "Session log recovery").

use std::time::{Duration, Instant};

use rtrsh_emulator::{EmulatorConfig, LogOrder};
use serde_json::{Value, json};

use crate::support::shell::{Pty, converse, executed, executions, rtrsh, sessions_of};
use crate::support::{DEADLINE, TestEnv, fast, ms};

const EXECUTE: &str = "POST /real-time-response/entities/command/v1";
const DETAILS: &str = "/real-time-response/entities/sessions/GET/v1";
const LINE: &str = r"ls C:\Windows\Temp";
/// Run 2 makes this first (on the active-responder endpoint), so its listing differs from
/// run 1's.
const MADE: &str = "made-by-run-2";
const T: Duration = Duration::from_secs(30);

/// Log entries appear 300 ms after the execute, newest first.
fn lagging_reordered_logs() -> EmulatorConfig {
    EmulatorConfig {
        session_log_lag: ms(300),
        session_log_order: LogOrder::NewestFirst,
        ..fast()
    }
}

/// The cloud_request_ids of `session_id`'s log as the API shows it now.
async fn visible_log(env: &TestEnv, session_id: &str) -> Vec<String> {
    let r = env
        .api()
        .post(DETAILS, &json!({ "ids": [session_id] }))
        .await;
    r.expect(200);
    r.first()["logs"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["cloud_request_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn a_repeated_line_in_a_second_run_recovers_its_own_output(fault: &str) {
    let env = TestEnv::start(lagging_reordered_logs()).await;
    let aid = env.aid("DESKTOP-01").await;

    // Run 1: an analyst's interactive rtrsh runs the line and stays open.
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let (first, run1) = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line(LINE);
        t.expect(r"Directory listing for C:\Windows\Temp", T);
        let shown = t.expect(r"DESKTOP-01 C:\> ", T);
        (t, shown)
    })
    .await;
    assert!(!run1.contains(MADE), "{run1:?}");
    let stats = env.stats().await;
    let sessions = sessions_of(&stats, &aid);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let sid = sessions[0].0.clone();
    let run1_id = stats["command_log"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["command_string"] == LINE))
        .and_then(|e| e["cloud_request_id"].as_str())
        .expect("run 1's execute")
        .to_string();
    // Run 2 starts once run 1's entry shows in the (lagging) log: an entry that the API does
    // not show yet cannot be told from ours when both fall in the same second or two.
    let start = Instant::now();
    while !visible_log(&env, &sid).await.contains(&run1_id) {
        assert!(start.elapsed() < DEADLINE, "run 1's log entry never showed");
        tokio::time::sleep(ms(20)).await;
    }

    // Run 2: same API client, same host: init hands it the same session. Its execute takes
    // effect and the reply is lost.
    env.fault_once(EXECUTE, fault).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "--no-transcript"])
        .commands([format!(r"mkdir C:\Windows\Temp\{MADE}"), LINE.to_string()])
        .run()
        .await;
    out.expect_code(0);
    let recs = out.json_lines();
    assert_eq!(recs.len(), 2, "{}", out.stderr);
    let rec: &Value = &recs[1];
    let stdout = rec["stdout"].as_str().unwrap_or_default();
    assert!(
        stdout.contains(MADE),
        "run 2 shows its own output, not run 1's: {stdout:?}\n{}",
        out.stderr
    );
    assert_ne!(rec["cloud_request_id"], run1_id.as_str());
    assert!(
        out.stderr.contains("the session log shows it ran"),
        "{}",
        out.stderr
    );

    let stats = env.stats().await;
    let faults = &stats["faults"];
    assert_eq!(
        faults["dropped"].as_u64().unwrap_or(0) + faults["http_5xx"].as_u64().unwrap_or(0),
        1,
        "the execute's reply was lost: {faults}"
    );
    assert_eq!(sessions_of(&stats, &aid).len(), 1, "the session was shared");
    assert_eq!(
        executions(&stats, &aid, LINE),
        2,
        "once per run, never re-sent: {:?}",
        executed(&stats, &aid)
    );
    let run2_id = stats["command_log"]
        .as_array()
        .and_then(|l| l.iter().rfind(|e| e["command_string"] == LINE))
        .and_then(|e| e["cloud_request_id"].as_str())
        .expect("run 2's execute");
    assert_eq!(rec["cloud_request_id"], run2_id);

    let code = converse(move || {
        let mut t = first;
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_execute_reply_in_a_second_run_recovers_that_runs_output_not_the_first() {
    a_repeated_line_in_a_second_run_recovers_its_own_output("drop-after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_after_the_execute_in_a_second_run_recovers_that_runs_output_not_the_first() {
    a_repeated_line_in_a_second_run_recovers_its_own_output("5xx-after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_of_the_line_after_the_session_opened_are_not_told_apart_and_nothing_is_resent() {
    let env = TestEnv::start(EmulatorConfig {
        session_log_order: LogOrder::NewestFirst,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let t = converse(move || {
        let t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t
    })
    .await;
    // Another run of the same API client runs the line on the shared session after this one
    // opened it: its entry is not in the log as it was at open, and is seconds-close to ours.
    let stats = env.stats().await;
    let sid = sessions_of(&stats, &aid)[0].0.clone();
    env.api()
        .exec_reply(rtrsh_command::Tier::ReadOnly, &sid, &aid, LINE)
        .await
        .expect(201);
    env.fault_once(EXECUTE, "drop-after").await;
    let (t, shown) = converse(move || {
        let mut t = t;
        t.line(LINE);
        let shown = t.expect(r"DESKTOP-01 C:\> ", T);
        (t, shown)
    })
    .await;
    assert!(shown.contains("may or may not have run"), "{shown:?}");
    assert!(
        !shown.contains("Directory listing"),
        "no output is passed off as this command's: {shown:?}"
    );
    let stats = env.stats().await;
    assert_eq!(
        executions(&stats, &aid, LINE),
        2,
        "the other run's and ours, never re-sent: {:?}",
        executed(&stats, &aid)
    );
    let code = converse(move || {
        let mut t = t;
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
}

/// An execute whose reply failed before it reached the API: the session log never shows it.
/// A read-only command is then sent once more, with a notice; a command that writes is never
/// re-sent and is reported as one that may or may not have run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_command_that_never_arrived_is_sent_once_more_and_a_write_never() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    env.fault_once(EXECUTE, "5xx-before").await;
    let audit = tempfile::tempdir().expect("tempdir");
    let transcript = audit.path().join("audit.jsonl");
    let read = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", LINE, "--transcript"])
        .arg(transcript.display().to_string())
        .run()
        .await;
    let trail = std::fs::read_to_string(&transcript).expect("the transcript");
    assert!(
        trail.contains(r#"resent: ls C:\\Windows\\Temp"#),
        "the audit trail says it was sent twice: {trail}"
    );
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert!(
        read.stdout()
            .contains(r"Directory listing for C:\Windows\Temp"),
        "{}",
        read.stdout()
    );
    assert!(
        read.stderr.contains(
            "the session log shows it never arrived; it is read-only, so it was sent once more"
        ),
        "{}",
        read.stderr
    );
    assert_eq!(executions(&env.stats().await, &aid, LINE), 1);

    env.fault_once(
        "POST /real-time-response/entities/active-responder-command/v1",
        "5xx-before",
    )
    .await;
    let write_line = r"mkdir C:\Windows\Temp\never-twice";
    let write = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "-c", write_line])
        .run()
        .await;
    assert_eq!(write.code, 1, "{}\n{}", write.stderr, write.stdout());
    assert!(
        write.stderr.contains("may or may not have run"),
        "{}",
        write.stderr
    );
    assert_eq!(
        executions(&env.stats().await, &aid, write_line),
        0,
        "never re-sent"
    );
}
