//! Colour in rtrsh's own terminal output, decided once per stream and applied in one place.
//!
//! Colour carries meaning: host stdout stays plain, host stderr is red, rtrsh's own notices are
//! dimmed, its errors bold red, per-host headers bold, and the prompt's host and directory
//! coloured. Whether a stream gets colour is decided once: `--color always|never` wins, then
//! `NO_COLOR` (set and not empty: none), then whether the stream is a terminal (and `TERM` is not
//! `dumb`). Colour never enters `--json`, pipes, files or the audit transcript: those never go
//! through these helpers, or the helpers return the plain text for them.
//!
//! Host output is hostile: colour is only ever put *around* text that has already been made
//! inert (the sanitiser, [`sanitize_line`]); host bytes never choose a colour.
//!
//! The helpers return whole lines (or pieces) for one stream: [`error`], [`problem`], [`warning`],
//! [`notice`] and [`hint`] for stderr, [`header`] for stdout (and [`stderr_header`]),
//! [`HOST_STDERR`] around host stderr, and [`prompt`] for the line editor's highlighter.

use std::io::IsTerminal;
use std::sync::OnceLock;

use super::sanitize::sanitize_line;

/// `--color`: when rtrsh colours its terminal output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always, even into pipes and files (and despite `NO_COLOR`).
    Always,
    /// Never.
    Never,
}

/// One of rtrsh's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A pair of escape sequences: `on` before the text, `off` after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint {
    pub on: &'static str,
    pub off: &'static str,
}

/// rtrsh's errors (`rtrsh: error: ...`).
pub const ERROR: Paint = Paint::new("\x1b[1;31m", "\x1b[0m");
/// Warnings (`rtrsh: warning: ...`).
pub const WARNING: Paint = Paint::new("\x1b[1;33m", "\x1b[0m");
/// rtrsh's own notices and hints.
pub const NOTICE: Paint = Paint::new("\x1b[2m", "\x1b[22m");
/// Per-host section headers (`=== HOST ===`).
pub const HEADER: Paint = Paint::new("\x1b[1m", "\x1b[22m");
/// Around (sanitised) host stderr. Only the foreground is set and reset, so the sanitiser's own
/// dimming (intensity) nests inside it.
pub const HOST_STDERR: Paint = Paint::new("\x1b[31m", "\x1b[39m");
/// The prompt's host part (`DESKTOP-01`, `[3 hosts]`).
pub const PROMPT_HOST: Paint = Paint::new("\x1b[1;32m", "\x1b[0m");
/// The prompt's directory.
pub const PROMPT_DIR: Paint = Paint::new("\x1b[1;34m", "\x1b[0m");

impl Paint {
    const fn new(on: &'static str, off: &'static str) -> Paint {
        Paint { on, off }
    }

    /// `text` between the two sequences when `on`, else `text` as is.
    pub fn paint(self, text: &str, on: bool) -> String {
        if on && !text.is_empty() {
            format!("{}{text}{}", self.on, self.off)
        } else {
            text.to_string()
        }
    }
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();
static STDOUT: OnceLock<bool> = OnceLock::new();
static STDERR: OnceLock<bool> = OnceLock::new();

/// Sets `--color` for the process (call once, before anything is printed; later calls are
/// ignored). Without it, [`ColorChoice::Auto`].
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The `--color` given (or `auto`).
pub fn choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// Whether `stream` gets colour (decided on first use, then fixed).
pub fn enabled(stream: Stream) -> bool {
    let cell = match stream {
        Stream::Stdout => &STDOUT,
        Stream::Stderr => &STDERR,
    };
    *cell.get_or_init(|| {
        let is_tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        decide_from_env(is_tty)
    })
}

/// The decision for an output whose terminal-ness is `is_tty` (e.g. the line editor's), under
/// the process's `--color` and environment.
pub fn decide_from_env(is_tty: bool) -> bool {
    decide(
        choice(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        std::env::var_os("TERM").is_some_and(|t| t == "dumb"),
        is_tty,
    )
}

/// The rule: the flag, then `NO_COLOR`, then a terminal that is not dumb.
pub fn decide(choice: ColorChoice, no_color: bool, dumb: bool, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && !dumb && is_tty,
    }
}

/// Text made fit for one line of a message: newlines and tabs become spaces, everything a
/// terminal would act on is made inert, runs of blanks collapse.
fn inert(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    sanitize_line(&flat)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `rtrsh: error: MSG` for stderr (bold red there on a colour terminal). `msg` is made inert.
pub fn error(msg: &str) -> String {
    ERROR.paint(
        &format!("rtrsh: error: {}", inert(msg)),
        enabled(Stream::Stderr),
    )
}

/// `rtrsh: MSG` for stderr in bold red: a line refused or a command that could not run, where
/// the message needs no `error:` (`rtrsh: unknown command "lss"`). `msg` is made inert.
pub fn problem(msg: &str) -> String {
    ERROR.paint(&format!("rtrsh: {}", inert(msg)), enabled(Stream::Stderr))
}

/// `rtrsh: warning: MSG` for stderr (bold yellow). `msg` is made inert.
pub fn warning(msg: &str) -> String {
    WARNING.paint(
        &format!("rtrsh: warning: {}", inert(msg)),
        enabled(Stream::Stderr),
    )
}

/// `rtrsh: MSG` for stderr (dimmed): a notice of rtrsh's own. `msg` is made inert.
pub fn notice(msg: &str) -> String {
    NOTICE.paint(&format!("rtrsh: {}", inert(msg)), enabled(Stream::Stderr))
}

/// `hint: MSG` for stderr (dimmed). `msg` is made inert.
pub fn hint(msg: &str) -> String {
    NOTICE.paint(&format!("hint: {}", inert(msg)), enabled(Stream::Stderr))
}

/// `=== TEXT ===` for stdout (bold). `text` is made inert.
pub fn header(text: &str) -> String {
    HEADER.paint(&format!("=== {} ===", inert(text)), enabled(Stream::Stdout))
}

/// `=== TEXT ===` for stderr (bold). `text` is made inert.
pub fn stderr_header(text: &str) -> String {
    HEADER.paint(&format!("=== {} ===", inert(text)), enabled(Stream::Stderr))
}

/// The prompt with its host and directory coloured, for the line editor's highlighter (which
/// is only called when the editor shows colour). `raw` is the prompt as built (already inert):
/// `HOST DIR> `, `HOST> ` or `[N hosts] DIR> `; anything else comes back unchanged. The text
/// shown is the same, so the editor's width computation (on the raw prompt) holds.
pub fn prompt(raw: &str) -> String {
    let Some(body) = raw.strip_suffix("> ") else {
        return raw.to_string();
    };
    if raw.contains('\x1b') {
        return raw.to_string();
    }
    let host_end = if body.starts_with('[') {
        body.find(']').map(|i| i + 1)
    } else {
        Some(body.find(' ').unwrap_or(body.len()))
    };
    let Some(host_end) = host_end else {
        return raw.to_string();
    };
    let (host, rest) = body.split_at(host_end);
    let (space, dir) = match rest.strip_prefix(' ') {
        Some(d) => (" ", d),
        None => ("", rest),
    };
    format!(
        "{}{space}{}> ",
        PROMPT_HOST.paint(host, true),
        PROMPT_DIR.paint(dir, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_then_no_color_then_the_terminal() {
        use ColorChoice::*;
        assert!(decide(Always, true, true, false));
        assert!(!decide(Never, false, false, true));
        assert!(decide(Auto, false, false, true));
        assert!(!decide(Auto, true, false, true), "NO_COLOR");
        assert!(!decide(Auto, false, true, true), "TERM=dumb");
        assert!(!decide(Auto, false, false, false), "not a terminal");
    }

    #[test]
    fn paint_only_when_on() {
        assert_eq!(ERROR.paint("x", false), "x");
        assert_eq!(ERROR.paint("x", true), "\x1b[1;31mx\x1b[0m");
        assert_eq!(ERROR.paint("", true), "");
    }

    #[test]
    fn messages_are_inert() {
        let e = inert("a\nb\x1b]0;pwned\x07 \u{202e}c");
        assert!(!e.contains('\x1b') && !e.contains('\n') && !e.contains('\u{202e}'));
        assert!(e.starts_with("a b"));
    }

    #[test]
    fn prompt_parts_are_coloured_and_the_text_kept() {
        let strip = |s: &str| {
            let mut out = String::new();
            let mut esc = false;
            for c in s.chars() {
                match (esc, c) {
                    (false, '\x1b') => esc = true,
                    (true, 'm') => esc = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        };
        for raw in [
            "DESKTOP-01 C:\\Windows> ",
            "H> ",
            "[3 hosts] C:\\ (+1 other dir)> ",
            "H C:\\Program Files> ",
            "odd",
        ] {
            let p = prompt(raw);
            assert_eq!(strip(&p), raw);
        }
        assert_eq!(
            prompt("H C:\\> "),
            "\x1b[1;32mH\x1b[0m \x1b[1;34mC:\\\x1b[0m> "
        );
        assert_eq!(
            prompt("[2 hosts] /> "),
            "\x1b[1;32m[2 hosts]\x1b[0m \x1b[1;34m/\x1b[0m> "
        );
        assert_eq!(prompt("H> "), "\x1b[1;32mH\x1b[0m> ");
    }
}
