//! The simulated world behind the emulator: hosts, their file systems, processes, network,
//! registry and event logs, and the interpreter that runs RTR commands against them.
//!
//! Deterministic per seed and cheap at scale: hosts are a few strings each; file systems and the
//! registry are one immutable template per platform, seen through a per-host overlay
//! ([`HostState`]) that stays empty until a command changes something. Host-specific details
//! (user name, pids, file bodies of generated files) derive from each host's seed on demand.
//!
//! Layout: [`hosts`] (the fleet), [`paths`] (path syntax), [`fs`] (templates and overlays),
//! [`trees`] (what the templates contain), [`system`] (processes, network, users, event logs),
//! [`registry`], [`commands`] (the RTR interpreter, with [`World::execute`]), [`clock`] (the fixed
//! "now").

mod clock;
mod commands;
mod fs;
mod hosts;
mod out;
mod paths;
mod planted;
mod registry;
mod system;
#[cfg(test)]
mod tests;
mod trees;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use crate::content::Content;
use rtrsh_command::Platform;

pub use clock::NOW;
pub use commands::{Deferred, available};
pub use hosts::OLD_KIOSK;
pub use planted::Planted;
pub use system::HOSTILE_PROC_NAME;
pub use trees::{
    BIG_FILES, BigFile, HOSTILE_DIR, HOSTILE_ESCAPE_NAME, HOSTILE_ESCAPES, HOSTILE_ESCAPES_TEXT,
    HOSTILE_INVALID_BYTES, HOSTILE_INVALID_UTF8, HOSTILE_LONG_LINE, HOSTILE_LONG_LINE_LEN,
};

/// What the world looks like. Deterministic per seed.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    pub seed: u64,
    /// Number of hosts (exactly this many exist).
    pub hosts: usize,
    /// Share (0..=1) of generated hosts that are offline.
    pub offline_share: f64,
    /// Include the host whose outputs are hostile (escape sequences, invalid UTF-8, huge line).
    pub hostile_host: bool,
    /// Number of MSSP child CIDs; hosts are spread over the parent and the children.
    pub child_cids: usize,
    /// Names of the first generated hosts (after the fixed ones), in order.
    pub names: Vec<String>,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            seed: 1,
            hosts: 25,
            offline_share: 0.1,
            hostile_host: true,
            child_cids: 0,
            names: Vec::new(),
        }
    }
}

/// The facts the devices API reports about a host. Immutable.
#[derive(Clone, Debug)]
pub struct Host {
    pub aid: String,
    pub cid: String,
    pub hostname: String,
    pub platform: Platform,
    pub os_version: String,
    pub agent_version: String,
    pub local_ip: String,
    pub external_ip: String,
    pub mac_address: String,
    pub product_type_desc: String,
    pub machine_domain: String,
    pub system_manufacturer: String,
    pub first_seen: String,
    pub last_seen: String,
    pub tags: Vec<String>,
    /// Online when the world starts (the emulator can change this at run time).
    pub online: bool,
    /// This host's outputs are hostile.
    pub hostile: bool,
}

/// The mutable part of one host (file system changes, killed processes, registry writes).
/// Created lazily, the first time a command changes something; a fresh (default) state sees
/// the host exactly as the world built it.
#[derive(Clone, Debug, Default)]
pub struct HostState {
    /// File-system overlay by path key: created, modified or removed entries.
    fs: BTreeMap<String, fs::Overlay>,
    /// Pids killed by `kill`.
    killed: BTreeSet<u32>,
    /// Processes started by `run` / `put-and-run`.
    started: Vec<system::Proc>,
    /// Registry writes.
    reg: registry::RegOverlay,
    /// Mapped drives (`map`) and mounts (`mount`): drive or mount point → source.
    mapped: BTreeMap<String, String>,
    /// Command lines run on this host, oldest first (`history`).
    history: Vec<String>,
}

impl HostState {
    /// True when no command has changed the host (history aside).
    pub fn is_pristine(&self) -> bool {
        self.fs.is_empty()
            && self.killed.is_empty()
            && self.started.is_empty()
            && self.reg.is_empty()
            && self.mapped.is_empty()
    }
}

/// A file the host uploaded to the cloud (`get`).
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// Full path as the host names it, e.g. `C:\Windows\System32\drivers\etc\hosts`.
    pub path: String,
    pub content: Content,
}

/// What running a command produced.
#[derive(Clone, Debug)]
pub struct Execution {
    pub stdout: Content,
    pub stderr: String,
    pub uploaded: Option<UploadedFile>,
    /// Milliseconds the command takes on the host beyond the usual latency, in unscaled host
    /// time (a script's `Start-Sleep`; the emulator scales it with `script_time_scale`).
    pub runtime_ms: u64,
}

/// A command the API refuses before running it (HTTP 400 with this RTR code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: u32,
    pub message: String,
}

impl Rejection {
    /// The code the single-host execute endpoint answers with. The world rejects a cloud file
    /// that is not in the library with 40412 "The file NAME could not be found", as batch replies
    /// show it per host (kibana fixture; docs/protocol.md, "Errors"). One host's execute answers
    /// differently: a missing put-file is 40408 "Put file not found by name" (psfalcon#326), and a
    /// wrong or misspelt cloud-script name is 40006 "command is not valid" (CAST#15, maintainer).
    pub fn single_host(self, base_command: &str) -> Rejection {
        if self.code != 40412 {
            return self;
        }
        let base = base_command.split_whitespace().next().unwrap_or_default();
        if base.eq_ignore_ascii_case("put") || base.eq_ignore_ascii_case("put-and-run") {
            Rejection {
                code: 40408,
                message: "Put file not found by name".into(),
            }
        } else if base.eq_ignore_ascii_case("runscript") {
            Rejection {
                code: 40006,
                message: "command is not valid".into(),
            }
        } else {
            self
        }
    }
}

/// The cloud-side libraries the host can pull from (`put`, `runscript -CloudFile`).
pub trait CloudLibrary {
    fn put_file(&self, name: &str) -> Option<Content>;
    fn script(&self, name: &str) -> Option<String>;
}

/// One entry of a directory listing ([`World::list_dir`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
}

pub struct World {
    pub cid: String,
    pub child_cids: Vec<String>,
    hosts: Vec<Host>,
    by_aid: HashMap<String, usize>,
    extras: Vec<hosts::HostExtra>,
    windows: fs::Template,
    hostile: fs::Template,
    linux: fs::Template,
    mac: fs::Template,
    registry: registry::Registry,
    /// Generated file bodies per (host, path salt), so cached SHA-256s are reused.
    gen_cache: fs::GenCache,
    /// (MD5, SHA1, SHA256) of generated bodies by (seed, len, kind), for `filehash`.
    hash_cache: Mutex<HashMap<(u64, u64, u8), [String; 3]>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("cid", &self.cid)
            .field("child_cids", &self.child_cids)
            .field("hosts", &self.hosts.len())
            .finish_non_exhaustive()
    }
}

impl World {
    pub fn new(cfg: &WorldConfig) -> World {
        let mut rng = crate::rng::Rng::derive(cfg.seed, &[0xc1d]);
        let cid = rng.hex32();
        let child_cids: Vec<String> = (0..cfg.child_cids).map(|_| rng.hex32()).collect();
        let mut cids = vec![cid.clone()];
        cids.extend(child_cids.iter().cloned());
        let (hosts, extras) = hosts::build(cfg, &cids);
        let by_aid = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.aid.clone(), i))
            .collect();
        World {
            cid,
            child_cids,
            hosts,
            by_aid,
            extras,
            windows: trees::windows(false),
            hostile: trees::windows(true),
            linux: trees::linux(),
            mac: trees::mac(),
            registry: registry::Registry::windows(),
            gen_cache: Mutex::new(HashMap::new()),
            hash_cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// What stacking has to find on this host (see [`planted`]).
    pub fn planted(&self, host: usize) -> Planted {
        match (self.hosts.get(host), self.extras.get(host)) {
            (Some(h), Some(e)) => planted::planted(host, e.seed, h.platform, h.hostile),
            _ => Planted::default(),
        }
    }

    pub fn index_of(&self, aid: &str) -> Option<usize> {
        self.by_aid.get(aid).copied()
    }

    /// The directory a new session starts in.
    pub fn initial_cwd(&self, host: usize) -> String {
        match self.hosts.get(host).map(|h| h.platform) {
            Some(Platform::Linux | Platform::Mac) => "/".into(),
            _ => "C:\\".into(),
        }
    }

    /// The host's primary (logged-on) user, whose home directory exists
    /// (`C:\Users\<user>`, `/home/<user>`, `/Users/<user>`).
    pub fn primary_user(&self, host: usize) -> Option<&str> {
        self.extras.get(host).map(|e| e.user.as_str())
    }

    fn ctx(&self, host: usize) -> Option<commands::Ctx<'_>> {
        let h = self.hosts.get(host)?;
        let extra = self.extras.get(host)?;
        let tpl = match h.platform {
            Platform::Windows if h.hostile => &self.hostile,
            Platform::Windows => &self.windows,
            Platform::Linux => &self.linux,
            Platform::Mac => &self.mac,
        };
        Some(commands::Ctx {
            world: self,
            index: host,
            host: h,
            extra,
            tpl,
            defer: None,
        })
    }

    // `World::execute`, which runs a command line on a host, is the interpreter's entry point
    // and lives with it in `commands`.

    /// A host's file system as it currently is, with the key and entry of an absolute path.
    fn entry_at<'s>(
        &'s self,
        host: usize,
        state: &'s HostState,
        path: &str,
    ) -> Option<(fs::Fs<'s>, String, fs::Entry)> {
        let ctx = self.ctx(host)?;
        let f = ctx.tpl.flavor;
        let root = if f.is_windows() { "C:\\" } else { "/" };
        let comps = f.resolve(root, path)?;
        let fs = ctx.fs(state);
        let (key, _, entry) = fs.canonical(&comps)?;
        Some((fs, key, entry))
    }

    /// The content of a file by absolute path, as the host currently sees it.
    pub fn read_file(&self, host: usize, state: &HostState, path: &str) -> Option<Content> {
        let (fs, key, entry) = self.entry_at(host, state, path)?;
        if entry.dir {
            return None;
        }
        fs.read(&key)
    }

    /// The entries of a directory by absolute path, as the host currently sees it.
    pub fn list_dir(&self, host: usize, state: &HostState, path: &str) -> Option<Vec<DirEntry>> {
        let (fs, key, entry) = self.entry_at(host, state, path)?;
        if !entry.dir {
            return None;
        }
        Some(
            fs.children(&key)
                .into_iter()
                .map(|e| DirEntry {
                    name: e.name,
                    is_dir: e.dir,
                    size: e.size,
                })
                .collect(),
        )
    }

    /// The pids and names of the processes running on a host now.
    pub fn processes(&self, host: usize, state: &HostState) -> Vec<(u32, String)> {
        let Some(ctx) = self.ctx(host) else {
            return Vec::new();
        };
        ctx.procs(state)
            .into_iter()
            .map(|p| (p.pid, p.name.into_owned()))
            .collect()
    }
}
