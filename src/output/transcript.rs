//! The local audit transcript: one JSON object per line for every session event and command, so
//! an analyst can later show what was run where, by whom, and what came back (by hash).
//!
//! - Default location `<data dir>/rtrsh/transcripts/YYYY-MM-DD/<host>-<session|time>.jsonl`
//!   (`--transcript PATH` overrides, `--no-transcript` gives [`Transcript::disabled`]).
//! - Directories are created 0700 and the file 0600. A fresh file is created with `O_EXCL`; an
//!   existing one is appended to only if it is a regular file, not a symlink (`O_NOFOLLOW`), owned by
//!   us, mode 0600 and with a single link, so a planted symlink or hard link cannot redirect the
//!   log into another file.
//! - Each line is written with one `write` on an `O_APPEND` file and synced to disk, so the log
//!   survives a crash of rtrsh (or of the machine) up to the last event.
//! - Output bodies are not stored, only their SHA-256 and length, unless `store_output` is set
//!   (then base64 of the exact bytes). No function here takes a secret: the operator is the local
//!   user name and the API client *id*.

use rtrsh_command::digest::OutputDigest;
use rtrsh_command::digest::hex;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::json;
use super::record::{CommandRecord, CommandStatus, rfc3339};
use rtrsh_command::Tier;

/// Who ran the commands: the local user, and the API client id the session authenticated as.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_client_id: Option<String>,
}

impl Operator {
    /// The local user from `$USER`, else `$LOGNAME` (`$USERNAME` on Windows), else `"unknown"`.
    pub fn from_env(api_client_id: Option<String>) -> Self {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Operator {
            user,
            api_client_id,
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    SessionOpen,
    Command,
    SessionClose,
    SessionReopen,
    Note,
}

/// The host a session event is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    pub host: String,
    pub aid: String,
    pub session_id: Option<String>,
    /// `meta.trace_id`s of the API calls that opened/closed/re-opened the session.
    pub trace_ids: Vec<String>,
}

/// One line of the transcript. Absent fields are omitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub ts: String,
    pub event: Event,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CommandStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_bytes: Option<u64>,
    /// Only with `store_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_b64: Option<String>,
    /// Only with `store_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence_ids_seen: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Entry {
    /// A command entry with the record's metadata (output hashes are the caller's).
    fn command(r: &CommandRecord, operator: &Operator) -> Self {
        let mut e = Entry::new(Event::Command, operator);
        e.host = Some(r.host.clone());
        e.aid = Some(r.aid.clone());
        e.session_id.clone_from(&r.session_id);
        e.cloud_request_id.clone_from(&r.cloud_request_id);
        e.command = Some(r.command.clone());
        e.tier = Some(r.tier);
        e.status = Some(r.status);
        e.duration_ms = Some(r.duration_ms);
        e.trace_ids.clone_from(&r.trace_ids);
        e.sequence_ids_seen.clone_from(&r.sequence_ids_seen);
        e
    }

    fn new(event: Event, operator: &Operator) -> Self {
        Entry {
            ts: rfc3339(SystemTime::now()),
            event,
            operator: operator.clone(),
            host: None,
            aid: None,
            session_id: None,
            cloud_request_id: None,
            command: None,
            tier: None,
            status: None,
            stdout_sha256: None,
            stderr_sha256: None,
            stdout_bytes: None,
            stderr_bytes: None,
            stdout_b64: None,
            stderr_b64: None,
            duration_ms: None,
            trace_ids: Vec::new(),
            sequence_ids_seen: Vec::new(),
            note: None,
        }
    }
}

/// How to open a transcript (besides its path).
#[derive(Clone, Debug, Default)]
pub struct TranscriptOptions {
    pub operator: Operator,
    /// Store base64 of the exact output bytes, not only hashes.
    pub store_output: bool,
    /// For the default file name: the host (or e.g. `fleet`).
    pub host_label: String,
    /// For the default file name: the session id, when known before opening.
    pub session_id: Option<String>,
}

/// An open audit transcript, or a disabled one that accepts and drops every event.
#[derive(Debug)]
pub struct Transcript {
    sink: Option<Sink>,
}

#[derive(Debug)]
struct Sink {
    file: File,
    path: PathBuf,
    operator: Operator,
    store_output: bool,
}

impl Transcript {
    /// Open (create or append to) the transcript at `path`, or at the default path under the
    /// user's data directory when `path` is `None`.
    pub fn open(path: Option<PathBuf>, options: TranscriptOptions) -> io::Result<Transcript> {
        let path = match path {
            Some(p) => p,
            None => {
                let data = dirs::data_dir().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "no user data directory for the audit transcript: \
                         pass --transcript PATH or --no-transcript",
                    )
                })?;
                default_path(
                    &data,
                    &options.host_label,
                    options.session_id.as_deref(),
                    SystemTime::now(),
                )
            }
        };
        let file = open_private_append(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("transcript {}: {e}", path.display())))?;
        Ok(Transcript {
            sink: Some(Sink {
                file,
                path,
                operator: options.operator,
                store_output: options.store_output,
            }),
        })
    }

    /// Checks that a transcript can be written at `path` (opening it as [`Transcript::open`]
    /// would, which creates it if missing), so a bad `--transcript` is refused before anything
    /// is sent.
    pub fn check_path(path: &std::path::Path) -> io::Result<()> {
        open_private_append(path)
            .map(drop)
            .map_err(|e| io::Error::new(e.kind(), format!("transcript {}: {e}", path.display())))
    }

    /// A transcript that records nothing (`--no-transcript`).
    pub fn disabled() -> Transcript {
        Transcript { sink: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// Where the transcript is written, if enabled.
    pub fn path(&self) -> Option<&Path> {
        self.sink.as_ref().map(|s| s.path.as_path())
    }

    pub fn session_open(&mut self, s: &SessionInfo) -> io::Result<()> {
        self.session_event(Event::SessionOpen, s)
    }

    pub fn session_reopen(&mut self, s: &SessionInfo) -> io::Result<()> {
        self.session_event(Event::SessionReopen, s)
    }

    pub fn session_close(&mut self, s: &SessionInfo) -> io::Result<()> {
        self.session_event(Event::SessionClose, s)
    }

    /// A finished (or given-up-on) command: its metadata, and hashes of its exact output.
    pub fn command(&mut self, r: &CommandRecord) -> io::Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let mut e = Entry::command(r, &sink.operator);
        let stdout = r.stdout_bytes().map_err(io::Error::other)?;
        let stderr = r.stderr_bytes().map_err(io::Error::other)?;
        e.stdout_sha256 = Some(sha256_hex(&stdout));
        e.stderr_sha256 = Some(sha256_hex(&stderr));
        e.stdout_bytes = Some(len_u64(&stdout));
        e.stderr_bytes = Some(len_u64(&stderr));
        if sink.store_output {
            e.stdout_b64 = Some(BASE64.encode(&stdout));
            e.stderr_b64 = Some(BASE64.encode(&stderr));
        }
        self.write_entry(&e)
    }

    /// A finished command whose output was streamed (not kept in `r`): hashes and sizes come
    /// from `digest`, computed as the chunks went by. Output is never stored this way.
    pub fn command_streamed(&mut self, r: &CommandRecord, digest: &OutputDigest) -> io::Result<()> {
        self.commands_streamed([(r, digest)])
    }

    /// Several [`Transcript::command_streamed`] entries (one command on many hosts), appended
    /// with one `write` and one sync: a fleet of 10,000 hosts costs one sync per batch, not one
    /// per host. Each line is still a whole entry.
    pub fn commands_streamed<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a CommandRecord, &'a OutputDigest)>,
    ) -> io::Result<()> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        let mut lines = Vec::new();
        for (r, digest) in entries {
            let mut e = Entry::command(r, &sink.operator);
            e.stdout_sha256 = Some(digest.stdout_sha256());
            e.stderr_sha256 = Some(digest.stderr_sha256());
            e.stdout_bytes = Some(digest.stdout_bytes);
            e.stderr_bytes = Some(digest.stderr_bytes);
            lines.extend_from_slice(&json::to_line(&e)?);
        }
        if lines.is_empty() {
            return Ok(());
        }
        sink.file.write_all(&lines)?;
        sink.file.flush()?;
        sink.file.sync_data()
    }

    /// A free-text note (e.g. "host went offline"), optionally about a host.
    pub fn note(&mut self, host: Option<&SessionInfo>, text: &str) -> io::Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let mut e = Entry::new(Event::Note, &sink.operator);
        if let Some(s) = host {
            fill_session(&mut e, s);
        }
        e.note = Some(text.to_owned());
        self.write_entry(&e)
    }

    fn session_event(&mut self, event: Event, s: &SessionInfo) -> io::Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let mut e = Entry::new(event, &sink.operator);
        fill_session(&mut e, s);
        self.write_entry(&e)
    }

    /// One line, one `write` (atomic with `O_APPEND`), then synced: an audit log must survive a
    /// crash. RTR commands take seconds, so a sync per event costs nothing noticeable.
    fn write_entry(&mut self, e: &Entry) -> io::Result<()> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        let line = json::to_line(e)?;
        sink.file.write_all(&line)?;
        sink.file.flush()?;
        sink.file.sync_data()
    }
}

fn fill_session(e: &mut Entry, s: &SessionInfo) {
    e.host = Some(s.host.clone());
    e.aid = Some(s.aid.clone());
    e.session_id.clone_from(&s.session_id);
    e.trace_ids.clone_from(&s.trace_ids);
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn len_u64(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// `<data_dir>/rtrsh/transcripts/YYYY-MM-DD/<host>-<session short id or HHMMSS>.jsonl` (UTC).
/// The host label and session id are reduced to `[A-Za-z0-9._-]` so a hostile host name cannot
/// steer the path.
pub fn default_path(
    data_dir: &Path,
    host: &str,
    session_id: Option<&str>,
    now: SystemTime,
) -> PathBuf {
    let ts = humantime::format_rfc3339_seconds(now).to_string(); // 2026-05-01T12:34:56Z
    let date = ts.get(..10).unwrap_or("unknown-date");
    let suffix = match session_id.map(|s| file_safe(s, 8)) {
        Some(s) if !s.is_empty() => s,
        _ => ts
            .get(11..19)
            .unwrap_or("000000")
            .chars()
            .filter(char::is_ascii_digit)
            .collect(),
    };
    let host = match file_safe(host, 64) {
        h if h.is_empty() => "host".to_owned(),
        h => h,
    };
    data_dir
        .join("rtrsh")
        .join("transcripts")
        .join(date)
        .join(format!("{host}-{suffix}.jsonl"))
}

/// At most `max` characters of `[A-Za-z0-9._-]` (others become `_`), not starting with `.`.
pub(crate) fn file_safe(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned()
}

#[cfg(unix)]
fn open_private_append(path: &Path) -> io::Result<File> {
    use std::fs::OpenOptions;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        super::private::dirs(parent)?;
    }
    // O_NONBLOCK: opening a planted FIFO must fail, not hang; no effect on regular files.
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let custom = i32::try_from(flags.bits()).map_err(io::Error::other)?;
    match super::private::options()
        .append(true)
        .create_new(true)
        .custom_flags(custom)
        .open(path)
    {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // The path exists: append only to our own private regular file.
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(refusal("it is a symbolic link"));
    }
    let file = OpenOptions::new()
        .append(true)
        .custom_flags(custom)
        .open(path)
        .map_err(|e| {
            // unix-only: in `open_private_append`, which is cfg(unix).
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                refusal("it is a symbolic link")
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refusal("it is not a regular file"));
    }
    // unix-only: in `open_private_append`, which is cfg(unix).
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(refusal("it is owned by another user"));
    }
    if meta.mode() & 0o7777 != 0o600 {
        return Err(refusal(&format!(
            "its mode is {:04o}, not 0600",
            meta.mode() & 0o7777
        )));
    }
    if meta.nlink() != 1 {
        return Err(refusal("it has other hard links"));
    }
    Ok(file)
}

#[cfg(unix)]
fn refusal(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refusing to append to an existing file: {why}"),
    )
}

#[cfg(not(unix))]
fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        super::private::dirs(parent)?;
    }
    super::private::options()
        .append(true)
        .create(true)
        .open(path)
}

#[cfg(test)]
#[path = "transcript_tests.rs"]
mod tests;
