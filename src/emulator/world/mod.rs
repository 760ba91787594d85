//! The simulated world behind the emulator: hosts, their file systems, processes, network,
//! registry and event logs, and the interpreter that runs RTR commands against them.
//!
//! STUB: the contract is fixed here; the implementation is being written.

use std::collections::HashMap;

use crate::command::Platform;
use crate::emulator::content::Content;

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
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            seed: 1,
            hosts: 25,
            offline_share: 0.1,
            hostile_host: true,
            child_cids: 0,
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
/// Created lazily, the first time a command changes something.
#[derive(Clone, Debug, Default)]
pub struct HostState {}

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
}

/// A command the API refuses before running it (HTTP 400 with this RTR code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: u32,
    pub message: String,
}

/// The cloud-side libraries the host can pull from (`put`, `runscript -CloudFile`).
pub trait CloudLibrary {
    fn put_file(&self, name: &str) -> Option<Content>;
    fn script(&self, name: &str) -> Option<String>;
}

pub struct World {
    pub cid: String,
    pub child_cids: Vec<String>,
    hosts: Vec<Host>,
    by_aid: HashMap<String, usize>,
}

impl World {
    pub fn new(cfg: &WorldConfig) -> World {
        let mut rng = crate::rng::Rng::new(cfg.seed);
        let cid = rng.hex32();
        let hosts: Vec<Host> = (0..cfg.hosts)
            .map(|i| Host {
                aid: rng.hex32(),
                cid: cid.clone(),
                hostname: if i == 0 {
                    "DESKTOP-01".into()
                } else {
                    format!("WS-{i:04}")
                },
                platform: Platform::Windows,
                os_version: "Windows 11".into(),
                agent_version: "7.10.17706.0".into(),
                local_ip: format!("10.0.{}.{}", i / 250, i % 250 + 2),
                external_ip: "198.51.100.7".into(),
                mac_address: "00-11-22-33-44-55".into(),
                product_type_desc: "Workstation".into(),
                machine_domain: "corp.example.com".into(),
                system_manufacturer: "Dell Inc.".into(),
                first_seen: "2025-02-01T08:00:00Z".into(),
                last_seen: "2026-11-22T10:15:03Z".into(),
                tags: vec![],
                online: true,
                hostile: false,
            })
            .collect();
        let by_aid = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.aid.clone(), i))
            .collect();
        World {
            cid,
            child_cids: vec![],
            hosts,
            by_aid,
        }
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn index_of(&self, aid: &str) -> Option<usize> {
        self.by_aid.get(aid).copied()
    }

    /// The directory a new session starts in.
    pub fn initial_cwd(&self, host: usize) -> String {
        match self.hosts[host].platform {
            Platform::Windows => "C:\\".into(),
            _ => "/".into(),
        }
    }

    /// Runs one command line on a host. `cwd` is the session's directory (changed by `cd`).
    pub fn execute(
        &self,
        _host: usize,
        _state: &mut HostState,
        cwd: &mut String,
        base_command: &str,
        _command_string: &str,
        _library: &dyn CloudLibrary,
    ) -> Result<Execution, Rejection> {
        let stdout = match base_command {
            "pwd" => Content::text(cwd.clone()),
            _ => Content::empty(),
        };
        Ok(Execution {
            stdout,
            stderr: String::new(),
            uploaded: None,
        })
    }

    /// The content of a file by absolute path, as the host currently sees it.
    pub fn read_file(&self, _host: usize, _state: &HostState, _path: &str) -> Option<Content> {
        None
    }
}
