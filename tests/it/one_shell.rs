//! One shell for one host or many: the same lines mean the same on both (`hosts`, `only`,
//! `drop`, `queue wait`, the confirmation rule, `help`), and the fleet prompt completes remote
//! paths and shows usage hints like the single-host one.

use std::time::Duration;

use crate::support::shell::{Pty, converse, executed, rtrsh};
use crate::support::{TestEnv, fast};

/// Generous: the machine is shared; a deadline only catches hangs.
const T: Duration = Duration::from_secs(30);

/// `hosts` and `only` work on one host as on many (one host is a fleet of one); a name that is
/// not this host is refused without sending anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_and_only_on_one_host_as_on_many() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--json",
            "-c",
            "hosts",
            "-c",
            "only desktop-01 pwd",
        ])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines[0]["host"], "DESKTOP-01", "{lines:?}");
    assert_eq!(lines[0]["aid"], aid.as_str());
    assert_eq!(lines[0]["state"], "connected");
    assert_eq!(lines[0]["cwd"], "C:\\");
    assert_eq!(lines[1]["command"], "pwd", "{lines:?}");
    assert_eq!(lines[1]["stdout"], "C:\\", "{lines:?}");

    // The same script on two hosts: the same lines, one result each.
    let two = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--host",
            "SRV-LNX-01",
            "--json",
            "-c",
            "hosts",
            "-c",
            "only desktop-01 pwd",
        ])
        .run()
        .await;
    assert_eq!(two.code, 0, "{}", two.stderr);
    let lines = two.json_lines();
    let hosts: Vec<&str> = lines
        .iter()
        .filter(|l| l.get("state").is_some())
        .filter_map(|l| l["host"].as_str())
        .collect();
    assert_eq!(hosts, ["DESKTOP-01", "SRV-LNX-01"]);
    let pwd: Vec<_> = lines.iter().filter(|l| l["command"] == "pwd").collect();
    assert_eq!(pwd.len(), 1, "only the host named: {lines:?}");
    assert_eq!(pwd[0]["host"], "DESKTOP-01");

    // A host that is not in this shell: refused, exit 2, nothing sent.
    let before = executed(&env.stats().await, &aid).len();
    let other = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", "only SRV-LNX-01 pwd"])
        .run()
        .await;
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other
            .stderr
            .contains("-c:1: not in this session: SRV-LNX-01"),
        "{}",
        other.stderr
    );
    let after = executed(&env.stats().await, &aid).len();
    assert_eq!(before, after, "nothing ran");
}

/// The confirmation rule is the same on one host and many: a write command on more hosts
/// than `--confirm-threshold` is refused in a script without `--yes`, before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_rule_counts_one_host_like_many() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let refused = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--confirm-threshold",
            "0",
            "-c",
            "mkdir C:\\made-here",
        ])
        .run()
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "refused: active-responder command on 1 host (more than --confirm-threshold 0); pass --yes"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        !executed(&env.stats().await, &aid)
            .iter()
            .any(|c| c.starts_with("mkdir")),
        "nothing sent"
    );
    let yes = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--confirm-threshold",
            "0",
            "--yes",
            "-c",
            "mkdir C:\\made-here",
        ])
        .run()
        .await;
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    assert_eq!(
        executed(&env.stats().await, &aid)
            .iter()
            .filter(|c| c.starts_with("mkdir"))
            .count(),
        1
    );
}

/// `drop` on one host says what to do instead; `queue wait` works on one host (nothing queued:
/// at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_and_queue_wait_on_one_host() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "-c",
            "queue wait 2s",
            "-c",
            "drop DESKTOP-01",
        ])
        .run()
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("-c:2: this session has one host: `exit` ends it"),
        "{}",
        out.stderr
    );
}

/// The fleet prompt completes remote paths from one host's listing (the host in the directory
/// the prompt shows) and shows usage hints after `only HOSTS`; nothing typed half-way runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_prompt_completes_remote_paths_and_hints() {
    let env = TestEnv::start(fast()).await;
    let win = env.aid("DESKTOP-01").await;
    let lnx = env.aid("SRV-LNX-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--host", "SRV-LNX-01"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        // The directories tie; the prompt shows the first in order ("/"), from SRV-LNX-01.
        t.expect("[2 hosts] / (+1 other dir)> ", T);
        t.send("ls /et\t");
        t.expect("ls /etc/", T);
        t.ctrl_c();
        t.expect("[2 hosts] / (+1 other dir)> ", T);
        t.send("only SRV-LNX-01 rm ");
        t.expect_seen("<path>", T);
        t.ctrl_c();
        t.expect("[2 hosts] / (+1 other dir)> ", T);
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &lnx),
        ["ls -l /"],
        "one listing, on the host shown"
    );
    assert!(executed(&stats, &win).is_empty(), "nothing on the other");
    assert_eq!(stats["open_sessions"], 0, "every session closed");
}
