//! A fleet command's summary accounts for every host it was meant for, and the exit code
//! agrees with it: hosts skipped as offline are "not run (offline)", and make the exit 1.

use rtrsh_emulator::EmulatorConfig;

use crate::support::shell::rtrsh;
use crate::support::{TestEnv, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_hosts_are_in_every_summary_and_the_exit_code_agrees() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 10,
        ..fast()
    })
    .await;
    let hosts = env.hosts().await;
    let offline = hosts.iter().filter(|h| h["online"] == false).count();
    let online = hosts.len() - offline;
    assert!(offline > 0, "the world has offline hosts");
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--no-transcript",
        ])
        .commands(["pwd", "ps"])
        .run()
        .await;
    out.expect_code(1);
    let want = format!(
        "{} hosts: {online} succeeded, {offline} not run (offline)",
        hosts.len()
    );
    assert_eq!(
        out.stderr.matches(&want).count(),
        2,
        "{want}\n{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_online_state_page_does_not_stop_the_run() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 10,
        ..fast()
    })
    .await;
    // More 5xx than the client retries: the one page of online states fails for good.
    for _ in 0..12 {
        env.fault_once("GET /devices/entities/online-state/v1", "5xx-before")
            .await;
    }
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "--no-transcript",
        ])
        .commands(["pwd"])
        .run()
        .await;
    assert!(
        out.stderr
            .contains("could not learn whether 10 hosts are online")
            && out.stderr.contains("succeeded"),
        "{}",
        out.stderr
    );
    assert!(out.stdout().contains(r"C:\"), "{}", out.stdout());
}
