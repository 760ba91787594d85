//! Driving the real `rtrsh` binary against an in-process emulator, hermetically: a clean
//! environment with only `HOME` (a temporary directory, so history and the default transcript
//! land there), `PATH`, `USER` and the `FALCON_*` credentials. Every run has a deadline.
//!
//! - [`Shell::run`]: run to completion (stdin given or empty), for scripts.
//! - [`Shell::spawn`]: run in the background while the test acts on the emulator.
//! - [`Pty`]: run on a pseudo-terminal (an interactive prompt), with `expect` on the text the
//!   terminal shows (see [`Term`]) and the raw bytes kept for checks of what reached it.
//! - [`rtrsh_alone`]: no emulator of the test's (`rtrsh demo` starts its own).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::Value;

use super::TestEnv;
use super::term::Term;

/// No run of the binary may take longer than this: a hang is a failure.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

pub const BIN: &str = env!("CARGO_BIN_EXE_rtrsh");

/// One invocation of `rtrsh`, with its own `HOME`.
pub struct Shell {
    /// The emulator's URL (`FALCON_*` set for it), or none.
    base: Option<String>,
    /// The working directory: the test's by default.
    cwd: Option<PathBuf>,
    home: tempfile::TempDir,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    removed: Vec<String>,
    stdin: Vec<u8>,
    /// Stdin is a pipe (lines run as they arrive) rather than a file (checked whole first).
    stdin_pipe: bool,
    timeout: Duration,
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Out {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// `--json` output: every stdout line parsed (panics, showing the line, when one is not JSON).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l:?}"))
            })
            .collect()
    }

    /// Section headers (`=== ... ===`) on stdout: the fleet shell's, one a host or a group.
    pub fn headers(&self) -> Vec<String> {
        self.stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("=== ")?.strip_suffix(" ==="))
            .map(str::to_string)
            .collect()
    }

    /// How many hosts the section headers account for.
    pub fn hosts_in_sections(&self) -> usize {
        self.headers()
            .iter()
            .map(|h| {
                let n = |rest: &str| -> usize {
                    rest.split_whitespace()
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("no count in {h:?}"))
                };
                if let Some(rest) = h.strip_prefix("same output on ") {
                    n(rest)
                } else if let Some((_, rest)) = h.split_once("(above) on ") {
                    n(rest)
                } else if h.starts_with("stderr of ") {
                    0
                } else {
                    1
                }
            })
            .sum()
    }

    /// Panics with the whole run shown unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "exit code {} (expected {code})\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            truncate(&self.stdout(), 4000),
            truncate(&self.stderr, 4000),
        );
        self
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

/// `rtrsh` pointed at `env`, with the default (all-scopes) credentials.
pub fn rtrsh(env: &TestEnv) -> Shell {
    Shell::new(Some(env.base.clone()))
}

/// `pwd` on the host named `host`, without a transcript: the least a run can do.
pub async fn pwd_on(env: &TestEnv, host: &str) -> Out {
    rtrsh(env)
        .args(["--host", host, "--no-transcript"])
        .commands(["pwd"])
        .run()
        .await
}

/// `script` on the stdin of a shell on the host named `host` (stdin a file: the script is
/// checked whole before anything runs).
pub async fn script_on(env: &TestEnv, host: &str, script: impl Into<Vec<u8>>) -> Out {
    rtrsh(env).args(["--host", host]).stdin(script).run().await
}

/// `rtrsh` with no emulator and no `FALCON_*` variables (for `rtrsh demo`, which starts its
/// own), run in its temporary `HOME` (files it writes relative to the working directory land
/// there too).
pub fn rtrsh_alone() -> Shell {
    let mut sh = Shell::new(None);
    sh.cwd = Some(sh.home().to_path_buf());
    sh
}

impl Shell {
    /// No arguments, empty stdin, a new temporary `HOME`, the test's working directory.
    fn new(base: Option<String>) -> Shell {
        Shell {
            base,
            cwd: None,
            home: tempfile::tempdir().expect("a temporary HOME"),
            args: Vec::new(),
            envs: Vec::new(),
            removed: Vec::new(),
            stdin: Vec::new(),
            stdin_pipe: false,
            timeout: RUN_TIMEOUT,
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `-c LINE` for each line.
    pub fn commands<I, S>(self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.flag_each("-c", lines)
    }

    /// `--host NAME` for each name.
    pub fn hosts<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.flag_each("--host", names)
    }

    /// `--aid` for each host.
    pub fn aids(self, aids: &[String]) -> Self {
        self.flag_each("--aid", aids)
    }

    /// `FLAG VALUE` for each value.
    fn flag_each<I, S>(mut self, flag: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for v in values {
            self.args.push(flag.into());
            self.args.push(v.into());
        }
        self
    }

    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.envs.push((k.to_string(), v.into()));
        self
    }

    /// A longer deadline than [`RUN_TIMEOUT`] (runs that wait out a rate limit).
    /// Leaves this variable out of the environment (e.g. `FALCON_BASE_URL`, to autodiscover).
    pub fn env_remove(mut self, k: &str) -> Self {
        self.removed.push(k.to_string());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Stdin redirected from a file holding these bytes (not a terminal: a script, checked
    /// whole before anything runs).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self.stdin_pipe = false;
        self
    }

    /// Bytes piped to stdin: each line runs as it arrives.
    pub fn stdin_pipe(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self.stdin_pipe = true;
        self
    }

    /// The file `stdin` redirects from.
    fn stdin_file(&self) -> std::fs::File {
        file_holding(&self.stdin)
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The hermetic command line (no stdio set up).
    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("USER", "analyst")
            .args(&self.args);
        if let Some(base) = &self.base {
            c.env("FALCON_BASE_URL", base)
                .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
                .env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
        }
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        for k in &self.removed {
            c.env_remove(k);
        }
        c
    }

    /// Runs to completion (with the deadline) on a blocking thread; the emulator keeps serving
    /// on the test's runtime meanwhile.
    pub async fn run(&self) -> Out {
        self.spawn().wait().await
    }

    /// Starts in the background (stdin from the file or pipe of [`Shell::stdin`] /
    /// [`Shell::stdin_pipe`]; a pipe is closed after the bytes given).
    pub fn spawn(&self) -> Running {
        let stdin = if self.stdin_pipe {
            Stdio::piped()
        } else {
            Stdio::from(self.stdin_file())
        };
        let mut child = self
            .command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning rtrsh");
        if let Some(mut stdin) = child.stdin.take() {
            let bytes = self.stdin.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&bytes);
            });
        }
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        Running {
            child: Some(child),
            out: Some(out),
            err: Some(err),
            deadline: Instant::now() + self.timeout,
        }
    }
}

/// A background run of `rtrsh`.
pub struct Running {
    child: Option<std::process::Child>,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
    deadline: Instant,
}

impl Running {
    /// Waits for the exit (killing the child and failing at the deadline).
    pub async fn wait(mut self) -> Out {
        let mut child = self.child.take().expect("not waited yet");
        let deadline = self.deadline;
        let status = tokio::task::spawn_blocking(move || {
            loop {
                if let Some(s) = child.try_wait().expect("waiting for rtrsh") {
                    return Some(s);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .await
        .expect("the waiter thread");
        let stdout = self
            .out
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        let Some(status) = status else {
            panic!(
                "rtrsh did not finish in time; stderr:\n{}",
                truncate(&stderr, 4000)
            );
        };
        Out {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a blocking terminal conversation off the runtime (the emulator serves on it),
/// re-raising its panic with the original message.
pub async fn converse<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

// --- the emulator's side ---------------------------------------------------------------------

/// The command strings the emulator executed on `aid`, in order.
pub fn executed(stats: &Value, aid: &str) -> Vec<String> {
    stats["command_log"]
        .as_array()
        .map(|log| {
            log.iter()
                .filter(|e| e["aid"] == aid)
                .filter_map(|e| e["command_string"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// How many times the emulator executed exactly `line` on `aid`.
pub fn executions(stats: &Value, aid: &str, line: &str) -> usize {
    executed(stats, aid).iter().filter(|c| *c == line).count()
}

/// The sessions (id, record) the emulator opened on `aid`.
pub fn sessions_of(stats: &Value, aid: &str) -> Vec<(String, Value)> {
    stats["sessions"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, s)| s["aid"] == aid)
                .map(|(id, s)| (id.clone(), s.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The raw bytes of a file on a host, as the emulator stores them.
pub async fn file_bytes(env: &TestEnv, aid: &str, path: &str) -> Vec<u8> {
    let r = env
        .raw_http(true)
        .get(env.url(&format!("/_emulator/hosts/{aid}/file")))
        .query(&[("path", path)])
        .send()
        .await
        .expect("GET file");
    assert!(r.status().is_success(), "file {path}: {}", r.status());
    r.bytes().await.expect("file body").to_vec()
}

/// Waits (up to `within`) until `cond` holds for the emulator's stats; returns them.
pub async fn wait_for_stats(
    env: &TestEnv,
    within: Duration,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let s = env.stats().await;
        if cond(&s) {
            return s;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An unnamed temporary file holding `bytes`, read from the start (outside any HOME the test
/// inspects).
pub fn file_holding(bytes: &[u8]) -> std::fs::File {
    use std::io::{Seek, Write};
    let mut f = tempfile::tempfile().expect("a temporary file");
    f.write_all(bytes).expect("writing it");
    f.rewind().expect("rewinding it");
    f
}

/// [`files_under`] without the saved output (`.../rtrsh/output/...`): what the transcript wrote.
pub fn transcript_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let parts: Vec<_> = p.components().map(|c| c.as_os_str()).collect();
            !parts
                .windows(2)
                .any(|w| w[0] == "rtrsh" && w[1] == "output")
        })
        .collect()
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// A transcript (JSON lines): its text and its entries (panics, showing the line, where one is
/// not JSON).
pub fn transcript_entries(path: &Path) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(path).expect("reading the transcript");
    let entries = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (text, entries)
}

/// The `event` of each transcript entry, in order (`?` where it has none).
pub fn events(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("?"))
        .collect()
}

// --- pseudo-terminal -------------------------------------------------------------------------

/// The width of the test terminals: what rustyline assumes of a pseudo-terminal nobody sized
/// (0 columns). Not set explicitly: the program could read the size before the test set it.
pub const PTY_COLUMNS: usize = 80;

/// What the terminal received so far, filled by a reader thread.
struct Screen {
    /// What the terminal shows (see [`Term`]): expectations match this.
    term: Term,
    /// The raw bytes received since the last match.
    raw: Vec<u8>,
    /// Offset in the terminal's text up to which an earlier `expect` matched.
    seen: usize,
    /// The text from `mark` to `seen` when it was matched. Rows the cursor can reach may be
    /// repainted: where they no longer show this text (a hint replaced by another), what they
    /// show from there on counts as new; a repaint of the same text (the prompt redrawn on each
    /// key) does not.
    mark: usize,
    matched: String,
    /// The style of each byte of `matched` (typed letters differ from the dim hint they
    /// replace).
    matched_styles: Vec<u8>,
    eof: bool,
}

/// What the terminal got between two matches.
#[derive(Debug)]
pub struct Seen {
    /// The text shown, as a person reads it (rows joined by `\n`).
    pub text: String,
    /// The raw bytes received meanwhile, control sequences and all (lossy UTF-8): what the
    /// terminal was made to do, for tests that hostile text never reaches it active. Every byte
    /// belongs to exactly one match (a read may reach a little past the text matched).
    pub raw: String,
}

/// `rtrsh` on a pseudo-terminal (stdin a TTY: the interactive prompt). Spawned with expectrl;
/// the output is read by a thread blocking on the terminal (expectrl's own `expect` polls in a
/// busy loop, which would take a core from the shell under test on a two-core machine) and
/// applied to a model of the terminal, so tests see typed text and output as a person does, not
/// the line editor's repaints.
pub struct Pty {
    session: expectrl::Session,
    screen: Arc<(Mutex<Screen>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Keep at most this much unmatched output (a cancelled 100 MiB `cat` must not fill memory).
const SCREEN_CAP: usize = 4 << 20;

impl Pty {
    /// `shell` on a terminal (`TERM=xterm` unless the shell sets `TERM`).
    pub fn spawn(shell: &Shell) -> Pty {
        Pty::spawn_command(shell.command())
    }

    /// Any command on a terminal (`TERM=xterm` unless the command sets `TERM`).
    pub fn spawn_command(mut cmd: Command) -> Pty {
        if !cmd.get_envs().any(|(k, v)| k == "TERM" && v.is_some()) {
            cmd.env("TERM", "xterm");
        }
        let mut session = expectrl::Session::spawn(cmd).expect("spawning on a pty");
        // ptyprocess turns echo off in the child; terminals have it on (a program reading in
        // cooked mode relies on it). Set long before the program first reads the terminal.
        session
            .set_echo(true, Some(Duration::from_secs(10)))
            .expect("echo on");
        let mut handle = session.get_raw_handle().expect("the pty handle");
        let screen = Arc::new((Mutex::new(Screen::new()), Condvar::new()));
        let s = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                // EIO once the child closed its side: the end.
                let n = handle.read(&mut buf).unwrap_or(0);
                let (lock, cv) = &*s;
                let mut sc = lock.lock().unwrap_or_else(|p| p.into_inner());
                if n == 0 {
                    sc.eof = true;
                    cv.notify_all();
                    return;
                }
                sc.feed(&buf[..n]);
                cv.notify_all();
            }
        });
        Pty {
            session,
            screen,
            reader: Some(reader),
        }
    }

    /// Waits (up to `within`) for `text` on the terminal after the last match; returns the text
    /// shown before it. Panics showing the unmatched text otherwise.
    #[track_caller]
    pub fn expect(&self, text: &str, within: Duration) -> String {
        self.expect_seen(text, within).text
    }

    /// [`expect`](Self::expect), with the raw bytes received meanwhile.
    #[track_caller]
    pub fn expect_seen(&self, text: &str, within: Duration) -> Seen {
        let (lock, cv) = &*self.screen;
        let deadline = Instant::now() + within;
        let mut sc = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(seen) = sc.try_match(text) {
                return seen;
            }
            let now = Instant::now();
            if sc.eof || now >= deadline {
                let tail = sc.pending();
                let why = if sc.eof {
                    drop(sc);
                    format!("the terminal closed ({})", self.exit_status())
                } else {
                    "timed out".to_string()
                };
                panic!(
                    "expected {text:?} on the terminal; {why}; unmatched text:\n{:?}",
                    truncate(&tail, 4000)
                );
            }
            sc = cv
                .wait_timeout(sc, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// How the process ended, for failure messages (waits up to a second for it).
    fn exit_status(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match self.session.status() {
                Ok(expectrl::WaitStatus::StillAlive) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return format!("process: {other:?}"),
            }
        }
    }

    /// The text shown that no `expect` matched yet (without waiting).
    pub fn pending(&self) -> String {
        let sc = self.screen.0.lock().unwrap_or_else(|p| p.into_inner());
        sc.pending()
    }

    /// Types `s` (no Enter).
    pub fn send(&mut self, s: &str) {
        self.session.send(s).expect("writing to the pty");
    }

    /// Types `s` and Enter.
    pub fn line(&mut self, s: &str) {
        self.send(&format!("{s}\r"));
    }

    pub fn ctrl_c(&mut self) {
        self.send("\x03");
    }

    pub fn ctrl_d(&mut self) {
        self.send("\x04");
    }

    /// Waits for the terminal to close and the process to exit; returns its exit code.
    pub fn wait_exit(mut self, within: Duration) -> i32 {
        {
            let (lock, cv) = &*self.screen;
            let deadline = Instant::now() + within;
            let mut sc = lock.lock().unwrap_or_else(|p| p.into_inner());
            while !sc.eof {
                let now = Instant::now();
                if now >= deadline {
                    panic!(
                        "the program did not exit within {within:?}; unmatched text:\n{:?}",
                        truncate(&sc.pending(), 4000)
                    );
                }
                sc = cv
                    .wait_timeout(sc, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        // The terminal closed: the process is exiting; its status follows at once.
        match self.session.wait().expect("waiting for the program") {
            expectrl::WaitStatus::Exited(_, code) => code,
            other => panic!("ended by {other:?}"),
        }
    }
}

impl Screen {
    fn new() -> Screen {
        Screen {
            term: Term::new(PTY_COLUMNS),
            raw: Vec::new(),
            seen: 0,
            mark: 0,
            matched: String::new(),
            matched_styles: Vec::new(),
            eof: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.term.feed(bytes);
        self.raw.extend_from_slice(bytes);
        self.bound_memory();
    }

    /// `text` in the unmatched text: what came before it (and the raw bytes since the last
    /// match), everything up to its end now matched.
    fn try_match(&mut self, text: &str) -> Option<Seen> {
        let (from, shown, start) = self.unmatched();
        let i = shown[start..].find(text)?;
        let before = shown[start..start + i].to_string();
        let end = start + i + text.len();
        let seen = from + end;
        let mark = self.term.live_start().clamp(from, seen);
        self.matched = shown[mark - from..end].to_string();
        self.matched_styles = self.term.styles_from(mark, self.matched.len());
        self.mark = mark;
        self.seen = seen;
        let raw = std::mem::take(&mut self.raw);
        Some(Seen {
            text: before,
            raw: String::from_utf8_lossy(&raw).into_owned(),
        })
    }

    fn pending(&self) -> String {
        let (_, shown, start) = self.unmatched();
        shown[start..].to_string()
    }

    /// The text from `mark` on (and the offset it starts at), and where in it the unmatched
    /// part starts: at `seen`, or earlier where the terminal no longer shows what was matched.
    fn unmatched(&self) -> (usize, String, usize) {
        let (from, shown) = self.term.text_from(self.mark);
        let start = if from == self.mark {
            let styles = self.term.styles_from(from, self.matched.len());
            common_prefix((&shown, &styles), (&self.matched, &self.matched_styles))
        } else {
            // Dropped for memory: no comparison possible.
            let mut i = self.seen.saturating_sub(from).min(shown.len());
            while !shown.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        (from, shown, start)
    }

    /// Drops the oldest unmatched text beyond [`SCREEN_CAP`], and matched text no longer
    /// needed.
    fn bound_memory(&mut self) {
        let frozen_end = self.term.live_start();
        if frozen_end.saturating_sub(self.seen) > SCREEN_CAP {
            let p = frozen_end - SCREEN_CAP;
            self.seen = p;
            self.mark = p;
            self.matched.clear();
            self.matched_styles.clear();
        }
        let keep = self.mark.min(self.seen);
        if keep.saturating_sub(self.term.kept_from()) > SCREEN_CAP {
            self.term.forget_before(keep);
        }
        if self.raw.len() > SCREEN_CAP {
            let cut = self.raw.len() - SCREEN_CAP;
            self.raw.drain(..cut);
        }
    }
}

/// The length of the longest common prefix of two texts, each with the style of each byte
/// (a character boundary of both).
fn common_prefix(a: (&str, &[u8]), b: (&str, &[u8])) -> usize {
    let style = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    a.0.char_indices()
        .zip(b.0.chars())
        .find(|((i, x), y)| x != y || style(a.1, *i) != style(b.1, *i))
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.0.len().min(b.0.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repainted_row_is_not_new_text_but_a_changed_one_is() {
        let mut sc = Screen::new();
        sc.feed(b"banner\r\nH C:\\> ");
        assert_eq!(
            sc.try_match(r"H C:\> ").map(|s| s.text).as_deref(),
            Some("banner\n")
        );
        // Typing with a hint up: the row (prompt included) is repainted on every key.
        sc.feed(b"re\x1b[?2026h\r\x1b[KH C:\\> reg \x1b[2mquery|set\x1b[22m\r\x1b[11C\x1b[?2026l");
        assert!(
            sc.try_match(r"H C:\> ").is_none(),
            "the same prompt, redrawn"
        );
        let hint = sc.try_match("query|set").expect("the hint");
        assert_eq!(hint.text, "reg ");
        assert!(hint.raw.contains("\x1b[2mquery|set"), "{:?}", hint.raw);
        // The next key replaces the hint: the row differs from where `reg ` ends.
        sc.feed(b"\x1b[?2026h\r\x1b[KH C:\\> reg q\r\x1b[12C\x1b[?2026l");
        assert_eq!(sc.pending(), "q");
        // Enter, output, the next prompt.
        sc.feed(b"uery\r\nout\r\nH C:\\> ");
        let out = sc.try_match(r"H C:\> ").expect("the prompt");
        assert_eq!(out.text, "query\nout\n");
        assert_eq!(sc.pending(), "");
    }

    #[test]
    fn erased_text_that_comes_back_is_not_new() {
        let mut sc = Screen::new();
        sc.feed(b"P> pwd");
        assert!(sc.try_match("pwd").is_some());
        // Half a repaint: the row erased, then the same text again.
        sc.feed(b"\r\x1b[KP> ");
        assert_eq!(sc.pending(), "");
        sc.feed(b"pwd");
        assert_eq!(sc.pending(), "");
        assert!(sc.try_match("pwd").is_none());
    }
}
