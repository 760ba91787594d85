//! Stdin from a pipe runs each line as it arrives (a program feeding lines, `tail -f cmds |
//! rtrsh ...`), each line checked before it is sent; stdin from a file is a script, checked
//! whole first.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::shell::{executed, rtrsh, script_on};
use crate::support::{TestEnv, fast};

/// Waits until `aid`'s command log holds `n` commands.
async fn wait_for_commands(env: &TestEnv, aid: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let log = executed(&env.stats().await, aid);
        if log.len() >= n {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited for {n} commands, have {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_lines_run_as_they_arrive_and_a_bad_one_stops_the_stream() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]);
    let mut child = sh
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning rtrsh");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"pwd\n").expect("first line");
    stdin.flush().expect("flush");
    // The first line ran while stdin is still open: nothing waited for its end.
    assert_eq!(wait_for_commands(&env, &aid, 1).await, ["pwd"]);
    stdin
        .write_all(b"lss\n# a comment\ncd Windows\n")
        .expect("more lines");
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused line: exit 2\n{stderr}"
    );
    assert!(stderr.contains("stdin:2:1:"), "{stderr}");
    assert!(stderr.contains("stopped at this line"), "{stderr}");
    assert_eq!(
        executed(&env.stats().await, &aid),
        ["pwd"],
        "the line before the refused one ran; none after it (they may depend on it)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_from_a_file_is_checked_whole_before_anything_runs() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = script_on(&env, "DESKTOP-01", "pwd\nlss\ncd Windows\n").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("stdin:2:1:"), "{}", out.stderr);
    assert!(executed(&env.stats().await, &aid).is_empty(), "nothing ran");
    // The same lines piped: the first runs as it arrives, the stream stops at the bad one.
    let piped = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .stdin_pipe("pwd\nlss\ncd Windows\n")
        .run()
        .await;
    assert_eq!(piped.code, 2, "{}", piped.stderr);
    assert_eq!(executed(&env.stats().await, &aid), ["pwd"]);
}
