//! A fleet's outputs larger than one chunk are handed on in bounded units as their chunk loops
//! finish, and the chunk 0 the batch replies carried is kept only up to a budget (the rest is
//! fetched again): every host is still accounted once with its whole output. Outputs over
//! [`SPILL_ABOVE`] are kept in temporary files, not in memory, and come out whole in every
//! output mode.

use std::collections::{HashMap, HashSet};

use rtrsh_client::session::fleet::{Fleet, FleetOptions, HostIdx, RunResult};
use rtrsh_command::Tier;
use rtrsh_emulator::EmulatorConfig;
use tokio_util::sync::CancellationToken;

use rtrsh_client::session::fleet::text::SPILL_ABOVE;

use crate::fleet_harness::rtrsh;
use crate::support::client::falcon_client;
use crate::support::{TestEnv, fast};

const CHUNK: usize = 128 * 1024;
const MIB: usize = 1 << 20;

/// An emulator with `chunk`-byte chunks, and `n` of its online Windows hosts.
async fn windows_hosts(chunk: usize, n: usize) -> (TestEnv, Vec<String>) {
    let env = TestEnv::start(EmulatorConfig {
        chunk_size: chunk as u64,
        ..fast()
    })
    .await;
    let aids = env.online_windows_aids(n).await;
    (env, aids)
}

/// A fleet of `n` online Windows hosts of an emulator with `chunk`-byte chunks, connected,
/// with its targets.
async fn connected_fleet(
    chunk: usize,
    n: usize,
    opts: FleetOptions,
) -> (TestEnv, Fleet, Vec<HostIdx>) {
    let (env, aids) = windows_hosts(chunk, n).await;
    let client = falcon_client(&env);
    let aids: Vec<rtrsh_client::Aid> = aids.into_iter().map(Into::into).collect();
    let devices = client.get_devices(&aids).await.expect("devices");
    let mut fleet = Fleet::new(client, devices, opts);
    fleet.check_online().await.expect("online states");
    let report = fleet.connect(&mut |_| {}).await.expect("connect");
    assert_eq!(report.connected, n);
    let targets: Vec<HostIdx> = fleet.active().collect();
    (env, fleet, targets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_outputs_arrive_in_bounded_units_and_every_host_once() {
    let opts = FleetOptions {
        // A unit is handed on once it holds 1.5 MiB: two of these 1 MiB outputs.
        unit_bytes: MIB + MIB / 2,
        // Room for three hosts' chunk 0; the others fetch theirs again.
        first_chunks_kept: 3 * CHUNK,
        ..Default::default()
    };
    let (env, mut fleet, targets) = connected_fleet(CHUNK, 8, opts).await;
    let line = r"cat C:\Logs\big-1mb.log";
    let mut units = Vec::new();
    let mut outputs: HashMap<HostIdx, (String, String)> = HashMap::new();
    fleet
        .run(
            line,
            "cat",
            Tier::ReadOnly,
            &targets,
            &CancellationToken::new(),
            &mut |_, unit| {
                let bytes: usize = unit
                    .groups
                    .iter()
                    .map(|g| g.stdout.in_memory_len() + g.stderr.len())
                    .sum();
                for r in &unit.runs {
                    let RunResult::Output { group, stderr } = r.result else {
                        panic!("host {} did not succeed: {:?}", r.host, r.result);
                    };
                    assert!(!stderr);
                    let stdout = &unit.groups[group].stdout;
                    // 1 MiB is not above the spill size: kept in memory.
                    assert!(stdout.as_str().is_some());
                    let text = stdout.to_string_whole().expect("text");
                    let before = outputs.insert(r.host, (r.cloud_request_id.to_string(), text));
                    assert!(before.is_none(), "host {} accounted twice", r.host);
                }
                units.push((unit.runs.len(), bytes));
            },
        )
        .await;
    assert_eq!(outputs.len(), targets.len(), "every host once");
    // No unit holds more than its limit plus the one output that crossed it.
    assert!(units.len() >= 4, "{units:?}");
    assert!(
        units.iter().all(|&(_, b)| b <= MIB + MIB / 2 + MIB),
        "{units:?}"
    );
    // Each host's whole file, and a command's chunk 0 was fetched again only where it had not
    // been kept (three hosts kept theirs).
    let stats = env.stats().await;
    let api = env.api();
    let mut refetched = 0;
    let mut crids = HashSet::new();
    for (crid, text) in outputs.values() {
        assert!(crids.insert(crid.clone()), "one command per host");
        let (stdout, _, chunks) = api.read_all(Tier::ReadOnly, crid).await;
        assert_eq!(chunks, (MIB / CHUNK) as u64);
        assert_eq!(text.len(), MIB);
        assert!(*text == stdout, "output of {crid} differs from the file");
        let polls = &stats["commands"][crid.as_str()]["polls_by_sequence"];
        if polls.get("0").is_some() {
            refetched += 1;
        }
    }
    assert_eq!(refetched, targets.len() - 3, "chunk 0 kept for three hosts");
}

const BIG: &str = r"cat C:\Logs\big-10mb.log";

/// Each host's whole 10 MiB log, by hostname, as the API gives it (crids from the command log).
async fn files_by_host(env: &TestEnv, hosts: &[(String, String)]) -> HashMap<String, String> {
    let stats = env.stats().await;
    let log = crate::fleet_harness::batch_log(&stats, BIG);
    let api = env.api();
    let mut out = HashMap::new();
    for (name, aid) in hosts {
        let crids: Vec<&String> = log
            .iter()
            .filter(|(a, _)| a == aid)
            .map(|(_, c)| c)
            .collect();
        assert!(!crids.is_empty(), "{name} ran it");
        let (stdout, _, _) = api.read_all(Tier::ReadOnly, crids[0]).await;
        assert_eq!(stdout.len(), 10 * MIB);
        out.insert(name.clone(), stdout);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_above_the_spill_size_are_kept_in_files_and_read_back_whole() {
    let opts = FleetOptions {
        // An output in a file counts as 1 MiB: a unit holds two, however small in memory.
        unit_bytes: 2 * SPILL_ABOVE,
        ..Default::default()
    };
    let (env, mut fleet, targets) = connected_fleet(MIB, 3, opts).await;
    let mut outputs: HashMap<String, String> = HashMap::new();
    let mut per_unit: Vec<usize> = Vec::new();
    fleet
        .run(
            BIG,
            "cat",
            Tier::ReadOnly,
            &targets,
            &CancellationToken::new(),
            &mut |f, unit| {
                per_unit.push(unit.groups.len());
                for r in &unit.runs {
                    let RunResult::Output { group, .. } = r.result else {
                        panic!("host {} did not succeed: {:?}", r.host, r.result);
                    };
                    let stdout = &unit.groups[group].stdout;
                    const { assert!(10 * MIB > SPILL_ABOVE) };
                    assert_eq!(stdout.as_str(), None, "kept in a file");
                    assert_eq!(stdout.in_memory_len(), 0);
                    assert_eq!(stdout.held(), SPILL_ABOVE);
                    assert_eq!(stdout.len(), (10 * MIB) as u64);
                    let name = f.hosts[r.host as usize].device.hostname.to_string();
                    outputs.insert(name, stdout.to_string_whole().expect("reads back"));
                }
            },
        )
        .await;
    let hosts: Vec<(String, String)> = fleet
        .hosts
        .iter()
        .map(|h| {
            (
                h.device.hostname.to_string(),
                h.device.device_id.to_string(),
            )
        })
        .collect();
    let files = files_by_host(&env, &hosts).await;
    assert_eq!(outputs.len(), 3);
    assert!(
        per_unit.iter().all(|&n| n <= 2),
        "open files held per unit: {per_unit:?}"
    );
    for (name, text) in &outputs {
        assert!(
            *text == files[name],
            "{name}: the output read back differs from the file"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_fleet_outputs_come_out_whole_as_json_and_through_a_local_redirect() {
    let (env, aids) = windows_hosts(MIB, 2).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lines.txt");
    let redirect = format!("{BIG} > {}", file.display());
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--json", "--no-transcript", "-c", BIG])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = out.json_lines();
    assert_eq!(records.len(), 2);
    let hosts: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap_or_default().to_string(),
                r["aid"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let files = files_by_host(&env, &hosts).await;
    for r in &records {
        let name = r["host"].as_str().unwrap_or_default();
        assert_eq!(r["status"], "ok", "{r}");
        let stdout = r["stdout"].as_str().unwrap_or_default();
        assert!(
            stdout == files[name],
            "{name}: the JSON record's stdout differs from the file"
        );
    }
    // Once more, to a local file: `HOST: line` for every line of every host's output, each
    // host's lines in order (the logs are the same on every run).
    let out = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "-c", &redirect])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = std::fs::read_to_string(&file).expect("the redirect wrote its file");
    let mut by_host: HashMap<&str, Vec<&str>> = HashMap::new();
    for l in written.lines() {
        let (host, line) = l.split_once(": ").expect("a prefixed line");
        by_host.entry(host).or_default().push(line);
    }
    assert_eq!(by_host.len(), 2);
    for (name, text) in &files {
        let want: Vec<&str> = text.lines().collect();
        let got = &by_host[name.as_str()];
        assert_eq!(got.len(), want.len(), "{name}: line count");
        assert!(
            *got == want,
            "{name}: the prefixed lines differ from the file's"
        );
    }
}

/// Ctrl-C while a large output (read back from its file) is shown on the terminal: the rest of
/// it is not shown, rtrsh says where it is whole, and the prompt comes back; the saved log
/// holds it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_showing_a_large_output_and_the_saved_log_keeps_it_whole() {
    use crate::support::shell::{Pty, converse};
    const T: std::time::Duration = std::time::Duration::from_secs(180);
    let (env, aids) = windows_hosts(MIB, 2).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sh = rtrsh(&env)
        .aids(&aids)
        .args(["--no-transcript", "--output-dir"])
        .args([dir.path().to_string_lossy().to_string()])
        .env("NO_COLOR", "1");
    let screen = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect("[2 hosts] ", T);
        t.expect("> ", T);
        t.line(r"cat C:\Logs\big-100mb.log");
        // The first line of a host's log is on the screen: the output is being shown.
        t.expect("2026-01-01T00:00:00Z", T);
        t.ctrl_c();
        let screen = t.expect("[2 hosts] ", T);
        t.ctrl_d();
        assert_eq!(t.wait_exit(T), 0);
        screen
    })
    .await;
    assert!(screen.contains("is not shown"), "{screen}");
    assert!(screen.contains("it is whole in"), "{screen}");
    // Each host's log holds its whole 100 MiB output.
    let logs: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .expect("the output folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    for log in logs {
        let len = std::fs::metadata(&log).expect("log").len();
        assert!(len > 100 * MIB as u64, "{}: {len} bytes", log.display());
    }
}
