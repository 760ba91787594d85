//! Parsed results, kept for reading many hosts' answers at once: `stack FIELD` (least frequency
//! of occurrence: the value seen on 3 hosts of 500 is the one to look at), `diff HOST_A HOST_B`
//! (known-good against suspect) and `results` (what is kept).
//!
//! The output of a command whose format is known ([`crate::parse::Kind`]) is parsed as it
//! arrives, one host at a time, and only the records are kept, not the text: values are
//! interned (a process name seen on 10,000 hosts is stored once), identical outputs (a fleet
//! groups them) are parsed once and shared, and a record is a few integers. The last
//! [`KEEP`] results are kept within [`BUDGET`] bytes; older ones are dropped first.
//!
//! One host and many go through the same code: the single-host shell hands its host's output
//! in at the end of the command, the fleet each host's output as its batch returns.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::parse::{self, Kind};
use rtrsh_command::Platform;

/// How many results are kept (the oldest goes first).
pub const KEEP: usize = 32;
/// About how many bytes the kept results may take (the oldest go first; the newest stays).
pub const BUDGET: usize = 256 << 20;
/// How much of one host's output is parsed (beyond it, the rest is left out and said so).
pub const MAX_OUTPUT: usize = 64 << 20;

/// FNV-1a: interning hashes hundreds of thousands of short strings that come from our own
/// parser, not from an attacker able to choose collisions by the million (a flood of them only
/// slows one `stack`), so a quick hash beats SipHash here.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Strings stored once each.
#[derive(Default)]
struct Strings {
    ids: FnvMap<Arc<str>, u32>,
    all: Vec<Arc<str>>,
    bytes: usize,
}

impl Strings {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.all.len()).unwrap_or(u32::MAX);
        let a: Arc<str> = Arc::from(s);
        self.bytes += s.len() + 64;
        self.ids.insert(a.clone(), id);
        self.all.push(a);
        id
    }

    fn get(&self, id: u32) -> &str {
        self.all.get(id as usize).map_or("", |s| s)
    }
}

/// One output's records: `(field, value)` pairs, record after record.
#[derive(Default)]
struct Records {
    cells: Vec<(u32, u32)>,
    /// Where each record's cells end.
    ends: Vec<u32>,
    /// Lines the parser did not understand (they are in the output, not here).
    unparsed: u32,
    /// The output was longer than [`MAX_OUTPUT`]: only its start was parsed.
    cut: bool,
}

impl Records {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn record(&self, i: usize) -> &[(u32, u32)] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.cells[start..self.ends[i] as usize]
    }

    fn bytes(&self) -> usize {
        self.cells.len() * 8 + self.ends.len() * 4 + 64
    }
}

/// One host's part of a result.
struct HostResult {
    name: String,
    aid: String,
    records: Arc<Records>,
}

/// The parsed results of one command.
pub struct Kept {
    /// `#N` in `results`, `stack FIELD #N`.
    pub no: usize,
    pub line: String,
    pub kind: Kind,
    strings: Strings,
    /// Field names as first seen (`runscript` keeps its CSV header's case).
    fields: Vec<String>,
    hosts: Vec<HostResult>,
    bytes: usize,
}

impl Kept {
    /// How many hosts gave output.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// About how many bytes the records and their strings take.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many records all hosts gave.
    pub fn records(&self) -> usize {
        self.hosts.iter().map(|h| h.records.len()).sum()
    }

    fn field_id(&self, name: &str) -> Option<u32> {
        self.fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
            .map(|i| i as u32)
    }

    /// The fields a `stack` or `diff` can use: the kind's, then any other the records have.
    pub fn field_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .kind
            .fields()
            .iter()
            .filter(|f| self.field_id(f).is_some())
            .map(|f| f.to_string())
            .collect();
        for f in &self.fields {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(f)) {
                out.push(f.clone());
            }
        }
        out
    }

    fn no_field(&self, field: &str) -> String {
        let names = self.field_names();
        if names.is_empty() {
            format!(
                "no records in the results of `{}` (#{}): its output was not understood",
                self.line, self.no
            )
        } else {
            format!(
                "no field `{field}` in the results of `{}` (#{}); its fields: {}",
                self.line,
                self.no,
                names.join(", ")
            )
        }
    }

    /// Lines not understood, and on how many hosts.
    fn unparsed(&self) -> (usize, usize) {
        let mut lines = 0;
        let mut hosts = 0;
        for h in &self.hosts {
            if h.records.unparsed > 0 {
                lines += h.records.unparsed as usize;
                hosts += 1;
            }
        }
        (lines, hosts)
    }
}

/// Fields not kept: their values differ on every host by nature (when a process started, a
/// log record's number), so there is nothing to stack, and interning them would cost more than
/// all the rest (about half the memory of a 10,000-host `ps`).
fn unique_per_host(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Ps => &["start"],
        Kind::EventlogView => &["index"],
        _ => &[],
    }
}

/// Collects one command's results as they arrive.
pub struct Collect {
    kept: Kept,
    /// Identical outputs (a fleet's groups, by their SHA-256) are parsed once.
    shared: HashMap<[u8; 32], Arc<Records>>,
}

impl Collect {
    /// The kind of output collected.
    pub fn kind(&self) -> Kind {
        self.kept.kind
    }

    /// Takes in one host's output. `key`: a digest of the output when the caller has one
    /// (identical outputs then share their records).
    pub fn add(
        &mut self,
        name: &str,
        aid: &str,
        platform: Option<Platform>,
        key: Option<[u8; 32]>,
        stdout: &str,
    ) {
        if let Some(r) = key.and_then(|k| self.shared.get(&k)) {
            let records = r.clone();
            self.kept.hosts.push(HostResult {
                name: name.to_string(),
                aid: aid.to_string(),
                records,
            });
            return;
        }
        let (text, cut) = if stdout.len() > MAX_OUTPUT {
            let mut end = MAX_OUTPUT;
            while !stdout.is_char_boundary(end) {
                end -= 1;
            }
            (&stdout[..end], true)
        } else {
            (stdout, false)
        };
        let parsed = parse::parse(self.kept.kind, platform.unwrap_or(Platform::Windows), text);
        let mut records = Records {
            cells: Vec::with_capacity(parsed.records.len() * 6),
            ends: Vec::with_capacity(parsed.records.len()),
            unparsed: u32::try_from(parsed.unparsed.len()).unwrap_or(u32::MAX),
            cut,
        };
        // Runscript's fields are its own; the others keep the fields analysts stack and compare
        // (a working set or a CPU time differs on every host: kept, they would cost memory
        // for nothing to count).
        let known = self.kept.kind.fields();
        let unique = unique_per_host(self.kept.kind);
        for r in &parsed.records {
            for (f, v) in &r.fields {
                if !known.is_empty() && !known.iter().any(|k| k.eq_ignore_ascii_case(f))
                    || unique.iter().any(|k| k.eq_ignore_ascii_case(f))
                {
                    continue;
                }
                let fid = match self.kept.field_id(f) {
                    Some(id) => id,
                    None => {
                        self.kept.fields.push(f.to_string());
                        (self.kept.fields.len() - 1) as u32
                    }
                };
                records.cells.push((fid, self.kept.strings.id(v)));
            }
            // A listening socket's port: what `stack listen_port netstat` counts (the local
            // port of every connection would bury it under ephemeral ports).
            if self.kept.kind == Kind::Netstat
                && r.get("state")
                    .is_some_and(|s| s.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("listen")))
                && let Some(port) = r.get("local_port")
            {
                let fid = match self.kept.field_id("listen_port") {
                    Some(id) => id,
                    None => {
                        self.kept.fields.push("listen_port".into());
                        (self.kept.fields.len() - 1) as u32
                    }
                };
                records.cells.push((fid, self.kept.strings.id(port)));
            }
            records
                .ends
                .push(u32::try_from(records.cells.len()).unwrap_or(u32::MAX));
        }
        records.cells.shrink_to_fit();
        records.ends.shrink_to_fit();
        self.kept.bytes += records.bytes() + name.len() + aid.len() + 64;
        let records = Arc::new(records);
        if let Some(k) = key {
            self.shared.insert(k, records.clone());
        }
        self.kept.hosts.push(HostResult {
            name: name.to_string(),
            aid: aid.to_string(),
            records,
        });
    }
}

/// `--json`: a host's output of a command whose output is parsed, as
/// `{"kind": "ps", "records": [{"name": ..., ...}], "unparsed_lines": N}` (every field, in the
/// parser's order; `unparsed_lines` counts the lines not understood, which are in `stdout`).
pub fn parsed_json(kind: Kind, platform: Option<Platform>, stdout: &str) -> serde_json::Value {
    let text = if stdout.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !stdout.is_char_boundary(end) {
            end -= 1;
        }
        &stdout[..end]
    } else {
        stdout
    };
    let parsed = parse::parse(kind, platform.unwrap_or(Platform::Windows), text);
    let records: Vec<serde_json::Value> = parsed
        .records
        .iter()
        .map(|r| {
            serde_json::Value::Object(
                r.fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                    .collect(),
            )
        })
        .collect();
    serde_json::json!({
        "kind": kind.name(),
        "records": records,
        "unparsed_lines": parsed.unparsed.len(),
    })
}

/// The kept results of a shell.
pub struct Results {
    kept: VecDeque<Kept>,
    next: usize,
    budget: usize,
    /// The newest result's fields, for TAB after `stack`.
    fields: crate::shell::complete::StackFields,
}

impl Default for Results {
    fn default() -> Self {
        Results {
            kept: VecDeque::new(),
            next: 1,
            budget: BUDGET,
            fields: Default::default(),
        }
    }
}

impl Results {
    /// A collector for a command line, when its output is parsed.
    pub fn start(&mut self, line: &str, words: &[String]) -> Option<Collect> {
        let kind = Kind::of(words)?;
        Some(Collect {
            kept: Kept {
                // Numbered when kept (a command nobody answered takes no number).
                no: 0,
                line: line.to_string(),
                kind,
                strings: Strings::default(),
                fields: Vec::new(),
                hosts: Vec::new(),
                bytes: 0,
            },
            shared: HashMap::new(),
        })
    }

    /// Keeps what was collected (nothing when no host answered), dropping the oldest results
    /// beyond [`KEEP`] or the budget.
    pub fn finish(&mut self, c: Collect) {
        let mut kept = c.kept;
        if kept.hosts.is_empty() {
            return;
        }
        kept.no = self.next;
        self.next += 1;
        if let Ok(mut f) = self.fields.lock() {
            *f = kept.field_names();
        }
        kept.bytes += kept.strings.bytes;
        kept.strings.ids.shrink_to_fit();
        self.kept.push_back(kept);
        while self.kept.len() > KEEP
            || (self.kept.len() > 1
                && self.kept.iter().map(|k| k.bytes).sum::<usize>() > self.budget)
        {
            self.kept.pop_front();
        }
    }

    /// `#N`, or the newest.
    pub fn get(&self, no: Option<usize>) -> Result<&Kept, String> {
        match no {
            None => self.kept.back().ok_or_else(|| {
                "no results to read yet: run ps, netstat, reg query, ls, filehash, env, eventlog view or runscript first (or `stack FIELD CMD`)".to_string()
            }),
            Some(n) => self.kept.iter().find(|k| k.no == n).ok_or_else(|| {
                let have: Vec<String> = self.kept.iter().map(|k| format!("#{}", k.no)).collect();
                if have.is_empty() {
                    format!("no result #{n}: nothing is kept yet")
                } else {
                    format!("no result #{n}; kept: {} (see `results`)", have.join(" "))
                }
            }),
        }
    }

    /// Every kept result, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Kept> {
        self.kept.iter()
    }

    /// The newest result's field names, kept up to date (TAB after `stack`).
    pub fn fields(&self) -> crate::shell::complete::StackFields {
        self.fields.clone()
    }
}

/// One value of a stacked field and the hosts that have it.
pub struct StackRow {
    pub value: String,
    /// Indexes into the result's hosts, in their order.
    hosts: Vec<u32>,
}

/// `stack FIELD`: each value of the field and on how many hosts, the rarest first.
pub struct Stack<'k> {
    pub kept: &'k Kept,
    pub field: String,
    pub rows: Vec<StackRow>,
    /// Hosts whose records have no such field (or no records).
    pub without: usize,
}

impl StackRow {
    pub fn count(&self) -> usize {
        self.hosts.len()
    }
}

impl<'k> Stack<'k> {
    /// The names of the hosts of a row.
    pub fn host_names<'r>(&self, row: &'r StackRow) -> impl Iterator<Item = &'k str> + use<'k, 'r> {
        let kept = self.kept;
        row.hosts
            .iter()
            .map(move |&h| kept.hosts[h as usize].name.as_str())
    }

    /// The aids of the hosts of a row.
    pub fn host_aids<'r>(&self, row: &'r StackRow) -> impl Iterator<Item = &'k str> + use<'k, 'r> {
        let kept = self.kept;
        row.hosts
            .iter()
            .map(move |&h| kept.hosts[h as usize].aid.as_str())
    }
}

/// Counts each value of `field` across the hosts of `kept` (a host counts once per value).
pub fn stack<'k>(kept: &'k Kept, field: &str) -> Result<Stack<'k>, String> {
    let fid = kept.field_id(field).ok_or_else(|| kept.no_field(field))?;
    // The distinct values of one output, worked out once per distinct output.
    let mut per_output: HashMap<*const Records, Vec<u32>> = HashMap::new();
    let mut by_value: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut without = 0;
    for (hi, h) in kept.hosts.iter().enumerate() {
        let values = per_output
            .entry(Arc::as_ptr(&h.records))
            .or_insert_with(|| {
                let mut v: Vec<u32> = h
                    .records
                    .cells
                    .iter()
                    .filter(|(f, _)| *f == fid)
                    .map(|(_, v)| *v)
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            });
        if values.is_empty() {
            without += 1;
        }
        for &v in values.iter() {
            by_value.entry(v).or_default().push(hi as u32);
        }
    }
    let mut rows: Vec<StackRow> = by_value
        .into_iter()
        .map(|(v, hosts)| StackRow {
            value: kept.strings.get(v).to_string(),
            hosts,
        })
        .collect();
    rows.sort_by(|a, b| {
        a.hosts
            .len()
            .cmp(&b.hosts.len())
            .then_with(|| a.value.cmp(&b.value))
    });
    let name = kept.fields[fid as usize].clone();
    Ok(Stack {
        kept,
        field: name,
        rows,
        without,
    })
}

/// The fields that make two records "the same thing" when comparing hosts: what an analyst
/// compares, not what differs on every machine anyway (a pid, a start time, an ephemeral port).
fn identity(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Ps => &["name", "path"],
        Kind::Netstat => &["proto", "state", "listen_port", "remote_ip", "remote_port"],
        Kind::RegQuery => &["key", "name", "type", "value", "subkey"],
        Kind::Ls => &["name", "type", "size"],
        Kind::Filehash => &["path", "sha256", "md5"],
        Kind::Env => &["name", "value"],
        Kind::EventlogView => &["source", "id", "type", "message"],
        Kind::Runscript => &[],
    }
}

/// One record as `field=value` pairs (the identity fields, or every field).
fn describe(kept: &Kept, record: &[(u32, u32)], only: &[&str]) -> String {
    let mut parts = Vec::new();
    let listening = kept.kind == Kind::Netstat
        && record.iter().any(|(f, v)| {
            kept.fields[*f as usize].eq_ignore_ascii_case("state") && {
                let s = kept.strings.get(*v).to_ascii_uppercase();
                s.starts_with("LISTEN")
            }
        });
    let wanted: Vec<&str> = if only.is_empty() {
        kept.fields.iter().map(String::as_str).collect()
    } else {
        only.to_vec()
    };
    for w in wanted {
        // A listening socket is its local port; a connection is where it goes.
        let w = match (kept.kind, w) {
            (Kind::Netstat, "listen_port") if listening => "local_port",
            (Kind::Netstat, "listen_port") => continue,
            (Kind::Netstat, "remote_ip" | "remote_port") if listening => continue,
            _ => w,
        };
        if let Some((f, v)) = record
            .iter()
            .find(|(f, _)| kept.fields[*f as usize].eq_ignore_ascii_case(w))
        {
            parts.push(format!(
                "{}={}",
                kept.fields[*f as usize],
                kept.strings.get(*v)
            ));
        }
    }
    parts.join("  ")
}

/// `diff A B`: what one host has that the other does not.
pub struct Diff {
    pub a: String,
    pub b: String,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
    pub common: usize,
}

/// Finds a host of `kept` by name (ignoring case) or aid (a prefix of 6 or more).
fn host<'k>(kept: &'k Kept, name: &str) -> Result<&'k HostResult, String> {
    let lower = name.to_ascii_lowercase();
    let found: Vec<&HostResult> = kept
        .hosts
        .iter()
        .filter(|h| {
            h.name.eq_ignore_ascii_case(name) || (lower.len() >= 6 && h.aid.starts_with(&lower))
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "`{}` has no results in `{}` (#{}): {} hosts answered it (see `results`)",
            crate::output::sanitize::sanitize_line(name),
            kept.line,
            kept.no,
            kept.hosts.len()
        )),
        _ => Err(format!(
            "`{}` names {} hosts; give its aid instead",
            crate::output::sanitize::sanitize_line(name),
            found.len()
        )),
    }
}

/// Compares the records of two hosts in `kept`.
pub fn diff(kept: &Kept, a: &str, b: &str) -> Result<Diff, String> {
    let ha = host(kept, a)?;
    let hb = host(kept, b)?;
    let only = identity(kept.kind);
    let set = |h: &HostResult| -> Vec<String> {
        let mut seen = HashSet::new();
        (0..h.records.len())
            .map(|i| describe(kept, h.records.record(i), only))
            .filter(|d| !d.is_empty() && seen.insert(d.clone()))
            .collect()
    };
    let sa = set(ha);
    let sb = set(hb);
    let in_b: HashSet<&String> = sb.iter().collect();
    let in_a: HashSet<&String> = sa.iter().collect();
    let only_a: Vec<String> = sa.iter().filter(|d| !in_b.contains(d)).cloned().collect();
    let only_b: Vec<String> = sb.iter().filter(|d| !in_a.contains(d)).cloned().collect();
    let common = sa.len() - only_a.len();
    Ok(Diff {
        a: ha.name.clone(),
        b: hb.name.clone(),
        only_a,
        only_b,
        common,
    })
}

/// The `results` listing: number, command, hosts, records, lines not understood.
pub fn summary(k: &Kept) -> (usize, String, usize, usize, usize, bool) {
    let (unparsed, _, cut) = notes(k);
    (k.no, k.line.clone(), k.hosts(), k.records(), unparsed, cut)
}

/// Lines not understood and on how many hosts; whether an output was cut.
pub fn notes(k: &Kept) -> (usize, usize, bool) {
    let (l, h) = k.unparsed();
    (l, h, k.hosts.iter().any(|h| h.records.cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn strings_are_stored_once() {
        let mut s = Strings::default();
        let a = s.id("svchost.exe");
        let b = s.id("lsass.exe");
        assert_eq!(s.id("svchost.exe"), a);
        assert_ne!(a, b);
        assert_eq!(s.get(b), "lsass.exe");
        assert_eq!(s.all.len(), 2);
    }

    #[test]
    fn only_known_commands_are_collected_and_empty_results_are_not_kept() {
        let mut r = Results::default();
        assert!(r.start("pwd", &words("pwd")).is_none());
        let c = r.start("ps", &words("ps")).expect("ps is parsed");
        r.finish(c);
        assert!(r.get(None).is_err(), "no host answered: nothing kept");
    }

    #[test]
    fn the_oldest_results_go_first() {
        let mut r = Results::default();
        for _ in 0..KEEP + 3 {
            let mut c = r.start("env", &words("env")).expect("env");
            c.add("H", "aid", Some(Platform::Linux), None, "A=1\n");
            r.finish(c);
        }
        assert_eq!(r.all().count(), KEEP);
        assert!(r.get(Some(1)).is_err());
        assert_eq!(r.get(None).map(|k| k.no).ok(), Some(KEEP + 3));
    }
}
