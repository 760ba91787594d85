//! Running the real `rtrsh` binary on a fleet: the hermetic runs of [`crate::support::shell`]
//! with a deadline for fleets, and what the emulator logged of the batch commands.

use std::time::Duration;

use serde_json::Value;

use crate::support::TestEnv;
use crate::support::shell::{self, Shell};

/// No fleet run may take longer than this: a hang is a failure.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// `rtrsh` pointed at `env` (see [`shell::rtrsh`]), with the fleet deadline.
pub fn rtrsh(env: &TestEnv) -> Shell {
    shell::rtrsh(env).timeout(RUN_TIMEOUT)
}

/// `command_log` entries of batch commands with this command string: (aid, cloud_request_id).
pub fn batch_log(stats: &Value, command: &str) -> Vec<(String, String)> {
    stats["command_log"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["via"] == "batch" && e["command_string"] == command)
                .map(|e| {
                    (
                        e["aid"].as_str().unwrap_or_default().to_string(),
                        e["cloud_request_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
