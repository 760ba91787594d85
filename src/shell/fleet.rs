//! STUB: many hosts at once (batch sessions, grouped output). Being written.

use crate::falcon::FalconClient;
use crate::shell::{CliError, Exit, ShellArgs};

/// Whether the arguments select a fleet rather than one host.
pub fn is_fleet(args: &ShellArgs) -> bool {
    args.host.len() + args.aid.len() > 1
        || args.hosts_file.is_some()
        || args.filter.is_some()
        || args.dry_run
}

/// Runs the fleet shell (or a fleet script).
pub async fn run(
    _client: FalconClient,
    _args: &ShellArgs,
    _lines: Option<Vec<String>>,
) -> Result<Exit, CliError> {
    Err(
        CliError::usage("several hosts at once are not supported yet")
            .with_hint("pass one --host or --aid"),
    )
}
