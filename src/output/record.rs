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
use crate::command::Tier;

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

/// One command on one host, as written by `--json`.
///
/// Output goes in through [`CommandRecord::set_stdout`] / [`CommandRecord::set_stderr`], which
/// keep `stdout`/`stdout_b64` consistent; read the exact bytes back with
/// [`CommandRecord::stdout_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub host: String,
    pub aid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub command: String,
    pub tier: Tier,
    pub status: CommandStatus,
    stdout: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stdout_b64: Option<String>,
    stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stderr_b64: Option<String>,
    pub exit: ExitInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_request_id: Option<String>,
    /// RFC 3339, UTC, milliseconds.
    pub started_at: String,
    pub duration_ms: u64,
    /// The command was queued for an offline host (`queue_offline`).
    pub queued: bool,
    /// `meta.trace_id` of every API response involved, to quote to CrowdStrike support.
    pub trace_ids: Vec<String>,
    /// The `sequence_id`s of the output chunks received, in arrival order.
    pub sequence_ids_seen: Vec<u64>,
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
}
