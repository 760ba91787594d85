//! The fleet shell in scripts, against the emulator: an analyst runs lines on 1, 3 and 100 hosts
//! and every host's output is accounted for exactly once (proved from the emulator's
//! `command_log`), identical outputs are grouped, offline hosts are reported or queued, the
//! write-tier confirmation rule holds, and exit codes tell what happened.

use std::collections::{HashMap, HashSet};

use rtrsh_command::Tier;
use rtrsh_emulator::{ChunkModel, EmulatorConfig};
use serde_json::Value;

use crate::fleet_harness::{batch_log, rtrsh};
use crate::support::shell::Out;
use crate::support::{TestEnv, assert_no_violations, endpoint_count, fast};

const AR_BATCH: &str = "POST /real-time-response/combined/batch-active-responder-command/v1";
const INIT_BATCH: &str = "POST /real-time-response/combined/batch-init-session/v1";

/// Every host of `out`'s JSON records appears once, and each record's cloud_request_id is a
/// batch command of `command` logged exactly once for that host.
fn assert_each_host_once(out: &Out, stats: &Value, command: &str) -> Vec<Value> {
    let records: Vec<Value> = out
        .json_lines()
        .into_iter()
        .filter(|r| r["command"] == command)
        .collect();
    let log = batch_log(stats, command);
    let mut per_aid: HashMap<&str, usize> = HashMap::new();
    for (aid, _) in &log {
        *per_aid.entry(aid.as_str()).or_default() += 1;
    }
    assert!(
        per_aid.values().all(|&n| n == 1),
        "a host ran {command:?} twice: {per_aid:?}"
    );
    let logged: HashMap<&str, &str> = log.iter().map(|(a, c)| (a.as_str(), c.as_str())).collect();
    let mut seen = HashSet::new();
    for r in &records {
        let aid = r["aid"].as_str().expect("aid");
        assert!(seen.insert(aid), "two records for {aid}");
        assert_eq!(
            logged.get(aid).copied(),
            r["cloud_request_id"].as_str(),
            "record of {aid} does not match the command log"
        );
    }
    assert_eq!(records.len(), log.len(), "records vs command log");
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_through_a_filter() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args([
            "--filter",
            "hostname:'DESKTOP-01'",
            "--json",
            "--no-transcript",
        ])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(0);
    assert!(out.stderr.contains("1 host matched"), "{}", out.stderr);
    let stats = env.stats().await;
    let recs = assert_each_host_once(&out, &stats, "pwd");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["host"], "DESKTOP-01");
    assert_eq!(recs[0]["status"], "ok");
    assert_eq!(recs[0]["stdout"], "C:\\");
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_identical_output_is_grouped_and_cd_moves_the_prompt() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(3).await;
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript"])
        .commands(["cd C:\\Windows", "ps", "pwd"])
        .run()
        .await;
    out.expect_code(0);
    let headers = out.headers();
    // `cd` and `pwd` print the same on all three: one section each.
    let same: Vec<&String> = headers
        .iter()
        .filter(|h| h.starts_with("same output on 3 hosts: "))
        .collect();
    assert_eq!(same.len(), 2, "{headers:?}");
    assert_eq!(
        out.stdout().matches("C:\\Windows\n").count(),
        2,
        "{}",
        out.stdout()
    );
    // Every host accounted for once per command: 3 commands x 3 hosts.
    assert_eq!(out.hosts_in_sections(), 9, "{headers:?}");
    assert_eq!(
        out.stderr.matches("3 hosts: 3 succeeded").count(),
        3,
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    for cmd in ["cd C:\\Windows", "ps", "pwd"] {
        let log = batch_log(&stats, cmd);
        let hosts: HashSet<&str> = log.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(log.len(), 3, "{cmd}");
        assert_eq!(hosts, aids.iter().map(String::as_str).collect(), "{cmd}");
    }
    // One batch session for three hosts; nothing polled one by one (all output fit chunk 0).
    assert_eq!(endpoint_count(&stats, INIT_BATCH), 1);
    assert_eq!(
        endpoint_count(&stats, "GET /real-time-response/entities/command/v1"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_hosts_every_output_once_and_offline_hosts_reported() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 100,
        offline_share: 0.0,
        ..fast()
    })
    .await;
    let online: HashSet<String> = env.all_online_aids().await.into_iter().collect();
    let offline = 100 - online.len();
    assert!(offline >= 1, "the world has offline hosts");
    // Text output: every host in a section exactly once, hostile output neutralised.
    let text = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--no-transcript",
        ])
        .commands(["ps"])
        .run()
        .await;
    // Offline hosts were skipped: not every host ran the command.
    text.expect_code(1);
    assert!(text.stderr.contains("100 hosts matched"), "{}", text.stderr);
    assert!(
        text.stderr
            .contains(&format!("skipping {offline} offline host")),
        "{}",
        text.stderr
    );
    assert_eq!(text.hosts_in_sections(), online.len());
    assert!(!text.stdout().contains('\x1b') && !text.stderr.contains('\x1b'));
    // JSON: one record per online host, matching the command log one to one.
    env.reset_stats().await;
    let json = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--no-transcript",
            "--json",
        ])
        .commands(["ps"])
        .run()
        .await;
    json.expect_code(1);
    let stats = env.stats().await;
    let recs = assert_each_host_once(&json, &stats, "ps");
    let aids: HashSet<String> = recs
        .iter()
        .map(|r| r["aid"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(aids, online);
    assert!(
        recs.iter()
            .all(|r| r["status"] == "ok" || r["host"] == "HOSTILE-01")
    );
    // The text is each host's whole output, as the API has it.
    let api = env.api();
    for r in recs.iter().take(3) {
        let crid = r["cloud_request_id"].as_str().expect("crid");
        let (stdout, _, _) = api.read_all(Tier::ReadOnly, crid).await;
        assert_eq!(r["stdout"].as_str(), Some(stdout.as_str()));
    }
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_larger_than_a_chunk_is_complete_under_every_chunk_model() {
    for model in [ChunkModel::Next, ChunkModel::Echo, ChunkModel::Splunk] {
        let env = TestEnv::start(EmulatorConfig {
            chunk_size: 700,
            chunk_model: model,
            ..fast()
        })
        .await;
        let aids = env.online_aids(3).await;
        let out = rtrsh(&env)
            .aids(&aids)
            .args(["--json", "--no-transcript"])
            .commands(["ps"])
            .run()
            .await;
        out.expect_code(0);
        let stats = env.stats().await;
        let recs = assert_each_host_once(&out, &stats, "ps");
        assert_eq!(recs.len(), 3);
        let api = env.api();
        for r in &recs {
            let crid = r["cloud_request_id"].as_str().expect("crid");
            let (stdout, _, chunks) = api.read_all(Tier::ReadOnly, crid).await;
            assert!(chunks > 1, "{model:?}: ps should span several chunks");
            assert_eq!(r["stdout"].as_str(), Some(stdout.as_str()), "{model:?}");
            // Chunk 0 came with the batch reply: never fetched again by rtrsh.
            let polls = &stats["commands"][crid]["polls_by_sequence"];
            assert!(
                polls.get("0").is_none(),
                "{model:?}: chunk 0 re-fetched: {polls}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_host_is_skipped_without_queueing() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_aids(3).await;
    // The second of these goes offline.
    let off = env.offline_aid().await;
    assert!(aids.contains(&off));
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--json"])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("skipping 1 offline host"),
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    let log = batch_log(&stats, "pwd");
    assert!(log.iter().all(|(a, _)| *a != off));
    assert_eq!(out.json_lines().len(), aids.len() - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_commands_for_an_offline_host_arrive_in_queue() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_aids(3).await;
    // The second of these goes offline.
    let off = env.offline_aid().await;
    assert!(aids.contains(&off));
    let hostname = env
        .hosts()
        .await
        .iter()
        .find(|h| h["aid"] == off.as_str())
        .and_then(|h| h["hostname"].as_str())
        .expect("hostname")
        .to_string();
    let running = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--queue-offline"])
        .commands(["pwd", "queue wait 60s"])
        .spawn();
    // Once the command is queued for the offline host, bring it back.
    let deadline = std::time::Instant::now() + crate::support::DEADLINE * 4;
    loop {
        let stats = env.stats().await;
        if batch_log(&stats, "pwd").iter().any(|(a, _)| *a == off) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command was never queued"
        );
        tokio::time::sleep(crate::support::ms(20)).await;
    }
    env.set_online(&off, true).await;
    let out = running.wait().await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("queued for 1 offline host"),
        "{}",
        out.stderr
    );
    // The queued result shows in its own section, and the queue table says it arrived.
    assert!(
        // Its own section, or the grouping line of an output seen above ("same output as
        // MBP-01 (above) on 1 more host: SRV-LNX-01").
        out.headers()
            .iter()
            .any(|h| *h == hostname || h.ends_with(&format!(": {hostname}"))),
        "{:?}\n{}",
        out.headers(),
        out.stderr
    );
    assert!(out.stdout().contains("arrived"), "{}", out.stdout());
    let stats = env.stats().await;
    assert_eq!(batch_log(&stats, "pwd").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_hosts_and_tiers_and_opens_nothing() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--filter", "platform_name:'Windows'", "--dry-run"])
        .commands(["ls", "rm C:\\Windows\\Temp\\x.txt"])
        .run()
        .await;
    out.expect_code(0);
    for col in [
        "hostname",
        "aid",
        "platform",
        "last seen",
        "status",
        "DESKTOP-01",
    ] {
        assert!(out.stdout().contains(col), "{col}: {}", out.stdout());
    }
    assert!(
        out.stdout().contains("ls  → read-only on "),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout()
            .contains("rm C:\\Windows\\Temp\\x.txt  → active-responder on "),
        "{}",
        out.stdout()
    );
    let bad = rtrsh(&env)
        .args(["--filter", "platform_name:'Windows'", "--dry-run"])
        .commands(["lss"])
        .run()
        .await;
    bad.expect_code(2);
    let stats = env.stats().await;
    assert_eq!(endpoint_count(&stats, INIT_BATCH), 0);
    assert!(stats["command_log"].as_array().is_none_or(|a| a.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_commands_on_more_hosts_than_the_threshold_need_yes_in_scripts() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(4).await;
    let line = "rm C:\\Windows\\Temp\\nothing.txt";
    let refused = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--confirm-threshold", "3"])
        .commands([line, "pwd"])
        .run()
        .await;
    refused.expect_code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let stats = env.stats().await;
    assert_eq!(
        endpoint_count(&stats, AR_BATCH),
        0,
        "no API call for a refused line"
    );
    // The rest of the script still ran.
    assert_eq!(batch_log(&stats, "pwd").len(), 4);

    let yes = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--confirm-threshold", "3", "--yes"])
        .commands([line])
        .run()
        .await;
    // Removing a file that does not exist fails on every host: exit 1.
    yes.expect_code(1);
    assert_eq!(endpoint_count(&env.stats().await, AR_BATCH), 1);

    let under = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript"])
        .commands([line])
        .run()
        .await;
    under.expect_code(1);
    assert_eq!(endpoint_count(&env.stats().await, AR_BATCH), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_what_happened() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(2).await;
    let ok = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript"])
        .commands(["pwd"])
        .run()
        .await;
    ok.expect_code(0);
    let failed = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript"])
        .commands(["cat C:\\does-not-exist.txt"])
        .run()
        .await;
    failed.expect_code(1);
    assert!(failed.stderr.contains("2 failed"), "{}", failed.stderr);
    let usage = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript"])
        .commands(["lss", "pwd"])
        .run()
        .await;
    usage.expect_code(2);
    let auth = rtrsh(&env)
        .aids(&aids)
        .env("FALCON_CLIENT_SECRET", "wrong")
        .args(["--no-transcript"])
        .commands(["pwd"])
        .run()
        .await;
    auth.expect_code(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_drop_and_hosts_and_one_transcript_entry_per_host() {
    let env = TestEnv::start(fast()).await;
    let aids = env.online_windows_aids(3).await;
    let names: Vec<String> = {
        let hosts = env.hosts().await;
        aids.iter()
            .map(|a| {
                hosts
                    .iter()
                    .find(|h| h["aid"] == a.as_str())
                    .and_then(|h| h["hostname"].as_str())
                    .expect("hostname")
                    .to_string()
            })
            .collect()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let transcript = dir.path().join("fleet.jsonl");
    let script = format!(
        "only {} pwd\ndrop {}\npwd\nhosts\nexit\npwd\n",
        names[0], names[1]
    );
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--transcript", transcript.to_str().expect("utf-8 path")])
        .stdin(script)
        .run()
        .await;
    out.expect_code(0);
    let stats = env.stats().await;
    let pwd: Vec<String> = batch_log(&stats, "pwd")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    // `only` ran on one host, the next pwd on the two left; nothing after `exit`.
    assert_eq!(pwd.len(), 3, "{pwd:?}");
    assert_eq!(pwd.iter().filter(|a| **a == aids[0]).count(), 2);
    assert!(!pwd.contains(&aids[1]));
    assert!(out.stdout().contains("dropped"), "{}", out.stdout());
    let entries: Vec<Value> = std::fs::read_to_string(&transcript)
        .expect("transcript")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let commands: Vec<&Value> = entries.iter().filter(|e| e["event"] == "command").collect();
    assert_eq!(commands.len(), 3, "one entry per host per command");
    assert!(commands.iter().all(|e| e["stdout_sha256"].is_string()));
    assert!(entries.iter().any(|e| {
        e["event"] == "note"
            && e["note"]
                .as_str()
                .is_some_and(|n| n.contains("session_open: batch"))
    }));
    assert!(entries.iter().any(|e| e["event"] == "session_close"));
}
