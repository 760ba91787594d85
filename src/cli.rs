//! The command-line interface of the `rtrsh` binary: clap definitions and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod docs;

use crate::emulator::{self, EmulatorConfig};

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
    pub shell: crate::shell::ShellArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the loopback Falcon API emulator (for tests, benchmarks and demos).
    Emulator(Box<EmulatorConfig>),
    /// Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host.
    Demo(DemoArgs),
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

/// `rtrsh demo`: the shell's options, against a simulated tenant.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Demo host to open (e.g. DESKTOP-01, SRV-LNX-01, MBP-01, HOSTILE-01).
    #[arg(long, default_value = "DESKTOP-01", conflicts_with = "hosts")]
    pub host: String,
    /// Open a fleet instead: a simulated tenant of N hosts (Windows, Linux, macOS; a few
    /// offline), every one of them in the shell. `stack name ps` finds what only a few have.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..=10000))]
    pub hosts: Option<u16>,
    /// Time the simulated hosts take per command.
    #[arg(long, default_value = "150ms", value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
    pub latency: std::time::Duration,
    /// Run this command line and exit (repeatable).
    #[arg(short = 'c', long = "command", value_name = "LINE")]
    pub commands: Vec<String>,
    /// Write one JSON object per command instead of the output.
    #[arg(long)]
    pub json: bool,
    /// Do not neutralise control characters in host output.
    #[arg(long)]
    pub raw: bool,
    /// Do not write an audit transcript.
    #[arg(long)]
    pub no_transcript: bool,
}

/// Logs for a bug report: `RUST_LOG=debug` (or any `tracing` filter, e.g.
/// `RUST_LOG=rtrsh::http=debug`) prints one line per API request (method, path, status,
/// duration, attempt, trace id), retries and the session decisions to stderr. Never a secret,
/// a token, a query string or a body: the events are written so. Off without `RUST_LOG`.
pub fn init_logs() {
    let Ok(filter) = std::env::var("RUST_LOG") else {
        return;
    };
    if filter.trim().is_empty() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Emulator(cfg)) => run_emulator(*cfg),
        Some(Command::Demo(args)) => run_demo(args),
        Some(Command::Auth { command }) => crate::config::run_auth(command, cli.shell.profile),
        Some(Command::Queue(args)) => crate::shell::queue::run(args),
        Some(Command::Completions { shell }) => docs::print_completions(shell),
        Some(Command::Man) => docs::print_man(),
        None => crate::shell::run(cli.shell),
    }
}

fn run_demo(args: DemoArgs) -> ExitCode {
    let mut cfg = EmulatorConfig {
        latency: args.latency,
        ..Default::default()
    };
    if let Some(n) = args.hosts {
        // The fixed hosts (DESKTOP-01, SRV-LNX-01, ...) come first; at least these exist.
        cfg.hosts = usize::from(n).max(7);
    }
    let handle = match emulator::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("rtrsh: error: cannot start the demo tenant: {e}");
            return ExitCode::from(1);
        }
    };
    let fleet = args.hosts.is_some();
    if fleet && args.commands.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!(
            "rtrsh demo: a simulated Falcon tenant with {} hosts at {} (nothing leaves this machine).\n\
             Try: ps (identical outputs are grouped), stack name ps, stack listen_port netstat, \
             stack value reg query HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run, \
             diff DESKTOP-01 DESKTOP-02, results, hosts, only DESKTOP-01 ls, help. Ctrl-D or `exit` leaves.",
            handle.emulator().world.hosts().len(),
            handle.base_url()
        );
    } else if args.commands.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!(
            "rtrsh demo: a simulated Falcon tenant with {} hosts at {} (nothing leaves this machine).\n\
             Try: ls, cd Windows, ps, netstat, reg query HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run, \
             cat C:\\Logs\\big-1mb.log, help. Ctrl-D or `exit` leaves.",
            handle.emulator().world.hosts().len(),
            handle.base_url()
        );
    }
    let shell = crate::shell::ShellArgs {
        host: if fleet { Vec::new() } else { vec![args.host] },
        aid: Vec::new(),
        hosts_file: None,
        filter: fleet.then(|| "platform_name:['Windows','Linux','Mac']".to_string()),
        dry_run: false,
        yes: false,
        confirm_threshold: 10,
        batch_timeout: std::time::Duration::from_secs(30),
        profile: None,
        base_url: Some(handle.base_url()),
        client_id: Some(emulator::DEFAULT_CLIENT_ID.to_string()),
        client_secret: None,
        secret: Some(emulator::DEFAULT_CLIENT_SECRET.to_string()),
        member_cid: None,
        commands: args.commands,
        script: None,
        fail_fast: false,
        json: args.json,
        parsed: false,
        raw: args.raw,
        queue_offline: false,
        transcript: None,
        no_transcript: args.no_transcript,
        no_save_output: false,
        output_dir: None,
        pulse_interval: std::time::Duration::from_secs(120),
        command_timeout: std::time::Duration::from_secs(15 * 60),
        evidence_dir: std::path::PathBuf::from("evidence"),
        no_extract: false,
        color: crate::output::style::choice(),
    };
    let code = crate::shell::run(shell);
    handle.shutdown();
    code
}

fn run_emulator(cfg: EmulatorConfig) -> ExitCode {
    if !cfg.listen.ip().is_loopback() {
        eprintln!(
            "rtrsh: warning: the emulator listens on {} without TLS; it is meant for loopback",
            cfg.listen
        );
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rtrsh: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let handle = match emulator::spawn(cfg).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("rtrsh: error: cannot start the emulator: {e}");
                return ExitCode::from(1);
            }
        };
        let emu = handle.emulator();
        println!("Falcon API emulator listening on {}", handle.base_url());
        println!(
            "  {} hosts (seed {}), region {}, chunk model {:?}, chunk size {} bytes",
            emu.world.hosts().len(),
            emu.config.seed,
            emu.config.region,
            emu.config.chunk_model,
            emu.config.chunk_size
        );
        println!(
            "  client id: {}  (secrets: see `rtrsh emulator --help`, option --client)",
            emulator::DEFAULT_CLIENT_ID
        );
        println!("  export FALCON_BASE_URL={}", handle.base_url());
        println!("  stats: {}/_emulator/stats", handle.base_url());
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown();
        ExitCode::SUCCESS
    })
}
