//! Local built-ins (`help`, `help CMD`, `history`, `exit`) and small interactive helpers. No
//! API calls here.

use std::io::{BufRead, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};

use crate::command::{Platform, catalog};
use crate::falcon::devices::Device;
use crate::output::sanitize::sanitize_line;
use crate::shell::{CliError, one_line};

/// A local command, answered without the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Builtin {
    Help(Option<String>),
    History,
    /// The session's retrieved files (`get` results).
    Files,
    /// The cloud's put-files, scripts and Falcon scripts (the whole line, for its arguments).
    Library(String),
    Exit,
}

/// Recognises a built-in by its first word.
pub fn parse(line: &str) -> Option<Builtin> {
    let mut words = line.split_whitespace();
    match words.next()? {
        "help" | "?" => Some(Builtin::Help(words.next().map(str::to_string))),
        "history" => Some(Builtin::History),
        "files" => Some(Builtin::Files),
        "library" => Some(Builtin::Library(line.trim().to_string())),
        "exit" | "quit" => Some(Builtin::Exit),
        _ => None,
    }
}

/// `help` (every command for the platform, one line each) or `help CMD`.
pub fn help(topic: Option<&str>, platform: Option<Platform>) -> Result<String, String> {
    match topic {
        Some(name) => match catalog::lookup(name) {
            Some(spec) => Ok(spec.help_text(platform)),
            None => Err(match catalog::validate(&[name.to_string()], platform) {
                Err(e) => e.to_string(),
                Ok(_) => format!("no help for {name:?}"),
            }),
        },
        None => {
            let mut out = String::from("RTR commands (help CMD for details):\n");
            let specs: Vec<_> = match platform {
                Some(p) => catalog::commands_for(p).collect(),
                None => catalog::commands().iter().collect(),
            };
            let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(8);
            for spec in specs {
                out.push_str(&format!(
                    "  {:width$}  [{}] {}\n",
                    spec.name, spec.tier, spec.description
                ));
            }
            out.push_str("Local: help [CMD], history, files, library [put|scripts|falcon], exit\n");
            Ok(out)
        }
    }
}

/// Prints `help` text: on stdout, or on stderr with `--json` (stdout then holds JSON lines only).
pub fn print_help(text: &str, json: bool) {
    if json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// Prints `history` (made inert for the terminal): on stdout, or stderr with `--json`.
pub fn print_history(history: &[String], json: bool) {
    let text: String = history
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{:5}  {}\n", i + 1, sanitize_line(h)))
        .collect();
    print_help(&text, json);
}

/// A table of hosts (hostname, aid, platform, last seen, status).
pub fn device_table(devices: &[Device]) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(vec![
        "#",
        "hostname",
        "aid",
        "platform",
        "last seen",
        "status",
    ]);
    for (i, d) in devices.iter().enumerate() {
        t.add_row(vec![
            (i + 1).to_string(),
            one_line(&d.hostname),
            one_line(&d.device_id),
            one_line(&d.platform_name),
            one_line(&d.last_seen),
            one_line(&d.status),
        ]);
    }
    t.to_string()
}

/// Asks on the terminal for a number between 1 and `n`; `None` when the user gives up.
pub fn ask_choice(n: usize) -> Result<Option<usize>, CliError> {
    let stdin = std::io::stdin();
    for _ in 0..3 {
        eprint!("Connect to which one? [1-{n}, Enter to cancel] ");
        let _ = std::io::stderr().flush();
        let mut s = String::new();
        if stdin
            .lock()
            .read_line(&mut s)
            .map_err(|e| CliError::usage(format!("cannot read the answer: {e}")))?
            == 0
        {
            return Ok(None);
        }
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<usize>() {
            Ok(i) if (1..=n).contains(&i) => return Ok(Some(i - 1)),
            _ => eprintln!("Please type a number between 1 and {n}."),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_recognised() {
        assert_eq!(parse("help"), Some(Builtin::Help(None)));
        assert_eq!(parse("help reg"), Some(Builtin::Help(Some("reg".into()))));
        assert_eq!(parse("  exit "), Some(Builtin::Exit));
        assert_eq!(parse("ls"), None);
    }

    #[test]
    fn help_texts() {
        let all = help(None, Some(Platform::Windows)).expect("help");
        assert!(all.contains("reg"));
        assert!(help(Some("ls"), None).expect("help ls").contains("ls"));
        assert!(help(Some("lss"), None).is_err());
    }
}
