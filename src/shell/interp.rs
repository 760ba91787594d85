//! The interpreter: the one piece of code that runs a line, for the prompt and for scripts, on
//! one host or on ten thousand.
//!
//! A line is parsed once into a [`Line`] (checked without a host when it was read), then run
//! here: the local commands (`help`, `history`, `clear`, `library`, `exit`), the per-platform
//! check of an RTR command ([`plan`]), the confirmation of write commands on many hosts, Ctrl-C,
//! where messages go (`source:line:column` in scripts), `--fail-fast` and the exit status.
//!
//! What differs between one host and many is only how a command reaches the hosts and how its
//! results are laid out: the [`Hosts`] trait. [`crate::shell::single::OneHost`] is one session
//! (execute-then-poll, output streamed as it arrives, a spinner at the prompt);
//! `crate::shell::fleet::FleetShell` is batch sessions with a progress bar and a summary line
//! per command. One host is a fleet of one as far as this module can tell: `hosts`, `only`,
//! `queue wait` and the confirmation rule work the same on both.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::error::Exit;
use crate::output::sanitize::sanitize_line;
use crate::output::style;
use crate::shell::complete::ShellHelper;
use crate::shell::line::Of;
use crate::shell::line::{self, Line, LineProblem};
use crate::shell::pipe::Local;
use crate::shell::pipe::Output;
use crate::shell::results::{Collect, Results};
use crate::shell::script::{ScriptLine, typed_lines};
use crate::shell::{ShellArgs, builtins, repl};
use rtrsh_client::Aid;
use rtrsh_client::FalconClient;
use rtrsh_client::devices::{ActionOutcome, Containment};
use rtrsh_client::session::classify;
use rtrsh_client::session::fleet::HostIdx;
use rtrsh_command::{Platform, Tier};

/// Where background notices go (a session refreshed, expired): the prompt's printer, which
/// keeps the line being typed intact, or stderr in a script.
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

/// A line's RTR command checked for the platforms of the hosts it goes to.
#[derive(Debug)]
pub struct Plan {
    pub words: Vec<String>,
    /// The highest tier any platform needs.
    pub tier: Tier,
    /// The hosts that accept it.
    pub targets: Vec<HostIdx>,
    /// Hosts left out because their platform rejects it, with the reason.
    pub skipped: Vec<(String, Vec<HostIdx>)>,
}

/// Checks `text` for each platform among `hosts`; hosts whose platform rejects it are left out
/// (with the reason). An error (with its column in `text`) when no host accepts it.
pub fn plan(hosts: &[(HostIdx, Option<Platform>)], text: &str) -> Result<Plan, LineProblem> {
    let mut by_platform: Vec<(Option<Platform>, Vec<HostIdx>)> = Vec::new();
    for &(i, p) in hosts {
        match by_platform.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(i),
            None => by_platform.push((p, vec![i])),
        }
    }
    if by_platform.is_empty() {
        // No host to run on: still check the line itself.
        by_platform.push((None, Vec::new()));
    }
    let mut accepted: Option<(Vec<String>, Tier)> = None;
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let mut first_error = None;
    for (platform, hs) in by_platform {
        match classify(text, platform) {
            Ok((words, tier)) => {
                accepted = Some(match accepted {
                    Some((w, t)) => (w, t.max(tier)),
                    None => (words, tier),
                });
                targets.extend(hs);
            }
            Err(e) => {
                let msg = e.to_string();
                first_error.get_or_insert((e.column(text), msg.clone()));
                if !hs.is_empty() {
                    skipped.push((msg, hs));
                }
            }
        }
    }
    match accepted {
        Some((words, tier)) => {
            targets.sort_unstable();
            Ok(Plan {
                words,
                tier,
                targets,
                skipped,
            })
        }
        None => Err(first_error.unwrap_or_else(|| (1, "invalid command".into()))),
    }
}

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineEnd {
    pub exit: Exit,
    /// Stop reading lines (`exit`, or the API became unusable).
    pub stop: bool,
}

impl LineEnd {
    pub fn of(exit: Exit) -> LineEnd {
        LineEnd {
            exit,
            stop: exit == Exit::AuthOrConnection,
        }
    }
}

/// How commands reach the hosts and how their results are laid out: the only thing that
/// differs between one host and many.
#[allow(async_fn_in_trait)] // used generically within the crate, never as `dyn` or across threads
pub trait Hosts {
    fn client(&self) -> &FalconClient;
    /// `--json`: stdout holds JSON lines only.
    fn json(&self) -> bool;
    /// The platform every host shares (`help` lists its commands).
    fn platform(&self) -> Option<Platform>;
    /// A line for the user on stderr (`rtrsh: ...`), clear of progress bars.
    fn notice(&mut self, msg: &str);
    /// Stdout is gone (a closed pipe): stop.
    fn broken_pipe(&self) -> bool;
    /// The hosts a command goes to, each with its platform: every connected host, or those
    /// `only` names (an error names the ones that are not here).
    fn targets(
        &mut self,
        only: Option<&[String]>,
    ) -> Result<Vec<(HostIdx, Option<Platform>)>, String>;
    /// The prompt text (hosts and directory, inert).
    async fn prompt(&self) -> String;
    /// The line editor's completion and hints for these hosts.
    fn helper(&mut self) -> ShellHelper;
    /// From now on, background notices go to `notify`.
    fn watch(&mut self, notify: Notify);
    /// Before each line: take in what the background learned (expired sessions).
    fn before_line(&mut self);
    /// A local pipeline is about to write to stdout itself: end the line of host output left
    /// open there (kept open only so that piped output keeps its exact bytes).
    fn release_stdout(&mut self);
    /// Sends a planned command (`text` without any `only` prefix or local pipe) and lays out its
    /// results; stdout goes to `to` when the line has a local pipe or redirection (on many
    /// hosts a line per output line, prefixed with the host, as pdsh does). Each host's
    /// complete output goes to `collect` too, when there is one (parsed results).
    async fn send(
        &mut self,
        text: &str,
        plan: &Plan,
        only: bool,
        to: &mut Option<Local>,
        collect: &mut Option<Collect>,
        cancel: &CancellationToken,
    ) -> LineEnd;
    /// `files`.
    async fn files(&mut self) -> Exit;
    /// `download [NAME]`.
    async fn download(&mut self, name: Option<&str>, cancel: &CancellationToken) -> Exit;
    /// `queue [wait [D]]`.
    async fn queue(&mut self, wait: Option<Duration>, cancel: &CancellationToken) -> Exit;
    /// `hosts`.
    async fn hosts(&mut self) -> Exit;
    /// `drop HOSTS`.
    async fn drop_hosts(&mut self, names: &[String]) -> Result<(), String>;
    /// The hosts `contain` and `lift` act on, each as (hostname, aid): every host of the shell,
    /// offline ones too (containment needs no session; an offline host is contained when it is
    /// back), or those `only` names (an error names the ones that are not here).
    fn action_targets(&mut self, only: Option<&[String]>) -> Result<Vec<(String, Aid)>, String>;
    /// A note about one host in the audit transcript (what a containment action did).
    fn audit(&mut self, host: &str, aid: &str, note: &str);
}

/// Where lines come from.
pub enum Source {
    /// `-c`, `--script` or stdin from a file: already checked, in order.
    Script(Vec<ScriptLine>),
    /// Stdin from a pipe: each line as it arrives, checked (`Err`: refused, its message).
    Stream(tokio::sync::mpsc::UnboundedReceiver<Result<ScriptLine, String>>),
    /// The interactive prompt (the profile's history file).
    Prompt(Option<std::path::PathBuf>),
}

/// The lines of a script, known in advance or arriving on a pipe.
enum Feed {
    Lines(std::vec::IntoIter<ScriptLine>),
    Stream(tokio::sync::mpsc::UnboundedReceiver<Result<ScriptLine, String>>),
}

impl Feed {
    async fn next(&mut self) -> Option<Result<ScriptLine, String>> {
        match self {
            Feed::Lines(l) => l.next().map(Ok),
            Feed::Stream(rx) => rx.recv().await,
        }
    }
}

struct Interp<'a, H> {
    hosts: &'a mut H,
    args: &'a ShellArgs,
    interactive: bool,
    history: Vec<String>,
    /// Parsed results of the commands analysts stack (`stack`, `diff`, `results`).
    results: Results,
    /// Whether outputs are parsed: at a prompt or from a pipe always (a `stack` may come); a
    /// script only when a line of it reads them (or `--parsed`): a 50,000-host `ps` in a
    /// script that never stacks costs no parsing.
    parse: bool,
}

/// Runs lines from `source` on `hosts` until the end, `exit`, Ctrl-D, or the API becomes
/// unusable. Exit status: a script's is the worst of its lines (1 a command failed, 2 a line
/// was invalid, 3 authentication or connection); a prompt's is 0 unless the API became
/// unusable.
pub async fn run<H: Hosts>(hosts: &mut H, args: &ShellArgs, source: Source) -> Exit {
    // Before the editor starts: see `repl::interrupt_canceller`.
    let (running, sigint) = match repl::interrupt_canceller() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{}", style::error(&e));
            return Exit::Usage;
        }
    };
    let set_running = |c: Option<CancellationToken>| {
        *running.lock().unwrap_or_else(|p| p.into_inner()) = c;
    };
    let interactive = matches!(source, Source::Prompt(_));
    let parse = args.parsed
        || match &source {
            Source::Script(lines) => lines.iter().any(|l| {
                matches!(
                    line::parse(&l.text),
                    Ok(Line::Stack { .. } | Line::Diff { .. } | Line::Results)
                )
            }),
            Source::Stream(_) | Source::Prompt(_) => true,
        };
    let mut it = Interp {
        hosts,
        args,
        interactive,
        history: Vec::new(),
        results: Results::default(),
        parse,
    };
    let mut worst = Exit::Ok;
    match source {
        Source::Script(_) | Source::Stream(_) => {
            let mut feed = match source {
                Source::Script(lines) => Feed::Lines(lines.into_iter()),
                Source::Stream(rx) => Feed::Stream(rx),
                Source::Prompt(_) => Feed::Lines(Vec::new().into_iter()),
            };
            it.hosts
                .watch(Arc::new(|m: &str| eprintln!("{}", style::notice(m))));
            // Ctrl-C stops a script: the command running is cancelled, nothing after it runs.
            let cancel = CancellationToken::new();
            set_running(Some(cancel.clone()));
            loop {
                let next = tokio::select! {
                    l = feed.next() => l,
                    _ = cancel.cancelled() => None,
                };
                let Some(next) = next else { break };
                if it.hosts.broken_pipe() {
                    break;
                }
                let sl = match next {
                    Ok(sl) => sl,
                    // A piped line refused as it arrived: the lines before it already ran; the
                    // ones after it may depend on it (`cdd C:\Temp` then `rm x`), so the
                    // stream stops there (exit 2).
                    Err(why) => {
                        eprintln!("{}", style::problem(&why));
                        eprintln!(
                            "{}",
                            style::problem("stopped at this line; the lines before it ran")
                        );
                        worst = worst.max(Exit::Usage);
                        break;
                    }
                };
                it.hosts.before_line();
                let end = it.line(&sl.text, Some(&sl), &cancel).await;
                worst = worst.max(end.exit);
                if cancel.is_cancelled() {
                    worst = worst.max(Exit::CommandFailed);
                    break;
                }
                if end.stop || (args.fail_fast && end.exit != Exit::Ok) {
                    break;
                }
            }
            set_running(None);
        }
        Source::Prompt(history) => {
            let helper = it.hosts.helper().with_stack_fields(it.results.fields());
            let (requests, notifier) = match repl::start_editor(history, helper) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("{}", style::error(&e));
                    sigint.abort();
                    return Exit::Usage;
                }
            };
            it.hosts.watch(Arc::new(move |m: &str| notifier.notify(m)));
            'prompt: loop {
                let (tx, rx) = oneshot::channel();
                let prompt = it.hosts.prompt().await;
                if requests
                    .send(repl::ReadRequest { prompt, reply: tx })
                    .is_err()
                {
                    break;
                }
                let text = match rx.await {
                    Ok(repl::Read::Line(t)) => t,
                    Ok(repl::Read::Interrupted) => continue,
                    Ok(repl::Read::Eof) | Err(_) => break,
                    Ok(repl::Read::Failed(e)) => {
                        eprintln!("{}", style::error(&format!("cannot read input: {e}")));
                        worst = worst.max(Exit::Usage);
                        break;
                    }
                };
                // A paste of several lines arrives as one string: each line runs on its own.
                for line in typed_lines(&text) {
                    let line = match line {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("{}", style::problem(&e));
                            continue;
                        }
                    };
                    it.hosts.before_line();
                    let cancel = CancellationToken::new();
                    set_running(Some(cancel.clone()));
                    let quiet = repl::quiet_controls();
                    let end = it.line(line, None, &cancel).await;
                    drop(quiet);
                    set_running(None);
                    if end.exit == Exit::AuthOrConnection {
                        worst = Exit::AuthOrConnection;
                    }
                    if end.stop || it.hosts.broken_pipe() {
                        break 'prompt;
                    }
                    if cancel.is_cancelled() {
                        // The rest of a paste is not run after Ctrl-C.
                        break;
                    }
                }
            }
            drop(requests);
        }
    }
    sigint.abort();
    worst
}

impl<H: Hosts> Interp<'_, H> {
    /// A refused line: `rtrsh: [source:line[:column]: ]why`, exit 2.
    fn refuse(&self, at: Option<&ScriptLine>, column: Option<usize>, why: &str) -> LineEnd {
        match (at, column) {
            (Some(sl), Some(c)) => eprintln!("{}", style::problem(&format!("{}: {why}", sl.at(c)))),
            (Some(sl), None) => eprintln!("{}", style::problem(&format!("{}: {why}", sl.place))),
            (None, _) => eprintln!("{}", style::problem(why)),
        }
        LineEnd::of(Exit::Usage)
    }

    /// Runs one line (`at`: where it is in a script).
    async fn line(
        &mut self,
        text: &str,
        at: Option<&ScriptLine>,
        cancel: &CancellationToken,
    ) -> LineEnd {
        let parsed = match line::parse(text) {
            Ok(l) => l,
            Err((column, why)) => return self.refuse(at, Some(column), &why),
        };
        let json = self.hosts.json();
        match parsed {
            Line::Exit => LineEnd {
                exit: Exit::Ok,
                stop: true,
            },
            Line::Help(topic) => match builtins::help(topic.as_deref(), self.hosts.platform()) {
                Ok(t) => {
                    builtins::print_help(&t, json);
                    LineEnd::of(Exit::Ok)
                }
                Err(e) => self.refuse(at, None, &e),
            },
            Line::History => {
                builtins::print_history(&self.history, json);
                LineEnd::of(Exit::Ok)
            }
            Line::Clear => {
                builtins::clear_screen(json);
                LineEnd::of(Exit::Ok)
            }
            Line::Library(l) => match crate::shell::library::parse_args(&l) {
                Ok(which) => {
                    let listing =
                        crate::shell::library::list(self.hosts.client(), &which, json).await;
                    print_listing(&listing.stdout, json);
                    for e in &listing.errors {
                        eprintln!("{}", style::error(&e.to_string()));
                    }
                    LineEnd::of(if listing.errors.is_empty() {
                        Exit::Ok
                    } else {
                        Exit::CommandFailed
                    })
                }
                Err(e) => self.refuse(at, None, &e),
            },
            Line::Files => LineEnd::of(self.hosts.files().await),
            Line::Download(name) => LineEnd::of(self.hosts.download(name.as_deref(), cancel).await),
            Line::Queue { wait } => LineEnd::of(self.hosts.queue(wait, cancel).await),
            Line::Hosts => LineEnd::of(self.hosts.hosts().await),
            Line::Drop(names) => match self.hosts.drop_hosts(&names).await {
                Ok(()) => LineEnd::of(Exit::Ok),
                Err(e) => self.refuse(at, None, &e),
            },
            Line::Contain { action, only } => {
                self.history.push(text.trim().to_string());
                self.contain(action, only.as_deref(), at).await
            }
            Line::Remote {
                only,
                text: cmd,
                offset,
                to,
            } => {
                self.history.push(text.trim().to_string());
                self.remote(only.as_deref(), &cmd, offset, to.as_ref(), at, cancel)
                    .await
            }
            Line::Results => {
                if crate::shell::triage::print_results(self.results.all(), json).is_err() {
                    return self.stdout_gone();
                }
                LineEnd::of(Exit::Ok)
            }
            Line::Stack { field, all, of } => {
                self.history.push(text.trim().to_string());
                self.stack(&field, all, of, at, cancel).await
            }
            Line::Diff { a, b, of } => {
                let printed = self
                    .results
                    .get(of)
                    .and_then(|k| crate::shell::results::diff(k, &a, &b).map(|d| (k, d)));
                match printed {
                    Ok((k, d)) => {
                        if crate::shell::triage::print_diff(k, &d, json).is_err() {
                            return self.stdout_gone();
                        }
                        LineEnd::of(Exit::Ok)
                    }
                    Err(e) => self.refuse(at, None, &e),
                }
            }
        }
    }

    /// Stdout was closed (`| head`): stop.
    fn stdout_gone(&self) -> LineEnd {
        LineEnd {
            exit: Exit::Ok,
            stop: true,
        }
    }

    /// `stack FIELD [#N | CMD]`: CMD runs first (its output saved and audited, not printed).
    async fn stack(
        &mut self,
        field: &str,
        all: bool,
        of: Of,
        at: Option<&ScriptLine>,
        cancel: &CancellationToken,
    ) -> LineEnd {
        let (no, mut end) = match of {
            Of::Newest => (None, LineEnd::of(Exit::Ok)),
            Of::Kept(n) => (Some(n), LineEnd::of(Exit::Ok)),
            Of::Run { text, offset } => {
                let before = self.results.all().last().map(|k| k.no);
                let end = self
                    .remote(None, &text, offset, Some(&Output::Discard), at, cancel)
                    .await;
                let newest = self.results.all().last().map(|k| k.no);
                if end.stop || cancel.is_cancelled() {
                    return end;
                }
                if newest == before {
                    // No host answered it (`stack` only runs commands whose output is parsed).
                    eprintln!(
                        "{}",
                        style::problem("no host answered it: nothing to stack")
                    );
                    return LineEnd::of(end.exit.max(Exit::CommandFailed));
                }
                (newest, end)
            }
        };
        let kept = match self.results.get(no) {
            Ok(k) => k,
            Err(e) => return self.refuse(at, None, &e),
        };
        match crate::shell::results::stack(kept, field) {
            Ok(s) => {
                if crate::shell::triage::print_stack(&s, all, self.hosts.json()).is_err() {
                    return self.stdout_gone();
                }
            }
            Err(e) => {
                let r = self.refuse(at, None, &e);
                end.exit = end.exit.max(r.exit);
            }
        }
        end
    }

    /// An RTR command: checked for the hosts' platforms, confirmed when it writes on many
    /// hosts, then sent.
    async fn remote(
        &mut self,
        only: Option<&[String]>,
        text: &str,
        offset: usize,
        to: Option<&Output>,
        at: Option<&ScriptLine>,
        cancel: &CancellationToken,
    ) -> LineEnd {
        if to.is_some_and(|o| *o != Output::Discard) && self.hosts.json() {
            return self.refuse(
                at,
                None,
                "a local pipe or redirection takes text output; with --json, pipe rtrsh's own output (rtrsh ... --json | jq)",
            );
        }
        let targets = match self.hosts.targets(only) {
            Ok(t) => t,
            Err(e) => return self.refuse(at, None, &e),
        };
        let plan = match plan(&targets, text) {
            Ok(p) => p,
            Err((column, why)) => return self.refuse(at, Some(offset + column), &why),
        };
        if plan.targets.is_empty() && plan.skipped.is_empty() {
            // The hosts meant are not connected: nothing ran where it was asked to.
            self.hosts.notice("no connected host to run it on");
            return LineEnd::of(Exit::CommandFailed);
        }
        let count = plan.targets.len();
        if plan.tier >= Tier::ActiveResponder
            && count > self.args.confirm_threshold
            && !self.args.yes
        {
            let what = format!(
                "{} command on {}",
                plan.tier,
                crate::output::layout::plural(count, "host")
            );
            if !self.interactive {
                let e = format!(
                    "refused: {what} (more than --confirm-threshold {}); pass --yes to run it",
                    self.args.confirm_threshold
                );
                return self.refuse(at, None, &e);
            }
            let q = format!("Run `{}` ({what})?", sanitize_line(text));
            // Ctrl-C while the question waits counts as "no".
            if !confirm(q).await || cancel.is_cancelled() {
                eprintln!("{}", style::notice("not run"));
                return LineEnd::of(Exit::Ok);
            }
        }
        // Started (or created) before anything is sent: a bad path costs no API call.
        if matches!(to, Some(Output::Pipe(_))) {
            self.hosts.release_stdout();
        }
        let mut local = match to.map(|o| Local::open(o, self.args.raw)).transpose() {
            Ok(l) => l,
            Err(e) => return self.refuse(at, None, &e),
        };
        let mut collect = if self.parse {
            self.results.start(text, &plan.words)
        } else {
            None
        };
        let mut end = self
            .hosts
            .send(
                text,
                &plan,
                only.is_some(),
                &mut local,
                &mut collect,
                cancel,
            )
            .await;
        if let Some(c) = collect {
            self.results.finish(c);
        }
        match local.map(Local::finish) {
            Some(Err(e)) => {
                eprintln!("{}", style::error(&e));
                end.exit = end.exit.max(Exit::CommandFailed);
            }
            // The pipeline failed (`| grep -q x` found nothing): its status, as in a shell.
            Some(Ok(false)) => end.exit = end.exit.max(Exit::CommandFailed),
            _ => {}
        }
        end
    }
}

impl<H: Hosts> Interp<'_, H> {
    /// `contain` / `lift`: confirmed first, then one devices action for all the hosts (500 a
    /// request), and a line per host saying what the API did.
    ///
    /// Containment cuts a host off the network (or puts a possibly compromised one back on it),
    /// so it asks even for one host, below `--confirm-threshold`: at the prompt it asks, in a
    /// script it is refused without `--yes`, before anything is sent.
    async fn contain(
        &mut self,
        action: Containment,
        only: Option<&[String]>,
        at: Option<&ScriptLine>,
    ) -> LineEnd {
        let targets = match self.hosts.action_targets(only) {
            Ok(t) => t,
            Err(e) => return self.refuse(at, None, &e),
        };
        if targets.is_empty() {
            self.hosts.notice("no host to act on");
            return LineEnd::of(Exit::Ok);
        }
        let word = action.word();
        let hosts = crate::output::layout::plural(targets.len(), "host");
        if !self.args.yes {
            if !self.interactive {
                let e = format!(
                    "refused: `{word}` on {hosts} changes their network access; pass --yes to run it"
                );
                return self.refuse(at, None, &e);
            }
            let names: Vec<String> = targets
                .iter()
                .take(5)
                .map(|(h, _)| sanitize_line(h))
                .collect();
            let more = if targets.len() > names.len() {
                ", ..."
            } else {
                ""
            };
            let q = match action {
                Containment::Contain => format!(
                    "Network-contain {hosts} ({}{more})? They will reach the Falcon cloud only.",
                    names.join(", ")
                ),
                Containment::Lift => {
                    format!("Lift containment on {hosts} ({}{more})?", names.join(", "))
                }
            };
            if !confirm(q).await {
                eprintln!("{}", style::notice("not run"));
                return LineEnd::of(Exit::Ok);
            }
        }
        let aids: Vec<Aid> = targets.iter().map(|(_, a)| a.clone()).collect();
        let outcome = self.hosts.client().device_action(action, &aids).await;
        let (results, mut exit) = containment_results(action, &targets, &outcome);
        if outcome
            .failed
            .as_ref()
            .is_some_and(|e| e.is_auth_or_connection())
        {
            exit = Exit::AuthOrConnection;
        }
        for r in &results {
            let note = match &r.message {
                Some(m) => format!("{}: {} ({m})", action.action_name(), r.result),
                None => format!("{}: {}", action.action_name(), r.result),
            };
            self.hosts.audit(&r.host, &r.aid, &note);
        }
        let json = self.hosts.json();
        let mut out = std::io::stdout().lock();
        for r in &results {
            let line = if json {
                let mut v = serde_json::json!({
                    "host": r.host,
                    "aid": r.aid,
                    "action": action.action_name(),
                    "result": r.result,
                });
                if let Some(m) = &r.message {
                    v["error"] = serde_json::json!(m);
                }
                crate::output::json::to_line(&v).unwrap_or_default()
            } else {
                let mut l = format!("{}: {}", sanitize_line(&r.host), r.text);
                l.push('\n');
                l.into_bytes()
            };
            if out.write_all(&line).is_err() {
                break;
            }
        }
        let _ = out.flush();
        drop(out);
        if let Some(e) = &outcome.failed {
            let msg = match e.status() {
                Some(403) => format!(
                    "{word}: this API client lacks the \"Hosts: Write\" scope (devices:write); add it to the API client in the Falcon console"
                ),
                _ => match rtrsh_client::error::hint(e) {
                    Some(h) => format!("{word}: {e} ({h})"),
                    None => format!("{word}: {e}"),
                },
            };
            eprintln!("{}", style::problem(&msg));
        }
        if targets.len() > 1 {
            let requested = results.iter().filter(|r| r.result == "requested").count();
            let already = results.iter().filter(|r| r.result == "already").count();
            let mut summary = format!("{word} on {hosts}: {requested} requested");
            if already > 0 {
                summary.push_str(&format!(", {already} already so"));
            }
            let failed = results.len() - requested - already;
            if failed > 0 {
                summary.push_str(&format!(", {failed} failed"));
            }
            self.hosts.notice(&summary);
        }
        LineEnd::of(exit)
    }
}

/// What a containment action did on one host.
#[derive(Debug, PartialEq, Eq)]
struct ContainResult {
    host: String,
    aid: String,
    /// `requested`, `already` (409: in, or on its way to, that state), `failed` or `not sent`.
    result: &'static str,
    /// The API's reason, when it refused the host.
    message: Option<String>,
    /// The text line.
    text: String,
}

/// A result per host, in the order of `targets`, and the exit status: 1 when a host failed or
/// was not reached, else 0 ("already" is the state asked for).
fn containment_results(
    action: Containment,
    targets: &[(String, Aid)],
    outcome: &ActionOutcome,
) -> (Vec<ContainResult>, Exit) {
    let mut exit = Exit::Ok;
    let results = targets
        .iter()
        .map(|(host, aid)| {
            let error = outcome.errors.iter().find(|e| {
                e.message
                    .to_ascii_lowercase()
                    .contains(&aid.to_ascii_lowercase())
            });
            let (result, message, text) =
                if outcome.done.iter().any(|d| d.eq_ignore_ascii_case(aid)) {
                    let text = match action {
                        Containment::Contain => {
                            "containment requested (containment_pending until the host applies it)"
                        }
                        Containment::Lift => {
                            "lift requested (lift_containment_pending until the host applies it)"
                        }
                    };
                    ("requested", None, text.to_string())
                } else if let Some(e) = error {
                    let m = sanitize_line(&e.message);
                    if e.code == 409 {
                        let text = match action {
                            Containment::Contain => "already contained or pending",
                            Containment::Lift => "not contained, or lift already pending",
                        };
                        ("already", Some(m), text.to_string())
                    } else {
                        exit = Exit::CommandFailed;
                        (
                            "failed",
                            Some(m.clone()),
                            format!("failed: {m} ({})", e.code),
                        )
                    }
                } else {
                    exit = Exit::CommandFailed;
                    let why = if outcome.failed.is_some() {
                        "not done: the request failed"
                    } else {
                        "not done: the API did not mention this host"
                    };
                    ("not sent", None, why.to_string())
                };
            ContainResult {
                host: host.clone(),
                aid: aid.to_string(),
                result,
                message,
                text,
            }
        })
        .collect();
    (results, exit)
}

/// Prints a listing that is already inert (`library`): JSON lines as they are, text through
/// the terminal sanitiser.
fn print_listing(text: &str, json: bool) {
    let mut out = std::io::stdout().lock();
    let _ = if json {
        out.write_all(text.as_bytes())
    } else {
        out.write_all(sanitize_line_keep_newlines(text).as_bytes())
    };
    let _ = out.flush();
}

fn sanitize_line_keep_newlines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(body) => format!("{}\n", sanitize_line(body)),
            None => sanitize_line(l),
        })
        .collect()
}

/// Asks a yes/no question on the terminal (the line editor is idle meanwhile).
async fn confirm(question: String) -> bool {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        return false;
    }
    tokio::task::spawn_blocking(move || {
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut s = String::new();
        if std::io::stdin().lock().read_line(&mut s).is_err() {
            return false;
        }
        matches!(s.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_results_per_host() {
        use rtrsh_client::ApiErrorItem;
        let t = |h: &str, a: &str| (h.to_string(), Aid::new(a));
        let targets = [
            t("A", "aaaa"),
            t("B", "bbbb"),
            t("C", "cccc"),
            t("D", "dddd"),
        ];
        let outcome = ActionOutcome {
            done: vec!["AAAA".into()],
            errors: vec![
                ApiErrorItem {
                    code: 409,
                    message: "Device bbbb is already contained".into(),
                },
                ApiErrorItem {
                    code: 404,
                    message: "Device not found: cccc".into(),
                },
            ],
            failed: None,
        };
        let (r, exit) = containment_results(Containment::Contain, &targets, &outcome);
        let got: Vec<&str> = r.iter().map(|r| r.result).collect();
        assert_eq!(got, ["requested", "already", "failed", "not sent"]);
        assert_eq!(exit, Exit::CommandFailed);
        // "Already" is the state asked for.
        let (r, exit) = containment_results(Containment::Contain, &targets[..2], &outcome);
        assert_eq!(r[1].text, "already contained or pending");
        assert_eq!(exit, Exit::Ok);
    }

    #[test]
    fn plans_per_platform() {
        let hosts = [
            (0, Some(Platform::Windows)),
            (1, Some(Platform::Linux)),
            (2, Some(Platform::Windows)),
        ];
        let p = plan(&hosts, "reg query HKLM\\Software").expect("valid on Windows");
        assert_eq!(p.targets, vec![0, 2]);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].1, vec![1]);
        let p = plan(&hosts, "rm C:\\x").expect("valid");
        assert_eq!(p.tier, Tier::ActiveResponder);
        assert_eq!(plan(&hosts[..2], "lss").expect_err("unknown").0, 1);
        // One host is a fleet of one: the same check.
        assert!(plan(&hosts[1..2], "reg query HKLM\\Software").is_err());
    }
}
