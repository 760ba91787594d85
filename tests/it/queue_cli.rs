//! `rtrsh queue` follows commands queued for offline hosts after the run that queued them has
//! ended: waiting while the host is away, their output once it came back.

use crate::support::shell::rtrsh;
use crate::support::{TestEnv, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_commands_are_followed_across_runs() {
    let env = TestEnv::start(fast()).await;
    let away = env.aid("LAPTOP-OFF-01").await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--host", "LAPTOP-OFF-01"])
        .args(["--queue-offline", "--no-transcript"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(out.stderr.contains("kept 1 session open"), "{}", out.stderr);

    let listed = rtrsh(&env).args(["queue", "--json"]).run().await;
    listed.expect_code(0);
    let rows = listed.json_lines();
    assert_eq!(rows.len(), 1, "{rows:?}\n{}", listed.stderr);
    assert_eq!(rows[0]["host"], "LAPTOP-OFF-01");
    assert_eq!(rows[0]["command"], "pwd");
    assert_eq!(rows[0]["state"], "waiting", "{}", rows[0]);
    assert!(rows[0]["stdout"].is_null());

    // The host comes back: its queued command runs, and the next look shows the output.
    env.set_online(&away, true).await;
    let mut ran = None;
    for _ in 0..50 {
        let listed = rtrsh(&env).args(["queue", "--json"]).run().await;
        let rows = listed.json_lines();
        if rows.first().is_some_and(|r| r["state"] == "ran") {
            ran = rows.into_iter().next();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ran = ran.expect("the queued command ran");
    assert_eq!(ran["stdout"].as_str().map(str::trim), Some(r"C:\"), "{ran}");

    // Text output: a table and the output under a header.
    let text = rtrsh(&env).args(["queue"]).run().await;
    text.expect_code(0);
    let shown = text.stdout();
    assert!(
        shown.contains("LAPTOP-OFF-01") && shown.contains("=== LAPTOP-OFF-01: pwd ==="),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_at_the_single_host_prompt_shows_the_sessions_queued_commands() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args([
            "--host",
            "LAPTOP-OFF-01",
            "--queue-offline",
            "--no-transcript",
            "--json",
        ])
        .commands(["pwd", "queue"])
        .run()
        .await;
    out.expect_code(0);
    let rows = out.json_lines();
    let queued: Vec<_> = rows.iter().filter(|r| r["state"] == "waiting").collect();
    assert_eq!(queued.len(), 1, "{rows:?}\n{}", out.stderr);
    assert_eq!(queued[0]["command"], "pwd");
    assert_eq!(queued[0]["host"], "LAPTOP-OFF-01");
    // The session holding it stays open, as on many hosts.
    assert!(
        out.stderr.contains("kept the session open"),
        "{}",
        out.stderr
    );
    assert_eq!(env.stats().await["open_sessions"], 1);
}
