//! Where the API URL and credentials come from: flags, the `FALCON_*` environment variables,
//! and profiles (`profiles`: a TOML file for ids and clouds, the OS keyring for secrets, see
//! `crate::credentials`). Precedence, value by value: flag > environment > profile.
//!
//! The secret: `FALCON_CLIENT_SECRET` if set, else the profile's keyring entry, which is only
//! used with the profile's own client id (a `FALCON_CLIENT_ID` for another client needs its own
//! secret in the environment). The keyring is not touched when the environment has both.
//!
//! Clouds (`cloud`): names, `auto` (the default: start at us-1 and follow `X-CS-Region`), or a
//! URL; `http://` only for loopback.

pub mod auth;
pub mod cloud;
pub mod profiles;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

pub use auth::{AuthCommand, run_auth};
pub use cloud::{Cloud, CloudUrls, Region};
pub use profiles::{ConfigFile, DEFAULT_PROFILE, Profile};

use crate::credentials::{KeyringStore, SecretStore, StoreError};
use crate::error::CliError;
use rtrsh_client::{ClientOptions, Credentials, FalconClient};

/// Where a value came from (shown by `rtrsh auth status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment(&'static str),
    Profile,
    Keyring(String),
    /// Handed over inside the process (`rtrsh demo`).
    InProcess,
    Default,
    /// Not to be had (`auth status` only): why, with what to do.
    Missing(CliError),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("command-line flag"),
            Source::Environment(v) => write!(f, "environment {v}"),
            Source::Profile => f.write_str("profile"),
            Source::Keyring(s) => f.write_str(s),
            Source::InProcess => f.write_str("in-process"),
            Source::Default => f.write_str("default"),
            Source::Missing(e) => write!(f, "unavailable: {}", e.message),
        }
    }
}

/// What the user asked for: flags, already merged with their environment variables by clap.
#[derive(Clone, Default)]
pub struct Request {
    pub profile: Option<String>,
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    /// `--client-secret` (hidden; visible in the process list).
    pub client_secret_flag: Option<String>,
    pub secret_in_process: Option<String>,
    pub member_cid: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("Request")
            .field("profile", &self.profile)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret_flag", &redacted(&self.client_secret_flag))
            .field("secret_in_process", &redacted(&self.secret_in_process))
            .field("member_cid", &self.member_cid)
            .finish()
    }
}

type StoreFactory = Arc<dyn Fn() -> Result<Arc<dyn SecretStore>, StoreError> + Send + Sync>;

/// The world resolution reads: the environment, the profiles file, the cloud table and the
/// secret store. [`Context::from_env`] is the real one; tests build their own.
#[derive(Clone)]
pub struct Context {
    pub env: HashMap<String, String>,
    pub config_path: Option<PathBuf>,
    pub urls: CloudUrls,
    store: StoreFactory,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("config_path", &self.config_path)
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

const ENV_VARS: [&str; 5] = [
    "FALCON_BASE_URL",
    "FALCON_CLIENT_ID",
    "FALCON_CLIENT_SECRET",
    "FALCON_MEMBER_CID",
    "RTRSH_PROFILE",
];

impl Context {
    /// The process environment, `$RTRSH_CONFIG` or the default profiles file, the OS keyring.
    pub fn from_env() -> Context {
        let env = ENV_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        Context {
            env,
            config_path: profiles::default_path(),
            urls: CloudUrls::from_env(),
            store: Arc::new(|| KeyringStore::os().map(|s| Arc::new(s) as Arc<dyn SecretStore>)),
        }
    }

    /// A context with the given file, cloud table and store, and an empty environment.
    pub fn new(config_path: PathBuf, urls: CloudUrls, store: Arc<dyn SecretStore>) -> Context {
        Context {
            env: HashMap::new(),
            config_path: Some(config_path),
            urls,
            store: Arc::new(move || Ok(store.clone())),
        }
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Context {
        self.env.insert(k.to_string(), v.to_string());
        self
    }

    fn var(&self, k: &str) -> Option<&str> {
        self.env
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The secret store (opening the OS keyring is a blocking call).
    pub fn store(&self) -> Result<Arc<dyn SecretStore>, StoreError> {
        (self.store)()
    }

    pub fn config_path(&self) -> Result<&PathBuf, CliError> {
        self.config_path.as_ref().ok_or_else(|| {
            CliError::usage("no configuration folder is known on this system")
                .with_hint("set RTRSH_CONFIG to the profiles file to use")
        })
    }

    pub fn load(&self) -> Result<ConfigFile, CliError> {
        match &self.config_path {
            Some(p) => ConfigFile::load(p).map_err(|e| {
                CliError::usage(e)
                    .with_hint("fix the file, or remove it and run `rtrsh auth login`")
            }),
            None => Ok(ConfigFile::default()),
        }
    }

    /// Flag or environment: an equal environment variable means it came from there.
    fn source_of(&self, value: &str, var: &'static str) -> Source {
        if self.var(var).map(str::trim) == Some(value.trim()) {
            Source::Environment(var)
        } else {
            Source::Flag
        }
    }
}

/// Everything needed to build the client, with where each part came from.
#[derive(Clone)]
pub struct Resolved {
    pub profile: String,
    pub profile_source: Source,
    /// The profile exists in the file (and supplied what the flags and environment did not).
    pub profile_found: bool,
    pub config_path: Option<PathBuf>,
    pub cloud: Cloud,
    pub cloud_source: Source,
    pub base_url: String,
    pub client_id: String,
    pub client_id_source: Source,
    pub secret: SecretString,
    pub secret_source: Source,
    pub member_cid: Option<String>,
    pub member_cid_source: Source,
    pub urls: CloudUrls,
    /// Every profile in the file (for `auth status`).
    pub known_profiles: Vec<String>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("profile", &self.profile)
            .field("cloud", &self.cloud)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("secret_source", &self.secret_source)
            .field("member_cid", &self.member_cid)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// The API client (with region autodiscovery where the cloud allows it).
    pub fn client(&self, mut opts: ClientOptions) -> Result<FalconClient, CliError> {
        opts.region_switch = self.urls.region_switch(&self.cloud);
        let creds = Credentials {
            client_id: self.client_id.clone(),
            client_secret: self.secret.clone(),
            member_cid: self.member_cid.clone(),
        };
        FalconClient::new(&self.base_url, creds, opts).map_err(|e| {
            CliError::usage(e.to_string())
                .with_hint("give https:// (http:// is only for loopback), a cloud name or `auto`")
        })
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Resolves credentials and cloud: flag > environment > profile. Touches the secret store only
/// when the secret must come from the profile (a blocking call: run it off the async runtime).
pub fn resolve_with(req: &Request, ctx: &Context) -> Result<Resolved, CliError> {
    resolve_inner(req, ctx, false)
}

/// Like [`resolve_with`], but a keyring secret that cannot be had is reported as
/// [`Source::Missing`] instead of an error (for `auth status`).
pub fn resolve_lenient(req: &Request, ctx: &Context) -> Result<Resolved, CliError> {
    resolve_inner(req, ctx, true)
}

fn keyring_secret(
    ctx: &Context,
    profile: &str,
    client_id: &str,
) -> Result<(SecretString, Source), CliError> {
    let store = ctx.store().map_err(|e| CliError::auth(e.to_string()))?;
    match store.get(profile, client_id) {
        Ok(Some(s)) => Ok((s, Source::Keyring(store.describe()))),
        Ok(None) => Err(CliError::auth(format!(
            "profile {profile:?} has no secret in the {}",
            store.describe()
        ))
        .with_hint(format!(
            "run `rtrsh auth login --profile {profile}`, or set FALCON_CLIENT_SECRET"
        ))),
        Err(e) => Err(CliError::auth(e.to_string())),
    }
}

fn resolve_inner(req: &Request, ctx: &Context, lenient: bool) -> Result<Resolved, CliError> {
    let (profile, profile_source) = match non_empty(&req.profile) {
        Some(p) => {
            let src = ctx.source_of(&p, "RTRSH_PROFILE");
            (p, src)
        }
        None => (DEFAULT_PROFILE.to_string(), Source::Default),
    };
    profiles::check_profile_name(&profile).map_err(CliError::usage)?;
    let given_id = non_empty(&req.client_id);
    let file = match ctx.load() {
        Ok(f) => f,
        // The environment names another client and no profile was asked for: the file is
        // not needed, so a broken one only earns a warning.
        Err(e) if given_id.is_some() && profile_source == Source::Default => {
            eprintln!("rtrsh: warning: {} (ignored)", e.message);
            ConfigFile::default()
        }
        Err(e) => return Err(e),
    };
    let mut stored = file.profiles.get(&profile).cloned();
    // A profile only applies to its own client: an unnamed default profile for another client
    // is ignored; a named one is a contradiction, refused rather than mixed.
    if let (Some(id), Some(p)) = (&given_id, &stored)
        && &p.client_id != id
    {
        if profile_source == Source::Default {
            stored = None;
        } else {
            let from = ctx.source_of(id, "FALCON_CLIENT_ID");
            return Err(CliError::usage(format!(
                "the client id {id:?} ({from}) is not profile {profile:?}'s ({:?})",
                p.client_id
            ))
            .with_hint(match from {
                Source::Environment(_) => {
                    "unset FALCON_CLIENT_ID to use the profile, or do not name the profile"
                }
                _ => "drop --client-id to use the profile, or do not name the profile",
            }));
        }
    }
    if stored.is_none() && profile_source != Source::Default {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        let mut e = CliError::usage(format!("no profile {profile:?}"));
        e = if known.is_empty() {
            e.with_hint(format!(
                "create it with `rtrsh auth login --profile {profile}`"
            ))
        } else {
            e.with_hint(format!(
                "profiles: {}; `rtrsh auth login --profile {profile}` creates it",
                known.join(", ")
            ))
        };
        return Err(e);
    }
    if let Some(p) = &stored
        && p.has_secret_in_file()
    {
        eprintln!(
            "rtrsh: warning: profile {profile:?} has a client_secret in the profiles file; rtrsh never reads secrets from files (remove it; `rtrsh auth login` stores it in the OS keyring)"
        );
    }

    let (client_id, client_id_source) = match given_id {
        Some(id) => {
            let src = ctx.source_of(&id, "FALCON_CLIENT_ID");
            (id, src)
        }
        None => match &stored {
            Some(p) if !p.client_id.is_empty() => (p.client_id.clone(), Source::Profile),
            _ => {
                return Err(CliError::usage("no API client id").with_hint(
                    "run `rtrsh auth login`, or set FALCON_CLIENT_ID and FALCON_CLIENT_SECRET; `rtrsh demo` runs a simulated tenant",
                ));
            }
        },
    };

    let (secret, secret_source) = if let Some(s) = non_empty(&req.secret_in_process) {
        (SecretString::from(s), Source::InProcess)
    } else if let Some(s) = non_empty(&req.client_secret_flag) {
        eprintln!(
            "rtrsh: warning: a secret on the command line is visible to other users in the process list; use FALCON_CLIENT_SECRET or `rtrsh auth login`"
        );
        (SecretString::from(s), Source::Flag)
    } else if let Some(s) = ctx.var("FALCON_CLIENT_SECRET") {
        (
            SecretString::from(s.to_string()),
            Source::Environment("FALCON_CLIENT_SECRET"),
        )
    } else {
        match &stored {
            Some(p) if p.client_id == client_id => {
                match keyring_secret(ctx, &profile, &client_id) {
                    Ok(found) => found,
                    // `auth status` still shows everything else.
                    Err(e) if lenient => (SecretString::from(String::new()), Source::Missing(e)),
                    Err(e) => return Err(e),
                }
            }
            _ => {
                return Err(CliError::usage("no API client secret")
                    .with_hint("set FALCON_CLIENT_SECRET, or store one with `rtrsh auth login`"));
            }
        }
    };

    let (cloud_text, cloud_source) = match non_empty(&req.base_url) {
        Some(u) => {
            let src = ctx.source_of(&u, "FALCON_BASE_URL");
            (Some(u), src)
        }
        None => match stored.as_ref().and_then(|p| non_empty(&p.cloud)) {
            Some(c) => (Some(c), Source::Profile),
            None => (None, Source::Default),
        },
    };
    let cloud = match cloud_text {
        Some(t) => Cloud::parse(&t).map_err(|e| {
            CliError::usage(e).with_hint(match &cloud_source {
                Source::Profile => format!("fix `cloud` of profile {profile:?}"),
                Source::Environment(v) => format!("fix {v}"),
                _ => "fix --base-url".to_string(),
            })
        })?,
        None => Cloud::Auto,
    };
    let base_url = ctx.urls.base_url(&cloud);

    let (member_cid, member_cid_source) = match non_empty(&req.member_cid) {
        Some(m) => {
            let src = ctx.source_of(&m, "FALCON_MEMBER_CID");
            (Some(m), src)
        }
        None => match stored.as_ref().and_then(|p| non_empty(&p.member_cid)) {
            Some(m) => (Some(m), Source::Profile),
            None => (None, Source::Default),
        },
    };

    Ok(Resolved {
        profile_found: stored.is_some(),
        profile,
        profile_source,
        config_path: ctx.config_path.clone(),
        cloud,
        cloud_source,
        base_url,
        client_id,
        client_id_source,
        secret,
        secret_source,
        member_cid,
        member_cid_source,
        urls: ctx.urls.clone(),
        known_profiles: file.profiles.keys().cloned().collect(),
    })
}

/// Builds the shell's API client from flags, environment and profile. Blocking (keyring).
pub fn resolve(req: &Request) -> Result<FalconClient, CliError> {
    resolve_with(req, &Context::from_env())?.client(ClientOptions::default())
}

#[cfg(test)]
mod tests;
