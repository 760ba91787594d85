//! The lexer for RTR command lines.
//!
//! RTR syntax is not a POSIX shell: a backslash is always a literal character (Windows paths),
//! double quotes only group words (`"C:\Program Files"`), and triple-backtick fences carry
//! free text verbatim (`-Raw=```Get-Process | Select -First 5```` ). shlex and friends mangle
//! all three, so this small lexer is the one place that knows the rules.
//!
//! The line sent to the API is always the text the user typed; these tokens are only for local
//! needs (the base command, a `cd` target, a `get` path, a raw script block).

use std::fmt;

/// One word of a command line after quote and fence removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The word with grouping quotes and ``` fences removed.
    pub text: String,
    /// Byte offset of the word's first character in the line.
    pub start: usize,
    /// Byte offset just past the word's last character in the line.
    pub end: usize,
    /// True when any part of the word was inside double quotes or a ``` fence.
    pub quoted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexError {
    /// A `"` opened at this byte offset was never closed.
    UnbalancedQuote(usize),
    /// A ``` fence opened at this byte offset was never closed.
    UnterminatedFence(usize),
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::UnbalancedQuote(at) => {
                write!(
                    f,
                    "unbalanced quote at column {}: close it with another \"",
                    at + 1
                )
            }
            LexError::UnterminatedFence(at) => {
                write!(
                    f,
                    "unterminated ``` block at column {}: end it with ```",
                    at + 1
                )
            }
        }
    }
}

impl std::error::Error for LexError {}

const FENCE: &str = "```";

/// Splits a command line into words.
pub fn tokenize(line: &str) -> Result<Vec<Token>, LexError> {
    scan(line, &mut |_, _| {})
}

/// A character that a shell would read as syntax, outside quotes and fences. RTR has no such
/// syntax: the host would get it as part of an argument, while the user meant a pipe, a second
/// command or a redirection. Inside quotes or a fence it is a literal character and allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `|` (and `||`).
    Pipe,
    /// `;`, `&&`, or a lone `&` word: a second command.
    Sequence(&'static str),
    /// `<` or `>` (and `>>`, `2>`...).
    Redirect(char),
}

/// The first shell operator outside quotes and fences, with its byte offset; `Ok(None)` when
/// there is none. Errors as [`tokenize`].
pub fn find_operator(line: &str) -> Result<Option<(usize, Operator)>, LexError> {
    let mut found: Option<(usize, Operator)> = None;
    let mut last_amp: Option<usize> = None;
    let tokens = scan(line, &mut |at, c| {
        if found.is_some() {
            return;
        }
        found = match c {
            '|' => Some((at, Operator::Pipe)),
            ';' => Some((at, Operator::Sequence(";"))),
            '<' | '>' => Some((at, Operator::Redirect(c))),
            '&' if last_amp.is_some_and(|a| a + 1 == at) => {
                Some((at - 1, Operator::Sequence("&&")))
            }
            _ => None,
        };
        last_amp = (c == '&').then_some(at);
    })?;
    let lone_amp = tokens
        .iter()
        .find(|t| !t.quoted && t.text == "&")
        .map(|t| (t.start, Operator::Sequence("&")));
    Ok(match (found, lone_amp) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    })
}

/// [`tokenize`], calling `bare(offset, char)` for each character outside quotes and fences.
fn scan(line: &str, bare: &mut dyn FnMut(usize, char)) -> Result<Vec<Token>, LexError> {
    let mut tokens = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut text = String::new();
        let mut quoted = false;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            if line[i..].starts_with(FENCE) {
                let body = i + FENCE.len();
                let close = line[body..]
                    .find(FENCE)
                    .ok_or(LexError::UnterminatedFence(i))?;
                text.push_str(&line[body..body + close]);
                i = body + close + FENCE.len();
                quoted = true;
            } else if bytes[i] == b'"' {
                let close = line[i + 1..]
                    .find('"')
                    .ok_or(LexError::UnbalancedQuote(i))?;
                text.push_str(&line[i + 1..i + 1 + close]);
                i = i + 1 + close + 1;
                quoted = true;
            } else {
                let ch = line[i..].chars().next().unwrap_or(' ');
                bare(i, ch);
                text.push(ch);
                i += ch.len_utf8();
            }
        }
        tokens.push(Token {
            text,
            start,
            end: i,
            quoted,
        });
    }
    Ok(tokens)
}

/// Convenience: the words only.
pub fn words(line: &str) -> Result<Vec<String>, LexError> {
    Ok(tokenize(line)?.into_iter().map(|t| t.text).collect())
}

/// Splits a `-Name=value` flag into its name and value (`-Raw=```x```` → ("-Raw", Some("x"))).
/// Flags without `=` give `(word, None)`. The name keeps its leading dash.
pub fn split_flag(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((name, value)) if name.starts_with('-') => (name, Some(value)),
        _ => (word, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Vec<String> {
        words(line).expect("lexes")
    }

    #[test]
    fn backslashes_are_literal() {
        assert_eq!(
            w(r"cd C:\Windows\System32"),
            vec!["cd", r"C:\Windows\System32"]
        );
        assert_eq!(
            w(r#"ls "C:\Program Files\""#),
            vec!["ls", r"C:\Program Files\"]
        );
    }

    #[test]
    fn quotes_group_words_and_join_adjacent_text() {
        assert_eq!(
            w(r#"cat "C:\My Docs\a b.txt""#),
            vec!["cat", r"C:\My Docs\a b.txt"]
        );
        assert_eq!(
            w(r#"runscript -CloudFile="Get Things" -Timeout=30"#),
            vec!["runscript", "-CloudFile=Get Things", "-Timeout=30"]
        );
    }

    #[test]
    fn fences_keep_text_verbatim() {
        let t = tokenize("runscript -Raw=```Get-Process | Select \"a b\"  -First 5``` -Timeout=9")
            .expect("lexes");
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].text, "-Raw=Get-Process | Select \"a b\"  -First 5");
        assert!(t[1].quoted);
        assert_eq!(t[2].text, "-Timeout=9");
    }

    #[test]
    fn errors_point_at_the_opening() {
        assert_eq!(words(r#"cat "C:\x"#), Err(LexError::UnbalancedQuote(4)));
        assert_eq!(
            words("runscript -Raw=```x"),
            Err(LexError::UnterminatedFence(15))
        );
    }

    #[test]
    fn offsets_and_unicode() {
        let t = tokenize("  ls  /tmp/ünï  ").expect("lexes");
        assert_eq!(t[1].text, "/tmp/ünï");
        assert_eq!(&"  ls  /tmp/ünï  "[t[1].start..t[1].end], "/tmp/ünï");
        assert!(words("   ").expect("lexes").is_empty());
    }

    #[test]
    fn operators_outside_quotes_only() {
        let op = |l: &str| find_operator(l).expect("lexes");
        assert_eq!(op("ps | findstr x"), Some((3, Operator::Pipe)));
        assert_eq!(op("ps|findstr"), Some((2, Operator::Pipe)));
        assert_eq!(op("pwd; rm x"), Some((3, Operator::Sequence(";"))));
        assert_eq!(op("pwd && rm x"), Some((4, Operator::Sequence("&&"))));
        assert_eq!(op("pwd & rm x"), Some((4, Operator::Sequence("&"))));
        assert_eq!(op("ps > out.txt"), Some((3, Operator::Redirect('>'))));
        assert_eq!(op(r"cat C:\AT&T.txt"), None);
        assert_eq!(op(r#"reg set HKLM\x v -Value="a|b;c>d && e""#), None);
        assert_eq!(
            op("runscript -Raw=```Get-Process | Select -First 5; ls > x```"),
            None
        );
        assert_eq!(op("ls \"a b\"|x"), Some((8, Operator::Pipe)));
        assert!(find_operator("cat \"x|").is_err());
    }

    #[test]
    fn split_flag_cases() {
        assert_eq!(split_flag("-CloudFile=x=y"), ("-CloudFile", Some("x=y")));
        assert_eq!(split_flag("-Force"), ("-Force", None));
        assert_eq!(split_flag("a=b"), ("a=b", None));
    }
}
