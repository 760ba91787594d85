//! Fleet sessions that expired are re-opened on the next command and returned to their
//! directories, as on one host; the command then runs once on each host.

use std::time::Duration;

use rtrsh_emulator::EmulatorConfig;

use crate::support::shell::{executions, rtrsh};
use crate::support::{TestEnv, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_fleet_sessions_reopen_where_they_were() {
    // Sessions expire after 3 s without a command; the script's second line takes 5 s on the
    // hosts, so the sessions are gone when the third line comes.
    let env = TestEnv::start(EmulatorConfig {
        session_idle: Duration::from_secs(3),
        ..fast()
    })
    .await;
    let names = ["DESKTOP-01", "HOSTILE-01", "KIOSK-01"];
    let mut aids = Vec::new();
    for n in names {
        aids.push(env.aid(n).await);
    }
    let out = rtrsh(&env)
        .args(["--no-transcript", "--yes", "--json"])
        .hosts(names)
        .commands([
            r"cd C:\Windows",
            "runscript -Raw=```Start-Sleep -Seconds 5``` -Timeout=30",
            "pwd",
        ])
        .run()
        .await;
    assert!(
        out.stderr
            .contains("re-opened 3 sessions (they had expired) and returned to their directories"),
        "{}",
        out.stderr
    );
    let pwd: Vec<_> = out
        .json_lines()
        .into_iter()
        .filter(|r| r["command"] == "pwd")
        .collect();
    assert_eq!(pwd.len(), 3, "{pwd:?}");
    for r in &pwd {
        assert_eq!(
            r["stdout"].as_str().map(str::trim),
            Some(r"C:\Windows"),
            "{r}"
        );
    }
    let stats = env.stats().await;
    for aid in &aids {
        assert_eq!(executions(&stats, aid, "pwd"), 1, "pwd ran once on {aid}");
    }
    assert_eq!(stats["open_sessions"], 0);
}
