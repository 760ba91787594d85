//! The single-host shell as a user runs it: start-up, per-command time, status calls, time to
//! output, and memory while streaming a 100 MiB `cat`, with falcon-toolkit's figures beside ours.
//!
//! Run with `cargo bench --bench shell` (full) or `cargo bench --bench shell -- --quick` (smoke
//! run; also `RTRSH_BENCH_QUICK=1`). See `benches/README.md` for the method and what every figure
//! means.
//!
//! Everything runs as child processes, as a user would run them: the emulator
//! (`rtrsh emulator ...`, the binary cargo built next to this bench) and the shell
//! (`rtrsh --host DESKTOP-01 ...`). Memory is read from the shell child's `/proc/<pid>/status`.
//! falcon-toolkit runs through `scripts/bench/falcon_toolkit_shell.py` with the Python of a venv
//! (`RTRSH_BENCH_FTK_PYTHON`, default `/tmp/ftk/bin/python`); without it that part is skipped.
//! Every loop has a fixed count and every child a deadline; nothing leaves loopback. The report is
//! printed and written as JSON to `target/bench-shell.json`.

mod common;

use rtrsh_command::digest::hex;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    EmulatorProcess, RTRSH, TICKS_PER_SECOND, cpu_ticks, endpoint_count, endpoint_counts, round2,
    target_dir, vm_hwm_kib,
};
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
const HOST: &str = "DESKTOP-01";
const BIG_FILE: &str = r"C:\Logs\big-100mb.log";
const STATUS_ENDPOINT: &str = "GET /real-time-response/entities/command/v1";
const EXECUTE_ENDPOINT: &str = "POST /real-time-response/entities/command/v1";
const BATCH_COMMAND_ENDPOINT: &str = "POST /real-time-response/combined/batch-command/v1";
/// The host latency of the ordinary runs, and the emulator's session-init time (init waits one
/// host latency).
const LATENCY: Duration = Duration::from_millis(300);
const LONG_LATENCY: Duration = Duration::from_secs(10);
/// No child may run longer than this.
const DEADLINE: Duration = Duration::from_secs(180);

/// Sizes of one run.
struct Plan {
    /// Runs of the one-command start-up measurement (each of the two methods).
    startup_runs: usize,
    /// Commands in the per-command script.
    script_commands: usize,
    /// Commands at 10 s latency.
    long_commands: usize,
    /// Seconds of `Start-Sleep` in a script run after short commands on the 300 ms host (a
    /// command much longer than the session's usual).
    surprise_sleep_s: u64,
    /// Emulator chunk sizes for the 100 MiB `cat`.
    cat_chunk_sizes: &'static [u64],
    ftk_startup_runs: usize,
    ftk_commands: usize,
    ftk_cat: bool,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                startup_runs: 3,
                script_commands: 5,
                long_commands: 1,
                surprise_sleep_s: 10,
                cat_chunk_sizes: &[64 * 1024],
                ftk_startup_runs: 1,
                ftk_commands: 5,
                ftk_cat: false,
            }
        } else {
            Plan {
                startup_runs: 10,
                script_commands: 20,
                long_commands: 3,
                surprise_sleep_s: 20,
                cat_chunk_sizes: &[64 * 1024, 1024 * 1024],
                ftk_startup_runs: 5,
                ftk_commands: 20,
                ftk_cat: true,
            }
        }
    }
}

fn main() {
    let Some(quick) = common::mode("shell") else {
        return;
    };
    let plan = Plan::new(quick);
    common::install_tls_provider();
    let started = Instant::now();
    let mut errors = Errors::default();
    println!(
        "rtrsh shell bench ({} mode): host latency {} ms, {} CPUs shared by emulator, shell and bench\n",
        if quick { "quick" } else { "full" },
        LATENCY.as_millis(),
        common::cpus()
    );
    let ours = rtrsh_part(&plan, &mut errors);
    let theirs = ftk_part(&plan, &mut errors);
    print_table(&ours, &theirs);
    print_targets(&ours);
    let total = started.elapsed();
    let report = json!({
        "bench": "shell",
        "mode": if quick { "quick" } else { "full" },
        "unix_time": common::unix_time(),
        "git_commit": common::git_commit(),
        "cpus": common::cpus(),
        "host_latency_ms": LATENCY.as_millis() as u64,
        "rtrsh": ours,
        "falcon_toolkit": theirs,
        "errors": errors.list,
        "total_seconds": round2(total.as_secs_f64()),
    });
    println!("\nwhole bench: {:.1} s", total.as_secs_f64());
    common::write_report("bench-shell.json", &report);
    if !errors.list.is_empty() {
        eprintln!("FAILED: {} checks (see above)", errors.list.len());
        std::process::exit(1);
    }
}

#[derive(Default)]
struct Errors {
    list: Vec<String>,
}

impl Errors {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let w = what();
            eprintln!("CHECK FAILED: {w}");
            self.list.push(w);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Signed milliseconds from `a` to `b`.
fn ms_between(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    }
}

/// Median, p90 (nearest rank), min and max of a sample, in the sample's unit.
fn summary(xs: &[f64]) -> Value {
    if xs.is_empty() {
        return Value::Null;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    json!({
        "n": v.len(),
        "median": round1(rank(0.5)),
        "p90": round1(rank(0.9)),
        "min": round1(v[0]),
        "max": round1(v[v.len() - 1]),
        "mean": round1(v.iter().sum::<f64>() / v.len() as f64),
    })
}

fn med(v: &Value) -> f64 {
    v["median"].as_f64().unwrap_or(f64::NAN)
}

/// What the start-up runs of one shell measured, in ms: the same figures for rtrsh and for
/// falcon-toolkit.
#[derive(Default)]
struct StartupSamples {
    wall: Vec<f64>,
    /// Wall − init (one latency) − the command (one latency).
    by_subtraction: Vec<f64>,
    /// Spawn → the command sent.
    to_first: Vec<f64>,
    /// Spawn → the command sent, less the init (one latency).
    beyond_init: Vec<f64>,
    command: Vec<f64>,
    /// The end of the command → exit.
    teardown: Vec<f64>,
}

impl StartupSamples {
    /// A one-command run's wall time.
    fn add_wall(&mut self, wall: Duration) {
        self.wall.push(ms(wall));
        self.by_subtraction.push(ms(wall) - 2.0 * ms(LATENCY));
    }

    /// A one-command run split by its timestamps: spawn → the command sent, the command, and
    /// its end → exit.
    fn add_split(&mut self, to_first: f64, command: f64, teardown: f64) {
        self.to_first.push(to_first);
        self.beyond_init.push(to_first - ms(LATENCY));
        self.command.push(command);
        self.teardown.push(teardown);
    }

    fn json(&self, runs: usize, requests: Value) -> Value {
        json!({
            "runs": runs,
            "wall_ms": summary(&self.wall),
            "by_subtraction_ms": summary(&self.by_subtraction),
            "to_first_command_ms": summary(&self.to_first),
            "beyond_init_ms": summary(&self.beyond_init),
            "command_ms": summary(&self.command),
            "teardown_ms": summary(&self.teardown),
            "requests_of_one_run": requests,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator child and its introspection endpoints

/// `rtrsh emulator` as a child process (killed when dropped), with a client for its
/// introspection endpoints.
struct Emulator {
    process: EmulatorProcess,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Emulator {
    fn start(latency: Duration, chunk_size: u64) -> Emulator {
        let process = EmulatorProcess::start([
            "--latency".to_string(),
            format!("{}ms", latency.as_millis()),
            "--chunk-size".to_string(),
            chunk_size.to_string(),
            // The per-CID limit (6000/min) would make the 100 MiB `cat` (1600 status calls at
            // 64 KiB) and back-to-back runs measure the limiter, not the shell.
            "--rate-limit".to_string(),
            "0".to_string(),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start a tokio runtime");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("cannot build the HTTP client");
        Emulator { process, http, rt }
    }

    fn base(&self) -> &str {
        &self.process.base
    }

    fn get_json(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base());
        self.rt.block_on(async {
            let r = self.http.get(&url).send().await.expect("emulator GET");
            r.json::<Value>().await.expect("emulator replies JSON")
        })
    }

    fn stats(&self) -> Value {
        self.get_json("/_emulator/stats")
    }

    fn reset_stats(&self) {
        let url = format!("{}/_emulator/stats/reset", self.base());
        self.rt.block_on(async {
            let r = self.http.post(&url).send().await.expect("stats reset");
            assert!(r.status().is_success(), "stats reset: HTTP {}", r.status());
        });
    }

    /// Runs rtrsh against this emulator with `args` (stdout collected), from fresh stats: the
    /// run, checked to succeed (a failure is reported as `what`), and the stats after it.
    fn measure(&self, args: &[&str], what: &str, errors: &mut Errors) -> (Run, Value) {
        self.reset_stats();
        let r = run(rtrsh(self.base()).args(args), Out::Collect, false);
        errors.check(r.ok(), || format!("{what}: {}", r.describe()));
        (r, self.stats())
    }

    fn aid_of(&self, hostname: &str) -> String {
        let v = self.get_json("/_emulator/hosts");
        let hosts = v
            .get("hosts")
            .and_then(Value::as_array)
            .or_else(|| v.as_array())
            .cloned()
            .unwrap_or_default();
        hosts
            .iter()
            .find(|h| h["hostname"] == hostname)
            .and_then(|h| h["aid"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("the emulator has no host {hostname}"))
    }

    /// SHA-256 and length of a file on a host, streamed from the introspection endpoint.
    fn file_digest(&self, aid: &str, path: &str) -> (String, u64) {
        let url = format!("{}/_emulator/hosts/{aid}/file", self.base());
        self.rt.block_on(async {
            let mut r = self
                .http
                .get(&url)
                .query(&[("path", path)])
                .send()
                .await
                .expect("emulator file GET");
            assert!(r.status().is_success(), "file GET: HTTP {}", r.status());
            let mut h = Sha256::new();
            let mut n = 0u64;
            while let Some(chunk) = r.chunk().await.expect("file body") {
                n += chunk.len() as u64;
                h.update(&chunk);
            }
            (hex(&h.finalize()), n)
        })
    }
}

/// Status checks per executed command, from a stats snapshot.
fn status_calls_per_command(stats: &Value) -> f64 {
    let executes = endpoint_count(stats, EXECUTE_ENDPOINT);
    round2(endpoint_count(stats, STATUS_ENDPOINT) as f64 / executes.max(1) as f64)
}

/// Status checks of each command (`commands[*].polls`).
fn polls_per_command(stats: &Value) -> Vec<f64> {
    stats["commands"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|c| c["polls"].as_u64())
                .map(|p| p as f64)
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// What happens to a child's stdout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    /// Read into memory (small outputs).
    Collect,
    /// `/dev/null`.
    Null,
    /// Read through a pipe and hashed (SHA-256), never held.
    Hash,
}

struct Run {
    spawned: SystemTime,
    exited: SystemTime,
    wall: Duration,
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stdout_len: u64,
    stdout_sha256: String,
    stderr: String,
    /// Highest `VmHWM` read from `/proc/<pid>/status` while it ran (0 when not sampled).
    hwm_kib: u64,
    /// CPU ticks at the last sample before it exited (0 when not sampled).
    cpu_ticks: u64,
}

/// Runs `cmd` to the end (killed at [`DEADLINE`]), timing it from just before the spawn to the
/// moment `try_wait` sees it gone (polled every millisecond, so the wall time is good to ~1 ms).
fn run(cmd: &mut Command, out: Out, sample_memory: bool) -> Run {
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    cmd.stdout(if out == Out::Null {
        Stdio::null()
    } else {
        Stdio::piped()
    });
    let spawned = SystemTime::now();
    let t0 = Instant::now();
    let mut child = cmd.spawn().expect("cannot spawn the child");
    let pid = child.id();
    let stdout = child.stdout.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut h = Sha256::new();
            let mut n = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => {
                        n += k as u64;
                        if out == Out::Hash {
                            h.update(&buf[..k]);
                        } else {
                            kept.extend_from_slice(&buf[..k]);
                        }
                    }
                }
            }
            (kept, n, hex(&h.finalize()))
        })
    });
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let mut hwm = 0u64;
    let mut cpu = 0u64;
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    let status = loop {
        if sample_memory && last_sample.elapsed() >= Duration::from_millis(5) {
            if let Some(k) = vm_hwm_kib(pid) {
                hwm = hwm.max(k);
            }
            if let Some(c) = cpu_ticks(pid) {
                cpu = cpu.max(c);
            }
            last_sample = Instant::now();
        }
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(_) => break None,
        }
        if t0.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = t0.elapsed();
    let exited = SystemTime::now();
    let (kept, n, digest) = stdout
        .map(|t| t.join().expect("stdout reader"))
        .unwrap_or_default();
    Run {
        spawned,
        exited,
        wall,
        status,
        stdout: kept,
        stdout_len: n,
        stdout_sha256: digest,
        stderr: stderr.join().unwrap_or_default(),
        hwm_kib: hwm,
        cpu_ticks: cpu,
    }
}

impl Run {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn describe(&self) -> String {
        format!(
            "exit {:?} after {:.0} ms; stderr: {}",
            self.status.and_then(|s| s.code()),
            ms(self.wall),
            self.stderr.trim().lines().last().unwrap_or("")
        )
    }

    /// The `--json` records on stdout.
    fn records(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }
}

/// `rtrsh --host DESKTOP-01 --no-transcript` against the emulator at `base`.
fn rtrsh(base: &str) -> Command {
    let mut c = Command::new(RTRSH);
    c.env("FALCON_BASE_URL", base)
        .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .env_remove("FALCON_MEMBER_CID")
        .env_remove("RUST_LOG")
        .args(["--host", HOST, "--no-transcript"]);
    c
}

/// A script file of `n` copies of `line` (and `tail` after them), under `target/tmp`.
fn script_file(name: &str, line: &str, n: usize, tail: &str) -> PathBuf {
    let dir = target_dir().join("tmp");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let mut text = String::new();
    for _ in 0..n {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(tail);
    std::fs::write(&path, text).expect("cannot write a script file");
    path
}

/// When a `--json` record's command started.
fn record_start(r: &Value) -> Option<SystemTime> {
    humantime::parse_rfc3339(r["started_at"].as_str()?).ok()
}

fn record_duration(r: &Value) -> Option<Duration> {
    r["duration_ms"].as_u64().map(Duration::from_millis)
}

// ---------------------------------------------------------------------------------------------
// rtrsh

fn rtrsh_part(plan: &Plan, errors: &mut Errors) -> Value {
    let emu = Emulator::start(LATENCY, 64 * 1024);
    println!("== rtrsh against the emulator ({}) ==", emu.base());
    let startup = rtrsh_startup(plan, &emu, errors);
    let per_command = rtrsh_per_command(plan, &emu, &startup, errors);
    drop(emu);
    let long = rtrsh_long(plan, errors);
    let surprise = rtrsh_surprise(plan, errors);
    let mut cats = Vec::new();
    for &chunk in plan.cat_chunk_sizes {
        cats.push(rtrsh_cat(chunk, &startup, errors));
    }
    json!({
        "startup": startup,
        "per_command": per_command,
        "long_command": long,
        "long_unexpected": surprise,
        "cat_100mib": cats,
    })
}

/// 1. From process start to the first command, beyond the session init.
fn rtrsh_startup(plan: &Plan, emu: &Emulator, errors: &mut Errors) -> Value {
    let mut samples = StartupSamples::default();
    // Method A (wall): `-c pwd`, wall − init (one latency) − the command (one latency).
    let mut requests = Value::Null;
    for i in 0..plan.startup_runs {
        emu.reset_stats();
        let r = run(rtrsh(emu.base()).args(["-c", "pwd"]), Out::Collect, false);
        errors.check(r.ok(), || format!("rtrsh -c pwd: {}", r.describe()));
        samples.add_wall(r.wall);
        if i == 0 {
            requests = endpoint_counts(&emu.stats());
        }
    }
    // Method B (timestamps): `--json -c pwd`; the record's `started_at` is when rtrsh sent the
    // command, i.e. when a prompt would have been ready.
    for _ in 0..plan.startup_runs {
        let r = run(
            rtrsh(emu.base()).args(["--json", "-c", "pwd"]),
            Out::Collect,
            false,
        );
        errors.check(r.ok(), || format!("rtrsh --json -c pwd: {}", r.describe()));
        let recs = r.records();
        let Some(rec) = recs.first() else {
            errors.check(false, || "rtrsh --json -c pwd printed no record".into());
            continue;
        };
        let (Some(start), Some(dur)) = (record_start(rec), record_duration(rec)) else {
            errors.check(false, || {
                format!("record without started_at/duration: {rec}")
            });
            continue;
        };
        samples.add_split(
            ms_between(r.spawned, start),
            ms(dur),
            ms_between(start + dur, r.exited),
        );
    }
    let v = samples.json(plan.startup_runs, requests.clone());
    println!(
        "start-up (`-c pwd`, {} runs): wall {} ms (median); wall − init − command = {} ms (p90 {})",
        plan.startup_runs,
        med(&v["wall_ms"]),
        med(&v["by_subtraction_ms"]),
        v["by_subtraction_ms"]["p90"]
    );
    println!(
        "  split from --json timestamps: spawn → command sent {} ms = init {} + rtrsh {} ms (p90 {}); command {} ms; exit {} ms after the output",
        med(&v["to_first_command_ms"]),
        ms(LATENCY),
        med(&v["beyond_init_ms"]),
        v["beyond_init_ms"]["p90"],
        med(&v["command_ms"]),
        med(&v["teardown_ms"]),
    );
    println!("  requests of one run: {requests}");
    v
}

/// 2 and 3. A script of N `pwd` lines at 300 ms.
fn rtrsh_per_command(plan: &Plan, emu: &Emulator, startup: &Value, errors: &mut Errors) -> Value {
    let n = plan.script_commands;
    let script = script_file("shell-bench-pwd.txt", "pwd", n, "");
    let script_arg = script.to_string_lossy().to_string();
    // Plain output, as a user would see it.
    let (r, stats) = emu.measure(&["--script", &script_arg], "rtrsh --script", errors);
    let executes = endpoint_count(&stats, EXECUTE_ENDPOINT);
    let requests = stats["requests_total"].as_u64().unwrap_or(0);
    errors.check(executes == n as u64, || {
        format!("{n} script lines made {executes} executes")
    });
    // Piped output is byte-exact: `pwd` prints `C:\` with no newline, so the outputs follow
    // one another on one line.
    let printed = String::from_utf8_lossy(&r.stdout).matches(r"C:\").count();
    errors.check(printed == n, || {
        format!("{n} pwd printed `C:\\` {printed} times")
    });
    let wall = ms(r.wall);
    let one = med(&startup["wall_ms"]);
    // (total − start-up) / N, where start-up = the one-command run less its command.
    let per_command = (wall - (one - ms(LATENCY))) / n as f64;
    let polls = polls_per_command(&stats);

    // The same script with --json, for each command's own timing.
    let rj = run(
        rtrsh(emu.base()).args(["--json", "--script", &script_arg]),
        Out::Collect,
        false,
    );
    errors.check(rj.ok(), || {
        format!("rtrsh --json --script: {}", rj.describe())
    });
    let recs = rj.records();
    errors.check(recs.len() == n, || {
        format!("{n} commands gave {} records", recs.len())
    });
    let bad = recs.iter().filter(|r| r["status"] != "ok").count();
    errors.check(bad == 0, || format!("{bad} commands did not end `ok`"));
    let starts: Vec<SystemTime> = recs.iter().filter_map(record_start).collect();
    let durations: Vec<f64> = recs.iter().filter_map(record_duration).map(ms).collect();
    let after_completion: Vec<f64> = durations.iter().map(|d| d - ms(LATENCY)).collect();
    // Command-to-command: from one command's start to the next one's (prints, record, next line).
    let cycle: Vec<f64> = starts.windows(2).map(|w| ms_between(w[0], w[1])).collect();
    // From the first command's start to the last one's end, per command.
    let span = match (
        starts.first(),
        starts.last(),
        recs.last().and_then(record_duration),
    ) {
        (Some(&a), Some(&b), Some(d)) => ms_between(a, b + d) / n as f64,
        _ => f64::NAN,
    };
    let v = json!({
        "commands": n,
        "wall_ms": round1(wall),
        "per_command_ms": round1(per_command),
        "overhead_ms": round1(per_command - ms(LATENCY)),
        "status_calls_per_command": status_calls_per_command(&stats),
        "status_calls_each": summary(&polls),
        "requests_per_command": round2(requests as f64 / n as f64),
        "endpoints": endpoint_counts(&stats),
        "json_wall_ms": round1(ms(rj.wall)),
        "per_command_span_ms": round1(span),
        "overhead_span_ms": round1(span - ms(LATENCY)),
        "duration_ms": summary(&durations),
        "output_after_completion_ms": summary(&after_completion),
        "cycle_ms": summary(&cycle),
    });
    println!(
        "{n} × pwd (--script): wall {wall:.0} ms → per command {:.1} ms, overhead {:.1} ms over the 300 ms host; {} status calls per command ({} requests per command incl. start-up)",
        per_command,
        per_command - ms(LATENCY),
        v["status_calls_per_command"],
        v["requests_per_command"],
    );
    println!(
        "  --json: first command start to last output {span:.1} ms per command; command duration {} ms median (p90 {}), so output shows {} ms after completion (p90 {}, max {}); start-to-start {} ms",
        med(&v["duration_ms"]),
        v["duration_ms"]["p90"],
        med(&v["output_after_completion_ms"]),
        v["output_after_completion_ms"]["p90"],
        v["output_after_completion_ms"]["max"],
        med(&v["cycle_ms"]),
    );
    v
}

/// 2 (long). Status calls of a 10 s command.
fn rtrsh_long(plan: &Plan, errors: &mut Errors) -> Value {
    let emu = Emulator::start(LONG_LATENCY, 64 * 1024);
    let n = plan.long_commands;
    let script = script_file("shell-bench-pwd-long.txt", "pwd", n, "");
    let (r, stats) = emu.measure(
        &["--json", "--script", &script.to_string_lossy()],
        "rtrsh 10 s script",
        errors,
    );
    let after: Vec<f64> = r
        .records()
        .iter()
        .filter_map(record_duration)
        .map(|d| ms(d) - ms(LONG_LATENCY))
        .collect();
    let v = json!({
        "latency_ms": LONG_LATENCY.as_millis() as u64,
        "commands": n,
        "status_calls_per_command": status_calls_per_command(&stats),
        "status_calls_each": summary(&polls_per_command(&stats)),
        "output_after_completion_ms": summary(&after),
    });
    println!(
        "{n} × pwd at 10 s: {} status calls per command; output {} ms after completion (median, max {})",
        v["status_calls_per_command"],
        med(&v["output_after_completion_ms"]),
        v["output_after_completion_ms"]["max"],
    );
    v
}

/// 2 (long, unexpected). A script that sleeps on the host, after short commands taught the
/// session that its host answers in 300 ms.
fn rtrsh_surprise(plan: &Plan, errors: &mut Errors) -> Value {
    let emu = Emulator::start(LATENCY, 64 * 1024);
    let secs = plan.surprise_sleep_s;
    let line = format!("runscript -Raw=```Start-Sleep -Seconds {secs}```");
    let script = script_file("shell-bench-surprise.txt", "pwd", 3, &format!("{line}\n"));
    let (r, stats) = emu.measure(
        &["--json", "--script", &script.to_string_lossy()],
        "rtrsh sleeping script",
        errors,
    );
    // The host needs its latency plus the sleep.
    let running = LATENCY + Duration::from_secs(secs);
    let after = r
        .records()
        .last()
        .and_then(record_duration)
        .map_or(f64::NAN, |d| ms(d) - ms(running));
    let polls = stats["commands"]
        .as_object()
        .and_then(|m| {
            m.values().find(|c| {
                c["command_string"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("runscript"))
            })
        })
        .and_then(|c| c["polls"].as_u64())
        .unwrap_or(0);
    let v = json!({
        "running_ms": ms(running),
        "status_calls": polls,
        "status_calls_per_s": round2(polls as f64 / running.as_secs_f64()),
        "output_after_completion_ms": round1(after),
    });
    println!(
        "runscript sleeping {secs} s after 3 × pwd (300 ms host): {polls} status calls ({} a second); output {after:.0} ms after completion",
        v["status_calls_per_s"],
    );
    v
}

/// 4. Peak memory and throughput of `cat` of the 100 MiB file.
fn rtrsh_cat(chunk: u64, startup: &Value, errors: &mut Errors) -> Value {
    let emu = Emulator::start(LATENCY, chunk);
    let aid = emu.aid_of(HOST);
    let (want_sha, want_len) = emu.file_digest(&aid, BIG_FILE);
    let line = format!("cat {BIG_FILE}");
    // Start-up and teardown around the command, from the start-up runs.
    let around = med(&startup["wall_ms"]) - med(&startup["command_ms"]);
    let mut v = json!({ "chunk_size": chunk, "file_bytes": want_len });
    for (label, out, json) in [
        ("devnull", Out::Null, false),
        ("pipe_hashed", Out::Hash, false),
        ("json", Out::Collect, true),
    ] {
        emu.reset_stats();
        let emu_cpu = cpu_ticks(emu.process.pid()).unwrap_or(0);
        let mut cmd = rtrsh(emu.base());
        if json {
            cmd.arg("--json");
        }
        let r = run(cmd.args(["-c", &line]), out, true);
        let emu_cpu = cpu_ticks(emu.process.pid())
            .unwrap_or(0)
            .saturating_sub(emu_cpu);
        errors.check(r.ok(), || format!("rtrsh cat ({label}): {}", r.describe()));
        let stats = emu.stats();
        let command = ms(r.wall) - around;
        let mb_s = want_len as f64 / 1e6 / (command / 1000.0);
        let mut one = json!({
            "wall_ms": round1(ms(r.wall)),
            "command_ms": round1(command),
            "throughput_mb_s": round1(mb_s),
            "peak_rss_mib": round1(r.hwm_kib as f64 / 1024.0),
            "status_calls": endpoint_count(&stats, STATUS_ENDPOINT),
            "rtrsh_cpu_s": round2(r.cpu_ticks as f64 / TICKS_PER_SECOND),
            "emulator_cpu_s": round2(emu_cpu as f64 / TICKS_PER_SECOND),
        });
        if json {
            // One record, whose `stdout` is the file.
            let lines = r
                .stdout
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            let rec = serde_json::from_slice::<Value>(&r.stdout).unwrap_or(Value::Null);
            let text = rec["stdout"].as_str().unwrap_or("");
            let same = lines == 1
                && text.len() as u64 == want_len
                && hex(&Sha256::digest(text.as_bytes())) == want_sha;
            one["json_line_bytes"] = json!(r.stdout_len);
            one["identical_to_file"] = json!(same);
            errors.check(same, || {
                format!(
                    "cat --json: {lines} lines, `stdout` of {} bytes differs from the file",
                    text.len()
                )
            });
        }
        if out == Out::Hash {
            let same = r.stdout_sha256 == want_sha && r.stdout_len == want_len;
            one["bytes"] = json!(r.stdout_len);
            one["sha256"] = json!(r.stdout_sha256);
            one["identical_to_file"] = json!(same);
            errors.check(same, || {
                format!(
                    "cat output ({} bytes, sha256 {}) differs from the file ({want_len} bytes, {want_sha})",
                    r.stdout_len, r.stdout_sha256
                )
            });
        }
        println!(
            "cat 100 MiB, chunk {} KiB, stdout {label}: peak RSS {:.1} MiB, {:.0} ms ({:.0} MB/s over the command), {} status calls, CPU: rtrsh {} s, emulator {} s{}",
            chunk / 1024,
            r.hwm_kib as f64 / 1024.0,
            command,
            mb_s,
            one["status_calls"],
            one["rtrsh_cpu_s"],
            one["emulator_cpu_s"],
            match one.get("identical_to_file") {
                Some(Value::Bool(true)) => ", bytes identical to the file",
                Some(_) => ", BYTES DIFFER",
                None => "",
            }
        );
        v[label] = one;
    }
    v
}

// ---------------------------------------------------------------------------------------------
// falcon-toolkit

fn ftk_python() -> PathBuf {
    std::env::var_os("RTRSH_BENCH_FTK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ftk/bin/python"))
}

fn ftk_version(python: &Path) -> Option<String> {
    common::output_of(Command::new(python).args([
        "-c",
        "import importlib.metadata as m; print(m.version('falcon-toolkit'))",
    ]))
}

/// Timings written by `scripts/bench/falcon_toolkit_shell.py`.
struct FtkTimings {
    t_main: f64,
    t_imported: f64,
    /// (name, start, end), Unix seconds.
    events: Vec<(String, f64, f64)>,
}

impl FtkTimings {
    fn read(path: &Path) -> Option<FtkTimings> {
        let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let events = v["events"]
            .as_array()?
            .iter()
            .filter_map(|e| Some((e[0].as_str()?.to_string(), e[1].as_f64()?, e[2].as_f64()?)))
            .collect();
        Some(FtkTimings {
            t_main: v["t_main"].as_f64()?,
            t_imported: v["t_imported"].as_f64()?,
            events,
        })
    }

    fn all(&self, name: &str) -> Vec<(f64, f64)> {
        self.events
            .iter()
            .filter(|e| e.0 == name)
            .map(|e| (e.1, e.2))
            .collect()
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

struct Ftk {
    python: PathBuf,
    driver: PathBuf,
}

impl Ftk {
    fn run(
        &self,
        emu: &Emulator,
        aid: &str,
        script: &Path,
        sample_memory: bool,
    ) -> (Run, Option<FtkTimings>) {
        let timings = target_dir()
            .join("tmp")
            .join("shell-bench-ftk-timings.json");
        let _ = std::fs::remove_file(&timings);
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.driver)
            .args(["--base-url", emu.base(), "--aid", aid])
            .arg("--script")
            .arg(script)
            .arg("--timings")
            .arg(&timings)
            .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
            .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
            .env("PYTHONDONTWRITEBYTECODE", "")
            .env("TERM", "dumb")
            .current_dir(target_dir().join("tmp"));
        let r = run(&mut cmd, Out::Collect, sample_memory);
        let t = FtkTimings::read(&timings);
        (r, t)
    }
}

fn ftk_part(plan: &Plan, errors: &mut Errors) -> Value {
    let python = ftk_python();
    let driver =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench/falcon_toolkit_shell.py");
    println!("\n== falcon-toolkit against the emulator ==");
    let Some(version) = ftk_version(&python) else {
        let why = format!(
            "skipped: no falcon-toolkit in {} (python3 -m venv /tmp/ftk && /tmp/ftk/bin/pip install falcon-toolkit==3.6.2, or set RTRSH_BENCH_FTK_PYTHON)",
            python.display()
        );
        println!("{why}");
        return json!({ "skipped": why });
    };
    println!("falcon-toolkit {version} ({})", python.display());
    let ftk = Ftk { python, driver };
    let emu = Emulator::start(LATENCY, 64 * 1024);
    let aid = emu.aid_of(HOST);
    // falcon-toolkit has no `pwd` command; `cd C:\` runs one command of the same cost and
    // prints a path, like `pwd`.
    let one = script_file("shell-bench-ftk-1.txt", r"cd C:\", 1, "quit\n");

    // Start-up.
    let mut samples = StartupSamples::default();
    let mut to_main = Vec::new();
    let mut imports = Vec::new();
    let mut connect = Vec::new();
    let mut requests = Value::Null;
    for i in 0..plan.ftk_startup_runs {
        emu.reset_stats();
        let (r, t) = ftk.run(&emu, &aid, &one, false);
        errors.check(r.ok(), || {
            format!("falcon-toolkit start-up run: {}", r.describe())
        });
        if i == 0 {
            requests = endpoint_counts(&emu.stats());
        }
        samples.add_wall(r.wall);
        let Some(t) = t else {
            errors.check(false, || "falcon-toolkit driver wrote no timings".into());
            continue;
        };
        let spawn = unix_secs(r.spawned);
        let cmds = t.all("command");
        let Some(&(c0, c1)) = cmds.first() else {
            errors.check(false, || "falcon-toolkit ran no command".into());
            continue;
        };
        to_main.push((t.t_main - spawn) * 1000.0);
        imports.push((t.t_imported - t.t_main) * 1000.0);
        if let Some(&(a, b)) = t.all("batch_connect").first() {
            connect.push((b - a) * 1000.0);
        }
        samples.add_split(
            (c0 - spawn) * 1000.0,
            (c1 - c0) * 1000.0,
            (unix_secs(r.exited) - c1) * 1000.0,
        );
    }
    let mut startup = samples.json(plan.ftk_startup_runs, requests.clone());
    startup["python_start_ms"] = summary(&to_main);
    startup["imports_ms"] = summary(&imports);
    startup["batch_init_ms"] = summary(&connect);
    println!(
        "start-up (1 command, {} runs): wall {} ms; wall − init − command = {} ms; spawn → first command {} ms, beyond init {} ms (p90 {})",
        plan.ftk_startup_runs,
        med(&startup["wall_ms"]),
        med(&startup["by_subtraction_ms"]),
        med(&startup["to_first_command_ms"]),
        med(&startup["beyond_init_ms"]),
        startup["beyond_init_ms"]["p90"],
    );
    println!(
        "  of which: interpreter start {} ms, imports {} ms, batch init {} ms; exit {} ms after the command",
        med(&startup["python_start_ms"]),
        med(&startup["imports_ms"]),
        med(&startup["batch_init_ms"]),
        med(&startup["teardown_ms"]),
    );
    println!("  requests of one run: {requests}");

    // Per command.
    let n = plan.ftk_commands;
    let many = script_file("shell-bench-ftk-n.txt", r"cd C:\", n, "quit\n");
    emu.reset_stats();
    let (r, t) = ftk.run(&emu, &aid, &many, false);
    errors.check(r.ok(), || {
        format!("falcon-toolkit {n}-command run: {}", r.describe())
    });
    let stats = emu.stats();
    let batch_commands = endpoint_count(&stats, BATCH_COMMAND_ENDPOINT);
    errors.check(batch_commands == n as u64, || {
        format!("{n} falcon-toolkit lines made {batch_commands} batch commands")
    });
    let wall = ms(r.wall);
    let cmds = t.as_ref().map(|t| t.all("command")).unwrap_or_default();
    errors.check(cmds.len() == n, || {
        format!("falcon-toolkit timed {} of {n} commands", cmds.len())
    });
    let durations: Vec<f64> = cmds.iter().map(|(a, b)| (b - a) * 1000.0).collect();
    let cycle: Vec<f64> = cmds
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * 1000.0)
        .collect();
    // From the first command's start to the last one's end, per command (this run's own
    // start-up and exit left out: falcon-toolkit's import time varies by hundreds of ms between
    // runs, so the one-command run's start-up cannot be subtracted).
    let per_command = match (cmds.first(), cmds.last()) {
        (Some(a), Some(b)) => (b.1 - a.0) * 1000.0 / n as f64,
        _ => f64::NAN,
    };
    let after: Vec<f64> = durations.iter().map(|d| d - ms(LATENCY)).collect();
    let per = json!({
        "commands": n,
        "wall_ms": round1(wall),
        "per_command_span_ms": round1(per_command),
        "overhead_span_ms": round1(per_command - ms(LATENCY)),
        "status_calls_per_command": round2(endpoint_count(&stats, STATUS_ENDPOINT) as f64 / n as f64),
        "batch_commands_per_command": round2(batch_commands as f64 / n as f64),
        "requests_per_command": round2(stats["requests_total"].as_u64().unwrap_or(0) as f64 / n as f64),
        "endpoints": endpoint_counts(&stats),
        "duration_ms": summary(&durations),
        "output_after_completion_ms": summary(&after),
        "cycle_ms": summary(&cycle),
    });
    println!(
        "{n} × `cd C:\\`: wall {wall:.0} ms; first command start to last output {per_command:.1} ms per command, overhead {:.1} ms; command (request to output printed) {} ms median, so output {} ms after completion; start-to-start {} ms; {} status calls and {} batch-command calls per command",
        per_command - ms(LATENCY),
        med(&per["duration_ms"]),
        med(&per["output_after_completion_ms"]),
        med(&per["cycle_ms"]),
        per["status_calls_per_command"],
        per["batch_commands_per_command"],
    );
    let mut v = json!({
        "version": version,
        "command": r"cd C:\ (falcon-toolkit has no pwd)",
        "startup": startup,
        "per_command": per,
    });

    if plan.ftk_cat {
        let cat = script_file(
            "shell-bench-ftk-cat.txt",
            &format!("cat {BIG_FILE}"),
            1,
            "quit\n",
        );
        let (want_sha, want_len) = emu.file_digest(&aid, BIG_FILE);
        let _ = want_sha;
        emu.reset_stats();
        let (r, _) = ftk.run(&emu, &aid, &cat, true);
        errors.check(r.ok(), || format!("falcon-toolkit cat: {}", r.describe()));
        let stats = emu.stats();
        let c = json!({
            "wall_ms": round1(ms(r.wall)),
            "peak_rss_mib": round1(r.hwm_kib as f64 / 1024.0),
            "stdout_bytes": r.stdout_len,
            "file_bytes": want_len,
            "status_calls": endpoint_count(&stats, STATUS_ENDPOINT),
            "batch_commands": endpoint_count(&stats, BATCH_COMMAND_ENDPOINT),
        });
        println!(
            "cat 100 MiB: {} bytes of output for a {} byte file (the batch reply holds the first chunk only; falcon-toolkit does not fetch further sequence_ids), peak RSS {} MiB, wall {} ms",
            r.stdout_len, want_len, c["peak_rss_mib"], c["wall_ms"]
        );
        v["cat_100mib"] = c;
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The table

/// The value at `path` (object keys joined by dots) in a report; `Null` where there is none.
fn at<'a>(report: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(report, |v, key| &v[key])
}

fn print_table(ours: &Value, theirs: &Value) {
    let f = |v: &Value| match v.as_f64() {
        Some(x) if x.is_finite() => format!("{x:.1}"),
        _ => match v {
            Value::Null => "–".to_string(),
            other => other.to_string(),
        },
    };
    let skipped = theirs.get("skipped").is_some();
    let t = |path: &str| {
        if skipped {
            return "–".to_string();
        }
        f(at(theirs, path))
    };
    let o = |path: &str| f(at(ours, path));
    // (figure, where it is in both reports, whether falcon-toolkit has it)
    let figures: [(&str, &str, bool); 11] = [
        (
            "start-up beyond init, median ms (timestamps)",
            "startup.beyond_init_ms.median",
            true,
        ),
        (
            "start-up beyond init, p90 ms",
            "startup.beyond_init_ms.p90",
            true,
        ),
        (
            "1-command wall − init − command, median ms",
            "startup.by_subtraction_ms.median",
            true,
        ),
        (
            "per command (300 ms host), first start→last end",
            "per_command.per_command_span_ms",
            true,
        ),
        (
            "overhead per command, ms",
            "per_command.overhead_span_ms",
            true,
        ),
        (
            "per command, (wall − start-up) / N, ms",
            "per_command.per_command_ms",
            false,
        ),
        (
            "command start to start, median ms",
            "per_command.cycle_ms.median",
            true,
        ),
        (
            "output after completion, median ms",
            "per_command.output_after_completion_ms.median",
            true,
        ),
        (
            "status calls per 300 ms command",
            "per_command.status_calls_per_command",
            true,
        ),
        (
            "API requests per command",
            "per_command.requests_per_command",
            true,
        ),
        (
            "status calls per 10 s command",
            "long_command.status_calls_per_command",
            false,
        ),
    ];
    let row = |name: &str, a: String, b: String| println!("{name:<46} {a:>12} {b:>16}");
    println!("\n{:<46} {:>12} {:>16}", "", "rtrsh", "falcon-toolkit");
    for (name, path, compared) in figures {
        row(name, o(path), if compared { t(path) } else { "–".into() });
    }
    if let Some(cats) = ours["cat_100mib"].as_array() {
        for c in cats {
            let kib = c["chunk_size"].as_u64().unwrap_or(0) / 1024;
            let theirs = if c["chunk_size"] == 64 * 1024 {
                t("cat_100mib.peak_rss_mib")
            } else {
                "–".into()
            };
            row(
                &format!("cat 100 MiB peak RSS MiB (chunk {kib} KiB)"),
                f(&c["devnull"]["peak_rss_mib"]),
                theirs,
            );
            row(
                &format!("cat 100 MiB MB/s (chunk {kib} KiB)"),
                f(&c["devnull"]["throughput_mb_s"]),
                "–".into(),
            );
        }
        if let Some(c) = cats.first() {
            row(
                "cat 100 MiB: bytes of output",
                c["pipe_hashed"]["bytes"].as_u64().unwrap_or(0).to_string(),
                t("cat_100mib.stdout_bytes"),
            );
        }
    }
}

/// The figures of issue 13 next to its targets (a report, not a pass/fail check).
fn print_targets(ours: &Value) {
    let get = |path: &str| at(ours, path).as_f64().unwrap_or(f64::NAN);
    // (figure, value, target, met)
    let at_most = |name: String, v: f64, limit: f64| (name, v, format!("≤ {limit:.0}"), v <= limit);
    let long_s = get("long_command.latency_ms") / 1000.0;
    let running = get("long_unexpected.running_ms");
    let mut rows: Vec<(String, f64, String, bool)> = vec![
        at_most(
            "per 300 ms command, first start→last end, ms".into(),
            get("per_command.per_command_span_ms"),
            308.0,
        ),
        at_most(
            "status calls per 300 ms command".into(),
            get("per_command.status_calls_per_command"),
            10.0,
        ),
        at_most(
            format!("{long_s:.0} s host: output after completion, max ms"),
            get("long_command.output_after_completion_ms.max"),
            (long_s * 100.0).max(250.0),
        ),
        at_most(
            format!("{long_s:.0} s host: status calls a second"),
            get("long_command.status_calls_per_command") / long_s,
            2.0,
        ),
        at_most(
            format!(
                "{:.1} s script on a 300 ms host: output after, ms",
                running / 1000.0
            ),
            get("long_unexpected.output_after_completion_ms"),
            (running * 0.1).max(250.0),
        ),
        at_most(
            format!(
                "{:.1} s script on a 300 ms host: calls a second",
                running / 1000.0
            ),
            get("long_unexpected.status_calls_per_s"),
            2.0,
        ),
    ];
    if let Some(cats) = ours["cat_100mib"].as_array() {
        for c in cats {
            for (label, name) in [
                ("devnull", "text to /dev/null"),
                ("pipe_hashed", "text to a pipe"),
                ("json", "--json"),
            ] {
                let mb = c[label]["peak_rss_mib"].as_f64().unwrap_or(f64::NAN) * 1.048576;
                rows.push((
                    format!(
                        "cat 100 MiB peak RSS MB, {} KiB chunks, {name}",
                        c["chunk_size"].as_u64().unwrap_or(0) / 1024
                    ),
                    mb,
                    "< 40".into(),
                    mb < 40.0,
                ));
            }
        }
    }
    println!(
        "\n{:<58} {:>10} {:>8}  met",
        "issue 13 targets", "rtrsh", "target"
    );
    for (name, v, target, ok) in rows {
        println!(
            "{name:<58} {v:>10.1} {target:>8}  {}",
            if ok { "yes" } else { "NO" }
        );
    }
}
