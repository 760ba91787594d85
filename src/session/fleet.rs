//! Many hosts at once: choose them (names, aids, FQL filter), learn which are online, open
//! batch sessions, run a command line on all (or some) of them, and follow queued commands.
//!
//! Shape of the work:
//! - Hosts live in one `Vec<FleetHost>` and are named everywhere else by their index
//!   ([`HostIdx`]); the aid → index map is shared read-only with the command tasks.
//! - Sessions open through the batch endpoints, [`FleetOptions::batch_size`] hosts per batch
//!   (well under the API's 10,000) so that replies stay a few MB, batches run in parallel, and
//!   results arrive batch by batch instead of all at the end.
//! - A command goes to every batch at once (bounded by [`FleetOptions::concurrency`]). Each batch
//!   reply is parsed as a stream ([`crate::falcon::batch`]); every host's text is hashed and
//!   either joins a [`Group`] of identical output (its text is dropped on the spot) or starts a
//!   new one, so a [`Unit`] holds one copy per distinct output. Hosts whose output is larger
//!   than one chunk continue in the chunk loop of [`crate::session::poll`] (from the chunk 0 the
//!   batch reply carried) and join the groups when complete.
//! - Every request goes through the one `FalconClient`: one token, one rate-limit governor.
//!
//! Nothing here prints: the shell turns [`Unit`]s into sections, records and transcript lines.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use futures_util::stream;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::command::{Platform, Tier};
use crate::falcon::batch::HostReply;
use crate::falcon::devices::{Device, fql_quote};
use crate::falcon::rtr::Status;
use crate::falcon::{FalconClient, FalconError};
use crate::output::transcript::OutputDigest;
use crate::session::poll::{Collect, Completion, PollLimits, Schedule, poll_from};

/// A host's place in [`Fleet::hosts`].
pub type HostIdx = u32;

/// Hostnames per devices query when resolving a list of names.
const NAMES_PER_QUERY: usize = 100;
/// Concurrent online-state requests (100 ids each).
const ONLINE_CONCURRENCY: usize = 8;
/// Concurrent chunk loops for hosts with output larger than one chunk.
const CHUNK_CONCURRENCY: usize = 8;

/// Which hosts the user asked for.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Hostnames (exact, case-insensitive) or aids (32 hex characters), in any mix.
    pub names: Vec<String>,
    /// An FQL filter of the devices API.
    pub filter: Option<String>,
}

/// The hosts a [`Selection`] resolved to.
#[derive(Debug, Default)]
pub struct Resolved {
    pub devices: Vec<Device>,
    /// Names and aids that matched no host.
    pub unmatched: Vec<String>,
    /// Names that matched several hosts (all are taken), with how many.
    pub ambiguous: Vec<(String, usize)>,
}

fn is_aid(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Resolves names, aids and a filter to hosts, de-duplicated by aid, in the order given
/// (filter matches sorted by hostname).
pub async fn resolve(client: &FalconClient, sel: &Selection) -> Result<Resolved, FalconError> {
    let mut aids: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen_names = HashSet::new();
    for n in &sel.names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        if is_aid(n) {
            aids.push(n.to_ascii_lowercase());
        } else if seen_names.insert(n.to_ascii_lowercase()) {
            names.push(n.to_string());
        }
    }
    let given_aids: Vec<String> = aids.clone();
    // Names: one query per hundred (`hostname:['a','b',...]`), a few at a time.
    let queries: Vec<String> = names
        .chunks(NAMES_PER_QUERY)
        .map(|c| {
            let list: Vec<String> = c.iter().map(|n| fql_quote(n)).collect();
            format!("hostname:[{}]", list.join(","))
        })
        .collect();
    let mut found = stream::iter(queries)
        .map(|q| {
            let client = client.clone();
            async move { client.query_all_devices(&q).await }
        })
        .buffered(4);
    while let Some(ids) = found.next().await {
        aids.extend(ids?);
    }
    if let Some(f) = sel.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        aids.extend(client.query_all_devices(f).await?);
    }
    let mut unique = HashSet::new();
    aids.retain(|a| unique.insert(a.clone()));
    let devices = client.get_devices(&aids).await?;
    let by_id: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.device_id.as_str(), i))
        .collect();
    let mut order: Vec<usize> = aids
        .iter()
        .filter_map(|a| by_id.get(a.as_str()).copied())
        .collect();
    let mut dedup = HashSet::new();
    order.retain(|i| dedup.insert(*i));
    let mut unmatched: Vec<String> = given_aids
        .into_iter()
        .filter(|a| !by_id.contains_key(a.as_str()))
        .collect();
    let mut per_name: HashMap<String, usize> = HashMap::new();
    for d in &devices {
        *per_name.entry(d.hostname.to_ascii_lowercase()).or_default() += 1;
    }
    let mut ambiguous = Vec::new();
    for n in names {
        match per_name.get(&n.to_ascii_lowercase()) {
            None => unmatched.push(n),
            Some(&k) if k > 1 => ambiguous.push((n, k)),
            Some(_) => {}
        }
    }
    let mut slots: Vec<Option<Device>> = devices.into_iter().map(Some).collect();
    let devices = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(Resolved {
        devices,
        unmatched,
        ambiguous,
    })
}

/// Online state of each aid (`true` online), 100 ids per request, a few requests at a time.
/// Aids the API does not mention are left out.
pub async fn online_states(
    client: &FalconClient,
    aids: &[String],
) -> Result<HashMap<String, bool>, FalconError> {
    let mut out = HashMap::with_capacity(aids.len());
    let mut replies = stream::iter(aids.chunks(100))
        .map(|chunk| {
            let client = client.clone();
            async move { client.online_states(chunk).await }
        })
        .buffer_unordered(ONLINE_CONCURRENCY);
    while let Some(states) = replies.next().await {
        for s in states? {
            out.insert(s.id, s.state.eq_ignore_ascii_case("online"));
        }
    }
    Ok(out)
}

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
    pub device: Device,
    pub platform: Option<Platform>,
    /// From the online-state endpoint, when known.
    pub online: Option<bool>,
    pub state: HostState,
    pub session_id: String,
    pub cwd: String,
    /// Index into the fleet's batches once connected.
    pub batch: Option<usize>,
}

/// Settings of a fleet.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    pub queue_offline: bool,
    /// The batch endpoints' `timeout` (1–600 s): how long a host may take.
    pub batch_timeout: Duration,
    /// Hosts per batch session (at most 10,000).
    pub batch_size: usize,
    /// Batch requests in flight at once.
    pub concurrency: usize,
    pub schedule: Schedule,
    pub limits: PollLimits,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            queue_offline: false,
            batch_timeout: Duration::from_secs(30),
            batch_size: 1_000,
            concurrency: 4,
            schedule: Schedule::default(),
            limits: PollLimits::default(),
        }
    }
}

/// One batch session and what the background refresh needs of it.
#[derive(Clone, Debug)]
pub struct RefreshTarget {
    pub batch_id: String,
    /// Hosts the user dropped: they leave the batch at the next refresh.
    pub remove: Vec<String>,
}

#[derive(Clone, Debug)]
struct Batch {
    id: String,
    /// Hosts that joined the batch (a session exists for them).
    members: Vec<HostIdx>,
}

/// A command sent to an offline host, waiting for it to come back.
#[derive(Clone, Debug)]
pub struct QueuedCommand {
    pub host: HostIdx,
    pub cloud_request_id: String,
    pub tier: Tier,
    pub line: String,
    pub queued_at: SystemTime,
    /// Set once the result arrived (and was handed to the caller).
    pub done: bool,
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
    pub cloud_request_id: String,
    pub result: RunResult,
    pub sequence_ids: Vec<u64>,
    pub trace_id: Option<String>,
}

/// One distinct output and the hosts that produced it.
#[derive(Debug)]
pub struct Group {
    /// SHA-256 over the output (identifies it across units).
    pub key: [u8; 32],
    pub stdout: String,
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
}

/// Groups outputs by content: one copy of each distinct output.
#[derive(Default)]
struct Grouper {
    index: HashMap<[u8; 32], usize>,
    groups: Vec<Group>,
}

fn output_key(stdout: &str, stderr: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((stdout.len() as u64).to_le_bytes());
    h.update(stdout.as_bytes());
    h.update(stderr.as_bytes());
    h.finalize().into()
}

impl Grouper {
    fn add(&mut self, host: HostIdx, stdout: &str, stderr: &str) -> usize {
        let key = output_key(stdout, stderr);
        if let Some(&g) = self.index.get(&key) {
            self.groups[g].hosts.push(host);
            return g;
        }
        let mut digest = OutputDigest::default();
        digest.stdout(stdout.as_bytes());
        digest.stderr(stderr.as_bytes());
        self.groups.push(Group {
            key,
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
            digest,
            hosts: vec![host],
        });
        self.index.insert(key, self.groups.len() - 1);
        self.groups.len() - 1
    }
}

/// What a command task needs, owned (tasks do not borrow the fleet).
#[derive(Clone)]
struct Job {
    client: FalconClient,
    index: Arc<HashMap<String, HostIdx>>,
    tier: Tier,
    base: Arc<str>,
    line: Arc<str>,
    timeout: Duration,
    schedule: Schedule,
    limits: PollLimits,
    cancel: CancellationToken,
}

/// What the background refresh reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshEvent {
    /// Sessions refreshed.
    Ok {
        hosts: usize,
    },
    /// These hosts' sessions are gone (aids).
    Expired(Vec<String>),
    Failed(String),
}

/// Many hosts, in batch sessions.
pub struct Fleet {
    client: FalconClient,
    pub hosts: Vec<FleetHost>,
    batches: Vec<Batch>,
    index: Arc<HashMap<String, HostIdx>>,
    opts: FleetOptions,
    pub queue: Vec<QueuedCommand>,
    refresh: Arc<Mutex<Vec<RefreshTarget>>>,
}

/// How connecting went, for the user.
#[derive(Debug, Default)]
pub struct ConnectReport {
    pub connected: usize,
    pub queued: usize,
    /// Hosts left out, with the API's reason.
    pub failed: Vec<(HostIdx, String)>,
    /// `(batch id, trace id)` of each batch opened.
    pub batches: Vec<(String, Option<String>)>,
}

fn error_text(errors: &[crate::falcon::ApiErrorItem]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.code != 0 {
                format!("{} ({})", e.message, e.code)
            } else {
                e.message.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Fleet {
    /// A fleet of resolved hosts (not connected yet).
    pub fn new(client: FalconClient, devices: Vec<Device>, opts: FleetOptions) -> Fleet {
        let hosts: Vec<FleetHost> = devices
            .into_iter()
            .map(|d| FleetHost {
                platform: Platform::from_api_name(&d.platform_name),
                device: d,
                online: None,
                state: HostState::Pending,
                session_id: String::new(),
                cwd: String::new(),
                batch: None,
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
        self.index.get(&aid.to_ascii_lowercase()).copied()
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
    /// [`HostState::Offline`] unless commands are queued for them.
    pub async fn check_online(&mut self) -> Result<usize, FalconError> {
        let aids: Vec<String> = self
            .hosts
            .iter()
            .map(|h| h.device.device_id.clone())
            .collect();
        let states = online_states(&self.client, &aids).await?;
        let mut offline = 0;
        for h in &mut self.hosts {
            h.online = states.get(&h.device.device_id).copied();
            if h.online == Some(false) {
                offline += 1;
                if !self.opts.queue_offline {
                    h.state = HostState::Offline;
                }
            }
        }
        Ok(offline)
    }

    /// Opens batch sessions on every pending host, a few batches at a time; `progress` gets
    /// the number of hosts done after each batch. Hosts that fail are marked with the reason.
    /// An authentication or connection failure stops everything.
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
        let size = self
            .opts
            .batch_size
            .clamp(1, crate::falcon::batch::MAX_BATCH_HOSTS);
        let jobs: Vec<(Vec<HostIdx>, Vec<String>)> = pending
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
        let timeout = self.opts.batch_timeout;
        let mut replies = stream::iter(jobs)
            .map(|(idxs, aids)| {
                let client = client.clone();
                async move {
                    let r = client.batch_init(&aids, queue, timeout, None).await;
                    (idxs, r)
                }
            })
            .buffer_unordered(self.opts.concurrency.max(1));
        let mut report = ConnectReport::default();
        let mut done = 0;
        while let Some((idxs, reply)) = replies.next().await {
            done += idxs.len();
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
            let batch_no = self.batches.len();
            let mut members = Vec::new();
            let mut init = init;
            for &i in &idxs {
                let h = &mut self.hosts[i as usize];
                match init.hosts.remove(&h.device.device_id) {
                    Some(r) if !r.session_id.is_empty() => {
                        h.session_id = r.session_id.into_owned();
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
            progress(done);
        }
        Ok(report)
    }

    /// Runs `line` on `targets` (active hosts; others are ignored). Batches go out in
    /// parallel; `on_unit` gets each batch's results as they arrive, after the fleet has taken
    /// note of them (working directories, queued commands).
    pub async fn run(
        &mut self,
        line: &str,
        base: &str,
        tier: Tier,
        targets: &[HostIdx],
        cancel: &CancellationToken,
        on_unit: &mut dyn FnMut(&Fleet, Unit),
    ) {
        let wanted: HashSet<HostIdx> = targets
            .iter()
            .copied()
            .filter(|&i| self.hosts[i as usize].state.active())
            .collect();
        let job = Job {
            client: self.client.clone(),
            index: self.index.clone(),
            tier,
            base: Arc::from(base),
            line: Arc::from(line),
            timeout: self.opts.batch_timeout,
            schedule: self.opts.schedule.clone(),
            limits: self.opts.limits.clone(),
            cancel: cancel.clone(),
        };
        let mut work = Vec::new();
        for b in &self.batches {
            let part: Vec<HostIdx> = b
                .members
                .iter()
                .copied()
                .filter(|i| wanted.contains(i))
                .collect();
            if part.is_empty() {
                // Never send `optional_hosts: []`: skip the batch instead.
                continue;
            }
            // The spec requires `optional_hosts`; the explicit list is also the only safe
            // way to say "these hosts" (reference §7.10).
            let optional: Vec<String> = part
                .iter()
                .map(|&i| self.hosts[i as usize].device.device_id.clone())
                .collect();
            work.push((b.id.clone(), part, optional));
        }
        let queued_at = SystemTime::now();
        let mut units = stream::iter(work)
            .map(|(batch_id, part, optional)| {
                let job = job.clone();
                async move { run_batch(job, batch_id, part, optional).await }
            })
            .buffer_unordered(self.opts.concurrency.max(1));
        while let Some(unit) = units.next().await {
            self.note(&unit, line, base, tier, queued_at);
            on_unit(self, unit);
        }
    }

    /// Takes note of a unit: new working directories, queued commands, hosts back online.
    fn note(&mut self, unit: &Unit, line: &str, base: &str, tier: Tier, at: SystemTime) {
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
                        let t = g.stdout.trim_matches(['\r', '\n', ' ']);
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
                }),
                _ => {}
            }
        }
    }

    /// Removes hosts from the fleet; the server stops keeping their sessions alive.
    pub async fn drop_hosts(&mut self, hosts: &[HostIdx]) -> Result<(), FalconError> {
        let mut per_batch: HashMap<usize, Vec<String>> = HashMap::new();
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
    pub async fn check_queue(&mut self, cancel: &CancellationToken) -> Vec<(usize, Unit)> {
        let pending: Vec<usize> = (0..self.queue.len())
            .filter(|&i| !self.queue[i].done)
            .collect();
        let client = self.client.clone();
        let schedule = self.opts.schedule.clone();
        let limits = self.opts.limits.clone();
        let mut checks = stream::iter(pending)
            .map(|qi| {
                let q = self.queue[qi].clone();
                let client = client.clone();
                let schedule = schedule.clone();
                let limits = limits.clone();
                let cancel = cancel.clone();
                async move {
                    let first = match client.command_status(q.tier, &q.cloud_request_id, 0).await {
                        Ok(s) => s,
                        Err(e) => return (qi, Some(failed_unit(q.host, &q.cloud_request_id, e))),
                    };
                    let got = !first.stdout.is_empty() || !first.stderr.is_empty();
                    if !first.complete && !got {
                        return (qi, None);
                    }
                    let mut g = Grouper::default();
                    let run = follow_chunks(
                        &client,
                        q.tier,
                        q.host,
                        &q.cloud_request_id,
                        first,
                        &schedule,
                        &limits,
                        &cancel,
                        &mut g,
                    )
                    .await;
                    (
                        qi,
                        Some(Unit {
                            groups: g.groups,
                            runs: vec![run],
                            error: None,
                        }),
                    )
                }
            })
            .buffer_unordered(CHUNK_CONCURRENCY);
        let mut out = Vec::new();
        while let Some((qi, unit)) = checks.next().await {
            if let Some(u) = unit {
                out.push((qi, u));
            }
        }
        drop(checks);
        for (qi, u) in &out {
            let done = u.runs.iter().all(|r| {
                !matches!(
                    r.result,
                    RunResult::Cancelled | RunResult::TimedOut | RunResult::Queued
                )
            });
            if done {
                self.queue[*qi].done = true;
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

fn failed_unit(host: HostIdx, crid: &str, e: FalconError) -> Unit {
    Unit {
        groups: Vec::new(),
        runs: vec![HostRun {
            host,
            cloud_request_id: crid.to_string(),
            result: failure(&e),
            sequence_ids: Vec::new(),
            trace_id: e.trace_id().map(str::to_string),
        }],
        error: None,
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

/// Fetches the rest of one host's output with the single-host chunk loop, from the chunk 0
/// in hand, and files it in `g`.
#[allow(clippy::too_many_arguments)]
async fn follow_chunks(
    client: &FalconClient,
    tier: Tier,
    host: HostIdx,
    crid: &str,
    first: Status,
    schedule: &Schedule,
    limits: &PollLimits,
    cancel: &CancellationToken,
    g: &mut Grouper,
) -> HostRun {
    let mut out = Collect::default();
    let polled = poll_from(
        client,
        tier,
        crid,
        Some(first),
        &mut out,
        schedule,
        limits,
        cancel,
    )
    .await;
    let (result, seqs) = match polled {
        Ok(p) => {
            let r = match p.completion {
                Completion::Complete => RunResult::Output {
                    group: g.add(host, &out.stdout, &out.stderr),
                    stderr: p.stderr_seen,
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
        cloud_request_id: crid.to_string(),
        result,
        sequence_ids: seqs,
        trace_id: None,
    }
}

/// One batch's part of a command: the batch request, then more chunks for the hosts that have
/// them.
async fn run_batch(job: Job, batch_id: String, part: Vec<HostIdx>, optional: Vec<String>) -> Unit {
    let mut g = Grouper::default();
    let mut runs: Vec<HostRun> = Vec::with_capacity(part.len());
    let mut more: Vec<(HostIdx, String, Status)> = Vec::new();
    let mut answered: HashSet<HostIdx> = HashSet::with_capacity(part.len());
    let index = job.index.clone();
    let mut on_host = |r: HostReply<'_>| {
        let Some(&host) = index.get(r.aid.as_ref()) else {
            return;
        };
        if !answered.insert(host) {
            return;
        }
        let crid = r.task_id.to_string();
        let got = !r.stdout.is_empty() || !r.stderr.is_empty();
        let result = if let Some(e) = r.errors.first() {
            if e.code == 50401 && !got {
                RunResult::TimedOut
            } else {
                RunResult::Failed {
                    code: Some(e.code),
                    http_status: None,
                    message: error_text(&r.errors),
                    maybe_executed: false,
                }
            }
        } else if r.offline_queued {
            RunResult::Queued
        } else if !r.complete && !got {
            RunResult::TimedOut
        } else if r.has_more_chunks() {
            more.push((host, crid, r.to_status()));
            return;
        } else {
            RunResult::Output {
                group: g.add(host, &r.stdout, &r.stderr),
                stderr: !r.stderr.is_empty(),
            }
        };
        runs.push(HostRun {
            host,
            cloud_request_id: crid,
            result,
            sequence_ids: r.sequence_id.into_iter().collect(),
            trace_id: None,
        });
    };
    let sent = tokio::select! {
        r = job.client.batch_command(
            job.tier,
            &batch_id,
            &job.base,
            &job.line,
            Some(&optional),
            job.timeout,
            &mut on_host,
        ) => Some(r),
        _ = job.cancel.cancelled() => None,
    };
    let mut error = None;
    let trace = match sent {
        Some(Ok(info)) => info.trace_id,
        Some(Err(e)) => {
            let r = failure(&e);
            for &h in &part {
                if !answered.contains(&h) {
                    runs.push(HostRun {
                        host: h,
                        cloud_request_id: String::new(),
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
                        cloud_request_id: String::new(),
                        result: RunResult::Cancelled,
                        sequence_ids: Vec::new(),
                        trace_id: None,
                    });
                }
            }
            None
        }
    };
    if error.is_none() && !job.cancel.is_cancelled() {
        // Hosts the reply left out: nothing is known of them.
        for &h in &part {
            if !answered.contains(&h) {
                runs.push(HostRun {
                    host: h,
                    cloud_request_id: String::new(),
                    result: RunResult::Failed {
                        code: None,
                        http_status: None,
                        message: "missing from the batch reply".into(),
                        maybe_executed: true,
                    },
                    sequence_ids: Vec::new(),
                    trace_id: None,
                });
            }
        }
    }
    for r in &mut runs {
        r.trace_id.clone_from(&trace);
    }
    // Output larger than one chunk: the rest, host by host, a few at a time.
    let mut late = stream::iter(more)
        .map(|(host, crid, first)| {
            let job = job.clone();
            async move {
                let mut g = Grouper::default();
                let run = follow_chunks(
                    &job.client,
                    job.tier,
                    host,
                    &crid,
                    first,
                    &job.schedule,
                    &job.limits,
                    &job.cancel,
                    &mut g,
                )
                .await;
                (run, g.groups.pop())
            }
        })
        .buffer_unordered(CHUNK_CONCURRENCY);
    while let Some((mut run, group)) = late.next().await {
        if let (RunResult::Output { group: gi, .. }, Some(grp)) = (&mut run.result, group) {
            *gi = g.add(run.host, &grp.stdout, &grp.stderr);
        }
        runs.push(run);
    }
    Unit {
        groups: g.groups,
        runs,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_outputs_share_one_copy() {
        let mut g = Grouper::default();
        assert_eq!(g.add(0, "same", ""), 0);
        assert_eq!(g.add(1, "other", ""), 1);
        assert_eq!(g.add(2, "same", ""), 0);
        // stdout/stderr boundaries matter.
        assert_eq!(g.add(3, "sa", "me"), 2);
        assert_eq!(g.groups[0].hosts, vec![0, 2]);
        assert_eq!(g.groups.len(), 3);
        assert_eq!(g.groups[0].digest.stdout_bytes, 4);
    }

    #[test]
    fn aids_are_told_from_names() {
        assert!(is_aid("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_aid("DESKTOP-01"));
    }
}
