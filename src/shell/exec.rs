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
use crate::output::style::{self, Stream};
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
    /// Host stderr is shown red (sanitised output to a colour terminal).
    err_colour: bool,
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
        // Colour goes around sanitised text only: `--raw` keeps the host's bytes as they are.
        let colour = |s| !raw && style::enabled(s);
        TerminalSink {
            out: SanitizingWriter::new(std::io::stdout(), mode)
                .with_highlight(colour(Stream::Stdout)),
            err: SanitizingWriter::new(std::io::stderr(), mode)
                .with_highlight(colour(Stream::Stderr)),
            out_newline: true,
            err_newline: true,
            out_tty: std::io::stdout().is_terminal(),
            err_colour: colour(Stream::Stderr),
            out_sep: false,
            broken_pipe: false,
        }
    }

    /// For the interactive prompt: stdout is a record of a terminal session even when it goes to
    /// a file or a pipe, so each command's output ends its line there too (the prompt that
    /// follows never draws over it).
    pub fn interactive(mut self, on: bool) -> Self {
        if on {
            self.out_tty = true;
        }
        self
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
        let r = if to_err {
            self.err_newline = chunk.ends_with('\n');
            // Red around the host's stderr: the sanitiser has made the chunk inert, so nothing
            // of the host's can change or end the colour (its own dimming of escaped controls
            // only sets the intensity, which the red leaves alone).
            let paint = self.err_colour.then_some(style::HOST_STDERR);
            let err = &mut self.err;
            paint
                .map_or(Ok(()), |p| err.get_mut().write_all(p.on.as_bytes()))
                .and_then(|_| err.write_all(chunk.as_bytes()))
                .and_then(|_| paint.map_or(Ok(()), |p| err.get_mut().write_all(p.off.as_bytes())))
                .and_then(|_| err.flush())
        } else {
            let mut r = Ok(());
            if std::mem::take(&mut self.out_sep) {
                // Written through the sanitiser too: a plain newline passes unchanged.
                r = self.out.write_all(b"\n");
            }
            self.out_newline = chunk.ends_with('\n');
            r.and_then(|_| self.out.write_all(chunk.as_bytes()))
                .and_then(|_| self.out.flush())
        };
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
    /// Stdout to a local pipe or file instead of the terminal.
    local: Option<&'a mut crate::shell::pipe::Local>,
    /// The saved-output log, with the host's name and aid.
    saved: Option<(&'a mut crate::output::saved::SavedOutput, &'a str, &'a str)>,
    /// `--json`: the line being written, and the record whose head fields it starts with.
    json: Option<(&'a mut RecordStream<Stdout>, &'a CommandRecord)>,
    /// The saved output's JSON line of the command (`records.jsonl`), written the same way.
    kept: Option<(&'a mut RecordStream<std::fs::File>, &'a CommandRecord)>,
    first: Option<&'a mut (dyn FnMut() + 'f)>,
    /// The end of stderr (enough to tell a script stopped by its `-Timeout`).
    stderr_tail: String,
    /// The whole stdout, for parsed results (up to their limit).
    parse: Option<String>,
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
        if let Some(p) = self.parse.as_mut()
            && p.len() <= crate::shell::results::MAX_OUTPUT
        {
            p.push_str(chunk);
        }
        if let Some((s, host, aid)) = self.saved.as_mut() {
            s.stdout(host, aid, chunk.as_bytes());
        }
        if let Some(l) = self.local.as_deref_mut() {
            l.put(chunk.as_bytes());
        } else if let Some(t) = self.term.as_deref_mut() {
            t.stdout(chunk);
        }
        if let Some((s, rec)) = self.json.as_mut() {
            s.stdout(rec, chunk);
        }
        if let Some((s, rec)) = self.kept.as_mut() {
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
        if let Some((s, host, aid)) = self.saved.as_mut() {
            s.stderr(host, aid, chunk.as_bytes());
        }
        if let Some(t) = self.term.as_deref_mut() {
            t.stderr(chunk);
        }
        if let Some((s, _)) = self.json.as_mut() {
            s.stderr(chunk);
        }
        if let Some((s, _)) = self.kept.as_mut() {
            s.stderr(chunk);
        }
    }
}

/// Where results go.
pub struct Outputs {
    pub term: TerminalSink,
    pub transcript: Transcript,
    pub json: bool,
    /// `--parsed`: JSON records carry a parsed command's records.
    pub parsed: bool,
    /// Prints notices (a line each) without corrupting a prompt being typed.
    pub notify: Box<dyn FnMut(String) + Send>,
    /// Where and how `get` saves retrieved files.
    pub get: crate::shell::get::GetOptions,
    /// The current command's local pipe or file (`| grep x`, `> out.txt`): its stdout goes
    /// there instead of the terminal.
    pub local: Option<crate::shell::pipe::Local>,
    /// Each command's full output, saved per host (`None`: `--no-save-output`).
    pub saved: Option<crate::output::saved::SavedOutput>,
    /// The current command's parsed results, when its output is parsed.
    pub collect: Option<crate::shell::results::Collect>,
}

impl Outputs {
    pub fn notify(&mut self, msg: impl Into<String>) {
        (self.notify)(msg.into());
    }

    /// `--json` records go to stdout: not for `stack FIELD CMD --json`, whose command output is
    /// discarded (the stack's lines stand for it).
    fn json_records(&self) -> bool {
        self.json
            && !self
                .local
                .as_ref()
                .is_some_and(crate::shell::pipe::Local::discards)
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
    let host = session.target();
    if let Some(s) = outs.saved.as_mut() {
        s.begin(&host.hostname, &host.aid, line);
    }
    let mut rec = CommandRecord::new(&host.hostname, &host.aid, line, tier, started);
    let mut streams = Streams {
        json: outs
            .json_records()
            .then(|| RecordStream::new(std::io::stdout())),
        kept: outs
            .saved
            .as_mut()
            .and_then(|s| s.records())
            .map(RecordStream::new),
    };
    let mut parsed = None;
    let (result, stderr_tail) = {
        let mut tee = Tee {
            digest: &mut digest,
            term: if json { None } else { Some(&mut outs.term) },
            local: outs.local.as_mut(),
            saved: outs
                .saved
                .as_mut()
                .map(|s| (s, host.hostname.as_str(), host.aid.as_str())),
            json: streams.json.as_mut().map(|s| (s, &rec)),
            kept: streams.kept.as_mut().map(|s| (s, &rec)),
            first: on_first_output,
            stderr_tail: String::new(),
            parse: outs.collect.is_some().then(String::new),
        };
        let r = session.run(line, words, tier, &mut tee, cancel).await;
        tee.arrived();
        // A complete answer only: a cut-off one would stack as a host without those values.
        if let (Some(c), Some(text), Ok(o)) = (outs.collect.as_mut(), tee.parse.take(), &r)
            && o.polled.completion == Completion::Complete
            && !o.queued
            && !(o.polled.stderr_seen && text.is_empty())
        {
            c.add(&host.hostname, &host.aid, host.platform, None, &text);
            // `--json --parsed` carries the records beside the output.
            if json && outs.parsed {
                parsed = Some(crate::shell::results::parsed_json(
                    c.kind(),
                    host.platform,
                    &text,
                ));
            }
        }
        (r, tee.stderr_tail)
    };
    rec.parsed = parsed;
    if !json {
        outs.term.finish();
    }
    if let Some(s) = outs.saved.as_mut() {
        let how = match &result {
            Ok(o) => match o.polled.completion {
                Completion::Complete if o.queued => "queued for the offline host".to_string(),
                Completion::Complete if o.polled.stderr_seen => "error (stderr)".to_string(),
                Completion::Complete => "ok".to_string(),
                Completion::TimedOut => "timed out; it may still be running".to_string(),
                Completion::Cancelled => "cancelled; it may still be running".to_string(),
            },
            Err(e) => format!("error: {}", one_line(&e.to_string())),
        };
        s.end(&host.hostname, &host.aid, &how);
        if let Some(e) = s.take_error() {
            outs.notify(format!("could not save the output: {e}"));
        }
    }
    rec.session_id = Some(session.session_id().await);
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return failed(outs, rec, streams, &e, started, &digest),
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
            Notice::Resent => {
                // The audit trail says it was sent twice, whatever the log later shows.
                let info = session_info(session, session.session_id().await);
                let _ = outs.transcript.note(
                    Some(&info),
                    &format!("resent: {line} (the first execute was not confirmed and the session log showed it never arrived)"),
                );
                outs.notify(
                    "the API did not confirm the command and the session log shows it never arrived; it is read-only, so it was sent once more",
                )
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
    finish_record(outs, rec, streams, &digest);
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

/// The command's JSON lines being written as its output arrives: `--json` on stdout, and the
/// saved output's `records.jsonl`.
struct Streams {
    json: Option<RecordStream<Stdout>>,
    kept: Option<RecordStream<std::fs::File>>,
}

/// The transcript entry and, with `--json`, the end of the command's JSON line (all of it when
/// no output started it); the same for the saved output's record.
fn finish_record(outs: &mut Outputs, rec: CommandRecord, streams: Streams, digest: &OutputDigest) {
    if let Err(e) = outs.transcript.command_streamed(&rec, digest) {
        outs.notify(format!("could not write the audit transcript: {e}"));
    }
    if let Some(kept) = streams.kept
        && let Err(e) = kept.finish(&rec)
    {
        outs.notify(format!("could not save the output's record: {e}"));
    }
    if outs.json_records() {
        let stream = streams
            .json
            .unwrap_or_else(|| RecordStream::new(std::io::stdout()));
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
    streams: Streams,
    e: &FalconError,
    started: std::time::SystemTime,
    digest: &OutputDigest,
) -> LineResult {
    eprintln!("{}", style::error(&e.to_string()));
    if let Some(h) = hint(e) {
        eprintln!("{}", style::hint(&h));
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
    finish_record(outs, rec, streams, digest);
    let exit = if e.is_auth_or_connection() {
        Exit::AuthOrConnection
    } else {
        Exit::CommandFailed
    };
    LineResult::Failed(exit)
}
