//! Running one checked command line on the session, the same way for scripts and the prompt:
//! output streams to the terminal (sanitised unless `--raw`) or, with `--json`, into the
//! command's JSON line as it arrives ([`RecordStream`]: stdout is never held whole), its SHA-256
//! is computed on the fly for the audit transcript, and the outcome becomes a [`CommandRecord`].

use std::io::Stdout;

use tokio_util::sync::CancellationToken;

use crate::error::Exit;
use crate::output::record::{CommandRecord, CommandStatus, RecordStream};
use crate::output::sanitize::one_line;
use crate::output::style;
use crate::shell::outputs::{LineResult, Outputs, TerminalSink, session_info};
use rtrsh_client::FalconError;
use rtrsh_client::error::hint;
use rtrsh_client::session::poll::{Completion, OutputSink};
use rtrsh_client::session::{HostSession, Notice};
use rtrsh_command::digest::OutputDigest;
use rtrsh_command::{Tier, script_timeout};

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
    rec.session_id = Some(session.session_id().await.into());
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
    rec.cloud_request_id = Some(outcome.cloud_request_id.to_string());
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
        let sent = rtrsh_command::lexer::words(&outcome.command_string).unwrap_or_default();
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
