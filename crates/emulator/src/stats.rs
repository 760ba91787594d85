//! Counters that let tests prove behaviour from the server's side ("every typed command produced
//! exactly one execute", "the pulse refreshed the session", "no request broke the spec"), served
//! at `GET /_emulator/stats`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use rtrsh_command::Tier;

#[derive(Clone, Debug, Default, Serialize)]
pub struct EndpointStats {
    pub count: u64,
    /// Responses by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct HostStats {
    pub hostname: String,
    /// Commands executed on this host (single and batch).
    pub commands: u64,
    pub sessions_opened: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CommandStats {
    pub aid: String,
    pub session_id: String,
    pub tier: Tier,
    pub command_string: String,
    /// `single` (execute endpoint) or `batch`.
    pub via: &'static str,
    /// Status checks for this cloud_request_id (all sequence ids).
    pub polls: u64,
    /// Status checks per requested sequence_id.
    pub polls_by_sequence: BTreeMap<u64, u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionStats {
    pub aid: String,
    /// Init calls that returned this session (1 = opened, more = re-used by init).
    pub inits: u64,
    /// Pulses (`refresh-session`) and batch refreshes of this session.
    pub refreshes: u64,
    pub deleted: bool,
}

/// One request that did not follow the spec (the emulator accepted it anyway where real servers
/// do, but a well-behaved client should produce none).
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub problem: String,
}

/// One executed command, in order.
#[derive(Clone, Debug, Serialize)]
pub struct CommandLogEntry {
    pub cloud_request_id: String,
    pub aid: String,
    pub command_string: String,
    pub tier: Tier,
    pub via: &'static str,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Faults {
    pub http_5xx: u64,
    pub dropped: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub requests_total: u64,
    /// Keyed by `METHOD /path`.
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Keyed by aid.
    pub hosts: HashMap<String, HostStats>,
    /// Keyed by cloud_request_id.
    pub commands: HashMap<String, CommandStats>,
    pub command_log: Vec<CommandLogEntry>,
    /// Keyed by session id.
    pub sessions: HashMap<String, SessionStats>,
    pub open_sessions: u64,
    pub tokens_issued: u64,
    pub tokens_revoked: u64,
    pub rate_limited: u64,
    pub faults: Faults,
    pub spec_violations: Vec<Violation>,
    /// Batch requests (init, command, get) being answered right now, and the most at once:
    /// whether a client sends its batches side by side.
    pub batch_in_flight: u64,
    pub batch_in_flight_max: u64,
}

impl Stats {
    pub fn record_request(&mut self, endpoint: &str, status: u16) {
        self.requests_total += 1;
        if !self.endpoints.contains_key(endpoint) {
            self.endpoints
                .insert(endpoint.to_string(), EndpointStats::default());
        }
        let Some(e) = self.endpoints.get_mut(endpoint) else {
            return;
        };
        e.count += 1;
        *e.statuses.entry(status).or_default() += 1;
    }

    pub fn record_execute(
        &mut self,
        id: &str,
        aid: &str,
        session_id: &str,
        tier: Tier,
        command_string: &str,
        batch: bool,
    ) {
        let via = if batch { "batch" } else { "single" };
        match self.hosts.get_mut(aid) {
            Some(h) => h.commands += 1,
            None => {
                self.hosts.insert(
                    aid.to_string(),
                    HostStats {
                        commands: 1,
                        ..HostStats::default()
                    },
                );
            }
        }
        self.commands.insert(
            id.to_string(),
            CommandStats {
                aid: aid.to_string(),
                session_id: session_id.to_string(),
                tier,
                command_string: command_string.to_string(),
                via,
                polls: 0,
                polls_by_sequence: BTreeMap::new(),
            },
        );
        self.command_log.push(CommandLogEntry {
            cloud_request_id: id.to_string(),
            aid: aid.to_string(),
            command_string: command_string.to_string(),
            tier,
            via,
        });
    }

    pub fn record_poll(&mut self, id: &str, sequence_id: u64) {
        if let Some(c) = self.commands.get_mut(id) {
            c.polls += 1;
            *c.polls_by_sequence.entry(sequence_id).or_default() += 1;
        }
    }

    pub fn record_init(&mut self, session_id: &str, aid: &str, hostname: &str, new: bool) {
        self.update_session(session_id, |s| {
            s.aid = aid.to_string();
            s.inits += 1;
        });
        if new {
            let h = self.hosts.entry(aid.to_string()).or_default();
            h.hostname = hostname.to_string();
            h.sessions_opened += 1;
        }
    }

    pub fn record_refresh(&mut self, session_id: &str) {
        self.update_session(session_id, |s| s.refreshes += 1);
    }

    pub fn record_delete(&mut self, session_id: &str) {
        self.update_session(session_id, |s| s.deleted = true);
    }

    /// Changes a session's entry, made on first use (the key is not copied when it exists).
    fn update_session(&mut self, session_id: &str, f: impl FnOnce(&mut SessionStats)) {
        match self.sessions.get_mut(session_id) {
            Some(s) => f(s),
            None => {
                let mut s = SessionStats::default();
                f(&mut s);
                self.sessions.insert(session_id.to_string(), s);
            }
        }
    }

    pub fn violation(&mut self, method: &str, path: &str, problem: impl Into<String>) {
        // Bounded: a misbehaving client in a long benchmark must not grow this without limit.
        if self.spec_violations.len() < 10_000 {
            self.spec_violations.push(Violation {
                method: method.to_string(),
                path: path.to_string(),
                problem: problem.into(),
            });
        }
    }
}
