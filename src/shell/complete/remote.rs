//! Where completion candidates come from beyond the catalog: the host's directories
//! ([`RemoteFs`]) and the cloud's put-files and scripts ([`CloudNames`]). Both are traits so
//! the completer is tested with fakes; [`HostSession`] implements them over the API.
//!
//! The futures need not be `Send`: the editor thread drives them itself (`block_on`).

use futures_util::future::LocalBoxFuture as BoxFuture;
use tokio_util::sync::CancellationToken;

use super::cache::CloudKind;
use super::paths::{PathStyle, RemoteEntry, acceptable_name, parse_listing};
use crate::command::{Tier, lexer};
use crate::session::host::quote_path;
use crate::session::{Collect, Completion, HostSession};

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
            // `ls -l` on Linux and macOS: bare names cannot tell a directory from a file.
            let line = match style {
                PathStyle::Windows => format!("ls {}", quote_path(dir)),
                PathStyle::Unix => format!("ls -l {}", quote_path(dir)),
            };
            let words = lexer::words(&line).ok()?;
            let mut sink = Collect::default();
            let cancel = CancellationToken::new();
            let outcome = self
                .run(&line, &words, Tier::ReadOnly, &mut sink, &cancel)
                .await
                .ok()?;
            if outcome.queued || outcome.polled.completion != Completion::Complete {
                return None;
            }
            if !sink.stderr.trim().is_empty() {
                return Some(Vec::new());
            }
            Some(parse_listing(style, &sink.stdout))
        })
    }
}

impl CloudNames for HostSession {
    fn names(&self, kind: CloudKind) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            let client = self.client();
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
        })
    }
}
