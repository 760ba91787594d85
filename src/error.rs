//! The process-wide error of the `rtrsh` binary: a one-line message, an optional hint and the
//! exit status, printed in one place ([`CliError::print`], called by `cli::run`). Library errors
//! (the Falcon client's, the configuration's) convert into it; nothing below the command line
//! prints an error of its own.

use std::process::ExitCode;

use crate::output::style;
use rtrsh_client::FalconError;
use rtrsh_client::error::hint;

/// Exit statuses, ordered by severity (the worst seen wins).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    #[default]
    Ok = 0,
    CommandFailed = 1,
    Usage = 2,
    AuthOrConnection = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failure with a one-line message, an optional hint, and an exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
    /// Printed verbatim after the message (e.g. a table); already safe for a terminal.
    pub detail: Option<String>,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
            hint: None,
            detail: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(Exit::Usage, message)
    }

    /// Credentials, keyring or connection trouble (exit 3).
    pub fn auth(message: impl Into<String>) -> Self {
        CliError::new(Exit::AuthOrConnection, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn print(&self) {
        eprintln!("{}", style::error(&self.message));
        if let Some(d) = &self.detail {
            eprintln!("{d}");
        }
        if let Some(h) = &self.hint {
            eprintln!("{}", style::hint(h));
        }
    }
}

impl From<FalconError> for CliError {
    fn from(e: FalconError) -> Self {
        let exit = if e.is_auth_or_connection() {
            Exit::AuthOrConnection
        } else {
            Exit::CommandFailed
        };
        CliError {
            exit,
            hint: hint(&e),
            message: e.to_string(),
            detail: None,
        }
    }
}
