//! Everything that shapes the emulated tenant: the simulated world, timing, chunking, limits,
//! credentials and fault injection. One struct, usable as `clap` arguments (`rtrsh emulator ...`)
//! and built directly by tests (`EmulatorConfig { hosts: 3, ..Default::default() }`).

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::world::WorldConfig;

/// The API client the emulator accepts by default (all scopes).
pub const DEFAULT_CLIENT_ID: &str = "emulator-client";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// Every scope an rtrsh client can hold. `devices:write` ("Hosts: Write" in the console) is
/// the one containment needs (docs/protocol.md, "Containment"; psfalcon#161, maintainer:
/// `devices:read` and `devices:write` "to find the hosts and contain them").
pub const ALL_SCOPES: [&str; 5] = [
    "devices:read",
    "real-time-response:read",
    "real-time-response:write",
    "real-time-response-admin:write",
    "devices:write",
];

/// How output larger than one chunk is paged through `sequence_id` (docs/protocol.md,
/// "Chunk protocol"). The real protocol is undocumented, so clients are proven against all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ChunkModel {
    /// A non-final chunk has `complete:false` and `sequence_id` = the next index to fetch.
    #[default]
    Next,
    /// A non-final chunk has `complete:false` and `sequence_id` = the index that was requested.
    Echo,
    /// Every chunk after completion has `complete:true`; `sequence_id` names the next index,
    /// absent on the last chunk (the Splunk connector's reading).
    Splunk,
}

/// What `X-RateLimit-RetryAfter` holds on a 429 (the spec says epoch milliseconds; both SDKs
/// that act on it read epoch seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum RetryAfterUnit {
    #[default]
    Seconds,
    Millis,
}

/// How bytes of command output that are not valid UTF-8 are put into JSON strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum InvalidUtf8 {
    /// Replace each invalid sequence with U+FFFD, as Go's encoding/json does.
    #[default]
    Replace,
    /// Put the raw bytes into the JSON string (the body is then not valid UTF-8): the worst case a
    /// client must survive.
    Raw,
}

/// Ways a broken or hostile server misbehaves, so clients can prove they survive it
/// (`--misbehave`, repeatable). None of these is what the real API does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Misbehaviour {
    /// Absurd numbers in every numeric field a client reads: `expires_in`, `sequence_id`,
    /// file `size` and pagination `total` are 2^64 - 1.
    AbsurdNumbers,
    /// A command never completes: every status check answers `complete: false` with a line of
    /// output and the next `sequence_id`.
    EndlessOutput,
    /// Every error message carries an OSC 52 clipboard write, a bidi override and a CR.
    HostileErrors,
    /// A retrieved file's `sha256` in the file list is not a SHA-256 (and holds an escape).
    BadHashes,
    /// The first API request (other than OAuth2) is answered 429 with a `RetryAfter` 2 s away.
    RetryAfterSeconds,
    /// The first API request (other than OAuth2) is answered 429 with a `RetryAfter` in 2100.
    RetryAfterCentury,
}

/// How the devices API matches `hostname` in FQL filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum HostnameMatch {
    /// What real tenants do: `hostname:'X'` is a case-insensitive prefix match (the API appends
    /// the `*`; a leading `*` finds nothing) and `hostname:['X']` an exact, case-sensitive one
    /// (CrowdStrike maintainers in psfalcon#509 and #428 and Falcon-Toolkit#192; users in
    /// psfalcon#425 and falconpy#935).
    #[default]
    Prefix,
    /// Case-insensitive equality (with `*` wildcards) in both forms: the emulator's reading
    /// before the evidence was found, kept so clients are proven under both.
    Exact,
}

/// The order in which a session's command log (`logs` of sessions GET) lists its entries. The
/// API documents none; FalconPy's replay sample sorts them "defensively" (docs/protocol.md,
/// "Session log recovery").
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LogOrder {
    /// In the order the commands were sent.
    #[default]
    OldestFirst,
    /// The latest command first.
    NewestFirst,
}

/// What check-status answers for a command queued for an offline host that has not run yet.
/// Undocumented: both SDK samples ask the queued-sessions endpoint first and only check status
/// once the command is no longer `PENDING` (docs/protocol.md, "Queued command status"), so what
/// status says before that was never seen. Each plausible reading is playable; clients must treat
/// each as "not yet".
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum QueuedStatus {
    /// 200 with `complete:false` and no output, like a command still running.
    #[default]
    Pending,
    /// 404 "Could not find command": no result exists yet.
    NotFound,
    /// 404 with code 40401 "Could not establish sensor comms", the code the API gives for an
    /// offline host elsewhere (psfalcon#79).
    SensorOffline,
}

/// One API client the emulator accepts: `ID:SECRET[:SCOPE,SCOPE...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredential {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

impl FromStr for ClientCredential {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let id = parts.next().unwrap_or_default();
        let secret = parts.next().unwrap_or_default();
        if id.is_empty() || secret.is_empty() {
            return Err("expected ID:SECRET[:SCOPE,SCOPE...]".into());
        }
        let scopes = match parts.next() {
            Some(list) if !list.is_empty() => list.split(',').map(str::to_string).collect(),
            _ => ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        };
        Ok(ClientCredential {
            client_id: id.into(),
            client_secret: secret.into(),
            scopes,
        })
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

fn parse_share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0 and 1".into())
    }
}

fn parse_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("must be a number of at least 0".into())
    }
}

/// The emulated tenant. `Default` is what `rtrsh emulator` and `rtrsh demo` run.
#[derive(Clone, Debug, Args)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Number of simulated hosts.
    #[arg(long, default_value_t = 25)]
    pub hosts: usize,
    /// Seed of the simulated world (same seed, same world).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share (0..1) of generated hosts that are offline.
    #[arg(long, default_value_t = 0.1, value_parser = parse_share)]
    pub offline_share: f64,
    /// Leave out the host whose outputs are hostile (HOSTILE-01).
    #[arg(long)]
    pub no_hostile_host: bool,
    /// Number of MSSP child CIDs (tokens may then name one with member_cid).
    #[arg(long, default_value_t = 0)]
    pub child_cids: usize,
    /// Time a host takes to finish a command (e.g. 300ms).
    #[arg(long, default_value = "300ms", value_parser = parse_duration)]
    pub latency: Duration,
    /// Random extra time per command, up to this much (deterministic per seed).
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub latency_jitter: Duration,
    /// Share (0..1) of hosts that are slow: every command on them, and the `pwd` of a session
    /// init, takes `--slow-latency` instead of `--latency` (a long tail; the same hosts for a
    /// given seed, listed as `slow` by `/_emulator/hosts`).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub slow_hosts: f64,
    /// How long a command takes on a slow host (see `--slow-hosts`).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub slow_latency: Duration,
    /// Bytes of output per sequence_id chunk.
    #[arg(long, default_value_t = 64 * 1024)]
    pub chunk_size: u64,
    /// How chunked output is paged (see docs/protocol.md, "Sequence chunks").
    #[arg(long, value_enum, default_value_t = ChunkModel::Next)]
    pub chunk_model: ChunkModel,
    /// Lifetime of an OAuth2 access token (the real API: 30 minutes, expires_in 1799).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub token_lifetime: Duration,
    /// An RTR session expires after this long without activity (init, pulse, command).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub session_idle: Duration,
    /// Requests per minute per CID (sliding window); 0 disables the limit.
    #[arg(long, default_value_t = 6000)]
    pub rate_limit: u32,
    /// Batch requests (init, command, get) answered at once; more get 429 with a RetryAfter one
    /// second away. The API documents no such limit (0, the default: none); this plays the
    /// reading that one exists.
    #[arg(long, default_value_t = 0)]
    pub batch_concurrency: u32,
    /// Requests per minute per source IP with a missing or invalid token.
    #[arg(long, default_value_t = 15)]
    pub unauthenticated_rate_limit: u32,
    /// Unit of X-RateLimit-RetryAfter on a 429.
    #[arg(long, value_enum, default_value_t = RetryAfterUnit::Seconds)]
    pub retry_after_unit: RetryAfterUnit,
    /// Share (0..1) of API requests answered with a 5xx (before or after the request took effect).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub fault_5xx: f64,
    /// Share (0..1) of API requests whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub fault_drop: f64,
    /// Time between a `get` finishing on the host and the file being downloadable, per MiB.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub upload_time_per_mib: Duration,
    /// Flip one byte of every archive `extracted-file-contents` serves (a download corrupted in
    /// transit), so clients can prove they verify what they extract.
    #[arg(long)]
    pub corrupt_downloads: bool,
    /// Cloud region named in X-CS-Region.
    #[arg(long, default_value = "us-1")]
    pub region: String,
    /// Answer the first token request with a 308 redirect to the same URL (region redirect).
    #[arg(long)]
    pub redirect_first_token: bool,
    /// How invalid UTF-8 in output is encoded in JSON.
    #[arg(long, value_enum, default_value_t = InvalidUtf8::Replace)]
    pub invalid_utf8: InvalidUtf8,
    /// API clients accepted, as ID:SECRET[:SCOPE,SCOPE...] (repeatable). Default: the
    /// emulator-client / emulator-secret pair with every scope, plus readonly-client /
    /// readonly-secret (devices:read, real-time-response:read) and responder-client /
    /// responder-secret (adds real-time-response:write).
    #[arg(long = "client", value_name = "ID:SECRET[:SCOPES]")]
    pub clients: Vec<ClientCredential>,
    /// Misbehave in these ways (repeatable; see `Misbehaviour`).
    #[arg(long, value_enum)]
    pub misbehave: Vec<Misbehaviour>,
    /// How `hostname` is matched in device filters (see `HostnameMatch`).
    #[arg(long, value_enum, default_value_t = HostnameMatch::Prefix)]
    pub hostname_match: HostnameMatch,
    /// Gives the next generated host this name (repeatable), e.g. prefix twins of a fixed host
    /// (`DESKTOP-010`, `DESKTOP-01-OLD`) or a name in another case (`desktop-02`).
    #[arg(long = "host-name", value_name = "NAME")]
    pub host_names: Vec<String>,

    // Scripts, downloads and API errors (docs/protocol.md, "Script timeout", "Download readiness",
    // "Errors").
    /// Multiplies script time on a host: `Start-Sleep`/`sleep` in a script and its `-Timeout`
    /// (default 30 s, after Falcon-Toolkit's help; psfalcon#56: a script that outlives its window
    /// is stopped). 0.01 makes a 60 s sleep take 600 ms, so tests stay short.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    pub script_time_scale: f64,
    /// `file/v2` hides a retrieved file's `sha256` until its upload is complete (the emulator's
    /// earlier reading). By default the hash shows as soon as the host has sent the file, as
    /// FalconPy's `streaming_download_uber.py` sample expects: it takes `sha256` from the list
    /// and retries the download while the file is "moved to the cloud".
    #[arg(long)]
    pub sha256_when_complete: bool,
    /// Extra time after a retrieved file's upload is complete during which
    /// `extracted-file-contents` still refuses it (404; inferred: the sample retries on any HTTP
    /// error, the real status is undocumented).
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub cloud_move_time: Duration,
    /// A response policy with `runscript` disabled: every `runscript` is refused with 40006
    /// "command is not valid" (CAST#15, maintainer: check that the policy enables runscript).
    #[arg(long)]
    pub runscript_disabled: bool,
    // --- Fidelity switches for unconfirmed executes and queued commands (docs/protocol.md,
    // "Queued command status" and "Session log recovery"). Kept together at the end.
    /// Session log entries stay invisible in sessions GET for this long after the command was
    /// sent (a log that lags behind the execute). Whether the real log lags is undocumented.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub session_log_lag: Duration,
    /// Order of a session's log entries in sessions GET (undocumented).
    #[arg(long, value_enum, default_value_t = LogOrder::OldestFirst)]
    pub session_log_order: LogOrder,
    /// Lifetime of an offline-queued session: this long after its last activity (creation or a
    /// command). PSFalcon's `Get-FalconQueue` help and FalconPy's `queued_execute.py` give
    /// 7 days, with adding commands extending it; live sessions use `--session-idle`.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub queued_session_lifetime: Duration,
    /// What check-status answers for a queued command that has not run yet (undocumented).
    #[arg(long, value_enum, default_value_t = QueuedStatus::Pending)]
    pub queued_status: QueuedStatus,
    /// How long a host stays `containment_pending` (or `lift_containment_pending`) after the
    /// action, counted from when it is online: an offline host stays pending until it is back.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub containment_delay: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            hosts: 25,
            seed: 1,
            offline_share: 0.1,
            no_hostile_host: false,
            child_cids: 0,
            latency: Duration::from_millis(300),
            latency_jitter: Duration::ZERO,
            slow_hosts: 0.0,
            slow_latency: Duration::from_secs(20),
            chunk_size: 64 * 1024,
            chunk_model: ChunkModel::Next,
            token_lifetime: Duration::from_secs(30 * 60),
            session_idle: Duration::from_secs(600),
            rate_limit: 6000,
            batch_concurrency: 0,
            unauthenticated_rate_limit: 15,
            retry_after_unit: RetryAfterUnit::Seconds,
            fault_5xx: 0.0,
            fault_drop: 0.0,
            upload_time_per_mib: Duration::from_millis(50),
            corrupt_downloads: false,
            region: "us-1".into(),
            redirect_first_token: false,
            invalid_utf8: InvalidUtf8::Replace,
            clients: Vec::new(),
            misbehave: Vec::new(),
            hostname_match: HostnameMatch::Prefix,
            host_names: Vec::new(),
            script_time_scale: 1.0,
            sha256_when_complete: false,
            cloud_move_time: Duration::ZERO,
            runscript_disabled: false,
            session_log_lag: Duration::ZERO,
            session_log_order: LogOrder::OldestFirst,
            queued_session_lifetime: Duration::from_secs(7 * 24 * 3600),
            queued_status: QueuedStatus::Pending,
            containment_delay: Duration::from_secs(2),
        }
    }
}

impl EmulatorConfig {
    /// Whether the emulator misbehaves this way.
    pub fn misbehaves(&self, m: Misbehaviour) -> bool {
        self.misbehave.contains(&m)
    }

    pub fn world(&self) -> WorldConfig {
        WorldConfig {
            seed: self.seed,
            hosts: self.hosts,
            offline_share: self.offline_share,
            hostile_host: !self.no_hostile_host,
            child_cids: self.child_cids,
            names: self.host_names.clone(),
        }
    }

    /// The accepted API clients (the defaults when none were configured).
    pub fn credentials(&self) -> Vec<ClientCredential> {
        if !self.clients.is_empty() {
            return self.clients.clone();
        }
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            ClientCredential {
                client_id: DEFAULT_CLIENT_ID.into(),
                client_secret: DEFAULT_CLIENT_SECRET.into(),
                scopes: s(&ALL_SCOPES),
            },
            ClientCredential {
                client_id: "readonly-client".into(),
                client_secret: "readonly-secret".into(),
                scopes: s(&ALL_SCOPES[..2]),
            },
            ClientCredential {
                client_id: "responder-client".into(),
                client_secret: "responder-secret".into(),
                scopes: s(&ALL_SCOPES[..3]),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credential_parsing() {
        let c: ClientCredential = "a:b:devices:read".parse().expect("parses");
        assert_eq!(c.scopes, vec!["devices:read"]);
        let c: ClientCredential = "a:b".parse().expect("parses");
        assert_eq!(c.scopes.len(), 5);
        assert!("a".parse::<ClientCredential>().is_err());
        assert!(":b".parse::<ClientCredential>().is_err());
    }
}
