//! Saved output: every command's full output, per host, kept for the case file. One readable
//! text log per host and run, written as the output arrives (nothing is held in memory; a
//! host's log is open only while one of its commands is being written):
//!
//! ```text
//! ===== 2026-12-04T23:25:37Z DESKTOP-01 (aid 6e7bc8e0…) $ ps
//! <the host's stdout, byte for byte>
//! ----- stderr
//! <the host's stderr, byte for byte, when there is any>
//! ===== end: ok
//! ```
//!
//! A run of more than [`ONE_LOG_ABOVE`] hosts writes one `hosts.log` with the same sections.
//!
//! Beside them, `records.jsonl`: each command's JSON record with its output, as `--json` writes
//! it (streamed on one host, from the batch's text on many).
//!
//! Default place: `<data dir>/rtrsh/output/YYYY-MM-DD/HHMMSS-<pid>/<HOST>-<aid8>.log` (UTC), in
//! private folders (0700) and files (0600); `--output-dir DIR` puts the logs in DIR (appended to
//! when they exist); `--no-save-output` or `save = false` under `[output]` in the config file
//! turns it off. The bytes are the host's, exactly, escapes included: read the logs with a pager
//! that shows control characters (`less`), not `cat` on a terminal.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

// A host's name cannot steer the path (the transcript's rule).
use crate::output::transcript::file_safe;

/// One host's log, and whether its current command has written stderr yet.
struct HostLog {
    file: io::BufWriter<File>,
    in_stderr: bool,
    /// The last byte written ended a line.
    at_line_start: bool,
}

/// The logs of one run.
pub struct SavedOutput {
    dir: PathBuf,
    logs: HashMap<String, HostLog>,
    /// `records.jsonl`: each command's JSON record with its output (as `--json` writes it).
    records: Option<File>,
    /// The first write error (disk full, ...), reported once; saving stops then.
    pub failed: Option<String>,
    reported: bool,
    /// One log for every host ([`ONE_LOG`]) instead of a log per host.
    one_log: bool,
    /// `records.jsonl`, buffered, for records written whole ([`Self::record_line`]).
    records_buf: Option<io::BufWriter<File>>,
}

/// More hosts than this in a run: their outputs go to one log, `hosts.log` (the same sections,
/// each headed by its host), instead of a file per host. Creating 50,000 files costs more than
/// the command (5 s of kernel time on a file system that has seen many files deleted), and a
/// folder of 50,000 logs is read with `grep` anyway; `records.jsonl` holds every output either
/// way.
pub const ONE_LOG_ABOVE: usize = 1_000;

/// The name of the log every host shares ([`SavedOutput::one_log`]).
pub const ONE_LOG: &str = "hosts.log";

/// Opens `path` for appending, created 0600.
fn private_append(path: &Path) -> io::Result<File> {
    super::private::options()
        .create(true)
        .append(true)
        .open(path)
}

impl SavedOutput {
    /// The default folder of a run started `now`.
    pub fn default_dir(data_dir: &Path, now: SystemTime) -> PathBuf {
        let ts = humantime::format_rfc3339_seconds(now).to_string();
        let date = ts.get(..10).unwrap_or("unknown-date");
        let time: String = ts
            .get(11..19)
            .unwrap_or("000000")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        data_dir
            .join("rtrsh")
            .join("output")
            .join(date)
            .join(format!("{time}-{}", std::process::id()))
    }

    /// Saves into `dir` (created private when missing). Fails early, before any request, when
    /// the folder cannot be made.
    pub fn open(dir: PathBuf) -> Result<SavedOutput, String> {
        super::private::dirs(&dir)
            .map_err(|e| format!("cannot create the output folder {}: {e}", dir.display()))?;
        Ok(SavedOutput {
            dir,
            logs: HashMap::new(),
            records: None,
            failed: None,
            reported: false,
            one_log: false,
            records_buf: None,
        })
    }

    /// Every host's output into one log, `hosts.log` (see [`ONE_LOG_ABOVE`]).
    pub fn one_log(mut self) -> SavedOutput {
        self.one_log = true;
        self
    }

    /// Where the logs go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log file of a host.
    pub fn path_of(&self, host: &str, aid: &str) -> PathBuf {
        if self.one_log {
            return self.dir.join(ONE_LOG);
        }
        let name = match file_safe(host, 64) {
            h if h.is_empty() => "host".to_string(),
            h => h,
        };
        self.dir.join(format!("{name}-{}.log", file_safe(aid, 8)))
    }

    fn log(&mut self, host: &str, aid: &str) -> Option<&mut HostLog> {
        if self.failed.is_some() {
            return None;
        }
        // One log: one open file, under one key.
        let aid = if self.one_log { "" } else { aid };
        if !self.logs.contains_key(aid) {
            let path = self.path_of(host, aid);
            match private_append(&path) {
                Ok(f) => {
                    self.logs.insert(
                        aid.to_string(),
                        HostLog {
                            // The shared log takes a whole batch between flushes.
                            file: io::BufWriter::with_capacity(
                                if self.one_log { 256 * 1024 } else { 8 * 1024 },
                                f,
                            ),
                            in_stderr: false,
                            at_line_start: true,
                        },
                    );
                }
                Err(e) => {
                    self.failed = Some(format!("cannot write {}: {e}", path.display()));
                    return None;
                }
            }
        }
        self.logs.get_mut(aid)
    }

    fn write(&mut self, host: &str, aid: &str, f: impl FnOnce(&mut HostLog) -> io::Result<()>) {
        let Some(log) = self.log(host, aid) else {
            return;
        };
        if let Err(e) = f(log) {
            self.failed = Some(format!("cannot write the saved output: {e}"));
        }
    }

    /// A handle on `records.jsonl` (created private when first asked for), for one command's
    /// record written as its output arrives; `None` when it cannot be written (reported once).
    pub fn records(&mut self) -> Option<File> {
        if self.failed.is_some() {
            return None;
        }
        if self.records.is_none() {
            let path = self.dir.join("records.jsonl");
            match private_append(&path) {
                Ok(f) => self.records = Some(f),
                Err(e) => {
                    self.failed = Some(format!("cannot write {}: {e}", path.display()));
                    return None;
                }
            }
        }
        let cloned = self.records.as_ref()?.try_clone();
        match cloned {
            Ok(f) => Some(f),
            Err(e) => {
                self.failed = Some(format!("cannot write the records: {e}"));
                None
            }
        }
    }

    /// A record's JSON line, as made for `--json`, into `records.jsonl` (buffered: see
    /// [`Self::flush`]).
    pub fn record_line(&mut self, line: &[u8]) {
        if self.records_buf.is_none() {
            let Some(f) = self.records() else {
                return;
            };
            self.records_buf = Some(io::BufWriter::with_capacity(256 * 1024, f));
        }
        if let Some(w) = self.records_buf.as_mut()
            && let Err(e) = w.write_all(line)
        {
            self.failed = Some(format!("cannot write the records: {e}"));
            self.records_buf = None;
        }
    }

    /// Writes out what [`Self::record_line`] and the shared log hold (after each batch's
    /// results).
    pub fn flush(&mut self) {
        if let Some(w) = self.records_buf.as_mut()
            && let Err(e) = w.flush()
        {
            self.failed = Some(format!("cannot write the records: {e}"));
            self.records_buf = None;
        }
        if self.one_log
            && let Some(l) = self.logs.get_mut("")
            && let Err(e) = l.file.flush()
        {
            self.failed = Some(format!("cannot write the saved output: {e}"));
        }
    }

    /// A command starts on a host.
    pub fn begin(&mut self, host: &str, aid: &str, line: &str) {
        let ts = humantime::format_rfc3339_seconds(SystemTime::now());
        let head = format!(
            "===== {ts} {} (aid {}) $ {}\n",
            crate::output::sanitize::sanitize_line(host),
            file_safe(aid, 32),
            crate::output::sanitize::sanitize_line(line)
        );
        self.write(host, aid, |l| {
            l.in_stderr = false;
            l.at_line_start = true;
            l.file.write_all(head.as_bytes())
        });
    }

    /// Output of the host's current command, exactly as it came.
    pub fn stdout(&mut self, host: &str, aid: &str, bytes: &[u8]) {
        self.chunk(host, aid, bytes, false);
    }

    pub fn stderr(&mut self, host: &str, aid: &str, bytes: &[u8]) {
        self.chunk(host, aid, bytes, true);
    }

    fn chunk(&mut self, host: &str, aid: &str, bytes: &[u8], stderr: bool) {
        if bytes.is_empty() {
            return;
        }
        self.write(host, aid, |l| {
            if stderr && !l.in_stderr {
                if !l.at_line_start {
                    l.file.write_all(b"\n")?;
                }
                l.file.write_all(b"----- stderr\n")?;
                l.in_stderr = true;
            }
            l.at_line_start = bytes.ends_with(b"\n");
            l.file.write_all(bytes)
        });
    }

    /// The host's current command ended (`how`: ok, error, timed out, ...). Its log is
    /// closed until the host's next command: a fleet of 50,000 hosts holds no open file (and no
    /// write buffer) per host between commands. The shared log is written out by
    /// [`Self::flush`] (once a batch, not once a host).
    pub fn end(&mut self, host: &str, aid: &str, how: &str) {
        let one_log = self.one_log;
        self.write(host, aid, |l| {
            if !l.at_line_start {
                l.file.write_all(b"\n")?;
            }
            l.file.write_all(b"===== end: ")?;
            l.file.write_all(how.as_bytes())?;
            l.file.write_all(b"\n\n")?;
            if one_log { Ok(()) } else { l.file.flush() }
        });
        // A host's own log is closed until its next command; the shared one stays open.
        if !self.one_log {
            self.logs.remove(aid);
        }
    }

    /// The write error to report, once.
    pub fn take_error(&mut self) -> Option<String> {
        if self.reported {
            return None;
        }
        let e = self.failed.clone()?;
        self.reported = true;
        Some(e)
    }
}

impl Drop for SavedOutput {
    fn drop(&mut self) {
        for l in self.logs.values_mut() {
            let _ = l.file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_closed_between_commands_and_appended_to() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SavedOutput::open(dir.path().join("run")).expect("opens");
        for line in ["pwd", "ps"] {
            for i in 0..50 {
                let aid = format!("{i:08x}{:024x}", 0);
                s.begin("H", &aid, line);
                s.stdout("H", &aid, line.as_bytes());
                s.end("H", &aid, "ok");
            }
            assert!(s.logs.is_empty(), "no log stays open after its command");
        }
        drop(s);
        let text = std::fs::read_to_string(dir.path().join("run/H-00000000.log")).expect("log");
        assert!(text.contains("$ pwd\npwd\n===== end: ok\n"), "{text:?}");
        assert!(text.contains("$ ps\nps\n===== end: ok\n"), "{text:?}");
    }

    #[test]
    fn a_log_per_host_holds_the_bytes_and_the_names_are_safe() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SavedOutput::open(dir.path().join("run")).expect("opens");
        s.begin("DESKTOP-01", "abcdef0123456789", "ps");
        s.stdout("DESKTOP-01", "abcdef0123456789", b"a\x1b[2Jb\n");
        s.stderr("DESKTOP-01", "abcdef0123456789", b"oops");
        s.end("DESKTOP-01", "abcdef0123456789", "error");
        s.begin("../EVIL/x", "ffff0000", "pwd");
        s.stdout("../EVIL/x", "ffff0000", b"/");
        s.end("../EVIL/x", "ffff0000", "ok");
        drop(s);
        let a = std::fs::read(dir.path().join("run/DESKTOP-01-abcdef01.log")).expect("log");
        let text = String::from_utf8_lossy(&a);
        assert!(
            text.contains("$ ps\na\x1b[2Jb\n----- stderr\noops\n===== end: error\n"),
            "{text:?}"
        );
        let evil = dir.path().join("run/_EVIL_x-ffff0000.log");
        assert!(
            evil.exists(),
            "{:?}",
            std::fs::read_dir(dir.path().join("run"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&evil).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
