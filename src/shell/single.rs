//! One host, as the interpreter ([`crate::shell::interp`]) sees it: one RTR session. A command
//! is executed and polled with its output streamed as it arrives ([`exec::run_line`]), a
//! spinner waits for the first output at the prompt, and `get` saves the file in the same step.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::Exit;
use crate::output::style;
use crate::shell::complete::{CompletionCache, ShellHelper};
use crate::shell::exec;
use crate::shell::interp::{Hosts, LineEnd, Notify, Plan};
use crate::shell::outputs::{LineResult, Outputs};
use crate::shell::pipe::Local;
use crate::shell::{fleet::local, repl};
use rtrsh_client::Aid;
use rtrsh_client::FalconClient;
use rtrsh_client::session::HostSession;
use rtrsh_client::session::fleet::HostIdx;
use rtrsh_client::session::poll::OutputSink;
use rtrsh_client::session::pulse::PulseEvent;
use rtrsh_command::Platform;

/// One open session and where its results go.
pub struct OneHost<'a> {
    pub session: &'a HostSession,
    pub outs: &'a mut Outputs,
    interactive: bool,
    events: Option<mpsc::UnboundedReceiver<PulseEvent>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// Directory listings cached for completion (commands that change files invalidate them).
    cache: Option<CompletionCache>,
}

impl<'a> OneHost<'a> {
    pub fn new(
        session: &'a HostSession,
        outs: &'a mut Outputs,
        events: mpsc::UnboundedReceiver<PulseEvent>,
        interactive: bool,
    ) -> Self {
        OneHost {
            session,
            outs,
            interactive,
            events: Some(events),
            watcher: None,
            cache: None,
        }
    }

    /// The session's files in the cloud.
    async fn listed(&self) -> crate::shell::get::Listed {
        let sid = self.session.session_id().await;
        let listed = self
            .session
            .client()
            .session_files(&sid)
            .await
            .map_err(|e| e.to_string());
        vec![(self.session.target().clone(), listed)]
    }

    /// Whether `name` names this host (its hostname, any case, or its aid).
    fn is_me(&self, name: &str) -> bool {
        let t = self.session.target();
        t.hostname.eq_ignore_ascii_case(name) || t.aid.eq_ignore_ascii_case(name)
    }
}

impl Drop for OneHost<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

impl Hosts for OneHost<'_> {
    fn client(&self) -> &FalconClient {
        self.session.client()
    }

    fn json(&self) -> bool {
        self.outs.json
    }

    fn platform(&self) -> Option<Platform> {
        self.session.target().platform
    }

    fn notice(&mut self, msg: &str) {
        self.outs.notify(msg.to_string());
    }

    fn broken_pipe(&self) -> bool {
        self.outs.term.broken_pipe
    }

    fn audit(&mut self, host: &str, aid: &str, note: &str) {
        let info = crate::output::transcript::SessionInfo {
            host: host.to_string(),
            aid: aid.to_string(),
            ..Default::default()
        };
        let _ = self.outs.transcript.note(Some(&info), note);
    }

    fn action_targets(&mut self, only: Option<&[String]>) -> Result<Vec<(String, Aid)>, String> {
        self.targets(only)?;
        let t = self.session.target();
        Ok(vec![(t.hostname.clone(), t.aid.clone())])
    }

    fn targets(
        &mut self,
        only: Option<&[String]>,
    ) -> Result<Vec<(HostIdx, Option<Platform>)>, String> {
        if let Some(names) = only {
            let others: Vec<String> = names
                .iter()
                .filter(|n| !self.is_me(n))
                .map(|n| crate::output::sanitize::sanitize_line(n))
                .collect();
            if !others.is_empty() {
                return Err(format!("not in this session: {}", others.join(", ")));
            }
        }
        Ok(vec![(0, self.platform())])
    }

    async fn prompt(&self) -> String {
        repl::prompt_text(&self.session.target().hostname, &self.session.cwd().await)
    }

    fn helper(&mut self) -> ShellHelper {
        let helper = ShellHelper::new(
            Some(self.session.clone()),
            Some(tokio::runtime::Handle::current()),
        );
        self.cache = Some(helper.cache_handle());
        helper
    }

    fn watch(&mut self, notify: Notify) {
        let n = notify.clone();
        self.outs.notify = Box::new(move |m| n(&m));
        if let Some(mut events) = self.events.take() {
            self.watcher = Some(tokio::spawn(async move {
                while let Some(ev) = events.recv().await {
                    match ev {
                        PulseEvent::Ok => {}
                        PulseEvent::Gone => {
                            notify("the session expired; the next command re-opens it")
                        }
                        PulseEvent::Failed(e) => {
                            notify(&format!("could not refresh the session: {e}"))
                        }
                    }
                }
            }));
        }
    }

    fn before_line(&mut self) {}

    fn release_stdout(&mut self) {
        self.outs.term.release_stdout();
    }

    async fn send(
        &mut self,
        text: &str,
        plan: &Plan,
        _only: bool,
        to: &mut Option<Local>,
        collect: &mut Option<crate::shell::results::Collect>,
        cancel: &CancellationToken,
    ) -> LineEnd {
        self.outs.local = to.take();
        self.outs.collect = collect.take();
        // No spinner over a local pipeline's output (it shares the terminal).
        let spin = if self.interactive && self.outs.local.as_ref().is_none_or(Local::discards) {
            repl::spinner(text)
        } else {
            None
        };
        let mut stop_spinner = || {
            if let Some(s) = &spin {
                s.finish_and_clear();
            }
        };
        let cwd = self.session.cwd().await;
        let result = exec::run_line(
            self.session,
            text,
            &plan.words,
            plan.tier,
            self.outs,
            cancel,
            Some(&mut stop_spinner),
        )
        .await;
        *to = self.outs.local.take();
        *collect = self.outs.collect.take();
        if let Some(cache) = &self.cache {
            cache.after_command(&plan.words, &cwd);
        }
        if let Some(s) = &spin {
            s.finish_and_clear();
        }
        match result {
            LineResult::Ok => LineEnd::of(Exit::Ok),
            LineResult::Cancelled => LineEnd::of(Exit::CommandFailed),
            LineResult::Failed(e) => LineEnd::of(e),
        }
    }

    async fn files(&mut self) -> Exit {
        let listed = self.listed().await;
        crate::shell::get::print_files(listed, self.outs.json, false)
    }

    async fn download(&mut self, name: Option<&str>, cancel: &CancellationToken) -> Exit {
        let listed = self.listed().await;
        let opts = self.outs.get.clone();
        let outs = &mut *self.outs;
        let report = crate::shell::get::save_all(
            self.session.client(),
            crate::shell::get::matching(listed, name),
            &opts,
            cancel,
            &mut |_, r| match r {
                Ok(saved) => {
                    outs.term.stdout(&format!("{}\n", saved.describe()));
                    outs.term.finish();
                }
                Err(why) => eprintln!("{}", style::error(&format!("download: {why}"))),
            },
        )
        .await;
        if report.matched == 0 {
            self.outs
                .notify("nothing to download: no finished file matches (see `files`)");
            return Exit::CommandFailed;
        }
        report.exit()
    }

    async fn queue(&mut self, wait: Option<Duration>, cancel: &CancellationToken) -> Exit {
        let sid = self.session.session_id().await;
        crate::shell::queue::show_session(
            self.session.client(),
            &sid,
            self.outs.json,
            false,
            wait,
            cancel,
        )
        .await
    }

    async fn hosts(&mut self) -> Exit {
        let t = self.session.target();
        let sid = self.session.session_id().await;
        let cwd = self.session.cwd().await;
        let mut rows = [local::HostRow {
            hostname: &t.hostname,
            aid: &t.aid,
            platform: t
                .platform
                .map(|p| p.api_name().to_string())
                .unwrap_or_default(),
            containment: String::new(),
            ip: String::new(),
            os: String::new(),
            last_seen: String::new(),
            state: "connected".into(),
            label: "connected".into(),
            error: None,
            cwd,
            session_id: sid.into(),
        }];
        if let Err(e) = local::refresh(self.session.client(), &mut rows).await {
            self.notice(&format!("device details: {e}"));
        }
        if local::print_hosts(&rows, self.outs.json).is_err() {
            self.outs.term.broken_pipe = true;
        }
        Exit::Ok
    }

    async fn drop_hosts(&mut self, names: &[String]) -> Result<(), String> {
        if names.iter().all(|n| self.is_me(n)) {
            Err("this session has one host: `exit` ends it".into())
        } else {
            Err(format!(
                "not in this session: {}",
                names
                    .iter()
                    .filter(|n| !self.is_me(n))
                    .map(|n| crate::output::sanitize::sanitize_line(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}
