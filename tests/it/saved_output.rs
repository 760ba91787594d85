//! Saved output: each host's full output in a private log per host and run, byte for byte, as
//! it arrived; `--output-dir` puts the logs elsewhere, `--no-save-output` keeps none.

use std::path::{Path, PathBuf};

use crate::support::shell::{file_bytes, rtrsh};
use crate::support::{TestEnv, fast};

const BIG_1MB: &str = r"C:\Logs\big-1mb.log";

/// Every `*.log` under `dir`, at any depth.
fn logs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "log") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The stdout a log holds for the command `line` (between its header and `----- stderr` or
/// its end line), and how it ended.
fn section<'a>(log: &'a [u8], line: &str) -> (&'a [u8], String) {
    let head = format!(" $ {line}\n");
    let at = log
        .windows(head.len())
        .position(|w| w == head.as_bytes())
        .unwrap_or_else(|| panic!("no section for {line:?}"));
    let body = &log[at + head.len()..];
    let end = b"===== end: ";
    let stop = body
        .windows(end.len())
        .position(|w| w == end)
        .expect("an end line");
    let how = String::from_utf8_lossy(&body[stop + end.len()..])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let out = &body[..stop];
    let out = match out.windows(14).position(|w| w == b"----- stderr\n") {
        Some(s) => &out[..s],
        None => out,
    };
    (out, how)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_on_three_hosts_leaves_each_hosts_full_output_in_its_log() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rtrsh(&env)
        .hosts(["DESKTOP-01", "SRV-LNX-01", "MBP-01"])
        .args(["--json", "--output-dir"])
        .args([dir.path().to_str().expect("utf-8 path")])
        .args(["-c", "ps", "-c", "pwd"])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let logs = logs_under(dir.path());
    assert_eq!(logs.len(), 3, "one log per host: {logs:?}");
    // The JSON records, output included, as --json wrote them.
    let kept = std::fs::read_to_string(dir.path().join("records.jsonl")).expect("records");
    let kept: Vec<serde_json::Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let shown = out.json_lines();
    assert_eq!(kept.len(), shown.len(), "{kept:?}");
    for rec in &shown {
        let same = kept
            .iter()
            .find(|k| k["aid"] == rec["aid"] && k["command"] == rec["command"])
            .unwrap_or_else(|| panic!("no record for {rec}"));
        assert_eq!(same["stdout"], rec["stdout"]);
        assert_eq!(same["status"], rec["status"]);
    }
    for rec in out.json_lines() {
        let host = rec["host"].as_str().expect("host");
        let aid = rec["aid"].as_str().expect("aid");
        let line = rec["command"].as_str().expect("command");
        let path = dir.path().join(format!("{host}-{}.log", &aid[..8]));
        let log = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (saved, how) = section(&log, line);
        let want = rec["stdout"].as_str().expect("stdout").as_bytes();
        // A newline ends the section when the output did not.
        let saved = saved
            .strip_suffix(b"\n")
            .filter(|_| !want.ends_with(b"\n"))
            .unwrap_or(saved);
        assert_eq!(saved, want, "{host} {line}");
        assert_eq!(how, "ok");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "private");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_saves_a_chunked_megabyte_byte_for_byte_under_the_data_dir() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "-c", &format!("cat {BIG_1MB}")]);
    let out = sh.run().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let logs = logs_under(&sh.home().join(".local/share/rtrsh/output"));
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read(&logs[0]).expect("log");
    let (saved, how) = section(&log, &format!("cat {BIG_1MB}"));
    let want = file_bytes(&env, &aid, BIG_1MB).await;
    assert_eq!(saved.len(), want.len(), "every byte");
    assert!(saved == want.as_slice(), "byte for byte");
    assert_eq!(how, "ok");
    let records = logs[0].with_file_name("records.jsonl");
    let kept = std::fs::read_to_string(&records).expect("records.jsonl");
    let rec: serde_json::Value = serde_json::from_str(kept.trim_end()).expect("one JSON line");
    assert_eq!(
        rec["stdout"].as_str().map(str::as_bytes),
        Some(want.as_slice()),
        "the record holds the output too"
    );

    let none = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-save-output", "-c", "pwd"]);
    let out = none.run().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        logs_under(&none.home().join(".local/share/rtrsh")).is_empty(),
        "--no-save-output keeps nothing"
    );
}

/// Over 1,000 hosts, every host's sections go to one `hosts.log` (no file per host), each
/// headed by its host; `records.jsonl` still has every output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_over_a_thousand_hosts_shares_one_log() {
    let env = TestEnv::start(rtrsh_emulator::EmulatorConfig {
        hosts: 1_100,
        offline_share: 0.0,
        rate_limit: 0,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--json",
            "--no-transcript",
            "--output-dir",
        ])
        .args([dir.path().to_str().expect("utf-8 path")])
        .args(["-c", "pwd"])
        .run()
        .await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let answered = out.json_lines().len();
    assert!(answered > 1_000, "{answered}");
    let logs = logs_under(dir.path());
    assert_eq!(logs, vec![dir.path().join("hosts.log")], "one log");
    let log = std::fs::read_to_string(&logs[0]).expect("log");
    assert_eq!(
        log.matches(" $ pwd\n").count(),
        answered,
        "a section per host"
    );
    assert_eq!(log.matches("===== end: ").count(), answered);
    for rec in out.json_lines().iter().take(20) {
        let host = rec["host"].as_str().expect("host");
        assert!(log.contains(&format!(" {host} (aid ")), "{host}");
    }
    let kept = std::fs::read_to_string(dir.path().join("records.jsonl")).expect("records");
    assert_eq!(kept.lines().count(), answered);
}
