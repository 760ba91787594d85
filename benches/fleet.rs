//! The fleet shell end to end: connect, then `ps` on every host, at 10,000 and 50,000 hosts,
//! a run where 1% of the hosts are slow (they must not hold the rest), one where 2,000 hosts
//! each print a distinct 1 MiB log (what the fleet holds of outputs at once), and two where two
//! hosts each print a 100 MiB log (as JSON records, then as text). Figures are printed
//! next to the targets of issue 13 and written to `target/bench-fleet.json`.
//!
//! Run with `cargo bench --bench fleet` or `cargo bench --bench fleet -- --quick` (1,000 hosts
//! and a smaller straggler run; also `RTRSH_BENCH_QUICK=1`). See `benches/README.md`. Both the
//! emulator and rtrsh run as child processes (the `rtrsh` binary cargo built for this bench), so
//! rtrsh's `VmHWM` is its own. `RTRSH_BENCH_CLIENT=/path/to/rtrsh` runs another rtrsh binary
//! as the client (the emulator stays this build's), to measure an older version the same way.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{EmulatorProcess, RTRSH as BIN, cpu_seconds, vm_hwm_kib};
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::{Value, json};

/// One measured run: the emulator's switches and rtrsh's.
struct Scenario {
    name: &'static str,
    /// Hosts of the emulator's world.
    hosts: usize,
    /// The hosts run on: the world's online hosts, or only the first `n` of one platform.
    only: Option<(&'static str, usize)>,
    /// The command line (the bench checks it ran once on every host).
    command: &'static str,
    emulator: Vec<String>,
    rtrsh: Vec<String>,
    /// Targets printed next to the figures: (figure, limit in seconds or MiB).
    targets: &'static [(&'static str, f64)],
    /// Stdout is text (sections per host), not a JSON record per host: its lines are not
    /// counted as records.
    text: bool,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn main() {
    let Some(quick) = common::mode("fleet") else {
        return;
    };
    let client = std::env::var("RTRSH_BENCH_CLIENT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| BIN.to_string());
    common::install_tls_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let round = |hosts: usize, targets: &'static [(&'static str, f64)]| Scenario {
        name: "one round",
        hosts,
        only: None,
        command: "ps",
        emulator: strings(&["--latency", "300ms", "--rate-limit", "0"]),
        rtrsh: strings(&["--json", "-c", "ps", "--yes"]),
        targets,
        text: false,
    };
    let slow = |hosts: usize| Scenario {
        name: "1% slow",
        hosts,
        only: None,
        command: "ps",
        emulator: strings(&[
            "--latency",
            "300ms",
            "--rate-limit",
            "0",
            "--slow-hosts",
            "0.01",
            "--slow-latency",
            "20s",
        ]),
        rtrsh: strings(&["--json", "-c", "ps", "--yes", "--batch-timeout", "10s"]),
        targets: &[],
        text: false,
    };
    // Every host a distinct 1 MiB output (its own generated log), 16 chunks of 64 KiB each:
    // what the fleet holds of them at once.
    let big = |hosts: usize| Scenario {
        name: "1 MiB each",
        hosts: hosts * 3 / 2,
        only: Some(("Windows", hosts)),
        command: r"cat C:\Logs\big-1mb.log",
        emulator: strings(&["--latency", "300ms", "--rate-limit", "0"]),
        rtrsh: strings(&["--json", "-c", r"cat C:\Logs\big-1mb.log", "--yes"]),
        targets: &[],
        text: false,
    };
    // Two hosts each print a distinct 100 MiB log (1,600 chunks of 64 KiB): what a fleet holds
    // of one large output, as JSON records and as text sections on stdout.
    let cat100 = |text: bool| Scenario {
        name: if text { "100MiB txt" } else { "100MiB json" },
        hosts: 10,
        only: Some(("Windows", 2)),
        command: r"cat C:\Logs\big-100mb.log",
        emulator: strings(&["--latency", "300ms", "--rate-limit", "0"]),
        rtrsh: if text {
            strings(&["-c", r"cat C:\Logs\big-100mb.log", "--yes"])
        } else {
            strings(&["--json", "-c", r"cat C:\Logs\big-100mb.log", "--yes"])
        },
        targets: &[("peak MiB", 40.0)],
        text,
    };
    let scenarios: Vec<Scenario> = if quick {
        vec![
            round(1_000, &[]),
            slow(1_000),
            big(200),
            cat100(false),
            cat100(true),
        ]
    } else {
        vec![
            round(
                10_000,
                &[("connect", 0.6), ("connect + ps", 1.2), ("peak MiB", 100.0)],
            ),
            round(50_000, &[("connect + ps", 3.0), ("peak MiB", 100.0)]),
            slow(10_000),
            big(2_000),
            cat100(false),
            cat100(true),
        ]
    };
    // `RTRSH_BENCH_ONLY=1MiB` (say): only the runs whose name, without spaces and followed by
    // the host count, contains it (`oneround50000`: only the 50,000-host round).
    let only = std::env::var("RTRSH_BENCH_ONLY").unwrap_or_default();
    let scenarios: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| format!("{}{}", s.name.replace(' ', ""), s.hosts).contains(&only))
        .collect();
    println!(
        "rtrsh fleet bench: connect, then `ps` on every host (--hosts-file, --json; the 1 MiB \
         run: `cat` of each host's 1 MiB log); emulator latency 300 ms, --rate-limit 0; {} CPUs",
        common::cpus()
    );
    if client != BIN {
        println!("client: {client}");
    }
    println!(
        "\n{:<10} {:>7} {:>9} {:>7} {:>8} {:>8} {:>9} {:>9} {:>6} {:>6} {:>9} {:>8} {:>9} {:>10}",
        "run",
        "hosts",
        "connect s",
        "ps s",
        "total s",
        "first s",
        "last s",
        "peak MiB",
        "inits",
        "cmds",
        "API calls",
        "ok",
        "timed out",
        "CPU s r/e"
    );
    let mut runs = Vec::new();
    let mut failed = false;
    for sc in &scenarios {
        match rt.block_on(run(&client, sc)) {
            Ok(r) => {
                let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
                let u = |k: &str| r[k].as_u64().unwrap_or(0);
                println!(
                    "{:<10} {:>7} {:>9.2} {:>7.2} {:>8.2} {:>8.2} {:>9.2} {:>9.1} {:>6} {:>6} {:>9} {:>8} {:>9} {:>10}",
                    sc.name,
                    u("hosts"),
                    f("connect_seconds"),
                    f("ps_seconds"),
                    f("total_seconds"),
                    f("first_output_seconds"),
                    f("last_output_seconds"),
                    f("peak_mib"),
                    u("batch_inits"),
                    u("batch_commands"),
                    u("api_calls"),
                    u("ok"),
                    u("timed_out"),
                    format!(
                        "{:.1}/{:.1}",
                        f("rtrsh_cpu_seconds"),
                        f("emulator_cpu_seconds")
                    ),
                );
                for (what, limit) in sc.targets {
                    let got = match *what {
                        "connect" => f("connect_seconds"),
                        "connect + ps" => f("last_output_seconds"),
                        _ => f("peak_mib"),
                    };
                    let unit = if *what == "peak MiB" { "" } else { " s" };
                    println!(
                        "{:>18} target {what} <= {limit}{unit}: {got:.2}{unit} {}",
                        "",
                        if got <= *limit { "(met)" } else { "(NOT met)" }
                    );
                }
                runs.push(r);
            }
            Err(e) => {
                eprintln!("{} ({} hosts): FAILED: {e}", sc.name, sc.hosts);
                failed = true;
            }
        }
    }
    println!(
        "\nconnect: spawn to `connected to N hosts` (the first prompt appears right after it); \
         ps: rtrsh's own figure; first/last: spawn to the first/last record on stdout (last = \
         connect + ps, what the user waits for); total: spawn to exit (closing every session \
         included); CPU s r/e: CPU seconds of rtrsh / of the emulator during the run."
    );
    for r in &runs {
        println!(
            "\nAPI calls by endpoint ({}, {} hosts):",
            r["run"].as_str().unwrap_or(""),
            r["hosts"]
        );
        if let Some(m) = r["endpoints"].as_object() {
            for (k, v) in m {
                println!("  {v:>6}  {k}");
            }
        }
    }
    let report = json!({ "bench": "fleet", "quick": quick, "client": client, "runs": runs });
    println!();
    common::write_report("bench-fleet.json", &report);
    if failed {
        std::process::exit(1);
    }
}

/// The emulator with `hosts` hosts, all online, without the hostile host, and `extra`.
fn start_emulator(hosts: usize, extra: &[String]) -> Result<EmulatorProcess, String> {
    let hosts = hosts.to_string();
    let fixed = [
        "--no-hostile-host",
        "--hosts",
        &hosts,
        "--offline-share",
        "0",
    ];
    EmulatorProcess::start(
        fixed
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str)),
    )
}

/// What the stdout reader saw: bytes, records by status, and when the first and last came.
#[derive(Default)]
struct Seen {
    bytes: u64,
    records: u64,
    statuses: std::collections::BTreeMap<String, u64>,
    first: Option<Duration>,
    last: Option<Duration>,
}

/// The `status` of a `--json` record without parsing the whole line (it precedes the output).
/// The record's `status`, found from the end of the line: it follows the output, which is
/// most of the line (a search from the start cost the bench a CPU-second at 50,000 hosts, on
/// the cores rtrsh and the emulator share). Quotes inside the output are escaped, so the last
/// match is the record's own.
fn status_of(line: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"status\":\"";
    let at = line.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let end = line[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&line[at..at + end]).ok()
}

async fn get_json(http: &reqwest::Client, url: String) -> Result<Value, String> {
    http.get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

async fn run(client: &str, sc: &Scenario) -> Result<Value, String> {
    let emu = start_emulator(sc.hosts, &sc.emulator)?;
    let http = reqwest::Client::new();
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Every online aid, one a line.
    let world = get_json(&http, format!("{}/_emulator/hosts", emu.base)).await?;
    let aids: Vec<&str> = world["hosts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|h| h["online"] == true)
                .filter(|h| sc.only.is_none_or(|(p, _)| h["platform_name"] == p))
                .filter_map(|h| h["aid"].as_str())
                .take(sc.only.map_or(usize::MAX, |(_, n)| n))
                .collect()
        })
        .unwrap_or_default();
    let file = home.path().join("hosts.txt");
    {
        let mut f = std::fs::File::create(&file).map_err(|e| e.to_string())?;
        for a in &aids {
            writeln!(f, "{a}").map_err(|e| e.to_string())?;
        }
    }
    let emulator_cpu_before = cpu_seconds(emu.pid()).unwrap_or(0.0);
    let start = Instant::now();
    let mut child = Command::new(client)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("USER", "bench")
        .env("FALCON_BASE_URL", &emu.base)
        .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .arg("--hosts-file")
        .arg(&file)
        .args(&sc.rtrsh)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rtrsh: {e}"))?;
    let pid = child.id();
    // Peak memory: VmHWM only grows; sample it until the process is gone.
    let peak = Arc::new(Mutex::new((0u64, 0.0f64)));
    let p = peak.clone();
    let sampler = std::thread::spawn(move || {
        while let Some(kib) = vm_hwm_kib(pid) {
            let cpu = cpu_seconds(pid);
            let mut m = p.lock().unwrap_or_else(|e| e.into_inner());
            m.0 = m.0.max(kib);
            if let Some(c) = cpu {
                m.1 = c;
            }
            drop(m);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    // Stdout is the hosts' records: count them and throw them away (like `> /dev/null`).
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let counter = std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, &mut out);
        let mut seen = Seen::default();
        let mut line = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            let at = start.elapsed();
            seen.first.get_or_insert(at);
            seen.last = Some(at);
            seen.bytes += n as u64;
            seen.records += 1;
            let status = status_of(&line).unwrap_or("?").to_string();
            *seen.statuses.entry(status).or_default() += 1;
            line.clear();
        }
        seen
    });
    // Stderr: when "connected to" arrives is the connect time.
    let err = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut connect = None;
    let mut stderr = Vec::new();
    for line in err.lines().map_while(Result::ok) {
        if connect.is_none() && line.contains("connected to") {
            connect = Some(start.elapsed());
        }
        stderr.push(line);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let total = start.elapsed();
    let emulator_cpu = cpu_seconds(emu.pid()).unwrap_or(0.0) - emulator_cpu_before;
    let _ = sampler.join();
    let seen = counter.join().map_err(|_| "counter thread")?;
    let stats = get_json(&http, format!("{}/_emulator/stats", emu.base)).await?;
    // rtrsh's own summary: `rtrsh: ps: N hosts: ... (K distinct outputs, 1.3 s)`.
    let prefix = format!("rtrsh: {}: ", sc.command);
    let summary = stderr
        .iter()
        .find(|l| l.starts_with(&prefix))
        .cloned()
        .ok_or_else(|| format!("no summary; stderr:\n{}", stderr.join("\n")))?;
    let ps_seconds = summary
        .rsplit(", ")
        .next()
        .and_then(|s| s.trim_end_matches(" s)").parse::<f64>().ok())
        .unwrap_or(0.0);
    let count = |e: &str| common::endpoint_count(&stats, e);
    let logged: Vec<&str> = stats["command_log"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["command_string"] == sc.command)
                .filter_map(|e| e["aid"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let distinct: std::collections::HashSet<&str> = logged.iter().copied().collect();
    let problem = if !sc.text && seen.records as usize != aids.len() {
        Some(format!("{} records for {} hosts", seen.records, aids.len()))
    } else if logged.len() != aids.len() || distinct.len() != logged.len() {
        Some(format!(
            "{} ran {} times on {} distinct hosts of {}",
            sc.command,
            logged.len(),
            distinct.len(),
            aids.len()
        ))
    } else {
        None
    };
    if ![0, 1].contains(&status.code().unwrap_or(-1)) || problem.is_some() {
        return Err(format!(
            "exit {:?}, {}; stderr:\n{}",
            status.code(),
            problem.unwrap_or_default(),
            stderr.join("\n")
        ));
    }
    let (peak_kib, rtrsh_cpu) = *peak.lock().unwrap_or_else(|e| e.into_inner());
    let secs = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64());
    Ok(json!({
        "run": sc.name,
        "hosts": aids.len(),
        "world_hosts": sc.hosts,
        "command": sc.command,
        "emulator_args": sc.emulator,
        "rtrsh_args": sc.rtrsh,
        "connect_seconds": secs(connect),
        "ps_seconds": ps_seconds,
        "total_seconds": total.as_secs_f64(),
        "first_output_seconds": secs(seen.first),
        "last_output_seconds": secs(seen.last),
        "api_calls": stats["requests_total"],
        "rate_limited": stats["rate_limited"],
        "batch_inits": count("POST /real-time-response/combined/batch-init-session/v1"),
        "batch_commands": count("POST /real-time-response/combined/batch-command/v1"),
        "endpoints": common::endpoint_counts(&stats),
        "peak_mib": peak_kib as f64 / 1024.0,
        "rtrsh_cpu_seconds": rtrsh_cpu,
        "emulator_cpu_seconds": emulator_cpu,
        "records": seen.records,
        "ok": seen.statuses.get("ok").copied().unwrap_or(0),
        "timed_out": seen.statuses.get("timeout").copied().unwrap_or(0),
        "statuses": seen.statuses,
        "hosts_that_ran_ps": logged.len(),
        "stdout_mb": seen.bytes as f64 / 1e6,
        "summary": summary,
        "exit_code": status.code(),
    }))
}
