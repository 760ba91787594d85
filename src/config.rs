//! Where the API URL and credentials come from. STUB: profiles (TOML config + OS keyring),
//! `rtrsh auth login|status|logout`, cloud names and region autodiscovery are being written.
//! Today: flags and the FALCON_* environment variables only.

use std::process::ExitCode;

use clap::Subcommand;
use secrecy::SecretString;

use crate::falcon::{ClientOptions, Credentials, FalconClient};
use crate::shell::{CliError, ShellArgs};

/// `rtrsh auth ...`
#[derive(Clone, Debug, Subcommand)]
pub enum AuthCommand {
    /// Store an API client's credentials in a profile (the secret goes to the OS keyring).
    Login,
    /// Show which profile, cloud and client id are in use, and check that a token can be had.
    Status,
    /// Remove a profile's stored credentials.
    Logout,
}

/// Runs `rtrsh auth ...`.
pub fn run_auth(_cmd: AuthCommand, _profile: Option<String>) -> ExitCode {
    eprintln!(
        "rtrsh: error: `rtrsh auth` is not built yet; use FALCON_CLIENT_ID / FALCON_CLIENT_SECRET"
    );
    ExitCode::from(2)
}

/// Builds the API client from flags, environment and profile (flag > environment > profile).
pub fn resolve(args: &ShellArgs) -> Result<FalconClient, CliError> {
    let base = args.base_url.clone().ok_or_else(|| {
        CliError::usage("no Falcon API URL").with_hint(
            "set FALCON_BASE_URL (e.g. https://api.crowdstrike.com) or pass --base-url; `rtrsh demo` runs a simulated tenant",
        )
    })?;
    let client_id = args
        .client_id
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            CliError::usage("no API client id")
                .with_hint("set FALCON_CLIENT_ID and FALCON_CLIENT_SECRET")
        })?;
    let secret = match (&args.secret, &args.client_secret) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => {
            eprintln!(
                "rtrsh: warning: a secret on the command line is visible to other users in the process list; use FALCON_CLIENT_SECRET"
            );
            s.clone()
        }
        (None, None) => std::env::var("FALCON_CLIENT_SECRET").unwrap_or_default(),
    };
    if secret.is_empty() {
        return Err(CliError::usage("no API client secret").with_hint("set FALCON_CLIENT_SECRET"));
    }
    let creds = Credentials {
        client_id,
        client_secret: SecretString::from(secret),
        member_cid: args.member_cid.clone().filter(|s| !s.is_empty()),
    };
    FalconClient::new(&base, creds, ClientOptions::default())
        .map_err(|e| CliError::usage(e.to_string()))
}
