//! Single-host RTR endpoints: session init, pulse, delete, execute and check-status for the
//! three tiers (docs/protocol.md, "RTR sessions" and "Execute-then-poll").

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{FalconClient, parse_json};
use crate::error::FalconError;
use crate::ids::{Aid, CloudRequestId, SessionId};
use crate::{Envelope, null_default};
use rtrsh_command::Tier;

/// `domain.InitResponse` (the fields rtrsh uses).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Session {
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub pwd: String,
    #[serde(default, deserialize_with = "null_default")]
    pub offline_queued: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub existing_aid_sessions: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub scripts: Vec<serde_json::Value>,
}

/// `domain.CommandExecuteResponse`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Executed {
    #[serde(default, deserialize_with = "null_default")]
    pub cloud_request_id: CloudRequestId,
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub queued_command_offline: bool,
}

/// `domain.StatusResponse`: one check-status reply (one chunk).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default, deserialize_with = "null_default")]
    pub complete: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub stdout: String,
    #[serde(default, deserialize_with = "null_default")]
    pub stderr: String,
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub base_command: String,
    #[serde(default, deserialize_with = "null_default")]
    pub task_id: CloudRequestId,
    /// Absent when 0 in real replies.
    #[serde(default)]
    pub sequence_id: Option<u64>,
}

fn first<T: Default>(env: Envelope<Vec<T>>, path: &str) -> Result<T, FalconError> {
    env.resources
        .into_iter()
        .next()
        .ok_or_else(|| FalconError::Decode {
            path: path.to_string(),
            detail: "the reply has no resources".into(),
        })
}

const SESSIONS: &str = "/real-time-response/entities/sessions/v1";
const REFRESH: &str = "/real-time-response/entities/refresh-session/v1";

impl FalconClient {
    /// Opens (or re-uses) an RTR session on a host. `timeout`: how long the API may wait for the
    /// sensor (1–600 s).
    pub async fn init_session(
        &self,
        aid: &str,
        queue_offline: bool,
        timeout: Duration,
    ) -> Result<Session, FalconError> {
        let secs = timeout.as_secs().clamp(1, 600);
        let body = json!({ "device_id": aid, "origin": "rtrsh", "queue_offline": queue_offline });
        let reply = self
            .request(Method::POST, SESSIONS)
            .query(&[("timeout", secs.to_string())])
            .json(&body)
            .server_wait(Duration::from_secs(secs))
            .send()
            .await?;
        first(reply.json()?, SESSIONS)
    }

    /// Keeps a session alive (`refresh-session`).
    pub async fn pulse_session(
        &self,
        aid: &str,
        queue_offline: bool,
    ) -> Result<Session, FalconError> {
        let body = json!({ "device_id": aid, "origin": "rtrsh", "queue_offline": queue_offline });
        let reply = self.post_repeatable(REFRESH, &body).await?;
        first(reply.json()?, REFRESH)
    }

    /// Closes a session on the server.
    pub async fn delete_session(&self, session_id: &str) -> Result<(), FalconError> {
        self.request(Method::DELETE, SESSIONS)
            .query(&[("session_id", session_id.to_string())])
            .send()
            .await?;
        Ok(())
    }

    /// Sends one command line to a session on the given tier's endpoint. Never re-sent after it
    /// may have reached the API (see `client.rs`).
    pub async fn execute(
        &self,
        tier: Tier,
        session_id: &str,
        aid: &str,
        base_command: &str,
        command_string: &str,
    ) -> Result<Executed, FalconError> {
        let body = json!({
            "base_command": base_command,
            "command_string": command_string,
            "session_id": session_id,
            "device_id": aid,
            "id": 0,
            "persist": false,
        });
        let path = tier.single_path();
        let reply = self
            .request(Method::POST, path)
            .json(&body)
            .once()
            .send()
            .await?;
        first(reply.json()?, path)
    }

    /// One check-status call: chunk `sequence_id` of a command's output.
    pub async fn command_status(
        &self,
        tier: Tier,
        cloud_request_id: &str,
        sequence_id: u64,
    ) -> Result<Status, FalconError> {
        let path = tier.single_path();
        let q = [
            ("cloud_request_id", cloud_request_id.to_string()),
            ("sequence_id", sequence_id.to_string()),
        ];
        let reply = self.get(path, &q).await?;
        let env: Envelope<Vec<Status>> = parse_json(&reply.body, path)?;
        first(env, path)
    }
}

/// One entry of a session's command log (`model.SessionLog`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SessionLog {
    #[serde(default, deserialize_with = "null_default")]
    pub cloud_request_id: CloudRequestId,
    #[serde(default, deserialize_with = "null_default")]
    pub base_command: String,
    #[serde(default, deserialize_with = "null_default")]
    pub command_string: String,
    #[serde(default, deserialize_with = "null_default")]
    pub created_at: String,
}

/// `domain.Session` (only its id and command log).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SessionDetail {
    #[serde(default, deserialize_with = "null_default")]
    pub id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub device_id: Aid,
    #[serde(default, deserialize_with = "null_default")]
    pub logs: Vec<SessionLog>,
}

/// A session's command log as one reply showed it.
#[derive(Clone, Debug, Default)]
pub struct SessionLogs {
    pub entries: Vec<SessionLog>,
    /// The reply's `Date` (the server's clock, truncated to the second).
    pub date: Option<std::time::SystemTime>,
}

impl FalconClient {
    /// The command log of a session (`POST /real-time-response/entities/sessions/GET/v1`), in
    /// the order the API lists it (undocumented: do not rely on it).
    pub async fn session_logs(&self, session_id: &str) -> Result<SessionLogs, FalconError> {
        let (mut by_session, date) = self.sessions_logs(&[SessionId::new(session_id)]).await?;
        let entries = by_session.remove(session_id).unwrap_or_default();
        Ok(SessionLogs { entries, date })
    }

    /// The command logs of many sessions, by session id; and the `Date` of the first reply
    /// (the server's clock, truncated to the second).
    pub async fn sessions_logs(
        &self,
        session_ids: &[SessionId],
    ) -> Result<
        (
            std::collections::HashMap<SessionId, Vec<SessionLog>>,
            Option<std::time::SystemTime>,
        ),
        FalconError,
    > {
        let (details, date) = self.sessions_details(session_ids).await?;
        let mut out = std::collections::HashMap::with_capacity(details.len());
        for s in details {
            out.entry(s.id).or_insert_with(Vec::new).extend(s.logs);
        }
        Ok((out, date))
    }

    /// Sessions by id (`POST …/entities/sessions/GET/v1`, 100 per request): only those asked
    /// for, with the `Date` of the first reply.
    pub async fn sessions_details(
        &self,
        session_ids: &[SessionId],
    ) -> Result<(Vec<SessionDetail>, Option<std::time::SystemTime>), FalconError> {
        const PATH: &str = "/real-time-response/entities/sessions/GET/v1";
        let mut out = Vec::with_capacity(session_ids.len());
        let mut date = None;
        for chunk in session_ids.chunks(100) {
            let body = json!({ "ids": chunk });
            let reply = self.post_repeatable(PATH, &body).await?;
            let env: Envelope<Vec<SessionDetail>> = reply.json()?;
            if date.is_none() {
                date = reply
                    .headers
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(crate::client::parse_http_date);
            }
            out.extend(env.resources.into_iter().filter(|s| chunk.contains(&s.id)));
        }
        Ok((out, date))
    }

    /// Ids of this API client's live sessions created at or after `since` (server clock),
    /// through `GET /real-time-response/queries/sessions/v1` (paged by its string offset).
    pub async fn my_sessions_since(
        &self,
        since: std::time::SystemTime,
    ) -> Result<Vec<SessionId>, FalconError> {
        self.query_sessions(&format!(
            "user_id:'@me'+deleted_at:null+created_at:>='{}'",
            humantime::format_rfc3339_seconds(since)
        ))
        .await
    }

    /// Ids of this API client's sessions holding commands queued for an offline host in the
    /// last 7 days (queued sessions live that long), PSFalcon's `Get-FalconQueue` filter.
    pub async fn my_queued_sessions(&self) -> Result<Vec<SessionId>, FalconError> {
        self.query_sessions("user_id:'@me'+commands_queued:true+created_at:>'now-7d'")
            .await
    }

    /// Session ids matching an FQL filter (`GET …/queries/sessions/v1`, string offsets).
    pub async fn query_sessions(&self, filter: &str) -> Result<Vec<SessionId>, FalconError> {
        const PATH: &str = "/real-time-response/queries/sessions/v1";
        let filter = filter.to_string();
        let mut ids: Vec<SessionId> = Vec::new();
        let mut offset = String::new();
        loop {
            let mut q = vec![("filter", filter.clone()), ("limit", "100".to_string())];
            if !offset.is_empty() {
                q.push(("offset", offset.clone()));
            }
            let reply = self.get(PATH, &q).await?;
            let env: Envelope<Vec<SessionId>> = reply.json()?;
            let got = env.resources.len();
            let before = ids.len();
            for id in env.resources {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let total = env.meta.pagination.as_ref().map(|p| p.total);
            let next = env.meta.pagination.map(|p| p.offset).unwrap_or_default();
            let done = got == 0
                || ids.len() == before
                || total.is_some_and(|t| ids.len() as u64 >= t)
                || next.is_empty()
                || next == offset;
            if done {
                return Ok(ids);
            }
            offset = next;
        }
    }
}

/// `domain.QueuedSessionCommand`: one command of an offline-queued session.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct QueuedCommandState {
    #[serde(default, deserialize_with = "null_default")]
    pub cloud_request_id: CloudRequestId,
    #[serde(default, deserialize_with = "null_default")]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_default")]
    pub command_string: String,
    /// `PENDING` while the host is away; `FINISHED` once it ran (other values undocumented).
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status_text: String,
}

/// `domain.QueuedSessionJob`: an offline-queued session and its commands.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct QueuedSession {
    #[serde(default, deserialize_with = "null_default")]
    pub id: SessionId,
    #[serde(default, deserialize_with = "null_default")]
    pub aid: Aid,
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Capitalised in the spec and in real replies (docs/protocol.md, "Queued commands").
    #[serde(
        default,
        rename = "Commands",
        alias = "commands",
        deserialize_with = "null_default"
    )]
    pub commands: Vec<QueuedCommandState>,
}

impl FalconClient {
    /// Offline-queued sessions and their commands
    /// (`POST /real-time-response/entities/queued-sessions/GET/v1`). Sessions the API does not
    /// know as queued are left out; none at all (its 404) is an empty list.
    pub async fn queued_sessions(
        &self,
        session_ids: &[SessionId],
    ) -> Result<Vec<QueuedSession>, FalconError> {
        const PATH: &str = "/real-time-response/entities/queued-sessions/GET/v1";
        let body = json!({ "ids": session_ids });
        let reply = match self.post_repeatable(PATH, &body).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(404) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let env: Envelope<Vec<QueuedSession>> = reply.json()?;
        Ok(env.resources)
    }
}
