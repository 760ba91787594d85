//! A batch command whose reply was lost after it ran: each host's result is found through its
//! session log (even a lagging, newest-first one), the output is fetched, and nothing is sent
//! twice. What cannot be told is "may or may not have run", never "failed".

use std::time::Duration;

use rtrsh_emulator::{EmulatorConfig, LogOrder};

use crate::support::shell::{executions, rtrsh};
use crate::support::{TestEnv, fast};

const AR_BATCH: &str = "POST /real-time-response/combined/batch-active-responder-command/v1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_batch_reply_is_recovered_from_the_session_logs() {
    for fault in ["5xx-after", "drop-after"] {
        let env = TestEnv::start(EmulatorConfig {
            hosts: 12,
            offline_share: 0.0,
            session_log_lag: Duration::from_millis(300),
            session_log_order: LogOrder::NewestFirst,
            ..fast()
        })
        .await;
        let windows = env.all_online_aids_on("Windows").await;
        env.fault_once(AR_BATCH, fault).await;
        let line = r"mkdir C:\Cases\lost-reply";
        let out = rtrsh(&env)
            .args([
                "--filter",
                "platform_name:'Windows'",
                "--no-transcript",
                "--json",
                "--yes",
            ])
            .commands([line])
            .run()
            .await;
        assert!(
            out.stderr.contains("a reply was lost; the results of")
                && out.stderr.contains("nothing was sent twice"),
            "{fault}: {}",
            out.stderr
        );
        let records = out.json_lines();
        assert_eq!(records.len(), windows.len(), "{fault}: {records:?}");
        for r in &records {
            assert_eq!(r["status"], "ok", "{fault}: {r}");
        }
        let stats = env.stats().await;
        for aid in &windows {
            assert_eq!(
                executions(&stats, aid, line),
                1,
                "{fault}: ran once on {aid}"
            );
        }
    }
}

/// A batch command whose request failed before it reached the hosts: each host's session log
/// shows it never arrived. A read-only command is then sent once more, host by host, with a
/// notice, and every host answers; a command that writes is never re-sent and every host is
/// "may or may not have run".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_batch_command_that_never_arrived_is_sent_once_more_a_write_never() {
    const RO_BATCH: &str = "POST /real-time-response/combined/batch-command/v1";
    let env = TestEnv::start(EmulatorConfig {
        hosts: 12,
        offline_share: 0.0,
        ..fast()
    })
    .await;
    let windows = env.all_online_aids_on("Windows").await;
    assert!(windows.len() >= 2, "{windows:?}");
    let run = |line: &'static str| {
        rtrsh(&env)
            .args(["--no-transcript", "--json", "--yes"])
            .aids(&windows)
            .commands([line])
    };

    env.fault_once(RO_BATCH, "5xx-before").await;
    let read = run(r"ls C:\Windows").run().await;
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert!(
        read.stderr.contains(
            "showed the command never arrived; it is read-only, so it was sent to them once more"
        ),
        "{}",
        read.stderr
    );
    let records = read.json_lines();
    assert_eq!(records.len(), windows.len(), "{records:?}");
    assert!(records.iter().all(|r| r["status"] == "ok"), "{records:?}");
    let stats = env.stats().await;
    for aid in &windows {
        assert_eq!(
            executions(&stats, aid, r"ls C:\Windows"),
            1,
            "once on {aid}"
        );
    }

    env.fault_once(AR_BATCH, "5xx-before").await;
    let line = r"mkdir C:\Cases\never-twice";
    let write = run(line).run().await;
    assert_eq!(write.code, 1, "{}", write.stderr);
    let records = write.json_lines();
    assert_eq!(records.len(), windows.len(), "{records:?}");
    assert!(
        records.iter().all(|r| r["status"] == "unknown"),
        "may or may not have run: {records:?}"
    );
    let stats = env.stats().await;
    for aid in &windows {
        assert_eq!(executions(&stats, aid, line), 0, "never sent on {aid}");
    }
}
