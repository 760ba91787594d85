//! The `rtrsh` binary against the emulator: `get` in one step (the extracted file is
//! byte-identical to the host's, the manifest is right, modes are private, a corrupted download
//! fails the command), and `put`/`runscript` on the right tier with their quoting intact.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rtrsh_command::Tier;
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{TestEnv, fast};

const HOSTS_FILE: &str = r"C:\Windows\System32\drivers\etc\hosts";
const BIG_LOG: &str = r"C:\Logs\big-10mb.log";
/// A whole rtrsh run may take no longer than this (a hang is a failure).
const RUN_LIMIT: Duration = Duration::from_secs(120);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A working directory and a HOME for one rtrsh run, both private to the test.
struct Sandbox {
    _tmp: tempfile::TempDir,
    cwd: PathBuf,
    home: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cwd = tmp.path().join("work");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&cwd).expect("work dir");
        std::fs::create_dir_all(&home).expect("home dir");
        Sandbox {
            _tmp: tmp,
            cwd,
            home,
        }
    }

    fn evidence(&self, host: &str) -> PathBuf {
        self.cwd.join("evidence").join(host)
    }
}

/// Runs the binary with a clean environment (only HOME and the FALCON_* variables), killed if
/// it outlives [`RUN_LIMIT`].
async fn rtrsh(env: &TestEnv, sb: &Sandbox, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtrsh"));
    cmd.env_clear()
        .env("HOME", &sb.home)
        .env("FALCON_BASE_URL", &env.base)
        .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .current_dir(&sb.cwd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("starting rtrsh");
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
        let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for rtrsh") {
                break Some(s);
            }
            if start.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let run = Run {
            code: status.and_then(|s| s.code()),
            stdout: out.join().expect("stdout reader"),
            stderr: err.join().expect("stderr reader"),
        };
        assert!(
            status.is_some(),
            "rtrsh ran too long; stderr: {}",
            run.stderr
        );
        run
    })
    .await
    .expect("runner thread")
}

fn sha_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn manifest(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("manifest.jsonl"))
        .expect("manifest")
        .lines()
        .map(|l| serde_json::from_str(l).expect("manifest line is JSON"))
        .collect()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

/// The one log entry (`/_emulator/stats` `command_log`) whose command line is `line`.
fn logged<'a>(stats: &'a Value, line: &str) -> &'a Value {
    let log = stats["command_log"].as_array().expect("command_log");
    let hits: Vec<&Value> = log.iter().filter(|c| c["command_string"] == line).collect();
    assert_eq!(hits.len(), 1, "{line:?} in {log:#?}");
    hits[0]
}

fn tier(t: Tier) -> Value {
    serde_json::to_value(t).expect("tier")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_saves_byte_identical_files_with_a_manifest() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sb = Sandbox::new();
    let run = rtrsh(
        &env,
        &sb,
        &[
            "--host",
            "DESKTOP-01",
            "-c",
            &format!("get {HOSTS_FILE}"),
            "-c",
            &format!("get {BIG_LOG}"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let dir = sb.evidence("DESKTOP-01");
    let entries = manifest(&dir);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let stats = env.stats().await;
    for (path, m) in [HOSTS_FILE, BIG_LOG].iter().zip(&entries) {
        let want = env.host_file(&aid, path).await;
        let sha = sha_hex(&want);
        let local = sb.cwd.join(m["local_path"].as_str().expect("local_path"));
        let got = std::fs::read(&local).expect("extracted file");
        assert!(got == want, "{path}: extracted bytes differ");
        assert_eq!(m["host"], "DESKTOP-01");
        assert_eq!(m["aid"], aid.as_str());
        assert_eq!(m["remote_path"], *path);
        assert_eq!(m["sha256"], sha.as_str());
        assert_eq!(m["size"], want.len() as u64);
        assert_eq!(m["archive_kept"], false);
        assert_eq!(m["verified"], true);
        assert!(m["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{m}");
        let entry = logged(&stats, &format!("get {path}"));
        assert_eq!(m["cloud_request_id"], entry["cloud_request_id"]);
        assert_eq!(entry["tier"], tier(Tier::ActiveResponder));
        let name = local
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        // The file keeps its own name and extension (the manifest keeps the hash).
        let own = path.rsplit('\\').next().expect("basename");
        assert_eq!(name, own);
        assert_eq!(local.parent(), Some(dir.as_path()));
        let short = format!(
            "{}…, {})",
            &sha[..8],
            rtrsh::output::layout::human_size(want.len() as u64)
        );
        assert!(
            run.stdout.lines().any(|l| l
                .starts_with(&format!("saved {path} -> evidence/DESKTOP-01/"))
                && l.ends_with(&short)),
            "stdout: {}",
            run.stdout
        );
        #[cfg(unix)]
        assert_eq!(mode(&local), 0o600, "{name}");
    }
    // Only the two files and the manifest: no archive, no leftovers.
    assert_eq!(names_in(&dir).len(), 3, "{:?}", names_in(&dir));
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&sb.cwd.join("evidence")), 0o700);
        assert_eq!(mode(&dir.join("manifest.jsonl")), 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_extract_keeps_the_archive_and_json_mode_keeps_stdout_clean() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sb = Sandbox::new();
    let evidence = sb.cwd.join("cases").join("c-1");
    let run = rtrsh(
        &env,
        &sb,
        &[
            "--host",
            "DESKTOP-01",
            "--json",
            "--no-extract",
            "--evidence-dir",
            "cases/c-1",
            "-c",
            &format!("get {HOSTS_FILE}"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the CommandRecord: {}", run.stdout);
    let rec: Value = serde_json::from_str(lines[0]).expect("record");
    assert_eq!(rec["status"], "ok", "{rec}");
    assert!(run.stderr.contains("saved "), "stderr: {}", run.stderr);
    let dir = evidence.join("DESKTOP-01");
    let m = &manifest(&dir)[0];
    assert_eq!(m["archive_kept"], true);
    let archive = sb.cwd.join(m["archive"].as_str().expect("archive"));
    assert_eq!(m["local_path"], m["archive"]);
    assert!(archive.to_string_lossy().ends_with(".7z"));
    // The kept archive holds the host's bytes (password `infected`).
    let mut reader = sevenz_rust2::ArchiveReader::open(
        &archive,
        sevenz_rust2::Password::new(rtrsh::shell::get::ARCHIVE_PASSWORD),
    )
    .expect("opens");
    let mut got = Vec::new();
    reader
        .for_each_entries(|_, r| {
            r.read_to_end(&mut got)?;
            Ok(true)
        })
        .expect("decodes");
    assert!(got == env.host_file(&aid, HOSTS_FILE).await);
    assert_eq!(names_in(&dir).len(), 2, "{:?}", names_in(&dir));
    #[cfg(unix)]
    assert_eq!(mode(&archive), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_download_fails_the_command_and_keeps_the_archive() {
    let env = TestEnv::start(EmulatorConfig {
        corrupt_downloads: true,
        ..fast()
    })
    .await;
    let sb = Sandbox::new();
    for path in [HOSTS_FILE, BIG_LOG] {
        let run = rtrsh(
            &env,
            &sb,
            &["--host", "DESKTOP-01", "-c", &format!("get {path}")],
        )
        .await;
        assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
        assert!(
            run.stderr.contains("corrupted download"),
            "stderr: {}",
            run.stderr
        );
        assert!(!run.stdout.contains("saved "), "stdout: {}", run.stdout);
    }
    let dir = sb.evidence("DESKTOP-01");
    let names = names_in(&dir);
    // Two kept archives and the manifest; no extracted file, no partial file.
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.ends_with(".7z")).count(), 2);
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    let entries = manifest(&dir);
    assert!(
        entries
            .iter()
            .all(|m| m["verified"] == false && m["local_path"].is_null())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_runscript_go_to_the_right_tier_with_quoting_intact() {
    let env = TestEnv::start(fast()).await;
    let sb = Sandbox::new();
    let raw = "runscript -Raw=```Write-Output \"a b\"``` -Timeout=30";
    let cloud = "runscript -CloudFile=\"Get-Triage\"";
    let put = "put triage.ps1";
    let run = rtrsh(
        &env,
        &sb,
        &[
            "--host",
            "DESKTOP-01",
            "--no-transcript",
            "-c",
            raw,
            "-c",
            cloud,
            "-c",
            put,
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout.contains("a b"), "stdout: {}", run.stdout);
    assert!(run.stdout.contains("triage done"), "stdout: {}", run.stdout);
    let host_path = r#"runscript -HostPath="C:\Windows\Temp\no such.ps1" -Timeout=60"#;
    // A file that is not in the put-files library: the API refuses the command (40408;
    // docs/protocol.md, "Errors") with a hint, and nothing runs on the host.
    let missing = "put not-in-the-library.exe";
    for line in [host_path, missing] {
        let run = rtrsh(
            &env,
            &sb,
            &["--host", "DESKTOP-01", "--no-transcript", "-c", line],
        )
        .await;
        if line == missing {
            assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
            assert!(
                run.stderr.contains("Put file not found by name (40408)")
                    && run
                        .stderr
                        .contains("hint: check the name and its case with `library`"),
                "stderr: {}",
                run.stderr
            );
        }
    }
    let stats = env.stats().await;
    // A script without -Timeout is sent with rtrsh's wait as its limit.
    let cloud_sent = format!("{cloud} -Timeout=900");
    for (line, t) in [
        (raw, Tier::Admin),
        (cloud_sent.as_str(), Tier::ActiveResponder),
        (put, Tier::Admin),
        (host_path, Tier::Admin),
    ] {
        assert_eq!(logged(&stats, line)["tier"], tier(t), "{line}");
    }
    let log = stats["command_log"].as_array().expect("command_log");
    assert!(
        log.iter().all(|c| c["command_string"] != missing),
        "{log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corruption_fault_can_be_switched_at_run_time() {
    let env = TestEnv::start(fast()).await;
    let sb = Sandbox::new();
    let get = format!("get {HOSTS_FILE}");
    let args = [
        "--host",
        "DESKTOP-01",
        "--no-transcript",
        "-c",
        get.as_str(),
    ];
    let faults = |on: bool| serde_json::json!({ "corrupt_downloads": on });
    assert_eq!(
        env.control_post("/_emulator/faults", faults(true)).await,
        204
    );
    let bad = rtrsh(&env, &sb, &args).await;
    assert_eq!(bad.code, Some(1), "stderr: {}", bad.stderr);
    assert!(bad.stderr.contains("corrupted download"), "{}", bad.stderr);
    assert_eq!(
        env.control_post("/_emulator/faults", faults(false)).await,
        204
    );
    let good = rtrsh(&env, &sb, &args).await;
    assert_eq!(good.code, Some(0), "stderr: {}", good.stderr);
    // The kept bad archive did not stop the good copy from being saved beside it.
    let names = names_in(&sb.evidence("DESKTOP-01"));
    assert_eq!(names.len(), 3, "{names:?}");
}
