//! The simulated file systems: one immutable template per platform, shared by every host of that
//! platform, seen through a per-host overlay of changes.
//!
//! A template node's body is either fixed bytes, text with host placeholders (`{hostname}`,
//! `{user}`, `{ip}`, `{domain}`) rendered on read, or a lazily generated body whose seed derives
//! from the host, so 10,000 hosts cost one tree per platform. The user's home directory is the
//! template component `{user}`; lookups map the host's user name onto it. Changes made by commands
//! live in the host's overlay (`HostState`): a created or modified entry, or a tombstone. A
//! directory created or copied into the overlay hides whatever the template had below it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;

use super::Host;
use super::clock;
use super::paths::Flavor;
use crate::content::{Content, GenKind};
use crate::rng::Rng;

/// The template component that stands for the host's primary user.
pub const USER_PLACEHOLDER: &str = "{user}";

/// The body of a template file.
#[derive(Clone, Debug)]
pub enum Body {
    Bytes(Bytes),
    /// Text with host placeholders.
    Text(String),
    /// Generated on demand; the seed derives from the host seed and `salt`.
    Gen {
        kind: GenKind,
        len: u64,
        salt: u64,
    },
}

#[derive(Clone, Debug)]
pub struct TNode {
    /// The name as listed (case preserved).
    pub name: String,
    /// `None` for a directory.
    pub body: Option<Body>,
    /// Display names of the children, sorted for listing.
    pub children: Vec<String>,
    pub mtime: i64,
    pub ctime: i64,
    pub exec: bool,
}

/// One platform's file tree.
#[derive(Debug)]
pub struct Template {
    pub flavor: Flavor,
    nodes: HashMap<String, TNode>,
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Template {
    pub fn new(flavor: Flavor) -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(
            flavor.root_key().to_string(),
            TNode {
                name: if flavor.is_windows() {
                    "C:".into()
                } else {
                    "/".into()
                },
                body: None,
                children: Vec::new(),
                mtime: clock::NOW - 700 * 86_400,
                ctime: clock::NOW - 900 * 86_400,
                exec: false,
            },
        );
        Template { flavor, nodes }
    }

    pub fn node(&self, key: &str) -> Option<&TNode> {
        self.nodes.get(key)
    }

    fn times(path: &str) -> (i64, i64) {
        let mut r = Rng::new(fnv(path));
        let ctime = clock::NOW - 200 * 86_400 - r.below(700 * 86_400) as i64;
        let mtime = ctime + r.below((clock::NOW - ctime).max(1) as u64) as i64;
        (mtime, ctime)
    }

    /// Ensures the directory at display path `path` (and its parents) exists; returns its key.
    pub fn dir(&mut self, path: &str) -> String {
        let f = self.flavor;
        let comps = f.components(path);
        let mut key = f.key_of(&comps[..usize::from(f.is_windows()).min(comps.len())]);
        for c in comps.iter().skip(usize::from(f.is_windows())) {
            let child = f.join_key(&key, c);
            if !self.nodes.contains_key(&child) {
                let (mtime, ctime) = Self::times(&child);
                self.nodes.insert(
                    child.clone(),
                    TNode {
                        name: c.clone(),
                        body: None,
                        children: Vec::new(),
                        mtime,
                        ctime,
                        exec: false,
                    },
                );
                if let Some(parent) = self.nodes.get_mut(&key) {
                    parent.children.push(c.clone());
                }
            }
            key = child;
        }
        key
    }

    /// Adds a file at display path `path`; returns its key.
    pub fn file(&mut self, path: &str, body: Body) -> String {
        let f = self.flavor;
        let mut comps = f.components(path);
        let Some(name) = comps.pop() else {
            return String::new();
        };
        let parent = self.dir(&f.display(&comps));
        let key = f.join_key(&parent, &name);
        let (mtime, ctime) = Self::times(&key);
        let lower = name.to_ascii_lowercase();
        let exec = [".exe", ".dll", ".sys", ".sh", ".app"]
            .iter()
            .any(|e| lower.ends_with(e))
            || comps
                .last()
                .is_some_and(|d| d == "bin" || d == "sbin" || d == "MacOS");
        if self
            .nodes
            .insert(
                key.clone(),
                TNode {
                    name: name.clone(),
                    body: Some(body),
                    children: Vec::new(),
                    mtime,
                    ctime,
                    exec,
                },
            )
            .is_none()
            && let Some(p) = self.nodes.get_mut(&parent)
        {
            p.children.push(name);
        }
        key
    }

    /// Adds a text file with host placeholders.
    pub fn text(&mut self, path: &str, text: &str) -> String {
        self.file(path, Body::Text(text.to_string()))
    }

    /// Adds a generated file whose seed derives from the host and the path.
    pub fn generated(&mut self, path: &str, kind: GenKind, len: u64) -> String {
        let salt = fnv(&path.to_lowercase());
        self.file(path, Body::Gen { kind, len, salt })
    }

    /// Sets a node's modification time to `secs_ago` seconds before now.
    pub fn touch(&mut self, key: &str, secs_ago: i64) {
        if let Some(n) = self.nodes.get_mut(key) {
            n.mtime = clock::NOW - secs_ago;
            n.ctime = n.ctime.min(n.mtime);
        }
    }

    /// Sorts every directory's children (call once after building).
    pub fn finish(&mut self) {
        let fold = self.flavor.folds_case();
        for n in self.nodes.values_mut() {
            if fold {
                n.children.sort_by_key(|c| c.to_lowercase());
            } else {
                n.children.sort();
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
}

/// A change to one path of a host's file system.
#[derive(Clone, Debug)]
pub enum Overlay {
    Removed,
    /// A directory created by a command; the template's entries below it are hidden.
    Dir {
        name: String,
        mtime: i64,
    },
    File {
        name: String,
        content: Content,
        mtime: i64,
    },
}

/// Generated bodies per (host, salt), so that a body's cached SHA-256 survives between reads.
pub type GenCache = Mutex<HashMap<(usize, u64), Content>>;
const GEN_CACHE_CAP: usize = 4096;

/// Who is looking: the host whose placeholders and seeds apply.
#[derive(Clone, Copy)]
pub struct Who<'a> {
    pub index: usize,
    pub host: &'a Host,
    pub user: &'a str,
    pub seed: u64,
}

impl Who<'_> {
    pub fn render(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        let short_domain = self
            .host
            .machine_domain
            .split('.')
            .next()
            .unwrap_or("")
            .to_uppercase();
        text.replace("{hostname}", &self.host.hostname)
            .replace("{hostname_lower}", &self.host.hostname.to_lowercase())
            .replace("{user}", self.user)
            .replace("{ip}", &self.host.local_ip)
            .replace("{domain}", &self.host.machine_domain)
            .replace("{netbios}", &short_domain)
            .replace("{os}", &self.host.os_version)
            .replace("{mac}", &self.host.mac_address)
            .replace("{agent}", &self.host.agent_version)
    }
}

/// What a path is, as the host sees it now.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub name: String,
    pub dir: bool,
    pub size: u64,
    pub mtime: i64,
    pub ctime: i64,
    pub exec: bool,
}

/// A read-only view of one host's file system.
pub struct Fs<'a> {
    pub flavor: Flavor,
    pub tpl: &'a Template,
    pub who: Who<'a>,
    pub overlay: &'a BTreeMap<String, Overlay>,
    pub cache: &'a GenCache,
}

impl<'a> Fs<'a> {
    /// The template key for a host key (the user's home maps to `{user}`).
    fn tkey(&self, key: &str) -> Option<String> {
        let f = self.flavor;
        let sep = f.sep();
        let home: &[&str] = match f.platform {
            rtrsh_command::Platform::Windows => &["c:", "users"],
            rtrsh_command::Platform::Linux => &["", "home"],
            rtrsh_command::Platform::Mac => &["", "users"],
        };
        let parts: Vec<&str> = key.split(sep).collect();
        if parts.contains(&USER_PLACEHOLDER) {
            return None;
        }
        let user = f.fold(self.who.user);
        if parts.len() > home.len() && parts[..home.len()] == *home && parts[home.len()] == user {
            let mut p = parts.clone();
            p[home.len()] = USER_PLACEHOLDER;
            return Some(p.join(&sep.to_string()));
        }
        Some(key.to_string())
    }

    fn tnode(&self, key: &str) -> Option<&'a TNode> {
        self.tpl.node(&self.tkey(key)?)
    }

    fn display_name(&self, name: &str) -> String {
        if name == USER_PLACEHOLDER {
            self.who.user.to_string()
        } else {
            name.to_string()
        }
    }

    /// True when the template's view of `key` is hidden by an overlay ancestor.
    fn masked(&self, key: &str) -> bool {
        let mut k = key;
        while let Some(parent) = self.flavor.parent_key(k) {
            match self.overlay.get(parent) {
                Some(Overlay::Removed | Overlay::Dir { .. } | Overlay::File { .. }) => return true,
                None => {}
            }
            k = parent;
        }
        false
    }

    fn template_content(&self, body: &Body, salt_key: &str) -> Content {
        match body {
            Body::Bytes(b) => Content::bytes(b.clone()),
            Body::Text(t) => Content::text(self.who.render(t)),
            Body::Gen { kind, len, salt } => {
                let _ = salt_key;
                let k = (self.who.index, *salt);
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = cache.get(&k) {
                    return c.clone();
                }
                let seed = Rng::derive(self.who.seed, &[*salt]).next_u64();
                let c = Content::generated(seed, *len, *kind);
                if cache.len() >= GEN_CACHE_CAP {
                    cache.clear();
                }
                cache.insert(k, c.clone());
                c
            }
        }
    }

    fn body_size(&self, body: &Body) -> u64 {
        match body {
            Body::Bytes(b) => b.len() as u64,
            Body::Text(t) => self.who.render(t).len() as u64,
            Body::Gen { len, .. } => *len,
        }
    }

    fn entry_from_tnode(&self, key: &str, n: &TNode) -> Entry {
        Entry {
            key: key.to_string(),
            name: self.display_name(&n.name),
            dir: n.body.is_none(),
            size: n.body.as_ref().map_or(0, |b| self.body_size(b)),
            mtime: n.mtime,
            ctime: n.ctime,
            exec: n.exec,
        }
    }

    fn entry_from_overlay(&self, key: &str, o: &Overlay) -> Option<Entry> {
        match o {
            Overlay::Removed => None,
            Overlay::Dir { name, mtime } => Some(Entry {
                key: key.to_string(),
                name: name.clone(),
                dir: true,
                size: 0,
                mtime: *mtime,
                ctime: *mtime,
                exec: false,
            }),
            Overlay::File {
                name,
                content,
                mtime,
            } => {
                let lower = name.to_ascii_lowercase();
                Some(Entry {
                    key: key.to_string(),
                    name: name.clone(),
                    dir: false,
                    size: content.len(),
                    mtime: *mtime,
                    ctime: *mtime,
                    exec: lower.ends_with(".exe") || lower.ends_with(".sh"),
                })
            }
        }
    }

    /// What is at `key`, if anything.
    pub fn stat(&self, key: &str) -> Option<Entry> {
        if let Some(o) = self.overlay.get(key) {
            return self.entry_from_overlay(key, o);
        }
        if self.masked(key) {
            return None;
        }
        if key == self.flavor.root_key() {
            let n = self.tpl.node(key)?;
            let mut e = self.entry_from_tnode(key, n);
            e.name = String::new();
            return Some(e);
        }
        self.tnode(key).map(|n| self.entry_from_tnode(key, n))
    }

    /// The content of the file at `key` (`None` for a directory or nothing).
    pub fn read(&self, key: &str) -> Option<Content> {
        if let Some(o) = self.overlay.get(key) {
            return match o {
                Overlay::File { content, .. } => Some(content.clone()),
                _ => None,
            };
        }
        if self.masked(key) {
            return None;
        }
        let n = self.tnode(key)?;
        n.body.as_ref().map(|b| self.template_content(b, key))
    }

    /// The entries of the directory at `key`, sorted by name.
    pub fn children(&self, key: &str) -> Vec<Entry> {
        let f = self.flavor;
        let mut out: BTreeMap<String, Entry> = BTreeMap::new();
        let own = self.overlay.get(key);
        let template_visible = own.is_none() && !self.masked(key);
        if template_visible && let Some(n) = self.tnode(key) {
            for c in &n.children {
                let name = self.display_name(c);
                let ck = f.join_key(key, &name);
                let e = match self.overlay.get(&ck) {
                    Some(o) => self.entry_from_overlay(&ck, o),
                    None => self.tnode(&ck).map(|t| self.entry_from_tnode(&ck, t)),
                };
                if let Some(e) = e {
                    out.insert(f.fold(&e.name), e);
                }
            }
        }
        let prefix = if key == "/" {
            "/".to_string()
        } else {
            format!("{key}{}", f.sep())
        };
        for (k, o) in self.overlay.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            if rest.is_empty() || rest.contains(f.sep()) {
                continue;
            }
            match self.entry_from_overlay(k, o) {
                Some(e) => {
                    out.insert(f.fold(&e.name), e);
                }
                None => {
                    out.remove(rest);
                }
            }
        }
        out.into_values().collect()
    }

    /// Walks `comps` from the root; returns the key and the canonical (stored-case) components,
    /// or `None` when some component does not exist (or a non-final one is a file).
    pub fn canonical(&self, comps: &[String]) -> Option<(String, Vec<String>, Entry)> {
        let f = self.flavor;
        let win = f.is_windows();
        let mut canon: Vec<String> = Vec::with_capacity(comps.len());
        let mut key = f.key_of(&comps[..usize::from(win).min(comps.len())]);
        if win {
            canon.push(comps.first()?.clone());
        }
        let mut entry = self.stat(&key)?;
        for c in comps.iter().skip(usize::from(win)) {
            if !entry.dir {
                return None;
            }
            key = f.join_key(&key, c);
            entry = self.stat(&key)?;
            canon.push(entry.name.clone());
        }
        Some((key, canon, entry))
    }

    /// Every entry below `key` (depth first, parents before children), at most `cap` of them.
    pub fn walk(&self, key: &str, cap: usize) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut stack = vec![key.to_string()];
        while let Some(k) = stack.pop() {
            for e in self.children(&k).into_iter().rev() {
                if out.len() >= cap {
                    return out;
                }
                if e.dir {
                    stack.push(e.key.clone());
                }
                out.push(e);
            }
        }
        out
    }
}

/// Removes `key` and everything below it from the host's view.
pub fn remove(overlay: &mut BTreeMap<String, Overlay>, flavor: Flavor, key: &str) {
    drop_below(overlay, flavor, key);
    overlay.insert(key.to_string(), Overlay::Removed);
}

/// Drops overlay entries strictly below `key`.
pub fn drop_below(overlay: &mut BTreeMap<String, Overlay>, flavor: Flavor, key: &str) {
    let prefix = if key == "/" {
        "/".to_string()
    } else {
        format!("{key}{}", flavor.sep())
    };
    let doomed: Vec<String> = overlay
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        overlay.remove(&k);
    }
}
