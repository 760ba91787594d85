//! The command-line interface of the `rtrsh` binary: clap definitions and dispatch.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[cfg(feature = "emulator")]
mod demo;
pub mod docs;

use crate::error::{CliError, Exit};
use crate::shell::ShellArgs;

#[derive(Debug, Parser)]
#[command(
    name = "rtrsh",
    version,
    about = "A fast, trustworthy shell for CrowdStrike Falcon Real Time Response",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub shell: ShellArgs,
    /// Log each API request (method, path, status, duration, trace id), retries and session
    /// decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug
    /// (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status
    /// --debug`.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Write the log to FILE (appended, private) instead of stderr; logs at debug level unless
    /// RUST_LOG says otherwise.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the loopback Falcon API emulator (for tests, benchmarks and demos).
    #[cfg(feature = "emulator")]
    Emulator(Box<rtrsh_emulator::EmulatorConfig>),
    /// Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host.
    #[cfg(feature = "emulator")]
    Demo(demo::DemoArgs),
    /// Manage stored credentials (profiles).
    Auth {
        #[command(subcommand)]
        command: crate::config::AuthCommand,
    },
    /// List the commands this API client queued for offline hosts (any run, last 7 days) and
    /// print the output of those that ran.
    Queue(crate::shell::queue::QueueArgs),
    /// Print shell completions for bash, zsh, fish, powershell or elvish.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Logs for a bug report: `--debug`, `--log-file FILE` or `RUST_LOG` (any `tracing` filter, e.g.
/// `RUST_LOG=rtrsh::http=debug`) prints one line per API request (method, path, status,
/// duration, attempt, trace id), retries and the session decisions to stderr or FILE. Never a
/// secret, a token, a query string or a body: the events are written so. Off by default. As
/// everywhere, the flag wins over the environment: `--debug` logs at debug level whatever
/// `RUST_LOG` says.
fn init_logs(debug: bool, log_file: Option<&std::path::Path>) -> Result<(), CliError> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty());
    let filter = match from_env {
        Some(f) if !debug => f,
        _ if debug || log_file.is_some() => "debug".to_string(),
        _ => return Ok(()),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false);
    let done = match log_file {
        Some(path) => {
            // Private like the transcript: 0600 when created, narrowed to 0600 when it was
            // there already, and never through a symbolic link.
            let file = crate::output::private::options_nofollow()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    CliError::usage(format!("cannot open the log file {}: {e}", path.display()))
                        .with_hint("pass --log-file with a path you can write, or leave it out")
                })?;
            crate::output::private::narrow(&file);
            logs.with_writer(std::sync::Mutex::new(file)).try_init()
        }
        None => logs.with_writer(std::io::stderr).try_init(),
    };
    // Already set (a second call in one process): the first one stays.
    let _ = done;
    Ok(())
}

/// Runs the parsed command line on the process's one async runtime; returns the exit code. Every
/// subcommand returns `Result<Exit, CliError>`, and an error is printed here, once.
pub fn run(cli: Cli) -> ExitCode {
    crate::output::style::init(cli.shell.color);
    if let Err(e) = init_logs(cli.debug, cli.log_file.as_deref()) {
        return report(Err(e));
    }
    let result = match cli.command {
        // Nothing to wait for: no runtime.
        Some(Command::Completions { shell }) => docs::print_completions(shell),
        Some(Command::Man) => docs::print_man(),
        command => on_runtime(command, cli.shell),
    };
    report(result)
}

fn report(result: Result<Exit, CliError>) -> ExitCode {
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            e.print();
            e.exit.into()
        }
    }
}

fn on_runtime(command: Option<Command>, shell: ShellArgs) -> Result<Exit, CliError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    // The shell waits on the network, two workers are plenty; the emulator serves load and takes
    // every core (in the demo, shell and emulator share them).
    #[cfg(feature = "emulator")]
    let serves = matches!(command, Some(Command::Emulator(_) | Command::Demo(_)));
    #[cfg(not(feature = "emulator"))]
    let serves = false;
    if !serves {
        rt.worker_threads(2);
    }
    let rt = rt.enable_all().build().map_err(|e| {
        CliError::new(
            Exit::CommandFailed,
            format!("cannot start the async runtime: {e}"),
        )
    })?;
    let result = rt.block_on(async move {
        match command {
            #[cfg(feature = "emulator")]
            Some(Command::Emulator(cfg)) => demo::run_emulator(*cfg).await,
            #[cfg(feature = "emulator")]
            Some(Command::Demo(args)) => demo::run_demo(args).await,
            Some(Command::Auth { command }) => {
                crate::config::run_auth(command, shell.profile).await
            }
            Some(Command::Queue(args)) => crate::shell::queue::run(args).await,
            None => crate::shell::run(shell).await,
            // Answered in `run`, without a runtime.
            Some(Command::Completions { .. } | Command::Man) => Ok(Exit::Ok),
        }
    });
    // A request still in flight (a session delete after Ctrl-C) gets a moment, not forever.
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}
