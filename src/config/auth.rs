//! `rtrsh auth login|status|logout`: profiles in the profiles file, secrets in the OS keyring.
//!
//! Each command is a plain function over a [`Context`] (file, cloud table, secret store) so the
//! tests drive them with the keyring crate's mock store against the emulator; `run_auth` adds
//! the terminal (prompts, printing, exit codes) around them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use super::profiles::check_profile_name;
use super::{Cloud, Context, DEFAULT_PROFILE, Profile, Region, Request, Resolved, Source};
use crate::error::{CliError, Exit};
use crate::output::sanitize::one_line;
use rtrsh_client::{ClientOptions, Credentials, FalconClient};

/// `rtrsh auth ...`
#[derive(Clone, Debug, Subcommand)]
pub enum AuthCommand {
    /// Store an API client in a profile: the secret in the OS keyring, id and cloud in the
    /// profiles file. Checks that a token can be obtained first (and discovers the cloud).
    Login(LoginArgs),
    /// Show which profile, cloud and client id are in use (never the secret) and check that a
    /// token can be obtained.
    Status,
    /// Remove a profile: its secret from the OS keyring and its entry from the profiles file.
    Logout,
}

/// `rtrsh auth login` options. The secret is asked for without echo (or read from the first
/// line of stdin when it is not a terminal); it is never taken from the command line.
#[derive(Clone, Debug, Args)]
pub struct LoginArgs {
    /// API client id (asked for when not given).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// us-1, us-2, eu-1, us-gov-1, us-gov-2, auto (discover from the token endpoint) or an
    /// https:// URL. Default: the profile's, else auto.
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
    /// MSSP: the child CID this profile acts in.
    #[arg(long, value_name = "CID")]
    pub member_cid: Option<String>,
    /// Save without checking that the credentials obtain a token.
    #[arg(long)]
    pub no_verify: bool,
}

/// What `login` stores.
#[derive(Clone, Debug)]
pub struct LoginRequest {
    pub profile: String,
    pub client_id: String,
    pub secret: SecretString,
    pub cloud: Option<String>,
    pub member_cid: Option<String>,
    pub verify: bool,
}

/// What `login` did.
#[derive(Clone, Debug)]
pub struct LoginOutcome {
    pub profile: String,
    /// The cloud written to the profile (the discovered one when verification found it).
    pub cloud: String,
    /// The token endpoint's `X-CS-Region`, when verified.
    pub region: Option<String>,
    pub store: String,
    pub path: PathBuf,
}

/// Verifies (unless told not to) and stores a profile. Nothing is written when anything fails:
/// the keyring is checked before the token request, the file is written after the secret.
pub async fn login(req: LoginRequest, ctx: &Context) -> Result<LoginOutcome, CliError> {
    check_profile_name(&req.profile).map_err(CliError::usage)?;
    if req.client_id.trim().is_empty() {
        return Err(CliError::usage("empty API client id"));
    }
    if req.secret.expose_secret().is_empty() {
        return Err(CliError::usage("empty API client secret"));
    }
    let path = ctx.config_path()?.clone();
    let mut file = ctx.load()?;
    let previous = file.profiles.get(&req.profile).cloned();
    let cloud_text = req
        .cloud
        .clone()
        .or_else(|| previous.as_ref().and_then(|p| p.cloud.clone()))
        .unwrap_or_else(|| "auto".to_string());
    let mut cloud =
        Cloud::parse(&cloud_text).map_err(|e| CliError::usage(e).with_hint("fix --cloud"))?;
    if let Cloud::Url(u) = &cloud {
        rtrsh_client::client::check_base_url(u).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let client_id = req.client_id.trim().to_string();
    // Re-login (a new secret) keeps the profile's member CID unless one is given; an empty
    // `--member-cid ""` clears it.
    let member_cid = match &req.member_cid {
        Some(m) => Some(m.trim().to_string()).filter(|m| !m.is_empty()),
        None => previous
            .as_ref()
            .filter(|p| p.client_id == client_id)
            .and_then(|p| p.member_cid.clone()),
    };
    let store = ctx.store().map_err(|e| CliError::auth(e.to_string()))?;

    let mut region = None;
    if req.verify {
        let creds = Credentials {
            client_id: client_id.clone(),
            client_secret: req.secret.clone(),
            member_cid: member_cid.clone(),
        };
        let opts = ClientOptions {
            region_switch: ctx.urls.region_switch(&cloud),
            ..ClientOptions::default()
        };
        let client = FalconClient::new(&ctx.urls.base_url(&cloud), creds, opts)
            .map_err(|e| CliError::usage(e.to_string()))?;
        let hint = if cloud == Cloud::Auto {
            "nothing was saved; check the id and the secret (GovCloud clients: --cloud us-gov-1 or us-gov-2)"
        } else {
            "nothing was saved; check the id, the secret and the cloud (or --no-verify)"
        };
        client
            .authenticate()
            .await
            .map_err(|e| CliError::from(e).with_hint(hint))?;
        let _ = client.revoke().await;
        region = client.region();
        // Pin the cloud the token endpoint named, so later starts go straight there.
        if matches!(cloud, Cloud::Auto | Cloud::Region(_))
            && let Some(r) = region.as_deref().and_then(Region::parse)
            && (!r.is_gov() || cloud == Cloud::Region(r))
        {
            cloud = Cloud::Region(r);
        }
    }

    store
        .set(&req.profile, &client_id, &req.secret)
        .map_err(|e| CliError::auth(e.to_string()).with_hint("nothing was saved"))?;
    if let Some(old) = &previous
        && old.client_id != client_id
    {
        let _ = store.delete(&req.profile, &old.client_id);
    }
    let mut profile = Profile::new(client_id);
    profile.cloud = Some(cloud.label());
    profile.member_cid = member_cid;
    file.profiles.insert(req.profile.clone(), profile);
    file.save(&path).map_err(CliError::usage)?;
    Ok(LoginOutcome {
        profile: req.profile,
        cloud: cloud.label(),
        region,
        store: store.describe(),
        path,
    })
}

/// What `status` found.
#[derive(Debug)]
pub struct StatusReport {
    pub resolved: Resolved,
    pub token: Result<TokenCheck, CliError>,
    pub other_profiles: Vec<String>,
}

/// A successful token check.
#[derive(Clone, Debug)]
pub struct TokenCheck {
    pub region: Option<String>,
    /// The base URL in use after autodiscovery.
    pub base_url: String,
    pub moved_from: Option<String>,
    pub elapsed: Duration,
}

/// Obtains (and revokes) a token with resolved credentials.
pub async fn check_token(resolved: &Resolved) -> Result<TokenCheck, CliError> {
    let client = resolved.client(ClientOptions::default())?;
    let started = Instant::now();
    client.authenticate().await.map_err(CliError::from)?;
    let elapsed = started.elapsed();
    let _ = client.revoke().await;
    Ok(TokenCheck {
        region: client.region(),
        base_url: client.base_url(),
        moved_from: client.moved_from(),
        elapsed,
    })
}

/// The `auth status` text (never the secret).
pub fn render_status(r: &StatusReport) -> String {
    let v = &r.resolved;
    let mut out = String::new();
    let mut row = |k: &str, val: String| out.push_str(&format!("{k:<11} {}\n", one_line(&val)));
    let file = v
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no profiles file".into());
    let found = if v.profile_found {
        format!("in {file}")
    } else {
        format!("not in {file}")
    };
    row(
        "profile",
        format!("{} ({}, {found})", v.profile, v.profile_source),
    );
    row(
        "client id",
        format!("{} ({})", v.client_id, v.client_id_source),
    );
    row(
        "secret",
        match &v.secret_source {
            Source::Missing(_) => v.secret_source.to_string(),
            s => format!("set ({s})"),
        },
    );
    row(
        "cloud",
        format!("{} -> {} ({})", v.cloud.label(), v.base_url, v.cloud_source),
    );
    row(
        "member cid",
        match &v.member_cid {
            Some(m) => format!("{m} ({})", v.member_cid_source),
            None => "none".into(),
        },
    );
    match &r.token {
        Ok(t) => {
            let mut s = format!(
                "ok in {} ms, region {}",
                t.elapsed.as_millis(),
                t.region.as_deref().unwrap_or("not named")
            );
            if let Some(from) = &t.moved_from {
                s.push_str(&format!(
                    "; autodiscovered: moved from {from} to {}",
                    t.base_url
                ));
            }
            row("token", s);
        }
        Err(e) => row("token", format!("FAILED: {}", e.message)),
    }
    if !r.other_profiles.is_empty() {
        row("profiles", r.other_profiles.join(", "));
    }
    out
}

/// Removes a profile: the keyring entry first (if that fails, the profile is kept so nothing
/// is orphaned), then the file entry. Returns whether a secret was deleted.
pub fn logout(profile: &str, ctx: &Context) -> Result<bool, CliError> {
    check_profile_name(profile).map_err(CliError::usage)?;
    let path = ctx.config_path()?.clone();
    let mut file = ctx.load()?;
    let Some(p) = file.profiles.get(profile).cloned() else {
        return Err(
            CliError::usage(format!("no profile {profile:?}")).with_hint(
                if file.profiles.is_empty() {
                    "there are no profiles".to_string()
                } else {
                    format!(
                        "profiles: {}",
                        file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                },
            ),
        );
    };
    let store = ctx
        .store()
        .map_err(|e| CliError::auth(format!("{e}")).with_hint("the profile was kept"))?;
    let deleted = store
        .delete(profile, &p.client_id)
        .map_err(|e| CliError::auth(e.to_string()).with_hint("the profile was kept"))?;
    file.profiles.remove(profile);
    file.save(&path).map_err(CliError::usage)?;
    Ok(deleted)
}

/// The request `auth status` resolves: the profile flag, and the environment.
fn env_request(profile: Option<String>, ctx: &Context) -> Request {
    let var = |k: &str| ctx.env.get(k).cloned().filter(|v| !v.is_empty());
    Request {
        profile,
        base_url: var("FALCON_BASE_URL"),
        client_id: var("FALCON_CLIENT_ID"),
        member_cid: var("FALCON_MEMBER_CID"),
        ..Request::default()
    }
}

/// Resolves and checks a token, for `auth status`.
pub async fn status(profile: Option<String>, ctx: &Context) -> Result<StatusReport, CliError> {
    let req = env_request(profile, ctx);
    let resolved = super::resolve_lenient(&req, ctx)?;
    let token = match &resolved.secret_source {
        Source::Missing(e) => Err(e.clone()),
        _ => check_token(&resolved).await,
    };
    let other_profiles = resolved.known_profiles.clone();
    Ok(StatusReport {
        resolved,
        token,
        other_profiles,
    })
}

/// Reads a line from stdin without the newline.
fn read_line(prompt: Option<&str>) -> Result<String, CliError> {
    if let Some(p) = prompt {
        eprint!("{p}");
        let _ = std::io::stderr().flush();
    }
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut s)
        .map_err(|e| CliError::usage(format!("cannot read stdin: {e}")))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

fn login_request(args: LoginArgs, profile: String) -> Result<LoginRequest, CliError> {
    let tty = std::io::stdin().is_terminal();
    let client_id = match args.client_id.filter(|c| !c.trim().is_empty()) {
        Some(c) => c,
        None if tty => read_line(Some("API client id: "))?,
        None => {
            return Err(CliError::usage("no --client-id").with_hint(
                "give --client-id when stdin is not a terminal (the secret is read from stdin's first line)",
            ));
        }
    };
    let secret = if tty {
        rpassword::prompt_password("API client secret (not shown): ")
            .map_err(|e| CliError::usage(format!("cannot read the secret: {e}")))?
    } else {
        read_line(None)?
    };
    Ok(LoginRequest {
        profile,
        client_id: client_id.trim().to_string(),
        secret: SecretString::from(secret.trim().to_string()),
        cloud: args.cloud,
        member_cid: args.member_cid,
        verify: !args.no_verify,
    })
}

/// Runs `rtrsh auth ...`.
pub async fn run_auth(cmd: AuthCommand, profile: Option<String>) -> Result<Exit, CliError> {
    // Reading the secret from the terminal and the OS keyring block: they run off the runtime's
    // workers, and the token requests go back to the process's one runtime.
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || auth_blocking(cmd, profile, &rt))
        .await
        .map_err(|e| CliError::auth(format!("the auth command failed: {e}")))?
}

fn auth_blocking(
    cmd: AuthCommand,
    profile: Option<String>,
    rt: &tokio::runtime::Handle,
) -> Result<Exit, CliError> {
    let ctx = Context::from_env();
    let profile_arg = profile.filter(|p| !p.trim().is_empty());
    match cmd {
        AuthCommand::Login(args) => {
            let name = profile_arg.unwrap_or_else(|| DEFAULT_PROFILE.to_string());
            check_profile_name(&name).map_err(CliError::usage)?;
            // Fail before asking for a secret when there is nowhere to keep it.
            ctx.store().map_err(|e| CliError::auth(e.to_string()))?;
            let req = login_request(args, name)?;
            let out = rt.block_on(login(req, &ctx))?;
            let region = out
                .region
                .as_deref()
                .map(|r| format!(" (token endpoint region {r})"))
                .unwrap_or_default();
            println!(
                "Saved profile {:?}: cloud {}{region}; secret in the {}; settings in {}",
                out.profile,
                out.cloud,
                out.store,
                out.path.display()
            );
            Ok(Exit::Ok)
        }
        AuthCommand::Status => {
            let report = rt.block_on(status(profile_arg, &ctx))?;
            print!("{}", render_status(&report));
            match report.token {
                Ok(_) => Ok(Exit::Ok),
                Err(e) => Err(e),
            }
        }
        AuthCommand::Logout => {
            let name = profile_arg.unwrap_or_else(|| DEFAULT_PROFILE.to_string());
            let deleted = logout(&name, &ctx)?;
            println!(
                "Removed profile {name:?}{}",
                if deleted {
                    " and its secret from the OS keyring"
                } else {
                    " (it had no secret in the OS keyring)"
                }
            );
            Ok(Exit::Ok)
        }
    }
}
