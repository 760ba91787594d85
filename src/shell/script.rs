//! Non-interactive runs: `-c LINE`, `--script FILE`, or lines piped to stdin. Lines run in
//! order; blank lines and `#` comments are skipped; no prompt is printed. The exit status is the
//! worst of: 1 a command failed, 2 a line was invalid, 3 authentication or connection failed.

use std::io::{Read, Write};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::falcon::FalconError;
use crate::falcon::error::hint;
use crate::session::poll::{Collect, Completion, OutputSink};
use crate::session::{HostSession, Notice, Outcome, classify};
use crate::shell::builtins::{self, Builtin};
use crate::shell::{CliError, Exit, ShellArgs, one_line};

/// The lines to run, or `None` for an interactive prompt.
pub fn source(args: &ShellArgs, stdin_tty: bool) -> Result<Option<Vec<String>>, CliError> {
    if !args.commands.is_empty() {
        // A -c argument may hold several lines (e.g. pasted); each runs on its own.
        return Ok(Some(
            args.commands
                .iter()
                .flat_map(|c| c.lines().map(str::to_string))
                .collect(),
        ));
    }
    if let Some(path) = &args.script {
        let text = std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read script {}: {e}", path.display())))?;
        return Ok(Some(
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::to_string)
                .collect(),
        ));
    }
    if !stdin_tty {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(format!("cannot read commands from stdin: {e}")))?;
        return Ok(Some(
            String::from_utf8_lossy(&buf)
                .lines()
                .map(str::to_string)
                .collect(),
        ));
    }
    Ok(None)
}

/// Writes host output to our stdout/stderr as it arrives.
pub struct TerminalSink {
    out: std::io::Stdout,
    err: std::io::Stderr,
    raw: bool,
    /// Whether the last byte written to stdout was a newline (so the prompt starts on its own
    /// line).
    pub ends_with_newline: bool,
    err_ends_with_newline: bool,
    pub broken_pipe: bool,
}

impl TerminalSink {
    pub fn new(raw: bool) -> Self {
        TerminalSink {
            out: std::io::stdout(),
            err: std::io::stderr(),
            raw,
            ends_with_newline: true,
            err_ends_with_newline: true,
            broken_pipe: false,
        }
    }

    fn write(&mut self, to_err: bool, chunk: &str) {
        let text = if self.raw {
            chunk.to_string()
        } else {
            neutralise(chunk)
        };
        if text.is_empty() {
            return;
        }
        let r = if to_err {
            self.err_ends_with_newline = text.ends_with('\n');
            self.err
                .write_all(text.as_bytes())
                .and_then(|_| self.err.flush())
        } else {
            self.ends_with_newline = text.ends_with('\n');
            self.out
                .write_all(text.as_bytes())
                .and_then(|_| self.out.flush())
        };
        if let Err(e) = r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.broken_pipe = true;
        }
    }

    /// Ends the command's stdout with a newline if it did not (so output never runs into the
    /// next line).
    pub fn finish_line(&mut self) {
        use std::io::IsTerminal;
        // Piped output stays byte-exact; only a terminal gets the cosmetic newline.
        if !self.ends_with_newline && self.out.is_terminal() {
            let _ = self.out.write_all(b"\n").and_then(|_| self.out.flush());
            self.ends_with_newline = true;
        }
        if !self.err_ends_with_newline && self.err.is_terminal() {
            let _ = self.err.write_all(b"\n").and_then(|_| self.err.flush());
            self.err_ends_with_newline = true;
        }
    }
}

impl OutputSink for TerminalSink {
    fn stdout(&mut self, chunk: &str) {
        self.write(false, chunk);
    }

    fn stderr(&mut self, chunk: &str) {
        self.write(true, chunk);
    }
}

/// Makes host text inert for a terminal: control characters other than newline and tab are
/// shown as `\xNN` (ESC as `\e`), so escape sequences cannot act.
pub fn neutralise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\x1b' => out.push_str("\\e"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The `--json` record of one command.
fn json_record(
    session: &HostSession,
    sid: &str,
    line: &str,
    out: &Outcome,
    collected: &Collect,
) -> serde_json::Value {
    let status = match out.polled.completion {
        Completion::Complete if out.queued => "queued",
        Completion::Complete if out.polled.stderr_seen => "error",
        Completion::Complete => "ok",
        Completion::TimedOut => "timeout",
        Completion::Cancelled => "cancelled",
    };
    let t = session.target();
    json!({
        "host": t.hostname,
        "aid": t.aid,
        "session_id": sid,
        "command": line,
        "tier": out.tier,
        "status": status,
        "stdout": collected.stdout,
        "stderr": collected.stderr,
        "cloud_request_id": out.cloud_request_id,
        "started_at": humantime::format_rfc3339_millis(out.started_at).to_string(),
        "duration_ms": out.elapsed.as_millis() as u64,
        "status_calls": out.polled.status_calls,
        "sequence_ids_seen": out.polled.sequence_ids_seen,
    })
}

fn print_notices(notices: &[Notice]) {
    for n in notices {
        match n {
            Notice::Reopened { cwd } => {
                eprintln!(
                    "rtrsh: the session had expired; opened a new one in {}",
                    one_line(cwd)
                )
            }
            Notice::Queued => eprintln!(
                "rtrsh: the host is offline; the command is queued and runs when it returns"
            ),
        }
    }
}

/// Reports a command-level API failure; returns the exit status it implies.
pub fn report_failure(e: &FalconError) -> Exit {
    eprintln!("rtrsh: error: {}", one_line(&e.to_string()));
    if let Some(h) = hint(e) {
        eprintln!("hint: {}", one_line(&h));
    }
    if e.is_auth_or_connection() {
        Exit::AuthOrConnection
    } else {
        Exit::CommandFailed
    }
}

/// Runs `lines` on the session; returns the worst exit status.
pub async fn run(
    session: &HostSession,
    args: &ShellArgs,
    lines: Vec<String>,
) -> Result<Exit, CliError> {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    });
    let platform = session.target().platform;
    let mut worst = Exit::Ok;
    let mut history: Vec<String> = Vec::new();
    let mut term = TerminalSink::new(args.raw);
    for (n, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if cancel.is_cancelled() || term.broken_pipe {
            break;
        }
        match builtins::parse(line) {
            Some(Builtin::Exit) => break,
            Some(Builtin::History) => {
                for (i, h) in history.iter().enumerate() {
                    println!("{:5}  {}", i + 1, h);
                }
                continue;
            }
            Some(Builtin::Help(topic)) => {
                match builtins::help(topic.as_deref(), platform) {
                    Ok(text) => print!("{text}"),
                    Err(e) => {
                        eprintln!("rtrsh: line {}: {}", n + 1, one_line(&e));
                        worst = worst.max(Exit::Usage);
                    }
                }
                continue;
            }
            None => {}
        }
        history.push(line.to_string());
        let (words, tier) = match classify(line, platform) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("rtrsh: line {}: {}", n + 1, one_line(&e.to_string()));
                worst = worst.max(Exit::Usage);
                if args.fail_fast {
                    break;
                }
                continue;
            }
        };
        let mut collected = Collect::default();
        let result = if args.json {
            session
                .run(line, &words, tier, &mut collected, &cancel)
                .await
        } else {
            let r = session.run(line, &words, tier, &mut term, &cancel).await;
            term.finish_line();
            r
        };
        match result {
            Ok(outcome) => {
                print_notices(&outcome.notices);
                if args.json {
                    let sid = session.session_id().await;
                    println!("{}", json_record(session, &sid, line, &outcome, &collected));
                }
                match outcome.polled.completion {
                    Completion::Cancelled => {
                        eprintln!(
                            "rtrsh: cancelled; the command may still be running on the host (cloud_request_id {})",
                            outcome.cloud_request_id
                        );
                        worst = worst.max(Exit::CommandFailed);
                        break;
                    }
                    Completion::TimedOut => {
                        eprintln!(
                            "rtrsh: gave up waiting after {}; the command may still be running (cloud_request_id {})",
                            humantime::format_duration(args.command_timeout),
                            outcome.cloud_request_id
                        );
                        worst = worst.max(Exit::CommandFailed);
                    }
                    Completion::Complete => {
                        if !outcome.ok() {
                            worst = worst.max(Exit::CommandFailed);
                        }
                    }
                }
                if !outcome.ok() && args.fail_fast {
                    break;
                }
            }
            Err(e) => {
                let exit = report_failure(&e);
                worst = worst.max(exit);
                if exit == Exit::AuthOrConnection || args.fail_fast {
                    break;
                }
            }
        }
    }
    ctrl_c.abort();
    Ok(worst)
}
