//! One RTR session on one host: open it, run command lines on it (routing each to its tier),
//! keep the working directory the sensor reports, and re-open it transparently when it expired.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::command::{Platform, Tier};
use crate::falcon::devices::Device;
use crate::falcon::{FalconClient, FalconError};
use crate::session::names;
use crate::session::poll::{Completion, OutputSink, PollLimits, Polled, Schedule, poll};

/// The host a session runs on.
#[derive(Clone, Debug)]
pub struct Target {
    pub aid: String,
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
    let devices = client.get_devices(&[aid.to_string()]).await?;
    Ok(devices.first().map(Target::from))
}

/// Settings of a host session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub queue_offline: bool,
    pub init_timeout: Duration,
    pub schedule: Schedule,
    pub limits: PollLimits,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            queue_offline: false,
            init_timeout: Duration::from_secs(30),
            schedule: Schedule::default(),
            limits: PollLimits::default(),
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
}

/// The result of one command line.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub tier: Tier,
    pub cloud_request_id: String,
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
    session_id: String,
    cwd: String,
    offline_queued: bool,
    /// Every cloud_request_id this session has sent (to tell ours from older log entries).
    known: std::collections::HashSet<String>,
}

/// An open RTR session. Cheap to clone (the pulse task holds a clone).
#[derive(Clone)]
pub struct HostSession {
    client: FalconClient,
    target: Target,
    opts: SessionOptions,
    state: Arc<Mutex<State>>,
}

pub use crate::command::{LineError, classify};

fn is_session_gone(e: &FalconError) -> bool {
    // 40002 "Could not find existing session"; 50007 "could not get session".
    matches!(e.code(), Some(40002 | 50007)) || (e.status() == Some(404) && e.code() == Some(404))
}

impl HostSession {
    /// Opens a session on `target`.
    pub async fn open(
        client: FalconClient,
        target: Target,
        opts: SessionOptions,
    ) -> Result<HostSession, FalconError> {
        let s = client
            .init_session(&target.aid, opts.queue_offline, opts.init_timeout)
            .await?;
        Ok(HostSession {
            client,
            target,
            opts,
            state: Arc::new(Mutex::new(State {
                session_id: s.session_id,
                cwd: s.pwd,
                offline_queued: s.offline_queued,
                known: Default::default(),
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

    pub async fn session_id(&self) -> String {
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
        let s = self
            .client
            .init_session(
                &self.target.aid,
                self.opts.queue_offline,
                self.opts.init_timeout,
            )
            .await?;
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
                &self.opts.schedule,
                &self.opts.limits,
                cancel,
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
        let mut state = self.state.lock().await;
        let mut notices = Vec::new();
        let executed = match self
            .client
            .execute(tier, &state.session_id, &self.target.aid, &base, line)
            .await
        {
            Ok(x) => x,
            Err(e) if is_session_gone(&e) => {
                // The API refused it without running it: safe to re-open and send once more.
                self.reopen(&mut state, sink, cancel).await?;
                notices.push(Notice::Reopened {
                    cwd: state.cwd.clone(),
                });
                self.execute_once(&mut state, tier, &base, line, &mut notices)
                    .await?
            }
            Err(e) if e.maybe_executed() => match self.find_unconfirmed(&state, line).await {
                Some(id) => {
                    notices.push(Notice::Recovered);
                    crate::falcon::rtr::Executed {
                        cloud_request_id: id,
                        session_id: state.session_id.clone(),
                        queued_command_offline: false,
                    }
                }
                // Not in the log: it may still have run. Never re-send blindly.
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        state.known.insert(executed.cloud_request_id.clone());
        if executed.queued_command_offline {
            notices.push(Notice::Queued);
        }
        let polled = if executed.queued_command_offline {
            Polled {
                completion: Completion::Complete,
                status_calls: 0,
                chunks: 0,
                sequence_ids_seen: Vec::new(),
                stderr_seen: false,
                first_output_after: None,
            }
        } else {
            let mut tee = CdTracker {
                inner: sink,
                stdout: String::new(),
                track: base.eq_ignore_ascii_case("cd"),
            };
            let polled = poll(
                &self.client,
                tier,
                &executed.cloud_request_id,
                &mut tee,
                &self.opts.schedule,
                &self.opts.limits,
                cancel,
            )
            .await?;
            if tee.track && polled.completion == Completion::Complete && !polled.stderr_seen {
                state.cwd = cd_result(&tee.stdout, &state.cwd);
            }
            polled
        };
        Ok(Outcome {
            tier,
            cloud_request_id: executed.cloud_request_id,
            polled,
            queued: executed.queued_command_offline,
            started_at,
            elapsed: start.elapsed(),
            notices,
        })
    }

    async fn execute_once(
        &self,
        state: &mut State,
        tier: Tier,
        base: &str,
        line: &str,
        notices: &mut Vec<Notice>,
    ) -> Result<crate::falcon::rtr::Executed, FalconError> {
        match self
            .client
            .execute(tier, &state.session_id, &self.target.aid, base, line)
            .await
        {
            Err(e) if e.maybe_executed() => match self.find_unconfirmed(state, line).await {
                Some(id) => {
                    notices.push(Notice::Recovered);
                    Ok(crate::falcon::rtr::Executed {
                        cloud_request_id: id,
                        session_id: state.session_id.clone(),
                        queued_command_offline: false,
                    })
                }
                None => Err(e),
            },
            r => r,
        }
    }

    /// After an execute the API did not confirm: looks for the command in the session's log
    /// (an entry with this exact command line that we have not seen before). Looks twice, half a
    /// second apart, in case the log lags.
    async fn find_unconfirmed(&self, state: &State, line: &str) -> Option<String> {
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let Ok(logs) = self.client.session_logs(&state.session_id).await else {
                continue;
            };
            let mine = logs
                .into_iter()
                .rev()
                .find(|l| l.command_string == line && !state.known.contains(&l.cloud_request_id));
            if let Some(l) = mine {
                return Some(l.cloud_request_id);
            }
        }
        None
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
