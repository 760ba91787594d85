//! The `--json` output: one [`CommandRecord`] per command, serialised as one line of JSON, so
//! `rtrsh --json ... | jq` works.
//!
//! Host output is kept exactly, never sanitised: JSON string escaping already makes control
//! characters inert (`\u001b`), so the record is safe to print; whoever extracts a field with
//! `jq -r` asks for the raw bytes, like `--raw`. When the bytes are not valid UTF-8 (JSON strings
//! cannot hold them), `stdout` holds the lossy text for reading and `stdout_b64` the exact bytes,
//! so nothing is lost. Same for stderr.

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::json;
use rtrsh_command::Tier;

/// How a command ended, as far as rtrsh knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    /// Completed, and the host reported no error.
    Ok,
    /// The API or the host reported an error.
    Error,
    /// No completion within the time limit; it may still run.
    Timeout,
    /// Queued for an offline host.
    Queued,
    /// Sent, but its fate is unknown (e.g. the connection broke after the execute request).
    Unknown,
}

impl CommandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Ok => "ok",
            CommandStatus::Error => "error",
            CommandStatus::Timeout => "timeout",
            CommandStatus::Queued => "queued",
            CommandStatus::Unknown => "unknown",
        }
    }
}

/// What the API said about the end of a command. RTR has no process exit code; this is the
/// closest thing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The status endpoint reported `complete: true`.
    pub complete: bool,
    /// HTTP status of a failed API call, if that is how the command failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The API's `errors[].code` (e.g. 40401).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// The API's error message, or rtrsh's one-line description of the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One command on one host, as written by `--json`. The fields known when the command starts
/// come first and the output before the fields known only at its end, so a record can be
/// written while its output arrives ([`RecordStream`]); both ways give the same line.
///
/// Output goes in through [`CommandRecord::set_stdout`] / [`CommandRecord::set_stderr`], which
/// keep `stdout`/`stdout_b64` consistent; read the exact bytes back with
/// [`CommandRecord::stdout_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub host: String,
    pub aid: String,
    pub command: String,
    pub tier: Tier,
    /// RFC 3339, UTC, milliseconds.
    pub started_at: String,
    stdout: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stdout_b64: Option<String>,
    stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stderr_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub status: CommandStatus,
    pub exit: ExitInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_request_id: Option<String>,
    pub duration_ms: u64,
    /// The command was queued for an offline host (`queue_offline`).
    pub queued: bool,
    /// `meta.trace_id` of every API response involved, to quote to CrowdStrike support.
    pub trace_ids: Vec<String>,
    /// The `sequence_id`s of the output chunks received, in arrival order.
    pub sequence_ids_seen: Vec<u64>,
    /// `--json`, for a command whose output is parsed (`ps`, `netstat`, ...): its records
    /// (see `shell::results::parsed_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parsed: Option<serde_json::Value>,
}

impl CommandRecord {
    /// A record for a command started at `started_at`, status `unknown` until told otherwise.
    pub fn new(
        host: impl Into<String>,
        aid: impl Into<String>,
        command: impl Into<String>,
        tier: Tier,
        started_at: SystemTime,
    ) -> Self {
        CommandRecord {
            host: host.into(),
            aid: aid.into(),
            session_id: None,
            command: command.into(),
            tier,
            status: CommandStatus::Unknown,
            stdout: String::new(),
            stdout_b64: None,
            stderr: String::new(),
            stderr_b64: None,
            exit: ExitInfo::default(),
            cloud_request_id: None,
            started_at: rfc3339(started_at),
            duration_ms: 0,
            queued: false,
            trace_ids: Vec::new(),
            sequence_ids_seen: Vec::new(),
            parsed: None,
        }
    }

    /// Set the command's duration (saturating at `u64::MAX` ms).
    pub fn set_duration(&mut self, d: Duration) {
        self.duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    }

    /// The host's stdout, exactly as received.
    pub fn set_stdout(&mut self, bytes: &[u8]) {
        (self.stdout, self.stdout_b64) = encode(bytes);
    }

    /// The host's stderr, exactly as received.
    pub fn set_stderr(&mut self, bytes: &[u8]) {
        (self.stderr, self.stderr_b64) = encode(bytes);
    }

    /// Stdout as text (lossy if the bytes were not UTF-8).
    pub fn stdout_text(&self) -> &str {
        &self.stdout
    }

    /// Stderr as text (lossy if the bytes were not UTF-8).
    pub fn stderr_text(&self) -> &str {
        &self.stderr
    }

    /// The exact stdout bytes. Fails only on a record whose `stdout_b64` is not valid base64
    /// (one edited by hand).
    pub fn stdout_bytes(&self) -> Result<Cow<'_, [u8]>, base64::DecodeError> {
        decode(&self.stdout, self.stdout_b64.as_deref())
    }

    /// The exact stderr bytes; see [`Self::stdout_bytes`].
    pub fn stderr_bytes(&self) -> Result<Cow<'_, [u8]>, base64::DecodeError> {
        decode(&self.stderr, self.stderr_b64.as_deref())
    }

    /// The record as one line of JSON, without the trailing newline. Besides the C0 controls
    /// JSON always escapes, DEL, C1, bidi and invisible characters are written as `\uXXXX`, so
    /// the line is safe to print to a terminal; decoded values are unchanged.
    pub fn to_json_line(&self) -> serde_json::Result<String> {
        let mut line = json::to_line(self)?;
        line.pop();
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Write the record and a newline in a single `write_all`, so records from concurrent
    /// commands never interleave within a line.
    pub fn write_json_line<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&json::to_line(self)?)
    }

    /// The record with this `stdout` and `stderr` (its own are ignored), written without
    /// copying them: the same line as [`Self::write_json_line`] after
    /// [`Self::set_stdout`]/[`Self::set_stderr`], in several writes (give a buffered writer).
    pub fn write_json_line_with_output<W: Write + ?Sized>(
        &self,
        w: &mut W,
        stdout: &str,
        stderr: &str,
    ) -> io::Result<()> {
        write_head(w, self)?;
        write_str_contents(w, stdout)?;
        w.write_all(br#"","stderr":""#)?;
        write_str_contents(w, stderr)?;
        write_tail(w, self)
    }

    /// [`Self::write_json_line_with_output`] with the stdout handed over in pieces: `stdout`
    /// calls the function it is given with each piece, in order (a large fleet output read back
    /// from its file). Should reading the pieces fail part way, the line is still finished, as
    /// an error that says its stdout is incomplete, and the read error is returned (`Ok(Some)`).
    pub fn write_json_line_streamed<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        stdout: impl FnOnce(&mut dyn FnMut(&str) -> io::Result<()>) -> io::Result<()>,
        stderr: &str,
    ) -> io::Result<Option<io::Error>> {
        write_head(w, self)?;
        // Write errors and read errors apart: only a read error lets the line be finished.
        let mut write_error = None;
        let read = stdout(&mut |piece| {
            write_str_contents(w, piece).inspect_err(|e| {
                write_error = Some(io::Error::new(e.kind(), e.to_string()));
            })
        });
        if let Some(e) = write_error {
            return Err(e);
        }
        let unread = read.err();
        if let Some(e) = &unread {
            self.status = CommandStatus::Error;
            self.exit.error = Some(format!(
                "its stdout is incomplete: it could not be read back from its temporary file: {e}"
            ));
        }
        w.write_all(br#"","stderr":""#)?;
        write_str_contents(w, stderr)?;
        write_tail(w, self)?;
        Ok(unread)
    }
}

/// The fields of a [`CommandRecord`] before its output.
#[derive(Serialize)]
struct Head<'a> {
    host: &'a str,
    aid: &'a str,
    command: &'a str,
    tier: Tier,
    started_at: &'a str,
}

/// The fields of a [`CommandRecord`] after its output.
#[derive(Serialize)]
struct Tail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: &'a Option<String>,
    status: CommandStatus,
    exit: &'a ExitInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_request_id: &'a Option<String>,
    duration_ms: u64,
    queued: bool,
    trace_ids: &'a [String],
    sequence_ids_seen: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    parsed: &'a Option<serde_json::Value>,
}

/// Stderr kept in memory up to this much while stdout streams; beyond it, in a temporary file.
const STDERR_IN_MEMORY: usize = 1 << 20;
/// Pieces in which kept stderr is read back.
const READ_BACK: usize = 64 * 1024;

/// Writes one command's `--json` record while its output arrives, without holding the output:
/// [`Self::stdout`] writes each stdout chunk as it comes (inside the open `stdout` string of
/// the line), stderr is kept aside (in memory, or in a temporary file when large) until
/// [`Self::finish`] writes it and the fields known only at the end. The line is the one
/// [`CommandRecord::write_json_line`] would write for the finished record with the same output.
/// Host output arrives as text (the API's JSON carries strings), so no `_b64` field is needed.
pub struct RecordStream<W: Write> {
    out: W,
    /// The head and the opening of `stdout` are written.
    open: bool,
    stderr: Spill,
    /// The first write error; nothing more is written after one.
    error: Option<io::Error>,
}

impl<W: Write> RecordStream<W> {
    pub fn new(out: W) -> Self {
        RecordStream {
            out,
            open: false,
            stderr: Spill::default(),
            error: None,
        }
    }

    /// The first write error, if any (e.g. a broken pipe).
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    fn attempt(&mut self, f: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.out)
        {
            self.error = Some(e);
        }
    }

    fn open(&mut self, rec: &CommandRecord) {
        if self.open {
            return;
        }
        self.open = true;
        self.attempt(|w| write_head(w, rec));
    }

    /// A piece of stdout, written at once. `rec` gives the head fields (host, aid, command, tier,
    /// started_at), which must not change afterwards.
    pub fn stdout(&mut self, rec: &CommandRecord, chunk: &str) {
        if chunk.is_empty() {
            return;
        }
        self.open(rec);
        self.attempt(|w| write_str_contents(w, chunk).and_then(|_| w.flush()));
    }

    /// A piece of stderr, kept until [`Self::finish`].
    pub fn stderr(&mut self, chunk: &str) {
        if let Err(e) = self.stderr.push(chunk) {
            self.error.get_or_insert(e);
        }
    }

    /// Ends the line with stderr and the fields of the finished `rec` (its own `stdout` and
    /// `stderr` are ignored). Returns the first write error of the whole line.
    pub fn finish(mut self, rec: &CommandRecord) -> io::Result<()> {
        self.open(rec);
        let mut stderr = std::mem::take(&mut self.stderr);
        self.attempt(|w| {
            w.write_all(br#"","stderr":""#)?;
            stderr.write_contents(w)?;
            write_tail(w, rec)?;
            w.flush()
        });
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The record's fields before its output, and the opening of `stdout`.
fn write_head<W: Write + ?Sized>(w: &mut W, rec: &CommandRecord) -> io::Result<()> {
    let head = Head {
        host: &rec.host,
        aid: &rec.aid,
        command: &rec.command,
        tier: rec.tier,
        started_at: &rec.started_at,
    };
    let mut line = json::to_line(&head)?;
    // `{...}\n` without `}\n`, then the opening of the output.
    line.truncate(line.len() - 2);
    line.extend_from_slice(br#","stdout":""#);
    w.write_all(&line)
}

/// The end of `stderr`, the record's fields after its output, and the newline.
fn write_tail<W: Write + ?Sized>(w: &mut W, rec: &CommandRecord) -> io::Result<()> {
    let tail = Tail {
        session_id: &rec.session_id,
        status: rec.status,
        exit: &rec.exit,
        cloud_request_id: &rec.cloud_request_id,
        duration_ms: rec.duration_ms,
        queued: rec.queued,
        trace_ids: &rec.trace_ids,
        sequence_ids_seen: &rec.sequence_ids_seen,
        parsed: &rec.parsed,
    };
    let mut line = json::to_line(&tail)?;
    // `{...}\n`: a comma instead of its `{`, after the quote that ends `stderr`.
    line[0] = b',';
    w.write_all(b"\"")?;
    w.write_all(&line)
}

/// `s` as the contents of a JSON string (terminal-safe escapes, no quotes), written straight
/// to `w` (no buffer grows with the output).
fn write_str_contents<W: Write + ?Sized>(w: &mut W, s: &str) -> io::Result<()> {
    json::write_str_contents(w, s)
}

/// Text kept in memory up to [`STDERR_IN_MEMORY`], then in an unnamed temporary file.
#[derive(Default)]
struct Spill {
    mem: String,
    file: Option<std::fs::File>,
}

impl Spill {
    fn push(&mut self, s: &str) -> io::Result<()> {
        if self.file.is_none() && self.mem.len() + s.len() > STDERR_IN_MEMORY {
            // No temporary file: keep it in memory rather than lose it.
            if let Ok(mut f) = tempfile::tempfile() {
                f.write_all(self.mem.as_bytes())?;
                self.mem = String::new();
                self.file = Some(f);
            }
        }
        match &mut self.file {
            Some(f) => f.write_all(s.as_bytes()),
            None => {
                self.mem.push_str(s);
                Ok(())
            }
        }
    }

    /// Writes everything kept as JSON string contents, in bounded pieces.
    fn write_contents<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        let Some(f) = &mut self.file else {
            return write_str_contents(w, &self.mem);
        };
        use std::io::{Read, Seek};
        f.seek(io::SeekFrom::Start(0))?;
        let mut buf = vec![0u8; READ_BACK];
        // Bytes of a character split by the previous read, at the front of `buf`.
        let mut carry = 0;
        loop {
            let n = f.read(&mut buf[carry..])?;
            if n == 0 {
                break;
            }
            let filled = carry + n;
            let valid = match std::str::from_utf8(&buf[..filled]) {
                Ok(_) => filled,
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "kept stderr is not UTF-8",
                    ));
                }
            };
            let text = std::str::from_utf8(&buf[..valid]).map_err(io::Error::other)?;
            write_str_contents(w, text)?;
            buf.copy_within(valid..filled, 0);
            carry = filled - valid;
        }
        Ok(())
    }
}

/// `SystemTime` as RFC 3339 in UTC with milliseconds, e.g. `2026-05-01T12:34:56.789Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Text for the `stdout`/`stderr` field, and the base64 of the exact bytes when the text is lossy.
fn encode(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(BASE64.encode(bytes)),
        ),
    }
}

fn decode<'a>(text: &'a str, b64: Option<&str>) -> Result<Cow<'a, [u8]>, base64::DecodeError> {
    match b64 {
        Some(b64) => BASE64.decode(b64).map(Cow::Owned),
        None => Ok(Cow::Borrowed(text.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CommandRecord {
        let started = humantime::parse_rfc3339("2026-05-01T12:34:56.789Z").expect("valid time");
        let mut r = CommandRecord::new("WIN-01", "aid0123", "ls C:\\Temp", Tier::ReadOnly, started);
        r.session_id = Some("sess-1".into());
        r.status = CommandStatus::Ok;
        r.exit.complete = true;
        r.cloud_request_id = Some("req-9".into());
        r.set_duration(Duration::from_millis(1234));
        r.trace_ids = vec!["trace-a".into(), "trace-b".into()];
        r.sequence_ids_seen = vec![0, 1, 2];
        r
    }

    #[test]
    fn round_trip_valid_utf8() {
        let mut r = sample();
        r.set_stdout("Directory: C:\\Temp\n日本\n".as_bytes());
        r.set_stderr(b"");
        let line = r.to_json_line().expect("serialises");
        assert!(!line.contains('\n'));
        assert!(!line.contains("_b64"));
        let back: CommandRecord = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, r);
        assert_eq!(back.started_at, "2026-05-01T12:34:56.789Z");
        let v: serde_json::Value = serde_json::from_str(&line).expect("parses");
        assert_eq!(v["status"], "ok");
        assert_eq!(v["tier"], "read-only");
        assert_eq!(v["duration_ms"], 1234);
        assert_eq!(v["stdout"], "Directory: C:\\Temp\n日本\n");
        assert_eq!(v["sequence_ids_seen"], serde_json::json!([0, 1, 2]));
    }

    #[test]
    fn invalid_utf8_keeps_exact_bytes_in_base64() {
        let raw = b"ok \xff\xfe end\x00";
        let mut r = sample();
        r.set_stdout(raw);
        r.set_stderr(b"\xc3");
        let line = r.to_json_line().expect("serialises");
        let v: serde_json::Value = serde_json::from_str(&line).expect("parses");
        assert_eq!(v["stdout"], "ok \u{fffd}\u{fffd} end\u{0}");
        assert_eq!(v["stdout_b64"], BASE64.encode(raw));
        assert_eq!(v["stderr_b64"], "ww==");
        let back: CommandRecord = serde_json::from_str(&line).expect("parses");
        assert_eq!(back.stdout_bytes().expect("base64").as_ref(), raw);
        assert_eq!(back.stderr_bytes().expect("base64").as_ref(), b"\xc3");
        assert_eq!(back.stdout_text(), "ok \u{fffd}\u{fffd} end\u{0}");
    }

    #[test]
    fn control_characters_stay_escaped_in_json() {
        let hostile = b"\x1b]52;c;aGk=\x07\x1b[2J\r\x08\x9b\n";
        let mut r = sample();
        r.set_stdout("\x1b]0;t\x07\u{202e}\u{9b}".as_bytes());
        r.set_stderr(hostile);
        r.command = "cat \x1b[31m".into();
        r.host = "evil\x07host".into();
        let mut buf = Vec::new();
        r.write_json_line(&mut buf).expect("writes");
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(buf.last(), Some(&b'\n'));
        // No raw C0 control or DEL anywhere in the line, and no C1 or bidi character either.
        assert!(buf[..buf.len() - 1].iter().all(|&b| b >= 0x20 && b != 0x7f));
        let text = std::str::from_utf8(&buf).expect("JSON is UTF-8");
        assert!(!text.chars().any(crate::output::sanitize::is_hidden));
        assert!(text.contains("\\u202e\\u009b"));
        let line = String::from_utf8(buf).expect("JSON is UTF-8");
        assert!(line.contains("\\u001b]0;t\\u0007"));
        let back: CommandRecord = serde_json::from_str(line.trim_end()).expect("parses");
        assert_eq!(back.stderr_bytes().expect("base64").as_ref(), hostile);
        assert_eq!(back.stdout_text(), "\x1b]0;t\x07\u{202e}\u{9b}");
    }

    #[test]
    fn statuses_serialise_lowercase() {
        for (s, name) in [
            (CommandStatus::Ok, "ok"),
            (CommandStatus::Error, "error"),
            (CommandStatus::Timeout, "timeout"),
            (CommandStatus::Queued, "queued"),
            (CommandStatus::Unknown, "unknown"),
        ] {
            assert_eq!(serde_json::to_value(s).expect("serialises"), name);
            assert_eq!(s.as_str(), name);
        }
    }

    #[test]
    fn streamed_record_is_the_same_line() {
        let stdout = [
            "Directory: C:\\Temp\n",
            "日本\u{1b}[2J",
            "",
            "\u{202e}end\r\n",
        ];
        let stderr = ["warn\u{7}", "ing\n"];
        let mut rec = sample();
        let mut streamed = Vec::new();
        let mut s = RecordStream::new(&mut streamed);
        s.stdout(&rec, stdout[0]);
        s.stderr(stderr[0]);
        for c in &stdout[1..] {
            s.stdout(&rec, c);
        }
        s.stderr(stderr[1]);
        // Fields known only at the end change after the output started.
        rec.status = CommandStatus::Error;
        rec.session_id = Some("sess-2".into());
        s.finish(&rec).expect("writes");
        rec.set_stdout(stdout.concat().as_bytes());
        rec.set_stderr(stderr.concat().as_bytes());
        let mut whole = Vec::new();
        rec.write_json_line(&mut whole).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&whole)
        );
        let back: CommandRecord = serde_json::from_slice(&streamed).expect("parses");
        assert_eq!(back, rec);
    }

    #[test]
    fn a_record_without_output_or_with_large_stderr() {
        let rec = sample();
        let mut buf = Vec::new();
        RecordStream::new(&mut buf).finish(&rec).expect("writes");
        let mut whole = Vec::new();
        rec.write_json_line(&mut whole).expect("writes");
        assert_eq!(buf, whole);
        // Stderr past the in-memory limit goes through a file and is read back in pieces that
        // never split a character.
        let piece = "é€🦀\u{1b}x".repeat(1000);
        let mut out = Vec::new();
        let mut s = RecordStream::new(&mut out);
        let mut want = String::new();
        while want.len() <= 3 * STDERR_IN_MEMORY {
            s.stderr(&piece);
            want.push_str(&piece);
        }
        s.stdout(&rec, "out");
        assert!(s.stderr.file.is_some());
        s.finish(&rec).expect("writes");
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let back: CommandRecord = serde_json::from_slice(&out).expect("parses");
        assert_eq!(back.stderr_text(), want);
        assert_eq!(back.stdout_text(), "out");
    }
}
