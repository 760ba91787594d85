//! The fleet's local commands, answered without running anything on hosts: `hosts`,
//! `drop HOST[,HOST...]`, `queue [wait [DURATION]]`, the `only HOST[,HOST...] <command>`
//! prefix, and the single-host `help`, `history`, `library`, `clear`, `exit`. Parsing, and the tables with their
//! `--json` forms (one object per row, named as in the command records: `host`, `aid`, ...).

use std::time::Duration;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};

use crate::output::layout;
use crate::output::sanitize::sanitize_line;
use crate::session::fleet::{Fleet, HostIdx, HostState};
use crate::shell::builtins::{self, Builtin};

/// How long `queue wait` waits when no duration is given.
pub const QUEUE_WAIT_DEFAULT: Duration = Duration::from_secs(600);

/// A local command of the fleet shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Local {
    Hosts,
    Drop(Vec<String>),
    /// `queue`: check once; `queue wait [D]`: until every queued command has a result or `D`.
    Queue {
        wait: Option<Duration>,
    },
    /// Run `line` on these hosts only.
    Only {
        hosts: Vec<String>,
        line: String,
    },
    Help(Option<String>),
    History,
    /// `clear` / `cls`.
    Clear,
    /// `library [...]` (the whole line).
    Library(String),
    /// `files`: every host's files in the cloud.
    Files,
    /// `download [NAME]`: fetch the files `files` lists (those whose name ends with NAME).
    Download(Option<String>),
    Exit,
}

fn host_names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Recognises a local command; `Err` for one used wrongly.
pub fn parse(line: &str) -> Result<Option<Local>, String> {
    let line = line.trim();
    let (first, rest) = match line.split_once(char::is_whitespace) {
        Some((f, r)) => (f, r.trim()),
        None => (line, ""),
    };
    match first {
        "hosts" if rest.is_empty() => Ok(Some(Local::Hosts)),
        "hosts" => Err("usage: hosts".into()),
        "drop" => {
            let names = host_names(&rest.split_whitespace().collect::<Vec<_>>().join(","));
            if names.is_empty() {
                Err("usage: drop HOST[,HOST...]".into())
            } else {
                Ok(Some(Local::Drop(names)))
            }
        }
        "queue" => {
            let mut words = rest.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (None, _, _) => Ok(Some(Local::Queue { wait: None })),
                (Some("wait"), None, _) => Ok(Some(Local::Queue {
                    wait: Some(QUEUE_WAIT_DEFAULT),
                })),
                (Some("wait"), Some(d), None) => humantime::parse_duration(d)
                    .map(|d| Some(Local::Queue { wait: Some(d) }))
                    .map_err(|e| format!("queue wait {d}: {e}")),
                _ => Err("usage: queue [wait [DURATION]]".into()),
            }
        }
        "only" => match rest.split_once(char::is_whitespace) {
            Some((list, cmd)) if !cmd.trim().is_empty() => Ok(Some(Local::Only {
                hosts: host_names(list),
                line: cmd.trim().to_string(),
            })),
            _ => Err("usage: only HOST[,HOST...] COMMAND".into()),
        },
        _ => match builtins::parse(line) {
            None => Ok(None),
            Some(Builtin::Misused(e)) => Err(e),
            Some(Builtin::Help(t)) => Ok(Some(Local::Help(t))),
            Some(Builtin::History) => Ok(Some(Local::History)),
            Some(Builtin::Exit) => Ok(Some(Local::Exit)),
            Some(Builtin::Clear) => Ok(Some(Local::Clear)),
            Some(Builtin::Files) => Ok(Some(Local::Files)),
            Some(Builtin::Download(name)) => Ok(Some(Local::Download(name))),
            // The fleet's own `queue [wait [D]]` is parsed above.
            Some(Builtin::Queue) => Ok(Some(Local::Queue { wait: None })),
            Some(Builtin::Library(line)) => Ok(Some(Local::Library(line))),
        },
    }
}

/// The hosts named (hostname, case-insensitive, every host of that name; or aid).
pub fn find_hosts(fleet: &Fleet, names: &[String]) -> Result<Vec<HostIdx>, String> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        let before = out.len();
        if let Some(i) = fleet.host_by_aid(n) {
            out.push(i);
        } else {
            out.extend(
                fleet
                    .hosts
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| h.device.hostname.eq_ignore_ascii_case(n))
                    .map(|(i, _)| i as HostIdx),
            );
        }
        if out.len() == before {
            unknown.push(sanitize_line(n));
        }
    }
    if !unknown.is_empty() {
        return Err(format!("not in this fleet: {}", unknown.join(", ")));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|i| seen.insert(*i));
    Ok(out)
}

fn table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_header(header);
    layout::fit(&mut t, layout::terminal_width(layout::Stream::Stdout));
    t
}

/// What `--dry-run` shows: hostname, aid, platform, last seen, status.
pub fn resolved_table(fleet: &Fleet) -> String {
    let mut t = table(vec!["hostname", "aid", "platform", "last seen", "status"]);
    for h in &fleet.hosts {
        let d = &h.device;
        let mut status = match h.online {
            Some(true) => "online".to_string(),
            Some(false) => "offline".to_string(),
            None => "unknown".to_string(),
        };
        if !d.status.is_empty() && !d.status.eq_ignore_ascii_case("normal") {
            status.push_str(", ");
            status.push_str(&d.status);
        }
        t.add_row(vec![
            sanitize_line(&d.hostname),
            sanitize_line(&d.device_id),
            sanitize_line(&d.platform_name),
            sanitize_line(&d.last_seen),
            sanitize_line(&status),
        ]);
    }
    t.to_string()
}

/// What `hosts` shows: every host, its state and working directory.
pub fn hosts_table(fleet: &Fleet) -> String {
    let mut t = table(vec!["#", "hostname", "aid", "platform", "state", "cwd"]);
    for (i, h) in fleet.hosts.iter().enumerate() {
        let state = match &h.state {
            HostState::Failed(why) => format!("failed: {why}"),
            s => s.label().to_string(),
        };
        t.add_row(vec![
            (i + 1).to_string(),
            sanitize_line(&h.device.hostname),
            sanitize_line(&h.device.device_id),
            sanitize_line(&h.device.platform_name),
            sanitize_line(&state),
            sanitize_line(&h.cwd),
        ]);
    }
    t.to_string()
}

/// A host's state for `--json`: one word.
fn state_name(state: &HostState) -> &'static str {
    match state {
        HostState::Pending => "pending",
        HostState::Connected => "connected",
        HostState::Queued => "queueing",
        HostState::Offline => "offline",
        HostState::Failed(_) => "failed",
        HostState::Dropped => "dropped",
    }
}

/// `hosts` with `--json`: one object per host.
pub fn hosts_json(fleet: &Fleet) -> Vec<Value> {
    fleet
        .hosts
        .iter()
        .map(|h| {
            let mut v = json!({
                "host": h.device.hostname,
                "aid": h.device.device_id,
                "platform": h.device.platform_name,
                "state": state_name(&h.state),
                "cwd": h.cwd,
            });
            if !h.session_id.is_empty() {
                v["session_id"] = json!(h.session_id);
            }
            if let HostState::Failed(why) = &h.state {
                v["error"] = json!(why);
            }
            v
        })
        .collect()
}

/// `--dry-run` with `--json`: one object per resolved host.
pub fn resolved_json(fleet: &Fleet) -> Vec<Value> {
    fleet
        .hosts
        .iter()
        .map(|h| {
            json!({
                "host": h.device.hostname,
                "aid": h.device.device_id,
                "platform": h.device.platform_name,
                "last_seen": h.device.last_seen,
                "online": h.online,
                "status": h.device.status,
            })
        })
        .collect()
}

/// `queue` with `--json`: one object per queued command.
pub fn queue_json(fleet: &Fleet) -> Vec<Value> {
    fleet
        .queue
        .iter()
        .map(|q| {
            let h = &fleet.hosts[q.host as usize];
            json!({
                "host": h.device.hostname,
                "aid": h.device.device_id,
                "command": q.line,
                "tier": q.tier,
                "cloud_request_id": q.cloud_request_id,
                "queued_at": humantime::format_rfc3339_millis(q.queued_at).to_string(),
                "result": if q.done { "arrived" } else { "waiting" },
            })
        })
        .collect()
}

/// Writes JSON lines to stdout (terminal-safe); `Err` when stdout is gone.
pub fn print_json(values: &[Value]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for v in values {
        out.write_all(&crate::output::json::to_line(v)?)?;
    }
    out.flush()
}

/// What `queue` shows: each queued command and whether its result arrived.
pub fn queue_table(fleet: &Fleet) -> String {
    let mut t = table(vec!["hostname", "command", "queued at", "result"]);
    for q in &fleet.queue {
        let h = &fleet.hosts[q.host as usize];
        t.add_row(vec![
            sanitize_line(&h.device.hostname),
            sanitize_line(&q.line),
            humantime::format_rfc3339_seconds(q.queued_at).to_string(),
            match (&q.note, q.done) {
                (_, true) => "arrived".to_string(),
                (Some(n), false) => format!("waiting ({})", sanitize_line(n)),
                (None, false) => "waiting".to_string(),
            },
        ]);
    }
    t.to_string()
}

/// The fleet part of `help`.
pub const HELP: &str = "\
Fleet: a line runs on every connected host.
  hosts                         the fleet and each host's state
  only HOST[,HOST...] COMMAND   run COMMAND on these hosts only
  drop HOST[,HOST...]           leave these hosts out from now on
  queue [wait [DURATION]]       commands queued for offline hosts, and results that arrived
  files                         every host's files in the cloud (from `get`)
  download [NAME]               save the files `files` lists (those ending in NAME) as `get` does
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_commands() {
        assert_eq!(parse("hosts"), Ok(Some(Local::Hosts)));
        assert_eq!(
            parse("drop A, B"),
            Ok(Some(Local::Drop(vec!["A".into(), "B".into()])))
        );
        assert_eq!(parse("queue"), Ok(Some(Local::Queue { wait: None })));
        assert_eq!(
            parse("queue wait 5s"),
            Ok(Some(Local::Queue {
                wait: Some(Duration::from_secs(5))
            }))
        );
        assert!(parse("queue later").is_err());
        assert_eq!(
            parse("only A,B  cd C:\\Windows"),
            Ok(Some(Local::Only {
                hosts: vec!["A".into(), "B".into()],
                line: "cd C:\\Windows".into()
            }))
        );
        assert!(parse("only A").is_err());
        assert_eq!(parse("exit"), Ok(Some(Local::Exit)));
        assert_eq!(parse("ls"), Ok(None));
        assert_eq!(parse("drop"), Err("usage: drop HOST[,HOST...]".into()));
    }
}
