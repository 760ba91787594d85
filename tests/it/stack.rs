//! Triage across hosts: `stack FIELD [#N | CMD]`, `diff HOST_A HOST_B`, `results`, on one host
//! and on a fleet, against the emulator's planted items (a process, an autorun and a listening
//! port on a few Windows hosts; `/_emulator/hosts` says which).

use std::collections::BTreeSet;

use rtrsh_emulator::EmulatorConfig;
use serde_json::Value;

use crate::support::shell::{executions, rtrsh};
use crate::support::{TestEnv, endpoint_count, fast};

const ALL: &str = "platform_name:['Windows','Linux','Mac']";
const RUN_KEY: &str = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run";
const EXECUTE: &str = "POST /real-time-response/combined/batch-command/v1";

/// The aids of the online hosts with `item` planted (`process`, `autorun`, `port`).
async fn planted(env: &TestEnv, item: &str) -> BTreeSet<String> {
    env.hosts()
        .await
        .iter()
        .filter(|h| h["online"] == true && h["planted"][item] == true)
        .filter_map(|h| h["aid"].as_str().map(str::to_string))
        .collect()
}

/// The online Windows hosts (aids).
async fn windows(env: &TestEnv) -> BTreeSet<String> {
    env.hosts()
        .await
        .iter()
        .filter(|h| h["online"] == true && h["platform_name"] == "Windows")
        .filter_map(|h| h["aid"].as_str().map(str::to_string))
        .collect()
}

/// The `stack` lines of `--json` output for `field`.
fn stacked<'a>(lines: &'a [Value], field: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["field"] == field).collect()
}

fn row<'a>(rows: &[&'a Value], value: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["value"] == value)
        .copied()
        .unwrap_or_else(|| panic!("no row for {value}: {rows:?}"))
}

fn aids(row: &Value) -> BTreeSet<String> {
    row["aids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_over_500_hosts_finds_the_planted_process_autorun_and_port() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 500,
        rate_limit: 0,
        ..fast()
    })
    .await;
    let process = planted(&env, "process").await;
    let autorun = planted(&env, "autorun").await;
    let port = planted(&env, "port").await;
    // A handful each, among hundreds (DESKTOP-01 has all three).
    for set in [&process, &autorun, &port] {
        assert!((1..=15).contains(&set.len()), "{set:?}");
    }
    let out = rtrsh(&env)
        .args(["--filter", ALL, "--no-transcript", "--json"])
        .commands([
            "stack name ps".to_string(),
            "stack listen_port netstat".to_string(),
            format!("stack value reg query {RUN_KEY}"),
        ])
        .run()
        .await;
    // Offline hosts are skipped (exit 1), every connected host answered.
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let lines = out.json_lines();
    // Only the stacks: no command records (the outputs were read, not printed).
    assert!(lines.iter().all(|l| l.get("field").is_some()), "{lines:?}");

    let names = stacked(&lines, "name");
    let rare = row(&names, "svch0st.exe");
    assert_eq!(
        aids(rare),
        process,
        "the planted process, on exactly its hosts"
    );
    assert_eq!(rare["hosts"], process.len());
    // The rarest first: host counts never go down.
    let counts: Vec<u64> = names.iter().filter_map(|r| r["hosts"].as_u64()).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    // A process every Windows host runs: counted once per host (a host runs several).
    let every = windows(&env).await;
    let svchost = row(&names, "svchost.exe");
    assert_eq!(aids(svchost), every);
    assert_eq!(svchost["hosts"], every.len());

    let ports = stacked(&lines, "listen_port");
    assert_eq!(aids(row(&ports, "4444")), port, "the planted listener");
    assert!(row(&ports, "3389")["hosts"].as_u64() > Some(port.len() as u64));
    // Listening ports only: no ephemeral port of a connection among them.
    assert!(
        ports
            .iter()
            .all(
                |r| r["value"].as_str().and_then(|p| p.parse::<u32>().ok()) < Some(49_700)
                    || r["value"] == "49664"
            ),
        "{ports:?}"
    );

    let values = stacked(&lines, "value");
    let run = row(&values, r"C:\Windows\Temp\svch0st.exe -k netsvcs");
    assert_eq!(aids(run), autorun, "the planted autorun");
    // Each command went out once per batch: the stacks read the results, not re-ran them.
    let stats = env.stats().await;
    let desktop = env.aid("DESKTOP-01").await;
    assert_eq!(executions(&stats, &desktop, "ps"), 1);
    assert_eq!(executions(&stats, &desktop, "netstat"), 1);
    assert!(endpoint_count(&stats, EXECUTE) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_reads_the_newest_result_or_one_by_number_and_diff_compares_two_hosts() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 40,
        rate_limit: 0,
        ..fast()
    })
    .await;
    // A clean Windows host to compare the compromised one with.
    let hosts = env.hosts().await;
    let clean = hosts
        .iter()
        .find(|h| {
            h["online"] == true
                && h["platform_name"] == "Windows"
                && h["hostile"] != true
                && h["hostname"] != "DESKTOP-01"
                && h["hostname"] != "KIOSK-01"
                && h["planted"]["process"] == false
                && h["planted"]["port"] == false
        })
        .and_then(|h| h["hostname"].as_str())
        .expect("a clean Windows host")
        .to_string();
    let out = rtrsh(&env)
        .args(["--filter", ALL, "--no-transcript", "--json"])
        .commands([
            "ps".to_string(),
            "netstat".to_string(),
            // The newest result (netstat), then #1 (ps).
            "stack state".to_string(),
            "stack name #1".to_string(),
            format!("diff DESKTOP-01 {clean} #1"),
            format!("diff DESKTOP-01 {clean}"),
            "results".to_string(),
        ])
        .run()
        .await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let lines = out.json_lines();
    let states = stacked(&lines, "state");
    assert!(
        states
            .iter()
            .all(|r| r["result"] == 2 && r["command"] == "netstat")
    );
    assert!(
        states.iter().any(|r| r["value"] == "LISTENING"),
        "{states:?}"
    );
    let names = stacked(&lines, "name");
    assert!(names.iter().all(|r| r["result"] == 1), "{names:?}");
    assert!(names.iter().any(|r| r["value"] == "svch0st.exe"));

    let diffs: Vec<&Value> = lines.iter().filter(|l| l.get("only_a").is_some()).collect();
    assert_eq!(diffs.len(), 2, "{lines:?}");
    let texts = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ps = diffs[0];
    assert_eq!(ps["a"], "DESKTOP-01");
    assert!(
        texts(ps, "only_a")
            .iter()
            .any(|t| t.contains("svch0st.exe")),
        "{ps}"
    );
    assert!(
        !texts(ps, "only_b")
            .iter()
            .any(|t| t.contains("svch0st.exe"))
    );
    // What both run is not a difference (pids and start times differ on every machine).
    assert!(
        !texts(ps, "only_a").iter().any(|t| t.contains("lsass.exe")),
        "{ps}"
    );
    assert!(ps["common"].as_u64() > Some(10));
    let net = diffs[1];
    assert!(
        texts(net, "only_a").iter().any(|t| t.contains("4444")),
        "the listener only DESKTOP-01 has: {net}"
    );

    let results: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("records").is_some())
        .collect();
    assert_eq!(results.len(), 2, "{lines:?}");
    assert_eq!(results[0]["command"], "ps");
    assert!(results[0]["records"].as_u64() > Some(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_host_stack_runs_the_command_once_and_prints_the_stack_not_the_output() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands(["stack name ps", "stack --all state netstat"])
        .run()
        .await;
    out.expect_code(0);
    let stdout = out.stdout();
    assert!(stdout.contains("svch0st.exe"), "{stdout}");
    assert!(stdout.contains("LISTENING"), "{stdout}");
    // The table, not ps's own columns.
    assert!(!stdout.contains("WorkingSet"), "{stdout}");
    assert!(
        out.stderr.contains("name of `ps` (#1) on 1 host"),
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    let aid = env.aid("DESKTOP-01").await;
    assert_eq!(executions(&stats, &aid, "ps"), 1);
    assert_eq!(executions(&stats, &aid, "netstat"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_and_diff_mistakes_get_one_line_that_says_what_to_do() {
    let env = TestEnv::start(fast()).await;
    // Checked before anything runs: nothing is sent.
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands(["ps", "stack"])
        .run()
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("usage: stack [--all] FIELD"),
        "{}",
        out.stderr
    );
    assert_eq!(
        executions(&env.stats().await, &env.aid("DESKTOP-01").await, "ps"),
        0
    );

    for (lines, code, says) in [
        (vec!["stack name"], 2, "no results to read yet"),
        (
            vec!["ps", "stack colour"],
            2,
            "no field `colour` in the results of `ps` (#1); its fields: name",
        ),
        (vec!["ps", "stack name #7"], 2, "no result #7; kept: #1"),
        (vec!["stack name pwd"], 2, "`pwd` is not parsed"),
        (
            vec!["ps", "diff DESKTOP-01 NOPE-99"],
            2,
            "`NOPE-99` has no results in `ps` (#1)",
        ),
    ] {
        let out = rtrsh(&env)
            .args(["--host", "DESKTOP-01", "--no-transcript"])
            .commands(lines.clone())
            .run()
            .await;
        assert_eq!(out.code, code, "{lines:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{lines:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().filter(|l| l.contains(says)).count(),
            1,
            "one line: {}",
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_records_carry_the_parsed_records_when_asked_on_one_host_and_many() {
    let env = TestEnv::start(fast()).await;
    for hosts in [
        vec!["--host", "DESKTOP-01"],
        vec!["--host", "DESKTOP-01", "--host", "SRV-LNX-01"],
    ] {
        let out = rtrsh(&env)
            .args(hosts.clone())
            .args(["--no-transcript", "--json", "--parsed"])
            .commands(["netstat", "pwd"])
            .run()
            .await;
        out.expect_code(0);
        let lines = out.json_lines();
        let netstat: Vec<&Value> = lines.iter().filter(|l| l["command"] == "netstat").collect();
        assert_eq!(netstat.len(), hosts.len() / 2, "{lines:?}");
        for r in &netstat {
            assert_eq!(r["parsed"]["kind"], "netstat", "{r}");
            let records = r["parsed"]["records"].as_array().expect("records");
            // The stdout is still there, and each of its connections is a record.
            let rows = r["stdout"].as_str().unwrap_or_default().lines().count() - 1;
            assert_eq!(records.len(), rows, "{r}");
            assert!(
                records.iter().any(|x| x["state"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("LISTEN"))
                    && x["local_port"] == "22"
                    || x["local_port"] == "3389"),
                "{r}"
            );
        }
        // Only parsed commands carry it.
        assert!(
            lines
                .iter()
                .filter(|l| l["command"] == "pwd")
                .all(|l| l.get("parsed").is_none())
        );
    }
    // Without --parsed, nothing is parsed into the records.
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--no-transcript",
            "--json",
            "-c",
            "netstat",
        ])
        .run()
        .await;
    out.expect_code(0);
    assert!(out.json_lines().iter().all(|l| l.get("parsed").is_none()));
}
