//! RTR command lines, without I/O: the lexer for RTR's argument syntax and the catalog of every
//! RTR command (its tier rules, platforms, flags and help text).
//!
//! Both the shell (to route a typed line to the right API tier and answer `help` locally) and the
//! emulator (to reject a command sent to the wrong tier and to publish the `scripts` help
//! catalogue on session init) use this module.

pub mod catalog;
pub mod lexer;
pub mod script_timeout;

use serde::{Deserialize, Serialize};

/// The three RTR permission tiers. Each has its own execute/status endpoints and API scope.
/// Ordered: a higher tier's endpoints accept every command of the lower tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    ReadOnly,
    ActiveResponder,
    Admin,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::ReadOnly, Tier::ActiveResponder, Tier::Admin];

    /// Path segment of the single-host execute/status endpoints.
    pub fn single_path(self) -> &'static str {
        match self {
            Tier::ReadOnly => "/real-time-response/entities/command/v1",
            Tier::ActiveResponder => "/real-time-response/entities/active-responder-command/v1",
            Tier::Admin => "/real-time-response/entities/admin-command/v1",
        }
    }

    /// Path of the batch command endpoint of this tier.
    pub fn batch_path(self) -> &'static str {
        match self {
            Tier::ReadOnly => "/real-time-response/combined/batch-command/v1",
            Tier::ActiveResponder => {
                "/real-time-response/combined/batch-active-responder-command/v1"
            }
            Tier::Admin => "/real-time-response/combined/batch-admin-command/v1",
        }
    }

    /// The OAuth2 scope an API client needs for this tier's command endpoints.
    pub fn scope(self) -> &'static str {
        match self {
            Tier::ReadOnly => "real-time-response:read",
            Tier::ActiveResponder => "real-time-response:write",
            Tier::Admin => "real-time-response-admin:write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::ReadOnly => "read-only",
            Tier::ActiveResponder => "active-responder",
            Tier::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The sensor platforms RTR knows. `platform_name` in the devices API is `Windows`, `Mac` or `Linux`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Windows,
    Linux,
    Mac,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Windows, Platform::Linux, Platform::Mac];

    /// The value of `platform_name` in the devices API.
    pub fn api_name(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::Linux => "Linux",
            Platform::Mac => "Mac",
        }
    }

    /// Parses `platform_name` (case-insensitive; `macOS` and `darwin` are accepted too).
    pub fn from_api_name(s: &str) -> Option<Platform> {
        match s.to_ascii_lowercase().as_str() {
            "windows" => Some(Platform::Windows),
            "linux" => Some(Platform::Linux),
            "mac" | "macos" | "darwin" => Some(Platform::Mac),
            _ => None,
        }
    }
}
