//! The tables of the local commands (`hosts`, `queue`, `--dry-run`) with their `--json` forms
//! (one object per row, named as in the command records: `host`, `aid`, ...), and finding the
//! hosts `only` and `drop` name. The commands themselves are parsed in [`crate::shell::line`].

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};

use crate::output::layout;
use crate::output::sanitize::sanitize_line;
use crate::session::fleet::{Fleet, HostIdx, HostState};

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

/// One row of `hosts`.
pub struct HostRow<'a> {
    pub hostname: &'a str,
    pub aid: &'a str,
    pub platform: String,
    /// One word (`connected`, `offline`, `failed`, ...).
    pub state: String,
    /// The state as the table shows it (`offline (queueing)`).
    pub label: String,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
    pub cwd: String,
    pub session_id: String,
}

/// A fleet's rows of `hosts`.
pub fn host_rows(fleet: &Fleet) -> Vec<HostRow<'_>> {
    fleet
        .hosts
        .iter()
        .map(|h| HostRow {
            hostname: &h.device.hostname,
            aid: &h.device.device_id,
            platform: h.device.platform_name.clone(),
            state: state_name(&h.state).to_string(),
            label: h.state.label().to_string(),
            error: match &h.state {
                HostState::Failed(why) => Some(why.clone()),
                _ => None,
            },
            cwd: h.cwd.clone(),
            session_id: h.session_id.clone(),
        })
        .collect()
}

/// `hosts`, one host or many: every host, its state and working directory; with `--json` one
/// object per host. Returns `Err` when stdout is gone.
pub fn print_hosts(rows: &[HostRow<'_>], json: bool) -> std::io::Result<()> {
    if json {
        let values: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut v = json!({
                    "host": r.hostname,
                    "aid": r.aid,
                    "platform": r.platform,
                    "state": r.state,
                    "cwd": r.cwd,
                });
                if !r.session_id.is_empty() {
                    v["session_id"] = json!(r.session_id);
                }
                if let Some(why) = &r.error {
                    v["error"] = json!(why);
                }
                v
            })
            .collect();
        return print_json(&values);
    }
    let mut t = table(vec!["#", "hostname", "aid", "platform", "state", "cwd"]);
    for (i, r) in rows.iter().enumerate() {
        let state = match &r.error {
            Some(why) => format!("{}: {why}", r.label),
            None => r.label.clone(),
        };
        t.add_row(vec![
            (i + 1).to_string(),
            sanitize_line(r.hostname),
            sanitize_line(r.aid),
            sanitize_line(&r.platform),
            sanitize_line(&state),
            sanitize_line(&r.cwd),
        ]);
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{t}").and_then(|_| out.flush())
}

/// A host's state: one word.
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
