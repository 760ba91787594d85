//! Files retrieved with `get` (docs/protocol.md, "Files"): the session's file list (v1 and v2),
//! deleting a file, and downloading it as a password-protected 7z (`extracted-file-contents`),
//! streamed without a Content-Length as the real API does.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::{EmulatorConfig, Misbehaviour};
use crate::handlers::{Call, ZERO_TIME, rfc3339};
use crate::http::{ApiError, ApiResult, PoweredBy, ok};
use crate::state::{Caller, Emulator, FileRec};

/// The password RTR protects retrieved files with.
pub const ARCHIVE_PASSWORD: &str = "infected";

fn session_files(emu: &Emulator, caller: &Caller, sid: &str) -> Result<Vec<FileRec>, ApiError> {
    let inner = emu.lock();
    match inner.sessions.get(sid) {
        Some(s) if s.owner == caller.client_id => {}
        _ => return Err(ApiError::not_found(format!("Could not find session {sid}"))),
    }
    let now = Instant::now();
    Ok(inner
        .files
        .iter()
        .filter(|f| f.session_id == sid && !f.deleted && now >= f.started_at)
        .cloned()
        .collect())
}

/// One `domain.FileV2`. The hash shows as soon as it is known (the host has sent the file),
/// unless `sha256_when_complete` hides it until the upload is complete (see the switch).
fn file_v2(f: &FileRec, now: Instant, cfg: &EmulatorConfig) -> Value {
    let absurd = cfg.misbehaves(Misbehaviour::AbsurdNumbers);
    let sha256_when_complete = cfg.sha256_when_complete;
    let done = now >= f.available_at && f.sha256.get().is_some();
    let progress = if done { 1.0 } else { f.progress(now).min(0.99) };
    let sha = if cfg.misbehaves(Misbehaviour::BadHashes) {
        "not-a-hash\u{1b}[2J".to_string()
    } else if done || !sha256_when_complete {
        f.sha256.get().cloned().unwrap_or_default()
    } else {
        String::new()
    };
    json!({
        "id": f.id,
        "cloud_request_id": f.cloud_request_id,
        "session_id": f.session_id,
        "name": f.name,
        "sha256": sha,
        "size": if absurd { u64::MAX } else { f.content.len() },
        "complete": done,
        "progress": progress,
        "stage": if done { "COMPLETE" } else { "UPLOADING" },
        "status": if done { "SUCCESS" } else { "IN_PROGRESS" },
        "error_message": "",
        "created_at": rfc3339(f.created_at),
        "updated_at": rfc3339(f.created_at),
        "deleted_at": ZERO_TIME,
    })
}

/// One `model.File` (integer id; a file whose upload finished, with its hash).
pub fn file_v1(f: &FileRec, sha256: &str) -> Value {
    json!({
        "id": f.legacy_id,
        "cloud_request_id": f.cloud_request_id,
        "session_id": f.session_id,
        "name": f.name,
        "sha256": sha256,
        "size": f.content.len(),
        "created_at": rfc3339(f.created_at),
        "updated_at": rfc3339(f.created_at),
        "deleted_at": ZERO_TIME,
    })
}

/// `GET /real-time-response/entities/file/v2?session_id=...`
pub async fn list_v2(Call { emu, caller, q }: Call) -> ApiResult {
    let files = session_files(&emu, &caller, q.required("session_id")?)?;
    let now = Instant::now();
    Ok(ok(
        StatusCode::OK,
        PoweredBy::Rtr,
        files.iter().map(|f| file_v2(f, now, &emu.config)).collect(),
    ))
}

/// `GET /real-time-response/entities/file/v1?session_id=...` (`model.File`, integer ids; only
/// files whose upload finished)
pub async fn list_v1(Call { emu, caller, q }: Call) -> ApiResult {
    let files = session_files(&emu, &caller, q.required("session_id")?)?;
    let now = Instant::now();
    let out: Vec<Value> = files
        .iter()
        .filter(|f| now >= f.available_at)
        .filter_map(|f| Some(file_v1(f, f.sha256.get()?)))
        .collect();
    Ok(ok(StatusCode::OK, PoweredBy::Rtr, Value::Array(out)))
}

/// `DELETE /real-time-response/entities/file/v{1,2}?ids=...&session_id=...`
pub async fn delete_file(Call { emu, caller, q }: Call) -> ApiResult {
    let sid = q.required("session_id")?.to_string();
    let id = q.required("ids")?.to_string();
    let mut inner = emu.lock();
    if inner
        .sessions
        .get(&sid)
        .is_none_or(|s| s.owner != caller.client_id)
    {
        return Err(ApiError::not_found(format!("Could not find session {sid}")));
    }
    let f = inner
        .files
        .iter_mut()
        .find(|f| {
            f.session_id == sid && !f.deleted && (f.id == id || f.legacy_id.to_string() == id)
        })
        .ok_or_else(|| ApiError::not_found(format!("Could not find file {id}")))?;
    f.deleted = true;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Where the `corrupt_downloads` fault flips a byte: the first byte of the packed (encrypted)
/// data, just after the 32-byte signature header.
const CORRUPT_AT: u64 = 32;

/// Passes the archive through with the byte at [`CORRUPT_AT`] inverted (a 7z archive is always
/// longer than that).
fn corrupted<S>(stream: S) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>>
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>>,
{
    use futures_util::StreamExt;
    let mut pos = 0u64;
    let mut done = false;
    stream.map(move |chunk| {
        let chunk = chunk?;
        let start = pos;
        pos += chunk.len() as u64;
        if done || chunk.is_empty() || pos <= CORRUPT_AT {
            return Ok(chunk);
        }
        done = true;
        let mut v = chunk.to_vec();
        let at = CORRUPT_AT.saturating_sub(start);
        if let Some(b) = usize::try_from(at).ok().and_then(|i| v.get_mut(i)) {
            *b ^= 0xff;
        }
        Ok(bytes::Bytes::from(v))
    })
}

/// The last component of a Windows or Unix path.
fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("file")
}

/// `GET /real-time-response/entities/extracted-file-contents/v1?session_id=...&sha256=...&filename=...`
pub async fn contents(Call { emu, caller, q }: Call) -> ApiResult {
    let sid = q.required("session_id")?.to_string();
    let sha = q.required("sha256")?.to_ascii_lowercase();
    let files = session_files(&emu, &caller, &sid)?;
    let now = Instant::now();
    let file = files
        .into_iter()
        .find(|f| f.sha256.get().is_some_and(|s| *s == sha))
        .ok_or_else(|| {
            ApiError::not_found(format!("File with sha256 {sha} not found in this session"))
        })?;
    // Not yet moved to the cloud: refused until then. What the real API answers here is
    // undocumented (FalconPy's streaming sample retries on any HTTP error while "waiting for
    // file to be moved to the cloud"); 404, as for an unknown file, is the inferred reading.
    if now < file.available_at + emu.config.cloud_move_time {
        return Err(ApiError::not_found(
            "File is not available yet: it is still being moved to the cloud",
        ));
    }
    let name = q
        .get("filename")
        .filter(|s| !s.is_empty())
        .map(|s| basename(s).to_string());
    let entry = name.unwrap_or_else(|| basename(&file.name).to_string());
    let dir = emu.archive_dir.path().to_path_buf();
    let path = file
        .archive
        .get_or_try_init(|| async {
            let content = file.content.clone();
            let target = dir.join(format!("{}.7z", file.id));
            let entry = entry.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<std::path::PathBuf> {
                let out = std::fs::File::create(&target)?;
                crate::archive::write_7z(
                    std::io::BufWriter::new(out),
                    &entry,
                    &content,
                    ARCHIVE_PASSWORD,
                )?;
                Ok(target)
            })
            .await
            .map_err(std::io::Error::other)?
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                500,
                format!("could not package file: {e}"),
            )
        })?
        .clone();
    let f = tokio::fs::File::open(&path).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            format!("could not read file: {e}"),
        )
    })?;
    let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024);
    let corrupt = emu.lock().corrupt_downloads;
    let body = if corrupt {
        Body::from_stream(corrupted(stream))
    } else {
        Body::from_stream(stream)
    };
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-7z-compressed"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.7z\"",
        entry.replace('"', "")
    )) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
