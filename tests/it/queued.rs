//! Commands queued for an offline host are followed the SDKs' way (FalconPy
//! `queued_execute.py`, PSFalcon `Get-FalconQueue`): the queued-sessions endpoint first, and a
//! command's status only once it is no longer `PENDING`. Whatever a status check of a command
//! that has not run yet answers (undocumented: each reading of the emulator is played), an early
//! check leaves the command queued, and its output arrives when the host comes back.

use std::time::Instant;

use rtrsh_emulator::{EmulatorConfig, QueuedStatus};
use serde_json::Value;

use crate::fleet_harness::{batch_log, rtrsh};
use crate::support::{DEADLINE, TestEnv, endpoint_count, fast, ms};

const QUEUED_SESSIONS: &str = "POST /real-time-response/entities/queued-sessions/GET/v1";
/// Status checks, answered or not (`pwd` output fits the batch reply: nothing else asks).
const STATUS: &str = "GET /real-time-response/entities/command/v1";

/// Polls of one command (status checks), from the emulator's counters.
fn polls(stats: &Value, crid: &str) -> u64 {
    stats["commands"][crid]["polls"].as_u64().unwrap_or(0)
}

async fn an_early_check_leaves_the_command_queued_and_its_output_arrives(reading: QueuedStatus) {
    let env = TestEnv::start(EmulatorConfig {
        queued_status: reading,
        ..fast()
    })
    .await;
    let aids = env.online_aids(2).await;
    let off = env.offline_aid().await;
    assert!(aids.contains(&off));
    let running = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--queue-offline"])
        .commands(["pwd", "queue", "queue wait 60s"])
        .spawn();
    // The command is queued, and checked while its host is still away.
    let start = Instant::now();
    let (crid, stats) = loop {
        let stats = env.stats().await;
        let queued = batch_log(&stats, "pwd")
            .into_iter()
            .find(|(a, _)| *a == off)
            .map(|(_, id)| id);
        if let Some(id) = queued
            && (endpoint_count(&stats, QUEUED_SESSIONS) > 0 || endpoint_count(&stats, STATUS) > 0)
        {
            break (id, stats);
        }
        assert!(start.elapsed() < DEADLINE * 2, "never queued and checked");
        tokio::time::sleep(ms(20)).await;
    };
    assert_eq!(
        endpoint_count(&stats, STATUS),
        0,
        "no status check while the queued-sessions endpoint says PENDING"
    );
    env.set_online(&off, true).await;
    let out = running.wait().await;
    out.expect_code(0);
    assert!(
        out.stdout().contains("waiting"),
        "the early check left it queued: {}\n{}",
        out.stdout(),
        out.stderr
    );
    assert!(
        out.stdout().contains("arrived"),
        "{}\n{}",
        out.stdout(),
        out.stderr
    );
    let stats = env.stats().await;
    assert!(polls(&stats, &crid) > 0, "its output was fetched");
    assert_eq!(
        batch_log(&stats, "pwd").len(),
        2,
        "each host ran it once: {:?}",
        batch_log(&stats, "pwd")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_check_of_a_queued_command_reading_pending_keeps_it_queued() {
    an_early_check_leaves_the_command_queued_and_its_output_arrives(QueuedStatus::Pending).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_check_of_a_queued_command_reading_not_found_keeps_it_queued() {
    an_early_check_leaves_the_command_queued_and_its_output_arrives(QueuedStatus::NotFound).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_check_of_a_queued_command_reading_sensor_offline_keeps_it_queued() {
    an_early_check_leaves_the_command_queued_and_its_output_arrives(QueuedStatus::SensorOffline)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_command_whose_session_expired_is_reported_as_such_and_never_runs() {
    // Queued sessions live 300 ms here (7 days in the real API).
    let env = TestEnv::start(EmulatorConfig {
        queued_session_lifetime: ms(300),
        ..fast()
    })
    .await;
    let aids = env.online_aids(2).await;
    let off = env.offline_aid().await;
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--queue-offline"])
        .commands(["pwd", "queue wait 60s"])
        .run()
        .await;
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("queued command EXPIRED"),
        "{}\n{}",
        out.stdout(),
        out.stderr
    );
    env.set_online(&off, true).await;
    let stats = env.stats().await;
    let crid = batch_log(&stats, "pwd")
        .into_iter()
        .find(|(a, _)| *a == off)
        .map(|(_, id)| id)
        .expect("queued");
    assert_eq!(polls(&stats, &crid), 0, "never fetched");
    let r = env
        .api()
        .status(rtrsh_command::Tier::ReadOnly, &crid, 0)
        .await;
    assert_eq!(r.first()["complete"], false, "it never ran");
    assert_eq!(stats["hosts"][&off]["commands"], 1, "sent once");
}
