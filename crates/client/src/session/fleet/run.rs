//! Running one command line on the batches of a fleet: one batch request per batch (all side
//! by side), each reply parsed as a stream and every host's output grouped by its SHA-256 on the
//! spot, then the chunk loop for the hosts whose output is larger than one chunk.
//!
//! The slowest host does not hold the rest. The batch request waits only a first window
//! ([`Job::first_wait`], shorter than the batch timeout): the hosts that answered within it are
//! handed on at once, and the hosts that had not (`complete:false`, no output, or 50401) are
//! followed through their `task_id` (the command's `cloud_request_id`) with single-host status
//! checks, paced for the whole command by a [`Pacer`], until they finish or the batch timeout
//! has passed since the command was sent: then they are reported timed out. Nothing is sent
//! again.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::text::{SPILL_ABOVE, SpillSink, Text};
use super::{Group, HostIdx, HostRun, RunResult, Unit, error_text};
use crate::batch::{BatchCommand, HostReply};
use crate::ids::{Aid, BatchId, CloudRequestId, SessionId};
use crate::rtr::Status;
use crate::session::host::{Pick, Window, pick_unconfirmed};
use crate::session::poll::{Completion, PollLimits, Schedule, Start, Waiting, poll_starting};
use crate::{FalconClient, FalconError};
use rtrsh_command::Tier;
use rtrsh_command::digest::OutputDigest;

/// Concurrent chunk loops for hosts with output larger than one chunk, per batch (and for
/// queued commands).
pub(super) const CHUNK_CONCURRENCY: usize = 8;

/// Chunk loops running at once for a whole command, whatever its number of batches: each holds
/// one host's output until it is complete (see [`Job::chunk_gate`]).
pub(super) const CHUNK_LOOPS: usize = 16;

/// Distinct output (bytes of text) a unit of chunk-loop results gathers before it is handed
/// on. A unit gathers at least one host; identical outputs within it are one copy.
pub const UNIT_BYTES: usize = 4 << 20;

/// Chunk-0 text the batch replies of one command may leave waiting for the chunk loop. A host
/// whose chunk 0 finds this full drops it and fetches it again (one more status check) when its
/// turn comes, so waiting hosts cost their ids only.
pub const FIRST_CHUNKS_KEPT: usize = 16 << 20;

/// Status checks of stragglers in flight at once (within the pace of the [`Pacer`]).
const STRAGGLER_CONCURRENCY: usize = 8;

/// The first look at the stragglers comes this long after the batch reply; the pause between
/// looks doubles up to [`STRAGGLER_MAX_PAUSE`].
const STRAGGLER_FIRST_PAUSE: Duration = Duration::from_millis(500);
const STRAGGLER_MAX_PAUSE: Duration = Duration::from_secs(4);
/// How long before the batch timeout the stragglers get their last look.
const LAST_LOOK_BEFORE: Duration = Duration::from_millis(300);

/// Paces requests shared by many tasks: at most `per_second` start each second, whoever sends
/// them (the stragglers of every batch of a command share one).
#[derive(Debug)]
pub(super) struct Pacer {
    gap: Duration,
    next: std::sync::Mutex<Instant>,
}

impl Pacer {
    pub(super) fn new(per_second: u32) -> Pacer {
        Pacer {
            gap: Duration::from_secs(1) / per_second.max(1),
            next: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's turn.
    pub(super) async fn wait(&self) {
        let at = self.turn(Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// Books the next turn for a caller asking at `now`: no earlier than `now`, and one gap
    /// after the turn booked before.
    fn turn(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let at = (*next).max(now);
        *next = at + self.gap;
        at
    }
}

/// Groups outputs by content: one copy of each distinct output.
#[derive(Default)]
pub(super) struct Grouper {
    index: HashMap<[u8; 32], usize>,
    pub(super) groups: Vec<Group>,
}

impl Grouper {
    /// Files a host's output collected with its digest, taking the text when it is new.
    pub(super) fn add_text(
        &mut self,
        host: HostIdx,
        stdout: Text,
        stderr: String,
        digest: OutputDigest,
    ) -> usize {
        self.file(host, digest, move || (stdout, stderr))
    }

    /// Files a host's output, copying the text only when it is new and borrowed.
    pub(super) fn add(
        &mut self,
        host: HostIdx,
        stdout: Cow<'_, str>,
        stderr: Cow<'_, str>,
    ) -> usize {
        let digest = OutputDigest::of(stdout.as_bytes(), stderr.as_bytes());
        self.file(host, digest, || {
            (Text::from(stdout.into_owned()), stderr.into_owned())
        })
    }

    /// The host joins the group of the output `digest` identifies, or starts one with the text
    /// `text` gives. The output is hashed once: its digest serves the audit trail too.
    fn file(
        &mut self,
        host: HostIdx,
        digest: OutputDigest,
        text: impl FnOnce() -> (Text, String),
    ) -> usize {
        let key = digest.identity();
        if let Some(&g) = self.index.get(&key) {
            self.groups[g].hosts.push(host);
            return g;
        }
        let (mut stdout, mut stderr) = text();
        stdout.shrink_to_fit();
        stderr.shrink_to_fit();
        self.groups.push(Group {
            key,
            stdout,
            stderr,
            digest,
            hosts: vec![host],
        });
        self.index.insert(key, self.groups.len() - 1);
        self.groups.len() - 1
    }

    /// Files a group of one host made elsewhere (its key and digest are kept).
    fn adopt(&mut self, group: Group) -> usize {
        if let Some(&g) = self.index.get(&group.key) {
            self.groups[g].hosts.extend(group.hosts);
            return g;
        }
        self.index.insert(group.key, self.groups.len());
        self.groups.push(group);
        self.groups.len() - 1
    }

    /// Bytes of text held.
    fn bytes(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.stdout.held() + g.stderr.len())
            .sum()
    }
}

/// A host whose output continues in the chunk loop.
pub(super) struct More {
    host: HostIdx,
    crid: CloudRequestId,
    /// Its chunk 0, when kept (see [`Job::keep_first`]).
    first: Option<Status>,
    /// Known to have finished with output (its chunk 0 was dropped): the loop starts at once.
    ready: bool,
}

impl More {
    fn new(job: &Job, host: HostIdx, crid: CloudRequestId, first: Status) -> More {
        let first = job.keep_first(first);
        let ready = first.is_none();
        More {
            host,
            crid,
            first,
            ready,
        }
    }
}

/// What a command task needs, owned (tasks do not borrow the fleet).
#[derive(Clone)]
pub(super) struct Job {
    pub(super) client: FalconClient,
    pub(super) index: Arc<HashMap<Aid, HostIdx>>,
    pub(super) tier: Tier,
    pub(super) base: Arc<str>,
    /// The line as the user typed it.
    pub(super) typed: Arc<str>,
    /// The line as it goes to the API (a script's `-Timeout` added).
    pub(super) line: Arc<str>,
    /// When the command was sent (a queued command's time).
    pub(super) started: std::time::SystemTime,
    pub(super) timeout: Duration,
    pub(super) schedule: Schedule,
    pub(super) limits: PollLimits,
    pub(super) cancel: CancellationToken,
    /// Each host's session id (to look an unconfirmed command up in its log).
    pub(super) sessions: Arc<HashMap<HostIdx, SessionId>>,
    /// How long the batch request waits for the hosts (at most `timeout`). When shorter, the
    /// hosts that had not answered are followed until `timeout`.
    pub(super) first_wait: Duration,
    /// Paces the stragglers' status checks (one for the whole command).
    pub(super) pacer: Arc<Pacer>,
    /// Batch replies read at once: each holds its body and its outputs until handed on.
    pub(super) gate: Arc<Semaphore>,
    /// Chunk loops running at once for the whole command ([`CHUNK_LOOPS`]): each holds one
    /// host's output until it is complete.
    pub(super) chunk_gate: Arc<Semaphore>,
    /// Chunk-0 text kept for hosts waiting for a chunk loop (at most `first_chunks_kept`).
    pub(super) first_kept: Arc<AtomicUsize>,
    pub(super) first_chunks_kept: usize,
    /// Distinct output a unit of chunk-loop results gathers before it is handed on.
    pub(super) unit_bytes: usize,
}

impl Job {
    /// A host's chunk 0 to keep until its chunk loop starts, if the command's budget for them
    /// has room; `None`: the loop fetches it again.
    fn keep_first(&self, status: Status) -> Option<Status> {
        let n = status.stdout.len() + status.stderr.len();
        let before = self.first_kept.fetch_add(n, Ordering::Relaxed);
        if before + n <= self.first_chunks_kept {
            Some(status)
        } else {
            self.first_kept.fetch_sub(n, Ordering::Relaxed);
            None
        }
    }

    /// Gives back what [`Job::keep_first`] took for `first`.
    fn release_first(&self, first: &Option<Status>) {
        if let Some(s) = first {
            self.first_kept
                .fetch_sub(s.stdout.len() + s.stderr.len(), Ordering::Relaxed);
        }
    }
}

impl Job {
    /// One host's output to its end, chunk by chunk, in its turn of the [`Job::chunk_gate`]:
    /// its run and its output (a group of that one host).
    async fn follow(&self, m: More) -> (HostRun, Option<Group>) {
        let _turn = self.chunk_gate.acquire().await.ok();
        self.release_first(&m.first);
        let mut g = Grouper::default();
        let start = match m.first {
            Some(status) => Start::From(status),
            None if m.ready => Start::Ready,
            None => Start::Fresh(None),
        };
        let run = follow_chunks(
            &self.client,
            self.tier,
            m.host,
            &m.crid,
            start,
            Waiting {
                schedule: &self.schedule,
                limits: &self.limits,
                cancel: &self.cancel,
            },
            &mut g,
        )
        .await;
        (run, g.groups.pop())
    }
}

/// Results of chunk loops gathered into units of about [`UNIT_BYTES`] of distinct output, each
/// handed on when full, so a batch never holds more than one unit of them.
struct Gather {
    g: Grouper,
    runs: Vec<HostRun>,
    recovered: usize,
    resent: usize,
    limit: usize,
}

impl Gather {
    fn new(job: &Job, recovered: usize, resent: usize) -> Gather {
        Gather {
            g: Grouper::default(),
            runs: Vec::new(),
            recovered,
            resent,
            limit: job.unit_bytes,
        }
    }

    /// Adds one host's run (its output in `group`, a group of that one host).
    fn add(&mut self, mut run: HostRun, group: Option<Group>) {
        if let (RunResult::Output { group: gi, .. }, Some(grp)) = (&mut run.result, group) {
            *gi = self.g.adopt(grp);
        }
        self.runs.push(run);
    }

    /// Hands the gathered runs on when they hold `limit` bytes or more (always with `all`).
    async fn flush(&mut self, units: &mpsc::Sender<Unit>, all: bool) {
        if self.runs.is_empty() || (!all && self.g.bytes() < self.limit) {
            return;
        }
        let unit = Unit {
            groups: std::mem::take(&mut self.g).groups,
            runs: std::mem::take(&mut self.runs),
            error: None,
            recovered: std::mem::take(&mut self.recovered),
            resent: std::mem::take(&mut self.resent),
            permit: None,
        };
        let _ = units.send(unit).await;
    }
}

/// How long a lost batch reply's hosts are looked up in their session logs (the logs may lag).
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

/// After a batch command the API did not confirm: finds, in each host's session log, the entry
/// this command made, with the single-host rule ([`pick_unconfirmed`]: same command line,
/// created after it was sent). Reads the logs until every host is decided or
/// [`RECOVER_WITHIN`] has passed. `Ok(cloud_request_id)` for a host where it ran; `Err(why)`
/// where that cannot be told; hosts left out were not found. The set: the hosts whose log was
/// read at least once (left out and in it: the log shows the command never arrived).
async fn recover(
    job: &Job,
    hosts: &[HostIdx],
    floor: Option<std::time::SystemTime>,
) -> (
    HashMap<HostIdx, Result<CloudRequestId, String>>,
    HashSet<HostIdx>,
) {
    let mut decided = HashMap::new();
    let mut read = HashSet::new();
    let mut pending: Vec<(HostIdx, SessionId)> = hosts
        .iter()
        .filter_map(|h| job.sessions.get(h).map(|s| (*h, s.clone())))
        .collect();
    let deadline = std::time::Instant::now() + RECOVER_WITHIN;
    let mut pause = Duration::from_millis(100);
    let mut until = None;
    let none = std::collections::HashSet::new();
    loop {
        let ids: Vec<SessionId> = pending.iter().map(|(_, s)| s.clone()).collect();
        match job.client.sessions_logs(&ids).await {
            Ok((logs, date)) => {
                if until.is_none() {
                    until = date.map(|d| d + Duration::from_secs(1));
                }
                let window = Window {
                    after: floor,
                    until,
                };
                pending.retain(|(h, sid)| {
                    if logs.contains_key(sid) {
                        read.insert(*h);
                    }
                    let entries = logs.get(sid).map(Vec::as_slice).unwrap_or_default();
                    match pick_unconfirmed(entries, &job.line, &none, window) {
                        Pick::One(id) => {
                            decided.insert(*h, Ok(id));
                            false
                        }
                        Pick::Many(n) => {
                            decided.insert(*h, Err(format!("{n} entries of its log could be it")));
                            false
                        }
                        Pick::None => true,
                    }
                });
            }
            Err(e) => tracing::debug!("reading session logs: {e}"),
        }
        if job.cancel.is_cancelled() {
            // Undecided: nobody may say the command never arrived.
            return (decided, HashSet::new());
        }
        if pending.is_empty() || std::time::Instant::now() + pause > deadline {
            return (decided, read);
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = job.cancel.cancelled() => {}
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn failure(e: &FalconError) -> RunResult {
    RunResult::Failed {
        code: e.code(),
        http_status: e.status(),
        message: e.to_string(),
        maybe_executed: e.maybe_executed(),
    }
}

/// Fetches the rest of one host's output with the single-host chunk loop, from `start` (the
/// chunk 0 in hand; or, without it, from chunk 0: at once when it is known to be ready, else on
/// the polling schedule), and files it in `g`.
pub(super) async fn follow_chunks(
    client: &FalconClient,
    tier: Tier,
    host: HostIdx,
    crid: &str,
    start: Start,
    wait: Waiting<'_>,
    g: &mut Grouper,
) -> HostRun {
    let mut out = SpillSink::new(SPILL_ABOVE);
    let polled = poll_starting(client, tier, crid, start, &mut out, wait).await;
    let (result, seqs) = match polled {
        Ok(p) => {
            let r = match p.completion {
                Completion::Complete => match out.finish() {
                    Ok((stdout, stderr, digest)) => RunResult::Output {
                        group: g.add_text(host, stdout, stderr, digest),
                        stderr: p.stderr_seen,
                    },
                    // It ran, but its output cannot be shown whole (nothing shortened is shown).
                    Err(why) => RunResult::Failed {
                        code: None,
                        http_status: None,
                        message: format!("it ran, but {why}"),
                        maybe_executed: false,
                    },
                },
                Completion::TimedOut => RunResult::TimedOut,
                Completion::Cancelled => RunResult::Cancelled,
            };
            (r, p.sequence_ids_seen)
        }
        Err(e) => (failure(&e), Vec::new()),
    };
    HostRun {
        host,
        cloud_request_id: CloudRequestId::new(crid),
        result,
        sequence_ids: seqs,
        trace_id: None,
    }
}

/// One batch's part of a command: the batch request (waiting [`Job::first_wait`]), then the
/// hosts whose output is larger than one chunk and the stragglers. Results go to `units` as they
/// are known: first everything the batch reply settled, then the rest as it comes.
pub(super) async fn run_batch(
    job: Job,
    batch_id: BatchId,
    part: Vec<HostIdx>,
    optional: Vec<Aid>,
    units: mpsc::Sender<Unit>,
) {
    let mut g = Grouper::default();
    // Grown as the reply comes: the batches of a command all wait side by side, and at
    // 50,000 hosts room reserved up front for every host would be 6 MB held while waiting.
    let mut runs: Vec<HostRun> = Vec::new();
    let mut more: Vec<More> = Vec::new();
    // Hosts that had not answered within the first window, with their task_id (may be empty).
    let mut late: Vec<(HostIdx, CloudRequestId)> = Vec::new();
    let mut answered: HashSet<HostIdx> = HashSet::new();
    let index = job.index.clone();
    let window = job.first_wait.min(job.timeout);
    let follow_late = window < job.timeout;
    let mut on_host = |r: HostReply<'_>| {
        let Some(&host) = index.get(r.aid.as_ref()) else {
            return;
        };
        if !answered.insert(host) {
            return;
        }
        let crid = CloudRequestId::new(r.task_id.as_ref());
        let sequence_id = r.sequence_id;
        let got = !r.stdout.is_empty() || !r.stderr.is_empty();
        let first_error = r.errors.first().map(|e| e.code);
        let unfinished = !got
            && match first_error {
                Some(code) => code == 50401,
                None => !r.offline_queued && !r.complete,
            };
        let result = if unfinished {
            if follow_late {
                late.push((host, crid));
                return;
            }
            RunResult::TimedOut
        } else if first_error.is_some() {
            RunResult::Failed {
                code: first_error,
                http_status: None,
                message: error_text(&r.errors),
                maybe_executed: false,
            }
        } else if r.offline_queued {
            RunResult::Queued
        } else if r.has_more_chunks() {
            more.push(More::new(&job, host, crid, r.to_status()));
            return;
        } else {
            RunResult::Output {
                stderr: !r.stderr.is_empty(),
                group: g.add(host, r.stdout, r.stderr),
            }
        };
        runs.push(HostRun {
            host,
            cloud_request_id: crid,
            result,
            sequence_ids: sequence_id.into_iter().collect(),
            trace_id: None,
        });
    };
    // The server's clock had reached this when the command was sent (see `recover`).
    let floor = job.client.server_time_floor(std::time::Instant::now());
    let deadline = Instant::now() + job.timeout;
    let command = BatchCommand {
        tier: job.tier,
        batch_id: &batch_id,
        base_command: &job.base,
        command_string: &job.line,
        optional_hosts: Some(&optional),
        timeout: window,
        gate: Some(&job.gate),
    };
    let asked = Instant::now();
    let sent = tokio::select! {
        r = job.client.batch_command(&command, &mut on_host) => Some(r),
        _ = job.cancel.cancelled() => None,
    };
    tracing::debug!(
        "batch {batch_id}: reply read and parsed {} ms after sending",
        asked.elapsed().as_millis()
    );
    let mut error = None;
    // Hosts whose command may have run without our hearing of it, and why.
    let mut unconfirmed: Vec<HostIdx> = Vec::new();
    let mut lost = String::new();
    let mut permit = None;
    let trace = match sent {
        Some(Ok(mut info)) => {
            permit = info.permit.take();
            info.trace_id
        }
        Some(Err(e)) if e.maybe_executed() => {
            unconfirmed.extend(part.iter().copied().filter(|h| !answered.contains(h)));
            lost = format!("the reply was lost ({e})");
            e.trace_id().map(str::to_string)
        }
        Some(Err(e)) => {
            let r = failure(&e);
            for &h in &part {
                if !answered.contains(&h) {
                    runs.push(HostRun {
                        host: h,
                        cloud_request_id: CloudRequestId::default(),
                        result: r.clone(),
                        sequence_ids: Vec::new(),
                        trace_id: e.trace_id().map(str::to_string),
                    });
                }
            }
            error = Some(Arc::new(e));
            None
        }
        None => {
            for &h in &part {
                if !answered.contains(&h) {
                    runs.push(HostRun {
                        host: h,
                        cloud_request_id: CloudRequestId::default(),
                        result: RunResult::Cancelled,
                        sequence_ids: Vec::new(),
                        trace_id: None,
                    });
                }
            }
            None
        }
    };
    if error.is_none() && unconfirmed.is_empty() && !job.cancel.is_cancelled() {
        // Hosts the reply left out: nothing is known of them yet.
        unconfirmed.extend(part.iter().copied().filter(|h| !answered.contains(h)));
        lost = "missing from the batch reply".into();
    }
    // What the reply settled is shown now; the rest follows.
    for r in &mut runs {
        r.trace_id.clone_from(&trace);
    }
    if !runs.is_empty() || error.is_some() {
        let first = Unit {
            groups: std::mem::take(&mut g.groups),
            runs: std::mem::take(&mut runs),
            error,
            recovered: 0,
            resent: 0,
            permit: permit.take(),
        };
        let _ = units.send(first).await;
        tracing::debug!(
            "batch {batch_id}: handed on {} ms after sending",
            asked.elapsed().as_millis()
        );
    }
    drop(permit);
    // As on one host: look the command up in each such host's session log; where it ran, its
    // output is fetched; where that cannot be told, it may or may not have run. Never re-sent.
    // Stragglers the reply gave no task_id are looked up the same way.
    let mut recovered = 0;
    let mut resent = 0;
    let unnamed: Vec<HostIdx> = late
        .iter()
        .filter(|(_, c)| c.is_empty())
        .map(|(h, _)| *h)
        .collect();
    if !unconfirmed.is_empty() || !unnamed.is_empty() {
        let wanted: Vec<HostIdx> = unconfirmed.iter().chain(&unnamed).copied().collect();
        let (found, read) = recover(&job, &wanted, floor).await;
        for (h, crid) in late.iter_mut().filter(|(_, c)| c.is_empty()) {
            if let Some(Ok(id)) = found.get(h) {
                crid.clone_from(id);
            }
        }
        let mut failed = Vec::new();
        let mut absent = Vec::new();
        for h in unconfirmed {
            let why = match found.get(&h) {
                Some(Ok(crid)) => {
                    more.push(More {
                        host: h,
                        crid: crid.clone(),
                        first: None,
                        ready: false,
                    });
                    recovered += 1;
                    continue;
                }
                // As on one host: a read-only command its log shows never arrived is sent
                // once more (a command that writes never is).
                None if read.contains(&h)
                    && !job.cancel.is_cancelled()
                    && crate::session::host::resend_is_harmless(job.tier, &job.line) =>
                {
                    absent.push(h);
                    continue;
                }
                Some(Err(w)) => w.clone(),
                None => "not found in its session's log".into(),
            };
            failed.push(HostRun {
                host: h,
                cloud_request_id: CloudRequestId::default(),
                result: RunResult::Failed {
                    code: None,
                    http_status: None,
                    message: format!("{lost}; it may or may not have run: {why}"),
                    maybe_executed: true,
                },
                sequence_ids: Vec::new(),
                trace_id: trace.clone(),
            });
        }
        for (h, r) in resend(&job, &absent).await {
            match r {
                Ok(crid) => {
                    more.push(More {
                        host: h,
                        crid,
                        first: None,
                        ready: false,
                    });
                    resent += 1;
                }
                Err(e) => failed.push(HostRun {
                    host: h,
                    cloud_request_id: CloudRequestId::default(),
                    result: RunResult::Failed {
                        code: e.code(),
                        http_status: e.status(),
                        message: format!(
                            "{lost}; its session's log showed it never arrived, and sending it once more failed: {}",
                            e
                        ),
                        maybe_executed: e.maybe_executed(),
                    },
                    sequence_ids: Vec::new(),
                    trace_id: trace.clone(),
                }),
            }
        }
        if !failed.is_empty() {
            let _ = units
                .send(Unit {
                    runs: failed,
                    ..Default::default()
                })
                .await;
        }
    }
    let chunks = follow_more(&job, more, (recovered, resent), &trace, &units);
    let stragglers = follow_late_hosts(&job, late, deadline, &trace, &units);
    tokio::join!(chunks, stragglers);
}

/// Output larger than one chunk, and the hosts of a lost reply found in their session logs or
/// sent the command once more (`recovered`, `resent` of them): the rest, host by host, a few at
/// a time for the whole command (the [`Job::chunk_gate`]); handed on in units of about
/// [`UNIT_BYTES`] as they complete.
async fn follow_more(
    job: &Job,
    more: Vec<More>,
    (recovered, resent): (usize, usize),
    trace: &Option<String>,
    units: &mpsc::Sender<Unit>,
) {
    if more.is_empty() {
        return;
    }
    let mut gather = Gather::new(job, recovered, resent);
    let mut late = stream::iter(more)
        .map(|m| job.follow(m))
        .buffer_unordered(CHUNK_CONCURRENCY);
    while let Some((mut run, group)) = late.next().await {
        if run.trace_id.is_none() {
            run.trace_id.clone_from(trace);
        }
        gather.add(run, group);
        gather.flush(units, false).await;
    }
    drop(late);
    gather.flush(units, true).await;
}

/// Sends a read-only command once more, host by host through its own session (the batch's
/// reply was lost and each host's log shows it never arrived); each host's cloud_request_id.
async fn resend(
    job: &Job,
    hosts: &[HostIdx],
) -> Vec<(HostIdx, Result<CloudRequestId, FalconError>)> {
    if hosts.is_empty() || job.cancel.is_cancelled() {
        return Vec::new();
    }
    let wanted: HashSet<HostIdx> = hosts.iter().copied().collect();
    let aids: HashMap<HostIdx, &str> = job
        .index
        .iter()
        .filter(|(_, h)| wanted.contains(h))
        .map(|(aid, h)| (*h, aid.as_str()))
        .collect();
    stream::iter(hosts.iter().copied())
        .map(|h| {
            let sid = job.sessions.get(&h).cloned().unwrap_or_default();
            let aid = aids.get(&h).copied().unwrap_or_default().to_string();
            async move {
                let r = job
                    .client
                    .execute(job.tier, &sid, &aid, &job.base, &job.line)
                    .await
                    .map(|ex| ex.cloud_request_id);
                (h, r)
            }
        })
        .buffer_unordered(CHUNK_CONCURRENCY)
        .collect()
        .await
}

/// The hosts that had not answered within the first window: a look at each (its status by
/// `task_id`, paced by the command's [`Pacer`]) every so often; those that finished are handed
/// on after each look, with the rest of their output. At `deadline` (the batch timeout after
/// the command was sent) the others are reported timed out; on cancel, cancelled.
async fn follow_late_hosts(
    job: &Job,
    mut pending: Vec<(HostIdx, CloudRequestId)>,
    deadline: Instant,
    trace: &Option<String>,
    units: &mpsc::Sender<Unit>,
) {
    let mut pause = STRAGGLER_FIRST_PAUSE;
    let mut next_look = Instant::now() + pause;
    // The last look comes just before the deadline, whatever the pause.
    let last_look = deadline.checked_sub(LAST_LOOK_BEFORE).unwrap_or(deadline);
    while !pending.is_empty() {
        tokio::select! {
            _ = job.cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next_look.min(last_look)) => {}
        }
        if Instant::now() >= deadline {
            break;
        }
        let look_started = Instant::now();
        let named: Vec<(HostIdx, CloudRequestId)> = pending
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .cloned()
            .collect();
        let mut checks = stream::iter(named)
            .map(|(host, crid)| async move {
                job.pacer.wait().await;
                let status = job.client.command_status(job.tier, &crid, 0).await;
                (host, crid, status)
            })
            .buffer_unordered(STRAGGLER_CONCURRENCY);
        let mut finished = Vec::new();
        loop {
            let next = tokio::select! {
                n = checks.next() => n,
                _ = tokio::time::sleep_until(deadline) => None,
                _ = job.cancel.cancelled() => None,
            };
            let Some((host, crid, status)) = next else {
                break;
            };
            match status {
                Ok(s) if s.complete || !s.stdout.is_empty() || !s.stderr.is_empty() => {
                    finished.push(More::new(job, host, crid, s));
                }
                Ok(_) => {}
                // Not known yet: looked at again next time (until the deadline).
                Err(e) => tracing::debug!("status of a late host: {e}"),
            }
        }
        drop(checks);
        if !finished.is_empty() {
            let done: HashSet<HostIdx> = finished.iter().map(|m| m.host).collect();
            pending.retain(|(h, _)| !done.contains(h));
            let mut gather = Gather::new(job, 0, 0);
            for m in finished {
                let (mut run, group) = job.follow(m).await;
                run.trace_id.clone_from(trace);
                gather.add(run, group);
                gather.flush(units, false).await;
            }
            gather.flush(units, true).await;
        }
        if look_started >= last_look {
            break;
        }
        next_look = look_started + pause;
        pause = (pause * 2).min(STRAGGLER_MAX_PAUSE);
    }
    if pending.is_empty() {
        return;
    }
    let result = if job.cancel.is_cancelled() {
        RunResult::Cancelled
    } else {
        // "No result within the batch timeout": said once it has passed.
        tokio::select! {
            _ = job.cancel.cancelled() => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
        RunResult::TimedOut
    };
    let runs = pending
        .into_iter()
        .map(|(host, crid)| HostRun {
            host,
            cloud_request_id: crid,
            result: result.clone(),
            sequence_ids: Vec::new(),
            trace_id: trace.clone(),
        })
        .collect();
    let _ = units
        .send(Unit {
            runs,
            ..Default::default()
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::fleet::FleetOptions;

    #[test]
    fn the_first_wait_is_a_sixth_of_the_batch_timeout_within_two_to_ten_seconds() {
        let secs = Duration::from_secs;
        let with = |timeout: u64| FleetOptions {
            batch_timeout: secs(timeout),
            ..Default::default()
        };
        assert_eq!(with(30).first_wait_for("ps"), secs(5));
        assert_eq!(with(10).first_wait_for("ps"), secs(2));
        assert_eq!(with(600).first_wait_for("ls"), secs(10));
        // Never longer than the batch timeout itself.
        assert_eq!(with(1).first_wait_for("ps"), secs(1));
        assert_eq!(with(2).first_wait_for("ps"), secs(2));
        // Long-running commands wait the whole timeout.
        assert_eq!(with(30).first_wait_for("runscript"), secs(30));
        assert_eq!(with(30).first_wait_for("MemDump"), secs(30));
        // An explicit first wait, in whole seconds (the API's unit), at least one.
        let mut o = with(30);
        o.first_wait = Some(Duration::from_millis(2500));
        assert_eq!(o.first_wait_for("ps"), secs(2));
        o.first_wait = Some(Duration::from_millis(10));
        assert_eq!(o.first_wait_for("ps"), secs(1));
    }

    #[test]
    fn the_pacer_spaces_turns_across_callers() {
        let pacer = Pacer::new(50);
        let t0 = Instant::now() + Duration::from_secs(1);
        let turns: Vec<Instant> = (0..3).map(|_| pacer.turn(t0)).collect();
        assert_eq!(turns[0], t0);
        assert_eq!(turns[1] - turns[0], Duration::from_millis(20));
        assert_eq!(turns[2] - turns[1], Duration::from_millis(20));
        // After a quiet spell, the next caller goes at once.
        let later = turns[2] + Duration::from_secs(5);
        assert_eq!(pacer.turn(later), later);
    }

    #[test]
    fn identical_outputs_share_one_copy() {
        let mut g = Grouper::default();
        assert_eq!(g.add(0, "same".into(), "".into()), 0);
        assert_eq!(g.add(1, "other".into(), "".into()), 1);
        assert_eq!(g.add(2, "same".into(), "".into()), 0);
        // stdout/stderr boundaries matter.
        assert_eq!(g.add(3, "sa".into(), "me".into()), 2);
        assert_eq!(g.groups[0].hosts, vec![0, 2]);
        assert_eq!(g.groups.len(), 3);
        assert_eq!(g.groups[0].digest.stdout_bytes, 4);
    }
}
