//! How a fleet's results reach the user, batch by batch as they arrive:
//!
//! - On screen, each distinct output once, in a labelled section: `=== DESKTOP-01 ===` for one
//!   host, `=== same output on 397 hosts: A, B, C, ... (+389 more) ===` for a group. Output
//!   already shown for an earlier batch of the same command is not repeated: a one-line
//!   section names the hosts that share it. Failures, timeouts and queued hosts are one line
//!   each on stderr, grouped by reason; a summary line ends every command.
//! - With `--json`, one `CommandRecord` per host per command on stdout instead of sections.
//! - In the audit transcript, one `command` entry per host per command, with the output's
//!   SHA-256 (computed once per distinct output).
//!
//! Host text (output, hostnames, API messages) is sanitised before it reaches the terminal
//! unless `--raw`; the JSON records keep the exact text.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, IsTerminal, Stderr, Stdout, Write};
use std::time::{Instant, SystemTime};

use crate::error::Exit;
use crate::output::layout::plural;
use crate::output::record::{CommandRecord, CommandStatus};
use crate::output::sanitize::sanitize_line;
use crate::output::style::{self, Stream};
use crate::output::transcript::Transcript;
use crate::output::writer::{OutputMode, SanitizingWriter};
use crate::shell::pipe::Local;
use rtrsh_client::session::fleet::text::Text;
use rtrsh_client::session::fleet::{Fleet, HostIdx, RunResult, Unit};
use rtrsh_command::digest::OutputDigest;
use rtrsh_command::{Tier, script_timeout};

/// Hostnames listed in a section header or a note before "(+N more)".
const LIST_MAX: usize = 8;

/// Counts of one command across the fleet.
#[derive(Debug)]
pub struct Tally {
    pub hosts: usize,
    pub ok: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub queued: usize,
    pub cancelled: usize,
    /// Hosts of the fleet the line did not reach, by reason (offline, not connected, platform).
    pub not_run: Vec<(String, usize)>,
    pub distinct: usize,
    pub worst: Exit,
    started: SystemTime,
    start: Instant,
}

impl Tally {
    pub fn new(hosts: usize) -> Tally {
        Tally {
            hosts,
            ok: 0,
            failed: 0,
            timed_out: 0,
            queued: 0,
            cancelled: 0,
            not_run: Vec::new(),
            distinct: 0,
            worst: Exit::Ok,
            started: SystemTime::now(),
            start: Instant::now(),
        }
    }

    /// Counts hosts the line did not reach; the line then did not succeed everywhere.
    pub fn not_run(&mut self, why: &str, n: usize) {
        if n == 0 {
            return;
        }
        self.hosts += n;
        self.worst = self.worst.max(Exit::CommandFailed);
        match self.not_run.iter_mut().find(|(w, _)| w == why) {
            Some((_, k)) => *k += n,
            None => self.not_run.push((why.to_string(), n)),
        }
    }

    /// The one-line summary: `412 hosts: 400 succeeded, 3 failed, 2 timed out, 7 queued,
    /// 2 not run (offline)`. Every host the line was meant for is in it, and the exit code
    /// agrees with it.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} succeeded", self.ok)];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.timed_out > 0 {
            parts.push(format!("{} timed out", self.timed_out));
        }
        if self.queued > 0 {
            parts.push(format!("{} queued", self.queued));
        }
        if self.cancelled > 0 {
            parts.push(format!("{} cancelled", self.cancelled));
        }
        for (why, n) in &self.not_run {
            parts.push(format!("{n} not run ({why})"));
        }
        let hosts = plural(self.hosts, "host");
        let distinct = plural(self.distinct, "distinct output");
        format!(
            "{hosts}: {} ({distinct}, {:.1} s)",
            parts.join(", "),
            self.start.elapsed().as_secs_f64()
        )
    }
}

/// A host's label for the terminal (sanitised hostname, else its aid).
pub fn label(fleet: &Fleet, i: HostIdx) -> String {
    let d = &fleet.hosts[i as usize].device;
    if d.hostname.is_empty() {
        sanitize_line(&d.device_id)
    } else {
        sanitize_line(&d.hostname)
    }
}

/// `A, B, C (+12 more)`.
pub fn host_list(fleet: &Fleet, hosts: &[HostIdx]) -> String {
    let names = hosts.iter().take(LIST_MAX).map(|&i| label(fleet, i));
    named(names.collect(), hosts.len())
}

/// The labels of the first hosts of `total`, then how many more: `A, B, (+N more)`.
fn named(mut names: Vec<String>, total: usize) -> String {
    if total > names.len() {
        names.push(format!("(+{} more)", total - names.len()));
    }
    names.join(", ")
}

/// Hosts of the current command in one state (cancelled, timed out), gathered over its units
/// and named in one line when it ends: a Ctrl-C or the batch timeout reaches every batch at
/// once, and a line per batch (100 at 50,000 hosts) would bury the summary.
#[derive(Default)]
struct Gathered {
    count: usize,
    /// The first [`LIST_MAX`] hosts' labels.
    names: Vec<String>,
}

impl Gathered {
    fn add(&mut self, fleet: &Fleet, hosts: &[HostIdx]) {
        for &h in hosts.iter().take(LIST_MAX.saturating_sub(self.names.len())) {
            self.names.push(label(fleet, h));
        }
        self.count += hosts.len();
    }

    /// `N hosts (A, B, ..., (+M more))`, as [`host_list`] names them.
    fn text(self) -> String {
        format!(
            "{} ({})",
            plural(self.count, "host"),
            named(self.names, self.count)
        )
    }
}

/// Where results go.
pub struct Printer {
    out: SanitizingWriter<BufWriter<Stdout>>,
    err: SanitizingWriter<Stderr>,
    /// Host stderr is shown red.
    err_colour: bool,
    json: bool,
    pub transcript: Transcript,
    pub broken_pipe: bool,
    /// Outputs shown during the current command: key → label of the section that showed it.
    shown: HashMap<[u8; 32], String>,
    /// The current command's hosts it stopped waiting for (Ctrl-C), and those that timed out
    /// (with the batch timeout), named when it ends.
    cancelled: Gathered,
    timed_out: (Gathered, Option<std::time::Duration>),
    /// Distinct outputs of the current command, by the first 8 bytes of their key (a count,
    /// so `--json` at 50,000 distinct outputs keeps 0.6 MB, not the labels' 3.7 MB).
    seen: HashSet<u64>,
    progress: Option<indicatif::ProgressBar>,
    /// The current command's local pipe or file: its stdout goes there, a line per output
    /// line prefixed with the host (`HOST: line`, as pdsh does), instead of sections.
    pub local: Option<crate::shell::pipe::Local>,
    /// The current command's parsed results, when its output is parsed.
    pub collect: Option<crate::shell::results::Collect>,
    /// `--parsed`: JSON records carry a parsed command's records.
    pub parsed: bool,
    /// Each host's full output, saved per host (`None`: `--no-save-output`).
    saved: Option<crate::output::saved::SavedOutput>,
    /// The current command's Ctrl-C: a long output being shown on the terminal stops there
    /// (it is whole in the saved output and the records).
    pub interrupt: Option<tokio_util::sync::CancellationToken>,
}

impl Printer {
    /// `--json`: one object per line instead of text.
    pub fn json(&self) -> bool {
        self.json
    }

    pub fn new(raw: bool, json: bool, transcript: Transcript) -> Printer {
        let mode = if raw {
            OutputMode::Raw
        } else {
            OutputMode::Sanitized
        };
        // Colour around sanitised text only (never with `--raw` or `--json`).
        let colour = |s| !raw && !json && style::enabled(s);
        Printer {
            out: SanitizingWriter::new(
                BufWriter::with_capacity(64 * 1024, std::io::stdout()),
                mode,
            )
            .with_highlight(colour(Stream::Stdout)),
            err: SanitizingWriter::new(std::io::stderr(), mode)
                .with_highlight(colour(Stream::Stderr)),
            err_colour: colour(Stream::Stderr),
            json,
            transcript,
            broken_pipe: false,
            shown: HashMap::new(),
            seen: HashSet::new(),
            cancelled: Gathered::default(),
            timed_out: (Gathered::default(), None),
            progress: None,
            local: None,
            collect: None,
            parsed: false,
            saved: None,
            interrupt: None,
        }
    }

    fn note_io(&mut self, r: std::io::Result<()>) {
        if let Err(e) = r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.broken_pipe = true;
        }
    }

    /// Saves each host's output in `saved` from now on.
    /// `--parsed`: JSON records carry a parsed command's records.
    pub fn with_parsed(mut self, parsed: bool) -> Printer {
        self.parsed = parsed;
        self
    }

    pub fn with_saved(mut self, saved: Option<crate::output::saved::SavedOutput>) -> Printer {
        self.saved = saved;
        self
    }

    /// Each run of a unit into its host's saved-output log.
    fn save(&mut self, fleet: &Fleet, unit: &Unit, line: &str) {
        let Some(saved) = self.saved.as_mut() else {
            return;
        };
        for run in &unit.runs {
            let d = &fleet.hosts[run.host as usize].device;
            let (host, aid) = (&*d.hostname, d.device_id.as_str());
            saved.begin(host, aid, line);
            let how = match &run.result {
                RunResult::Output { group, stderr } => {
                    if let Some(g) = unit.groups.get(*group) {
                        let r = g.stdout.for_each(|piece| {
                            saved.stdout(host, aid, piece.as_bytes());
                            Ok(())
                        });
                        if let Err(e) = r {
                            saved.failed = Some(format!("cannot read an output back: {e}"));
                        }
                        saved.stderr(host, aid, g.stderr.as_bytes());
                    }
                    if *stderr { "error (stderr)" } else { "ok" }.to_string()
                }
                RunResult::TimedOut => "timed out; it may still run".into(),
                RunResult::Queued => "queued for the offline host".into(),
                RunResult::Cancelled => "cancelled; it may still run".into(),
                RunResult::Failed { message, .. } => {
                    format!("error: {}", crate::output::sanitize::one_line(message))
                }
            };
            saved.end(host, aid, &how);
        }
        if let Some(e) = saved.take_error() {
            self.notice(&format!("could not save the output: {e}"));
        }
    }

    /// A line of results on stdout (already inert), clear of any progress bar.
    pub fn line(&mut self, text: &str) {
        let r = match &self.progress {
            Some(pb) => pb.suspend(|| writeln!(self.out.get_mut(), "{text}")),
            None => writeln!(self.out.get_mut(), "{text}"),
        };
        let r = r.and_then(|_| self.out.get_mut().flush());
        self.note_io(r);
    }

    /// One JSON line on stdout (`--json`).
    pub fn json_value(&mut self, v: &serde_json::Value) {
        let r = crate::output::json::to_line(v)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                let out = self.out.get_mut();
                out.write_all(&bytes).and_then(|_| out.flush())
            });
        self.note_io(r);
    }

    /// A line for the user on stderr (`rtrsh: ...`), clear of any progress bar.
    pub fn notice(&mut self, msg: &str) {
        let line = style::notice(msg);
        match &self.progress {
            Some(pb) => pb.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Starts a command on `hosts` hosts (a progress bar on a terminal for more than one).
    pub fn begin(&mut self, line: &str, hosts: usize) -> Tally {
        self.shown.clear();
        self.seen.clear();
        self.cancelled = Gathered::default();
        self.timed_out = (Gathered::default(), None);
        // No bar over a local pipeline's output (it shares the terminal).
        if hosts > 1
            && std::io::stderr().is_terminal()
            && self.local.as_ref().is_none_or(Local::discards)
        {
            let pb = indicatif::ProgressBar::new(hosts as u64);
            pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} hosts ({elapsed})",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(sanitize_line(
                &crate::output::sanitize::truncate_for_display(line, 40),
            ));
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            self.progress = Some(pb);
        }
        Tally::new(hosts)
    }

    /// Ends a command: the summary line.
    pub fn end(&mut self, line: &str, tally: &Tally) {
        if let Some(pb) = self.progress.take() {
            pb.finish_and_clear();
        }
        let r = self.out.get_mut().flush();
        self.note_io(r);
        // The pipeline's output (it may print only when its input ends: `| sort`) comes
        // before the summary, as a command's output does.
        if let Some(local) = self.local.as_mut() {
            local.close();
        }
        self.gathered_notes();
        eprintln!(
            "{}",
            style::notice(&format!(
                "{}: {}",
                sanitize_line(&crate::output::sanitize::truncate_for_display(line, 60)),
                tally.summary()
            ))
        );
    }

    /// The hosts gathered since the command began that timed out or were given up on (Ctrl-C):
    /// a line each, once.
    pub fn gathered_notes(&mut self) {
        let (timed_out, timeout) = std::mem::take(&mut self.timed_out);
        if let Some(timeout) = timeout
            && timed_out.count > 0
        {
            self.notice(&format!(
                "timed out on {}: no result within {}; the command may still run there",
                timed_out.text(),
                humantime::format_duration(timeout)
            ));
        }
        let cancelled = std::mem::take(&mut self.cancelled);
        if cancelled.count > 0 {
            self.notice(&format!(
                "stopped waiting for {}; the command may still run there",
                cancelled.text()
            ));
        }
    }

    /// Takes in one unit of results: records, transcript entries, then the sections.
    pub fn unit(&mut self, fleet: &Fleet, unit: &Unit, line: &str, tier: Tier, tally: &mut Tally) {
        if let Some(c) = self.collect.as_mut() {
            for r in &unit.runs {
                let RunResult::Output { group, stderr } = r.result else {
                    continue;
                };
                let Some(g) = unit.groups.get(group) else {
                    continue;
                };
                // A host that only reported an error has no results to count.
                if stderr && g.stdout.is_empty() {
                    continue;
                }
                let d = &fleet.hosts[r.host as usize].device;
                // A large output is parsed from its file (parsed commands' outputs rarely are).
                let whole = g.stdout.whole().unwrap_or_default();
                c.add(
                    &d.hostname,
                    &d.device_id,
                    rtrsh_command::Platform::from_api_name(&d.platform_name),
                    Some(g.key),
                    &whole,
                );
            }
        }
        if unit.resent > 0 {
            let _ = self.transcript.note(
                None,
                &format!(
                    "resent: {line} to {} (the batch reply was lost and their session logs showed it never arrived)",
                    plural(unit.resent, "host")
                ),
            );
            self.notice(&format!(
                "a reply was lost and the session logs of {} showed the command never arrived; it is read-only, so it was sent to them once more",
                plural(unit.resent, "host")
            ));
        }
        if unit.recovered > 0 {
            self.notice(&format!(
                "a reply was lost; the results of {} were found through their session logs (nothing was sent twice)",
                plural(unit.recovered, "host")
            ));
        }
        let printing = std::time::Instant::now();
        self.save(fleet, unit, line);
        let elapsed = tally.start.elapsed();
        let empty = OutputDigest::default();
        let empty_text = Text::default();
        // `stack FIELD CMD --json`: the stack's lines, not CMD's records.
        let discard = self.local.as_ref().is_some_and(Local::discards);
        let mut out = (self.json && !discard)
            .then(|| BufWriter::with_capacity(256 * 1024, std::io::stdout().lock()));
        let mut entries: Vec<(CommandRecord, &OutputDigest)> = Vec::with_capacity(unit.runs.len());
        let mut line_buf: Vec<u8> = Vec::new();
        // `--json --parsed` carries a parsed command's records beside its output: parsed once per
        // distinct output (and platform).
        let parsed_kind = out
            .as_ref()
            .filter(|_| self.parsed)
            .and(self.collect.as_ref())
            .map(crate::shell::results::Collect::kind);
        let mut parsed: HashMap<(usize, Option<rtrsh_command::Platform>), serde_json::Value> =
            HashMap::new();
        for run in &unit.runs {
            let h = &fleet.hosts[run.host as usize];
            let mut rec = CommandRecord::new(
                &*h.device.hostname,
                &h.device.device_id,
                line,
                tier,
                tally.started,
            );
            rec.session_id = (!h.session_id.is_empty()).then(|| h.session_id.to_string());
            rec.cloud_request_id =
                (!run.cloud_request_id.is_empty()).then(|| run.cloud_request_id.to_string());
            rec.sequence_ids_seen.clone_from(&run.sequence_ids);
            rec.trace_ids.extend(run.trace_id.iter().cloned());
            rec.set_duration(elapsed);
            let mut digest = &empty;
            // `--json`: the group's text, written into this host's line without a copy.
            let mut text: Option<(&Text, &str)> = None;
            match &run.result {
                RunResult::Output { group, stderr } => {
                    rec.exit.complete = true;
                    if *stderr {
                        rec.status = CommandStatus::Error;
                        tally.failed += 1;
                        tally.worst = tally.worst.max(Exit::CommandFailed);
                    } else {
                        rec.status = CommandStatus::Ok;
                        tally.ok += 1;
                    }
                    if let Some(g) = unit.groups.get(*group) {
                        digest = &g.digest;
                        text = Some((&g.stdout, &g.stderr));
                        if let Some(kind) = parsed_kind {
                            let platform =
                                rtrsh_command::Platform::from_api_name(&h.device.platform_name);
                            rec.parsed = Some(
                                parsed
                                    .entry((*group, platform))
                                    .or_insert_with(|| {
                                        let whole = g.stdout.whole().unwrap_or_default();
                                        crate::shell::results::parsed_json(kind, platform, &whole)
                                    })
                                    .clone(),
                            );
                        }
                    }
                }
                RunResult::TimedOut => {
                    rec.status = CommandStatus::Timeout;
                    rec.exit.error = Some(format!(
                        "no result within the batch timeout ({}); it may still run",
                        humantime::format_duration(fleet.options().batch_timeout)
                    ));
                    tally.timed_out += 1;
                    tally.worst = tally.worst.max(Exit::CommandFailed);
                }
                RunResult::Queued => {
                    rec.status = CommandStatus::Queued;
                    rec.queued = true;
                    tally.queued += 1;
                }
                RunResult::Failed {
                    code,
                    http_status,
                    message,
                    maybe_executed,
                } => {
                    rec.status = if *maybe_executed {
                        CommandStatus::Unknown
                    } else {
                        CommandStatus::Error
                    };
                    rec.exit.error_code = *code;
                    rec.exit.http_status = *http_status;
                    rec.exit.error = Some(message.clone());
                    tally.failed += 1;
                    tally.worst = tally.worst.max(Exit::CommandFailed);
                }
                RunResult::Cancelled => {
                    rec.status = CommandStatus::Unknown;
                    rec.exit.error = Some("cancelled; it may still run".into());
                    tally.cancelled += 1;
                    tally.worst = tally.worst.max(Exit::CommandFailed);
                }
            }
            // The JSON line is made once, for `records.jsonl` and for `--json`: in a buffer, or,
            // for an output kept in a file, straight to both as it is read back.
            if self.saved.is_some() || out.is_some() {
                let (stdout, stderr) = text.unwrap_or((&empty_text, ""));
                let was_ok = rec.status == CommandStatus::Ok;
                let mut tee = Tee {
                    saved: self.saved.as_mut(),
                    out: out.as_mut(),
                    broken_pipe: false,
                };
                let in_memory = stdout.as_str().is_some();
                line_buf.clear();
                let to: &mut dyn Write = if in_memory { &mut line_buf } else { &mut tee };
                // The tee never fails (a closed stdout is noted in it), nor does the Vec.
                let unread = rec
                    .write_json_line_streamed(to, |piece| stdout.for_each(piece), stderr)
                    .unwrap_or(None);
                if in_memory {
                    let _ = tee.write_all(&line_buf);
                }
                self.broken_pipe |= tee.broken_pipe;
                if unread.is_some() && was_ok {
                    tally.ok = tally.ok.saturating_sub(1);
                    tally.failed += 1;
                    tally.worst = tally.worst.max(Exit::CommandFailed);
                }
            }
            entries.push((rec, digest));
        }
        if let Some(saved) = self.saved.as_mut() {
            saved.flush();
        }
        // One write and one sync for the whole unit.
        if let Err(e) = self
            .transcript
            .commands_streamed(entries.iter().map(|(r, d)| (r, *d)))
        {
            self.notice(&format!("could not write the audit transcript: {e}"));
        }
        if let Some(mut w) = out
            && let Err(e) = w.flush()
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.broken_pipe = true;
        }
        if let Some(e) = &unit.error
            && e.is_auth_or_connection()
        {
            tally.worst = tally.worst.max(Exit::AuthOrConnection);
        }
        for g in &unit.groups {
            let mut head = [0u8; 8];
            head.copy_from_slice(&g.key[..8]);
            if self.seen.insert(u64::from_le_bytes(head)) {
                tally.distinct += 1;
            }
        }
        tracing::debug!(
            "results of {} written in {} ms",
            plural(unit.runs.len(), "host"),
            printing.elapsed().as_millis()
        );
        if let Some(pb) = &self.progress {
            pb.inc(unit.runs.len() as u64);
        }
        let pb = self.progress.take();
        match &pb {
            Some(p) => p.suspend(|| self.sections(fleet, unit, line)),
            None => self.sections(fleet, unit, line),
        }
        self.progress = pb;
    }

    fn header(&mut self, text: &str) {
        let r = writeln!(self.out.get_mut(), "{}", style::header(text));
        self.note_io(r);
    }

    /// Each host's stdout to the local pipe or file, a line per output line prefixed with its
    /// host (hosts in their order, so `| sort` is not needed to read it); stderr stays on the
    /// terminal, under a header per host.
    fn prefixed(&mut self, fleet: &Fleet, unit: &Unit) {
        let Some(mut local) = self.local.take() else {
            return;
        };
        let mut runs: Vec<(HostIdx, usize)> = unit
            .runs
            .iter()
            .filter_map(|r| match r.result {
                RunResult::Output { group, .. } => Some((r.host, group)),
                _ => None,
            })
            .collect();
        runs.sort_unstable();
        for (host, group) in runs {
            let Some(grp) = unit.groups.get(group) else {
                continue;
            };
            let name = label(fleet, host);
            // Lines may cross the pieces a large output is read back in; they go to the
            // pipeline about 64 KiB at a time.
            let mut partial = String::new();
            let mut lines: Vec<u8> = Vec::new();
            let line = |l: &str, lines: &mut Vec<u8>, local: &mut Local| {
                let l = l.strip_suffix('\r').unwrap_or(l);
                lines.extend_from_slice(name.as_bytes());
                lines.extend_from_slice(b": ");
                lines.extend_from_slice(l.as_bytes());
                lines.push(b'\n');
                if lines.len() >= 64 * 1024 {
                    local.put(lines);
                    lines.clear();
                }
            };
            let r = grp.stdout.for_each(|piece| {
                let mut rest = piece;
                while let Some(i) = rest.find('\n') {
                    if partial.is_empty() {
                        line(&rest[..i], &mut lines, &mut local);
                    } else {
                        partial.push_str(&rest[..i]);
                        line(&partial, &mut lines, &mut local);
                        partial.clear();
                    }
                    rest = &rest[i + 1..];
                }
                partial.push_str(rest);
                Ok(())
            });
            if !partial.is_empty() {
                line(&partial, &mut lines, &mut local);
            }
            local.put(&lines);
            self.note_io(r);
            if !grp.stderr.is_empty() {
                let r = writeln!(self.err.get_mut(), "=== stderr of {name} ===")
                    .and_then(|_| self.err.write_all(grp.stderr.as_bytes()))
                    .and_then(|_| self.err.finish());
                self.note_io(r);
                if !grp.stderr.ends_with('\n') {
                    eprintln!();
                }
            }
        }
        self.local = Some(local);
    }

    /// The sections of a unit (largest group first) and its notes.
    fn sections(&mut self, fleet: &Fleet, unit: &Unit, line: &str) {
        if self.local.is_some() {
            self.prefixed(fleet, unit);
        } else if !self.json {
            let mut order: Vec<usize> = (0..unit.groups.len()).collect();
            order.sort_by_cached_key(|&g| {
                let hosts = &unit.groups[g].hosts;
                (
                    std::cmp::Reverse(hosts.len()),
                    hosts.first().map(|&i| label(fleet, i)).unwrap_or_default(),
                )
            });
            for g in order {
                let grp = &unit.groups[g];
                let n = grp.hosts.len();
                if let Some(first) = self.shown.get(&grp.key).cloned() {
                    let text = format!(
                        "same output as {first} (above) on {}: {}",
                        plural(n, "more host"),
                        host_list(fleet, &grp.hosts)
                    );
                    self.header(&text);
                    continue;
                }
                let title = if n == 1 {
                    label(fleet, grp.hosts[0])
                } else {
                    format!("same output on {n} hosts: {}", host_list(fleet, &grp.hosts))
                };
                self.header(&title);
                self.shown.insert(grp.key, label(fleet, grp.hosts[0]));
                let out = &mut self.out;
                // An output read back from its file (over 1 MiB) is checked for Ctrl-C between
                // its pieces; one in memory is shown whole, as it always was.
                let interrupt = self
                    .interrupt
                    .as_ref()
                    .filter(|_| grp.stdout.as_str().is_none());
                let mut cut = false;
                let r = grp
                    .stdout
                    .for_each(|piece| {
                        if interrupt.is_some_and(|c| c.is_cancelled()) {
                            cut = true;
                            return Err(std::io::Error::from(std::io::ErrorKind::Interrupted));
                        }
                        out.write_all(piece.as_bytes())
                    })
                    .and_then(|_| self.out.finish());
                if cut {
                    let _ = self.out.finish();
                    let _ = writeln!(self.out.get_mut());
                    let _ = self.out.get_mut().flush();
                    let whole = match &self.saved {
                        Some(s) => format!("; it is whole in {}", s.dir().display()),
                        None => String::new(),
                    };
                    self.notice(&format!(
                        "Ctrl-C: the rest of {title}'s output ({} bytes) is not shown{whole}",
                        grp.stdout.len()
                    ));
                    continue;
                }
                self.note_io(r);
                if !grp.stdout.ends_line() {
                    let r = self.out.get_mut().write_all(b"\n");
                    self.note_io(r);
                }
                if !grp.stderr.is_empty() {
                    let r = self.out.get_mut().flush();
                    self.note_io(r);
                    let paint = self.err_colour.then_some(style::HOST_STDERR);
                    let err = &mut self.err;
                    let r = writeln!(
                        err.get_mut(),
                        "{}",
                        style::stderr_header(&format!("stderr of {title}"))
                    )
                    .and_then(|_| {
                        paint.map_or(Ok(()), |p| err.get_mut().write_all(p.on.as_bytes()))
                    })
                    .and_then(|_| err.write_all(grp.stderr.as_bytes()))
                    .and_then(|_| err.finish())
                    .and_then(|_| {
                        paint.map_or(Ok(()), |p| err.get_mut().write_all(p.off.as_bytes()))
                    });
                    self.note_io(r);
                    if !grp.stderr.ends_with('\n') {
                        eprintln!();
                    }
                }
            }
            let r = self.out.get_mut().flush();
            self.note_io(r);
        }
        self.outcome_notes(fleet, unit, line);
    }

    /// Failures (grouped by reason), timeouts, queued and cancelled hosts: a line each.
    fn outcome_notes(&mut self, fleet: &Fleet, unit: &Unit, line: &str) {
        let words = rtrsh_command::lexer::words(line).unwrap_or_default();
        let is_script = words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("runscript"));
        let mut cut_off = Vec::new();
        let mut failed: Vec<(String, Option<i64>, Vec<HostIdx>)> = Vec::new();
        let mut timed_out = Vec::new();
        let mut queued = Vec::new();
        let mut cancelled = Vec::new();
        for run in &unit.runs {
            match &run.result {
                RunResult::Failed { message, code, .. } => {
                    match failed.iter_mut().find(|(m, _, _)| m == message) {
                        Some((_, _, v)) => v.push(run.host),
                        None => failed.push((message.clone(), *code, vec![run.host])),
                    }
                }
                RunResult::TimedOut => timed_out.push(run.host),
                RunResult::Queued => queued.push(run.host),
                RunResult::Cancelled => cancelled.push(run.host),
                RunResult::Output { group, stderr } => {
                    if is_script
                        && *stderr
                        && unit
                            .groups
                            .get(*group)
                            .is_some_and(|g| script_timeout::looks_cut_off(&g.stderr))
                    {
                        cut_off.push(run.host);
                    }
                }
            }
        }
        if !cut_off.is_empty() {
            let seconds = script_timeout::fleet_seconds(fleet.options().batch_timeout);
            let sent = script_timeout::with_timeout(line, &words, seconds);
            let sent = rtrsh_command::lexer::words(&sent).unwrap_or_default();
            self.notice(&format!(
                "on {} ({}): {}",
                plural(cut_off.len(), "host"),
                host_list(fleet, &cut_off),
                script_timeout::cut_off_note(&sent)
            ));
        }
        for (msg, code, hosts) in failed {
            self.notice(&format!(
                "failed on {} ({}): {}",
                plural(hosts.len(), "host"),
                host_list(fleet, &hosts),
                sanitize_line(&msg)
            ));
            if let Some(h) = code.and_then(rtrsh_client::error::code_hint) {
                self.notice(&format!("hint: {h}"));
            }
        }
        if !timed_out.is_empty() {
            self.timed_out.0.add(fleet, &timed_out);
            self.timed_out.1 = Some(fleet.options().batch_timeout);
        }
        if !queued.is_empty() {
            self.notice(&format!(
                "queued for {} ({}): it runs when they come online; `queue` shows results",
                plural(queued.len(), "offline host"),
                host_list(fleet, &queued)
            ));
        }
        if !cancelled.is_empty() {
            self.cancelled.add(fleet, &cancelled);
        }
    }
}

/// Writes a record line to `records.jsonl` and to stdout (`--json`) at once; a closed stdout
/// (broken pipe) is noted and written to no more.
struct Tee<'a, 'b> {
    saved: Option<&'a mut crate::output::saved::SavedOutput>,
    out: Option<&'a mut BufWriter<std::io::StdoutLock<'b>>>,
    broken_pipe: bool,
}

impl Write for Tee<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(saved) = self.saved.as_mut() {
            saved.record_line(buf);
        }
        if let Some(w) = self.out.as_mut()
            && let Err(e) = w.write_all(buf)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.broken_pipe = true;
            self.out = None;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
