//! `library [put|scripts|falcon]`: the names the cloud's libraries hold, i.e. what `put NAME`,
//! `runscript -CloudFile=NAME` and `falconscript -Name=NAME` accept. A local built-in (it asks
//! the API, never a host), for one host and for fleets alike.
//!
//! Names are the cloud's text: shown sanitised, one per line. A library the API client may not
//! read (403: the put-files and scripts need *Real Time Response (Admin)*) is reported on its own
//! line and the others are still listed.

use serde_json::json;

use rtrsh_client::session::poll::OutputSink;

use crate::output::sanitize_line;
use rtrsh_client::{FalconClient, FalconError};

/// One cloud library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Library {
    PutFiles,
    Scripts,
    FalconScripts,
}

impl Library {
    pub const ALL: [Library; 3] = [Library::PutFiles, Library::Scripts, Library::FalconScripts];

    /// The `--json` and argument name.
    pub fn name(self) -> &'static str {
        match self {
            Library::PutFiles => "put-files",
            Library::Scripts => "scripts",
            Library::FalconScripts => "falcon-scripts",
        }
    }

    /// Where the names are used.
    pub fn used_by(self) -> &'static str {
        match self {
            Library::PutFiles => "put NAME",
            Library::Scripts => "runscript -CloudFile=NAME",
            Library::FalconScripts => "falconscript -Name=NAME",
        }
    }

    fn parse(s: &str) -> Option<Library> {
        Some(match s.to_ascii_lowercase().as_str() {
            "put" | "put-files" | "putfiles" | "files" => Library::PutFiles,
            "scripts" | "script" | "runscript" => Library::Scripts,
            "falcon" | "falcon-scripts" | "falconscript" | "falconscripts" => {
                Library::FalconScripts
            }
            _ => return None,
        })
    }

    async fn names(self, client: &FalconClient) -> Result<Vec<String>, FalconError> {
        match self {
            Library::PutFiles => client.put_file_names().await,
            Library::Scripts => client.script_names().await,
            Library::FalconScripts => client.falcon_script_names().await,
        }
    }
}

pub const USAGE: &str = "usage: library [put|scripts|falcon]";

/// The libraries a `library ...` line asks for (none named: all three).
pub fn parse_args(line: &str) -> Result<Vec<Library>, String> {
    let mut words = line.split_whitespace().skip(1);
    match (words.next(), words.next()) {
        (None, _) => Ok(Library::ALL.to_vec()),
        (Some(w), None) => Library::parse(w)
            .map(|l| vec![l])
            .ok_or_else(|| format!("unknown library {:?}; {USAGE}", sanitize_line(w))),
        _ => Err(USAGE.to_string()),
    }
}

/// What `library` prints: the text (or JSON lines) for stdout, and one line per library that
/// could not be read.
#[derive(Debug, Default)]
pub struct Listing {
    pub stdout: String,
    pub errors: Vec<String>,
}

/// Lists the libraries.
pub async fn list(client: &FalconClient, which: &[Library], json_lines: bool) -> Listing {
    let mut out = Listing::default();
    for &lib in which {
        match lib.names(client).await {
            Ok(names) => {
                if json_lines {
                    for n in &names {
                        // Terminal-safe: bidi and invisible characters are escaped too.
                        let line = crate::output::json::to_line(
                            &json!({"library": lib.name(), "name": n}),
                        )
                        .unwrap_or_default();
                        out.stdout.push_str(&String::from_utf8_lossy(&line));
                    }
                } else {
                    out.stdout.push_str(&format!(
                        "{} ({}): {}\n",
                        lib.name(),
                        lib.used_by(),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.len().to_string()
                        }
                    ));
                    for n in &names {
                        out.stdout.push_str(&format!("  {}\n", sanitize_line(n)));
                    }
                }
            }
            Err(e) => out.errors.push(format!(
                "{}: {}",
                lib.name(),
                crate::output::sanitize::one_line(&e.to_string())
            )),
        }
    }
    out
}

/// `library ...` on one host's shell: prints through the shell's (sanitising) terminal sink,
/// each unreadable library on stderr. Err: a bad line (usage; not printed here), or a library
/// could not be read (already printed).
pub async fn run(
    client: &FalconClient,
    line: &str,
    outs: &mut crate::shell::outputs::Outputs,
) -> Result<(), crate::error::CliError> {
    use crate::error::{CliError, Exit};
    let which = parse_args(line).map_err(CliError::usage)?;
    let listing = list(client, &which, outs.json).await;
    if outs.json {
        // Already inert JSON lines: the terminal sanitiser would rewrite their escapes.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if let Err(e) = out
            .write_all(listing.stdout.as_bytes())
            .and_then(|_| out.flush())
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            outs.term.broken_pipe = true;
        }
    } else {
        outs.term.stdout(&listing.stdout);
        outs.term.finish();
    }
    for e in &listing.errors {
        eprintln!(
            "rtrsh: {}",
            crate::output::sanitize::one_line(&e.to_string())
        );
    }
    match listing.errors.first() {
        None => Ok(()),
        Some(e) => Err(CliError::new(Exit::CommandFailed, e.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_pick_libraries_and_junk_is_a_usage_line() {
        assert_eq!(parse_args("library").expect("all"), Library::ALL.to_vec());
        assert_eq!(
            parse_args("library put").expect("put"),
            vec![Library::PutFiles]
        );
        assert_eq!(
            parse_args("library Falcon").expect("falcon"),
            vec![Library::FalconScripts]
        );
        assert!(
            parse_args("library nope")
                .expect_err("unknown")
                .contains("put|scripts|falcon")
        );
        assert!(parse_args("library put scripts").is_err());
    }
}
