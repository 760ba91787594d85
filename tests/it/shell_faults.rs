//! A flaky API under a script: 5xx replies and dropped connections never make a command run
//! twice and never lose the output of one that ran; rate limits are waited out.

use std::collections::HashMap;
use std::time::Duration;

use rtrsh_emulator::{EmulatorConfig, RetryAfterUnit};
use serde_json::Value;

use crate::support::shell::{executed, executions, rtrsh, wait_for_stats};
use crate::support::{TestEnv, fast};

/// 30 distinct lines whose output does not depend on the lines before them (absolute paths),
/// so a line that never ran cannot change what the others print.
fn distinct_lines() -> Vec<String> {
    let dirs = [
        r"C:\Windows",
        r"C:\Windows\System32",
        r"C:\Windows\System32\config",
        r"C:\Windows\System32\drivers",
        r"C:\Windows\System32\drivers\etc",
        r"C:\Windows\System32\LogFiles",
        r"C:\Windows\System32\Tasks",
        r"C:\Windows\Fonts",
        r"C:\Windows\INF",
        r"C:\Windows\Logs",
        r"C:\Windows\Prefetch",
        r"C:\Windows\Temp",
        r"C:\Users",
        r"C:\Users\Public",
        r"C:\Users\Default",
    ];
    let files = [
        "advapi32.dll",
        "cmd.exe",
        "csrss.exe",
        "kernel32.dll",
        "lsass.exe",
        "ntdll.dll",
        "rundll32.exe",
        "schtasks.exe",
        "services.exe",
        "smss.exe",
        "svchost.exe",
        "taskhostw.exe",
        "whoami.exe",
        "wininit.exe",
        "winlogon.exe",
    ];
    dirs.iter()
        .zip(files)
        .flat_map(|(d, f)| {
            [
                format!("cd {d}"),
                format!(r"filehash C:\Windows\System32\{f}"),
            ]
        })
        .collect()
}

/// `--json` records by command line (each line appears once in the script).
fn by_line(recs: &[Value]) -> HashMap<String, Value> {
    recs.iter()
        .map(|r| (r["command"].as_str().unwrap_or("?").to_string(), r.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_5xx_and_dropped_connections_no_command_runs_twice_and_no_output_is_lost() {
    let lines = distinct_lines();
    let script = lines.join("\n") + "\n";

    // What each line prints on a healthy API (same seed, same world).
    let clean = TestEnv::start(fast()).await;
    let reference = rtrsh(&clean)
        .args(["--host", "DESKTOP-01", "--json"])
        .stdin(script.clone())
        .run()
        .await;
    reference.expect_code(0);
    let want = by_line(&reference.json_lines());
    assert_eq!(want.len(), lines.len());

    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let running = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "--no-transcript"])
        .stdin(script)
        .spawn();
    // Faults start once the session is open (the first command reached the host).
    wait_for_stats(&env, Duration::from_secs(20), "the first command", |s| {
        !executed(s, &aid).is_empty()
    })
    .await;
    env.set_faults(0.3, 0.1).await;
    let out = running.wait().await;
    env.set_faults(0.0, 0.0).await;
    assert!(
        [0, 1].contains(&out.code),
        "exit {}: {}",
        out.code,
        out.stderr
    );
    let stats = env.stats().await;
    let faults = &stats["faults"];
    assert!(
        faults["http_5xx"].as_u64().unwrap_or(0) + faults["dropped"].as_u64().unwrap_or(0) > 0,
        "the API did misbehave: {faults}"
    );
    let got = by_line(&out.json_lines());
    let mut ran = 0;
    for line in &lines {
        let n = executions(&stats, &aid, line);
        assert!(n <= 1, "{line:?} ran {n} times");
        match got.get(line) {
            Some(rec) if n == 1 => {
                ran += 1;
                assert_eq!(rec["status"], "ok", "{line:?} ran: {rec}");
                assert_eq!(
                    rec["stdout"], want[line]["stdout"],
                    "{line:?}: the output arrived whole"
                );
                let id = rec["cloud_request_id"].as_str().expect("id");
                assert_eq!(stats["commands"][id]["command_string"], line.as_str());
            }
            Some(rec) => {
                assert!(
                    rec["status"] == "unknown" || rec["status"] == "error",
                    "{line:?} never ran but is reported {rec}"
                );
            }
            None => panic!(
                "{line:?} has no --json record (ran {n} times); stderr:\n{}",
                out.stderr
            ),
        }
    }
    assert!(ran >= lines.len() / 2, "only {ran} of {} ran", lines.len());
    let unknown_extra: Vec<String> = executed(&stats, &aid)
        .into_iter()
        .filter(|c| !lines.contains(c))
        .collect();
    assert!(
        unknown_extra.is_empty(),
        "ran lines not in the script: {unknown_extra:?}"
    );
}

/// A script of `n` distinct `cd` lines against a CID allowed `limit` requests a minute: every
/// line runs once and succeeds, the shell waiting out the 429s. The emulator's window slides
/// over a real minute, so each 429 costs up to a minute of waiting: hence small numbers.
async fn a_rate_limited_script_succeeds(unit: RetryAfterUnit, limit: u32, n: usize) {
    let env = TestEnv::start(EmulatorConfig {
        rate_limit: limit,
        retry_after_unit: unit,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let lines: Vec<String> = distinct_lines()
        .into_iter()
        .filter(|l| l.starts_with("cd "))
        .take(n)
        .collect();
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "--no-transcript"])
        .stdin(lines.join("\n"))
        .timeout(Duration::from_secs(180))
        .run()
        .await;
    out.expect_code(0);
    let stats = env.stats().await;
    assert!(
        stats["rate_limited"].as_u64().unwrap_or(0) > 0,
        "the limit was hit"
    );
    let recs = out.json_lines();
    assert_eq!(recs.len(), lines.len());
    for (line, rec) in lines.iter().zip(&recs) {
        assert_eq!(rec["command"], line.as_str());
        assert_eq!(rec["status"], "ok", "{rec}");
        assert_eq!(executions(&stats, &aid, line), 1, "{line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow (~1 min): a real 429 waits out the emulator's 60 s sliding window"]
async fn a_rate_limited_script_waits_out_429s_retry_after_in_seconds() {
    a_rate_limited_script_succeeds(RetryAfterUnit::Seconds, 12, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow (~1 min): a real 429 waits out the emulator's 60 s sliding window"]
async fn a_rate_limited_script_waits_out_429s_retry_after_in_millis() {
    a_rate_limited_script_succeeds(RetryAfterUnit::Millis, 12, 8).await;
}
