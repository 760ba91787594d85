//! STUB: the one-step `get` (wait for the upload, download, verify, extract) and `files`.

use crate::session::{HostSession, Outcome};
use crate::shell::exec::Outputs;

/// Called after a `get PATH` command completed on the host.
pub async fn after_get(
    _session: &HostSession,
    _path: &str,
    _outcome: &Outcome,
    _outs: &mut Outputs,
) {
}

/// The `files` built-in: the session's retrieved files.
pub async fn list_files(_session: &HostSession, _outs: &mut Outputs) {}
