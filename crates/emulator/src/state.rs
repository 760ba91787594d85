//! The emulated tenant's mutable state: tokens, sessions, commands, batches, retrieved files,
//! the put-file and script libraries, per-host changes, and the rate-limit windows.
//!
//! Everything sits behind one mutex. Critical sections are short and never await: the
//! expensive parts (command latency, batch waits, 7z building, streaming) happen outside it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{ClientCredential, EmulatorConfig};
use crate::content::Content;
use crate::http::ApiError;
use crate::rng::Rng;
use crate::stats::Stats;
use crate::world::{CloudLibrary, Deferred, HostState, World};
use rtrsh_command::Tier;

/// The whole emulator, shared by every connection.
/// One command line for [`Inner::execute`].
#[derive(Clone, Copy, Debug)]
pub struct Execute<'a> {
    pub tier: Tier,
    pub base_command: &'a str,
    pub command_string: &'a str,
    /// Sent through a batch (the command log says so).
    pub batch: bool,
}

pub struct Emulator {
    pub config: EmulatorConfig,
    pub world: World,
    pub credentials: Vec<ClientCredential>,
    inner: Mutex<Inner>,
    /// Where 7z archives of retrieved files are built (removed with the emulator).
    pub archive_dir: tempfile::TempDir,
    pub started: Instant,
}

/// An issued OAuth2 access token.
#[derive(Clone, Debug)]
pub struct TokenRec {
    pub client_id: String,
    pub cid: String,
    /// Shared with every request's [`Caller`] (not copied per request).
    pub scopes: Arc<[String]>,
    pub expires: Instant,
    pub revoked: bool,
}

/// Who is calling, from a valid bearer token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub client_id: String,
    pub cid: String,
    pub scopes: Arc<[String]>,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// One entry of a session's command log (`model.SessionLog`).
#[derive(Clone, Debug)]
pub struct LogRec {
    pub id: u64,
    pub cloud_request_id: String,
    pub base_command: String,
    pub command_string: String,
    pub current_directory: String,
    pub created_at: SystemTime,
}

#[derive(Clone, Debug)]
pub struct SessionRec {
    pub id: String,
    pub host: usize,
    pub owner: String,
    pub cid: String,
    pub cwd: String,
    pub origin: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub last_active: Instant,
    pub deleted_at: Option<SystemTime>,
    pub offline_queued: bool,
    pub logs: Vec<LogRec>,
}

/// A command sent to a host, single-host or as part of a batch.
#[derive(Clone, Debug)]
pub struct CommandRec {
    pub id: String,
    pub session_id: String,
    pub host: usize,
    pub tier: Tier,
    pub base_command: String,
    pub command_string: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// When the host finishes it; `None` while queued for an offline host.
    pub ready_at: Option<Instant>,
    pub stdout: Content,
    pub stderr: String,
    /// Sent to an offline-queued session.
    pub queued: bool,
    pub deleted: bool,
    /// The host ran it, but its stdout is still being rendered outside the lock
    /// ([`Inner::execute_deferring`]); not finished until [`Inner::complete_output`].
    pub pending_output: bool,
}

impl SessionRec {
    /// How long the session lives without activity: offline-queued sessions live `queued`
    /// (days), live ones `idle` (minutes).
    pub fn lifetime(&self, idle: Duration, queued: Duration) -> Duration {
        if self.offline_queued { queued } else { idle }
    }
}

impl CommandRec {
    pub fn finished(&self, now: Instant) -> bool {
        !self.pending_output && self.ready_at.is_some_and(|t| now >= t)
    }
}

/// A file a host uploaded to the cloud with `get`.
#[derive(Clone, Debug)]
pub struct FileRec {
    pub id: String,
    pub legacy_id: u64,
    pub cloud_request_id: String,
    pub session_id: String,
    pub host: usize,
    pub name: String,
    pub content: Content,
    pub created_at: SystemTime,
    /// The command finishes on the host at `started_at`; the upload completes at `available_at`.
    pub started_at: Instant,
    pub available_at: Instant,
    pub deleted: bool,
    /// Hex SHA-256 of the content, computed in the background as the upload "progresses".
    pub sha256: Arc<OnceLock<String>>,
    /// The 7z archive served by `extracted-file-contents`, built on first download.
    pub archive: Arc<tokio::sync::OnceCell<PathBuf>>,
}

impl FileRec {
    pub fn progress(&self, now: Instant) -> f64 {
        if now >= self.available_at {
            return 1.0;
        }
        if now <= self.started_at {
            return 0.0;
        }
        let total = (self.available_at - self.started_at).as_secs_f64();
        ((now - self.started_at).as_secs_f64() / total).clamp(0.0, 0.99)
    }
}

#[derive(Clone, Debug)]
pub struct BatchRec {
    pub id: String,
    pub owner: String,
    /// Hosts in the order they joined, with their session ids.
    pub hosts: Vec<(usize, String)>,
    pub removed: HashSet<usize>,
}

#[derive(Clone, Debug)]
pub struct BatchGetRec {
    pub id: String,
    pub batch_id: String,
    /// (host, cloud_request_id of its `get`).
    pub requests: Vec<(usize, String)>,
}

#[derive(Clone, Debug)]
pub struct PutFileRec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub comments_for_audit_log: String,
    pub content: Content,
    pub created_at: SystemTime,
    pub created_by: String,
}

#[derive(Clone, Debug)]
pub struct ScriptRec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub comments_for_audit_log: String,
    pub content: String,
    pub platform: Vec<String>,
    pub permission_type: String,
    pub created_at: SystemTime,
    pub created_by: String,
    pub modified_at: SystemTime,
}

/// The cloud libraries behind `put` and `runscript -CloudFile`.
#[derive(Debug, Default)]
pub struct Library {
    pub put_files: Vec<PutFileRec>,
    pub scripts: Vec<ScriptRec>,
}

impl CloudLibrary for Library {
    fn put_file(&self, name: &str) -> Option<Content> {
        self.put_files
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.content.clone())
    }

    fn script(&self, name: &str) -> Option<String> {
        self.scripts
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.content.clone())
    }
}

/// Sliding one-minute windows of request times, per key (a CID or a source IP).
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: HashMap<String, VecDeque<Instant>>,
}

/// The outcome of a rate-limit check.
#[derive(Clone, Copy, Debug)]
pub enum RateDecision {
    Allowed { limit: u32, remaining: u32 },
    Limited { limit: u32, retry_at: Instant },
    Unlimited,
}

impl RateLimiter {
    pub fn check(&mut self, key: &str, limit: u32, now: Instant) -> RateDecision {
        if limit == 0 {
            return RateDecision::Unlimited;
        }
        let window = Duration::from_secs(60);
        let q = self.windows.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            let oldest = q.front().copied().unwrap_or(now);
            return RateDecision::Limited {
                limit,
                retry_at: oldest + window,
            };
        }
        q.push_back(now);
        RateDecision::Allowed {
            limit,
            remaining: limit - q.len() as u32,
        }
    }
}

/// Everything mutable.
pub struct Inner {
    /// `--misbehave retry-after-*` answered its one 429.
    pub throttled_once: bool,
    pub tokens: HashMap<String, TokenRec>,
    pub sessions: HashMap<String, SessionRec>,
    /// The live session of (owner client id, host), reused by init as the real API does.
    pub session_of: HashMap<(String, usize), String>,
    pub commands: HashMap<String, CommandRec>,
    pub batches: HashMap<String, BatchRec>,
    pub batch_gets: HashMap<String, BatchGetRec>,
    pub files: Vec<FileRec>,
    pub host_states: HashMap<usize, HostState>,
    pub online: Vec<bool>,
    pub library: Library,
    pub rate: RateLimiter,
    pub stats: Stats,
    pub rng: Rng,
    pub token_requests: u64,
    pub next_log_id: u64,
    pub fault_5xx: f64,
    pub fault_drop: f64,
    /// Flip a byte of every served archive (`corrupt_downloads`).
    pub corrupt_downloads: bool,
    /// Lifetime of offline-queued sessions (`queued_session_lifetime`).
    pub queued_lifetime: Duration,
    /// One-shot faults armed through `/_emulator/faults`: the next request to the endpoint
    /// (`METHOD /path`) gets the fault, then the entry is gone.
    pub faults_once: Vec<(String, OnceFault)>,
    /// Network containment: the last action taken on a host (none: `normal`).
    pub containment: HashMap<usize, Containment>,
}

/// The last containment action on a host (docs/protocol.md, "Containment").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Containment {
    /// `contain` (true) or `lift_containment` (false).
    pub contain: bool,
    /// When the host took the order: when the action ran with the host online, or when it came
    /// back online. `None`: offline ever since, so still pending.
    pub reached: Option<Instant>,
}

/// Why a containment action was not taken on a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainRefusal {
    /// The host is already in (or on its way to) the state asked for: its status.
    AlreadyThere(&'static str),
}

/// A fault armed for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnceFault {
    /// `None`: the connection is dropped without a reply; otherwise this 5xx status.
    pub status: Option<u16>,
    /// After the request took effect (the handler ran) rather than before.
    pub after: bool,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> std::io::Result<Arc<Emulator>> {
        let world = World::new(&config.world());
        let online = world.hosts().iter().map(|h| h.online).collect();
        let credentials = config.credentials();
        let mut rng = Rng::derive(config.seed, &[0xe4u64]);
        let library = seed_library(&mut rng);
        let inner = Inner {
            throttled_once: false,
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            session_of: HashMap::new(),
            commands: HashMap::new(),
            batches: HashMap::new(),
            batch_gets: HashMap::new(),
            files: Vec::new(),
            host_states: HashMap::new(),
            online,
            library,
            rate: RateLimiter::default(),
            stats: Stats::default(),
            rng,
            token_requests: 0,
            next_log_id: 1,
            fault_5xx: config.fault_5xx,
            fault_drop: config.fault_drop,
            corrupt_downloads: config.corrupt_downloads,
            queued_lifetime: config.queued_session_lifetime,
            faults_once: Vec::new(),
            containment: HashMap::new(),
        };
        Ok(Arc::new(Emulator {
            archive_dir: tempfile::Builder::new()
                .prefix("rtrsh-emulator-")
                .tempdir()?,
            world,
            credentials,
            inner: Mutex::new(inner),
            config,
            started: Instant::now(),
        }))
    }

    /// Locks the state. A panic while holding the lock must not take the emulator down with it,
    /// so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time the host needs for its `n`-th command.
    pub fn latency_for(&self, host: usize, n: u64) -> Duration {
        if self.is_slow(host) {
            return self.config.slow_latency;
        }
        let jitter = self.config.latency_jitter.as_millis() as u64;
        let extra = if jitter == 0 {
            0
        } else {
            Rng::derive(self.config.seed, &[host as u64, n]).below(jitter + 1)
        };
        self.config.latency + Duration::from_millis(extra)
    }

    /// Whether `host` is one of the slow hosts of `--slow-hosts` (fixed per seed).
    pub fn is_slow(&self, host: usize) -> bool {
        self.config.slow_hosts > 0.0
            && Rng::derive(self.config.seed, &[0x5105_1a7e, host as u64]).unit()
                < self.config.slow_hosts
    }

    pub fn host_index(&self, aid: &str) -> Option<usize> {
        self.world.index_of(aid)
    }
}

impl Inner {
    pub fn uuid(&mut self) -> String {
        self.rng.uuid()
    }

    /// The caller's live session by id, or the API's "no such session" error.
    pub fn live_session(
        &mut self,
        id: &str,
        caller: &Caller,
        idle: Duration,
        now: Instant,
    ) -> Result<&mut SessionRec, ApiError> {
        let queued = self.queued_lifetime;
        match self.sessions.get_mut(id) {
            Some(s)
                if s.owner == caller.client_id
                    && s.deleted_at.is_none()
                    && now.duration_since(s.last_active) < s.lifetime(idle, queued) =>
            {
                Ok(s)
            }
            _ => Err(ApiError::rtr(40002, "Could not find existing session")),
        }
    }

    /// Runs a command line on the session's host (or queues it), returning the new
    /// cloud_request_id. The session must be live.
    pub fn execute(
        &mut self,
        emu: &Emulator,
        session_id: &str,
        cmd: Execute<'_>,
        now: Instant,
    ) -> Result<String, ApiError> {
        self.execute_inner(emu, session_id, cmd, now, false)
            .map(|(id, _)| id)
    }

    /// [`Inner::execute`], except that a `ps` run now leaves its output to be rendered by the
    /// caller outside the lock ([`World::render_deferred`]) and handed back with
    /// [`Inner::complete_output`]. Every effect (host state, session, log, stats) is applied
    /// here, in order; until the output is in, the command reads as still running.
    pub fn execute_deferring(
        &mut self,
        emu: &Emulator,
        session_id: &str,
        cmd: Execute<'_>,
        now: Instant,
    ) -> Result<(String, Option<Deferred>), ApiError> {
        self.execute_inner(emu, session_id, cmd, now, true)
    }

    /// Puts the output of a deferred command in place: it is finished from its `ready_at` on.
    pub fn complete_output(&mut self, id: &str, stdout: Content) {
        if let Some(rec) = self.commands.get_mut(id) {
            rec.stdout = stdout;
            rec.pending_output = false;
        }
    }

    fn execute_inner(
        &mut self,
        emu: &Emulator,
        session_id: &str,
        cmd: Execute<'_>,
        now: Instant,
        defer: bool,
    ) -> Result<(String, Option<Deferred>), ApiError> {
        let Execute {
            tier,
            base_command,
            command_string,
            batch,
        } = cmd;
        let (host, mut cwd, offline_queued) = match self.sessions.get(session_id) {
            Some(s) => (s.host, s.cwd.clone(), s.offline_queued),
            None => return Err(ApiError::rtr(40002, "Could not find existing session")),
        };
        let first = command_string
            .split_whitespace()
            .next()
            .unwrap_or(base_command);
        if emu.config.runscript_disabled && first.eq_ignore_ascii_case("runscript") {
            // A response policy with runscript off (CAST#15): the API refuses the command.
            return Err(ApiError::rtr(40006, "command is not valid"));
        }
        let id = self.uuid();
        let at = SystemTime::now();
        let online = self.online.get(host).copied().unwrap_or(false);
        let mut rec = CommandRec {
            id: id.clone(),
            session_id: session_id.to_string(),
            host,
            tier,
            base_command: base_command.to_string(),
            command_string: command_string.to_string(),
            created_at: at,
            updated_at: at,
            ready_at: None,
            stdout: Content::empty(),
            stderr: String::new(),
            queued: offline_queued && !online,
            deleted: false,
            pending_output: false,
        };
        let mut deferred = None;
        if !rec.queued {
            if !online {
                return Err(ApiError::rtr(40401, "Could not establish sensor comms"));
            }
            deferred = self.run_now(emu, &mut rec, &mut cwd, now, !batch, defer)?;
            rec.pending_output = deferred.is_some();
        }
        if let Some(s) = self.sessions.get_mut(session_id) {
            s.cwd = cwd.clone();
            s.last_active = now;
            s.updated_at = at;
            let log_id = self.next_log_id;
            self.next_log_id += 1;
            s.logs.push(LogRec {
                id: log_id,
                cloud_request_id: id.clone(),
                base_command: base_command.to_string(),
                command_string: command_string.to_string(),
                current_directory: cwd,
                created_at: at,
            });
        }
        let aid = emu.world.hosts()[host].aid.clone();
        self.stats
            .record_execute(&id, &aid, session_id, tier, command_string, batch);
        self.commands.insert(id.clone(), rec);
        Ok((id, deferred))
    }

    /// Runs a command on its (online) host now: effects apply at once, output is visible after
    /// the host's latency plus the command's own run time (scripts; scaled by
    /// `script_time_scale`). `single`: sent to the single-host endpoint, whose refusals differ
    /// from a batch's per-host ones ([`crate::world::Rejection::single_host`]). `defer`: leave
    /// output that can be rendered later to the caller ([`World::execute_deferring`]).
    fn run_now(
        &mut self,
        emu: &Emulator,
        rec: &mut CommandRec,
        cwd: &mut String,
        now: Instant,
        single: bool,
        defer: bool,
    ) -> Result<Option<Deferred>, ApiError> {
        let state = self.host_states.entry(rec.host).or_default();
        let (base, line, library) = (&rec.base_command, &rec.command_string, &self.library);
        let world = &emu.world;
        let ran = if defer {
            world.execute_deferring(rec.host, state, cwd, base, line, library)
        } else {
            world
                .execute(rec.host, state, cwd, base, line, library)
                .map(|exec| (exec, None))
        };
        let (exec, deferred) = ran.map_err(|r| {
            let r = if single {
                r.single_host(&rec.base_command)
            } else {
                r
            };
            ApiError::rtr(r.code, r.message)
        })?;
        let n = self.commands.len() as u64;
        // Capped at a day: no `-Timeout` or scale can push the finish past what an Instant holds.
        let runtime = Duration::try_from_secs_f64(
            exec.runtime_ms as f64 / 1000.0 * emu.config.script_time_scale,
        )
        .unwrap_or(Duration::MAX)
        .min(Duration::from_secs(86_400));
        let ready = now + emu.latency_for(rec.host, n) + runtime;
        rec.ready_at = Some(ready);
        rec.stdout = exec.stdout;
        rec.stderr = exec.stderr;
        if let Some(up) = exec.uploaded {
            let mib = up.content.len() as f64 / (1024.0 * 1024.0);
            let upload = emu.config.upload_time_per_mib.mul_f64(mib.max(0.01));
            let id = self.uuid();
            let legacy_id = self.files.len() as u64 + 1;
            let sha256 = Arc::new(OnceLock::new());
            let (cell, content) = (sha256.clone(), up.content.clone());
            let hash = move || {
                let _ = cell.set(content.sha256_hex());
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => drop(h.spawn_blocking(hash)),
                Err(_) => hash(),
            }
            self.files.push(FileRec {
                id,
                legacy_id,
                cloud_request_id: rec.id.clone(),
                session_id: rec.session_id.clone(),
                host: rec.host,
                name: up.path,
                content: up.content,
                created_at: SystemTime::now(),
                started_at: ready,
                available_at: ready + upload,
                deleted: false,
                sha256,
                archive: Arc::new(tokio::sync::OnceCell::new()),
            });
        }
        Ok(deferred)
    }

    /// A host's containment `status` (device details): `normal`, `containment_pending`,
    /// `contained` or `lift_containment_pending`. A pending action settles `delay` after the host
    /// took it.
    pub fn containment_status(&self, host: usize, delay: Duration, now: Instant) -> &'static str {
        let Some(c) = self.containment.get(&host) else {
            return "normal";
        };
        let settled = c
            .reached
            .is_some_and(|t| now.saturating_duration_since(t) >= delay);
        match (c.contain, settled) {
            (true, true) => "contained",
            (true, false) => "containment_pending",
            (false, true) => "normal",
            (false, false) => "lift_containment_pending",
        }
    }

    /// Contains a host (`contain`) or lifts its containment: it goes pending, and settles once
    /// it has been online for the delay. Refused when it is already there or on its way.
    pub fn set_containment(
        &mut self,
        host: usize,
        contain: bool,
        delay: Duration,
        now: Instant,
    ) -> Result<(), ContainRefusal> {
        let status = self.containment_status(host, delay, now);
        let already = if contain {
            matches!(status, "contained" | "containment_pending")
        } else {
            matches!(status, "normal" | "lift_containment_pending")
        };
        if already {
            return Err(ContainRefusal::AlreadyThere(status));
        }
        let online = self.online.get(host).copied().unwrap_or(false);
        self.containment.insert(
            host,
            Containment {
                contain,
                reached: online.then_some(now),
            },
        );
        Ok(())
    }

    /// Brings a host online or offline. Going online runs its queued commands in order, and
    /// lets a pending containment action reach it.
    pub fn set_online(&mut self, emu: &Emulator, host: usize, online: bool, now: Instant) {
        if let Some(o) = self.online.get_mut(host) {
            *o = online;
        }
        if !online {
            return;
        }
        if let Some(c) = self.containment.get_mut(&host)
            && c.reached.is_none()
        {
            c.reached = Some(now);
        }
        // Commands of a queued session that expired never run. A deleted one's still do:
        // whether deleting a queued session cancels its commands is undocumented, and clients
        // (rtrsh too) close their session when they exit.
        let live = |sid: &str| {
            self.sessions.get(sid).is_some_and(|s| {
                now.duration_since(s.last_active)
                    < s.lifetime(emu.config.session_idle, self.queued_lifetime)
            })
        };
        let mut queued: Vec<(SystemTime, String)> = self
            .commands
            .values()
            .filter(|c| c.host == host && c.queued && c.ready_at.is_none() && !c.deleted)
            .filter(|c| live(&c.session_id))
            .map(|c| (c.created_at, c.id.clone()))
            .collect();
        queued.sort();
        for (_, id) in queued {
            let Some(mut rec) = self.commands.remove(&id) else {
                continue;
            };
            // A session opened while the host was away has no directory yet: the host's
            // starting one.
            let mut cwd = self
                .sessions
                .get(&rec.session_id)
                .map(|s| s.cwd.clone())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| emu.world.initial_cwd(host));
            if let Err(e) = self.run_now(emu, &mut rec, &mut cwd, now, false, false) {
                rec.ready_at = Some(now);
                rec.stderr = format!("{}: {}", e.code, e.message);
            }
            rec.updated_at = SystemTime::now();
            if let Some(s) = self.sessions.get_mut(&rec.session_id) {
                s.cwd = cwd;
            }
            self.commands.insert(id, rec);
        }
    }
}

/// The put-files and scripts a new tenant starts with.
fn seed_library(rng: &mut Rng) -> Library {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let put = |rng: &mut Rng, name: &str, desc: &str, content: Content| PutFileRec {
        id: rng.hex32(),
        name: name.into(),
        description: desc.into(),
        comments_for_audit_log: String::new(),
        content,
        created_at: at,
        created_by: "admin@example.com".into(),
    };
    let script =
        |rng: &mut Rng, name: &str, desc: &str, platform: &[&str], content: &str| ScriptRec {
            id: rng.hex32(),
            name: name.into(),
            description: desc.into(),
            comments_for_audit_log: String::new(),
            content: content.into(),
            platform: platform.iter().map(|s| s.to_string()).collect(),
            permission_type: "public".into(),
            created_at: at,
            created_by: "admin@example.com".into(),
            modified_at: at,
        };
    Library {
        put_files: vec![
            put(
                rng,
                "procdump64.exe",
                "Sysinternals ProcDump",
                Content::generated(11, 418_208, crate::content::GenKind::Binary),
            ),
            put(
                rng,
                "triage.ps1",
                "Collect triage artefacts",
                Content::text("Get-Process | Out-File C:\\Windows\\Temp\\ps.txt\r\n"),
            ),
            put(
                rng,
                "collect.sh",
                "Linux triage collector",
                Content::text("#!/bin/sh\nps aux\n"),
            ),
        ],
        scripts: vec![
            script(
                rng,
                "Get-Triage",
                "Windows triage: processes, services, autoruns",
                &["windows"],
                "Write-Output \"triage started\"\r\nGet-Process | Select-Object -First 5\r\nWrite-Output \"triage done\"\r\n",
            ),
            script(
                rng,
                "linux-triage",
                "Linux triage",
                &["linux", "mac"],
                "echo triage started\nps aux | head -5\necho triage done\n",
            ),
        ],
    }
}
