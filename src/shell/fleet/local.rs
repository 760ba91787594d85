//! The tables of the local commands (`hosts`, `queue`, `--dry-run`) with their `--json` forms
//! (one object per row, named as in the command records: `host`, `aid`, ...), and finding the
//! hosts `only` and `drop` name. The commands themselves are parsed in [`crate::shell::line`].

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};

use crate::output::layout;
use crate::output::sanitize::sanitize_line;
use rtrsh_client::Aid;
use rtrsh_client::devices::Device;
use rtrsh_client::session::fleet::{Fleet, FleetDevice, HostIdx, HostState};
use rtrsh_client::{FalconClient, FalconError};

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
    /// The device's containment `status` (`normal`, `containment_pending`, `contained`,
    /// `lift_containment_pending`); empty when unknown.
    pub containment: String,
    pub ip: String,
    pub os: String,
    pub last_seen: String,
    /// One word (`connected`, `offline`, `failed`, ...).
    pub state: String,
    /// The state as the table shows it (`offline (queueing)`).
    pub label: String,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
    pub cwd: String,
    pub session_id: String,
}

impl HostRow<'_> {
    /// Takes the containment state, IP, OS and last seen from device details.
    pub fn set_device(&mut self, d: &Device) {
        self.containment = d.status.clone();
        self.ip = d.local_ip.clone();
        self.os = if d.os_version.is_empty() {
            d.platform_name.clone()
        } else {
            d.os_version.clone()
        };
        self.last_seen = d.last_seen.clone();
    }

    /// The details a fleet keeps of its host (no address, no OS version).
    pub fn set_shown(&mut self, d: &FleetDevice) {
        self.containment = d.status.to_string();
        self.ip = String::new();
        self.os = d.platform_name.to_string();
        self.last_seen = d.last_seen.to_string();
    }
}

/// Asks the API for the rows' current device details (containment changes under a running
/// shell), 5,000 hosts a request; rows keep what they had for hosts it does not return.
pub async fn refresh(client: &FalconClient, rows: &mut [HostRow<'_>]) -> Result<(), FalconError> {
    let ids: Vec<Aid> = rows
        .iter()
        .filter(|r| !r.aid.is_empty())
        .map(|r| Aid::new(r.aid))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let devices = client.get_devices(&ids).await?;
    let by_aid: std::collections::HashMap<String, &Device> = devices
        .iter()
        .map(|d| (d.device_id.to_ascii_lowercase(), d))
        .collect();
    for r in rows.iter_mut() {
        if let Some(d) = by_aid.get(&r.aid.to_ascii_lowercase()) {
            r.set_device(d);
        }
    }
    Ok(())
}

/// A fleet's rows of `hosts` (device details as resolved).
pub fn host_rows(fleet: &Fleet) -> Vec<HostRow<'_>> {
    fleet
        .hosts
        .iter()
        .map(|h| {
            let mut row = fleet_row(h);
            row.set_shown(&h.device);
            row
        })
        .collect()
}

fn fleet_row(h: &rtrsh_client::session::fleet::FleetHost) -> HostRow<'_> {
    HostRow {
        hostname: &h.device.hostname,
        aid: &h.device.device_id,
        platform: h.device.platform_name.to_string(),
        containment: String::new(),
        ip: String::new(),
        os: String::new(),
        last_seen: String::new(),
        state: state_name(&h.state).to_string(),
        label: h.state.label().to_string(),
        error: match &h.state {
            HostState::Failed(why) => Some(why.clone()),
            _ => None,
        },
        cwd: h.cwd.clone(),
        session_id: h.session_id.to_string(),
    }
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
                    "containment": r.containment,
                    "local_ip": r.ip,
                    "os_version": r.os,
                    "last_seen": r.last_seen,
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
    let t = hosts_table(rows, layout::terminal_width(layout::Stream::Stdout));
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{t}").and_then(|_| out.flush())
}

/// The text of `hosts` for a terminal `width` wide (`None`: not a terminal). It keeps what
/// fits 80 columns: the aid and the OS version are in `--json`, the table has the platform and
/// how long ago the host was last seen.
pub fn hosts_table(rows: &[HostRow<'_>], width: Option<u16>) -> String {
    hosts_table_at(rows, width, std::time::SystemTime::now())
}

fn hosts_table_at(rows: &[HostRow<'_>], width: Option<u16>, now: std::time::SystemTime) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_header(vec![
        "hostname", "state", "network", "ip", "os", "seen", "cwd",
    ]);
    // Seven columns in 80: two spaces between columns rather than three.
    let last = t.column_count().saturating_sub(1);
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((1, u16::from(i == last)));
    }
    layout::fit(&mut t, width);
    for r in rows {
        let state = match &r.error {
            Some(why) => format!("{}: {why}", r.label),
            None => r.label.clone(),
        };
        t.add_row(vec![
            sanitize_line(r.hostname),
            sanitize_line(&state),
            sanitize_line(containment_label(&r.containment)),
            sanitize_line(&r.ip),
            sanitize_line(&r.platform),
            sanitize_line(&ago(&r.last_seen, now)),
            sanitize_line(&r.cwd),
        ]);
    }
    t.to_string()
}

/// A containment status, short: `normal`, `contained`, `containing` (pending), `lifting`.
fn containment_label(status: &str) -> &str {
    match status {
        "containment_pending" => "containing",
        "lift_containment_pending" => "lifting",
        other => other,
    }
}

/// How long before `now` an RFC 3339 time was: `now`, `40s`, `5m`, `3h`, `12d` (other text as
/// it is).
fn ago(t: &str, now: std::time::SystemTime) -> String {
    let Ok(then) = humantime::parse_rfc3339_weak(t.trim_end_matches('Z')) else {
        return t.to_string();
    };
    let secs = now.duration_since(then).map_or(0, |d| d.as_secs());
    match secs {
        0..=4 => "now".into(),
        5..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(hostname: &'a str, aid: &'a str, containment: &str, cwd: &str) -> HostRow<'a> {
        HostRow {
            hostname,
            aid,
            platform: "Windows".into(),
            containment: containment.into(),
            ip: "10.20.130.241".into(),
            // `hosts` shows the platform; `--json` has this.
            os: "Windows Server 2022".into(),
            last_seen: "2026-11-22T10:15:03Z".into(),
            state: "connected".into(),
            label: "connected".into(),
            error: None,
            cwd: cwd.into(),
            session_id: String::new(),
        }
    }

    #[test]
    fn hosts_fits_80_columns_and_shows_containment() {
        let aid = "4c2e8a1b9d0f4e6a8b7c6d5e4f3a2b1c";
        let rows = [
            row("DESKTOP-01", aid, "lift_containment_pending", "C:\\Windows"),
            row("SRV-LNX-01", aid, "contained", "/var/log"),
            row("MBP-01", aid, "normal", "/"),
        ];
        let now = humantime::parse_rfc3339("2026-11-22T13:15:03Z").expect("time");
        let t = hosts_table_at(&rows, Some(80), now);
        for line in t.lines() {
            assert!(
                line.chars().count() <= 80,
                "{}: {line}\n{t}",
                line.chars().count()
            );
        }
        // A typical row stays on one line.
        let one = t.lines().find(|l| l.contains("DESKTOP-01")).expect("row");
        for want in ["lifting", "10.20.130.241", "Windows", "3h", "C:\\Windows"] {
            assert!(one.contains(want), "{want}:\n{t}");
        }
        assert!(t.contains("contained"), "{t}");
        assert_eq!(ago("yesterday", now), "yesterday");
        assert_eq!(ago("2026-11-22T13:14:00Z", now), "1m");
        assert_eq!(ago("2026-11-20T13:15:03Z", now), "2d");
        assert_eq!(containment_label("containment_pending"), "containing");
    }
}
