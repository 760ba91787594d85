//! A typed line, parsed once: the local commands (answered by rtrsh) and the RTR command lines
//! (sent to the hosts), the same on one host and on many. Parsing also checks what needs no
//! host: the line's characters, a local command's arguments, and an RTR command against the
//! catalog on any platform ([`check`]). What depends on a host's platform is checked when the
//! line runs ([`crate::shell::interp`]).

use std::time::Duration;

use crate::shell::builtins;
use crate::shell::pipe::Output;
use rtrsh_client::devices::Containment;
use rtrsh_client::session::classify;
use rtrsh_command::input;
use rtrsh_command::lexer::{self, Operator};

/// How long `queue wait` waits when no duration is given.
pub const QUEUE_WAIT_DEFAULT: Duration = Duration::from_secs(600);

/// A line's problem: its 1-based column and the one-line reason.
pub type LineProblem = (usize, String);

/// `C:\x`, `C:/x` or `\\server\share`: a Windows path (the host's, on a Unix client).
fn looks_like_windows_path(p: &str) -> bool {
    let b = p.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/'))
        || p.starts_with("\\\\")
}

/// Splits a command for the hosts from a local pipe or redirection at the first `|` or `>`
/// outside quotes and ``` fences. `offset`: characters before `text` in the typed line.
fn split_output(text: &str, offset: usize) -> Result<(String, Option<Output>), LineProblem> {
    let Ok(Some((at, op))) = lexer::find_operator(text) else {
        return Ok((text.to_string(), None));
    };
    let col = offset + input::column(text, at);
    let before = text[..at].trim_end();
    let rest = &text[at + 1..];
    if before.is_empty() {
        return Err((col, "nothing to run before the pipe or redirection".into()));
    }
    // A script or command line typed unfenced (`runscript -Raw=Get-Process | Sort-Object`):
    // the `|` or `>` is surely meant for the host's shell, not ours. Neither guess is sent.
    let lower = before.to_ascii_lowercase();
    for flag in ["-raw=", "-commandline="] {
        let unfenced = lower.match_indices(flag).any(|(i, _)| {
            let value = &before[i + flag.len()..];
            !value.starts_with("```") && !value.starts_with('"')
        });
        if unfenced {
            let shown = &before[lower.find(flag).unwrap_or(0)..][..flag.len() - 1];
            return Err((
                col,
                format!(
                    "`{}` belongs to the {shown} value: put the value in a ``` block ({shown}=```...```) to send it to the host; a local pipe or redirection goes after the block",
                    if matches!(op, Operator::Pipe) {
                        "|"
                    } else {
                        ">"
                    },
                ),
            ));
        }
    }
    let out = match op {
        Operator::Pipe => {
            if rest.starts_with('|') {
                return Err((
                    col,
                    "`||` would start a second command; put each command on its own line".into(),
                ));
            }
            let pipeline = rest.trim();
            if pipeline.is_empty() {
                return Err((
                    col,
                    "nothing after `|`: name the local command to pipe the output to, e.g. `| grep -i svchost`".into(),
                ));
            }
            Output::Pipe(pipeline.to_string())
        }
        Operator::Redirect('>') => {
            // `2>`: the host's stderr is not a stream to redirect here.
            if text[..at].ends_with(|c: char| c.is_ascii_digit())
                && before
                    .rsplit(' ')
                    .next()
                    .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
            {
                return Err((
                    col,
                    "only `> FILE` and `>> FILE` are supported: they save the command's output (stderr stays on the terminal)".into(),
                ));
            }
            let (append, rest) = match rest.strip_prefix('>') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let words = lexer::words(rest).map_err(|e| (col, e.to_string()))?;
            match words.as_slice() {
                // `> C:\out.txt` on a Unix machine names a file on the host, not here.
                [path] if !cfg!(windows) && looks_like_windows_path(path) => {
                    return Err((
                        col,
                        format!(
                            "`> {path}` would write a local file, not one on the host; RTR has no redirection (quote a literal `>`)"
                        ),
                    ));
                }
                [path] => Output::File {
                    path: path.into(),
                    append,
                },
                [] => {
                    return Err((
                        col,
                        "nothing after `>`: name the file to write the output to".into(),
                    ));
                }
                _ => return Err((col, "one file after `>` (quote a name with spaces)".into())),
            }
        }
        _ => {
            let e = input::InputError {
                column: col,
                fault: input::Fault::Operator {
                    op,
                    before: before.to_string(),
                },
            };
            return Err((col, e.to_string()));
        }
    };
    Ok((before.to_string(), Some(out)))
}

/// One command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// An RTR command for the hosts (`only`: these hosts rather than every connected one).
    Remote {
        only: Option<Vec<String>>,
        /// The command, without the `only HOSTS` prefix and any local pipe or redirection.
        text: String,
        /// Characters before `text` in the typed line (for columns in messages).
        offset: usize,
        /// Where the command's output goes instead of the terminal (`| PIPELINE`, `> FILE`).
        to: Option<Output>,
    },
    /// `help [CMD]`.
    Help(Option<String>),
    History,
    /// `files`: the files the sessions hold in the cloud (from `get`).
    Files,
    /// `download [NAME]`: save those files (the ones whose name ends with NAME).
    Download(Option<String>),
    /// `queue`: check once; `queue wait [D]`: until every queued command has a result or `D`.
    Queue {
        wait: Option<Duration>,
    },
    /// `library [put|scripts|falcon]` (the whole line, for its arguments).
    Library(String),
    /// `hosts`: the hosts and their state.
    Hosts,
    /// `drop HOST[,HOST...]`: leave these hosts out from now on.
    Drop(Vec<String>),
    /// `contain` / `lift`: network containment of every host of the shell, or those `only`
    /// names (`only HOSTS contain`).
    Contain {
        action: Containment,
        only: Option<Vec<String>>,
    },
    /// `stack [--all] FIELD [#N | CMD]`: each value of FIELD across hosts, rarest first, in the
    /// newest parsed result, result `#N`, or CMD's (run first).
    Stack {
        field: String,
        all: bool,
        of: Of,
    },
    /// `diff HOST_A HOST_B [#N]`: what one host has that the other does not.
    Diff {
        a: String,
        b: String,
        of: Option<usize>,
    },
    /// `results`: the parsed results kept.
    Results,
    /// `clear` / `cls`: clear the terminal.
    Clear,
    Exit,
}

/// Which results `stack` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Of {
    Newest,
    Kept(usize),
    /// This command, run first (its output is not printed: the stack is).
    Run {
        text: String,
        /// Characters before `text` in the typed line.
        offset: usize,
    },
}

/// `#N`.
fn result_no(word: &str) -> Option<usize> {
    word.strip_prefix('#')?.parse().ok().filter(|n| *n > 0)
}

const STACK_USAGE: &str = "usage: stack [--all] FIELD [#N | COMMAND] (e.g. `stack name ps`)";

fn stack(line: &str, rest: &str) -> Result<Line, String> {
    let mut rest = rest;
    let mut all = false;
    if let Some(r) = rest.strip_prefix("--all")
        && (r.is_empty() || r.starts_with(char::is_whitespace))
    {
        all = true;
        rest = r.trim_start();
    }
    let (field, after) = match rest.split_once(char::is_whitespace) {
        Some((f, a)) => (f, a.trim()),
        None => (rest, ""),
    };
    if field.is_empty() || field.starts_with('-') || field.starts_with('#') {
        return Err(STACK_USAGE.into());
    }
    let of = if after.is_empty() {
        Of::Newest
    } else if let Some(n) = result_no(after) {
        Of::Kept(n)
    } else if after.starts_with('#') {
        return Err(format!("`{after}` is not a result number (see `results`)"));
    } else {
        let words = rtrsh_command::lexer::words(after).unwrap_or_default();
        if crate::parse::Kind::of(&words).is_none() {
            return Err(format!(
                "`{after}` is not parsed: stack reads ps, netstat, reg query, ls, filehash, env, eventlog view and runscript"
            ));
        }
        let offset = line[..line.len() - after.len()].chars().count();
        Of::Run {
            text: after.to_string(),
            offset,
        }
    };
    Ok(Line::Stack {
        field: field.to_string(),
        all,
        of,
    })
}

fn diff(rest: &str) -> Result<Line, String> {
    const USAGE: &str = "usage: diff HOST_A HOST_B [#N] (on the newest parsed result, or #N)";
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (a, b, of) = match words.as_slice() {
        [a, b] => (a, b, None),
        [a, b, n] => (
            a,
            b,
            Some(
                result_no(n)
                    .ok_or_else(|| format!("`{n}` is not a result number (see `results`)"))?,
            ),
        ),
        _ => return Err(USAGE.into()),
    };
    Ok(Line::Diff {
        a: a.to_string(),
        b: b.to_string(),
        of,
    })
}

fn host_names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `NAME takes no arguments` for a local command given some (words are never silently
/// dropped: `files get X` is not a download).
fn bare(name: &str, rest: &str, line: Line) -> Result<Line, String> {
    if rest.is_empty() {
        return Ok(line);
    }
    let hint = match name {
        "files" => ": it lists the session's files; to retrieve one, type `get PATH`",
        _ => "",
    };
    Err(format!("`{name}` takes no arguments{hint}"))
}

/// Parses a line (already trimmed of indentation); `Err` (with its column) for a local command
/// used wrongly, or an operator that is not a local pipe or redirection of a command for the
/// hosts. Does not look the RTR command up: see [`check`].
pub fn parse(line: &str) -> Result<Line, LineProblem> {
    let line = line.trim();
    match parse_words(line).map_err(|e| (1, e))? {
        Line::Remote {
            only, text, offset, ..
        } => {
            let (text, to) = split_output(&text, offset)?;
            Ok(Line::Remote {
                only,
                text,
                offset,
                to,
            })
        }
        local => {
            // A local command takes no operators: the usual message says what instead.
            input::check_line(line).map_err(|e| (e.column, e.to_string()))?;
            Ok(local)
        }
    }
}

fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or_default()
}

/// `contain` or `lift` (the only words that reach here).
fn containment(word: &str, only: Option<Vec<String>>) -> Line {
    let action = if word == "lift" {
        Containment::Lift
    } else {
        Containment::Contain
    };
    Line::Contain { action, only }
}

fn parse_words(line: &str) -> Result<Line, String> {
    let (first, rest) = match line.split_once(char::is_whitespace) {
        Some((f, r)) => (f, r.trim()),
        None => (line, ""),
    };
    match first {
        "help" | "?" => Ok(Line::Help(
            rest.split_whitespace().next().map(str::to_string),
        )),
        "history" => bare(first, rest, Line::History),
        "files" => bare(first, rest, Line::Files),
        "hosts" => bare(first, rest, Line::Hosts),
        "results" => bare(first, rest, Line::Results),
        "stack" => stack(line, rest),
        "diff" => diff(rest),
        "contain" | "lift" => bare(first, rest, containment(first, None)),
        "clear" | "cls" => bare(first, rest, Line::Clear),
        "exit" | "quit" => Ok(Line::Exit),
        "download" => Ok(Line::Download(
            (!rest.is_empty()).then(|| rest.trim_matches('"').to_string()),
        )),
        "library" => Ok(Line::Library(line.to_string())),
        "drop" => {
            let names = host_names(&rest.split_whitespace().collect::<Vec<_>>().join(","));
            if names.is_empty() {
                Err("usage: drop HOST[,HOST...]".into())
            } else {
                Ok(Line::Drop(names))
            }
        }
        "queue" => {
            let mut words = rest.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (None, _, _) => Ok(Line::Queue { wait: None }),
                (Some("wait"), None, _) => Ok(Line::Queue {
                    wait: Some(QUEUE_WAIT_DEFAULT),
                }),
                (Some("wait"), Some(d), None) => humantime::parse_duration(d)
                    .map(|d| Line::Queue { wait: Some(d) })
                    .map_err(|e| format!("queue wait {d}: {e}")),
                _ => Err("usage: queue [wait [DURATION]]".into()),
            }
        }
        "only" => match rest.split_once(char::is_whitespace) {
            Some((list, cmd)) if matches!(first_word(cmd), "contain" | "lift") => {
                let word = first_word(cmd);
                let after = cmd.trim()[word.len()..].trim();
                bare(word, after, containment(word, Some(host_names(list))))
            }
            Some((list, cmd)) if !cmd.trim().is_empty() => {
                let text = cmd.trim().to_string();
                let offset = line[..line.len() - text.len()].chars().count();
                Ok(Line::Remote {
                    only: Some(host_names(list)),
                    text,
                    offset,
                    to: None,
                })
            }
            _ => Err("usage: only HOST[,HOST...] COMMAND".into()),
        },
        _ => Ok(Line::Remote {
            only: None,
            text: line.to_string(),
            offset: 0,
            to: None,
        }),
    }
}

/// Parses and checks a line without a host: its characters, a local command's arguments, and
/// an RTR command (the one after `only HOSTS` too) against the catalog on any platform. The
/// one check of every source: `-c`, `--script`, stdin and the prompt, one host or many.
pub fn check(text: &str) -> Result<Line, LineProblem> {
    input::check_chars(text).map_err(|e| (e.column, e.to_string()))?;
    let line = parse(text)?;
    match &line {
        Line::Help(Some(topic)) => builtins::help(Some(topic), None)
            .map(drop)
            .map_err(|e| (text.find(topic).map_or(1, |at| input::column(text, at)), e))?,
        Line::Library(l) => crate::shell::library::parse_args(l)
            .map(drop)
            .map_err(|e| (1, e))?,
        Line::Remote {
            text: cmd, offset, ..
        }
        | Line::Stack {
            of: Of::Run { text: cmd, offset },
            ..
        } => classify(cmd, None)
            .map(drop)
            .map_err(|e| (offset + e.column(cmd), e.to_string()))?,
        _ => {}
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(text: &str) -> Line {
        Line::Remote {
            only: None,
            text: text.into(),
            offset: 0,
            to: None,
        }
    }

    #[test]
    fn local_commands() {
        assert_eq!(parse("help"), Ok(Line::Help(None)));
        assert_eq!(parse("help reg"), Ok(Line::Help(Some("reg".into()))));
        assert_eq!(parse("  exit "), Ok(Line::Exit));
        assert_eq!(parse("cls"), Ok(Line::Clear));
        assert_eq!(parse(" clear "), Ok(Line::Clear));
        assert!(parse("files get X").is_err_and(|e| e.1.contains("get PATH")));
        assert_eq!(parse("hosts"), Ok(Line::Hosts));
        assert_eq!(
            parse("drop A, B"),
            Ok(Line::Drop(vec!["A".into(), "B".into()]))
        );
        assert_eq!(parse("queue"), Ok(Line::Queue { wait: None }));
        assert_eq!(
            parse("queue wait 5s"),
            Ok(Line::Queue {
                wait: Some(Duration::from_secs(5))
            })
        );
        assert!(parse("queue later").is_err());
        assert_eq!(
            parse("only A,B  cd C:\\Windows"),
            Ok(Line::Remote {
                only: Some(vec!["A".into(), "B".into()]),
                text: "cd C:\\Windows".into(),
                offset: 10,
                to: None,
            })
        );
        assert!(parse("only A").is_err());
        assert_eq!(
            parse("contain"),
            Ok(Line::Contain {
                action: Containment::Contain,
                only: None
            })
        );
        assert_eq!(
            parse(" lift "),
            Ok(Line::Contain {
                action: Containment::Lift,
                only: None
            })
        );
        assert_eq!(
            parse("only A,b1  contain"),
            Ok(Line::Contain {
                action: Containment::Contain,
                only: Some(vec!["A".into(), "b1".into()])
            })
        );
        assert_eq!(
            parse("only A lift"),
            Ok(Line::Contain {
                action: Containment::Lift,
                only: Some(vec!["A".into()])
            })
        );
        // Words are never dropped, and there is nothing to pipe.
        assert!(parse("contain A").is_err_and(|e| e.1.contains("takes no arguments")));
        assert!(parse("only A lift now").is_err());
        assert!(parse("contain | tee x").is_err());
        assert!(check("only A contain").is_ok());
        // A command that merely starts with the word is an RTR command.
        assert_eq!(parse("containment"), Ok(remote("containment")));
        assert_eq!(parse("ls"), Ok(remote("ls")));
        assert_eq!(parse("drop"), Err((1, "usage: drop HOST[,HOST...]".into())));
    }

    #[test]
    fn checks_name_the_column() {
        assert!(check("pwd").is_ok());
        assert_eq!(check("lss").map_err(|e| e.0), Err(1));
        // The command after `only HOSTS` is checked, its column counted in the typed line.
        let (col, why) = check("only A lss").expect_err("unknown command");
        assert_eq!(col, 8, "{why}");
        assert!(check("help nope").is_err());
        assert!(check("library nope").is_err());
        assert!(check("only A lss | x").is_err());
    }

    fn to(line: &str) -> (String, Option<Output>) {
        match parse(line) {
            Ok(Line::Remote { text, to, .. }) => (text, to),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn pipes_and_redirections_are_local() {
        assert_eq!(
            to("ps | findstr /i svchost"),
            ("ps".into(), Some(Output::Pipe("findstr /i svchost".into())))
        );
        // The local side is the user's shell's: its own operators are its business.
        assert_eq!(
            to("ps | grep -i svc | wc -l; echo done"),
            (
                "ps".into(),
                Some(Output::Pipe("grep -i svc | wc -l; echo done".into()))
            )
        );
        assert_eq!(
            to("netstat > net.txt"),
            (
                "netstat".into(),
                Some(Output::File {
                    path: "net.txt".into(),
                    append: false
                })
            )
        );
        assert_eq!(
            to(r#"ls C:\ >> "my files.txt""#),
            (
                r"ls C:\".into(),
                Some(Output::File {
                    path: "my files.txt".into(),
                    append: true
                })
            )
        );
        // Quoted or fenced, it belongs to the RTR command.
        assert_eq!(to(r#"reg set HKLM\x v -Value="a|b""#).1, None);
        assert_eq!(to("runscript -Raw=```ps | select -first 1```").1, None);
        assert_eq!(
            to("only A,B ps | sort"),
            ("ps".into(), Some(Output::Pipe("sort".into())))
        );
        // Refused, with the column of the operator.
        assert_eq!(parse("ps |").map_err(|e| e.0), Err(4));
        assert!(parse("ps || pwd").is_err());
        assert!(parse("ps > a b").is_err());
        assert!(parse("ps >").is_err());
        assert!(parse("ps 2> err.txt").is_err());
        assert!(parse("ps < x").is_err());
        assert!(parse("pwd; rm x").is_err());
        assert!(parse("| grep x").is_err());
        // Meant for the host: refused, never guessed.
        assert!(parse("runscript -Raw=Get-Process | Sort-Object CPU").is_err());
        assert!(parse(r"cat C:\x.txt > C:\out.txt").is_err());
        assert_eq!(
            to("runscript -Raw=```Get-Process | Sort-Object CPU``` | grep x").1,
            Some(Output::Pipe("grep x".into()))
        );
        // Local commands take none.
        assert!(parse("history | grep x").is_err());
        assert!(check("ps | findstr x").is_ok());
        assert!(
            check("lss | findstr x").is_err(),
            "the command is still checked"
        );
    }
}
