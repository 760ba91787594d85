//! The fleet shell at scale: 10,000 hosts with one command, and a tight rate limit with
//! nothing lost and nothing sent twice.

use std::collections::HashSet;

use rtrsh_emulator::EmulatorConfig;

use crate::fleet_harness::{batch_log, rtrsh};
use crate::support::{TestEnv, fast, ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hosts_one_command_every_host_once() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 10_000,
        latency: ms(1),
        ..fast()
    })
    .await;
    let online: HashSet<String> = env.all_online_aids().await.into_iter().collect();
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--json",
            "--no-transcript",
        ])
        .commands(["pwd"])
        .run()
        .await;
    // The world's offline hosts were skipped: exit 1, and they are named.
    out.expect_code(1);
    assert!(out.stderr.contains("10000 hosts matched"), "{}", out.stderr);
    let offline = 10_000 - online.len();
    assert!(
        out.stderr
            .contains(&format!("skipping {offline} offline hosts")),
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    let log = batch_log(&stats, "pwd");
    let logged: HashSet<&str> = log.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(log.len(), logged.len(), "a host ran pwd twice");
    assert_eq!(logged.len(), online.len());
    let records = out.json_lines();
    assert_eq!(records.len(), online.len());
    // The summary counts each output once across all batches (an output of many batches too).
    let distinct: HashSet<&str> = records
        .iter()
        .filter_map(|r| r["stdout"].as_str())
        .collect();
    let counted = if distinct.len() == 1 {
        "(1 distinct output,".to_string()
    } else {
        format!("({} distinct outputs,", distinct.len())
    };
    assert!(out.stderr.contains(&counted), "{counted}: {}", out.stderr);
    let crids: HashSet<&str> = log.iter().map(|(_, c)| c.as_str()).collect();
    assert!(records.iter().all(
        |r| r["status"] == "ok" && crids.contains(r["cloud_request_id"].as_str().unwrap_or(""))
    ));
    // 10,000 ids: 2 detail requests, 100 online-state requests, batches of `BATCH_HOSTS`.
    let count = |e: &str| crate::support::endpoint_count(&stats, e);
    assert_eq!(count("POST /devices/entities/devices/v2"), 2);
    assert_eq!(count("GET /devices/entities/online-state/v1"), 100);
    assert_eq!(
        count("POST /real-time-response/combined/batch-command/v1"),
        online
            .len()
            .div_ceil(rtrsh_client::session::fleet::BATCH_HOSTS) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_requests_wait_and_nothing_is_lost_or_repeated() {
    // 12 requests a minute: the script needs more, so some get 429 and wait for the window.
    let env = TestEnv::start(EmulatorConfig {
        rate_limit: 12,
        ..fast()
    })
    .await;
    let aids = env.online_windows_aids(3).await;
    let lines = [
        "pwd", "ls", "ps", "env", "ipconfig", "netstat", "pwd", "ls", "ps", "env",
    ];
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--json", "--no-transcript"])
        .commands(lines)
        .run()
        .await;
    out.expect_code(0);
    let stats = env.stats().await;
    assert!(
        stats["rate_limited"].as_u64().unwrap_or(0) >= 1,
        "no 429 was provoked"
    );
    let records = out.json_lines();
    assert_eq!(records.len(), lines.len() * 3);
    for cmd in ["pwd", "ls", "ps", "env", "ipconfig", "netstat"] {
        let runs = lines.iter().filter(|l| **l == cmd).count();
        let log = batch_log(&stats, cmd);
        assert_eq!(log.len(), runs * 3, "{cmd}: every host once per line");
        assert_eq!(
            records
                .iter()
                .filter(|r| r["command"] == cmd && r["status"] == "ok")
                .count(),
            runs * 3,
            "{cmd}"
        );
    }
}
