//! The completion cache: remote directory listings and cloud library names, kept for the
//! session with a time-to-live. The editor thread owns the completer; the shell holds a
//! [`CompletionCache`] handle (same state) to drop listings a command may have changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::paths::{PathStyle, RemoteEntry};
use rtrsh_command::catalog;
use rtrsh_command::lexer::split_flag;

/// How long a listing or a name list stays fresh.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// Which cloud library a name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloudKind {
    /// The put-files library (`put`, `put-and-run`).
    PutFiles,
    /// The script library (`runscript -CloudFile=`).
    Scripts,
    /// The Falcon scripts catalogue (`falconscript -Name=`).
    FalconScripts,
}

#[derive(Default)]
struct State {
    /// Keyed by [`PathStyle::key`].
    dirs: HashMap<String, (Instant, Arc<Vec<RemoteEntry>>)>,
    names: HashMap<CloudKind, (Instant, Arc<Vec<String>>)>,
}

/// A shared handle on the completer's cache. Clones share the same state.
#[derive(Clone)]
pub struct CompletionCache {
    state: Arc<Mutex<State>>,
    style: Arc<Mutex<Option<PathStyle>>>,
    ttl: Duration,
}

impl Default for CompletionCache {
    fn default() -> Self {
        CompletionCache::new(DEFAULT_TTL)
    }
}

impl std::fmt::Debug for CompletionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Commands that may change the files in the directories their path arguments name (and the
/// working directory, where relative paths and `put` land).
const FS_WRITERS: &[&str] = &[
    "rm", "mkdir", "mv", "cp", "put", "zip", "tar", "encrypt", "memdump", "xmemdump", "eventlog",
    "umount", "mount", "map", "unmap",
];

/// Commands whose effects on the file system cannot be told from their line: every listing is
/// dropped after them.
const FS_UNKNOWN: &[&str] = &["run", "runscript", "put-and-run", "falconscript"];

impl CompletionCache {
    pub fn new(ttl: Duration) -> CompletionCache {
        CompletionCache {
            state: Arc::new(Mutex::new(State::default())),
            style: Arc::new(Mutex::new(None)),
            ttl,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host's path style, once the completer knows it (keys depend on it).
    pub(super) fn set_style(&self, style: PathStyle) {
        *self.style.lock().unwrap_or_else(|p| p.into_inner()) = Some(style);
    }

    fn style(&self) -> PathStyle {
        self.style
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(PathStyle::Windows)
    }

    pub(super) fn listing(&self, style: PathStyle, dir: &str) -> Option<Arc<Vec<RemoteEntry>>> {
        let mut s = self.lock();
        let key = style.key(dir);
        match s.dirs.get(&key) {
            Some((at, entries)) if at.elapsed() < self.ttl => Some(entries.clone()),
            Some(_) => {
                s.dirs.remove(&key);
                None
            }
            None => None,
        }
    }

    pub(super) fn store_listing(
        &self,
        style: PathStyle,
        dir: &str,
        entries: Vec<RemoteEntry>,
    ) -> Arc<Vec<RemoteEntry>> {
        let entries = Arc::new(entries);
        let mut s = self.lock();
        // Bound the cache: a long session that tabs through thousands of directories keeps
        // only the fresh ones.
        if s.dirs.len() >= 512 {
            let ttl = self.ttl;
            s.dirs.retain(|_, (at, _)| at.elapsed() < ttl);
            if s.dirs.len() >= 512 {
                s.dirs.clear();
            }
        }
        s.dirs
            .insert(style.key(dir), (Instant::now(), entries.clone()));
        entries
    }

    pub(super) fn names(&self, kind: CloudKind) -> Option<Arc<Vec<String>>> {
        let s = self.lock();
        s.names
            .get(&kind)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, n)| n.clone())
    }

    pub(super) fn store_names(&self, kind: CloudKind, names: Vec<String>) -> Arc<Vec<String>> {
        let names = Arc::new(names);
        self.lock()
            .names
            .insert(kind, (Instant::now(), names.clone()));
        names
    }

    /// Drops the listing of `path` and of its parent directory, so either a directory or a
    /// file inside it can be named. Paths are absolute, as the host writes them.
    pub fn invalidate(&self, path: &str) {
        let style = self.style();
        let mut s = self.lock();
        s.dirs.remove(&style.key(path));
        if let Some(parent) = style.parent(path) {
            s.dirs.remove(&style.key(parent));
        }
    }

    /// Drops every listing and name list.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.dirs.clear();
        s.names.clear();
    }

    /// After a command ran: drops the listings it may have changed. `words` are the line's
    /// words (`lexer::words`), `cwd` the working directory the command ran in (relative paths
    /// are resolved against it). Read-only commands change nothing; `run`, `runscript` and
    /// friends clear everything.
    pub fn after_command(&self, words: &[String], cwd: &str) {
        let Some(base) = words.first().map(String::as_str) else {
            return;
        };
        if FS_UNKNOWN.contains(&base) {
            self.clear();
            return;
        }
        if !FS_WRITERS.contains(&base) {
            return;
        }
        let style = self.style();
        self.invalidate_dir(style, cwd);
        let spec = catalog::lookup(base);
        let skip = match spec {
            Some(s) if !s.subcommands.is_empty() => 2,
            _ => 1,
        };
        for w in words.iter().skip(skip) {
            let path = match split_flag(w) {
                (_, Some(value)) => value,
                (name, None) if name.starts_with('-') => continue,
                (name, None) => name,
            };
            if path.is_empty() {
                continue;
            }
            let abs = style.absolute(cwd, path);
            self.invalidate(&abs);
        }
    }

    fn invalidate_dir(&self, style: PathStyle, dir: &str) {
        self.lock().dirs.remove(&style.key(dir));
    }

    /// How many directory listings are cached (for tests and diagnostics).
    pub fn cached_dirs(&self) -> usize {
        let ttl = self.ttl;
        self.lock()
            .dirs
            .values()
            .filter(|(at, _)| at.elapsed() < ttl)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> RemoteEntry {
        RemoteEntry {
            name: name.into(),
            dir: false,
        }
    }

    fn words(line: &str) -> Vec<String> {
        rtrsh_command::lexer::words(line).expect("lexes")
    }

    #[test]
    fn invalidate_drops_the_directory_and_its_parent() {
        let c = CompletionCache::default();
        c.set_style(PathStyle::Windows);
        let w = PathStyle::Windows;
        c.store_listing(w, r"C:\", vec![entry("a")]);
        c.store_listing(w, r"C:\Temp", vec![entry("b")]);
        c.store_listing(w, r"C:\Windows", vec![entry("c")]);
        assert!(c.listing(w, r"c:\temp\").is_some(), "keys ignore case");
        c.invalidate(r"C:\TEMP\x.txt");
        assert!(c.listing(w, r"C:\Temp").is_none());
        assert!(c.listing(w, r"C:\").is_some());
        c.invalidate(r"C:\Windows");
        assert!(c.listing(w, r"C:\Windows").is_none());
        assert!(
            c.listing(w, r"C:\").is_none(),
            "the parent of a directory too"
        );
        c.store_listing(w, r"C:\", vec![]);
        c.clear();
        assert_eq!(c.cached_dirs(), 0);
    }

    #[test]
    fn after_command_rules() {
        let c = CompletionCache::default();
        c.set_style(PathStyle::Unix);
        let u = PathStyle::Unix;
        for d in ["/tmp", "/home/bob", "/home/bob/docs", "/etc"] {
            c.store_listing(u, d, vec![entry("x")]);
        }
        c.after_command(&words("cat /tmp/a"), "/home/bob");
        assert_eq!(c.cached_dirs(), 4, "read-only commands change nothing");
        c.after_command(&words("rm docs/a.txt"), "/home/bob");
        assert!(c.listing(u, "/home/bob/docs").is_none());
        assert!(c.listing(u, "/home/bob").is_none(), "the working directory");
        assert!(c.listing(u, "/tmp").is_some());
        c.after_command(&words("tar -f=/tmp/x.tar -c /etc"), "/");
        assert!(
            c.listing(u, "/tmp").is_none(),
            "a flag's value is a path too"
        );
        c.store_listing(u, "/etc", vec![]);
        c.after_command(&words("runscript -Raw=```touch /x```"), "/");
        assert_eq!(c.cached_dirs(), 0);
    }

    #[test]
    fn entries_expire() {
        let c = CompletionCache::new(Duration::ZERO);
        c.store_listing(PathStyle::Unix, "/", vec![entry("x")]);
        assert!(c.listing(PathStyle::Unix, "/").is_none());
        c.store_names(CloudKind::Scripts, vec!["a".into()]);
        assert!(c.names(CloudKind::Scripts).is_none());
    }
}
