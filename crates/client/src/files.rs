//! Files retrieved with `get` and the admin libraries behind `put`, `runscript -CloudFile` and
//! `falconscript` (docs/protocol.md, "Files" and "Put-files and scripts"):
//! - the session's file list (`file/v2`), deleting a file, and the streamed download of one as a
//!   password-protected 7z (`extracted-file-contents`, no Content-Length);
//! - the names in the put-files, custom scripts and Falcon scripts libraries (query the ids, then
//!   fetch the records), for completion.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use crate::client::FalconClient;
use crate::error::FalconError;
use crate::ids::{CloudRequestId, SessionId};
use crate::{Envelope, null_default};

const FILES_V2: &str = "/real-time-response/entities/file/v2";
const CONTENTS: &str = "/real-time-response/entities/extracted-file-contents/v1";
const PUT_FILE_IDS: &str = "/real-time-response/queries/put-files/v1";
const PUT_FILES: &str = "/real-time-response/entities/put-files/v2";
const SCRIPT_IDS: &str = "/real-time-response/queries/scripts/v1";
const SCRIPTS: &str = "/real-time-response/entities/scripts/v2";
const FALCON_SCRIPT_IDS: &str = "/real-time-response/queries/falcon-scripts/v1";
const FALCON_SCRIPTS: &str = "/real-time-response/entities/falcon-scripts/v1";

/// Ids per page of a library query (the API's maximum `limit` is 5000).
const ID_PAGE: usize = 1000;
/// Ids per entities request (keeps the URL short).
const ENTITY_BATCH: usize = 100;

/// `domain.FileV2`: one file a `get` sent to the cloud. Every field tolerates `null`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SessionFile {
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cloud_request_id: CloudRequestId,
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: SessionId,
    /// The full path on the host (hostile: sanitise before printing).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub sha256: String,
    #[serde(default, deserialize_with = "null_default")]
    pub size: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub complete: bool,
    /// 0..1.
    #[serde(default, deserialize_with = "null_default")]
    pub progress: f64,
    #[serde(default, deserialize_with = "null_default")]
    pub stage: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_default")]
    pub error_message: String,
    #[serde(default, deserialize_with = "null_default")]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_default")]
    pub deleted_at: String,
}

/// The largest file size taken at its word (RTR `get` moves files of a few GB at most); a
/// larger claim, like 0, means "unknown".
pub const MAX_CLAIMED_SIZE: u64 = 64 << 30;

impl SessionFile {
    /// The size the API claims, when it is a plausible one.
    pub fn claimed_size(&self) -> Option<u64> {
        (self.size > 0 && self.size <= MAX_CLAIMED_SIZE).then_some(self.size)
    }

    /// Uploaded and downloadable: `complete` with a SHA-256 that looks like one.
    pub fn ready(&self) -> bool {
        self.complete && is_sha256(&self.sha256)
    }

    /// Deleted: `deleted_at` holds a real time (`null`, `""` and the Go zero time mean "not
    /// deleted"; docs/protocol.md, "Files").
    pub fn deleted(&self) -> bool {
        let d = self.deleted_at.trim();
        !(d.is_empty() || d.starts_with("0001-"))
    }
}

/// 64 hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A library record; only its name matters here.
#[derive(Clone, Debug, Default, Deserialize)]
struct Named {
    #[serde(default, deserialize_with = "null_default")]
    name: String,
}

impl FalconClient {
    /// The files of a session (`GET file/v2`), deleted ones left out.
    pub async fn session_files(&self, session_id: &str) -> Result<Vec<SessionFile>, FalconError> {
        let reply = self
            .get(FILES_V2, &[("session_id", session_id.to_string())])
            .await?;
        let env: Envelope<Vec<SessionFile>> = reply.json()?;
        Ok(env.resources.into_iter().filter(|f| !f.deleted()).collect())
    }

    /// Deletes a retrieved file from the cloud (`DELETE file/v2`).
    pub async fn delete_session_file(
        &self,
        session_id: &str,
        file_id: &str,
    ) -> Result<(), FalconError> {
        self.request(Method::DELETE, FILES_V2)
            .query(&[
                ("session_id", session_id.to_string()),
                ("ids", file_id.to_string()),
            ])
            .send()
            .await?;
        Ok(())
    }

    /// Starts the download of a retrieved file as a 7z archive (password `infected`). The body
    /// is not read: stream it with `Response::chunk`. `filename` names the entry in the archive
    /// (the API uses it as given: treat the entry name as hostile). `timeout` bounds the whole
    /// transfer.
    pub async fn download_session_file(
        &self,
        session_id: &str,
        sha256: &str,
        filename: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, FalconError> {
        let q = [
            ("session_id", session_id.to_string()),
            ("sha256", sha256.to_string()),
            ("filename", filename.to_string()),
        ];
        self.get_stream(CONTENTS, &q, timeout).await
    }

    /// Names in the put-files library (what `put NAME` accepts; case-sensitive), sorted.
    pub async fn put_file_names(&self) -> Result<Vec<String>, FalconError> {
        self.library_names(PUT_FILE_IDS, PUT_FILES).await
    }

    /// Names in the custom scripts library (what `runscript -CloudFile=NAME` accepts), sorted.
    pub async fn script_names(&self) -> Result<Vec<String>, FalconError> {
        self.library_names(SCRIPT_IDS, SCRIPTS).await
    }

    /// Names in the Falcon scripts catalogue (what `falconscript -Name=NAME` accepts), sorted.
    pub async fn falcon_script_names(&self) -> Result<Vec<String>, FalconError> {
        self.library_names(FALCON_SCRIPT_IDS, FALCON_SCRIPTS).await
    }

    /// Every id from a library query (paged), then the records' names.
    async fn library_names(
        &self,
        query_path: &str,
        entities_path: &str,
    ) -> Result<Vec<String>, FalconError> {
        let ids = self.all_ids(query_path).await?;
        let mut names = Vec::with_capacity(ids.len());
        for batch in ids.chunks(ENTITY_BATCH) {
            let q: Vec<(&str, String)> = batch.iter().map(|id| ("ids", id.clone())).collect();
            let reply = self.get(entities_path, &q).await?;
            let env: Envelope<Vec<Named>> = reply.json()?;
            names.extend(
                env.resources
                    .into_iter()
                    .map(|n| n.name)
                    .filter(|n| !n.is_empty()),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn all_ids(&self, path: &str) -> Result<Vec<String>, FalconError> {
        let mut ids: Vec<String> = Vec::new();
        loop {
            let q = [
                ("limit", ID_PAGE.to_string()),
                ("offset", ids.len().to_string()),
                ("sort", "name|asc".to_string()),
            ];
            let reply = self.get(path, &q).await?;
            let env: Envelope<Vec<String>> = reply.json()?;
            let got = env.resources.len();
            ids.extend(env.resources);
            let total = env
                .meta
                .pagination
                .map(|p| usize::try_from(p.total).unwrap_or(usize::MAX));
            let more = match total {
                Some(t) => ids.len() < t,
                None => got == ID_PAGE,
            };
            // An empty page ends the loop even if `total` claims more (no endless paging).
            if got == 0 || !more {
                return Ok(ids);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_at_forms() {
        let mut f = SessionFile::default();
        assert!(!f.deleted());
        f.deleted_at = "0001-01-01T00:00:00Z".into();
        assert!(!f.deleted());
        f.deleted_at = "2026-11-22T10:20:03Z".into();
        assert!(f.deleted());
    }

    #[test]
    fn ready_needs_complete_and_a_sha256() {
        let mut f = SessionFile {
            complete: true,
            ..Default::default()
        };
        assert!(!f.ready());
        f.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
        assert!(f.ready());
        f.sha256.replace_range(0..1, "g");
        assert!(!f.ready());
    }

    #[test]
    fn null_fields_decode() {
        let env: Envelope<Vec<SessionFile>> = serde_json::from_str(
            r#"{"resources":[{"name":"C:\\x","sha256":null,"size":null,"complete":null,"deleted_at":null}]}"#,
        )
        .expect("tolerant decode");
        assert_eq!(env.resources[0].name, "C:\\x");
        assert!(!env.resources[0].ready());
    }
}
