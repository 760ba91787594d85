//! A batch command whose reply was lost after it ran: each host's result is found through its
//! session log (even a lagging, newest-first one), the output is fetched, and nothing is sent
//! twice. What cannot be told is "may or may not have run", never "failed".

use std::time::Duration;

use rtrsh::emulator::{EmulatorConfig, LogOrder};
use serde_json::json;

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
        let windows: Vec<String> = env
            .hosts()
            .await
            .iter()
            .filter(|h| h["platform_name"] == "Windows" && h["online"] == true)
            .filter_map(|h| h["aid"].as_str().map(str::to_string))
            .collect();
        let code = env
            .control_post(
                "/_emulator/faults",
                json!({"once": {"endpoint": AR_BATCH, "fault": fault}}),
            )
            .await;
        assert!(code == 200 || code == 204, "{code}");
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
