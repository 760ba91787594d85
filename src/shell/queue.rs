//! `rtrsh queue`: the commands this API client queued for offline hosts (`--queue-offline`), in
//! any earlier run of the last 7 days, with their state, and the output of those that ran.
//! PSFalcon's `Get-FalconQueue` does this; its users asked for it because a queued command
//! outlives the shell that sent it.
//!
//! Order, as the SDK samples do (docs/protocol.md, "Queued commands"): the sessions query finds
//! this client's sessions with queued commands, the queued-sessions endpoint says where each
//! command stands, and only a command that is no longer `PENDING` has its status read (through the
//! endpoint of its tier, known from the command line). A status that says "not yet" is shown as
//! waiting.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::{CliError, Exit};
use crate::output::sanitize::one_line;
use crate::output::sanitize::sanitize_line;
use crate::shell::ShellArgs;
use rtrsh_client::FalconClient;
use rtrsh_client::session::fleet::{QueueStage, not_run_yet};
use rtrsh_client::session::poll::{Collect, Completion, PollLimits, Schedule, Waiting, poll};
use rtrsh_client::{Aid, SessionId};

/// `rtrsh queue` options.
#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// Credentials profile (default: `default`, or RTRSH_PROFILE).
    #[arg(long, env = "RTRSH_PROFILE")]
    pub profile: Option<String>,
    /// One JSON object per queued command (with its output once it ran).
    #[arg(long)]
    pub json: bool,
    /// Do not neutralise control characters in host output.
    #[arg(long)]
    pub raw: bool,
}

/// One queued command and what became of it.
#[derive(Debug)]
struct Entry {
    host: String,
    aid: String,
    session_id: String,
    command: String,
    cloud_request_id: String,
    queued_at: String,
    state: String,
    stdout: Option<String>,
    stderr: Option<String>,
}

pub async fn run(args: QueueArgs) -> Result<Exit, CliError> {
    run_async(&args).await
}

/// The shell's credential options for `profile`, everything else at its default.
fn credential_args(profile: Option<&str>) -> Result<ShellArgs, CliError> {
    use clap::{Args, FromArgMatches};
    let mut argv = vec!["rtrsh".to_string()];
    if let Some(p) = profile {
        argv.push("--profile".into());
        argv.push(p.into());
    }
    let cmd = ShellArgs::augment_args(clap::Command::new("rtrsh"));
    let matches = cmd
        .try_get_matches_from(argv)
        .map_err(|e| CliError::usage(e.to_string()))?;
    ShellArgs::from_arg_matches(&matches).map_err(|e| CliError::usage(e.to_string()))
}

async fn run_async(args: &QueueArgs) -> Result<Exit, CliError> {
    let shell = credential_args(args.profile.as_deref())?;
    let req = shell.credentials();
    let client = tokio::task::spawn_blocking(move || crate::config::resolve(&req))
        .await
        .map_err(|e| CliError::usage(format!("credential lookup failed: {e}")))??;
    let ids = client.my_queued_sessions().await?;
    let entries = collect(&client, &ids).await?;
    let _ = client.revoke().await;
    print(&entries, args.json, args.raw);
    Ok(Exit::Ok)
}

/// `queue [wait [D]]` at the single-host prompt: this session's queued commands and the output
/// of those that ran (the same look-up as `rtrsh queue`). With `wait`, asks again (every few
/// seconds) until no command is waiting, `D` has passed or Ctrl-C; exit 1 when some still wait.
pub async fn show_session(
    client: &FalconClient,
    session_id: &str,
    json: bool,
    raw: bool,
    wait: Option<Duration>,
    cancel: &CancellationToken,
) -> Exit {
    let deadline = wait.map(|w| tokio::time::Instant::now() + w);
    let mut pause = Duration::from_millis(500);
    loop {
        let entries = match collect(client, &[SessionId::new(session_id)]).await {
            Ok(entries) => entries,
            Err(e) => {
                e.print();
                return e.exit;
            }
        };
        let waiting = entries.iter().filter(|e| e.state == "waiting").count();
        let done = waiting == 0
            || cancel.is_cancelled()
            || deadline.is_none_or(|d| tokio::time::Instant::now() >= d);
        if done {
            print(&entries, json, raw);
            if wait.is_some() && waiting > 0 {
                eprintln!(
                    "rtrsh: {} still waiting for the host",
                    crate::output::layout::plural(waiting, "queued command")
                );
                return Exit::CommandFailed;
            }
            return Exit::Ok;
        }
        if let Some(d) = deadline {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep_until(d.min(tokio::time::Instant::now() + pause)) => {}
            }
        }
        pause = (pause * 3 / 2).min(Duration::from_secs(5));
    }
}

async fn collect(client: &FalconClient, ids: &[SessionId]) -> Result<Vec<Entry>, CliError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sessions = Vec::new();
    for chunk in ids.chunks(100) {
        sessions.extend(client.queued_sessions(chunk).await?);
    }
    let aids: Vec<Aid> = sessions.iter().map(|s| s.aid.clone()).collect();
    let names: HashMap<Aid, String> = client
        .get_devices(&aids)
        .await?
        .into_iter()
        .map(|d| (d.device_id, d.hostname))
        .collect();
    let cancel = CancellationToken::new();
    let limits = PollLimits {
        timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let mut out = Vec::new();
    for s in sessions {
        for c in s.commands {
            let mut e = Entry {
                host: names
                    .get(&s.aid)
                    .cloned()
                    .unwrap_or_else(|| s.aid.to_string()),
                aid: s.aid.to_string(),
                session_id: s.id.to_string(),
                command: c.command_string.clone(),
                cloud_request_id: c.cloud_request_id.to_string(),
                queued_at: c.created_at.clone(),
                state: "waiting".into(),
                stdout: None,
                stderr: None,
            };
            match QueueStage::of(&c.status) {
                QueueStage::Waiting => {}
                QueueStage::Failed => {
                    e.state = if c.status_text.is_empty() {
                        c.status.to_ascii_lowercase()
                    } else {
                        format!("{}: {}", c.status.to_ascii_lowercase(), c.status_text)
                    };
                }
                QueueStage::Ran => {
                    // The status endpoint of the command's own tier.
                    let tier = rtrsh_command::classify(&c.command_string, None)
                        .map(|(_, t)| t)
                        .unwrap_or(rtrsh_command::Tier::ReadOnly);
                    let mut sink = Collect::default();
                    match poll(
                        client,
                        tier,
                        &c.cloud_request_id,
                        &mut sink,
                        Waiting {
                            schedule: &Schedule::default(),
                            limits: &limits,
                            cancel: &cancel,
                        },
                    )
                    .await
                    {
                        Ok(p) if p.completion == Completion::Complete => {
                            e.state = "ran".into();
                            e.stdout = Some(sink.stdout);
                            e.stderr = Some(sink.stderr);
                        }
                        Ok(_) => e.state = "running".into(),
                        Err(err) if not_run_yet(&err) => {}
                        Err(err) => {
                            e.state = format!("unknown (reading its output failed: {err})");
                        }
                    }
                }
            }
            out.push(e);
        }
    }
    Ok(out)
}

fn print(entries: &[Entry], json: bool, raw: bool) {
    let mut stdout = std::io::stdout().lock();
    if json {
        for e in entries {
            let v = json!({
                "host": e.host, "aid": e.aid, "session_id": e.session_id,
                "command": e.command, "cloud_request_id": e.cloud_request_id,
                "queued_at": e.queued_at, "state": e.state,
                "stdout": e.stdout, "stderr": e.stderr,
            });
            let _ = writeln!(stdout, "{v}");
        }
        return;
    }
    if entries.is_empty() {
        eprintln!("rtrsh: no queued commands (of this API client, in the last 7 days)");
        return;
    }
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(vec!["host", "command", "queued at", "state"]);
    for e in entries {
        t.add_row(vec![
            sanitize_line(&e.host),
            sanitize_line(&e.command),
            sanitize_line(&e.queued_at),
            one_line(&e.state),
        ]);
    }
    let _ = writeln!(stdout, "{t}");
    let show = |s: &str| -> String {
        if raw {
            s.to_string()
        } else {
            crate::output::sanitize::sanitize_bytes(s.as_bytes())
        }
    };
    for e in entries {
        let (Some(out), Some(err)) = (&e.stdout, &e.stderr) else {
            continue;
        };
        let _ = writeln!(
            stdout,
            "=== {}: {} ===",
            sanitize_line(&e.host),
            sanitize_line(&e.command)
        );
        let _ = write!(stdout, "{}", show(out));
        if !out.is_empty() && !out.ends_with('\n') {
            let _ = writeln!(stdout);
        }
        if !err.is_empty() {
            let _ = writeln!(stdout, "--- stderr ---\n{}", show(err));
        }
    }
}
