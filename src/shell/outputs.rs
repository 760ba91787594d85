//! Where a host's command results go: the terminal (sanitised unless `--raw`), the audit
//! transcript, `--json` records, a local pipe or file, the saved output, the parsed results, and
//! the evidence folder of `get`. Shared by the line runner (`exec`) and `get`.

use std::io::{IsTerminal, Stderr, Stdout, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Exit;
use crate::output::style::{self, Stream};
use crate::output::transcript::{SessionInfo, Transcript};
use crate::output::writer::{OutputMode, SanitizingWriter};
use rtrsh_client::session::HostSession;
use rtrsh_client::session::poll::OutputSink;

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
    /// Writes the newline a command's output left pending on stdout (see [`Self::finish`]),
    /// before another writer (a local pipeline) takes stdout.
    pub fn release_stdout(&mut self) {
        if std::mem::take(&mut self.out_sep) {
            let r = self
                .out
                .get_mut()
                .write_all(b"\n")
                .and_then(|_| self.out.get_mut().flush());
            self.note(r);
        }
    }

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
    pub get: GetOptions,
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
    pub(super) fn json_records(&self) -> bool {
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

pub fn session_info(session: &HostSession, session_id: impl Into<String>) -> SessionInfo {
    let t = session.target();
    SessionInfo {
        host: t.hostname.clone(),
        aid: t.aid.to_string(),
        session_id: Some(session_id.into()),
        trace_ids: Vec::new(),
    }
}

/// Where and how `get` saves files.
#[derive(Clone, Debug)]
pub struct GetOptions {
    /// Root of the evidence folders (one per host).
    pub evidence_dir: PathBuf,
    /// Extract the file from the 7z (false: keep the archive only).
    pub extract: bool,
    /// Give up waiting for the upload to the cloud after this long.
    pub upload_timeout: Duration,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            evidence_dir: PathBuf::from("evidence"),
            extract: true,
            upload_timeout: Duration::from_secs(600),
        }
    }
}
