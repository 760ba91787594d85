//! Non-interactive runs: `-c LINE`, `--script FILE`, or lines piped to stdin. Lines run in
//! order; blank lines and `#` comments are skipped; no prompt is printed. The exit status is the
//! worst of: 1 a command failed, 2 a line was invalid, 3 authentication or connection failed.
//!
//! Every line is checked before credentials are looked up or the API is asked anything
//! ([`source`]): a script with a typo must not half-run, and a refused script must leave no
//! session behind. The same checks serve one host and many ([`line::check`]) and the prompts
//! ([`typed_lines`]). What needs the host's platform is checked again when the line runs
//! ([`crate::shell::interp`], which also runs the lines).

use std::fmt;
use std::io::Read;
use std::sync::Arc;

use crate::error::CliError;
use crate::output::sanitize::one_line;
use crate::output::style;
use crate::shell::ShellArgs;
use crate::shell::line;
use rtrsh_command::input::{self, InputError};

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

/// Where the lines come from.
pub enum Input {
    /// `-c`, `--script FILE` or stdin redirected from a file: read and checked whole.
    Lines(Vec<ScriptLine>),
    /// Stdin from a pipe (`tail -f cmds | rtrsh ...`, a program feeding lines): each line runs
    /// as it arrives, checked first ([`stream_stdin`]).
    Stream,
    /// An interactive prompt.
    Prompt,
}

/// Whether stdin is a pipe or socket (read as it comes) rather than a file (read whole).
fn stdin_is_stream() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata())
            .is_ok_and(|m| !m.is_file())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Where the lines come from: each `-c` (one command each, a line break in it is refused),
/// `--script FILE`, or stdin when it is not a terminal. Lines known in advance (all but a
/// piped stdin) are checked here, before any credential lookup or API call ([`check`]): if
/// any is invalid, each is reported as `source:line:column: why` and nothing runs (exit 2).
pub fn source(args: &ShellArgs, stdin_tty: bool) -> Result<Input, CliError> {
    if args.commands.is_empty() && args.script.is_none() && !stdin_tty && stdin_is_stream() {
        return Ok(Input::Stream);
    }
    source_whole(args, stdin_tty).map(|l| l.map_or(Input::Prompt, Input::Lines))
}

/// The lines of `-c`, `--script` or stdin (read to its end), checked; `None` for a prompt.
pub fn source_whole(
    args: &ShellArgs,
    stdin_tty: bool,
) -> Result<Option<Vec<ScriptLine>>, CliError> {
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
    check(raw, args.json).map(Some)
}

/// Checks every line without a host ([`line::check`]: its characters, the local commands, and
/// RTR commands against the catalog on any platform), the same for one host and many. What
/// depends on a host's platform is checked when the line runs.
fn check(raw: Vec<Raw>, json: bool) -> Result<Vec<ScriptLine>, CliError> {
    let total = raw.len();
    let mut lines = Vec::with_capacity(total);
    let mut bad = 0;
    for r in raw {
        match check_one(r, json) {
            Ok(line) => lines.push(line),
            Err(why) => {
                eprintln!("{}", style::problem(&why));
                bad += 1;
            }
        }
    }
    if bad > 0 {
        return Err(CliError::usage(format!(
            "{bad} of {} invalid; nothing was run",
            crate::output::layout::plural(total, "line")
        ))
        .with_hint("fix the lines above and run the script again"));
    }
    Ok(lines)
}

/// One line's checks; `Err` is the message (`source:line:column: why`).
fn check_one(r: Raw, json: bool) -> Result<ScriptLine, String> {
    match r.text {
        // Bytes that are not text: the column counts from the start of the line.
        Err(e) => Err(format!("{}:{}: {e}", r.place, e.column)),
        Ok(text) => {
            let problem = line::check(&text).and_then(|l| match l {
                line::Line::Remote { to: Some(_), .. } if json => Err((
                    1,
                    "a local pipe or redirection takes text output; with --json, pipe rtrsh's own output (rtrsh ... --json | jq)".to_string(),
                )),
                _ => Ok(()),
            });
            let line = ScriptLine {
                place: r.place,
                indent: r.indent,
                text,
            };
            match problem {
                Ok(()) => Ok(line),
                Err((column, why)) => Err(format!("{}: {why}", line.at(column))),
            }
        }
    }
}

/// Reads stdin on a thread of its own and hands over each command line as it arrives, checked
/// as a script's lines are (blank lines and comments dropped); `Err` for a refused line (its
/// message). The channel ends with stdin.
pub fn stream_stdin(
    json: bool,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<ScriptLine, String>> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let source: Arc<str> = Arc::from("stdin");
    let spawned = std::thread::Builder::new()
        .name("rtrsh-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = Vec::new();
            let mut n = 0;
            loop {
                buf.clear();
                match stdin.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(format!("cannot read commands from stdin: {e}")));
                        break;
                    }
                }
                n += 1;
                let mut raw = Vec::new();
                read_lines(&source, &buf, n, &mut raw);
                for r in raw {
                    if tx.send(check_one(r, json)).is_err() {
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = tx.send(Err(format!("cannot read commands from stdin: {e}")));
        return rx;
    }
    rx
}

/// The command lines of what was typed at a prompt (a paste may hold several): indentation
/// trimmed, blank lines and comments dropped, and each line's characters checked (the same
/// check as scripts). A refused line is `Err` with its message (`column N: why`).
pub fn typed_lines(text: &str) -> Vec<Result<&str, String>> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter_map(|l| {
            let (at, cmd) = input::command_text(l)?;
            Some(input::check_chars(cmd).map(|()| cmd).map_err(|e| {
                format!(
                    "column {}: {}",
                    l[..at].chars().count() + e.column,
                    one_line(&e.to_string())
                )
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

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
            raw(&["pwd", "  ls C:\\\rrm C:\\x", "lss", "help nope", "hosts x"]),
            false,
        )
        .expect_err("refused");
        assert!(
            check(raw(&["pwd | cat"]), true).is_err(),
            "--json: a pipe is refused before anything runs"
        );
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("4 of 5 lines invalid"), "{}", e.message);
        assert!(check(raw(&["hosts", "only A pwd", "queue wait 5s"]), false).is_ok());
        assert!(
            check(raw(&["only A ps | x"]), false).is_ok(),
            "a local pipe"
        );
        assert!(check(raw(&["only A ps ; x"]), false).is_err());
        assert!(check(raw(&["only A lss"]), false).is_err());
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
        // Operators are the parser's (a local pipe is fine): only characters are checked here.
        assert_eq!(got[2], Ok("ps | findstr x"));
        assert_eq!(got.len(), 3);
    }
}
