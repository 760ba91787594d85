//! RTR command lines, without I/O: the lexer for RTR's argument syntax and the catalog of every
//! RTR command (its tier rules, platforms, flags and help text).
//!
//! Both the shell (to route a typed line to the right API tier and answer `help` locally) and the
//! emulator (to reject a command sent to the wrong tier and to publish the `scripts` help
//! catalogue on session init) use this crate, and so does nothing else: it sits at the bottom of
//! the graph, with [`digest`], the digests every crate shares.

pub mod catalog;
pub mod digest;
pub mod input;
pub mod lexer;
pub mod script_timeout;

use serde::{Deserialize, Serialize};

/// A command line that failed before reaching the API.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("{0}")]
    Input(#[from] input::InputError),
    #[error("{0}")]
    Lex(#[from] lexer::LexError),
    #[error("{0}")]
    Catalog(#[from] catalog::CatalogError),
}

impl LineError {
    /// The 1-based column (in characters) of `line` the error is about: the offending
    /// character, the opening quote, or the word the catalog rejects (else the command).
    pub fn column(&self, line: &str) -> usize {
        match self {
            LineError::Input(e) => e.column,
            LineError::Lex(
                lexer::LexError::UnbalancedQuote(at) | lexer::LexError::UnterminatedFence(at),
            ) => input::column(line, *at),
            LineError::Catalog(e) => {
                let tokens = lexer::tokenize(line).unwrap_or_default();
                let word = match e {
                    catalog::CatalogError::UnknownSubcommand { given, .. } => Some(given.as_str()),
                    catalog::CatalogError::UnknownFlag { flag, .. } => Some(flag.as_str()),
                    catalog::CatalogError::MissingFlagValue { flag, .. }
                    | catalog::CatalogError::UnexpectedFlagValue { flag, .. }
                    | catalog::CatalogError::BadFlagValue { flag, .. } => Some(*flag),
                    _ => None,
                };
                let at = word
                    .and_then(|w| {
                        tokens
                            .iter()
                            .skip(1)
                            .find(|t| t.text == w || lexer::split_flag(&t.text).0 == w)
                    })
                    .or(tokens.first())
                    .map_or(0, |t| t.start);
                input::column(line, at)
            }
        }
    }
}

/// Checks a line locally and returns its words and the tier that runs it: the characters
/// ([`input::check_line`]), the words ([`lexer`]) and the command ([`catalog::validate`]; with
/// `platform`, also that it exists there). No I/O. `Ok` means the line may be sent.
pub fn classify(line: &str, platform: Option<Platform>) -> Result<(Vec<String>, Tier), LineError> {
    input::check_line(line)?;
    let words = lexer::words(line)?;
    let tier = catalog::validate(&words, platform)?;
    Ok((words, tier))
}

/// The three RTR permission tiers. Each has its own execute/status endpoints and API scope.
/// Ordered: a higher tier's endpoints accept every command of the lower tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    ReadOnly,
    ActiveResponder,
    Admin,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::ReadOnly, Tier::ActiveResponder, Tier::Admin];

    /// Path segment of the single-host execute/status endpoints.
    pub fn single_path(self) -> &'static str {
        match self {
            Tier::ReadOnly => "/real-time-response/entities/command/v1",
            Tier::ActiveResponder => "/real-time-response/entities/active-responder-command/v1",
            Tier::Admin => "/real-time-response/entities/admin-command/v1",
        }
    }

    /// Path of the batch command endpoint of this tier.
    pub fn batch_path(self) -> &'static str {
        match self {
            Tier::ReadOnly => "/real-time-response/combined/batch-command/v1",
            Tier::ActiveResponder => {
                "/real-time-response/combined/batch-active-responder-command/v1"
            }
            Tier::Admin => "/real-time-response/combined/batch-admin-command/v1",
        }
    }

    /// The OAuth2 scope an API client needs for this tier's command endpoints.
    pub fn scope(self) -> &'static str {
        match self {
            Tier::ReadOnly => "real-time-response:read",
            Tier::ActiveResponder => "real-time-response:write",
            Tier::Admin => "real-time-response-admin:write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::ReadOnly => "read-only",
            Tier::ActiveResponder => "active-responder",
            Tier::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The sensor platforms RTR knows. `platform_name` in the devices API is `Windows`, `Mac` or `Linux`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Windows,
    Linux,
    Mac,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Windows, Platform::Linux, Platform::Mac];

    /// The value of `platform_name` in the devices API.
    pub fn api_name(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::Linux => "Linux",
            Platform::Mac => "Mac",
        }
    }

    /// Parses `platform_name` (case-insensitive; `macOS` and `darwin` are accepted too).
    pub fn from_api_name(s: &str) -> Option<Platform> {
        match s.to_ascii_lowercase().as_str() {
            "windows" => Some(Platform::Windows),
            "linux" => Some(Platform::Linux),
            "mac" | "macos" | "darwin" => Some(Platform::Mac),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of command lines, the hostile ones included.
    const PIECES: &[&str] = &[
        "ls",
        "ps",
        "pwd",
        "rm",
        "cat",
        "reg",
        "query",
        "set",
        "runscript",
        "C:\\x",
        "/tmp",
        "-Force",
        "-Raw=",
        "-CloudFile=",
        "x",
        "é",
        " ",
        " ",
        "  ",
        "\"",
        "```",
        "|",
        "||",
        ";",
        "&",
        "&&",
        ">",
        "<",
        "\n",
        "\r",
        "\t",
        "\u{1b}",
        "\u{7f}",
        "\u{9b}",
        "\u{0}",
        "\u{202e}",
        "\u{200b}",
        "#",
    ];

    fn line() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..12).prop_map(|p| p.concat())
    }

    fn platforms() -> [Option<Platform>; 4] {
        [
            None,
            Some(Platform::Windows),
            Some(Platform::Linux),
            Some(Platform::Mac),
        ]
    }

    /// What may never be sent, judged without the lexer: a control character anywhere; a pipe, `;`, `&&`, `<` or `>` in a line without any quote or fence.
    fn unsendable(line: &str) -> bool {
        let unquoted = !line.contains('"') && !line.contains("```");
        line.chars().any(char::is_control)
            || (unquoted
                && (line.contains(['|', ';', '<', '>'])
                    || line.contains("&&")
                    || line.split(' ').any(|w| w == "&")))
    }

    proptest! {
        #[test]
        fn classify_never_panics_and_never_passes_what_may_not_be_sent(line in line()) {
            for p in platforms() {
                match classify(&line, p) {
                    Ok(_) => prop_assert!(!unsendable(&line), "sendable: {line:?}"),
                    Err(e) => {
                        let col = e.column(&line);
                        prop_assert!(col >= 1 && col <= line.chars().count() + 1, "{col} in {line:?}");
                        prop_assert!(!e.to_string().contains('\n'));
                    }
                }
            }
        }

        #[test]
        fn classify_never_panics_on_any_text(line in any::<String>()) {
            for p in platforms() {
                if classify(&line, p).is_ok() {
                    prop_assert!(!unsendable(&line), "sendable: {line:?}");
                }
            }
        }

        #[test]
        fn operators_inside_quotes_stay_literal(
            inner in proptest::collection::vec(proptest::sample::select(&["|", ";", "&&", ">", "a", " "][..]), 1..6),
        ) {
            let inner = inner.concat();
            let quoted = format!("ls \"{inner}\"");
            prop_assert!(classify(&quoted, Some(Platform::Windows)).is_ok(), "{quoted:?}");
            let fenced = format!("runscript -Raw=```{inner}```");
            prop_assert!(classify(&fenced, Some(Platform::Windows)).is_ok(), "{fenced:?}");
            let bare = format!("ls {inner}");
            if inner.contains(['|', ';', '>']) || inner.contains("&&") {
                prop_assert!(classify(&bare, Some(Platform::Windows)).is_err(), "{bare:?}");
            }
        }
    }

    #[test]
    fn the_reviews_lines_are_refused() {
        for line in [
            "ls C:\\\rrm C:\\x",
            "pwd\nrm C:\\x",
            "ps | findstr x",
            "ls\tC:\\",
        ] {
            let e = classify(line, Some(Platform::Windows)).expect_err(line);
            assert!(matches!(e, LineError::Input(_)), "{line:?}: {e}");
        }
        assert_eq!(
            classify("ls C:\\\rrm C:\\x", None)
                .expect_err("refused")
                .column("ls C:\\\rrm C:\\x"),
            7
        );
    }

    #[test]
    fn catalog_errors_point_at_their_word() {
        let line = "rm C:\\x -Forse";
        let e = classify(line, None).expect_err("bad flag");
        assert_eq!(e.column(line), 9);
        let e = classify("lss x", None).expect_err("unknown");
        assert_eq!(e.column("lss x"), 1);
    }
}
