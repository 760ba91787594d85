//! The `rtrsh` binary: parse the command line, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    rtrsh::cli::run(rtrsh::cli::Cli::parse())
}
