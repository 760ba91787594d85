//! What the benches share: how they are started, the emulator as a child process, what they
//! read of a process from `/proc`, the emulator's request counts, and where their JSON report
//! goes. Each bench includes this module with `mod common;` and uses the part it needs.

// Each bench uses its own part of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The `rtrsh` binary cargo built for the benches.
pub const RTRSH: &str = env!("CARGO_BIN_EXE_rtrsh");

/// Whether to measure, and in which mode: `None` when the binary was not started by
/// `cargo bench` (`cargo test --all-targets` runs bench binaries too, without `--bench`, and
/// the figures come from `cargo bench`, in release), after saying so; otherwise whether this is
/// the quick run (`--quick` or `RTRSH_BENCH_QUICK=1`; every other argument is ignored).
pub fn mode(bench: &str) -> Option<bool> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("{bench} bench: skipped (run it with `cargo bench --bench {bench}`)");
        return None;
    }
    Some(
        std::env::args().any(|a| a == "--quick")
            || std::env::var("RTRSH_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0"),
    )
}

/// reqwest is built without a default TLS provider; loopback http needs none, but the builder
/// wants one installed.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// CPUs this process may run on (0 when unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Seconds since the Unix epoch, for the report.
pub fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The short hash of the checked-out commit, for the report.
pub fn git_commit() -> Option<String> {
    output_of(
        Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR")),
    )
}

/// What a command printed, trimmed, if it ran and succeeded (its stderr is dropped).
pub fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `target/`: two levels above the `rtrsh` binary cargo built for the benches
/// (`$CARGO_TARGET_DIR` when that is set).
pub fn target_dir() -> PathBuf {
    Path::new(RTRSH)
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Writes the report as pretty JSON to `target/<file>` (overwritten on every run) and says where.
pub fn write_report(file: &str, report: &Value) {
    let path = target_dir().join(file);
    let text = serde_json::to_string_pretty(report).expect("report serialises");
    match std::fs::write(&path, text + "\n") {
        Ok(()) => println!("JSON report: {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}

// ---------------------------------------------------------------------------------------------
// A process, from /proc

/// Linux counts CPU time in ticks of 1/100 s.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// A `kB` field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, or of this process's with `None`;
/// `None` when the process (or /proc) is gone.
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// `VmHWM` (peak resident set) of a live process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    status_kib(Some(pid), "VmHWM:")
}

/// CPU time (user + system) a process has used so far, in clock ticks (`/proc/<pid>/stat`
/// fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so fields 14 and 15 are at 11 and 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// CPU time (user + system) of a live process so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_ticks(pid).map(|t| t as f64 / TICKS_PER_SECOND)
}

// ---------------------------------------------------------------------------------------------
// The emulator as a child process

/// `rtrsh emulator --listen 127.0.0.1:0 ...` as a child process, killed when dropped.
pub struct EmulatorProcess {
    child: Child,
    /// Its address, from its "listening on" line.
    pub base: String,
    _stdout: BufReader<ChildStdout>,
}

impl EmulatorProcess {
    /// Starts the emulator with `args` after `--listen 127.0.0.1:0`, and waits for the line that
    /// gives its address.
    pub fn start<I>(args: I) -> Result<EmulatorProcess, String>
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        let mut child = Command::new(RTRSH)
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start `rtrsh emulator`: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("`rtrsh emulator` has no stdout".into());
        };
        let mut reader = BufReader::new(stdout);
        for _ in 0..20 {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if let Some(rest) = line.trim().split("listening on ").nth(1) {
                return Ok(EmulatorProcess {
                    base: rest.trim().to_string(),
                    child,
                    _stdout: reader,
                });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err("`rtrsh emulator` did not print its address".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator's stats (`GET /_emulator/stats`)

/// Requests to one endpoint (`"METHOD /path"`) in a stats snapshot.
pub fn endpoint_count(stats: &Value, key: &str) -> u64 {
    stats["endpoints"][key]["count"].as_u64().unwrap_or(0)
}

/// Every endpoint with its count, as `{ "METHOD /path": n }`.
pub fn endpoint_counts(stats: &Value) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(obj) = stats["endpoints"].as_object() {
        for (k, v) in obj {
            m.insert(k.clone(), v["count"].clone());
        }
    }
    Value::Object(m)
}
