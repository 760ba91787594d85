//! Non-interactive runs: `-c LINE`, `--script FILE`, or lines piped to stdin. Lines run in
//! order; blank lines and `#` comments are skipped; no prompt is printed. The exit status is the
//! worst of: 1 a command failed, 2 a line was invalid, 3 authentication or connection failed.

use std::io::Read;

use tokio_util::sync::CancellationToken;

use crate::session::{HostSession, classify};
use crate::shell::builtins::{self, Builtin};
use crate::shell::exec::{LineResult, Outputs, run_line};
use crate::shell::{CliError, Exit, ShellArgs, one_line};

/// The lines to run, or `None` for an interactive prompt.
pub fn source(args: &ShellArgs, stdin_tty: bool) -> Result<Option<Vec<String>>, CliError> {
    if !args.commands.is_empty() {
        // A -c argument may hold several lines (e.g. pasted); each runs on its own.
        return Ok(Some(
            args.commands
                .iter()
                .flat_map(|c| c.lines().map(str::to_string))
                .collect(),
        ));
    }
    if let Some(path) = &args.script {
        let text = std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read script {}: {e}", path.display())))?;
        return Ok(Some(
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::to_string)
                .collect(),
        ));
    }
    if !stdin_tty {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(format!("cannot read commands from stdin: {e}")))?;
        return Ok(Some(
            String::from_utf8_lossy(&buf)
                .lines()
                .map(str::to_string)
                .collect(),
        ));
    }
    Ok(None)
}

/// Runs `lines` on the session; returns the worst exit status.
pub async fn run(
    session: &HostSession,
    args: &ShellArgs,
    outs: &mut Outputs,
    lines: Vec<String>,
) -> Exit {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    });
    let platform = session.target().platform;
    let mut worst = Exit::Ok;
    let mut history: Vec<String> = Vec::new();
    for (n, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if cancel.is_cancelled() || outs.term.broken_pipe {
            break;
        }
        match builtins::parse(line) {
            Some(Builtin::Exit) => break,
            Some(Builtin::Files) => {
                crate::shell::get::list_files(session, outs).await;
                continue;
            }
            Some(Builtin::Library(line)) => {
                if let Err(e) = crate::shell::library::run(session.client(), &line, outs).await {
                    if e.exit == Exit::Usage {
                        eprintln!("rtrsh: line {}: {}", n + 1, one_line(&e.message));
                    }
                    worst = worst.max(e.exit);
                }
                continue;
            }
            Some(Builtin::History) => {
                for (i, h) in history.iter().enumerate() {
                    println!("{:5}  {}", i + 1, h);
                }
                continue;
            }
            Some(Builtin::Help(topic)) => {
                match builtins::help(topic.as_deref(), platform) {
                    Ok(text) => print!("{text}"),
                    Err(e) => {
                        eprintln!("rtrsh: line {}: {}", n + 1, one_line(&e));
                        worst = worst.max(Exit::Usage);
                    }
                }
                continue;
            }
            None => {}
        }
        history.push(line.to_string());
        let (words, tier) = match classify(line, platform) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("rtrsh: line {}: {}", n + 1, one_line(&e.to_string()));
                worst = worst.max(Exit::Usage);
                if args.fail_fast {
                    break;
                }
                continue;
            }
        };
        match run_line(session, line, &words, tier, outs, &cancel, None).await {
            LineResult::Ok => {}
            LineResult::Cancelled => {
                worst = worst.max(Exit::CommandFailed);
                break;
            }
            LineResult::Failed(exit) => {
                worst = worst.max(exit);
                if exit == Exit::AuthOrConnection || args.fail_fast {
                    break;
                }
            }
        }
    }
    ctrl_c.abort();
    worst
}
