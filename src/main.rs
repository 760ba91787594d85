//! The `rtrsh` binary: parse the command line, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = rtrsh::cli::Cli::parse();
    rtrsh::output::style::init(cli.shell.color);
    rtrsh::cli::init_logs();
    rtrsh::cli::run(cli)
}
