//! STUB: tab completion (commands, subcommands, flags, remote paths) and generated shell
//! completions / man page.

use std::process::ExitCode;

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::session::HostSession;

/// The line editor's helper: completion and hints for RTR command lines.
pub struct ShellHelper {
    _session: Option<HostSession>,
    _runtime: Option<tokio::runtime::Handle>,
}

impl ShellHelper {
    /// `session` and `runtime` let the completer list remote directories (the editor runs on
    /// its own thread; it blocks on the runtime for the listing).
    pub fn new(session: Option<HostSession>, runtime: Option<tokio::runtime::Handle>) -> Self {
        ShellHelper {
            _session: session,
            _runtime: runtime,
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        _line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok((pos, Vec::new()))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// `rtrsh completions SHELL`
pub fn print_completions(_shell: clap_complete::Shell) -> ExitCode {
    eprintln!("rtrsh: error: completions are not built yet");
    ExitCode::from(2)
}

/// `rtrsh man`
pub fn print_man() -> ExitCode {
    eprintln!("rtrsh: error: the man page is not built yet");
    ExitCode::from(2)
}
