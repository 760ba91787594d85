//! One RTR session on one host: open it, run command lines on it (routing each to its tier),
//! keep the working directory the sensor reports, and re-open it transparently when it expired.
//!
//! An execute the API did not confirm (5xx or a lost reply after the request may have taken
//! effect) is never re-sent. Instead the session's command log is searched for it, and only an
//! entry that is certainly this execute is taken. Init hands back the caller's live session on
//! the host, so the log can hold the same line from an earlier run (or a concurrent one) of the
//! same API client, may lag behind the execute, and its order is undocumented (docs/protocol.md,
//! "Session log recovery"). The rule ([`pick_unconfirmed`]):
//! - entries that existed before the execute are not it: the log as it was when the session was
//!   opened, every command this session sent, and whatever earlier searches saw;
//! - entries created before the execute was sent are not it. The server's clock at sending is
//!   bounded from below by the `Date` of the latest reply plus the time since it arrived
//!   ([`FalconClient::server_time_floor`]), with slack for second resolution and skew between
//!   the API's machines; entries created after the first log reply after the failure are not
//!   it either;
//! - the log is read again for a bounded while ([`SessionOptions::recover_within`]) while it
//!   shows nothing, in case it lags;
//! - two or more candidates: the command may or may not have run; nothing is picked.
//!
//! What remains undecidable: another run of the same line on the same session within the
//! slack of ours, while the log lags. Two candidates are then reported as unknown, but if
//! only the other run's entry is visible yet it can be taken for ours.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::devices::Device;
use crate::ids::{Aid, CloudRequestId, SessionId};
use crate::rtr::SessionLog;
use crate::session::names;
use crate::session::poll::{
    Completion, OutputSink, Pace, PollLimits, Polled, Schedule, Start, Waiting, poll, poll_starting,
};
use crate::{FalconClient, FalconError};
use rtrsh_command::{Platform, Tier, script_timeout};

/// The host a session runs on.
#[derive(Clone, Debug)]
pub struct Target {
    pub aid: Aid,
    pub hostname: String,
    pub platform: Option<Platform>,
}

impl From<&Device> for Target {
    fn from(d: &Device) -> Self {
        Target {
            aid: d.device_id.clone(),
            hostname: d.hostname.clone(),
            platform: Platform::from_api_name(&d.platform_name),
        }
    }
}

/// Why a hostname did not resolve to exactly one host.
#[derive(Debug)]
pub enum Resolve {
    One(Target),
    None { suggestions: Vec<String> },
    Many(Vec<Device>),
}

/// Finds a host by name: the hosts whose name equals `name`, ignoring case, whatever the
/// devices API's reading of a name filter (see [`crate::session::names`]).
pub async fn resolve_host(client: &FalconClient, name: &str) -> Result<Resolve, FalconError> {
    let found = names::find_names(client, &[name.to_string()]).await?;
    let Some(mut m) = found.into_iter().next() else {
        return Ok(Resolve::None {
            suggestions: Vec::new(),
        });
    };
    match m.hosts.len() {
        0 => Ok(Resolve::None {
            suggestions: names::suggestions(client, &m).await?,
        }),
        1 => Ok(Resolve::One(Target::from(&m.hosts[0]))),
        _ => Ok(Resolve::Many(std::mem::take(&mut m.hosts))),
    }
}

/// Looks a host up by aid.
pub async fn resolve_aid(client: &FalconClient, aid: &str) -> Result<Option<Target>, FalconError> {
    let devices = client.get_devices(&[Aid::new(aid)]).await?;
    Ok(devices.first().map(Target::from))
}

/// Settings of a host session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub queue_offline: bool,
    pub init_timeout: Duration,
    pub schedule: Schedule,
    pub limits: PollLimits,
    /// How long to keep reading the session log for an unconfirmed execute that does not show
    /// there yet (the log may lag behind the execute).
    pub recover_within: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            queue_offline: false,
            init_timeout: Duration::from_secs(30),
            schedule: Schedule::default(),
            limits: PollLimits::default(),
            recover_within: Duration::from_secs(10),
        }
    }
}

/// Something worth telling the user that is not command output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The session had expired and was opened again (and the directory restored).
    Reopened { cwd: String },
    /// The command was queued for an offline host.
    Queued,
    /// The API did not confirm the command, but the session's log shows it ran: its output
    /// was fetched anyway.
    Recovered,
    /// The API did not confirm a read-only command and the session's log shows it never
    /// arrived: it was sent once more (harmless for a read-only command).
    Resent,
}

/// What the session's log says of an unconfirmed execute.
enum Found {
    /// Exactly one entry is it.
    One(CloudRequestId),
    /// The log was read and shows nothing that can be it (for the whole search).
    Absent,
    /// Several entries could be it, or the log could not be read: nobody can tell.
    Unknown,
}

/// The result of one command line.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub tier: Tier,
    /// The command line as sent (`runscript` gains a `-Timeout` the user did not give; see
    /// [`rtrsh_command::script_timeout`]).
    pub command_string: String,
    pub cloud_request_id: CloudRequestId,
    pub polled: Polled,
    pub queued: bool,
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub notices: Vec<Notice>,
}

impl Outcome {
    /// Success: completed and nothing on stderr.
    pub fn ok(&self) -> bool {
        self.polled.completion == Completion::Complete && !self.polled.stderr_seen
    }
}

#[derive(Debug)]
struct State {
    session_id: SessionId,
    cwd: String,
    offline_queued: bool,
    /// Log entries (cloud_request_ids) known to predate the next execute: the session's log
    /// when it was opened, every command this session sent, and every entry a search of the
    /// log has seen.
    before: HashSet<CloudRequestId>,
    /// How soon this host answers, for the dense polling window.
    pace: Pace,
}

/// An open RTR session. Cheap to clone (the pulse task holds a clone).
#[derive(Clone)]
pub struct HostSession {
    client: FalconClient,
    target: Target,
    opts: SessionOptions,
    state: Arc<Mutex<State>>,
}

pub use rtrsh_command::{LineError, classify};

/// Whether a command may be sent once more when its first send is unconfirmed and its session's
/// log shows it never arrived (the log may lag, so it could run twice): read-only commands that
/// leave nothing behind. Not `cd` (a relative `cd ..` twice lands elsewhere) nor `eventlog
/// export|backup` (they write files).
pub(crate) fn resend_is_harmless(tier: Tier, line: &str) -> bool {
    if tier != Tier::ReadOnly {
        return false;
    }
    let words = rtrsh_command::lexer::words(line).unwrap_or_default();
    let word = |i: usize| {
        words
            .get(i)
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default()
    };
    match word(0).as_str() {
        "" | "cd" => false,
        "eventlog" => !matches!(word(1).as_str(), "export" | "backup"),
        _ => true,
    }
}

pub(crate) fn is_session_gone(e: &FalconError) -> bool {
    // 40002 "Could not find existing session"; 50007 "could not get session".
    matches!(e.code(), Some(40002 | 50007)) || (e.status() == Some(404) && e.code() == Some(404))
}

impl HostSession {
    /// How this session waits for a command: its schedule and limits, and `cancel`.
    fn waiting<'a>(&'a self, cancel: &'a CancellationToken) -> Waiting<'a> {
        Waiting {
            schedule: &self.opts.schedule,
            limits: &self.opts.limits,
            cancel,
        }
    }

    /// Opens a session on `target`.
    pub async fn open(
        client: FalconClient,
        target: Target,
        opts: SessionOptions,
    ) -> Result<HostSession, FalconError> {
        let sent = Instant::now();
        let s = client
            .init_session(&target.aid, opts.queue_offline, opts.init_timeout)
            .await?;
        let mut pace = Pace::default();
        if !s.offline_queued {
            pace.init_took(sent.elapsed());
        }
        let before = log_snapshot(&client, &s.session_id).await;
        Ok(HostSession {
            client,
            target,
            opts,
            state: Arc::new(Mutex::new(State {
                session_id: s.session_id,
                cwd: s.pwd,
                offline_queued: s.offline_queued,
                before,
                pace,
            })),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn client(&self) -> &FalconClient {
        &self.client
    }

    pub async fn cwd(&self) -> String {
        self.state.lock().await.cwd.clone()
    }

    pub async fn session_id(&self) -> SessionId {
        self.state.lock().await.session_id.clone()
    }

    pub async fn offline_queued(&self) -> bool {
        self.state.lock().await.offline_queued
    }

    /// Keeps the session alive. A session that is already gone is reported as `Ok(false)`
    /// (the next command re-opens it).
    pub async fn pulse(&self) -> Result<bool, FalconError> {
        let queue = self.opts.queue_offline;
        match self.client.pulse_session(&self.target.aid, queue).await {
            Ok(_) => Ok(true),
            Err(e) if is_session_gone(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Opens a fresh session and returns to `cwd` there.
    async fn reopen(
        &self,
        state: &mut State,
        sink: &mut dyn OutputSink,
        cancel: &CancellationToken,
    ) -> Result<(), FalconError> {
        let cwd = state.cwd.clone();
        let sent = Instant::now();
        let s = self
            .client
            .init_session(
                &self.target.aid,
                self.opts.queue_offline,
                self.opts.init_timeout,
            )
            .await?;
        if !s.offline_queued {
            state.pace.init_took(sent.elapsed());
        }
        state.before = log_snapshot(&self.client, &s.session_id).await;
        state.session_id = s.session_id;
        state.cwd = s.pwd;
        state.offline_queued = s.offline_queued;
        if !cwd.is_empty() && !cwd.eq_ignore_ascii_case(&state.cwd) {
            let line = format!("cd {}", quote_path(&cwd));
            let ex = self
                .client
                .execute(
                    Tier::ReadOnly,
                    &state.session_id,
                    &self.target.aid,
                    "cd",
                    &line,
                )
                .await?;
            let mut quiet = crate::session::poll::Collect::default();
            let _ = sink;
            let polled = poll(
                &self.client,
                Tier::ReadOnly,
                &ex.cloud_request_id,
                &mut quiet,
                self.waiting(cancel),
            )
            .await?;
            if polled.completion == Completion::Complete && quiet.stderr.is_empty() {
                state.cwd = cd_result(&quiet.stdout, &cwd);
            }
        }
        Ok(())
    }

    /// Runs one command line (already checked with [`classify`]) and streams its output.
    pub async fn run(
        &self,
        line: &str,
        words: &[String],
        tier: Tier,
        sink: &mut dyn OutputSink,
        cancel: &CancellationToken,
    ) -> Result<Outcome, FalconError> {
        let started_at = SystemTime::now();
        let start = Instant::now();
        let base = words.first().cloned().unwrap_or_default();
        // A script may run as long as we wait for it, not the sensor's 30 s default.
        let seconds = script_timeout::single_host_seconds(self.opts.limits.timeout);
        let sent = script_timeout::with_timeout(line, words, seconds);
        let line = sent.as_str();
        let mut state = self.state.lock().await;
        let mut notices = Vec::new();
        let executed = match self
            .execute_once(&mut state, tier, &base, line, &mut notices, cancel)
            .await
        {
            Err(e) if is_session_gone(&e) => {
                // The API refused it without running it: safe to re-open and send once more.
                self.reopen(&mut state, sink, cancel).await?;
                notices.push(Notice::Reopened {
                    cwd: state.cwd.clone(),
                });
                self.execute_once(&mut state, tier, &base, line, &mut notices, cancel)
                    .await?
            }
            r => r?,
        };
        state.before.insert(executed.cloud_request_id.clone());
        if executed.queued_command_offline {
            notices.push(Notice::Queued);
        }
        let polled = if executed.queued_command_offline {
            Polled::complete()
        } else {
            let mut tee = CdTracker {
                inner: sink,
                stdout: String::new(),
                track: base.eq_ignore_ascii_case("cd"),
            };
            let polled = poll_starting(
                &self.client,
                tier,
                &executed.cloud_request_id,
                Start::Fresh(state.pace.expect()),
                &mut tee,
                self.waiting(cancel),
            )
            .await?;
            state.pace.observe(&polled);
            if tee.track && polled.completion == Completion::Complete && !polled.stderr_seen {
                state.cwd = cd_result(&tee.stdout, &state.cwd);
            }
            polled
        };
        Ok(Outcome {
            tier,
            command_string: sent.clone(),
            cloud_request_id: executed.cloud_request_id,
            polled,
            queued: executed.queued_command_offline,
            started_at,
            elapsed: start.elapsed(),
            notices,
        })
    }

    /// Sends the execute once; an execute the API did not confirm is looked up in the session's
    /// log (and a read-only one that never arrived sent once more).
    async fn execute_once(
        &self,
        state: &mut State,
        tier: Tier,
        base: &str,
        line: &str,
        notices: &mut Vec<Notice>,
        cancel: &CancellationToken,
    ) -> Result<crate::rtr::Executed, FalconError> {
        let floor = self.client.server_time_floor(Instant::now());
        match self
            .client
            .execute(tier, &state.session_id, &self.target.aid, base, line)
            .await
        {
            Err(e) if e.maybe_executed() => {
                match self.find_unconfirmed(state, line, floor, cancel).await {
                    Found::One(id) => {
                        notices.push(Notice::Recovered);
                        Ok(crate::rtr::Executed {
                            cloud_request_id: id,
                            session_id: state.session_id.clone(),
                            queued_command_offline: false,
                        })
                    }
                    // A read-only command that never arrived is sent again, once; a command that
                    // writes is never re-sent (it may still show up: it may or may not have run).
                    Found::Absent if resend_is_harmless(tier, line) && !cancel.is_cancelled() => {
                        notices.push(Notice::Resent);
                        self.client
                            .execute(tier, &state.session_id, &self.target.aid, base, line)
                            .await
                    }
                    Found::Absent | Found::Unknown => Err(e),
                }
            }
            r => r,
        }
    }

    /// After an execute the API did not confirm: looks for it in the session's log with the
    /// rule of the module docs. `floor`: the server's clock had reached this when the execute
    /// was sent. Reads the log until one entry qualifies, two or more do (ambiguous), or
    /// [`SessionOptions::recover_within`] has passed (absent if the log could be read).
    async fn find_unconfirmed(
        &self,
        state: &mut State,
        line: &str,
        floor: Option<SystemTime>,
        cancel: &CancellationToken,
    ) -> Found {
        let mut read = false;
        let deadline = Instant::now() + self.opts.recover_within;
        let mut pause = Duration::from_millis(100);
        // The server's clock when we saw the failure was below the first log reply's Date + 1 s.
        let mut until = None;
        let mut seen = Vec::new();
        let found = loop {
            match self.client.session_logs(&state.session_id).await {
                Ok(logs) => {
                    read = true;
                    if until.is_none() {
                        until = logs.date.map(|d| d + Duration::from_secs(1));
                    }
                    let window = Window {
                        after: floor,
                        until,
                    };
                    match pick_unconfirmed(&logs.entries, line, &state.before, window) {
                        Pick::One(id) => break Found::One(id),
                        Pick::Many(n) => {
                            tracing::debug!(
                                "{n} log entries could be the unconfirmed {line:?}: not picking"
                            );
                            break Found::Unknown;
                        }
                        Pick::None => {}
                    }
                    seen.extend(logs.entries.into_iter().map(|l| l.cloud_request_id));
                }
                Err(e) => tracing::debug!("reading the session log: {e}"),
            }
            // Ctrl-C ends the search undecided: "absent" is only said after the whole window.
            if cancel.is_cancelled() {
                break Found::Unknown;
            }
            if Instant::now() + pause > deadline {
                break if read { Found::Absent } else { Found::Unknown };
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => {}
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        };
        // What the log showed predates any later execute.
        state.before.extend(seen);
        found
    }

    /// Closes the session on the server.
    pub async fn close(&self) -> Result<(), FalconError> {
        let sid = self.state.lock().await.session_id.clone();
        match self.client.delete_session(&sid).await {
            Err(e) if is_session_gone(&e) => Ok(()),
            r => r,
        }
    }
}

/// The session's log as it is now (cloud_request_ids), taken when the session is opened: those
/// entries predate every execute of this run. A failure leaves it empty (the time window of
/// [`pick_unconfirmed`] still applies).
async fn log_snapshot(client: &FalconClient, session_id: &str) -> HashSet<CloudRequestId> {
    match client.session_logs(session_id).await {
        Ok(logs) => logs
            .entries
            .into_iter()
            .map(|l| l.cloud_request_id)
            .collect(),
        Err(e) => {
            tracing::debug!("reading the session log at open: {e}");
            HashSet::new()
        }
    }
}

/// Slack for comparing a log entry's `created_at` with our bounds on the server's clock: its
/// second resolution plus skew between the API machine that stamps `Date` and the one that
/// stamps the log (assumed NTP-synchronised).
pub(crate) const LOG_CLOCK_SLACK: Duration = Duration::from_secs(2);

/// When an unconfirmed execute's log entry can have been created (server clock).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Window {
    /// The server's clock had reached this when the execute was sent.
    pub(crate) after: Option<SystemTime>,
    /// The server's clock had not reached this when the failure was seen.
    pub(crate) until: Option<SystemTime>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    One(CloudRequestId),
    None,
    Many(usize),
}

/// The log entries that can be an unconfirmed execute of `line`: same command line, not known
/// to predate it (`before`), created inside `window` (give or take [`LOG_CLOCK_SLACK`]; an entry
/// whose time does not parse is not excluded). Order-independent.
pub(crate) fn pick_unconfirmed(
    entries: &[SessionLog],
    line: &str,
    before: &HashSet<CloudRequestId>,
    window: Window,
) -> Pick {
    let mut ids: Vec<&str> = entries
        .iter()
        .filter(|l| {
            l.command_string == line
                && !l.cloud_request_id.is_empty()
                && !before.contains(&l.cloud_request_id)
        })
        .filter(|l| match humantime::parse_rfc3339_weak(&l.created_at) {
            Ok(t) => {
                window.after.is_none_or(|a| t + LOG_CLOCK_SLACK >= a)
                    && window.until.is_none_or(|u| t <= u + LOG_CLOCK_SLACK)
            }
            Err(_) => true,
        })
        .map(|l| l.cloud_request_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Pick::None,
        [one] => Pick::One(CloudRequestId::new(*one)),
        many => Pick::Many(many.len()),
    }
}

/// Passes output through and remembers a `cd`'s stdout (the new directory).
struct CdTracker<'a> {
    inner: &'a mut dyn OutputSink,
    stdout: String,
    track: bool,
}

impl OutputSink for CdTracker<'_> {
    fn stdout(&mut self, chunk: &str) {
        if self.track && self.stdout.len() < 64 * 1024 {
            self.stdout.push_str(chunk);
        }
        self.inner.stdout(chunk);
    }

    fn stderr(&mut self, chunk: &str) {
        self.inner.stderr(chunk);
    }
}

/// The directory a successful `cd` reports (its stdout), or the old one if it printed nothing.
fn cd_result(stdout: &str, old: &str) -> String {
    let t = stdout.trim_matches(['\r', '\n', ' ']);
    if t.is_empty() || t.contains('\n') {
        old.to_string()
    } else {
        t.to_string()
    }
}

/// Quotes a path for an RTR command line when it contains spaces.
pub fn quote_path(p: &str) -> String {
    if p.contains(char::is_whitespace) {
        format!("\"{p}\"")
    } else {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cd_result_rules() {
        assert_eq!(cd_result("C:\\Windows", "C:\\"), "C:\\Windows");
        assert_eq!(cd_result("C:\\Windows\r\n", "C:\\"), "C:\\Windows");
        assert_eq!(cd_result("", "/tmp"), "/tmp");
    }

    fn entry(id: &str, line: &str, at: &str) -> SessionLog {
        SessionLog {
            cloud_request_id: id.into(),
            base_command: line.split(' ').next().unwrap_or_default().into(),
            command_string: line.into(),
            created_at: at.into(),
        }
    }

    fn t(s: &str) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(s).ok()
    }

    #[test]
    fn unconfirmed_pick_rules() {
        let none = HashSet::new();
        let open = Window::default();
        let log = [
            entry("a", "history", "2026-01-01T10:00:00Z"),
            entry("b", "pwd", "2026-01-01T10:00:05Z"),
            entry("c", "history", "2026-01-01T10:00:10Z"),
        ];
        // Two entries of the line and nothing to tell them apart: ambiguous, in any order.
        assert_eq!(
            pick_unconfirmed(&log, "history", &none, open),
            Pick::Many(2)
        );
        let mut rev = log.clone();
        rev.reverse();
        assert_eq!(
            pick_unconfirmed(&rev, "history", &none, open),
            Pick::Many(2)
        );
        // An entry that existed before is not it.
        let before: HashSet<CloudRequestId> = [CloudRequestId::new("a")].into();
        assert_eq!(
            pick_unconfirmed(&rev, "history", &before, open),
            Pick::One("c".into())
        );
        // Created (well) before the execute was sent: not it.
        let sent = Window {
            after: t("2026-01-01T10:00:09Z"),
            until: None,
        };
        assert_eq!(
            pick_unconfirmed(&log, "history", &none, sent),
            Pick::One("c".into())
        );
        // Within the slack of the send time: still a candidate.
        let close = Window {
            after: t("2026-01-01T10:00:02Z"),
            until: None,
        };
        assert_eq!(
            pick_unconfirmed(&log, "history", &none, close),
            Pick::Many(2)
        );
        // Created well after the failure was seen: not it.
        let seen = Window {
            after: None,
            until: t("2026-01-01T10:00:04Z"),
        };
        assert_eq!(
            pick_unconfirmed(&log, "history", &none, seen),
            Pick::One("a".into())
        );
        // Nothing of the line (yet): keep looking.
        assert_eq!(pick_unconfirmed(&log, "ls", &none, open), Pick::None);
        // A time that does not parse excludes nothing.
        let odd = [entry("x", "history", "yesterday")];
        assert_eq!(
            pick_unconfirmed(&odd, "history", &none, sent),
            Pick::One("x".into())
        );
    }

    #[test]
    fn classify_local_errors() {
        assert!(classify("lss", None).is_err());
        assert!(classify("cat \"C:\\x", None).is_err());
        let (w, t) = classify(
            "reg set HKLM\\x v -ValueType=REG_SZ -Value=1",
            Some(Platform::Windows),
        )
        .expect("valid");
        assert_eq!(w[0], "reg");
        assert_eq!(t, Tier::ActiveResponder);
    }
}
