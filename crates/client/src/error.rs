//! The one error type of the Falcon client. It keeps what a user needs to act on a failure: the
//! HTTP status, the API's `errors[].code/message`, the trace id to quote to CrowdStrike support,
//! and whether a command may have run on the host even though we got no confirmation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One entry of the API's `errors` array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FalconError {
    /// The API answered with an error status.
    #[error("{}", api_message(.status, .errors, .path))]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
        trace_id: Option<String>,
        path: String,
        /// A command-sending request got a 5xx: the command may or may not have run.
        maybe_executed: bool,
    },
    /// No usable answer at all (connection refused, reset, timed out, cut mid-body).
    #[error("{path}: {detail}")]
    Transport {
        path: String,
        detail: String,
        /// The request may have reached the API and run a command.
        maybe_executed: bool,
    },
    /// The token endpoint refused the credentials, or gave no token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The API's answer could not be understood.
    #[error("{path}: unexpected response: {detail}")]
    Decode { path: String, detail: String },
    /// The client was configured in a way that cannot work (e.g. `http://` to a remote host).
    #[error("{0}")]
    Config(String),
}

/// `errors[]` as one line: `message (code); message (code)`, a code of 0 left out.
pub fn error_text(errors: &[ApiErrorItem]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.code != 0 {
                format!("{} ({})", e.message, e.code)
            } else {
                e.message.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn api_message(status: &u16, errors: &[ApiErrorItem], path: &str) -> String {
    let detail = error_text(errors);
    if detail.is_empty() {
        format!("{path}: HTTP {status}")
    } else {
        format!("{path}: HTTP {status}: {detail}")
    }
}

impl FalconError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            FalconError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The first RTR/API error code in the body (e.g. 40401), if any.
    pub fn code(&self) -> Option<i64> {
        match self {
            FalconError::Api { errors, .. } => errors.first().map(|e| e.code),
            _ => None,
        }
    }

    /// Whether a command-sending request may have run although it was not confirmed.
    pub fn maybe_executed(&self) -> bool {
        matches!(
            self,
            FalconError::Api {
                maybe_executed: true,
                ..
            } | FalconError::Transport {
                maybe_executed: true,
                ..
            }
        )
    }

    /// The trace id of the failed request, to quote to support.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            FalconError::Api { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the failure is about credentials or reaching the API at all (exit code 3 in
    /// scripts) rather than about one command.
    pub fn is_auth_or_connection(&self) -> bool {
        match self {
            FalconError::Auth(_) | FalconError::Config(_) => true,
            // The API took the request and the reply was lost: that is about one command, not
            // about reaching the API at all.
            FalconError::Transport { maybe_executed, .. } => !maybe_executed,
            FalconError::Api { status, .. } => *status == 401,
            FalconError::Decode { .. } => false,
        }
    }
}

/// The hint for an RTR error code that names a cloud file or a refused command (docs/protocol.md,
/// "Errors"). These arrive as API errors, not as the command's stderr: 40408 from one host's
/// `put`, 40412 per host in batch replies, 40006 for a `runscript` that a response policy
/// disables or whose cloud-script name is wrong (CAST#15, maintainer).
pub fn code_hint(code: i64) -> Option<&'static str> {
    match code {
        40408 | 40412 => Some("check the name and its case with `library`"),
        40006 => Some(
            "the name may be wrong (check the name and its case with `library`), or a policy may disable runscript",
        ),
        _ => None,
    }
}

/// A one-line hint for a failure, when there is a useful one.
pub fn hint(err: &FalconError) -> Option<String> {
    match err {
        FalconError::Api { errors, .. }
            if let Some(h) = errors.iter().find_map(|e| code_hint(e.code)) =>
        {
            Some(h.to_string())
        }
        FalconError::Api { status: 403, path, .. } => {
            let scope = if path.contains("admin") || path.contains("put-files") || path.contains("scripts") {
                "Real Time Response (Admin): Write"
            } else if path.contains("active-responder") || path.contains("/file") || path.contains("batch-get") {
                "Real Time Response: Write"
            } else if path.starts_with("/devices/entities/devices-actions") {
                "Hosts: Write"
            } else if path.starts_with("/devices") {
                "Hosts: Read"
            } else {
                "Real Time Response: Read"
            };
            Some(format!("this API client lacks the \"{scope}\" scope; add it to the API client in the Falcon console"))
        }
        FalconError::Api { errors, .. } if errors.iter().any(|e| e.code == 40401) => Some(
            "the host is offline or unreachable; --queue-offline queues commands until it returns".into(),
        ),
        FalconError::Api { errors, .. } if errors.iter().any(|e| e.code == 40012) => Some(
            "the API refused the arguments: check them with `help COMMAND` (a path with spaces goes in quotes)".into(),
        ),
        FalconError::Api { status: 401, .. } => {
            Some("the token was refused: check FALCON_CLIENT_ID / FALCON_CLIENT_SECRET and the cloud".into())
        }
        FalconError::Auth(_) => Some(
            "check FALCON_CLIENT_ID / FALCON_CLIENT_SECRET and that the API client exists in this cloud".into(),
        ),
        e if e.maybe_executed() => Some(
            "the API did not confirm the command: it may or may not have run on the host; check before re-running"
                .into(),
        ),
        FalconError::Transport { .. } => Some("check the network and FALCON_BASE_URL".into()),
        _ => None,
    }
}

impl fmt::Display for ApiErrorItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}
