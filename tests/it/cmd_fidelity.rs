//! What the real API does that a naive client misses (docs/protocol.md, "Script timeout",
//! "Download readiness" and "Errors"), through the `rtrsh` binary against the emulator:
//! - a script without `-Timeout` would be stopped after the sensor's 30 s: rtrsh appends one
//!   matched to its own wait, and reports a script stopped by the `-Timeout` the user gave;
//! - a retrieved file's hash shows before the file has moved to the cloud and the download is
//!   refused until then: rtrsh asks again and the file still arrives, verified;
//! - a missing put-file, a wrong cloud-script name and a policy that disables `runscript` are API
//!   errors (40408, 40006; 40412 per host in batch replies), each shown with a hint.

use std::time::Duration;

use rtrsh_emulator::EmulatorConfig;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fleet_harness;
use crate::support::shell::rtrsh;
use crate::support::{TestEnv, fast};

const HOSTS_FILE: &str = r"C:\Windows\System32\drivers\etc\hosts";
const CONTENTS: &str = "GET /real-time-response/entities/extracted-file-contents/v1";
/// A script that sleeps 60 s of host time (600 ms at a 0.01 time scale), then finishes: longer
/// than the sensor's default 30 s `-Timeout`.
const LONG_SCRIPT: &str =
    "runscript -Raw=```Write-Output begun; Start-Sleep -Seconds 60; Write-Output finished```";

/// Host time runs 100 times faster: 60 s of `Start-Sleep` take 600 ms, the default 30 s
/// `-Timeout` 300 ms.
fn scripts_fast() -> EmulatorConfig {
    EmulatorConfig {
        script_time_scale: 0.01,
        ..fast()
    }
}

/// The command lines the emulator ran, in order.
fn command_lines(stats: &Value) -> Vec<String> {
    stats["command_log"]
        .as_array()
        .expect("command_log")
        .iter()
        .map(|c| c["command_string"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_script_without_timeout_runs_to_completion_on_one_host() {
    let env = TestEnv::start(scripts_fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "-c", LONG_SCRIPT])
        .run()
        .await;
    out.expect_code(0);
    assert_eq!(out.stdout(), "begun\nfinished\n", "{}", out.stderr);
    // rtrsh's wait (--command-timeout, 15 min) became the script's limit.
    assert_eq!(
        command_lines(&env.stats().await),
        vec![format!("{LONG_SCRIPT} -Timeout=900")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_past_its_own_timeout_is_reported_as_cut_off_on_one_host() {
    let env = TestEnv::start(scripts_fast()).await;
    let line = format!("{LONG_SCRIPT} -Timeout=5");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "-c", &line])
        .run()
        .await;
    out.expect_code(1);
    assert_eq!(out.stdout(), "begun\n");
    assert!(
        out.stderr
            .contains("the script was stopped by its time limit (-Timeout=5 seconds)"),
        "{}",
        out.stderr
    );
    // The user's own -Timeout is sent as given, and nothing is appended.
    assert_eq!(command_lines(&env.stats().await), vec![line]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_on_a_fleet_get_the_batch_window_and_cut_offs_are_reported() {
    let env = TestEnv::start(scripts_fast()).await;
    let aids = env.online_windows_aids(2).await;
    let short = format!("{LONG_SCRIPT} -Timeout=5");
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--batch-timeout", "120s"])
        .commands([LONG_SCRIPT, &short])
        .run()
        .await;
    out.expect_code(1);
    // The long script finished on both hosts (one group of identical output)...
    assert!(
        out.stdout().contains("begun\nfinished\n"),
        "{}",
        out.stdout()
    );
    // ...and the short one was stopped on both, said once for the two.
    assert!(
        out.stderr.contains("on 2 hosts (")
            && out
                .stderr
                .contains("the script was stopped by its time limit (-Timeout=5 seconds)"),
        "{}",
        out.stderr
    );
    let lines = command_lines(&env.stats().await);
    let appended = format!("{LONG_SCRIPT} -Timeout=118");
    assert_eq!(
        lines.iter().filter(|l| **l == appended).count(),
        2,
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| **l == short).count(),
        2,
        "{lines:?}"
    );
}

/// The SHA-256 of a file on a host, as the emulator holds it.
async fn host_sha(env: &TestEnv, aid: &str, path: &str) -> String {
    let url = reqwest::Url::parse_with_params(
        &env.url(&format!("/_emulator/hosts/{aid}/file")),
        &[("path", path)],
    )
    .expect("url");
    let body = env
        .raw_http(false)
        .get(url)
        .send()
        .await
        .expect("file")
        .bytes()
        .await
        .expect("body");
    Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `get` on one host; returns the manifest entry and how often the download was refused / served.
async fn get_hosts_file(config: EmulatorConfig) -> (Value, String, u64, u64) {
    let env = TestEnv::start(config).await;
    let aid = env.aid("DESKTOP-01").await;
    let evidence = tempfile::tempdir().expect("evidence dir");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "--evidence-dir"])
        .arg(evidence.path().to_string_lossy())
        .args(["-c", &format!("get {HOSTS_FILE}")])
        .run()
        .await;
    out.expect_code(0);
    let manifest =
        std::fs::read_to_string(evidence.path().join("DESKTOP-01").join("manifest.jsonl"))
            .expect("manifest");
    let entry: Value = serde_json::from_str(manifest.trim()).expect("one manifest line");
    let stats = env.stats().await;
    let statuses = &stats["endpoints"][CONTENTS]["statuses"];
    let n = |s: &str| statuses[s].as_u64().unwrap_or(0);
    (
        entry,
        host_sha(&env, &aid, HOSTS_FILE).await,
        n("404"),
        n("200"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_whose_download_is_refused_at_first_still_arrives_verified() {
    let (entry, sha, refused, served) = get_hosts_file(EmulatorConfig {
        cloud_move_time: Duration::from_millis(600),
        ..fast()
    })
    .await;
    assert!(refused >= 1, "the download was never refused");
    assert_eq!(served, 1);
    assert_eq!(entry["sha256"], sha.as_str());
    assert_eq!(entry["verified"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_when_the_hash_shows_only_once_downloadable_needs_no_retry() {
    let (entry, sha, refused, served) = get_hosts_file(EmulatorConfig {
        sha256_when_complete: true,
        ..fast()
    })
    .await;
    assert_eq!((refused, served), (0, 1));
    assert_eq!(entry["sha256"], sha.as_str());
    assert_eq!(entry["verified"], true);
}

/// One host: each refused line exits 1 with the API's code and its hint, and nothing ran.
async fn one_host_refusal(config: EmulatorConfig, line: &str, code: &str, hint: &str) {
    let env = TestEnv::start(config).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "-c", line])
        .run()
        .await;
    out.expect_code(1);
    assert!(out.stderr.contains(code), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("hint: {hint}")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout());
    assert!(command_lines(&env.stats().await).is_empty());
}

const NAME_HINT: &str = "check the name and its case with `library`";
const POLICY_HINT: &str = "the name may be wrong (check the name and its case with `library`), or a policy may disable runscript";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_on_one_host_come_with_a_hint() {
    one_host_refusal(
        fast(),
        "put missing.exe",
        "Put file not found by name (40408)",
        NAME_HINT,
    )
    .await;
    one_host_refusal(
        fast(),
        "runscript -CloudFile=get-triage",
        "command is not valid (40006)",
        POLICY_HINT,
    )
    .await;
    one_host_refusal(
        EmulatorConfig {
            runscript_disabled: true,
            ..fast()
        },
        "runscript -CloudFile=Get-Triage",
        "command is not valid (40006)",
        POLICY_HINT,
    )
    .await;
}

/// A fleet: every host fails with the per-host code (in `--json` records too) and one hint.
async fn fleet_refusal(config: EmulatorConfig, line: &str, code: i64, message: &str, hint: &str) {
    let env = TestEnv::start(config).await;
    let aids = env.online_windows_aids(2).await;
    let out = fleet_harness::rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--json"])
        .commands([line])
        .run()
        .await;
    out.expect_code(1);
    let records = out.json_lines();
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        assert_eq!(r["status"], "error", "{r}");
        assert_eq!(r["exit"]["error_code"], code, "{r}");
        assert!(
            r["exit"]["error"]
                .as_str()
                .is_some_and(|e| e.contains(message)),
            "{r}"
        );
    }
    assert!(
        out.stderr.contains("rtrsh: failed on 2 hosts ("),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches(&format!("rtrsh: hint: {hint}")).count(),
        1,
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_on_a_fleet_are_per_host_with_a_hint() {
    fleet_refusal(
        fast(),
        "put missing.exe",
        40412,
        "The file missing.exe could not be found",
        NAME_HINT,
    )
    .await;
    fleet_refusal(
        fast(),
        "runscript -CloudFile=get-triage",
        40412,
        "The file get-triage could not be found",
        NAME_HINT,
    )
    .await;
    fleet_refusal(
        EmulatorConfig {
            runscript_disabled: true,
            ..fast()
        },
        "runscript -CloudFile=Get-Triage",
        40006,
        "command is not valid",
        POLICY_HINT,
    )
    .await;
}
