//! Local built-ins: their help text, `help`/`help CMD`, `history` and `clear`/`cls`, and small
//! interactive helpers. Nothing in this module calls the API. "Local" means that rtrsh answers
//! a built-in itself instead of sending it to the host as an RTR command; several still call the
//! Falcon API from the shell's interpreter: `hosts` (device details), `files` and `download`,
//! `library`, `queue`, `contain` and `lift`, and `drop` and `exit` (which close sessions).
//! `help`, `history`, `clear`, `stack`, `diff` and `results` make no API call.
//!
//! `clear` is RTR's name too, but on the host it clears nothing the analyst sees: rtrsh answers
//! it locally, and a built-in given words it does not take is an error rather than words
//! silently dropped (`files get X` is not a download).

use std::io::{BufRead, Write};

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use crate::error::CliError;
use crate::output::layout;
use crate::output::sanitize::one_line;
use crate::output::sanitize::sanitize_line;
use rtrsh_client::devices::Device;
use rtrsh_command::{Platform, catalog};

/// The local built-ins and their help, for `help NAME` (shared by one host and fleets).
const LOCAL_HELP: &[(&[&str], &str)] = &[
    (
        &["files"],
        "files - list the files the session(s) retrieved with `get` and the cloud still holds (local)\n\
         usage: files\n\
         To retrieve a file: get PATH (it is downloaded and extracted into the evidence folder).\n",
    ),
    (
        &["hosts"],
        "hosts - the hosts of this shell: state, containment, IP, OS, last seen, directory (local)\nusage: hosts\n",
    ),
    (
        &["only"],
        "only - run one command on some of the hosts (local prefix)\n\
         usage: only HOST[,HOST...] COMMAND\nHOST is a host name (any case) or an aid.\n",
    ),
    (
        &["contain"],
        "contain - network-contain the hosts of this shell: they talk to the Falcon cloud only (local)\n\
         usage: contain | only HOST[,HOST...] contain\n\
         Asks first at the prompt; a script needs --yes. The API client needs the Hosts: Write\n\
         scope. Each host shows `containment_pending`, then `contained` (see `hosts`); an offline\n\
         host is contained when it is back. RTR keeps working on a contained host.\n",
    ),
    (
        &["lift"],
        "lift - lift network containment on the hosts of this shell (local)\n\
         usage: lift | only HOST[,HOST...] lift\n\
         Asks first at the prompt; a script needs --yes. The API client needs the Hosts: Write\n\
         scope. Each host shows `lift_containment_pending`, then `normal` (see `hosts`).\n",
    ),
    (
        &["stack"],
        "stack - each value of a field across the hosts, the rarest first (local)\n\
         usage: stack [--all] FIELD [#N | COMMAND]\n\
         Reads the newest parsed result, result #N (see `results`), or COMMAND's, run first (its\n\
         output is saved and audited, not printed). Parsed: ps, netstat, reg query, ls, filehash,\n\
         env, eventlog view, runscript output in CSV or JSON. E.g. `stack name ps`,\n\
         `stack listen_port netstat`, `stack value reg query HKLM\\...\\Run`. A misspelt FIELD\n\
         lists the fields there are. At a terminal the 30 rarest show; --all shows every value.\n",
    ),
    (
        &["diff"],
        "diff - what one host has that the other does not, in a parsed result (local)\n\
         usage: diff HOST_A HOST_B [#N]\n\
         Compares what stays the same on a healthy machine (a process's name and path, a\n\
         listening port, a registry value), not pids or start times.\n",
    ),
    (
        &["results"],
        "results - the parsed results kept for `stack` and `diff`: number, command, hosts (local)\n\
         usage: results\n\
         The last 32 are kept (fewer when they are very large): records, not copies of the output.\n",
    ),
    (
        &["drop"],
        "drop - leave hosts out of the commands that follow; their sessions are closed (local)\n\
         usage: drop HOST[,HOST...]\n",
    ),
    (
        &["queue"],
        "queue - commands queued for an offline host, their state and the output of those that ran (local)\n\
         usage: queue [wait [DURATION]]\n\
         With `wait`, asks until every queued command has a result (10m unless DURATION is given).\n\
         `rtrsh queue` shows them after the shell has ended.\n",
    ),
    (
        &["download"],
        "download - save the files `files` lists, as `get` does (local)\nusage: download [NAME]\n\
         With NAME, only the files whose name ends with it. For files a `get` put in the cloud\n\
         but did not save (cancelled, another run, many hosts).\n",
    ),
    (
        &["library"],
        "library - list the tenant's put-files, custom scripts and Falcon scripts (local)\n\
         usage: library [put|scripts|falcon]\n\
         The names are what `put NAME`, `runscript -CloudFile=NAME` and `falconscript -Name=NAME` take.\n",
    ),
    (
        &["history"],
        "history - show the lines typed in this shell (local)\nusage: history\n",
    ),
    (
        &["clear", "cls"],
        "clear - clear the terminal (local; nothing is sent to the host)\nusage: clear | cls\n",
    ),
    (
        &["exit", "quit"],
        "exit - close the session(s) and leave\nusage: exit | quit\n",
    ),
    (
        &["help", "?"],
        "help - list the commands, or describe one\nusage: help [COMMAND]\n",
    ),
];

/// Clears the terminal: only when stdout is one and not `--json` (a pipe never gets escapes).
pub fn clear_screen(json: bool) {
    use std::io::IsTerminal;
    let mut out = std::io::stdout();
    if !json && out.is_terminal() {
        // Cursor home, erase the screen, erase the scrollback.
        let _ = out.write_all(b"\x1b[H\x1b[2J\x1b[3J");
        let _ = out.flush();
    }
}

/// `help` (every command for the platform, one line each) or `help CMD`.
pub fn help(topic: Option<&str>, platform: Option<Platform>) -> Result<String, String> {
    if let Some(text) = topic.and_then(|t| {
        LOCAL_HELP
            .iter()
            .find(|(names, _)| names.contains(&t))
            .map(|(_, text)| *text)
    }) {
        return Ok(text.to_string());
    }
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
            out.push_str(
                "Local (one host or many):\n\
                 \x20 hosts                         the hosts and each one's state\n\
                 \x20 only HOST[,HOST...] COMMAND   run COMMAND on these hosts only\n\
                 \x20 drop HOST[,HOST...]           leave these hosts out from now on\n\
                 \x20 contain, lift                 network containment (only HOSTS contain: some)\n\
                 \x20 stack [--all] FIELD [#N|CMD]  each value across hosts, the rarest first\n\
                 \x20 diff HOST_A HOST_B [#N]       what one host has and the other not\n\
                 \x20 results                       the parsed results stack and diff read\n\
                 \x20 queue [wait [DURATION]]       commands queued for offline hosts, and their results\n\
                 \x20 files                         the files `get` put in the cloud\n\
                 \x20 download [NAME]               save them (those ending in NAME) as `get` does\n\
                 \x20 library [put|scripts|falcon]  the tenant's put-files and scripts\n\
                 \x20 help [CMD], history, clear (cls), exit\n",
            );
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
    t.load_style(UTF8_BORDERS_ONLY);
    // Printed on stderr (the chooser asks there).
    layout::fit(&mut t, layout::terminal_width(layout::Stream::Stderr));
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
    fn help_texts() {
        let all = help(None, Some(Platform::Windows)).expect("help");
        assert!(all.contains("reg"));
        assert!(help(Some("ls"), None).expect("help ls").contains("ls"));
        assert!(help(Some("lss"), None).is_err());
        for local in [
            "files", "library", "clear", "cls", "history", "exit", "hosts", "only", "drop",
            "queue", "download",
        ] {
            assert!(help(Some(local), None).is_ok(), "{local}");
        }
    }
}
