//! Running one checked command line on the session, the same way for scripts and the prompt:
//! output streams to the terminal (sanitised unless `--raw`) or, with `--json`, into the
//! command's JSON line as it arrives ([`RecordStream`]: stdout is never held whole), its SHA-256
//! is computed on the fly for the audit transcript, and the outcome becomes a [`CommandRecord`].

use std::io::{IsTerminal, Stderr, Stdout, Write};

use tokio_util::sync::CancellationToken;

use crate::command::{Tier, script_timeout};
use crate::falcon::FalconError;
use crate::falcon::error::hint;
use crate::output::record::{CommandRecord, CommandStatus, RecordStream};
use crate::output::transcript::{OutputDigest, SessionInfo, Transcript};
use crate::output::writer::{OutputMode, SanitizingWriter};
use crate::session::poll::{Completion, OutputSink};
use crate::session::{HostSession, Notice};
use crate::shell::{Exit, one_line};

/// Host output to our stdout/stderr, sanitised unless raw.
pub struct TerminalSink {
    out: SanitizingWriter<Stdout>,
    err: SanitizingWriter<Stderr>,
    out_newline: bool,
    err_newline: bool,
    out_tty: bool,
    /// Piped stdout of the previous command did not end with a newline: write one before the
    /// next command's output (each command's own bytes stay exact).
    out_sep: bool,
    pub broken_pipe: bool,
}

impl TerminalSink {
    pub fn new(raw: bool) -> Self {
        let mode = if raw {
            OutputMode::Raw
        } else {
            OutputMode::Sanitized
        };
        TerminalSink {
            out: SanitizingWriter::new(std::io::stdout(), mode),
            err: SanitizingWriter::new(std::io::stderr(), mode),
            out_newline: true,
            err_newline: true,
            out_tty: std::io::stdout().is_terminal(),
            out_sep: false,
            broken_pipe: false,
        }
    }

    fn note(&mut self, r: std::io::Result<()>) {
        if let Err(e) = r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.broken_pipe = true;
        }
    }

    /// Ends a command's output: flushes sanitiser state and makes sure the next line starts on
    /// its own: always on stderr, on stdout only on a terminal (piped stdout stays byte-exact).
    pub fn finish(&mut self) {
        let r = self.out.finish().and_then(|_| self.err.finish());
        self.note(r);
        if !self.out_newline {
            if self.out_tty {
                let r = self.out.get_mut().write_all(b"\n");
                self.note(r);
            } else {
                self.out_sep = true;
            }
        }
        // Stderr is for people, and rtrsh's own messages follow it there: a host's last line
        // always gets its newline (`--json` keeps the exact bytes).
        if !self.err_newline {
            let r = self.err.get_mut().write_all(b"\n");
            self.note(r);
        }
        let r = self
            .out
            .get_mut()
            .flush()
            .and_then(|_| self.err.get_mut().flush());
        self.note(r);
        self.out_newline = true;
        self.err_newline = true;
    }

    fn write(&mut self, to_err: bool, chunk: &str) {
        if chunk.is_empty() {
            return;
        }
        let mut no_sep = false;
        let (w, newline, sep): (&mut dyn Write, _, _) = if to_err {
            (&mut self.err, &mut self.err_newline, &mut no_sep)
        } else {
            (&mut self.out, &mut self.out_newline, &mut self.out_sep)
        };
        let mut r = Ok(());
        if std::mem::take(sep) {
            // Written through the sanitiser too: a plain newline passes unchanged.
            r = w.write_all(b"\n");
        }
        *newline = chunk.ends_with('\n');
        let r = r
            .and_then(|_| w.write_all(chunk.as_bytes()))
            .and_then(|_| w.flush());
        self.note(r);
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

/// Feeds every chunk to the digest and to either the terminal or the command's JSON line.
struct Tee<'a, 'f> {
    digest: &'a mut OutputDigest,
    term: Option<&'a mut TerminalSink>,
    /// `--json`: the line being written, and the record whose head fields it starts with.
    json: Option<(&'a mut RecordStream<Stdout>, &'a CommandRecord)>,
    first: Option<&'a mut (dyn FnMut() + 'f)>,
    /// The end of stderr (enough to tell a script stopped by its `-Timeout`).
    stderr_tail: String,
}

/// How much of the end of stderr [`Tee`] keeps.
const STDERR_TAIL: usize = 1024;

impl Tee<'_, '_> {
    fn arrived(&mut self) {
        if let Some(f) = self.first.take() {
            f();
        }
    }
}

impl OutputSink for Tee<'_, '_> {
    fn stdout(&mut self, chunk: &str) {
        self.arrived();
        self.digest.stdout(chunk.as_bytes());
        if let Some(t) = self.term.as_deref_mut() {
            t.stdout(chunk);
        }
        if let Some((s, rec)) = self.json.as_mut() {
            s.stdout(rec, chunk);
        }
    }

    fn stderr(&mut self, chunk: &str) {
        self.arrived();
        self.stderr_tail.push_str(chunk);
        if self.stderr_tail.len() > 2 * STDERR_TAIL {
            let mut cut = self.stderr_tail.len() - STDERR_TAIL;
            while !self.stderr_tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.stderr_tail.drain(..cut);
        }
        self.digest.stderr(chunk.as_bytes());
        if let Some(t) = self.term.as_deref_mut() {
            t.stderr(chunk);
        }
        if let Some((s, _)) = self.json.as_mut() {
            s.stderr(chunk);
        }
    }
}

/// Where results go.
pub struct Outputs {
    pub term: TerminalSink,
    pub transcript: Transcript,
    pub json: bool,
    /// Prints notices (a line each) without corrupting a prompt being typed.
    pub notify: Box<dyn FnMut(String) + Send>,
    /// Where and how `get` saves retrieved files.
    pub get: crate::shell::get::GetOptions,
}

impl Outputs {
    pub fn notify(&mut self, msg: impl Into<String>) {
        (self.notify)(msg.into());
    }
}

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineResult {
    Ok,
    Failed(Exit),
    Cancelled,
}

pub fn session_info(session: &HostSession, session_id: String) -> SessionInfo {
    let t = session.target();
    SessionInfo {
        host: t.hostname.clone(),
        aid: t.aid.clone(),
        session_id: Some(session_id),
        trace_ids: Vec::new(),
    }
}

/// Runs one checked line. `on_first_output` runs when the first output (or completion) arrives
/// (the prompt uses it to stop its spinner).
pub async fn run_line(
    session: &HostSession,
    line: &str,
    words: &[String],
    tier: Tier,
    outs: &mut Outputs,
    cancel: &CancellationToken,
    on_first_output: Option<&mut (dyn FnMut() + '_)>,
) -> LineResult {
    let started = std::time::SystemTime::now();
    let mut digest = OutputDigest::default();
    let json = outs.json;
    let t = session.target();
    let mut rec = CommandRecord::new(&t.hostname, &t.aid, line, tier, started);
    let mut stream = json.then(|| RecordStream::new(std::io::stdout()));
    let (result, stderr_tail) = {
        let mut tee = Tee {
            digest: &mut digest,
            term: if json { None } else { Some(&mut outs.term) },
            json: stream.as_mut().map(|s| (s, &rec)),
            first: on_first_output,
            stderr_tail: String::new(),
        };
        let r = session.run(line, words, tier, &mut tee, cancel).await;
        tee.arrived();
        (r, tee.stderr_tail)
    };
    if !json {
        outs.term.finish();
    }
    rec.session_id = Some(session.session_id().await);
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return failed(outs, rec, stream, &e, started, &digest),
    };
    for n in &outcome.notices {
        match n {
            Notice::Reopened { cwd } => {
                let info = session_info(session, session.session_id().await);
                let _ = outs.transcript.session_reopen(&info);
                outs.notify(format!(
                    "session expired; re-opened it and returned to {}",
                    one_line(cwd)
                ));
            }
            Notice::Queued => {
                outs.notify("host offline: the command is queued and runs when the host returns")
            }
            Notice::Recovered => outs.notify(
                "the API did not confirm the command, but the session log shows it ran, so its output was fetched anyway",
            ),
        }
    }
    rec.cloud_request_id = Some(outcome.cloud_request_id.clone());
    rec.sequence_ids_seen = outcome.polled.sequence_ids_seen.clone();
    rec.queued = outcome.queued;
    rec.exit.complete = outcome.polled.completion == Completion::Complete && !outcome.queued;
    rec.set_duration(outcome.elapsed);
    let (status, result) = match outcome.polled.completion {
        Completion::Complete if outcome.queued => (CommandStatus::Queued, LineResult::Ok),
        Completion::Complete if outcome.polled.stderr_seen => (
            CommandStatus::Error,
            LineResult::Failed(Exit::CommandFailed),
        ),
        Completion::Complete => (CommandStatus::Ok, LineResult::Ok),
        Completion::TimedOut => {
            outs.notify(format!(
                "gave up waiting; the command may still be running on the host (cloud_request_id {})",
                outcome.cloud_request_id
            ));
            (
                CommandStatus::Timeout,
                LineResult::Failed(Exit::CommandFailed),
            )
        }
        Completion::Cancelled => {
            outs.notify(format!(
                "cancelled; the command may still be running on the host (cloud_request_id {})",
                outcome.cloud_request_id
            ));
            (CommandStatus::Unknown, LineResult::Cancelled)
        }
    };
    if outcome.polled.completion == Completion::Complete
        && outcome.polled.stderr_seen
        && words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("runscript"))
        && script_timeout::looks_cut_off(&stderr_tail)
    {
        let sent = crate::command::lexer::words(&outcome.command_string).unwrap_or_default();
        outs.notify(script_timeout::cut_off_note(&sent));
    }
    rec.status = status;
    finish_record(outs, rec, stream, &digest);
    // `get` in one step: wait for the upload, download, verify and extract.
    if result == LineResult::Ok
        && !outcome.queued
        && words.first().is_some_and(|w| w.eq_ignore_ascii_case("get"))
        && let Some(path) = words.get(1)
    {
        return crate::shell::get::after_get(session, path, &outcome, outs).await;
    }
    result
}

/// The transcript entry and, with `--json`, the end of the command's JSON line (all of it when
/// no output started it).
fn finish_record(
    outs: &mut Outputs,
    rec: CommandRecord,
    stream: Option<RecordStream<Stdout>>,
    digest: &OutputDigest,
) {
    if let Err(e) = outs.transcript.command_streamed(&rec, digest) {
        outs.notify(format!("could not write the audit transcript: {e}"));
    }
    if outs.json {
        let stream = stream.unwrap_or_else(|| RecordStream::new(std::io::stdout()));
        if let Err(e) = stream.finish(&rec)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            outs.term.broken_pipe = true;
        }
    }
}

fn failed(
    outs: &mut Outputs,
    mut rec: CommandRecord,
    stream: Option<RecordStream<Stdout>>,
    e: &FalconError,
    started: std::time::SystemTime,
    digest: &OutputDigest,
) -> LineResult {
    eprintln!("rtrsh: error: {}", one_line(&e.to_string()));
    if let Some(h) = hint(e) {
        eprintln!("hint: {}", one_line(&h));
    }
    rec.status = if e.maybe_executed() {
        CommandStatus::Unknown
    } else {
        CommandStatus::Error
    };
    rec.exit.http_status = e.status();
    rec.exit.error_code = e.code();
    rec.exit.error = Some(e.to_string());
    if let Some(t) = e.trace_id() {
        rec.trace_ids.push(t.to_string());
    }
    rec.set_duration(started.elapsed().unwrap_or_default());
    finish_record(outs, rec, stream, digest);
    let exit = if e.is_auth_or_connection() {
        Exit::AuthOrConnection
    } else {
        Exit::CommandFailed
    };
    LineResult::Failed(exit)
}

/// The session built-ins that read the session or the cloud and print, answered the same way at
/// the prompt and in a script: `files`, `download [NAME]`, `queue`, `history`, `clear`. The
/// others (`exit`, `help`, `library`, a misused one) depend on where the line came from and are
/// answered by the caller.
pub async fn session_builtin(
    b: &crate::shell::builtins::Builtin,
    session: &HostSession,
    outs: &mut Outputs,
    history: &[String],
) -> Exit {
    use crate::shell::builtins::{self, Builtin};
    match b {
        Builtin::Files => {
            crate::shell::get::list_files(session, outs).await;
            Exit::Ok
        }
        Builtin::Download(name) => {
            crate::shell::get::download_files(session, name.as_deref(), outs).await
        }
        Builtin::Queue => {
            let sid = session.session_id().await;
            crate::shell::queue::show_session(session.client(), &sid, outs.json, false).await
        }
        Builtin::History => {
            builtins::print_history(history, outs.json);
            Exit::Ok
        }
        Builtin::Clear => {
            builtins::clear_screen(outs.json);
            Exit::Ok
        }
        Builtin::Exit | Builtin::Help(_) | Builtin::Library(_) | Builtin::Misused(_) => Exit::Ok,
    }
}
