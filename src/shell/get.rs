//! STUB: the one-step `get` (wait for the upload, download, verify, extract) and `files`.

use std::path::PathBuf;
use std::time::Duration;

use crate::session::{HostSession, Outcome};
use crate::shell::exec::{LineResult, Outputs};

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

/// Called after a `get PATH` command completed on the host; its result is the line's result.
pub async fn after_get(
    _session: &HostSession,
    _path: &str,
    _outcome: &Outcome,
    _outs: &mut Outputs,
) -> LineResult {
    LineResult::Ok
}

/// The `files` built-in: the session's retrieved files.
pub async fn list_files(_session: &HostSession, _outs: &mut Outputs) {}
