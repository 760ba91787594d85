//! Many hosts at once: choose them (names, aids, FQL filter), learn which are online, open
//! batch sessions, run a command line on all (or some) of them, and follow queued commands.
//!
//! Shape of the work:
//! - Hosts live in one `Vec<FleetHost>` and are named everywhere else by their index
//!   ([`HostIdx`]); the aid → index map is shared read-only with the command tasks.
//! - Sessions open through the batch endpoints, [`FleetOptions::batch_size`] hosts per batch
//!   (well under the API's 10,000) so that replies stay a few MB, and results arrive batch by
//!   batch instead of all at the end.
//! - Fleets go in one round: every batch's init, and every batch's command, goes out side by
//!   side (up to [`FleetOptions::concurrency`] requests, [`BATCHES_AT_ONCE`] by default: 64,000
//!   hosts), so the wall time is about one sensor round trip whatever the fleet size. The API
//!   documents no limit on concurrent batch requests; its documented limits are 10,000 hosts per
//!   batch and 6,000 requests a minute per customer, which one round of 128 requests is far
//!   from. Should
//!   the API refuse some of them with 429, the governor waits as it says and sends them again
//!   (a 429 ran nothing). Only [`REPLIES_AT_ONCE`] replies are read and held at a time, each
//!   until it has been shown; the others wait in the server and the socket. Batch requests
//!   use a connection pool of their own (see [`crate::client::BULK_IDLE`]), so few of them
//!   read ahead with a large buffer. Each batch is a task of its own: one reply is parsed on
//!   one thread while the last is shown on the other.
//! - Each batch reply is parsed as a stream ([`crate::batch`]); every host's text is
//!   hashed and either joins a [`Group`] of identical output (its text is dropped on the spot)
//!   or starts a new one, so a [`Unit`] holds one copy per distinct output. Hosts whose output
//!   is larger than one chunk continue in the chunk loop of [`crate::session::poll`] (from the
//!   chunk 0 the batch reply carried) and are handed on in units of about
//!   [`FleetOptions::unit_bytes`] as they complete.
//! - What a command holds of its outputs is bounded whatever the fleet size:
//!   [`REPLIES_AT_ONCE`] batch replies (the body being parsed and the outputs each completed,
//!   held until shown), at most [`FleetOptions::first_chunks_kept`] of
//!   chunk 0 text for hosts waiting for their chunk loop (a host past it fetches its chunk 0
//!   again), `CHUNK_LOOPS` (16) outputs being fetched, and a unit gathering plus the one
//!   being shown. With 1 MB outputs that is a few dozen MB, for 2,000 hosts as for 50,000.
//! - The slowest host does not hold the rest: batch requests wait only a first window
//!   ([`FleetOptions::first_wait`]); hosts that had not answered by then are followed by their
//!   `task_id` until the batch timeout (see `run.rs`), and sessions whose first `pwd` was late
//!   are connected all the same.
//! - Every request goes through the one `FalconClient`: one token, one rate-limit governor.
//!
//! Nothing here prints: the shell turns [`Unit`]s into sections, records and transcript lines.

mod run;
mod select;
pub mod text;

pub use select::{Resolved, Selection, online_states, resolve};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::devices::Device;
use crate::error::error_text;
use crate::ids::{Aid, BatchId, CloudRequestId, SessionId};
use crate::rtr::QueuedCommandState;
use crate::session::poll::{PollLimits, Schedule, Start, Waiting};
use crate::{FalconClient, FalconError};
use rtrsh_command::digest::OutputDigest;
use rtrsh_command::{Platform, Tier, lexer, script_timeout};
use run::{CHUNK_CONCURRENCY, CHUNK_LOOPS, Grouper, Job, Pacer, follow_chunks, run_batch};
pub use run::{FIRST_CHUNKS_KEPT, UNIT_BYTES};

/// A host's place in [`Fleet::hosts`].
pub type HostIdx = u32;

/// Where a host stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostState {
    /// Resolved, not connected yet.
    Pending,
    /// In a batch session; commands run on it.
    Connected,
    /// Offline, in a batch session with `queue_offline`: commands are queued for it.
    Queued,
    /// Known offline and skipped (no `--queue-offline`).
    Offline,
    /// Could not be connected: the API's reason.
    Failed(String),
    /// Removed by the user (`drop`).
    Dropped,
}

impl HostState {
    /// Whether commands go to this host.
    pub fn active(&self) -> bool {
        matches!(self, HostState::Connected | HostState::Queued)
    }

    pub fn label(&self) -> &str {
        match self {
            HostState::Pending => "pending",
            HostState::Connected => "connected",
            HostState::Queued => "offline (queueing)",
            HostState::Offline => "offline (skipped)",
            HostState::Failed(_) => "failed",
            HostState::Dropped => "dropped",
        }
    }
}

/// One host of the fleet.
#[derive(Clone, Debug)]
pub struct FleetHost {
    pub device: FleetDevice,
    pub platform: Option<Platform>,
    /// From the online-state endpoint, when known.
    pub online: Option<bool>,
    pub state: HostState,
    pub session_id: SessionId,
    pub cwd: String,
    /// Index into the fleet's batches once connected.
    pub batch: Option<usize>,
    /// Its session is known to have expired: the next command re-opens it first.
    pub expired: bool,
}

/// Settings of a fleet.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    pub queue_offline: bool,
    /// The batch endpoints' `timeout` (1–600 s): how long a host may take.
    pub batch_timeout: Duration,
    /// Hosts per batch session (at most 10,000).
    pub batch_size: usize,
    /// Batch requests in flight at once: every batch of a fleet up to this many, so that a
    /// fleet goes in one round.
    pub concurrency: usize,
    /// How long a batch request (init or command) waits for its hosts before the answers are
    /// shown; hosts not done by then are followed until the batch timeout. `None`: a sixth of
    /// the batch timeout, 2–10 s (5 s for the default 30 s). Commands that run long by nature
    /// (scripts, memory dumps; see [`LONG_COMMANDS`]) always wait the whole batch timeout.
    pub first_wait: Option<Duration>,
    /// Status checks of hosts that did not answer within the first wait, per second, for the
    /// whole command (a fraction of the API's 6,000 requests a minute).
    pub late_checks_per_second: u32,
    /// Distinct output a unit of chunk-loop results gathers before it is handed on (see
    /// [`UNIT_BYTES`]).
    pub unit_bytes: usize,
    /// Chunk-0 text kept for hosts waiting for their chunk loop, for the whole command (see
    /// [`FIRST_CHUNKS_KEPT`]).
    pub first_chunks_kept: usize,
    pub schedule: Schedule,
    pub limits: PollLimits,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            queue_offline: false,
            batch_timeout: Duration::from_secs(30),
            batch_size: BATCH_HOSTS,
            concurrency: BATCHES_AT_ONCE,
            first_wait: None,
            late_checks_per_second: 25,
            unit_bytes: UNIT_BYTES,
            first_chunks_kept: FIRST_CHUNKS_KEPT,
            schedule: Schedule::default(),
            limits: PollLimits::default(),
        }
    }
}

/// Hosts per batch session by default. A batch's reply is read whole and its outputs held until
/// shown, [`REPLIES_AT_ONCE`] at a time: at 500 hosts a `ps` reply is ~2.4 MB. Smaller
/// batches cost more requests for the same fleet (two per 1,000 hosts per command).
pub const BATCH_HOSTS: usize = 500;

/// Batch requests in flight at once by default: 64,000 hosts in one round.
pub const BATCHES_AT_ONCE: usize = 128;

/// Batch replies read, handed on or being shown at once; the others wait in the server and the
/// socket. Two: one is read and parsed on one core while the last is shown on the other.
pub const REPLIES_AT_ONCE: usize = 2;

/// Commands whose batch request always waits the whole batch timeout: they run long by nature,
/// so following most hosts one status check at a time would cost more than it saves.
pub const LONG_COMMANDS: [&str; 7] = [
    "runscript",
    "run",
    "memdump",
    "xmemdump",
    "put-and-run",
    "falconscript",
    "zip",
];

impl FleetOptions {
    /// How long a batch request for `base` waits for its hosts (whole seconds, the API's unit;
    /// never more than the batch timeout).
    pub fn first_wait_for(&self, base: &str) -> Duration {
        let full = self.batch_timeout;
        if LONG_COMMANDS.iter().any(|c| base.eq_ignore_ascii_case(c)) {
            return full;
        }
        let wait = self
            .first_wait
            .unwrap_or_else(|| (full / 6).clamp(Duration::from_secs(2), Duration::from_secs(10)));
        Duration::from_secs(wait.as_secs().max(1)).min(full)
    }
}

/// One batch session and what the background refresh needs of it.
#[derive(Clone, Debug)]
pub struct RefreshTarget {
    pub batch_id: BatchId,
    /// Hosts the user dropped: they leave the batch at the next refresh.
    pub remove: Vec<Aid>,
}

#[derive(Clone, Debug)]
struct Batch {
    id: BatchId,
    /// Hosts that joined the batch (a session exists for them).
    members: Vec<HostIdx>,
}

/// A command sent to an offline host, waiting for it to come back.
#[derive(Clone, Debug)]
pub struct QueuedCommand {
    pub host: HostIdx,
    pub cloud_request_id: CloudRequestId,
    pub tier: Tier,
    pub line: String,
    pub queued_at: SystemTime,
    /// Set once the result arrived (and was handed to the caller).
    pub done: bool,
    /// Why the last check found no result, when it was not simply "not run yet" (an error the
    /// check will retry).
    pub note: Option<String>,
}

/// What one host made of a command.
#[derive(Clone, Debug)]
pub enum RunResult {
    /// Completed; its output is `Unit::groups[group]`. `stderr`: the host reported an error.
    Output { group: usize, stderr: bool },
    /// Did not finish within the batch timeout (it may still run).
    TimedOut,
    /// Queued for an offline host.
    Queued,
    /// The API refused it for this host, or the request failed.
    Failed {
        code: Option<i64>,
        http_status: Option<u16>,
        message: String,
        /// The command may have run although we got no answer.
        maybe_executed: bool,
    },
    /// The user stopped waiting (Ctrl-C); it may still run.
    Cancelled,
}

/// One host's run of a command.
#[derive(Clone, Debug)]
pub struct HostRun {
    pub host: HostIdx,
    pub cloud_request_id: CloudRequestId,
    pub result: RunResult,
    pub sequence_ids: Vec<u64>,
    pub trace_id: Option<String>,
}

/// One distinct output and the hosts that produced it.
#[derive(Debug)]
pub struct Group {
    /// Identifies the output across units ([`OutputDigest::identity`]).
    pub key: [u8; 32],
    /// In memory, or in a temporary file when large ([`text::SPILL_ABOVE`]).
    pub stdout: text::Text,
    pub stderr: String,
    /// SHA-256 and sizes for the audit transcript (computed once per distinct output).
    pub digest: OutputDigest,
    pub hosts: Vec<HostIdx>,
}

/// The results of a command on one batch (or one late host): what the shell prints as it
/// arrives.
#[derive(Debug, Default)]
pub struct Unit {
    pub groups: Vec<Group>,
    pub runs: Vec<HostRun>,
    /// A failure of the whole request (every host of the unit is `Failed` with it).
    pub error: Option<Arc<FalconError>>,
    /// Hosts whose results were found through their session logs after the reply was lost.
    pub recovered: usize,
    /// Hosts sent a read-only command once more: the reply was lost and their logs showed it
    /// never arrived.
    pub resent: usize,
    /// The batch reply's place among the [`REPLIES_AT_ONCE`] read at once: held until the unit
    /// has been shown (dropped with it), so the outputs alive at once stay bounded.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// What the background refresh reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshEvent {
    /// Sessions refreshed.
    Ok {
        hosts: usize,
    },
    /// These hosts' sessions are gone (aids).
    Expired(Vec<Aid>),
    Failed(String),
}

/// Session ids per queued-sessions request.
const QUEUED_SESSIONS_PER_REQUEST: usize = 500;

/// What one check of a queued command found.
enum Check {
    Arrived(Unit),
    /// No result yet; the reason when it is worth showing.
    NotYet(Option<String>),
}

/// Where the queued-sessions endpoint says a queued command stands.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueStage {
    /// `PENDING`: the host has not picked it up.
    Waiting,
    /// Failed, cancelled, expired or deleted: it will not run.
    Failed,
    /// Anything else (`FINISHED`, or a state such as in progress): its status has the rest.
    Ran,
}

impl QueueStage {
    pub fn of(status: &str) -> QueueStage {
        let s = status.to_ascii_uppercase();
        if s == "PENDING" {
            QueueStage::Waiting
        } else if [
            "FAIL",
            "ERROR",
            "CANCEL",
            "EXPIRE",
            "DELETE",
            "TIMEOUT",
            "TIMED_OUT",
        ]
        .iter()
        .any(|w| s.contains(w))
        {
            QueueStage::Failed
        } else {
            QueueStage::Ran
        }
    }
}

/// A status check's answers that mean "the queued command has not run yet" (undocumented: a
/// 404, or 40401 as for an offline host).
pub fn not_run_yet(e: &FalconError) -> bool {
    e.status() == Some(404) || e.code() == Some(40401)
}

/// A queued command that will not run, as a result.
fn queue_failure(host: HostIdx, q: &QueuedCommand, s: &QueuedCommandState) -> Unit {
    let status = if s.status.is_empty() {
        "FAILED"
    } else {
        s.status.as_str()
    };
    let text = s.status_text.trim();
    let message = if text.is_empty() {
        format!("queued command {status}: it did not run")
    } else {
        format!("queued command {status}: {text}")
    };
    // A cancelled or expired command never ran; a failed one may have started.
    let upper = status.to_ascii_uppercase();
    let never_ran = ["CANCEL", "EXPIRE", "DELETE"]
        .iter()
        .any(|w| upper.contains(w));
    Unit {
        groups: Vec::new(),
        runs: vec![HostRun {
            host,
            cloud_request_id: q.cloud_request_id.clone(),
            result: RunResult::Failed {
                code: None,
                http_status: None,
                message,
                maybe_executed: !never_ran,
            },
            sequence_ids: Vec::new(),
            trace_id: None,
        }],
        ..Default::default()
    }
}

/// Many hosts, in batch sessions.
pub struct Fleet {
    client: FalconClient,
    pub hosts: Vec<FleetHost>,
    batches: Vec<Batch>,
    index: Arc<HashMap<Aid, HostIdx>>,
    opts: FleetOptions,
    pub queue: Vec<QueuedCommand>,
    refresh: Arc<Mutex<Vec<RefreshTarget>>>,
}

/// What running a line did besides its results.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Sessions re-opened because they had expired.
    pub reopened: usize,
    /// Hosts whose expired session could not be re-opened, with why.
    pub reopen_failed: Vec<(HostIdx, String)>,
}

/// Whether a host's answer says its session is gone (the command never reached it).
fn session_gone(r: &RunResult) -> bool {
    matches!(
        r,
        RunResult::Failed {
            code: Some(50007 | 40002),
            ..
        }
    )
}

/// What the online-state check found.
#[derive(Debug, Default)]
pub struct OnlineCheck {
    pub offline: usize,
    /// Hosts whose state is unknown (the API did not say, or its page failed).
    pub unknown: usize,
    /// The first failed page, if any.
    pub failure: Option<FalconError>,
}

/// How closing the fleet went.
#[derive(Debug, Default)]
pub struct CloseReport {
    /// Sessions deleted (or already gone).
    pub closed: usize,
    /// Sessions left open because commands are queued in them (they run when the host comes
    /// back; `queue` follows them).
    pub kept_queued: usize,
    /// Sessions not deleted: cancelled before their turn, or the API refused (with why).
    pub left: usize,
    pub errors: Vec<String>,
}

/// Session deletions in flight at once when a fleet closes.
const CLOSE_CONCURRENCY: usize = 64;

/// How connecting went, for the user.
#[derive(Debug, Default)]
pub struct ConnectReport {
    pub connected: usize,
    pub queued: usize,
    /// Hosts left out, with the API's reason.
    pub failed: Vec<(HostIdx, String)>,
    /// `(batch id, trace id)` of each batch opened.
    pub batches: Vec<(BatchId, Option<String>)>,
    /// Hosts left without a session because they did not answer in time (50401); `connect`
    /// tries them once more with the whole batch timeout.
    pub late: Vec<HostIdx>,
}

/// A fleet host's device: only the fields a fleet shows (hostname, aid, platform, last seen,
/// status), each exactly as long as its text. At 50,000 hosts every field kept costs megabytes:
/// this is 80 bytes a host where a whole [`Device`] is 232, before its text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetDevice {
    pub device_id: Aid,
    pub hostname: Box<str>,
    pub platform_name: Box<str>,
    pub last_seen: Box<str>,
    /// Containment status (`normal`, `contained`, ...).
    pub status: Box<str>,
}

impl From<&FleetDevice> for crate::session::host::Target {
    fn from(d: &FleetDevice) -> Self {
        crate::session::host::Target {
            aid: d.device_id.clone(),
            hostname: d.hostname.to_string(),
            platform: Platform::from_api_name(&d.platform_name),
        }
    }
}

impl From<Device> for FleetDevice {
    fn from(d: Device) -> FleetDevice {
        FleetDevice {
            device_id: d.device_id,
            hostname: d.hostname.into_boxed_str(),
            platform_name: d.platform_name.into_boxed_str(),
            last_seen: d.last_seen.into_boxed_str(),
            status: d.status.into_boxed_str(),
        }
    }
}

impl Fleet {
    /// A fleet of resolved hosts (not connected yet).
    pub fn new(client: FalconClient, devices: Vec<Device>, opts: FleetOptions) -> Fleet {
        let hosts: Vec<FleetHost> = devices
            .into_iter()
            .map(|d| FleetHost {
                platform: Platform::from_api_name(&d.platform_name),
                device: FleetDevice::from(d),
                online: None,
                state: HostState::Pending,
                session_id: SessionId::default(),
                cwd: String::new(),
                batch: None,
                expired: false,
            })
            .collect();
        let index = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.device.device_id.clone(), i as HostIdx))
            .collect();
        Fleet {
            client,
            hosts,
            batches: Vec::new(),
            index: Arc::new(index),
            opts,
            queue: Vec::new(),
            refresh: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn client(&self) -> &FalconClient {
        &self.client
    }

    pub fn options(&self) -> &FleetOptions {
        &self.opts
    }

    /// Looks up a host by aid.
    pub fn host_by_aid(&self, aid: &str) -> Option<HostIdx> {
        self.index.get(aid.to_ascii_lowercase().as_str()).copied()
    }

    /// Hosts that commands go to.
    pub fn active(&self) -> impl Iterator<Item = HostIdx> + '_ {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state.active())
            .map(|(i, _)| i as HostIdx)
    }

    /// Asks the devices API which hosts are online; offline ones are marked
    /// [`HostState::Offline`] unless commands are queued for them. Hosts whose state could not
    /// be learned stay pending (connecting tells); how many, with the first error.
    pub async fn check_online(&mut self) -> Result<OnlineCheck, FalconError> {
        let aids: Vec<Aid> = self
            .hosts
            .iter()
            .map(|h| h.device.device_id.clone())
            .collect();
        let (states, failure) = online_states(&self.client, &aids).await?;
        let mut check = OnlineCheck {
            failure,
            ..Default::default()
        };
        for h in &mut self.hosts {
            h.online = states.get(&h.device.device_id).copied();
            match h.online {
                Some(false) => {
                    check.offline += 1;
                    if !self.opts.queue_offline {
                        h.state = HostState::Offline;
                    }
                }
                Some(true) => {}
                None => check.unknown += 1,
            }
        }
        Ok(check)
    }

    /// Opens batch sessions on every pending host, every batch side by side (one round);
    /// `progress` gets the number of hosts done after each batch. Hosts that fail are marked
    /// with the reason. An authentication or connection failure stops everything.
    ///
    /// Each init waits only the first window ([`FleetOptions::first_wait_for`]): a host whose
    /// first `pwd` is late but that has a session is connected (its directory unknown until a
    /// `cd`). A host the API left without a session because it timed out (50401) is tried once
    /// more with the whole batch timeout.
    pub async fn connect(
        &mut self,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ConnectReport, FalconError> {
        let pending: Vec<HostIdx> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state == HostState::Pending)
            .map(|(i, _)| i as HostIdx)
            .collect();
        let window = self.opts.first_wait_for("pwd");
        let mut report = self.connect_round(&pending, window, progress).await?;
        let again = std::mem::take(&mut report.late);
        if !again.is_empty() && window < self.opts.batch_timeout {
            let retried: HashSet<HostIdx> = again.iter().copied().collect();
            report.failed.retain(|(i, _)| !retried.contains(i));
            for &i in &again {
                self.hosts[i as usize].state = HostState::Pending;
            }
            let second = self
                .connect_round(&again, self.opts.batch_timeout, &mut |_| {})
                .await?;
            report.connected += second.connected;
            report.queued += second.queued;
            report.failed.extend(second.failed);
            report.batches.extend(second.batches);
        }
        Ok(report)
    }

    /// One round of batch inits over `pending`, each waiting `timeout`.
    async fn connect_round(
        &mut self,
        pending: &[HostIdx],
        timeout: Duration,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ConnectReport, FalconError> {
        let size = self.opts.batch_size.clamp(1, crate::batch::MAX_BATCH_HOSTS);
        let jobs: Vec<(Vec<HostIdx>, Vec<Aid>)> = pending
            .chunks(size)
            .map(|c| {
                let aids = c
                    .iter()
                    .map(|&i| self.hosts[i as usize].device.device_id.clone())
                    .collect();
                (c.to_vec(), aids)
            })
            .collect();
        let client = self.client.clone();
        let queue = self.opts.queue_offline;
        // The server's clock had reached this before any init was sent (see `clean_orphans`).
        let floor = client.server_time_floor(std::time::Instant::now());
        // Each batch's init is sent, read and parsed in a task of its own (side by side on the
        // runtime's threads); dropping this stops them.
        let mut replies = stream::iter(jobs)
            .map(|(idxs, aids)| {
                let client = client.clone();
                crate::spawned(async move {
                    let mut lost = false;
                    let mut r = client.batch_init(&aids, queue, timeout, None).await;
                    // A reply lost after the init took effect: try once more (init changes no
                    // host); the sessions the lost one opened are deleted afterwards.
                    if let Err(e) = &r
                        && e.maybe_executed()
                    {
                        lost = true;
                        r = client.batch_init(&aids, queue, timeout, None).await;
                    }
                    (idxs, r, lost.then_some(aids))
                })
            })
            .buffer_unordered(self.opts.concurrency.max(1));
        let mut orphaned: HashSet<Aid> = HashSet::new();
        let mut report = ConnectReport::default();
        let mut done = 0;
        while let Some((idxs, reply, lost)) = replies.next().await {
            done += idxs.len();
            orphaned.extend(lost.into_iter().flatten());
            let init = match reply {
                Ok(init) => init,
                Err(e) if e.is_auth_or_connection() => return Err(e),
                Err(e) => {
                    let reason = e.to_string();
                    for &i in &idxs {
                        self.hosts[i as usize].state = HostState::Failed(reason.clone());
                        report.failed.push((i, reason.clone()));
                    }
                    progress(done);
                    continue;
                }
            };
            self.adopt(&idxs, init, &mut report);
            progress(done);
        }
        drop(replies);
        if !orphaned.is_empty() {
            self.clean_orphans(&orphaned, floor).await;
        }
        Ok(report)
    }

    /// Deletes sessions a lost batch init opened on `aids`: this client's live sessions on
    /// those hosts created since `floor` (server clock, with slack) that the fleet does not
    /// hold. Best effort: a failure leaves them to expire on the server.
    async fn clean_orphans(&self, aids: &HashSet<Aid>, floor: Option<SystemTime>) {
        let since = floor
            .map(|f| f - crate::session::host::LOG_CLOCK_SLACK)
            .unwrap_or_else(|| SystemTime::now() - Duration::from_secs(120));
        let held: HashSet<&str> = self
            .hosts
            .iter()
            .map(|h| h.session_id.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        let ids = match self.client.my_sessions_since(since).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::debug!("looking for sessions a lost init opened: {e}");
                return;
            }
        };
        let candidates: Vec<SessionId> = ids
            .into_iter()
            .filter(|id| !held.contains(id.as_str()))
            .collect();
        let Ok((details, _)) = self.client.sessions_details(&candidates).await else {
            return;
        };
        let orphans = details
            .into_iter()
            .filter(|s| aids.contains(s.device_id.to_ascii_lowercase().as_str()))
            .map(|s| s.id);
        let client = self.client.clone();
        let mut deletions = stream::iter(orphans)
            .map(|sid| {
                let client = client.clone();
                async move { client.delete_session(&sid).await }
            })
            .buffer_unordered(CLOSE_CONCURRENCY);
        while let Some(r) = deletions.next().await {
            if let Err(e) = r {
                tracing::debug!("deleting a session a lost init opened: {e}");
            }
        }
    }

    /// Takes a batch init reply for hosts `idxs`: their sessions, batch, starting directory
    /// and state (the reason for those without a session). Used when connecting and when
    /// re-opening expired sessions.
    fn adopt(
        &mut self,
        idxs: &[HostIdx],
        init: crate::batch::BatchInit,
        report: &mut ConnectReport,
    ) {
        let batch_no = self.batches.len();
        let mut members = Vec::new();
        let mut init = init;
        for &i in idxs {
            let h = &mut self.hosts[i as usize];
            match init.hosts.remove(&h.device.device_id) {
                Some(r) if !r.session_id.is_empty() => {
                    h.session_id = SessionId::new(r.session_id.into_owned());
                    h.batch = Some(batch_no);
                    if r.complete {
                        h.cwd = r.stdout.trim_end_matches(['\r', '\n']).to_string();
                    }
                    if r.offline_queued {
                        h.state = HostState::Queued;
                        report.queued += 1;
                    } else {
                        h.state = HostState::Connected;
                        report.connected += 1;
                    }
                    members.push(i);
                }
                Some(r) => {
                    let reason = if r.errors.is_empty() {
                        "no session".to_string()
                    } else {
                        error_text(&r.errors)
                    };
                    if r.errors.iter().any(|e| e.code == 50401) {
                        report.late.push(i);
                    }
                    h.state = HostState::Failed(reason.clone());
                    report.failed.push((i, reason));
                }
                None => {
                    let reason = "not in the batch reply".to_string();
                    h.state = HostState::Failed(reason.clone());
                    report.failed.push((i, reason));
                }
            }
        }
        if !members.is_empty() {
            report
                .batches
                .push((init.batch_id.clone(), init.trace_id.clone()));
            self.refresh
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(RefreshTarget {
                    batch_id: init.batch_id.clone(),
                    remove: Vec::new(),
                });
            self.batches.push(Batch {
                id: init.batch_id,
                members,
            });
        }
    }

    /// Runs `line` on `targets` (active hosts; others are ignored). Batches go out in
    /// parallel; `on_unit` gets each batch's results as they arrive, after the fleet has taken
    /// note of them (working directories, queued commands).
    ///
    /// Sessions that expired are re-opened, as on one host: hosts known to have expired are
    /// re-opened first; hosts the API answers with "no such session" (50007, 40002: the
    /// command never reached them) are re-opened, returned to their directory, and sent the line
    /// once more. Their first answer is never shown.
    pub async fn run(
        &mut self,
        line: &str,
        base: &str,
        tier: Tier,
        targets: &[HostIdx],
        cancel: &CancellationToken,
        on_unit: &mut dyn FnMut(&Fleet, Unit),
    ) -> RunReport {
        let mut report = RunReport::default();
        let wanted: HashSet<HostIdx> = targets
            .iter()
            .copied()
            .filter(|&i| self.hosts[i as usize].state.active())
            .collect();
        let stale: Vec<HostIdx> = wanted
            .iter()
            .copied()
            .filter(|&i| self.hosts[i as usize].expired)
            .collect();
        if !stale.is_empty() {
            self.reopen(&stale, &mut report).await;
        }
        // A script may run as long as the batch request waits for it, and ends (saying so)
        // just before: PSFalcon's rule, see `command::script_timeout`.
        let words = lexer::words(line).unwrap_or_default();
        let seconds = script_timeout::fleet_seconds(self.opts.batch_timeout);
        let sent = script_timeout::with_timeout(line, &words, seconds);
        let job = self.job(tier, base, line, &sent, cancel);
        let gone = self.round(&job, &wanted, true, on_unit).await;
        if !gone.is_empty() && !cancel.is_cancelled() {
            self.reopen(&gone, &mut report).await;
            let again: HashSet<HostIdx> = gone
                .into_iter()
                .filter(|&i| self.hosts[i as usize].state.active())
                .collect();
            self.round(&job, &again, false, on_unit).await;
        }
        report
    }

    /// The job of one command: `typed` as the user typed it, `sent` as it goes to the API.
    fn job(
        &self,
        tier: Tier,
        base: &str,
        typed: &str,
        sent: &str,
        cancel: &CancellationToken,
    ) -> Job {
        let sessions = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.session_id.is_empty())
            .map(|(i, h)| (i as HostIdx, h.session_id.clone()))
            .collect();
        Job {
            sessions: Arc::new(sessions),
            client: self.client.clone(),
            index: self.index.clone(),
            tier,
            base: Arc::from(base),
            typed: Arc::from(typed),
            line: Arc::from(sent),
            started: SystemTime::now(),
            timeout: self.opts.batch_timeout,
            schedule: self.opts.schedule.clone(),
            limits: self.opts.limits.clone(),
            cancel: cancel.clone(),
            first_wait: self.opts.first_wait_for(base),
            pacer: Arc::new(Pacer::new(self.opts.late_checks_per_second)),
            gate: Arc::new(tokio::sync::Semaphore::new(REPLIES_AT_ONCE)),
            chunk_gate: Arc::new(tokio::sync::Semaphore::new(CHUNK_LOOPS)),
            first_kept: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            first_chunks_kept: self.opts.first_chunks_kept,
            unit_bytes: self.opts.unit_bytes,
        }
    }

    /// Each batch's share of `wanted`: (batch id, hosts, their aids), batches with none left
    /// out (never send `optional_hosts: []`). The spec requires `optional_hosts`; the explicit
    /// list is also the only safe way to say "these hosts" (docs/protocol.md, "Batch commands").
    fn batch_parts(&self, wanted: &HashSet<HostIdx>) -> Vec<(BatchId, Vec<HostIdx>, Vec<Aid>)> {
        let mut work = Vec::new();
        for b in &self.batches {
            let part: Vec<HostIdx> = b
                .members
                .iter()
                .copied()
                .filter(|i| wanted.contains(i))
                .collect();
            if part.is_empty() {
                continue;
            }
            let aids: Vec<Aid> = part
                .iter()
                .map(|&i| self.hosts[i as usize].device.device_id.clone())
                .collect();
            work.push((b.id.clone(), part, aids));
        }
        work
    }

    /// Sends `job` to the hosts in `wanted`, batch by batch. With `hold_gone`, hosts whose
    /// session is gone are left out of the units and returned.
    async fn round(
        &mut self,
        job: &Job,
        wanted: &HashSet<HostIdx>,
        hold_gone: bool,
        on_unit: &mut dyn FnMut(&Fleet, Unit),
    ) -> Vec<HostIdx> {
        let work = self.batch_parts(wanted);
        // Each batch hands its units on as they are known (the answers within the first wait,
        // then the rest); one at a time, so a batch waits while the last is being shown.
        // Batches are tasks of their own: one reads and parses its reply on one core while the
        // last unit is shown on the other. Dropping the round stops them.
        let (tx, mut rx) = mpsc::channel::<Unit>(1);
        let all = stream::iter(work)
            .map(|(batch_id, part, optional)| {
                let job = job.clone();
                let tx = tx.clone();
                crate::spawned(run_batch(job, batch_id, part, optional, tx))
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect::<Vec<()>>();
        tokio::pin!(all);
        let mut finished = false;
        let mut gone = Vec::new();
        loop {
            let next = if finished {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    u = rx.recv() => u,
                    _ = &mut all => {
                        finished = true;
                        continue;
                    }
                }
            };
            let Some(mut unit) = next else {
                break;
            };
            if hold_gone {
                unit.runs.retain(|r| {
                    let lost = session_gone(&r.result);
                    if lost {
                        gone.push(r.host);
                    }
                    !lost
                });
                if unit.runs.is_empty() {
                    continue;
                }
            }
            self.note(&unit, job);
            on_unit(self, unit);
        }
        gone
    }

    /// `get PATH` on many hosts: a batch get per batch, then the batch get status until every
    /// host that took the command has its file in the cloud (or `limit` passes, or `cancel`).
    /// `progress(done, total)` after each look. Per host: the file (its `session_id` and
    /// `sha256` say where to download it from), or why there is none.
    pub async fn get(
        &mut self,
        path: &str,
        targets: &[HostIdx],
        limit: Duration,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Vec<(HostIdx, Result<crate::files::SessionFile, String>)> {
        let wanted: HashSet<HostIdx> = targets
            .iter()
            .copied()
            .filter(|&i| self.hosts[i as usize].state.active())
            .collect();
        let mut out = Vec::new();
        let mut waiting: Vec<(String, HashMap<Aid, HostIdx>)> = Vec::new();
        for (batch_id, part, aids) in self.batch_parts(&wanted) {
            match self
                .client
                .batch_get(&batch_id, path, &aids, self.opts.batch_timeout)
                .await
            {
                Ok(reply) => {
                    let mut pending = HashMap::new();
                    for (&i, aid) in part.iter().zip(&aids) {
                        match reply.hosts.get(aid) {
                            Some(h) if !h.errors.is_empty() => {
                                out.push((i, Err(error_text(&h.errors))));
                            }
                            Some(h) if !h.stderr.trim().is_empty() => {
                                out.push((i, Err(h.stderr.trim().to_string())));
                            }
                            // Not waited for: it runs when the host comes back.
                            Some(h) if h.offline_queued => out.push((
                                i,
                                Err("queued for the offline host; the file reaches the cloud \
                                     when it comes back"
                                    .into()),
                            )),
                            Some(_) => {
                                pending.insert(aid.clone(), i);
                            }
                            None => out.push((i, Err("missing from the batch reply".into()))),
                        }
                    }
                    if !pending.is_empty() {
                        waiting.push((reply.req_id, pending));
                    }
                }
                Err(e) => {
                    let why = if e.maybe_executed() {
                        format!("{e}; the file may still reach the cloud (see `files`)")
                    } else {
                        e.to_string()
                    };
                    out.extend(part.iter().map(|&i| (i, Err(why.clone()))));
                }
            }
        }
        let total = out.len() + waiting.iter().map(|(_, p)| p.len()).sum::<usize>();
        let start = std::time::Instant::now();
        let mut delay = Duration::from_millis(250);
        progress(out.len(), total);
        while !waiting.is_empty() {
            for (req, pending) in &mut waiting {
                match self.client.batch_get_status(req).await {
                    Ok(files) => {
                        for (aid, f) in files {
                            if let Some(i) = pending.remove(&aid) {
                                out.push((i, Ok(f)));
                            }
                        }
                    }
                    Err(e) => tracing::debug!("batch get status: {e}"),
                }
            }
            waiting.retain(|(_, p)| !p.is_empty());
            progress(out.len(), total);
            if waiting.is_empty() || cancel.is_cancelled() || start.elapsed() + delay > limit {
                break;
            }
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
        let why = if cancel.is_cancelled() {
            "cancelled; the file may still reach the cloud (see `files`)".to_string()
        } else {
            format!(
                "the file did not reach the cloud within {}",
                humantime::format_duration(limit)
            )
        };
        for (_, pending) in waiting {
            out.extend(pending.into_values().map(|i| (i, Err(why.clone()))));
        }
        out
    }

    /// The files each connected host's session holds in the cloud (`get` results), a few
    /// hosts at a time.
    pub async fn files(&self) -> Vec<(HostIdx, Result<Vec<crate::files::SessionFile>, String>)> {
        let hosts: Vec<(HostIdx, SessionId)> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state == HostState::Connected && !h.session_id.is_empty())
            .map(|(i, h)| (i as HostIdx, h.session_id.clone()))
            .collect();
        let client = self.client.clone();
        let mut lists = stream::iter(hosts)
            .map(|(i, sid)| {
                let client = client.clone();
                async move {
                    let r = client.session_files(&sid).await.map_err(|e| e.to_string());
                    (i, r)
                }
            })
            .buffer_unordered(CHUNK_CONCURRENCY);
        let mut out = Vec::new();
        while let Some(x) = lists.next().await {
            out.push(x);
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }

    /// Marks the hosts of these aids as expired (the background refresh found their sessions
    /// gone): the next command re-opens them first.
    pub fn mark_expired(&mut self, aids: &[Aid]) {
        for a in aids {
            if let Some(i) = self.host_by_aid(a) {
                self.hosts[i as usize].expired = true;
            }
        }
    }

    /// Opens new sessions (one new batch) on hosts whose sessions expired and returns each to
    /// the directory it was in.
    async fn reopen(&mut self, hosts: &[HostIdx], report: &mut RunReport) {
        let aids: Vec<Aid> = hosts
            .iter()
            .map(|&i| self.hosts[i as usize].device.device_id.clone())
            .collect();
        let before: Vec<String> = hosts
            .iter()
            .map(|&i| self.hosts[i as usize].cwd.clone())
            .collect();
        let init = match self
            .client
            .batch_init(
                &aids,
                self.opts.queue_offline,
                self.opts.batch_timeout,
                None,
            )
            .await
        {
            Ok(init) => init,
            Err(e) => {
                let why = format!("could not re-open the session: {e}");
                for &i in hosts {
                    self.hosts[i as usize].state = HostState::Failed(why.clone());
                    report.reopen_failed.push((i, why.clone()));
                }
                return;
            }
        };
        let moved: HashSet<HostIdx> = hosts.iter().copied().collect();
        for b in &mut self.batches {
            b.members.retain(|i| !moved.contains(i));
        }
        let mut connect = ConnectReport::default();
        self.adopt(hosts, init, &mut connect);
        for (i, why) in connect.failed {
            report
                .reopen_failed
                .push((i, format!("could not re-open the session: {why}")));
        }
        // Back to where each host was: one `cd` per directory, on the hosts that were there.
        let mut by_dir: HashMap<String, HashSet<HostIdx>> = HashMap::new();
        for (&i, old) in hosts.iter().zip(before) {
            let h = &mut self.hosts[i as usize];
            if !h.state.active() {
                continue;
            }
            h.expired = false;
            report.reopened += 1;
            if !old.is_empty() && old != h.cwd {
                by_dir.entry(old).or_default().insert(i);
            }
        }
        for (dir, hs) in by_dir {
            let line = format!("cd {}", crate::session::host::quote_path(&dir));
            let job = self.job(
                Tier::ReadOnly,
                "cd",
                &line,
                &line,
                &CancellationToken::new(),
            );
            self.round(&job, &hs, false, &mut |_, _| {}).await;
        }
    }

    /// Takes note of a unit: new working directories, queued commands, hosts back online.
    fn note(&mut self, unit: &Unit, job: &Job) {
        let (line, base, tier, at) = (&*job.typed, &*job.base, job.tier, job.started);
        let is_cd = base.eq_ignore_ascii_case("cd");
        for run in &unit.runs {
            let h = &mut self.hosts[run.host as usize];
            match &run.result {
                RunResult::Output { group, stderr } => {
                    if h.state == HostState::Queued {
                        h.state = HostState::Connected;
                    }
                    if is_cd
                        && !stderr
                        && let Some(g) = unit.groups.get(*group)
                    {
                        let t = g
                            .stdout
                            .as_str()
                            .unwrap_or("")
                            .trim_matches(['\r', '\n', ' ']);
                        if !t.is_empty() && !t.contains('\n') {
                            h.cwd = t.to_string();
                        }
                    }
                }
                RunResult::Queued => self.queue.push(QueuedCommand {
                    host: run.host,
                    cloud_request_id: run.cloud_request_id.clone(),
                    tier,
                    line: line.to_string(),
                    queued_at: at,
                    done: false,
                    note: None,
                }),
                _ => {}
            }
        }
    }

    /// Deletes every session this fleet opened, [`CLOSE_CONCURRENCY`] at a time, except those
    /// holding queued commands. `progress` gets the number done; `cancel` stops early (the rest
    /// expire on the server after their idle time). Stops the background refresh of them.
    pub async fn close(
        &mut self,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(usize),
    ) -> CloseReport {
        let queued: HashSet<HostIdx> = self
            .queue
            .iter()
            .filter(|q| !q.done)
            .map(|q| q.host)
            .collect();
        let mut report = CloseReport::default();
        let mut targets: Vec<(HostIdx, SessionId)> = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            if h.session_id.is_empty() {
                continue;
            }
            if queued.contains(&(i as HostIdx)) {
                report.kept_queued += 1;
            } else {
                targets.push((i as HostIdx, h.session_id.clone()));
            }
        }
        self.refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let client = self.client.clone();
        let mut deletions = stream::iter(targets)
            .map(|(i, sid)| {
                let client = client.clone();
                let cancel = cancel.clone();
                async move {
                    if cancel.is_cancelled() {
                        return (i, None);
                    }
                    let r = tokio::select! {
                        _ = cancel.cancelled() => None,
                        r = client.delete_session(&sid) => Some(r),
                    };
                    (i, r)
                }
            })
            .buffer_unordered(CLOSE_CONCURRENCY);
        let mut done = 0;
        let mut gone: Vec<HostIdx> = Vec::new();
        while let Some((i, r)) = deletions.next().await {
            match r {
                Some(Ok(())) => gone.push(i),
                Some(Err(e)) if crate::session::host::is_session_gone(&e) => gone.push(i),
                Some(Err(e)) => {
                    report.left += 1;
                    if report.errors.len() < 3 {
                        report.errors.push(e.to_string());
                    }
                }
                None => report.left += 1,
            }
            done += 1;
            progress(done);
        }
        drop(deletions);
        report.closed = gone.len();
        for i in gone {
            self.hosts[i as usize].session_id = SessionId::default();
        }
        report
    }

    /// Removes hosts from the fleet; the server stops keeping their sessions alive.
    pub async fn drop_hosts(&mut self, hosts: &[HostIdx]) -> Result<(), FalconError> {
        let mut per_batch: HashMap<usize, Vec<Aid>> = HashMap::new();
        for &i in hosts {
            let h = &mut self.hosts[i as usize];
            if let Some(b) = h.batch {
                per_batch
                    .entry(b)
                    .or_default()
                    .push(h.device.device_id.clone());
            }
            h.state = HostState::Dropped;
        }
        for b in self.batches.iter_mut() {
            b.members
                .retain(|i| self.hosts[*i as usize].state != HostState::Dropped);
        }
        let mut result = Ok(());
        for (b, aids) in per_batch {
            let id = self.batches[b].id.clone();
            {
                let mut plan = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(t) = plan.iter_mut().find(|t| t.batch_id == id) {
                    t.remove.extend(aids.iter().cloned());
                }
            }
            if self.batches[b].members.is_empty() {
                continue;
            }
            if let Err(e) = self.client.batch_refresh(&id, &aids).await {
                result = Err(e);
            }
        }
        self.refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| {
                self.batches
                    .iter()
                    .any(|b| b.id == t.batch_id && !b.members.is_empty())
            });
        result
    }

    /// Checks every queued command once; returns the results that have arrived (a `Unit` per
    /// command with its host). Each result is returned once.
    ///
    /// The order is the SDKs' (FalconPy `queued_execute.py`, PSFalcon `Get-FalconQueue`): ask
    /// the queued-sessions endpoint first and check a command's status only once it is no longer
    /// `PENDING` there. What a status check says for a queued command that has not run is
    /// undocumented (`complete:false`, or a 404 / 40401): each is "not yet", and so is any other
    /// failed check, so a command is never dropped while it may still run. A command the
    /// queued-sessions endpoint reports as failed, cancelled or expired is a result: a failure
    /// with that status and text.
    pub async fn check_queue(&mut self, cancel: &CancellationToken) -> Vec<(usize, Unit)> {
        let pending: Vec<usize> = (0..self.queue.len())
            .filter(|&i| !self.queue[i].done)
            .collect();
        if pending.is_empty() {
            return Vec::new();
        }
        let mut sessions: Vec<SessionId> = pending
            .iter()
            .map(|&qi| self.hosts[self.queue[qi].host as usize].session_id.clone())
            .filter(|s| !s.is_empty())
            .collect();
        sessions.sort();
        sessions.dedup();
        // What the queued-sessions endpoint says of each command (unknown when it failed).
        let mut states: HashMap<CloudRequestId, QueuedCommandState> = HashMap::new();
        let mut listing_failed = None;
        for ids in sessions.chunks(QUEUED_SESSIONS_PER_REQUEST) {
            match self.client.queued_sessions(ids).await {
                Ok(list) => {
                    for c in list.into_iter().flat_map(|s| s.commands) {
                        states.insert(c.cloud_request_id.clone(), c);
                    }
                }
                Err(e) => listing_failed = Some(e.to_string()),
            }
        }
        let client = self.client.clone();
        let schedule = self.opts.schedule.clone();
        let limits = self.opts.limits.clone();
        let mut checks = stream::iter(pending)
            .map(|qi| {
                let q = self.queue[qi].clone();
                let state = states.get(&q.cloud_request_id).cloned();
                let client = client.clone();
                let schedule = schedule.clone();
                let limits = limits.clone();
                let cancel = cancel.clone();
                async move {
                    match state.as_ref().map(|s| QueueStage::of(&s.status)) {
                        Some(QueueStage::Waiting) => return (qi, Check::NotYet(None)),
                        Some(QueueStage::Failed) => {
                            let s = state.unwrap_or_default();
                            return (qi, Check::Arrived(queue_failure(q.host, &q, &s)));
                        }
                        Some(QueueStage::Ran) | None => {}
                    }
                    let first = match client.command_status(q.tier, &q.cloud_request_id, 0).await {
                        Ok(s) => s,
                        Err(e) if not_run_yet(&e) => return (qi, Check::NotYet(None)),
                        Err(e) => {
                            return (qi, Check::NotYet(Some(format!("last check failed: {e}"))));
                        }
                    };
                    let got = !first.stdout.is_empty() || !first.stderr.is_empty();
                    if !first.complete && !got {
                        return (qi, Check::NotYet(None));
                    }
                    let mut g = Grouper::default();
                    let run = follow_chunks(
                        &client,
                        q.tier,
                        q.host,
                        &q.cloud_request_id,
                        Start::From(first),
                        Waiting {
                            schedule: &schedule,
                            limits: &limits,
                            cancel: &cancel,
                        },
                        &mut g,
                    )
                    .await;
                    (
                        qi,
                        Check::Arrived(Unit {
                            groups: g.groups,
                            runs: vec![run],
                            ..Default::default()
                        }),
                    )
                }
            })
            .buffer_unordered(CHUNK_CONCURRENCY);
        let mut out = Vec::new();
        let mut notes = Vec::new();
        while let Some((qi, check)) = checks.next().await {
            match check {
                Check::Arrived(u) => out.push((qi, u)),
                Check::NotYet(note) => notes.push((qi, note)),
            }
        }
        drop(checks);
        for (qi, note) in notes {
            self.queue[qi].note = note.or_else(|| {
                listing_failed
                    .as_ref()
                    .map(|e| format!("queued-sessions check failed: {e}"))
            });
        }
        for (qi, u) in &out {
            let done = u.runs.iter().all(|r| {
                !matches!(
                    r.result,
                    RunResult::Cancelled | RunResult::TimedOut | RunResult::Queued
                )
            });
            if done {
                self.queue[*qi].done = true;
                self.queue[*qi].note = None;
            }
        }
        out.sort_by_key(|(qi, _)| *qi);
        out
    }

    /// Keeps the batch sessions alive every `every` until `cancel`.
    pub fn spawn_refresh(
        &self,
        every: Duration,
        cancel: CancellationToken,
        events: mpsc::UnboundedSender<RefreshEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let client = self.client.clone();
        let plan = self.refresh.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + every;
            let mut tick = tokio::time::interval_at(start, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let targets = plan.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let mut hosts = 0;
                let mut expired = Vec::new();
                let mut failure = None;
                for t in targets {
                    match client.batch_refresh(&t.batch_id, &t.remove).await {
                        Ok(list) => {
                            for r in list {
                                if r.errors.is_empty() {
                                    hosts += 1;
                                } else {
                                    expired.push(r.aid);
                                }
                            }
                        }
                        Err(e) => failure = Some(e.to_string()),
                    }
                }
                let _ = events.send(RefreshEvent::Ok { hosts });
                if !expired.is_empty() {
                    let _ = events.send(RefreshEvent::Expired(expired));
                }
                if let Some(f) = failure {
                    let _ = events.send(RefreshEvent::Failed(f));
                }
            }
        })
    }
}
