//! What may be a command line at all, before the lexer and the catalog look at it: one check
//! ([`check_line`]) that every source goes through (`-c`, `--script`, stdin, the prompt, the
//! fleet shell), plus the byte-level steps of reading a script ([`split_lines`], [`decode`],
//! [`command_text`]).
//!
//! Why: the line sent to the API is the text the user typed, byte for byte. A control character
//! in it is invisible on a terminal (`ls C:\<CR>rm C:\x` shows as `rm C:\x`, is classed as
//! read-only `ls` and reaches the host with the CR), a newline would be a second command hidden
//! in one `-c`, and text that is not UTF-8 would be sent as U+FFFD guesses. Shell operators
//! (`|`, `;`, `&&`, `>`) mean nothing to RTR: the host gets them as arguments while the user
//! meant a pipe or a second command. So all of these are refused locally, with the column, and
//! nothing is sent.
//!
//! Tab: leading and trailing tabs are indentation (trimmed like spaces, never sent). A tab
//! between words is refused rather than read as a space: the line is sent as typed, and how a
//! host splits words on a tab is not documented, so the local tier check (which would split on
//! it) could disagree with what the host runs.
//!
//! Invisible and direction-changing characters (bidi overrides, zero-width spaces) are allowed:
//! they are not control characters, and a hostile host's files are named with them
//! (`evil<RLO>txt.exe`), so the analyst must be able to `cd` to and `cat` them. The prompt and
//! every message show them inert.

use std::fmt;

use super::lexer::{self, Operator};

/// Why a line cannot be a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// A control character (C0, DEL, C1) other than indentation.
    Control(char),
    /// A tab that is not indentation.
    Tab,
    /// A shell operator outside quotes; `before` is the command before it (for the hint).
    Operator { op: Operator, before: String },
}

/// A refused line: what is wrong, and where (1-based column, in characters, of the line as
/// given to [`check_line`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub column: usize,
    pub fault: Fault,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            Fault::InvalidUtf8 => f.write_str(
                "the line is not valid UTF-8 here; save the script as UTF-8 (nothing is guessed)",
            ),
            Fault::Control('\n') => f.write_str(
                "line break inside one command line; one -c is one command: give each command its own -c",
            ),
            Fault::Control(c) => write!(
                f,
                "control character U+{:04X} in the line; remove it (commands are sent as typed, and a terminal does not show it)",
                u32::from(*c)
            ),
            Fault::Tab => f.write_str(
                "tab between words; separate words with spaces (the line is sent as typed)",
            ),
            Fault::Operator { op, before } => {
                let before = if before.is_empty() { "the command" } else { before };
                match op {
                    Operator::Pipe => write!(
                        f,
                        "a local pipe takes the output of a command for the hosts, not of `{before}` (quote a literal `|`)"
                    ),
                    Operator::Sequence(s) => write!(
                        f,
                        "`{s}` would start a second command; put each command on its own line (quote a literal `{s}`)"
                    ),
                    Operator::Redirect('>') => write!(
                        f,
                        "`>` takes the output of a command for the hosts, not of `{before}` (quote a literal `>`)"
                    ),
                    Operator::Redirect(c) => write!(
                        f,
                        "`{c}` redirection is not supported: only `> FILE` and `>> FILE` of a command's output (quote a literal `{c}`)"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for InputError {}

/// The one check of a command line's characters, for every source: no control character (tab
/// included: callers trim indentation first, see [`command_text`]), no shell operator outside
/// quotes. A line that does not lex is left to the lexer's own error.
pub fn check_line(line: &str) -> Result<(), InputError> {
    check_chars(line)?;
    if let Ok(Some((at, op))) = lexer::find_operator(line) {
        return Err(InputError {
            column: column(line, at),
            fault: Fault::Operator {
                op,
                before: line[..at].trim().to_string(),
            },
        });
    }
    Ok(())
}

/// The characters of a line: no control character (tab included). Operators are left to the
/// caller (a line for the hosts may end in a local pipe or redirection, see
/// the shell's line parser).
pub fn check_chars(line: &str) -> Result<(), InputError> {
    for (i, c) in line.char_indices() {
        let fault = if c == '\t' {
            Fault::Tab
        } else if c.is_control() {
            Fault::Control(c)
        } else {
            continue;
        };
        return Err(InputError {
            column: column(line, i),
            fault,
        });
    }
    Ok(())
}

/// Spaces and tabs around a line: indentation, never sent.
pub fn is_indent(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The 1-based column (in characters) of byte offset `at`.
pub fn column(line: &str, at: usize) -> usize {
    line.get(..at).map_or(at, |s| s.chars().count()) + 1
}

/// The lines of a script's bytes: split at `\n`, a `\r` before it dropped (CRLF files), a
/// leading UTF-8 byte-order mark dropped. Any other `\r` stays in its line (and is refused).
pub fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// A line's bytes as text; invalid UTF-8 is refused at its column, never replaced.
pub fn decode(line: &[u8]) -> Result<&str, InputError> {
    std::str::from_utf8(line).map_err(|e| {
        let valid = &line[..e.valid_up_to()];
        InputError {
            column: String::from_utf8_lossy(valid).chars().count() + 1,
            fault: Fault::InvalidUtf8,
        }
    })
}

/// The command in a line (indentation trimmed, its offset in bytes), or `None` for a blank
/// line or a `#` comment (never sent, so not checked).
pub fn command_text(line: &str) -> Option<(usize, &str)> {
    let text = line.trim_matches(is_indent);
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    Some((line.len() - line.trim_start_matches(is_indent).len(), text))
}

/// A script line's bytes that hold a comment (checked before decoding: a comment in another
/// encoding is fine, it is never sent).
pub fn is_comment_or_blank(line: &[u8]) -> bool {
    let text = line.trim_ascii_start();
    text.is_empty() || text.starts_with(b"#")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(line: &str) -> (usize, Fault) {
        let e = check_line(line).expect_err("refused");
        (e.column, e.fault)
    }

    #[test]
    fn control_characters_are_refused_at_their_column() {
        assert_eq!(fault("ls C:\\\rrm C:\\x"), (7, Fault::Control('\r')));
        assert_eq!(fault("pwd\nrm C:\\x"), (4, Fault::Control('\n')));
        assert_eq!(fault("  ls\u{1b}[2J"), (5, Fault::Control('\u{1b}')));
        assert_eq!(fault("ls é\u{7f}"), (5, Fault::Control('\u{7f}')));
        assert_eq!(fault("ls \u{9b}x"), (4, Fault::Control('\u{9b}')));
        assert_eq!(fault("cat \"a\rb\""), (7, Fault::Control('\r')));
        assert!(
            check_line("ls C:\\\rrm")
                .expect_err("refused")
                .to_string()
                .starts_with("control character U+000D in the line;")
        );
    }

    #[test]
    fn tabs_indent_but_do_not_separate() {
        let (at, text) = command_text("\tls C:\\ \t").expect("a command");
        assert_eq!((at, text), (1, "ls C:\\"));
        assert_eq!(check_line(text), Ok(()));
        assert_eq!(fault("ls\tC:\\"), (3, Fault::Tab));
    }

    #[test]
    fn hidden_characters_name_hostile_files_and_are_allowed() {
        assert_eq!(check_line("cat a\u{202e}txt.exe"), Ok(()));
        assert_eq!(check_line("ls /tmp/ünï 日本"), Ok(()));
    }

    #[test]
    fn operators_are_refused_outside_quotes_only() {
        let (col, f) = fault("ps | findstr x");
        assert_eq!(col, 4);
        assert_eq!(
            f,
            Fault::Operator {
                op: Operator::Pipe,
                before: "ps".into()
            }
        );
        assert!(
            check_line("ps | findstr x")
                .expect_err("refused")
                .to_string()
                .contains("a local pipe takes the output of a command for the hosts")
        );
        assert_eq!(fault("pwd; rm x").0, 4);
        assert_eq!(fault("pwd && rm x").0, 5);
        assert_eq!(check_line(r#"reg set HKLM\x v -Value="a|b""#), Ok(()));
        assert_eq!(
            check_line("runscript -Raw=```ps | select -first 1```"),
            Ok(())
        );
        // Not lexable: the lexer reports it (classify), not this check.
        assert_eq!(check_line("cat \"x|"), Ok(()));
    }

    #[test]
    fn script_bytes_split_into_lines() {
        assert_eq!(
            split_lines(b"\xef\xbb\xbfpwd\r\nls\n\nx\ry\n"),
            vec![&b"pwd"[..], b"ls", b"", b"x\ry"]
        );
        assert_eq!(split_lines(b"pwd"), vec![&b"pwd"[..]]);
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\n"), vec![&b""[..]]);
    }

    #[test]
    fn invalid_utf8_is_refused_at_its_column() {
        let e = decode(b"ls C:\\\xff\xfe").expect_err("refused");
        assert_eq!((e.column, e.fault), (7, Fault::InvalidUtf8));
        let e = decode(
            "é\u{e9}"
                .as_bytes()
                .iter()
                .chain(b"\xc3")
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .expect_err("refused");
        assert_eq!(e.column, 3);
        assert_eq!(decode(b"ls"), Ok("ls"));
    }

    #[test]
    fn comments_and_blank_lines() {
        assert_eq!(command_text("  # x\r"), None);
        assert_eq!(command_text(" \t "), None);
        assert_eq!(command_text("\t ls C:\\ "), Some((2, "ls C:\\")));
        assert!(is_comment_or_blank(b"  # M\xfcller"));
        assert!(!is_comment_or_blank(b"ls"));
    }
}
