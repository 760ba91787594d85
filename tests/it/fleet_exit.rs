//! Every session a run opened is deleted when it ends, one host or ten thousand, except
//! sessions that hold queued commands (they run when their hosts come back).

use rtrsh_emulator::EmulatorConfig;

use crate::support::shell::{Out, rtrsh};
use crate::support::{TestEnv, endpoint_count, fast};

const ALL: &str = "platform_name:['Windows','Linux','Mac']";
const DELETE: &str = "DELETE /real-time-response/entities/sessions/v1";

/// `pwd` on every host of the tenant, with `--json` records.
async fn pwd_on_every_host(env: &TestEnv) -> Out {
    rtrsh(env)
        .args(["--filter", ALL, "--no-transcript", "--json"])
        .commands(["pwd"])
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_script_leaves_no_session_open() {
    for hosts in [100, 10_000] {
        let env = TestEnv::start(EmulatorConfig {
            hosts,
            rate_limit: 0,
            ..fast()
        })
        .await;
        let out = pwd_on_every_host(&env).await;
        // Offline hosts are skipped (exit 1); every connected one answered.
        assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
        let stats = env.stats().await;
        let connected = stats["sessions"]["inits"].as_u64().unwrap_or_default();
        assert_eq!(stats["open_sessions"], 0, "{hosts} hosts: {}", out.stderr);
        assert!(
            endpoint_count(&stats, DELETE) as usize >= out.json_lines().len(),
            "{hosts} hosts: one delete per session ({connected} inits)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_leaves_no_session_open_even_after_an_error() {
    let env = TestEnv::start(fast()).await;
    // A line the host refuses, with --fail-fast: the run stops early.
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript", "--fail-fast"])
        .commands([r"cat C:\no\such\file", "pwd"])
        .run()
        .await;
    out.expect_code(1);
    assert_eq!(env.stats().await["open_sessions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_with_queued_commands_stay_open_and_the_rest_close() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 20,
        offline_share: 0.3,
        ..fast()
    })
    .await;
    let offline = env
        .hosts()
        .await
        .iter()
        .filter(|h| h["online"] == false)
        .count();
    assert!(offline > 0, "the world has offline hosts");
    let out = rtrsh(&env)
        .args([
            "--filter",
            ALL,
            "--no-transcript",
            "--queue-offline",
            "--yes",
        ])
        .commands(["pwd"])
        .run()
        .await;
    assert!(
        out.stderr
            .contains(&format!("kept {offline} sessions open")),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.stats().await["open_sessions"].as_u64(),
        Some(offline as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_batch_init_reply_leaves_no_second_set_of_sessions() {
    for fault in ["5xx-after", "drop-after"] {
        let env = TestEnv::start(EmulatorConfig {
            hosts: 8,
            offline_share: 0.0,
            ..fast()
        })
        .await;
        env.fault_once(
            "POST /real-time-response/combined/batch-init-session/v1",
            fault,
        )
        .await;
        let out = pwd_on_every_host(&env).await;
        let online = env.all_online_aids().await.len();
        assert_eq!(out.json_lines().len(), online, "{fault}: {}", out.stderr);
        let stats = env.stats().await;
        // A dropped request is counted among the faults, not the endpoint's replies.
        let inits = endpoint_count(
            &stats,
            "POST /real-time-response/combined/batch-init-session/v1",
        ) + stats["faults"]["dropped"].as_u64().unwrap_or(0);
        assert_eq!(inits, 2, "{fault}: the init was sent again once");
        assert_eq!(stats["open_sessions"], 0, "{fault}: {}", out.stderr);
    }
}
