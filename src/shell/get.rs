//! `get PATH` in one step, and the `files` built-in.
//!
//! After the host has run `get` (the normal execute-then-poll), [`after_get`]:
//! 1. waits until `file/v2` shows the file with a SHA-256, backing off from 250 ms to 2 s;
//! 2. streams the 7z (`extracted-file-contents`, no Content-Length) to a private temporary file
//!    in the host's evidence folder. The hash can show before the file has moved to the cloud,
//!    and the download is refused until then: a maintainer's streaming sample (FalconPy
//!    `streaming_download_uber.py`) takes `sha256` from the list and retries the download while
//!    "waiting for file to be moved to the cloud". rtrsh retries a refused download (404, 409,
//!    423, 425: the real status is undocumented) with the same back-off. Steps 1 and 2 together
//!    take at most [`GetOptions::upload_timeout`];
//! 3. extracts the one file with the password `infected` under a name rtrsh chooses (the entry
//!    name in the archive is hostile and never used as a path), with the decompressed size
//!    capped, and checks that its SHA-256 equals the one the API reported. A mismatch, or an
//!    archive that does not decode, is a corrupted download: the bad extraction is deleted, the
//!    archive kept, and the line fails;
//! 4. appends a line to `manifest.jsonl` in the host folder and prints one line saying where the
//!    file went (on stderr in `--json` mode, where stdout holds only records).
//!
//! With `--no-extract` the archive is kept instead; it is still decoded once (to nowhere) to
//! verify the SHA-256. Folders are created 0700, files 0600; nothing existing is overwritten.

use rtrsh_command::digest::hex;
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::error::Exit;
use crate::output::sanitize_line;
use crate::shell::outputs::{GetOptions, LineResult, Outputs, session_info};
use rtrsh_client::files::{SessionFile, is_sha256};
use rtrsh_client::session::poll::OutputSink;
use rtrsh_client::session::{HostSession, Outcome, Target};
use rtrsh_client::{FalconClient, FalconError};

/// The password RTR protects retrieved files with.
pub const ARCHIVE_PASSWORD: &str = "infected";

/// Decompressed size limit when the API did not report a size.
const DEFAULT_CAP: u64 = 4 << 30;
/// Allowed growth over the size the API reported.
const CAP_SLACK: u64 = 1 << 20;
/// A download that sends nothing for this long has failed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound of one whole download (a slow link and a 4 GiB file).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// Attempts at a download that breaks off mid-way (each starts again from byte 0).
const DOWNLOAD_ATTEMPTS: u32 = 3;

/// Why a `get` did not end with a verified file on disk.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("{0}")]
    Api(#[from] FalconError),
    #[error("{0}")]
    Upload(String),
    #[error("{0}")]
    Download(String),
    /// The archive did not decode, or its content does not match the API's SHA-256.
    #[error("corrupted download: {detail}; the archive is kept as {}", archive.display())]
    Corrupt { detail: String, archive: PathBuf },
    #[error("{0}")]
    Local(String),
    #[error("cancelled")]
    Cancelled,
}

impl GetError {
    fn exit(&self) -> Exit {
        match self {
            GetError::Api(e) if e.is_auth_or_connection() => Exit::AuthOrConnection,
            _ => Exit::CommandFailed,
        }
    }
}

fn local(what: &str, path: &Path, e: std::io::Error) -> GetError {
    GetError::Local(format!("cannot {what} {}: {e}", path.display()))
}

/// A file saved by `get`.
#[derive(Clone, Debug)]
pub struct Saved {
    pub remote_path: String,
    pub sha256: String,
    pub size: u64,
    /// The extracted file, or the archive with `--no-extract`.
    pub local_path: PathBuf,
    /// The archive when it was kept.
    pub archive: Option<PathBuf>,
}

impl Saved {
    /// `saved REMOTE -> LOCAL (sha256 abcd1234…, 1.2 KiB)`, terminal-safe.
    pub fn describe(&self) -> String {
        format!(
            "saved {} -> {} (sha256 {}…, {})",
            sanitize_line(&self.remote_path),
            sanitize_line(&self.local_path.to_string_lossy()),
            &self.sha256[..self.sha256.len().min(8)],
            crate::output::layout::human_size(self.size)
        )
    }
}

/// Called after a `get PATH` command completed on the host; its result is the line's result.
pub async fn after_get(
    session: &HostSession,
    path: &str,
    outcome: &Outcome,
    outs: &mut Outputs,
) -> LineResult {
    let opts = outs.get.clone();
    // The prompt and script runners listen for Ctrl-C too; every listener is woken.
    let r = tokio::select! {
        r = fetch(session, path, &outcome.cloud_request_id, &opts) => r,
        // A failed signal registration disables this branch instead of cancelling.
        Ok(()) = tokio::signal::ctrl_c() => Err(GetError::Cancelled),
    };
    let info = session_info(session, session.session_id().await);
    match r {
        Ok(saved) => {
            let line = saved.describe();
            let _ = outs.transcript.note(Some(&info), &line);
            if outs.json {
                outs.notify(line);
            } else {
                outs.term.stdout(&format!("{line}\n"));
                outs.term.finish();
            }
            LineResult::Ok
        }
        Err(GetError::Cancelled) => {
            outs.notify(format!(
                "cancelled; {} stays in the session's files (see `files`)",
                sanitize_line(path)
            ));
            LineResult::Cancelled
        }
        Err(e) => {
            let msg = format!("get {}: {e}", path);
            let _ = outs.transcript.note(Some(&info), &msg);
            eprintln!("{}", crate::output::style::error(&msg));
            LineResult::Failed(e.exit())
        }
    }
}

/// The whole flow after the host ran `get`.
pub async fn fetch(
    session: &HostSession,
    path: &str,
    cloud_request_id: &str,
    opts: &GetOptions,
) -> Result<Saved, GetError> {
    let sid = session.session_id().await;
    let start = Instant::now();
    let file = wait_uploaded(session, &sid, path, cloud_request_id, opts.upload_timeout).await?;
    save(session.client(), &sid, session.target(), file, opts, start).await
}

/// Downloads a file that reached the cloud from session `sid` of `target`, checks its SHA-256,
/// extracts it into the host's evidence folder and writes the manifest line: one host's part of
/// `get`, the same for one host and for many. `start`: when the wait for it began (the upload
/// time limit covers the download's "not moved yet" refusals too).
pub async fn save(
    client: &FalconClient,
    sid: &str,
    target: &Target,
    file: SessionFile,
    opts: &GetOptions,
    start: Instant,
) -> Result<Saved, GetError> {
    if !is_sha256(&file.sha256) {
        return Err(not_a_hash(&file.sha256));
    }
    let sha = file.sha256.to_ascii_lowercase();
    let dir = host_dir(&opts.evidence_dir, target)?;
    let stem = unique_name(&dir, &evidence_name(&file.name));
    let part = PartFile::create(dir.join(format!(".{stem}.7z.part")))?;
    download(
        client,
        sid,
        &file,
        &sha,
        &part,
        (start, opts.upload_timeout),
    )
    .await?;

    let cap = file
        .claimed_size()
        .map_or(DEFAULT_CAP, |size| size + CAP_SLACK);
    let out_part = if opts.extract {
        Some(PartFile::create(dir.join(format!(".{stem}.part")))?)
    } else {
        None
    };
    let archive_tmp = part.path.clone();
    let out_tmp = out_part.as_ref().map(|p| p.path.clone());
    let decoded =
        tokio::task::spawn_blocking(move || extract(&archive_tmp, out_tmp.as_deref(), cap))
            .await
            .map_err(|e| GetError::Local(format!("extraction stopped: {e}")))?;
    let archive_path = dir.join(format!("{stem}.7z"));
    let checked = match decoded {
        Ok((got, size)) if got == sha => Ok(size),
        Ok((got, _)) => Err(format!(
            "the SHA-256 of the extracted file is {got}, the API reported {sha}"
        )),
        Err(e) => Err(e),
    };
    let size = match checked {
        Ok(size) => size,
        Err(detail) => {
            drop(out_part);
            part.persist(&archive_path)?;
            append_manifest(&dir, target, &file, &sha, None, Some(&archive_path), false)?;
            return Err(GetError::Corrupt {
                detail,
                archive: archive_path,
            });
        }
    };
    let (local_path, archive) = match out_part {
        Some(out) => {
            let final_path = dir.join(&stem);
            out.persist(&final_path)?;
            drop(part);
            (final_path, None)
        }
        None => {
            part.persist(&archive_path)?;
            (archive_path.clone(), Some(archive_path))
        }
    };
    append_manifest(
        &dir,
        target,
        &file,
        &sha,
        Some(&local_path),
        archive.as_deref(),
        true,
    )?;
    Ok(Saved {
        remote_path: file.name,
        sha256: sha,
        size,
        local_path,
        archive,
    })
}

/// A `sha256` from the API that is not one: it will not become one, so waiting is pointless.
fn not_a_hash(sha: &str) -> GetError {
    GetError::Upload(format!(
        "the API gave {} as the file's SHA-256, which is not one (64 hex digits)",
        crate::shell::shown(sha)
    ))
}

/// True when stderr is a terminal (progress is drawn only there).
fn progress_target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn spinner(template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, progress_target());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Whether `f` is the file this `get` sent: same cloud_request_id, or (when the API leaves it
/// out) the same path.
fn is_ours(f: &SessionFile, cloud_request_id: &str, path: &str) -> bool {
    if !f.cloud_request_id.is_empty() {
        return f.cloud_request_id == cloud_request_id;
    }
    let name = f.name.to_ascii_lowercase();
    let p = path.to_ascii_lowercase();
    name == p || name.ends_with(&format!("\\{p}")) || name.ends_with(&format!("/{p}"))
}

/// Polls the session's files until ours is uploaded.
async fn wait_uploaded(
    session: &HostSession,
    sid: &str,
    path: &str,
    cloud_request_id: &str,
    limit: Duration,
) -> Result<SessionFile, GetError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(250);
    let bar = spinner("{spinner} uploading to the cloud: {msg} ({elapsed})");
    bar.set_message(sanitize_line(path));
    let result = loop {
        let files = session.client().session_files(sid).await?;
        if let Some(f) = files
            .into_iter()
            .rev()
            .find(|f| is_ours(f, cloud_request_id, path))
        {
            // The hash is enough to ask for the download (it may still be refused, see above).
            if is_sha256(&f.sha256) {
                break Ok(f);
            }
            // A hash that is there but is not one (not 64 hex digits) will not become one:
            // waiting would only show "uploaded 100%" until the time limit.
            if !f.sha256.is_empty() {
                break Err(not_a_hash(&f.sha256));
            }
            let status = f.status.to_ascii_uppercase();
            if status.contains("FAIL") || status.contains("ERROR") {
                let why = if f.error_message.is_empty() {
                    f.status.clone()
                } else {
                    f.error_message.clone()
                };
                break Err(GetError::Upload(format!(
                    "the upload to the cloud failed: {}",
                    sanitize_line(&why)
                )));
            }
            let pct = (f.progress.clamp(0.0, 1.0) * 100.0).round();
            let of = f
                .claimed_size()
                .map(|size| {
                    let done = (size as f64 * f.progress.clamp(0.0, 1.0)) as u64;
                    format!(
                        " ({} of {})",
                        crate::output::layout::human_size(done),
                        crate::output::layout::human_size(size)
                    )
                })
                .unwrap_or_default();
            bar.set_message(format!(
                "{} {} {pct}%{of}",
                sanitize_line(path),
                sanitize_line(&f.stage).to_lowercase()
            ));
        }
        if start.elapsed() + delay > limit {
            break Err(GetError::Upload(format!(
                "the file did not reach the cloud within {}; it may still arrive (see `files`)",
                humantime::format_duration(limit)
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(2));
    };
    bar.finish_and_clear();
    result
}

/// Whether the API refused a download because the file has not moved to the cloud yet.
fn not_ready(e: &FalconError) -> bool {
    matches!(e.status(), Some(404 | 409 | 423 | 425))
}

/// Streams the archive into `part`, starting again (from byte 0) if the transfer breaks off,
/// and asking again, with a back-off, while the API says the file is not ready. `bound`: when
/// the wait began and how long it may take in all.
async fn download(
    client: &FalconClient,
    sid: &str,
    file: &SessionFile,
    sha: &str,
    part: &PartFile,
    bound: (Instant, Duration),
) -> Result<u64, GetError> {
    let (start, limit) = bound;
    let mut delay = Duration::from_millis(250);
    let mut refusals = 0u32;
    let waiting =
        spinner("{spinner} waiting for the file to be moved to the cloud: {msg} ({elapsed})");
    let result = loop {
        match download_attempts(client, sid, file, sha, part).await {
            Err(GetError::Api(e)) if not_ready(&e) => {
                refusals += 1;
                if start.elapsed() + delay > limit {
                    break Err(GetError::Upload(format!(
                        "the file was still not ready to download after {} ({refusals} tries; last answer: {}); it may still arrive (see `files`)",
                        humantime::format_duration(limit),
                        sanitize_line(&e.to_string())
                    )));
                }
                tracing::debug!("download refused ({e}); asking again in {delay:?}");
                waiting.set_message(format!("{} (try {refusals})", sanitize_line(&file.name)));
                tokio::time::sleep(delay).await;
                delay = (delay * 3 / 2).min(Duration::from_secs(2));
            }
            r => break r,
        }
    };
    waiting.finish_and_clear();
    result
}

/// [`download_once`], started again (from byte 0) if the transfer breaks off.
async fn download_attempts(
    client: &FalconClient,
    sid: &str,
    file: &SessionFile,
    sha: &str,
    part: &PartFile,
) -> Result<u64, GetError> {
    // An archive is never much larger than its content (stored data plus a small header).
    let cap = file
        .claimed_size()
        .map_or(DEFAULT_CAP + DEFAULT_CAP / 16, |size| {
            size + size / 16 + CAP_SLACK
        });
    // The total is the archive's length when the API sends one; otherwise the file's own size
    // is shown beside what has arrived.
    let bar = spinner("{spinner} downloading {bytes} ({binary_bytes_per_sec}) {msg}");
    bar.set_message(match file.claimed_size() {
        Some(size) => format!(
            "of a {} file: {}",
            crate::output::layout::human_size(size),
            sanitize_line(&basename(&file.name))
        ),
        None => sanitize_line(&basename(&file.name)),
    });
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        bar.set_position(0);
        match download_once(client, sid, file, sha, part, cap, &bar).await {
            Err(GetError::Download(e)) if attempt < DOWNLOAD_ATTEMPTS => {
                tracing::debug!("download broke off ({e}), starting again");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            r => break r,
        }
    };
    bar.finish_and_clear();
    result
}

async fn download_once(
    client: &FalconClient,
    sid: &str,
    file: &SessionFile,
    sha: &str,
    part: &PartFile,
    cap: u64,
    bar: &ProgressBar,
) -> Result<u64, GetError> {
    let mut resp = client
        .download_session_file(sid, sha, &basename(&file.name), TRANSFER_TIMEOUT)
        .await?;
    if let Some(len) = resp.content_length().filter(|n| *n > 0) {
        bar.set_length(len);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} downloading {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta} left) {msg}",
        ) {
            bar.set_style(style);
        }
    }
    // Disk writes happen on a blocking thread, fed through a small channel.
    let mut out = part
        .file
        .try_clone()
        .map_err(|e| local("write", &part.path, e))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        out.set_len(0)?;
        out.rewind()?;
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, &mut out);
        while let Some(chunk) = rx.blocking_recv() {
            w.write_all(&chunk)?;
        }
        w.flush()?;
        drop(w);
        out.sync_all()
    });
    let mut total = 0u64;
    let streamed: Result<(), GetError> = async {
        loop {
            let chunk = match tokio::time::timeout(IDLE_TIMEOUT, resp.chunk()).await {
                Err(_) => {
                    return Err(GetError::Download(format!(
                        "the download stalled ({}s without data)",
                        IDLE_TIMEOUT.as_secs()
                    )));
                }
                Ok(Err(e)) => {
                    return Err(GetError::Download(format!("the download broke off: {e}")));
                }
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(c))) => c,
            };
            total += chunk.len() as u64;
            if total > cap {
                return Err(GetError::Download(format!(
                    "the archive is larger than expected (over {cap} bytes for a {}-byte file)",
                    file.size
                )));
            }
            bar.set_position(total);
            if tx.send(chunk).await.is_err() {
                return Ok(()); // the writer failed: its error is reported below
            }
        }
    }
    .await;
    drop(tx);
    let written = writer
        .await
        .map_err(|e| GetError::Local(format!("the writer stopped: {e}")))?;
    streamed?;
    written.map_err(|e| local("write", &part.path, e))?;
    Ok(total)
}

/// Counts and hashes what passes through; writes it on when there is somewhere to write.
struct HashingWriter<W: Write> {
    inner: Option<W>,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match self.inner.as_mut() {
            Some(w) => w.write(buf)?,
            None => buf.len(),
        };
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

/// Decodes the first file of the archive at `archive` (password `infected`) into `out` (or
/// nowhere), at most `cap` bytes. Returns its SHA-256 (lowercase hex) and size. The entry's name
/// is never used: the caller chose `out`.
pub fn extract(archive: &Path, out: Option<&Path>, cap: u64) -> Result<(String, u64), String> {
    use sevenz_rust2::{ArchiveReader, EntryDecision, Error as SzError, Password};
    let f = File::open(archive).map_err(|e| format!("cannot open the archive: {e}"))?;
    let mut reader =
        ArchiveReader::new(std::io::BufReader::new(f), Password::new(ARCHIVE_PASSWORD))
            .map_err(|e| format!("the archive does not open: {e}"))?;
    reader.set_thread_count(1);
    let mut sink = match out {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(p)
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let mut done: Option<(String, u64)> = None;
    let mut too_big = false;
    let mut io_error: Option<String> = None;
    let r = reader.for_each_entries_with_decision(|entry, data| {
        if entry.is_directory || entry.is_anti_item {
            return Ok(EntryDecision::Continue);
        }
        if done.is_some() {
            return Ok(EntryDecision::Stop);
        }
        if entry.size > cap {
            too_big = true;
            return Ok(EntryDecision::Stop);
        }
        let mut w = HashingWriter {
            inner: sink
                .as_mut()
                .map(|f| std::io::BufWriter::with_capacity(256 * 1024, f)),
            hasher: Sha256::new(),
            written: 0,
        };
        if let Err(e) = std::io::copy(&mut data.take(cap + 1), &mut w) {
            io_error = Some(e.to_string());
            return Err(SzError::Other("extraction failed".into()));
        }
        if w.written > cap {
            too_big = true;
            return Ok(EntryDecision::Stop);
        }
        if let Err(e) = w.flush() {
            io_error = Some(e.to_string());
            return Err(SzError::Other("extraction failed".into()));
        }
        let hex = hex(&w.hasher.finalize_reset());
        done = Some((hex, w.written));
        // Continue: the reader checks the entry's CRC once it was read to the end.
        Ok(EntryDecision::Continue)
    });
    if too_big {
        return Err(format!("the file decompresses to more than {cap} bytes"));
    }
    if let Some(e) = io_error {
        return Err(format!("the archive does not decode: {e}"));
    }
    r.map_err(|e| format!("the archive does not decode: {e}"))?;
    if let Some(f) = sink.as_mut() {
        f.sync_all().map_err(|e| format!("cannot write: {e}"))?;
    }
    done.ok_or_else(|| "the archive holds no file".to_string())
}

/// A file name made only of `[A-Za-z0-9._-]`, not starting with a dot, at most `max` chars.
fn safe_name(s: &str, max: usize) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    mapped.trim_start_matches('.').chars().take(max).collect()
}

/// The last component of a Windows or Unix path.
fn basename(path: &str) -> String {
    path.rsplit(['\\', '/'])
        .find(|s| !s.is_empty())
        .unwrap_or("file")
        .to_string()
}

/// The file's own name (its last path component), safe as a file name: `x.dmp` keeps its
/// name and extension; characters outside `[A-Za-z0-9._-]` become `_`. The host folder says
/// whose it is and the manifest keeps its hash.
pub fn evidence_name(remote_path: &str) -> String {
    match safe_name(&basename(remote_path), 100) {
        b if b.is_empty() => "file".to_string(),
        b => b,
    }
}

/// `name`, or on a collision `name (2)`, `name (3)`... before the extension (`x (2).dmp`): a
/// name for which neither `<name>` nor `<name>.7z` exists yet in `dir`.
fn unique_name(dir: &Path, name: &str) -> String {
    let free = |s: &str| {
        dir.join(s).symlink_metadata().is_err()
            && dir.join(format!("{s}.7z")).symlink_metadata().is_err()
    };
    if free(name) {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    (2..10_000)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|s| free(s))
        .unwrap_or_else(|| format!("{stem} ({}){ext}", std::process::id()))
}

/// `<evidence>/<hostname>/`, created 0700 where missing; must be a real directory.
fn host_dir(root: &Path, target: &Target) -> Result<PathBuf, GetError> {
    let name = match safe_name(&target.hostname, 64) {
        n if n.is_empty() => safe_name(&target.aid, 64),
        n => n,
    };
    let name = if name.is_empty() { "host".into() } else { name };
    let dir = root.join(name);
    crate::output::private::dirs(&dir).map_err(|e| local("create the folder", &dir, e))?;
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| local("open the folder", &dir, e))?;
    if !meta.is_dir() {
        return Err(GetError::Local(format!(
            "{} is not a folder (a symbolic link?): refusing to save evidence there",
            dir.display()
        )));
    }
    Ok(dir)
}

/// A new private (0600) file that is removed when dropped unless persisted under its final name.
struct PartFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl PartFile {
    fn create(path: PathBuf) -> Result<PartFile, GetError> {
        // A leftover from an interrupted run is ours to replace.
        let _ = std::fs::remove_file(&path);
        let file = crate::output::private::options_nofollow()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| local("create", &path, e))?;
        Ok(PartFile {
            path,
            file,
            keep: false,
        })
    }

    /// Gives the file its final name, never replacing an existing file.
    fn persist(mut self, to: &Path) -> Result<(), GetError> {
        std::fs::hard_link(&self.path, to).map_err(|e| local("save", to, e))?;
        let _ = std::fs::remove_file(&self.path);
        self.keep = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Appends one JSON line to `<dir>/manifest.jsonl` (0600).
fn append_manifest(
    dir: &Path,
    t: &Target,
    file: &SessionFile,
    sha: &str,
    local_path: Option<&Path>,
    archive: Option<&Path>,
    verified: bool,
) -> Result<(), GetError> {
    // Absolute paths, so the manifest stays meaningful wherever it is read from.
    let abs = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .to_string_lossy()
            .into_owned()
    };
    let line = json!({
        "time": crate::output::record::rfc3339(SystemTime::now()),
        "host": t.hostname,
        "aid": t.aid,
        "remote_path": file.name,
        "sha256": sha,
        "size": file.size,
        "local_path": local_path.map(abs),
        "archive": archive.map(abs),
        "archive_kept": archive.is_some(),
        "verified": verified,
        "cloud_request_id": file.cloud_request_id,
        "session_id": file.session_id,
    });
    let path = dir.join("manifest.jsonl");
    let mut f = crate::output::private::options_nofollow()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| local("open", &path, e))?;
    let mut bytes = serde_json::to_vec(&line).map_err(|e| GetError::Local(e.to_string()))?;
    bytes.push(b'\n');
    f.write_all(&bytes)
        .and_then(|_| f.sync_data())
        .map_err(|e| local("write", &path, e))
}

/// The files each session holds in the cloud (from `get`), as the hosts' APIs answered.
pub type Listed = Vec<(Target, Result<Vec<SessionFile>, String>)>;

/// The `files` built-in, one host or many: a table (with a host column for many hosts) or one
/// JSON object per file; a session whose files could not be listed is an error line each.
pub fn print_files(lists: Listed, json: bool, many: bool) -> Exit {
    let mut worst = Exit::Ok;
    let mut rows: Vec<(&Target, &SessionFile)> = Vec::new();
    for (target, r) in &lists {
        match r {
            Ok(files) => rows.extend(files.iter().map(|f| (target, f))),
            Err(e) => {
                worst = Exit::CommandFailed;
                eprintln!(
                    "{}",
                    crate::output::style::error(&format!(
                        "{}: cannot list its files: {}",
                        target.hostname,
                        crate::output::sanitize::one_line(e)
                    ))
                );
            }
        }
    }
    if json {
        let mut out = std::io::stdout().lock();
        for (t, f) in &rows {
            let v = json!({
                "host": t.hostname, "aid": t.aid, "session_id": f.session_id,
                "name": f.name, "size": f.size, "sha256": f.sha256, "complete": f.ready(),
                "stage": f.stage, "progress": f.progress, "created_at": f.created_at,
                "cloud_request_id": f.cloud_request_id, "id": f.id,
            });
            let _ = out.write_all(terminal_safe_json(&v).as_bytes());
        }
        let _ = out.flush();
    } else if rows.is_empty() {
        if worst == Exit::Ok {
            eprintln!("rtrsh: no files in the cloud for this session (`get PATH` puts one there)");
        }
    } else {
        let table: Vec<(Option<&str>, &SessionFile)> = rows
            .iter()
            .map(|(t, f)| (many.then_some(t.hostname.as_str()), *f))
            .collect();
        print!("{}", files_table_of(&table));
    }
    worst
}

/// What `download` did.
#[derive(Debug, Default)]
pub struct DownloadReport {
    /// Files that matched (finished, and ending with the name given).
    pub matched: usize,
    pub saved: usize,
    pub worst: Exit,
}

impl DownloadReport {
    pub fn exit(&self) -> Exit {
        if self.matched == 0 {
            Exit::CommandFailed
        } else {
            self.worst
        }
    }
}

/// Files to save, each with its host; an `Err` is a host whose file cannot be had (why).
pub type Work = Vec<(Target, Result<SessionFile, String>)>;

/// What `download [NAME]` saves: every finished file the sessions hold whose name ends with
/// NAME (any case); a session whose files could not be listed is an `Err`.
pub fn matching(lists: Listed, name: Option<&str>) -> Work {
    let wanted = |f: &SessionFile| {
        f.ready()
            && name.is_none_or(|n| {
                f.name
                    .to_ascii_lowercase()
                    .ends_with(&n.to_ascii_lowercase())
            })
    };
    let mut work = Vec::new();
    for (target, r) in lists {
        match r {
            Ok(files) => work.extend(
                files
                    .into_iter()
                    .filter(|f| wanted(f))
                    .map(|f| (target.clone(), Ok(f))),
            ),
            Err(e) => work.push((target, Err(format!("cannot list its files: {e}")))),
        }
    }
    work
}

/// Saves files that reached the cloud, one host or many (`get` on many hosts, `download`), with
/// the same step as `get` on one host ([`save`]), four at a time; each result goes to `each`
/// as it comes. Ctrl-C (`cancel`) stops the rest.
pub async fn save_all(
    client: &FalconClient,
    work: Work,
    opts: &GetOptions,
    cancel: &CancellationToken,
    each: &mut dyn FnMut(&Target, &Result<Saved, String>),
) -> DownloadReport {
    use futures_util::StreamExt;
    let mut report = DownloadReport {
        matched: work.iter().filter(|(_, r)| r.is_ok()).count(),
        ..Default::default()
    };
    let start = Instant::now();
    let mut saves = futures_util::stream::iter(work)
        .map(|(target, f)| {
            let client = client.clone();
            let opts = opts.clone();
            let cancel = cancel.clone();
            async move {
                let r = match f {
                    Err(why) => Err((Exit::CommandFailed, why)),
                    Ok(f) => {
                        let sid = f.session_id.clone();
                        tokio::select! {
                            r = save(&client, &sid, &target, f, &opts, start) => {
                                r.map_err(|e| (e.exit(), e.to_string()))
                            }
                            _ = cancel.cancelled() => {
                                Err((Exit::CommandFailed, "cancelled".to_string()))
                            }
                        }
                    }
                };
                (target, r)
            }
        })
        .buffer_unordered(4);
    while let Some((target, r)) = saves.next().await {
        let r = match r {
            Ok(saved) => {
                report.saved += 1;
                Ok(saved)
            }
            Err((exit, why)) => {
                report.worst = report.worst.max(exit);
                Err(why)
            }
        };
        each(&target, &r);
    }
    report
}

/// One JSON line (with its newline) in which DEL, C1, bidi and invisible characters are `\uXXXX`
/// escapes, so it is inert on a terminal and decodes to the same value.
fn terminal_safe_json(v: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in v.to_string().chars() {
        if c == '\u{7f}' || crate::output::sanitize::is_hidden(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    out
}

/// A table of session files (cells sanitised and shortened).
pub fn files_table(files: &[SessionFile]) -> String {
    let rows: Vec<(Option<&str>, &SessionFile)> = files.iter().map(|f| (None, f)).collect();
    files_table_of(&rows)
}

/// A table of session files, with a host column when rows name their host (many hosts).
pub fn files_table_of(rows: &[(Option<&str>, &SessionFile)]) -> String {
    use crate::output::layout;
    use crate::output::truncate_for_display;
    use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
    let cell = |s: &str, n: usize| truncate_for_display(&sanitize_line(s), n).into_owned();
    let with_host = rows.iter().any(|(h, _)| h.is_some());
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    layout::fit(&mut t, layout::terminal_width(layout::Stream::Stdout));
    let mut header = vec!["name", "size", "sha256", "state", "created"];
    if with_host {
        header.insert(0, "host");
    }
    t.set_header(header);
    for (host, f) in rows {
        let state = if f.ready() {
            "complete".to_string()
        } else {
            format!(
                "{} {:.0}%",
                cell(&f.stage, 20),
                f.progress.clamp(0.0, 1.0) * 100.0
            )
        };
        let sha = if f.sha256.is_empty() {
            "-".to_string()
        } else {
            let clean = sanitize_line(&f.sha256);
            format!("{}…", clean.chars().take(12).collect::<String>())
        };
        let mut row = vec![
            cell(&f.name, 80),
            crate::output::layout::human_size(f.size),
            sha,
            state,
            cell(&f.created_at, 25),
        ];
        if with_host {
            row.insert(0, cell(host.unwrap_or_default(), 40));
        }
        t.add_row(row);
    }
    format!("{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_the_name_and_extension() {
        assert_eq!(
            evidence_name(r"C:\Windows\System32\drivers\etc\hosts"),
            "hosts"
        );
        assert_eq!(evidence_name(r"C:\Temp\x.dmp"), "x.dmp");
        let s = evidence_name("C:\\x\\..\\..\\etc\\pass wd\n\x1b[31m");
        assert!(
            !s.contains('/') && !s.contains('\\') && !s.starts_with('.'),
            "{s}"
        );
        assert_eq!(evidence_name(""), "file");
        assert_eq!(evidence_name("/tmp/"), "tmp");
        assert_eq!(evidence_name("/home/u/.bashrc"), "bashrc");
        let tmp = tempfile::tempdir().expect("tmp");
        assert_eq!(unique_name(tmp.path(), "x.dmp"), "x.dmp");
        std::fs::write(tmp.path().join("x.dmp"), b"").expect("write");
        assert_eq!(unique_name(tmp.path(), "x.dmp"), "x (2).dmp");
        std::fs::write(tmp.path().join("x (2).dmp.7z"), b"").expect("write");
        assert_eq!(unique_name(tmp.path(), "x.dmp"), "x (3).dmp");
        std::fs::write(tmp.path().join("hosts"), b"").expect("write");
        assert_eq!(unique_name(tmp.path(), "hosts"), "hosts (2)");
    }

    #[test]
    fn ours_by_request_id_or_path() {
        let f = SessionFile {
            cloud_request_id: "abc".into(),
            name: r"C:\Temp\a.txt".into(),
            ..Default::default()
        };
        assert!(is_ours(&f, "abc", "whatever"));
        assert!(!is_ours(&f, "xyz", r"C:\Temp\a.txt"));
        let g = SessionFile {
            name: r"C:\Temp\a.txt".into(),
            ..Default::default()
        };
        assert!(is_ours(&g, "xyz", r"c:\temp\A.TXT"));
        assert!(is_ours(&g, "xyz", "a.txt"));
        assert!(!is_ours(&g, "xyz", "b.txt"));
    }

    #[test]
    fn table_cells_are_sanitised() {
        let f = SessionFile {
            name: "C:\\evil\x1b[2J\nname".into(),
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            complete: true,
            size: 5,
            ..Default::default()
        };
        let t = files_table(&[f]);
        assert!(!t.contains('\x1b'), "{t}");
        assert!(t.contains("e3b0c44298fc…"), "{t}");
        assert!(t.contains("complete"), "{t}");
    }

    fn archive_of(dir: &Path, entry: &str, body: &[u8]) -> PathBuf {
        use rtrsh_emulator::content::Content;
        let path = dir.join("a.7z");
        let f = File::create(&path).expect("create archive");
        rtrsh_emulator::archive::write_7z(
            std::io::BufWriter::new(f),
            entry,
            &Content::bytes(bytes::Bytes::copy_from_slice(body)),
            ARCHIVE_PASSWORD,
        )
        .expect("write archive");
        path
    }

    fn sha_hex(b: &[u8]) -> String {
        hex(&Sha256::digest(b))
    }

    #[test]
    fn a_hostile_entry_name_cannot_escape_the_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let folder = tmp.path().join("evidence").join("HOST");
        std::fs::create_dir_all(&folder).expect("mkdir");
        let body = b"not where the archive says";
        for entry in ["../../etc/x", "/etc/x", r"..\..\etc\x", "C:/etc/x"] {
            let archive = archive_of(tmp.path(), entry, body);
            let out = folder.join("chosen-by-rtrsh");
            std::fs::File::create(&out).expect("out");
            let (sha, n) = extract(&archive, Some(&out), 1 << 20).expect("extracts");
            assert_eq!(std::fs::read(&out).expect("read"), body);
            assert_eq!((sha, n), (sha_hex(body), body.len() as u64));
            assert!(!tmp.path().join("etc").exists(), "{entry}");
            let names: Vec<_> = std::fs::read_dir(&folder)
                .expect("ls")
                .map(|e| e.expect("entry").file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("chosen-by-rtrsh")]);
            std::fs::remove_file(&out).expect("rm");
        }
    }

    #[test]
    fn size_cap_and_corruption_are_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let archive = archive_of(tmp.path(), "x.bin", &body);
        let e = extract(&archive, None, 1000).expect_err("over the cap");
        assert!(e.contains("more than 1000 bytes"), "{e}");
        let (sha, n) = extract(&archive, None, body.len() as u64).expect("fits exactly");
        assert_eq!((sha, n), (sha_hex(&body), body.len() as u64));
        // One flipped byte in the encrypted data: no longer the same file.
        let mut raw = std::fs::read(&archive).expect("read");
        raw[40] ^= 0xff;
        std::fs::write(&archive, &raw).expect("write");
        match extract(&archive, None, 1 << 20) {
            Err(_) => {}
            Ok((sha, _)) => assert_ne!(sha, sha_hex(&body)),
        }
        std::fs::write(&archive, b"not a 7z").expect("write");
        assert!(extract(&archive, None, 1 << 20).is_err());
    }

    #[test]
    fn an_empty_file_extracts() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let archive = archive_of(tmp.path(), "empty.txt", b"");
        let (sha, n) = extract(&archive, None, 10).expect("extracts");
        assert_eq!((sha, n), (sha_hex(b""), 0));
    }

    #[test]
    fn json_lines_are_terminal_safe() {
        let v = json!({ "name": "a\u{202e}b\u{7f}c\u{1b}" });
        let line = terminal_safe_json(&v);
        assert!(line.is_ascii(), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back, v);
    }
}
