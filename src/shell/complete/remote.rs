//! Where completion candidates come from beyond the catalog: the host's directories
//! ([`RemoteFs`]) and the cloud's put-files and scripts ([`CloudNames`]). Both are traits so
//! the completer is tested with fakes; [`HostSession`] implements them over the API.
//!
//! The futures need not be `Send`: the editor thread drives them itself (`block_on`).

use std::sync::Arc;

use futures_util::future::LocalBoxFuture as BoxFuture;
use tokio_util::sync::CancellationToken;

use super::cache::CloudKind;
use super::paths::{PathStyle, RemoteEntry, acceptable_name, parse_listing};
use rtrsh_client::FalconClient;
use rtrsh_client::session::host::quote_path;
use rtrsh_client::session::poll::{PollLimits, Schedule, Waiting, poll};
use rtrsh_client::session::{Collect, Completion, HostSession};
use rtrsh_client::{Aid, SessionId};
use rtrsh_command::{Tier, lexer};

/// Most names fetched from one cloud library.
const MAX_CLOUD_NAMES: usize = 1000;

/// The host's file system, as completion sees it.
pub trait RemoteFs: Send + Sync {
    /// The session's working directory (relative paths are completed against it).
    fn cwd(&self) -> BoxFuture<'_, String>;

    /// The entries of directory `dir` (absolute, as the host writes it). `Some(vec![])` when
    /// the host answered but the directory is empty or not listable (cached like any listing);
    /// `None` when the host could not be asked (not cached).
    fn list<'a>(
        &'a self,
        style: PathStyle,
        dir: &'a str,
    ) -> BoxFuture<'a, Option<Vec<RemoteEntry>>>;
}

/// Names in the cloud libraries.
pub trait CloudNames: Send + Sync {
    /// Every name of one library; `None` when it could not be fetched (not cached).
    fn names(&self, kind: CloudKind) -> BoxFuture<'_, Option<Vec<String>>>;
}

impl RemoteFs for HostSession {
    fn cwd(&self) -> BoxFuture<'_, String> {
        Box::pin(HostSession::cwd(self))
    }

    fn list<'a>(
        &'a self,
        style: PathStyle,
        dir: &'a str,
    ) -> BoxFuture<'a, Option<Vec<RemoteEntry>>> {
        Box::pin(async move {
            // A session on an offline host queues commands: TAB must not leave an `ls` to
            // run there later.
            if self.offline_queued().await {
                return None;
            }
            let (line, words) = listing_line(style, dir)?;
            let mut sink = Collect::default();
            let cancel = CancellationToken::new();
            let outcome = self
                .run(&line, &words, Tier::ReadOnly, &mut sink, &cancel)
                .await
                .ok()?;
            if outcome.queued || outcome.polled.completion != Completion::Complete {
                return None;
            }
            Some(listing_of(style, &sink))
        })
    }
}

/// The `ls` that lists `dir`: `ls -l` on Linux and macOS (bare names cannot tell a directory
/// from a file).
fn listing_line(style: PathStyle, dir: &str) -> Option<(String, Vec<String>)> {
    let line = match style {
        PathStyle::Windows => format!("ls {}", quote_path(dir)),
        PathStyle::Unix => format!("ls -l {}", quote_path(dir)),
    };
    let words = lexer::words(&line).ok()?;
    Some((line, words))
}

/// The entries of a finished `ls`: none when the host answered with an error.
fn listing_of(style: PathStyle, sink: &Collect) -> Vec<RemoteEntry> {
    if !sink.stderr.trim().is_empty() {
        return Vec::new();
    }
    parse_listing(style, &sink.stdout)
}

/// Every name of one cloud library (the client may not read it: `None`).
async fn cloud_names(client: &FalconClient, kind: CloudKind) -> Option<Vec<String>> {
    let names = match kind {
        CloudKind::PutFiles => client.put_file_names().await,
        CloudKind::Scripts => client.script_names().await,
        CloudKind::FalconScripts => client.falcon_script_names().await,
    }
    .ok()?;
    Some(
        names
            .into_iter()
            .filter(|n| acceptable_name(n))
            .take(MAX_CLOUD_NAMES)
            .collect(),
    )
}

/// A session owned elsewhere (a fleet host's batch session) through which completion lists
/// directories: the host the fleet prompt completes from. Never re-opened or recovered here: a
/// session that fails is "could not ask" (nothing cached); the fleet re-opens it on the next
/// command.
#[derive(Clone)]
pub struct Borrowed {
    pub client: FalconClient,
    pub aid: Aid,
    pub session_id: SessionId,
    pub cwd: String,
}

/// The host completion lists directories on; changed by the shell between prompts.
#[derive(Clone, Default)]
pub struct Representative(Arc<std::sync::Mutex<Option<Borrowed>>>);

impl Representative {
    pub fn set(&self, host: Option<Borrowed>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = host;
    }

    /// The directory of the host completion lists on, if there is one.
    pub fn cwd(&self) -> Option<String> {
        self.get().map(|b| b.cwd)
    }

    fn get(&self) -> Option<Borrowed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl RemoteFs for Representative {
    fn cwd(&self) -> BoxFuture<'_, String> {
        Box::pin(async move { self.get().map(|b| b.cwd).unwrap_or_default() })
    }

    fn list<'a>(
        &'a self,
        style: PathStyle,
        dir: &'a str,
    ) -> BoxFuture<'a, Option<Vec<RemoteEntry>>> {
        Box::pin(async move {
            let b = self.get()?;
            let (line, _) = listing_line(style, dir)?;
            let ex = b
                .client
                .execute(Tier::ReadOnly, &b.session_id, &b.aid, "ls", &line)
                .await
                .ok()?;
            let mut sink = Collect::default();
            let cancel = CancellationToken::new();
            let polled = poll(
                &b.client,
                Tier::ReadOnly,
                &ex.cloud_request_id,
                &mut sink,
                Waiting {
                    schedule: &Schedule::default(),
                    limits: &PollLimits {
                        timeout: super::REMOTE_TIMEOUT,
                        ..Default::default()
                    },
                    cancel: &cancel,
                },
            )
            .await
            .ok()?;
            (polled.completion == Completion::Complete).then(|| listing_of(style, &sink))
        })
    }
}

impl CloudNames for Representative {
    fn names(&self, kind: CloudKind) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move { cloud_names(&self.get()?.client, kind).await })
    }
}

impl CloudNames for HostSession {
    fn names(&self, kind: CloudKind) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(cloud_names(self.client(), kind))
    }
}
