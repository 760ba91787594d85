//! Non-interactive runs: `-c LINE`, `--script FILE`, or lines piped to stdin. Lines run in
//! order; blank lines and `#` comments are skipped; no prompt is printed. The exit status is the
//! worst of: 1 a command failed, 2 a line was invalid, 3 authentication or connection failed.
//!
//! Every line is checked before credentials are looked up or the API is asked anything
//! ([`source`]): a script with a typo must not half-run, and a refused script must leave no
//! session behind. The same checks serve the fleet (its local commands differ, see
//! [`crate::shell::fleet::check_line`]) and the prompts ([`typed_lines`]). What needs the host's
//! platform is checked again when the line runs.

use std::fmt;
use std::io::Read;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::command::input::{self, InputError};
use crate::session::{HostSession, classify};
use crate::shell::builtins::{self, Builtin};
use crate::shell::exec::{LineResult, Outputs, run_line};
use crate::shell::{CliError, Exit, ShellArgs, one_line};

/// Where a script line came from, for messages: `triage.rtr:3`, `stdin:3`, or `-c:2` (the
/// second `-c`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub source: Arc<str>,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// A command line of a script, already checked locally (blank lines and comments are dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLine {
    pub place: Place,
    /// Characters of indentation before `text` in the source line.
    pub indent: usize,
    /// The command, indentation trimmed.
    pub text: String,
}

impl ScriptLine {
    /// `source:line:column` for a 1-based column of `text`.
    pub fn at(&self, column: usize) -> String {
        format!("{}:{}", self.place, self.indent + column)
    }
}

/// A line of a script as read, before the checks.
struct Raw {
    place: Place,
    indent: usize,
    /// The command, or why its characters are refused (column in `text`, or in the bytes).
    text: Result<String, InputError>,
}

fn read_lines(source: &Arc<str>, bytes: &[u8], first: usize, out: &mut Vec<Raw>) {
    for (i, line) in input::split_lines(bytes).into_iter().enumerate() {
        let place = Place {
            source: source.clone(),
            line: first + i,
        };
        if input::is_comment_or_blank(line) {
            continue;
        }
        let text = match input::decode(line) {
            Ok(t) => t,
            Err(e) => {
                out.push(Raw {
                    place,
                    indent: 0,
                    text: Err(e),
                });
                continue;
            }
        };
        if let Some((at, text)) = input::command_text(text) {
            out.push(Raw {
                place,
                indent: line[..at].len(),
                text: Ok(text.to_string()),
            });
        }
    }
}

/// The lines to run, or `None` for an interactive prompt: each `-c` (one command each, a line
/// break in it is refused), `--script FILE`, or stdin when it is not a terminal. Every line is
/// checked here, before any credential lookup or API call ([`check`]): if any is invalid, each
/// is reported as `source:line:column: why` and nothing runs (exit 2).
pub fn source(args: &ShellArgs, stdin_tty: bool) -> Result<Option<Vec<ScriptLine>>, CliError> {
    let mut raw = Vec::new();
    if !args.commands.is_empty() {
        let source: Arc<str> = Arc::from("-c");
        for (i, c) in args.commands.iter().enumerate() {
            let place = Place {
                source: source.clone(),
                line: i + 1,
            };
            // One -c is one command: a line break in it is refused below, not split.
            if let Some((at, text)) = input::command_text(c) {
                raw.push(Raw {
                    place,
                    indent: c[..at].chars().count(),
                    text: Ok(text.to_string()),
                });
            }
        }
    } else if let Some(path) = &args.script {
        let text = std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read script {}: {e}", path.display())))?;
        let source: Arc<str> = Arc::from(path.display().to_string());
        read_lines(&source, &text, 1, &mut raw);
    } else if !stdin_tty {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(format!("cannot read commands from stdin: {e}")))?;
        read_lines(&Arc::from("stdin"), &buf, 1, &mut raw);
    } else {
        return Ok(None);
    }
    check(raw, crate::shell::fleet::is_fleet(args)).map(Some)
}

/// Checks every line without a host: its characters, then (for a fleet) the fleet's local
/// commands, the built-ins, and RTR commands against the catalog on any platform. What depends
/// on a host's platform is checked when the line runs.
fn check(raw: Vec<Raw>, fleet: bool) -> Result<Vec<ScriptLine>, CliError> {
    let total = raw.len();
    let mut lines = Vec::with_capacity(total);
    let mut bad = 0;
    for r in raw {
        let (line, problem) = match r.text {
            // Bytes that are not text: the column counts from the start of the line.
            Err(e) => (
                ScriptLine {
                    place: r.place,
                    indent: 0,
                    text: String::new(),
                },
                Some((e.column, e.to_string())),
            ),
            Ok(text) => {
                let problem = if fleet {
                    crate::shell::fleet::check_line(&text)
                } else {
                    check_line(&text)
                };
                let line = ScriptLine {
                    place: r.place,
                    indent: r.indent,
                    text,
                };
                (line, problem.err())
            }
        };
        match problem {
            Some((column, why)) => {
                eprintln!("rtrsh: {}: {}", line.at(column), one_line(&why));
                bad += 1;
            }
            None => lines.push(line),
        }
    }
    if bad > 0 {
        return Err(CliError::usage(format!(
            "{bad} of {} invalid; nothing was run",
            crate::shell::fleet::plural(total, "line")
        ))
        .with_hint("fix the lines above and run the script again"));
    }
    Ok(lines)
}

/// A command line's problem: its 1-based column and the one-line reason.
pub type LineProblem = (usize, String);

/// The checks of one line that need no host, shared by the single-host shell and the fleet:
/// its characters, then a built-in's arguments or an RTR command against the catalog (any
/// platform).
pub fn check_command(text: &str, builtin: Option<Builtin>) -> Result<(), LineProblem> {
    input::check_line(text).map_err(|e| (e.column, e.to_string()))?;
    match builtin {
        Some(Builtin::Help(Some(topic))) => builtins::help(Some(&topic), None)
            .map(drop)
            .map_err(|e| (text.find(&topic).map_or(1, |at| input::column(text, at)), e)),
        Some(Builtin::Library(line)) => crate::shell::library::parse_args(&line)
            .map(drop)
            .map_err(|e| (1, e)),
        Some(Builtin::Misused(e)) => Err((1, e)),
        Some(_) => Ok(()),
        None => classify(text, None)
            .map(drop)
            .map_err(|e| (e.column(text), e.to_string())),
    }
}

/// A line of the single-host shell, checked without the host.
fn check_line(text: &str) -> Result<(), LineProblem> {
    check_command(text, builtins::parse(text))
}

/// The command lines of what was typed at a prompt (a paste may hold several): indentation
/// trimmed, blank lines and comments dropped, and each line's characters checked (the same
/// check as scripts). A refused line is `Err` with its message (`column N: why`).
pub fn typed_lines(text: &str) -> Vec<Result<&str, String>> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter_map(|l| {
            let (at, cmd) = input::command_text(l)?;
            Some(input::check_line(cmd).map(|()| cmd).map_err(|e| {
                format!(
                    "column {}: {}",
                    l[..at].chars().count() + e.column,
                    one_line(&e.to_string())
                )
            }))
        })
        .collect()
}

/// Runs `lines` on the session; returns the worst exit status.
pub async fn run(
    session: &HostSession,
    args: &ShellArgs,
    outs: &mut Outputs,
    lines: Vec<ScriptLine>,
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
    for sl in &lines {
        let line = sl.text.as_str();
        if cancel.is_cancelled() || outs.term.broken_pipe {
            break;
        }
        match builtins::parse(line) {
            Some(Builtin::Exit) => break,
            Some(Builtin::Library(line)) => {
                if let Err(e) = crate::shell::library::run(session.client(), &line, outs).await {
                    if e.exit == Exit::Usage {
                        eprintln!("rtrsh: {}: {}", sl.place, one_line(&e.message));
                    }
                    worst = worst.max(e.exit);
                }
                continue;
            }
            Some(Builtin::Misused(e)) => {
                // Refused before anything ran; kept for completeness.
                eprintln!("rtrsh: {}: {e}", sl.place);
                worst = worst.max(Exit::Usage);
                continue;
            }
            Some(Builtin::Help(topic)) => {
                match builtins::help(topic.as_deref(), platform) {
                    Ok(text) => builtins::print_help(&text, outs.json),
                    Err(e) => {
                        eprintln!("rtrsh: {}: {}", sl.place, one_line(&e));
                        worst = worst.max(Exit::Usage);
                    }
                }
                continue;
            }
            // Files, download, queue, history, clear: the same at the prompt and in a script.
            Some(b) => {
                worst = worst
                    .max(crate::shell::exec::session_builtin(&b, session, outs, &history).await);
                continue;
            }
            None => {}
        }
        history.push(line.to_string());
        // Checked before the session opened; what depends on the platform is checked here.
        let (words, tier) = match classify(line, platform) {
            Ok(x) => x,
            Err(e) => {
                eprintln!(
                    "rtrsh: {}: {}",
                    sl.at(e.column(line)),
                    one_line(&e.to_string())
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(lines: &[&str]) -> Vec<Raw> {
        let mut out = Vec::new();
        read_lines(
            &Arc::from("t.rtr"),
            lines.join("\n").as_bytes(),
            1,
            &mut out,
        );
        out
    }

    #[test]
    fn good_scripts_keep_their_places() {
        let lines = check(
            raw(&["# x", "", "  pwd", "\tls C:\\", "help ls", "exit"]),
            false,
        )
        .expect("valid");
        let texts: Vec<(&str, String)> = lines
            .iter()
            .map(|l| (l.text.as_str(), l.place.to_string()))
            .collect();
        assert_eq!(
            texts,
            [
                ("pwd", "t.rtr:3".to_string()),
                ("ls C:\\", "t.rtr:4".into()),
                ("help ls", "t.rtr:5".into()),
                ("exit", "t.rtr:6".into())
            ]
        );
        assert_eq!(lines[0].at(1), "t.rtr:3:3");
    }

    #[test]
    fn any_bad_line_refuses_the_whole_script() {
        let e = check(
            raw(&["pwd", "  ls C:\\\rrm C:\\x", "lss", "help nope", "hosts"]),
            false,
        )
        .expect_err("refused");
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("4 of 5 lines invalid"), "{}", e.message);
        assert!(check(raw(&["hosts", "only A pwd", "queue wait 5s"]), true).is_ok());
        assert!(check(raw(&["only A ps | x"]), true).is_err());
        assert!(check(raw(&["only A lss"]), true).is_err());
    }

    #[test]
    fn typed_lines_are_checked_like_scripts() {
        let got = typed_lines("pwd\r\n  # c\n\n ls\tx\nps | findstr x");
        assert_eq!(got[0], Ok("pwd"));
        assert!(
            got[1]
                .as_ref()
                .is_err_and(|e| e.starts_with("column 4: tab"))
        );
        assert!(got[2].as_ref().is_err_and(|e| e.contains("local pipes")));
        assert_eq!(got.len(), 3);
    }
}
