//! The fleet shell: many hosts behind one prompt (`[412 hosts] C:\>`) or one script.
//!
//! Steps: choose hosts (`--host` repeated, `--aid`, `--hosts-file`, `--filter`), say how many
//! matched (`--dry-run` stops here with the host table and each line's tier), skip hosts known
//! to be offline (unless `--queue-offline`), open batch sessions with a progress bar, list the
//! hosts that failed with the API's reason, then run lines on the fleet. The work is done by
//! [`rtrsh_client::session::fleet`]; this module reads lines, applies the safety rule, and hands results
//! to [`print`].
//!
//! Safety: a write-tier line (active-responder or admin) on more than `--confirm-threshold`
//! hosts asks first at the prompt, and in scripts is refused (exit 2, nothing sent) unless
//! `--yes`. Exit codes as the single-host shell: 1 if any host failed (or could not be reached),
//! 2 usage, 3 authentication or connection.

pub(crate) mod local;
mod print;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{CliError, Exit};
use crate::output::sanitize::one_line;
use crate::output::sanitize::sanitize_line;
use crate::output::style;
use crate::output::transcript::SessionInfo;
use crate::shell::ShellArgs;
use crate::shell::complete::{Borrowed, CompletionCache, Remote, Representative, ShellHelper};
use crate::shell::interp::{self, Hosts, LineEnd, Notify, Plan};
use crate::shell::line::{self, Line};
use crate::shell::pipe::Local;
use crate::shell::script::ScriptLine;
use rtrsh_client::Aid;
use rtrsh_client::FalconClient;
use rtrsh_client::session::fleet::{
    self as engine, Fleet, FleetOptions, HostIdx, RefreshEvent, Selection,
};
use rtrsh_command::{Platform, Tier};

use crate::output::layout::plural;
use print::{Printer, host_list};

/// Whether the arguments select a fleet rather than one host.
pub fn is_fleet(args: &ShellArgs) -> bool {
    args.host.len() + args.aid.len() > 1
        || args.hosts_file.is_some()
        || args.filter.is_some()
        || args.dry_run
}

/// The hosts named on the command line and in `--hosts-file`.
fn selection(args: &ShellArgs) -> Result<Selection, CliError> {
    let mut names: Vec<String> = args.host.iter().chain(args.aid.iter()).cloned().collect();
    for aid in &args.aid {
        let a = aid.trim();
        if a.len() != 32 || !a.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CliError::usage(format!(
                "--aid {} is not a host id (32 hex characters)",
                crate::shell::shown(a)
            )));
        }
    }
    if let Some(path) = &args.hosts_file {
        let text = std::fs::read(path).map_err(|e| {
            CliError::usage(format!("cannot read hosts file {}: {e}", path.display()))
        })?;
        names.extend(
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    let filter = args.filter.clone().filter(|f| !f.trim().is_empty());
    if let Some(f) = &filter {
        crate::shell::check_filter(f)?;
    }
    crate::shell::check_names(names.iter().map(String::as_str))?;
    if names.is_empty() && filter.is_none() {
        return Err(CliError::usage("no hosts given")
            .with_hint("pass --host (repeatable), --aid, --hosts-file FILE or --filter FQL"));
    }
    Ok(Selection { names, filter })
}

/// Many hosts, as the interpreter ([`crate::shell::interp`]) sees them: batch sessions, a
/// progress bar while a command runs, each host's output (identical outputs grouped), one
/// summary line per command.
pub(crate) struct FleetShell<'a> {
    fleet: Fleet,
    args: &'a ShellArgs,
    printer: Printer,
    /// Refresh events until [`Hosts::watch`] takes them.
    events: Option<mpsc::UnboundedReceiver<RefreshEvent>>,
    /// Hosts whose sessions expired, from the watcher; marked before the next line.
    expired: Option<mpsc::UnboundedReceiver<Vec<Aid>>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// The host TAB lists directories on (see [`FleetShell::representative`]).
    rep: Representative,
    /// Directory listings cached for completion (commands that change files invalidate them).
    cache: Option<CompletionCache>,
}

impl Drop for FleetShell<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

impl FleetShell<'_> {
    /// The host whose directories TAB completes: a connected host (not one queueing commands
    /// for later, not one whose session expired) in the directory most hosts are in (the one
    /// the prompt shows), the first such host of the list. Directories differ between hosts;
    /// listing one host is what a single round trip allows, and the most common directory is
    /// the one the analyst sees.
    fn representative(&self, cwd: &str) -> Option<Borrowed> {
        let h = self.fleet.hosts.iter().find(|h| {
            h.state == engine::HostState::Connected
                && !h.expired
                && !h.session_id.is_empty()
                && h.cwd == cwd
        })?;
        Some(Borrowed {
            client: self.fleet.client().clone(),
            aid: h.device.device_id.clone(),
            session_id: h.session_id.clone(),
            cwd: h.cwd.clone(),
        })
    }

    /// `get PATH` on many hosts: one batch get, one progress bar while the files reach the
    /// cloud, then each host's file downloaded, verified and extracted into `evidence/HOST/`
    /// (four at a time) by the same step as on one host; a line per host, then the summary.
    async fn get(
        &mut self,
        line: &str,
        plan: &Plan,
        mut tally: print::Tally,
        cancel: &CancellationToken,
    ) -> LineEnd {
        let path = plan.words.get(1).cloned().unwrap_or_default();
        let opts = self.get_options();
        let bar = std::io::stderr().is_terminal().then(|| {
            let pb = indicatif::ProgressBar::new(plan.targets.len() as u64);
            pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} files in the cloud [{bar:30}] {pos}/{len} hosts ({elapsed})",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        let files = self
            .fleet
            .get(
                &path,
                &plan.targets,
                opts.upload_timeout,
                cancel,
                &mut |done, total| {
                    if let Some(pb) = &bar {
                        pb.set_length(total as u64);
                        pb.set_position(done as u64);
                    }
                },
            )
            .await;
        if let Some(pb) = bar {
            pb.finish_and_clear();
        }
        let client = self.fleet.client().clone();
        let work: crate::shell::get::Work = files
            .into_iter()
            .map(|(i, r)| {
                let d = &self.fleet.hosts[i as usize].device;
                (rtrsh_client::session::Target::from(d), r)
            })
            .collect();
        let json = self.args.json;
        let printer = &mut self.printer;
        crate::shell::get::save_all(&client, work, &opts, cancel, &mut |target, r| {
            let host = sanitize_line(&target.hostname);
            match r {
                Ok(saved) => {
                    tally.ok += 1;
                    let shown = format!("{host}: {}", saved.describe());
                    if json {
                        printer.json_value(&serde_json::json!({
                            "host": target.hostname, "aid": target.aid, "command": line,
                            "status": "ok", "remote_path": saved.remote_path,
                            "local_path": saved.local_path, "sha256": saved.sha256,
                            "size": saved.size,
                        }));
                    } else {
                        printer.line(&shown);
                    }
                    let _ = printer.transcript.note(None, &shown);
                }
                Err(why) => {
                    tally.failed += 1;
                    tally.worst = tally.worst.max(Exit::CommandFailed);
                    if json {
                        printer.json_value(&serde_json::json!({
                            "host": target.hostname, "aid": target.aid, "command": line,
                            "status": "error", "error": why,
                        }));
                    }
                    printer.notice(&format!("{host}: get {}: {}", sanitize_line(&path), why));
                }
            }
        })
        .await;
        self.printer.end(line, &tally);
        LineEnd {
            exit: tally.worst,
            stop: false,
        }
    }

    /// `send`, its output to the terminal or `self.printer.local`.
    async fn send_planned(
        &mut self,
        line: &str,
        plan: &Plan,
        only: bool,
        cancel: &CancellationToken,
    ) -> LineEnd {
        for (why, hs) in &plan.skipped {
            self.printer.notice(&format!(
                "not run on {} ({}): {}",
                plural(hs.len(), "host"),
                host_list(&self.fleet, hs),
                why
            ));
        }
        if plan.targets.is_empty() {
            self.printer.notice("no connected host to run it on");
            return LineEnd::of(Exit::Ok);
        }
        let count = plan.targets.len();
        let base = plan.words.first().cloned().unwrap_or_default();
        let mut tally = self.printer.begin(line, count);
        // Every host the line was meant for is in the summary: those it could not reach too.
        if !only {
            for h in &self.fleet.hosts {
                let why = match h.state {
                    engine::HostState::Offline => "offline",
                    engine::HostState::Failed(_) | engine::HostState::Pending => "not connected",
                    _ => continue,
                };
                tally.not_run(why, 1);
            }
        }
        for (why, hs) in &plan.skipped {
            tally.not_run(why, hs.len());
        }
        if base.eq_ignore_ascii_case("get") {
            return self.get(line, plan, tally, cancel).await;
        }
        // The directory completion lists (set at the prompt; scripts complete nothing).
        let cwd = self.rep.cwd().unwrap_or_default();
        let printer = &mut self.printer;
        printer.interrupt = Some(cancel.clone());
        let tier = plan.tier;
        let report = self
            .fleet
            .run(
                line,
                &base,
                tier,
                &plan.targets,
                cancel,
                &mut |fleet, unit| printer.unit(fleet, &unit, line, tier, &mut tally),
            )
            .await;
        if let Some(cache) = &self.cache {
            cache.after_command(&plan.words, &cwd);
        }
        if report.reopened > 0 {
            self.printer.notice(&format!(
                "re-opened {} (they had expired) and returned to their directories",
                plural(report.reopened, "session")
            ));
        }
        for (_, why) in &report.reopen_failed {
            tally.not_run(&one_line(why), 1);
        }
        self.printer.end(line, &tally);
        LineEnd {
            exit: tally.worst,
            stop: tally.worst == Exit::AuthOrConnection || self.printer.broken_pipe,
        }
    }

    /// Every connected host's files in the cloud.
    async fn listed(&self) -> crate::shell::get::Listed {
        self.fleet
            .files()
            .await
            .into_iter()
            .map(|(i, r)| {
                let d = &self.fleet.hosts[i as usize].device;
                (rtrsh_client::session::Target::from(d), r)
            })
            .collect()
    }

    /// Where and how `get` and `download` save files.
    fn get_options(&self) -> crate::shell::outputs::GetOptions {
        crate::shell::outputs::GetOptions {
            evidence_dir: self.args.evidence_dir.clone(),
            extract: !self.args.no_extract,
            ..Default::default()
        }
    }

    /// JSON lines on stdout (`--json`).
    fn json(&mut self, values: &[serde_json::Value]) {
        if local::print_json(values).is_err() {
            self.printer.broken_pipe = true;
        }
    }

    /// `queue`: checks queued commands, prints results that arrived, then the table.
    async fn check_queue(&mut self, wait: Option<Duration>, cancel: &CancellationToken) -> Exit {
        let deadline = wait.map(|w| tokio::time::Instant::now() + w);
        let mut pause = Duration::from_millis(500);
        let mut worst = Exit::Ok;
        loop {
            let results = self.fleet.check_queue(cancel).await;
            for (qi, unit) in results {
                let q = self.fleet.queue[qi].clone();
                let mut tally = print::Tally::new(unit.runs.len());
                self.printer
                    .unit(&self.fleet, &unit, &q.line, q.tier, &mut tally);
                worst = worst.max(tally.worst);
            }
            self.printer.gathered_notes();
            let waiting = self.fleet.queue.iter().filter(|q| !q.done).count();
            let Some(deadline) = deadline else { break };
            if waiting == 0 || tokio::time::Instant::now() >= deadline || cancel.is_cancelled() {
                break;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + pause)) => {}
            }
            pause = (pause * 3 / 2).min(Duration::from_secs(5));
        }
        if self.fleet.queue.is_empty() {
            if self.printer.json() {
                self.printer.notice("no queued commands");
            } else {
                println!("no queued commands");
            }
        } else {
            if self.printer.json() {
                self.json(&local::queue_json(&self.fleet));
            } else {
                println!("{}", local::queue_table(&self.fleet));
            }
            let waiting = self.fleet.queue.iter().filter(|q| !q.done).count();
            if wait.is_some() && waiting > 0 {
                self.printer.notice(&format!(
                    "{} still waiting for their hosts",
                    plural(waiting, "queued command")
                ));
                worst = worst.max(Exit::CommandFailed);
            }
        }
        worst
    }
}

impl Hosts for FleetShell<'_> {
    fn client(&self) -> &FalconClient {
        self.fleet.client()
    }

    fn json(&self) -> bool {
        self.printer.json()
    }

    fn platform(&self) -> Option<Platform> {
        common_platform(&self.fleet)
    }

    fn notice(&mut self, msg: &str) {
        self.printer.notice(msg);
    }

    fn broken_pipe(&self) -> bool {
        self.printer.broken_pipe
    }

    fn targets(
        &mut self,
        only: Option<&[String]>,
    ) -> Result<Vec<(HostIdx, Option<Platform>)>, String> {
        let hosts: Vec<HostIdx> = match only {
            None => self.fleet.active().collect(),
            Some(names) => {
                let named = local::find_hosts(&self.fleet, names)?;
                let (active, idle): (Vec<HostIdx>, Vec<HostIdx>) = named
                    .into_iter()
                    .partition(|&i| self.fleet.hosts[i as usize].state.active());
                if !idle.is_empty() {
                    self.printer.notice(&format!(
                        "not connected, left out: {}",
                        host_list(&self.fleet, &idle)
                    ));
                }
                active
            }
        };
        Ok(hosts
            .into_iter()
            .map(|i| (i, self.fleet.hosts[i as usize].platform))
            .collect())
    }

    async fn prompt(&self) -> String {
        // One pass over the hosts for both (a fleet can be 50,000 hosts).
        let dir = common_dir(&self.fleet);
        if self.cache.is_some() {
            let rep = dir.as_ref().and_then(|(cwd, _)| self.representative(cwd));
            self.rep.set(rep);
        }
        prompt_text(self.fleet.active().count(), dir)
    }

    fn helper(&mut self) -> ShellHelper {
        let rep = std::sync::Arc::new(self.rep.clone());
        let remote = Remote {
            fs: rep.clone(),
            cloud: rep,
        };
        let helper = ShellHelper::with_remote(
            common_platform(&self.fleet),
            Some(remote),
            Some(tokio::runtime::Handle::current()),
        )
        .with_hosts(
            self.fleet
                .hosts
                .iter()
                .map(|h| h.device.hostname.to_string()),
        );
        self.cache = Some(helper.cache_handle());
        helper
    }

    fn watch(&mut self, notify: Notify) {
        let Some(mut events) = self.events.take() else {
            return;
        };
        let (expired_tx, expired_rx) = mpsc::unbounded_channel::<Vec<Aid>>();
        self.expired = Some(expired_rx);
        self.watcher = Some(tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                match ev {
                    RefreshEvent::Ok { .. } => {}
                    RefreshEvent::Expired(aids) => {
                        notify(&format!(
                            "the sessions of {} expired; the next command re-opens them",
                            plural(aids.len(), "host")
                        ));
                        let _ = expired_tx.send(aids);
                    }
                    RefreshEvent::Failed(e) => {
                        notify(&format!("could not refresh the sessions: {e}"))
                    }
                }
            }
        }));
    }

    /// Every output group ends its line: nothing is left open.
    fn release_stdout(&mut self) {}

    fn before_line(&mut self) {
        if let Some(rx) = &mut self.expired {
            while let Ok(aids) = rx.try_recv() {
                self.fleet.mark_expired(&aids);
            }
        }
    }

    async fn send(
        &mut self,
        line: &str,
        plan: &Plan,
        only: bool,
        to: &mut Option<Local>,
        collect: &mut Option<crate::shell::results::Collect>,
        cancel: &CancellationToken,
    ) -> LineEnd {
        self.printer.local = to.take();
        self.printer.collect = collect.take();
        let end = self.send_planned(line, plan, only, cancel).await;
        *to = self.printer.local.take();
        *collect = self.printer.collect.take();
        end
    }

    async fn files(&mut self) -> Exit {
        let lists = self.listed().await;
        crate::shell::get::print_files(lists, self.printer.json(), true)
    }

    async fn download(&mut self, name: Option<&str>, cancel: &CancellationToken) -> Exit {
        let opts = self.get_options();
        let lists = self.listed().await;
        let line = format!("download {}", name.unwrap_or_default())
            .trim()
            .to_string();
        let mut tally = self.printer.begin(&line, 0);
        let printer = &mut self.printer;
        let client = self.fleet.client().clone();
        let report = crate::shell::get::save_all(
            &client,
            crate::shell::get::matching(lists, name),
            &opts,
            cancel,
            &mut |target, r| {
                let host = sanitize_line(&target.hostname);
                match r {
                    Ok(saved) => {
                        tally.ok += 1;
                        printer.line(&format!("{host}: {}", saved.describe()));
                    }
                    Err(why) => {
                        tally.failed += 1;
                        tally.worst = tally.worst.max(Exit::CommandFailed);
                        printer.notice(&format!("{host}: download: {}", one_line(why)));
                    }
                }
            },
        )
        .await;
        tally.hosts = report.matched;
        if report.matched == 0 {
            self.printer
                .notice("nothing to download: no finished file matches (see `files`)");
        }
        self.printer.end(&line, &tally);
        tally.worst.max(report.exit())
    }

    async fn queue(&mut self, wait: Option<Duration>, cancel: &CancellationToken) -> Exit {
        self.check_queue(wait, cancel).await
    }

    async fn hosts(&mut self) -> Exit {
        let mut rows = local::host_rows(&self.fleet);
        let refreshed = local::refresh(self.fleet.client(), &mut rows).await;
        let printed = local::print_hosts(&rows, self.printer.json());
        drop(rows);
        if let Err(e) = refreshed {
            self.printer
                .notice(&format!("device details as of the start: {e}"));
        }
        if printed.is_err() {
            self.printer.broken_pipe = true;
        }
        Exit::Ok
    }

    fn audit(&mut self, host: &str, aid: &str, note: &str) {
        let info = SessionInfo {
            host: host.to_string(),
            aid: aid.to_string(),
            ..Default::default()
        };
        let _ = self.printer.transcript.note(Some(&info), note);
    }

    fn action_targets(&mut self, only: Option<&[String]>) -> Result<Vec<(String, Aid)>, String> {
        let hosts: Vec<HostIdx> = match only {
            Some(names) => local::find_hosts(&self.fleet, names)?,
            None => (0..self.fleet.hosts.len() as HostIdx)
                .filter(|&i| {
                    !matches!(
                        self.fleet.hosts[i as usize].state,
                        rtrsh_client::session::fleet::HostState::Dropped
                    )
                })
                .collect(),
        };
        Ok(hosts
            .into_iter()
            .map(|i| {
                let d = &self.fleet.hosts[i as usize].device;
                (d.hostname.to_string(), d.device_id.clone())
            })
            .collect())
    }

    async fn drop_hosts(&mut self, names: &[String]) -> Result<(), String> {
        let hosts = local::find_hosts(&self.fleet, names)?;
        let list = host_list(&self.fleet, &hosts);
        let r = self.fleet.drop_hosts(&hosts).await;
        self.printer.notice(&format!(
            "dropped {} ({list}); {} left",
            plural(hosts.len(), "host"),
            plural(self.fleet.active().count(), "host")
        ));
        if let Err(e) = r {
            self.printer.notice(&format!("could not tell the API: {e}"));
        }
        Ok(())
    }
}

/// The directory most connected hosts are in (ties: the first in order), and how many
/// different directories they are in.
fn common_dir(fleet: &Fleet) -> Option<(String, usize)> {
    let mut dirs: HashMap<&str, usize> = HashMap::new();
    for h in fleet.hosts.iter().filter(|h| h.state.active()) {
        *dirs.entry(h.cwd.as_str()).or_default() += 1;
    }
    let kinds = dirs.len();
    let mut common: Vec<(&str, usize)> = dirs.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    common.first().map(|(d, _)| (d.to_string(), kinds))
}

/// `[412 hosts] C:\Windows> ` for `n` hosts and their [`common_dir`], with `(+N other dirs)`
/// when working directories differ.
fn prompt_text(n: usize, dir: Option<(String, usize)>) -> String {
    let (cwd, kinds) = dir.unwrap_or_default();
    let others = match kinds {
        0 | 1 => String::new(),
        2 => " (+1 other dir)".to_string(),
        k => format!(" (+{} other dirs)", k - 1),
    };
    format!("[{}] {}{others}> ", plural(n, "host"), sanitize_line(&cwd))
}

/// The platform every host shares, if they do.
fn common_platform(fleet: &Fleet) -> Option<Platform> {
    let mut it = fleet.hosts.iter().map(|h| h.platform);
    let first = it.next().flatten()?;
    it.all(|p| p == Some(first)).then_some(first)
}

/// `--dry-run`: the host table and each line's tier, nothing sent to hosts. With `--json`, one
/// object per host, then one per line (`command`, `tier`, `hosts`, `skipped`, or `local`).
fn dry_run(fleet: &Fleet, args: &ShellArgs, lines: Option<&[ScriptLine]>, mut worst: Exit) -> Exit {
    let mut json: Vec<serde_json::Value> = Vec::new();
    if args.json {
        json.extend(local::resolved_json(fleet));
    } else {
        println!("{}", local::resolved_table(fleet));
    }
    let all: Vec<HostIdx> = (0..fleet.hosts.len() as HostIdx)
        .filter(|&i| args.queue_offline || fleet.hosts[i as usize].online != Some(false))
        .collect();
    for sl in lines.unwrap_or_default() {
        let line = sl.text.as_str();
        let shown = match line::parse(line) {
            Ok(Line::Remote {
                only: Some(hosts),
                text,
                ..
            }) => local::find_hosts(fleet, &hosts).and_then(|h| dry_line(fleet, args, &text, &h)),
            Ok(Line::Remote { only: None, .. }) => dry_line(fleet, args, line, &all),
            Ok(Line::Stack {
                of: line::Of::Run { text, .. },
                ..
            }) => dry_line(fleet, args, &text, &all),
            Ok(Line::Contain { action, only }) => {
                let n = match &only {
                    Some(names) => local::find_hosts(fleet, names).map(|h| h.len()),
                    None => Ok(fleet.hosts.len()),
                };
                n.map(|n| dry_contain(args, line, action, n))
            }
            Ok(_) if args.json => Ok(serde_json::json!({"command": line, "local": true})),
            Ok(_) => {
                println!("{}  (local)", sanitize_line(line));
                continue;
            }
            Err((_, e)) => Err(e),
        };
        match shown {
            Ok(v) => json.push(v),
            Err(e) => {
                eprintln!("{}", style::problem(&format!("{}: {e}", sl.place)));
                worst = worst.max(Exit::Usage);
            }
        }
    }
    if args.json {
        let _ = local::print_json(&json);
    }
    worst
}

/// A `contain` / `lift` line of `--dry-run` (offline hosts count: containment reaches them).
fn dry_contain(
    args: &ShellArgs,
    line: &str,
    action: rtrsh_client::devices::Containment,
    hosts: usize,
) -> serde_json::Value {
    if !args.json {
        let note = if args.yes {
            "confirmed by --yes"
        } else {
            "asks for confirmation; refused in scripts without --yes"
        };
        println!(
            "{}  → {} on {} ({note})",
            sanitize_line(line),
            action.action_name(),
            plural(hosts, "host")
        );
    }
    serde_json::json!({
        "command": line,
        "action": action.action_name(),
        "hosts": hosts,
        "needs_yes": !args.yes,
    })
}

/// One line of `--dry-run`: printed, or its JSON object returned (`--json`).
fn dry_line(
    fleet: &Fleet,
    args: &ShellArgs,
    line: &str,
    hosts: &[HostIdx],
) -> Result<serde_json::Value, String> {
    let hosts: Vec<(HostIdx, Option<Platform>)> = hosts
        .iter()
        .map(|&i| (i, fleet.hosts[i as usize].platform))
        .collect();
    let p = interp::plan(&hosts, line).map_err(|(_, why)| why)?;
    let confirm = p.tier >= Tier::ActiveResponder && p.targets.len() > args.confirm_threshold;
    if args.json {
        let skipped: Vec<serde_json::Value> = p
            .skipped
            .iter()
            .map(|(why, hs)| {
                let aids: Vec<&str> = hs
                    .iter()
                    .map(|&i| fleet.hosts[i as usize].device.device_id.as_str())
                    .collect();
                serde_json::json!({"reason": why, "aids": aids})
            })
            .collect();
        return Ok(serde_json::json!({
            "command": line,
            "tier": p.tier,
            "hosts": p.targets.len(),
            "needs_yes": confirm && !args.yes,
            "skipped": skipped,
        }));
    }
    let note = match (confirm, args.yes) {
        (false, _) => "",
        (true, true) => " (confirmed by --yes)",
        (true, false) => " (asks for confirmation; refused in scripts without --yes)",
    };
    println!(
        "{}  → {} on {}{note}",
        sanitize_line(line),
        p.tier,
        plural(p.targets.len(), "host")
    );
    for (why, hs) in &p.skipped {
        println!("    not on {}: {}", plural(hs.len(), "host"), one_line(why));
    }
    Ok(serde_json::Value::Null)
}

/// Runs the fleet shell (or a fleet script).
pub async fn run(
    client: FalconClient,
    args: &ShellArgs,
    input: crate::shell::script::Input,
    saved: Option<crate::output::saved::SavedOutput>,
) -> Result<Exit, CliError> {
    if !(Duration::from_secs(1)..=Duration::from_secs(600)).contains(&args.batch_timeout) {
        return Err(CliError::usage(
            "--batch-timeout must be between 1s and 10m",
        ));
    }
    let sel = selection(args)?;
    let resolved = engine::resolve(&client, &sel).await?;
    let mut worst = Exit::Ok;
    eprintln!(
        "{}",
        style::notice(&format!(
            "{} matched",
            plural(resolved.devices.len(), "host")
        ))
    );
    if !resolved.unmatched.is_empty() {
        const LISTED: usize = 10;
        let mut names: Vec<String> = resolved
            .unmatched
            .iter()
            .take(LISTED)
            .map(|n| sanitize_line(n))
            .collect();
        if resolved.unmatched.len() > LISTED {
            names.push(format!(
                "and {} more ({} in all)",
                resolved.unmatched.len() - LISTED,
                resolved.unmatched.len()
            ));
        }
        eprintln!(
            "{}",
            style::problem(&format!("no host named: {}", names.join(", ")))
        );
        for (name, near) in &resolved.suggestions {
            let near: Vec<String> = near.iter().map(|n| sanitize_line(n)).collect();
            eprintln!(
                "rtrsh:   {}: did you mean {}?",
                sanitize_line(name),
                near.join(", ")
            );
        }
        if let Some(name) = resolved
            .unmatched
            .iter()
            .find(|n| !rtrsh_client::session::names::is_literal_name(n))
        {
            eprintln!("{}", style::hint(&crate::shell::wildcard_hint(name)));
        }
        worst = Exit::CommandFailed;
    }
    for (name, k) in &resolved.ambiguous {
        eprintln!(
            "rtrsh: {k} hosts are named {}: all are included",
            sanitize_line(name)
        );
    }
    if resolved.devices.is_empty() {
        return Err(CliError::new(Exit::CommandFailed, "no hosts matched")
            .with_hint("check the names or the filter (--dry-run shows what matches)"));
    }
    let opts = FleetOptions {
        queue_offline: args.queue_offline,
        batch_timeout: args.batch_timeout,
        limits: rtrsh_client::session::PollLimits {
            timeout: args.command_timeout,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut fleet = Fleet::new(client.clone(), resolved.devices, opts);
    let online = fleet.check_online().await?;
    if let Some(e) = &online.failure {
        eprintln!(
            "rtrsh: warning: could not learn whether {} online ({}); trying them anyway",
            if online.unknown == 1 {
                "1 host is".to_string()
            } else {
                format!("{} hosts are", online.unknown)
            },
            one_line(&e.to_string())
        );
    }
    if args.dry_run {
        let lines = match &input {
            crate::shell::script::Input::Lines(l) => Some(l.as_slice()),
            _ => None,
        };
        return Ok(dry_run(&fleet, args, lines, worst));
    }
    let offline: Vec<HostIdx> = (0..fleet.hosts.len() as HostIdx)
        .filter(|&i| fleet.hosts[i as usize].state == engine::HostState::Offline)
        .collect();
    if !offline.is_empty() {
        eprintln!(
            "rtrsh: skipping {} ({}); --queue-offline queues commands for them",
            plural(offline.len(), "offline host"),
            host_list(&fleet, &offline)
        );
        worst = Exit::CommandFailed;
    }
    let report = match connect(&mut fleet).await {
        Ok(r) => r,
        Err(e) => {
            close(&mut fleet).await;
            return Err(e);
        }
    };
    let mut by_reason: Vec<(String, Vec<HostIdx>)> = Vec::new();
    for (i, why) in &report.failed {
        match by_reason.iter_mut().find(|(w, _)| w == why) {
            Some((_, v)) => v.push(*i),
            None => by_reason.push((why.clone(), vec![*i])),
        }
    }
    for (why, hosts) in &by_reason {
        eprintln!(
            "rtrsh: could not connect {} ({}): {}",
            plural(hosts.len(), "host"),
            host_list(&fleet, hosts),
            sanitize_line(why)
        );
        worst = Exit::CommandFailed;
    }
    let active = fleet.active().count();
    let mut summary = format!("connected to {}", plural(report.connected, "host"));
    if report.queued > 0 {
        summary.push_str(&format!(
            ", {} offline (commands are queued)",
            report.queued
        ));
    }
    eprintln!("{}", style::notice(&summary));
    if active == 0 {
        close(&mut fleet).await;
        return Err(CliError::new(
            Exit::CommandFailed,
            "no host could be connected",
        ));
    }
    let info = SessionInfo {
        host: format!("fleet-{}", fleet.hosts.len()),
        aid: String::new(),
        session_id: report.batches.first().map(|(id, _)| id.to_string()),
        trace_ids: Vec::new(),
    };
    let mut transcript = match crate::shell::open_transcript(args, &info, &client) {
        Ok(t) => t,
        Err(e) => {
            close(&mut fleet).await;
            return Err(e);
        }
    };
    for (id, trace) in &report.batches {
        let members: Vec<String> = fleet
            .hosts
            .iter()
            .filter(|h| {
                h.state.active()
                    && h.batch
                        .is_some_and(|b| report.batches.get(b).is_some_and(|(bid, _)| bid == id))
            })
            .map(|h| {
                format!(
                    "{} ({}) {}",
                    h.device.hostname, h.device.device_id, h.session_id
                )
            })
            .collect();
        let note = format!(
            "session_open: batch {id}{}: {}: {}",
            trace
                .as_deref()
                .map(|t| format!(" (trace {t})"))
                .unwrap_or_default(),
            plural(members.len(), "host"),
            members.join(", ")
        );
        let _ = transcript.note(Some(&info), &note);
    }
    for (why, hosts) in &by_reason {
        let aids: Vec<&str> = hosts
            .iter()
            .map(|&i| fleet.hosts[i as usize].device.device_id.as_str())
            .collect();
        let _ = transcript.note(None, &format!("not connected ({why}): {}", aids.join(", ")));
    }
    // A big fleet's outputs go to one log (see `ONE_LOG_ABOVE`).
    let saved = saved.map(|s| {
        if fleet.hosts.len() > crate::output::saved::ONE_LOG_ABOVE {
            s.one_log()
        } else {
            s
        }
    });
    let stop = CancellationToken::new();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let refresh = fleet.spawn_refresh(args.pulse_interval, stop.clone(), events_tx);
    let mut shell = FleetShell {
        fleet,
        args,
        printer: Printer::new(args.raw, args.json, transcript)
            .with_saved(saved)
            .with_parsed(args.parsed),
        events: Some(events_rx),
        expired: None,
        watcher: None,
        rep: Representative::default(),
        cache: None,
    };
    // At a prompt, as on one host, the exit status is 0 unless the API became unusable: the
    // hosts that were skipped or not reached were said when it started. A script's status
    // tells them apart (1).
    if matches!(input, crate::shell::script::Input::Prompt) {
        worst = Exit::Ok;
    }
    let source = match input {
        crate::shell::script::Input::Lines(lines) => interp::Source::Script(lines),
        crate::shell::script::Input::Stream => {
            interp::Source::Stream(crate::shell::script::stream_stdin(args.json))
        }
        crate::shell::script::Input::Prompt => {
            interp::Source::Prompt(crate::shell::repl::history_path(args.profile.as_deref()))
        }
    };
    let result = interp::run(&mut shell, args, source).await;
    stop.cancel();
    let _ = refresh.await;
    close(&mut shell.fleet).await;
    let _ = shell.printer.transcript.session_close(&info);
    let _ = client.revoke().await;
    Ok(worst.max(result))
}

/// Deletes the fleet's sessions (a progress bar on a terminal when there are many; Ctrl-C
/// leaves the rest to expire on the server) and says what was left open.
async fn close(fleet: &mut Fleet) {
    let open = fleet
        .hosts
        .iter()
        .filter(|h| !h.session_id.is_empty())
        .count();
    if open == 0 {
        return;
    }
    let bar = (std::io::stderr().is_terminal() && open > 100).then(|| {
        let pb = indicatif::ProgressBar::new(open as u64);
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} closing sessions [{bar:30}] {pos}/{len} (Ctrl-C leaves the rest to expire)",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    });
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let interrupted = match crate::shell::repl::Interrupts::take() {
        Ok(mut sig) => Some(tokio::spawn(async move {
            if sig.recv().await.is_some() {
                c.cancel();
            }
        })),
        Err(_) => None,
    };
    let report = fleet
        .close(&cancel, &mut |done| {
            if let Some(pb) = &bar {
                pb.set_position(done as u64);
            }
        })
        .await;
    if let Some(t) = interrupted {
        t.abort();
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    if report.kept_queued > 0 {
        eprintln!(
            "rtrsh: kept {} open: commands are queued in them and run when the hosts come back",
            plural(report.kept_queued, "session")
        );
    }
    if report.left > 0 {
        let why = report
            .errors
            .first()
            .map(|e| format!(" ({})", one_line(e)))
            .unwrap_or_default();
        eprintln!(
            "rtrsh: warning: {} not closed{why}; they expire on the server after their idle time",
            plural(report.left, "session")
        );
    }
}

/// Opens the batch sessions, with a progress bar on a terminal.
async fn connect(fleet: &mut Fleet) -> Result<engine::ConnectReport, CliError> {
    let pending = fleet
        .hosts
        .iter()
        .filter(|h| h.state == engine::HostState::Pending)
        .count();
    let bar = (std::io::stderr().is_terminal() && pending > 1).then(|| {
        let pb = indicatif::ProgressBar::new(pending as u64);
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} connecting [{bar:30}] {pos}/{len} hosts ({elapsed})",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    });
    let r = fleet
        .connect(&mut |done| {
            if let Some(pb) = &bar {
                pb.set_position(done as u64);
            }
        })
        .await;
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    Ok(r?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtrsh_client::devices::Device;

    fn fleet(platforms: &[&str]) -> Fleet {
        let client = FalconClient::new(
            "http://127.0.0.1:1",
            rtrsh_client::Credentials {
                client_id: "x".into(),
                client_secret: secrecy::SecretString::from("y".to_string()),
                member_cid: None,
            },
            Default::default(),
        )
        .expect("client");
        let devices = platforms
            .iter()
            .enumerate()
            .map(|(i, p)| Device {
                device_id: Aid::new(format!("{i:032x}")),
                hostname: format!("H{i}"),
                platform_name: p.to_string(),
                ..Default::default()
            })
            .collect();
        Fleet::new(client, devices, FleetOptions::default())
    }

    #[test]
    fn prompt_shows_count_and_mixed_dirs() {
        let mut f = fleet(&["Windows", "Windows", "Linux"]);
        for (i, d) in ["C:\\", "C:\\", "/"].iter().enumerate() {
            f.hosts[i].state = engine::HostState::Connected;
            f.hosts[i].cwd = d.to_string();
        }
        assert_eq!(
            prompt_text(f.active().count(), common_dir(&f)),
            "[3 hosts] C:\\ (+1 other dir)> "
        );
        f.hosts[2].state = engine::HostState::Dropped;
        assert_eq!(
            prompt_text(f.active().count(), common_dir(&f)),
            "[2 hosts] C:\\> "
        );
        f.hosts[0].cwd = "EVIL\x1b[2J".into();
        f.hosts[1].cwd = "EVIL\x1b[2J".into();
        assert!(!prompt_text(f.active().count(), common_dir(&f)).contains('\x1b'));
    }
}
