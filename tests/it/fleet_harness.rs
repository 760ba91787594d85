//! Running the real `rtrsh` binary on a fleet, hermetically: a clean environment with only a
//! temporary `HOME`, `PATH`, `USER` and the `FALCON_*` credentials, and a deadline on every run.
//! The emulator keeps serving on the test's runtime while the binary runs on a blocking thread.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::Value;

use crate::support::TestEnv;

/// No run may take longer than this: a hang is a failure.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(240);

pub struct Rtrsh {
    base: String,
    pub home: tempfile::TempDir,
    args: Vec<String>,
    stdin: Vec<u8>,
    secret: String,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "exit code {} (expected {code})\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        );
        self
    }

    /// `--json` output, one record per line.
    pub fn records(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }

    /// Section headers (`=== ... ===`) on stdout.
    pub fn headers(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("=== ")?.strip_suffix(" ==="))
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
}

fn cut(s: &str) -> String {
    if s.len() <= 6000 {
        return s.to_string();
    }
    let mut end = 6000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

pub fn rtrsh(env: &TestEnv) -> Rtrsh {
    Rtrsh {
        base: env.base.clone(),
        home: tempfile::tempdir().expect("a temporary HOME"),
        args: Vec::new(),
        stdin: Vec::new(),
        secret: DEFAULT_CLIENT_SECRET.to_string(),
    }
}

impl Rtrsh {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// One `-c LINE` per line.
    pub fn lines(mut self, lines: &[&str]) -> Self {
        for l in lines {
            self.args.push("-c".into());
            self.args.push((*l).to_string());
        }
        self
    }

    /// `--aid` for each.
    pub fn aids(mut self, aids: &[String]) -> Self {
        for a in aids {
            self.args.push("--aid".into());
            self.args.push(a.clone());
        }
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = text.as_bytes().to_vec();
        self
    }

    pub fn secret(mut self, s: &str) -> Self {
        self.secret = s.to_string();
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rtrsh"));
        c.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("USER", "analyst")
            .env("FALCON_BASE_URL", &self.base)
            .env("FALCON_CLIENT_ID", DEFAULT_CLIENT_ID)
            .env("FALCON_CLIENT_SECRET", &self.secret)
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Starts the binary in the background, stdin redirected from a file holding the script
    /// (checked whole before anything runs).
    pub fn spawn(&self) -> Running {
        let stdin = crate::support::shell::file_holding(&self.stdin);
        let child = self.command().stdin(stdin).spawn().expect("spawning rtrsh");
        Running { child }
    }

    /// Runs to completion.
    pub async fn run(&self) -> Out {
        self.spawn().wait().await
    }
}

pub struct Running {
    child: Child,
}

impl Running {
    /// Waits for the exit (killing the process after [`RUN_TIMEOUT`]).
    pub async fn wait(mut self) -> Out {
        tokio::task::spawn_blocking(move || {
            let mut out = self.child.stdout.take().expect("stdout");
            let mut err = self.child.stderr.take().expect("stderr");
            let o = std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = out.read_to_end(&mut v);
                v
            });
            let e = std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = err.read_to_end(&mut v);
                v
            });
            let start = Instant::now();
            let status = loop {
                if let Some(s) = self.child.try_wait().expect("waiting for rtrsh") {
                    break s;
                }
                if start.elapsed() > RUN_TIMEOUT {
                    let _ = self.child.kill();
                    panic!("rtrsh ran longer than {RUN_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            Out {
                code: status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.join().unwrap_or_default()).into_owned(),
                stderr: String::from_utf8_lossy(&e.join().unwrap_or_default()).into_owned(),
            }
        })
        .await
        .expect("the runner thread")
    }
}

/// `command_log` entries of batch commands with this command string: (aid, cloud_request_id).
pub fn batch_log(stats: &Value, command: &str) -> Vec<(String, String)> {
    stats["command_log"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["via"] == "batch" && e["command_string"] == command)
                .map(|e| {
                    (
                        e["aid"].as_str().unwrap_or_default().to_string(),
                        e["cloud_request_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
