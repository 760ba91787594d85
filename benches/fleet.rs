//! The fleet shell end to end at 1,000 and 10,000 hosts: time to connect, time for `ps` across
//! every host, API calls made, and the peak memory of the rtrsh process.
//!
//! Run with `cargo bench --bench fleet` (1,000 and 10,000 hosts) or
//! `cargo bench --bench fleet -- --quick` (1,000 only; also `RTRSH_BENCH_QUICK=1`). See
//! `benches/README.md`. Both the emulator and rtrsh run as child processes (the `rtrsh` binary
//! cargo built for this bench), so rtrsh's `VmHWM` is its own. Figures are printed and written to
//! `target/bench-fleet.json`.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtrsh::emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_rtrsh");

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("fleet bench: skipped (run it with `cargo bench --bench fleet`)");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("RTRSH_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let sizes: &[usize] = if quick { &[1_000] } else { &[1_000, 10_000] };
    println!(
        "rtrsh fleet bench: connect, then `ps` on every host; emulator latency 300 ms, {} CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:>7} {:>10} {:>9} {:>9} {:>10} {:>9} {:>10} {:>12}",
        "hosts", "connect s", "ps s", "total s", "API calls", "peak MiB", "sections", "output MB"
    );
    let mut runs = Vec::new();
    let mut failed = false;
    for &n in sizes {
        match rt.block_on(run(n)) {
            Ok(r) => {
                println!(
                    "{:>7} {:>10.2} {:>9.2} {:>9.2} {:>10} {:>9.1} {:>10} {:>12.1}",
                    n,
                    r["connect_seconds"].as_f64().unwrap_or(0.0),
                    r["ps_seconds"].as_f64().unwrap_or(0.0),
                    r["total_seconds"].as_f64().unwrap_or(0.0),
                    r["api_calls"].as_u64().unwrap_or(0),
                    r["peak_mib"].as_f64().unwrap_or(0.0),
                    r["hosts_with_output"].as_u64().unwrap_or(0),
                    r["stdout_mb"].as_f64().unwrap_or(0.0),
                );
                runs.push(r);
            }
            Err(e) => {
                eprintln!("{n} hosts: FAILED: {e}");
                failed = true;
            }
        }
    }
    if let Some(r) = runs.last() {
        println!("\nAPI calls by endpoint ({} hosts):", r["hosts"]);
        if let Some(m) = r["endpoints"].as_object() {
            for (k, v) in m {
                println!("  {v:>6}  {k}");
            }
        }
    }
    let report = json!({ "bench": "fleet", "quick": quick, "runs": runs });
    let path = std::path::Path::new(BIN)
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("bench-fleet.json"))
        .unwrap_or_else(|| "bench-fleet.json".into());
    match std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    ) {
        Ok(()) => println!("\nJSON report: {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
    if failed {
        std::process::exit(1);
    }
}

/// `rtrsh emulator` as a child, killed on drop.
struct Emulator {
    child: Child,
    base: String,
    _stdout: BufReader<ChildStdout>,
}

impl Emulator {
    fn start(hosts: usize) -> Result<Emulator, String> {
        let mut child = Command::new(BIN)
            .args(["emulator", "--listen", "127.0.0.1:0", "--latency", "300ms"])
            .args(["--hosts", &hosts.to_string(), "--offline-share", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start `rtrsh emulator`: {e}"))?;
        let mut reader = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        for _ in 0..20 {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(rest) = line.trim().split("listening on ").nth(1) {
                return Ok(Emulator {
                    base: rest.trim().to_string(),
                    child,
                    _stdout: reader,
                });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err("the emulator did not print its address".into())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmHWM` (peak resident memory) of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

async fn run(hosts: usize) -> Result<Value, String> {
    let emu = Emulator::start(hosts)?;
    let http = reqwest::Client::new();
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("USER", "bench")
        .env("FALCON_BASE_URL", &emu.base)
        .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .args([
            "--filter",
            "platform_name:['Windows','Linux','Mac']",
            "-c",
            "ps",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rtrsh: {e}"))?;
    let pid = child.id();
    // Peak memory: VmHWM only grows; sample it until the process is gone.
    let peak = Arc::new(Mutex::new(0u64));
    let p = peak.clone();
    let sampler = std::thread::spawn(move || {
        while let Some(kib) = vm_hwm_kib(pid) {
            let mut m = p.lock().unwrap_or_else(|e| e.into_inner());
            *m = (*m).max(kib);
            drop(m);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    // Stdout is the hosts' output: count it and throw it away (like `> /dev/null`).
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let counter = std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, &mut out);
        let (mut bytes, mut sections) = (0u64, 0u64);
        let mut line = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            bytes += n as u64;
            if line.starts_with(b"=== ") {
                sections += 1;
            }
            line.clear();
        }
        (bytes, sections)
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
    let _ = sampler.join();
    let (bytes, sections) = counter.join().map_err(|_| "counter thread")?;
    let stats: Value = http
        .get(format!("{}/_emulator/stats", emu.base))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    // rtrsh's own summary: `rtrsh: ps: N hosts: ... (K distinct outputs, 1.3 s)`.
    let summary = stderr
        .iter()
        .find(|l| l.starts_with("rtrsh: ps: "))
        .cloned()
        .ok_or_else(|| format!("no ps summary; stderr:\n{}", stderr.join("\n")))?;
    let ps_seconds = summary
        .rsplit(", ")
        .next()
        .and_then(|s| s.trim_end_matches(" s)").parse::<f64>().ok())
        .unwrap_or(0.0);
    let endpoints: serde_json::Map<String, Value> = stats["endpoints"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["count"].clone()))
                .collect()
        })
        .unwrap_or_default();
    let logged = stats["command_log"].as_array().map_or(0, |a| {
        a.iter().filter(|e| e["command_string"] == "ps").count()
    });
    // Two of the world's fixed hosts are always offline (skipped, hence exit 1).
    if ![0, 1].contains(&status.code().unwrap_or(-1)) || sections as usize != logged {
        return Err(format!(
            "exit {:?}, {sections} sections for {logged} hosts that ran ps; stderr:\n{}",
            status.code(),
            stderr.join("\n")
        ));
    }
    let peak_kib = *peak.lock().unwrap_or_else(|e| e.into_inner());
    Ok(json!({
        "hosts": hosts,
        "connect_seconds": connect.map_or(0.0, |d| d.as_secs_f64()),
        "ps_seconds": ps_seconds,
        "total_seconds": total.as_secs_f64(),
        "api_calls": stats["requests_total"],
        "rate_limited": stats["rate_limited"],
        "endpoints": endpoints,
        "peak_mib": peak_kib as f64 / 1024.0,
        "hosts_with_output": sections,
        "hosts_that_ran_ps": logged,
        "stdout_mb": bytes as f64 / 1e6,
        "summary": summary,
        "exit_code": status.code(),
    }))
}
