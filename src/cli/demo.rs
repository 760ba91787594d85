//! `rtrsh demo` and `rtrsh emulator`: the loopback Falcon API in the binary (feature `emulator`,
//! on by default), on the process's one runtime.

use rtrsh_emulator::{self as emulator, EmulatorConfig};

use crate::error::{CliError, Exit};
use crate::shell::ShellArgs;

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

pub(super) async fn run_demo(args: DemoArgs) -> Result<Exit, CliError> {
    let mut cfg = EmulatorConfig {
        latency: args.latency,
        ..Default::default()
    };
    if let Some(n) = args.hosts {
        // The fixed hosts (DESKTOP-01, SRV-LNX-01, ...) come first; at least these exist.
        cfg.hosts = usize::from(n).max(7);
    }
    let handle = emulator::spawn(cfg).await.map_err(|e| {
        CliError::new(
            Exit::CommandFailed,
            format!("cannot start the demo tenant: {e}"),
        )
    })?;
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
    let shell = ShellArgs {
        host: if fleet { Vec::new() } else { vec![args.host] },
        filter: fleet.then(|| "platform_name:['Windows','Linux','Mac']".to_string()),
        base_url: Some(handle.base_url()),
        client_id: Some(emulator::DEFAULT_CLIENT_ID.to_string()),
        secret: Some(emulator::DEFAULT_CLIENT_SECRET.to_string()),
        commands: args.commands,
        json: args.json,
        raw: args.raw,
        no_transcript: args.no_transcript,
        color: crate::output::style::choice(),
        ..ShellArgs::default()
    };
    let result = crate::shell::run(shell).await;
    handle.shutdown();
    result
}

pub(super) async fn run_emulator(cfg: EmulatorConfig) -> Result<Exit, CliError> {
    if !cfg.listen.ip().is_loopback() {
        eprintln!(
            "{}",
            crate::output::style::warning(&format!(
                "the emulator listens on {} without TLS; it is meant for loopback",
                cfg.listen
            ))
        );
    }
    let handle = emulator::spawn(cfg).await.map_err(|e| {
        CliError::new(
            Exit::CommandFailed,
            format!("cannot start the emulator: {e}"),
        )
    })?;
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
    Ok(Exit::Ok)
}
