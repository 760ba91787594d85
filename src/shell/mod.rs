//! The user's side: resolve credentials and the host, open the session, then run lines from a
//! script (`script`) or an interactive prompt (`repl`), with local built-ins (`builtins`).
//!
//! Exit codes (scripts rely on them): 0 every command succeeded, 1 a command failed, 2 usage
//! error (bad flags, bad command lines), 3 authentication or connection failure.

pub mod builtins;
pub mod complete;
pub mod exec;
pub mod fleet;
pub mod get;
pub mod interp;
pub mod library;
pub mod line;
pub mod outputs;
pub mod pipe;
pub mod queue;
pub mod repl;
pub mod results;
pub mod script;
pub mod single;
pub mod triage;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::{CliError, Exit};
use crate::output::sanitize::{one_line, sanitize_line};
use crate::output::style;
use rtrsh_client::FalconClient;
use rtrsh_client::session::host::{Resolve, resolve_aid, resolve_host};
use rtrsh_client::session::names::is_literal_name;
use rtrsh_client::session::{HostSession, SessionOptions, Target};

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Options of the shell (`rtrsh --host X ...`).
#[derive(Clone, Debug, Args)]
pub struct ShellArgs {
    /// Hostname to connect to (resolved through the devices API). Repeat for several hosts.
    #[arg(long, value_name = "HOSTNAME")]
    pub host: Vec<String>,
    /// Host id (aid) to connect to, skipping the hostname lookup. Repeatable.
    #[arg(long, value_name = "AID")]
    pub aid: Vec<String>,
    /// Hosts to connect to: hostnames or aids, one per line.
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,
    /// Hosts matching this FQL filter, e.g. "platform_name:'Windows'+tags:'FalconGroupingTags/finance'".
    #[arg(long, value_name = "FQL")]
    pub filter: Option<String>,
    /// Print the resolved hosts and the tier each command would use, then exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Answer yes to the confirmation for write-tier commands on many hosts (for scripts).
    #[arg(long)]
    pub yes: bool,
    /// Ask before a write-tier command runs on more than this many hosts.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub confirm_threshold: usize,
    /// How long a batch command may take on the server (1s to 10m).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub batch_timeout: Duration,
    /// Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default".
    #[arg(long, env = "RTRSH_PROFILE", value_name = "NAME", global = true)]
    pub profile: Option<String>,
    /// Falcon API base URL, e.g. https://api.crowdstrike.com (http:// only for loopback).
    #[arg(long, env = "FALCON_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// API client id (default: $FALCON_CLIENT_ID). The secret is read from $FALCON_CLIENT_SECRET.
    #[arg(long, env = "FALCON_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// API client secret. Visible to other local users in the process list: prefer
    /// $FALCON_CLIENT_SECRET.
    #[arg(long, value_name = "SECRET", hide = true)]
    pub client_secret: Option<String>,
    /// A secret handed over in-process (the demo); never from the command line.
    #[arg(skip)]
    pub secret: Option<String>,
    /// MSSP child CID to act in (default: $FALCON_MEMBER_CID).
    #[arg(long, env = "FALCON_MEMBER_CID", value_name = "CID")]
    pub member_cid: Option<String>,
    /// Run this command line and exit (repeatable; runs in order).
    #[arg(short = 'c', long = "command", value_name = "LINE")]
    pub commands: Vec<String>,
    /// Run the command lines in FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "commands")]
    pub script: Option<PathBuf>,
    /// In scripts, stop at the first command that fails.
    #[arg(long)]
    pub fail_fast: bool,
    /// Write one JSON object per command to stdout instead of the output itself.
    #[arg(long)]
    pub json: bool,
    /// With --json: the record of a command whose output is parsed (ps, netstat, reg query, ls,
    /// filehash, env, eventlog view, runscript) carries its records under `parsed`.
    #[arg(long, requires = "json")]
    pub parsed: bool,
    /// Do not neutralise control characters in host output (for pipes).
    #[arg(long)]
    pub raw: bool,
    /// Queue commands for an offline host (they run when it comes back).
    #[arg(long)]
    pub queue_offline: bool,
    /// Write the audit transcript to this file.
    #[arg(long, value_name = "PATH", conflicts_with = "no_transcript")]
    pub transcript: Option<PathBuf>,
    /// Do not write an audit transcript.
    #[arg(long)]
    pub no_transcript: bool,
    /// Keep no copy of the commands' output (by default each host's full output is saved in a
    /// private log under the data directory; `save = false` under `[output]` in the config).
    #[arg(long, conflicts_with = "output_dir")]
    pub no_save_output: bool,
    /// Save each host's output log in DIR instead of the data directory.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// How often to pulse the session to keep it alive.
    #[arg(long, default_value = "2m", value_parser = parse_duration, value_name = "DURATION")]
    pub pulse_interval: Duration,
    /// Give up waiting for a command after this long (it may still run on the host).
    #[arg(long, default_value = "15m", value_parser = parse_duration, value_name = "DURATION")]
    pub command_timeout: Duration,
    /// Where `get` saves retrieved files (a folder per host, with a manifest.jsonl).
    #[arg(long, default_value = "evidence", value_name = "DIR")]
    pub evidence_dir: PathBuf,
    /// `get` keeps the downloaded 7z archive (password `infected`) instead of extracting it.
    #[arg(long)]
    pub no_extract: bool,
    /// Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t, value_name = "WHEN", global = true)]
    pub color: crate::output::style::ColorChoice,
}

/// The flags' defaults, for callers that build the arguments themselves (`rtrsh demo`). A test
/// checks them against clap's.
impl Default for ShellArgs {
    fn default() -> Self {
        ShellArgs {
            host: Vec::new(),
            aid: Vec::new(),
            hosts_file: None,
            filter: None,
            dry_run: false,
            yes: false,
            confirm_threshold: 10,
            batch_timeout: Duration::from_secs(30),
            profile: None,
            base_url: None,
            client_id: None,
            client_secret: None,
            secret: None,
            member_cid: None,
            commands: Vec::new(),
            script: None,
            fail_fast: false,
            json: false,
            parsed: false,
            raw: false,
            queue_offline: false,
            transcript: None,
            no_transcript: false,
            no_save_output: false,
            output_dir: None,
            pulse_interval: Duration::from_secs(120),
            command_timeout: Duration::from_secs(15 * 60),
            evidence_dir: PathBuf::from("evidence"),
            no_extract: false,
            color: crate::output::style::ColorChoice::default(),
        }
    }
}

impl ShellArgs {
    /// What the configuration needs of the flags: the profile and the credentials' sources.
    pub fn credentials(&self) -> crate::config::Request {
        crate::config::Request {
            profile: self.profile.clone(),
            base_url: self.base_url.clone(),
            client_id: self.client_id.clone(),
            client_secret_flag: self.client_secret.clone(),
            secret_in_process: self.secret.clone(),
            member_cid: self.member_cid.clone(),
        }
    }
}

/// Resolves `--host`/`--aid` to one host. Several matches: a list (and, on a terminal, a
/// choice); none: near names.
pub async fn pick_target(
    client: &FalconClient,
    args: &ShellArgs,
    interactive: bool,
) -> Result<Target, CliError> {
    if let Some(aid) = args.aid.first() {
        let aid = aid.trim().to_ascii_lowercase();
        if aid.len() != 32 || !aid.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CliError::usage(format!(
                "--aid {} is not a host id (32 hex characters)",
                shown(&aid)
            )));
        }
        return resolve_aid(client, &aid)
            .await?
            .ok_or_else(|| CliError::new(Exit::CommandFailed, format!("no host with aid {aid}")));
    }
    let Some(name) = args
        .host
        .first()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    else {
        return Err(CliError::usage("no host given").with_hint("pass --host HOSTNAME or --aid AID"));
    };
    check_names(std::iter::once(name))?;
    match resolve_host(client, name).await? {
        Resolve::One(t) => Ok(t),
        Resolve::None { suggestions } => {
            let e = CliError::new(
                Exit::CommandFailed,
                format!("no host named {}", quoted_name(name)),
            );
            Err(if !is_literal_name(name) {
                e.with_hint(wildcard_hint(name))
            } else if suggestions.is_empty() {
                e.with_hint("check the name, or use --aid")
            } else {
                let names: Vec<String> = suggestions.iter().map(|n| sanitize_line(n)).collect();
                e.with_hint(format!("did you mean: {}", names.join(", ")))
            })
        }
        Resolve::Many(devices) => {
            let table = builtins::device_table(&devices);
            if interactive {
                eprintln!(
                    "{} hosts are named {}:\n{table}",
                    devices.len(),
                    quoted_name(name)
                );
                if let Some(i) = builtins::ask_choice(devices.len())? {
                    return Ok(Target::from(&devices[i]));
                }
                return Err(CliError::usage("no host chosen"));
            }
            Err(CliError {
                exit: Exit::Usage,
                message: format!(
                    "{} hosts are named {}; pick one with --aid",
                    devices.len(),
                    quoted_name(name)
                ),
                hint: None,
                detail: Some(table),
            })
        }
    }
}

/// The longest host name there is (a DNS name); longer ones are refused before any request.
pub const MAX_HOST_NAME: usize = 255;
/// The longest `--filter` sent (it travels in the URL of every selection request).
pub const MAX_FILTER: usize = 16 * 1024;

/// Text from the command line or a server, inert and cut to a length fit for a message.
pub fn shown(s: &str) -> String {
    let line = one_line(s);
    let cut = crate::output::sanitize::truncate_for_display(&line, 60).into_owned();
    if cut.len() < line.len() {
        format!("\"{cut}\" ({} characters)", s.chars().count())
    } else {
        format!("\"{cut}\"")
    }
}

/// Refuses host names no host can have (too long) before anything is sent.
pub fn check_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), CliError> {
    for n in names {
        if n.chars().count() > MAX_HOST_NAME {
            return Err(CliError::usage(format!(
                "the host name {} is too long: host names have at most {MAX_HOST_NAME} characters",
                shown(n)
            )));
        }
    }
    Ok(())
}

/// Refuses a `--filter` too long to send.
pub fn check_filter(filter: &str) -> Result<(), CliError> {
    if filter.len() > MAX_FILTER {
        return Err(CliError::usage(format!(
            "--filter is too long ({} bytes; at most {MAX_FILTER})",
            filter.len()
        ))
        .with_hint("narrow it, or list the hosts in a file for --hosts-file"));
    }
    Ok(())
}

/// A typed host name in quotes, made inert for the terminal.
pub fn quoted_name(name: &str) -> String {
    format!("\"{}\"", sanitize_line(name))
}

/// The hint for a host name holding `*`: names are literal, patterns go in `--filter` (where a
/// name is matched by prefix, and a leading `*` matches nothing).
pub fn wildcard_hint(name: &str) -> String {
    let prefix: String = name.chars().take_while(|c| *c != '*').collect();
    if prefix.is_empty() {
        "host names are literal; --filter selects hosts by FQL, e.g. --filter \"platform_name:'Windows'\"".into()
    } else {
        format!(
            "host names are literal; for the hosts whose names start with {} use --filter \"hostname:'{}'\"",
            quoted_name(&prefix),
            sanitize_line(&prefix)
        )
    }
}

/// `rtrsh [--host X | --aid A] [-c LINE | --script FILE]`: the shell.
pub async fn run(args: ShellArgs) -> Result<Exit, CliError> {
    let stdin_tty = std::io::stdin().is_terminal();
    let mut input = script::source(&args, stdin_tty)?;
    if args.dry_run && matches!(input, script::Input::Stream) {
        // Nothing runs: the whole of stdin is read and checked, as a script.
        input = script::source_whole(&args, stdin_tty)?
            .map_or(script::Input::Prompt, script::Input::Lines);
    }
    let interactive = matches!(input, script::Input::Prompt);
    // Local things first: a transcript that cannot be written stops us before any request.
    if let Some(path) = args.transcript.as_deref().filter(|_| !args.no_transcript) {
        crate::output::transcript::Transcript::check_path(path).map_err(|e| {
            CliError::usage(format!("cannot open the audit transcript: {e}"))
                .with_hint("pass --transcript PATH to write it elsewhere, or --no-transcript")
        })?;
    }
    let saved = saved_output(&args)?;
    // Opening the OS keyring is a blocking (D-Bus) call: keep it off the runtime's threads.
    let for_resolve = args.credentials();
    let client = tokio::task::spawn_blocking(move || crate::config::resolve(&for_resolve))
        .await
        .map_err(|e| CliError::usage(format!("credential lookup failed: {e}")))??;
    client.on_rate_limit_wait(std::sync::Arc::new(|wait: Duration| {
        eprintln!(
            "{}",
            style::notice(&format!(
                "rate limited by the API; waiting {} s",
                wait.as_secs_f64().ceil()
            ))
        );
    }));
    if fleet::is_fleet(&args) {
        return fleet::run(client, &args, input, saved).await;
    }
    let target = pick_target(&client, &args, stdin_tty && interactive).await?;
    let opts = SessionOptions {
        queue_offline: args.queue_offline,
        limits: rtrsh_client::session::PollLimits {
            timeout: args.command_timeout,
            ..Default::default()
        },
        ..Default::default()
    };
    let session = open_session(&client, target, opts, interactive).await?;
    let info = outputs::session_info(&session, session.session_id().await);
    let transcript = match open_transcript(&args, &info, &client) {
        Ok(t) => t,
        Err(e) => {
            let _ = session.close().await;
            return Err(e);
        }
    };
    let mut outs = outputs::Outputs {
        term: outputs::TerminalSink::new(args.raw).interactive(interactive),
        transcript,
        json: args.json,
        parsed: args.parsed,
        notify: Box::new(|m| eprintln!("{}", style::notice(&m))),
        get: outputs::GetOptions {
            evidence_dir: args.evidence_dir.clone(),
            extract: !args.no_extract,
            ..Default::default()
        },
        local: None,
        saved,
        collect: None,
    };
    let _ = outs.transcript.session_open(&info);
    let stop = tokio_util::sync::CancellationToken::new();
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let pulse = rtrsh_client::session::pulse::spawn(
        session.clone(),
        args.pulse_interval,
        stop.clone(),
        events_tx,
    );
    let source = match input {
        script::Input::Lines(lines) => interp::Source::Script(lines),
        script::Input::Stream => interp::Source::Stream(script::stream_stdin(args.json)),
        script::Input::Prompt => {
            interp::Source::Prompt(repl::history_path(args.profile.as_deref()))
        }
    };
    let mut one = single::OneHost::new(&session, &mut outs, events_rx, interactive);
    let exit = interp::run(&mut one, &args, source).await;
    drop(one);
    let result = Ok(exit);
    stop.cancel();
    let _ = pulse.await;
    if session.offline_queued().await {
        // Its commands run when the host comes back (as on many hosts, the session is kept).
        eprintln!(
            "rtrsh: kept the session open: commands queued in it run when the host comes back \
             (`rtrsh queue` follows them)"
        );
    } else if let Err(e) = session.close().await {
        eprintln!(
            "{}",
            style::warning(&format!("could not close the session on the server: {e}"))
        );
    }
    let closing = outputs::session_info(&session, session.session_id().await);
    let _ = outs.transcript.session_close(&closing);
    let _ = client.revoke().await;
    result
}

/// Opens the session on one host, showing that it is opening (see [`repl::connecting`]). With
/// `interactive` the prompt follows: keys typed meanwhile are held for it, and Ctrl-C gives up.
async fn open_session(
    client: &FalconClient,
    target: Target,
    opts: SessionOptions,
    interactive: bool,
) -> Result<HostSession, CliError> {
    if !interactive {
        let _shown = repl::connecting(&target.hostname, false);
        return Ok(HostSession::open(client.clone(), target, opts).await?);
    }
    // The terminal's echo is off meanwhile: a Ctrl-C must give it back, not kill rtrsh. The
    // handler is in place before the echo goes (`signal()` installs it at once).
    let mut interrupt = repl::Interrupts::take()
        .map_err(|e| CliError::usage(format!("cannot handle Ctrl-C: {e}")))?;
    let _shown = repl::connecting(&target.hostname, true);
    let hostname = target.hostname.clone();
    tokio::select! {
        r = HostSession::open(client.clone(), target, opts) => Ok(r?),
        _ = interrupt.recv() => Err(CliError::new(
            Exit::AuthOrConnection,
            format!("interrupted while connecting to {}", quoted_name(&hostname)),
        )),
    }
}

/// Where each host's full output is saved (see [`crate::output::saved`]): `--output-dir`, the
/// config's `[output]`, or the data directory; `None` with `--no-save-output` or `save = false`.
/// Made before any request: a folder that cannot be made stops the run.
pub(crate) fn saved_output(
    args: &ShellArgs,
) -> Result<Option<crate::output::saved::SavedOutput>, CliError> {
    use crate::output::saved::SavedOutput;
    if args.no_save_output {
        return Ok(None);
    }
    let settings = match crate::config::profiles::default_path() {
        Some(p) => {
            crate::config::profiles::ConfigFile::load(&p)
                .map_err(CliError::usage)?
                .output
        }
        None => Default::default(),
    };
    if args.output_dir.is_none() && settings.save == Some(false) {
        return Ok(None);
    }
    let dir = match args.output_dir.clone().or(settings.dir) {
        Some(d) => d,
        None => match dirs::data_dir() {
            Some(d) => SavedOutput::default_dir(&d, std::time::SystemTime::now()),
            None => {
                return Err(CliError::usage("no data directory to save the output in")
                    .with_hint("pass --output-dir DIR, or --no-save-output"));
            }
        },
    };
    SavedOutput::open(dir)
        .map(Some)
        .map_err(|e| CliError::usage(e).with_hint("pass --output-dir DIR, or --no-save-output"))
}

/// Opens the audit transcript (`--transcript PATH`, the default under the data dir, or none).
pub(crate) fn open_transcript(
    args: &ShellArgs,
    info: &crate::output::transcript::SessionInfo,
    client: &FalconClient,
) -> Result<crate::output::transcript::Transcript, CliError> {
    use crate::output::transcript::{Operator, Transcript, TranscriptOptions};
    if args.no_transcript {
        return Ok(Transcript::disabled());
    }
    let options = TranscriptOptions {
        operator: Operator::from_env(Some(client.client_id().to_string())),
        store_output: false,
        host_label: info.host.clone(),
        session_id: info.session_id.clone(),
    };
    Transcript::open(args.transcript.clone(), options).map_err(|e| {
        CliError::usage(format!("cannot open the audit transcript: {e}"))
            .with_hint("pass --transcript PATH to write it elsewhere, or --no-transcript")
    })
}

#[cfg(test)]
mod tests {
    use clap::{Args, FromArgMatches};

    use super::ShellArgs;

    /// `ShellArgs::default()` is what clap gives for an empty command line (the fields clap may
    /// take from the environment are left out: the test's environment is not ours).
    #[test]
    fn default_is_clap_default() {
        let cmd = ShellArgs::augment_args(clap::Command::new("rtrsh"));
        let matches = cmd.try_get_matches_from(["rtrsh"]).expect("parses");
        let clap = ShellArgs::from_arg_matches(&matches).expect("args");
        let ours = ShellArgs::default();
        let without_env = |a: &ShellArgs| {
            let mut a = a.clone();
            a.profile = None;
            a.base_url = None;
            a.client_id = None;
            a.member_cid = None;
            format!("{a:?}")
        };
        assert_eq!(without_env(&ours), without_env(&clap));
    }
}
