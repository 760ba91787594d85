//! The command-line interface of the `rtrsh` binary: clap definitions and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Emulator(EmulatorConfig),
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Emulator(cfg)) => run_emulator(cfg),
        None => crate::shell::run(cli.shell),
    }
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
