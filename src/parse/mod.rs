//! Parsed results: what a host's output *says*, as records (a process, a connection, a
//! registry value, a file, ...), so that answers from many hosts can be stacked and compared.
//!
//! Host output is hostile and formats differ by platform and sensor version: a parser keeps
//! every line it does not recognise (in [`Parsed::unparsed`]), never drops one, never panics.
//! Values borrow from the output where they can: parsing 10,000 hosts' `ps` copies little.

use std::borrow::Cow;

use rtrsh_command::Platform;

/// The commands whose output is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Ps,
    Netstat,
    RegQuery,
    Ls,
    Filehash,
    Env,
    EventlogView,
    /// `runscript` whose output is CSV (a header row) or JSON (objects): its own fields.
    Runscript,
}

impl Kind {
    /// The kind of a command line's output (its words as tokenised), if it is parsed:
    /// `ps`, `netstat`, `reg query KEY`, `ls`, `filehash`, `env`, `eventlog view`, `runscript`.
    pub fn of(words: &[String]) -> Option<Kind> {
        let base = words.first()?.to_ascii_lowercase();
        let sub = words.get(1).map(|w| w.to_ascii_lowercase());
        Some(match (base.as_str(), sub.as_deref()) {
            ("ps", _) => Kind::Ps,
            ("netstat", Some(s)) if s.starts_with('-') => return None,
            ("netstat", _) => Kind::Netstat,
            ("reg", Some("query")) => Kind::RegQuery,
            ("ls" | "dir", _) => Kind::Ls,
            ("filehash", _) => Kind::Filehash,
            ("env", _) => Kind::Env,
            ("eventlog", Some("view")) => Kind::EventlogView,
            ("runscript", _) => Kind::Runscript,
            _ => return None,
        })
    }

    /// Its name, as typed.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ps => "ps",
            Kind::Netstat => "netstat",
            Kind::RegQuery => "reg query",
            Kind::Ls => "ls",
            Kind::Filehash => "filehash",
            Kind::Env => "env",
            Kind::EventlogView => "eventlog view",
            Kind::Runscript => "runscript",
        }
    }

    /// The fields its records may have, the most useful for stacking first (`runscript`:
    /// none known in advance; its records carry the names of its CSV header or JSON keys).
    /// Records also keep the output's other columns, after these, under their header's name
    /// normalised (`WorkingSet(Kb)` → `workingset_kb`).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Ps => &["name", "path", "user", "pid", "ppid", "start"],
            Kind::Netstat => &[
                "remote_ip",
                "remote",
                "local_port",
                "local",
                "state",
                "proto",
                "pid",
                "remote_port",
                "process",
            ],
            Kind::RegQuery => &["value", "name", "key", "type", "subkey"],
            Kind::Ls => &["name", "path", "type", "size", "modified", "created"],
            Kind::Filehash => &["sha256", "md5", "sha1", "path"],
            Kind::Env => &["name", "value"],
            Kind::EventlogView => &["source", "id", "type", "message", "time", "index"],
            Kind::Runscript => &[],
        }
    }
}

/// One item of a host's output: fields in the order of [`Kind::fields`] (absent ones missing),
/// values trimmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record<'a> {
    /// The 0-based line of the output the record comes from (its first line).
    pub line: usize,
    pub fields: Vec<(Cow<'static, str>, Cow<'a, str>)>,
}

impl Record<'_> {
    /// The value of `field` (its name compared ignoring ASCII case).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_ref())
    }
}

/// A host's output, parsed. Every non-blank line is accounted for exactly once: the line of a
/// record, a line of structure (`consumed`: headers, rules, a registry key, JSON syntax), or
/// kept as it is in `unparsed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub records: Vec<Record<'a>>,
    /// Lines of structure (0-based), in order.
    pub consumed: Vec<usize>,
    /// Lines not understood (0-based line, text), in order.
    pub unparsed: Vec<(usize, &'a str)>,
}

mod filehash;
mod netstat;
mod ps;
mod reg;
mod runscript;
mod simple;
mod table;
#[cfg(test)]
mod tests;

/// Parses one host's output of a command of `kind`.
///
/// The format is recognised from the text itself (a header, a rule, `NAME=value`, JSON, ...),
/// `platform` only breaking ties: a host's platform can be mislabelled, its output cannot.
pub fn parse<'a>(kind: Kind, platform: Platform, text: &'a str) -> Parsed<'a> {
    let lines: Vec<(usize, &'a str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let mut acc = Acc::default();
    match kind {
        Kind::Ps => ps::parse(&mut acc, &lines, platform),
        Kind::Netstat => netstat::parse(&mut acc, &lines, platform),
        Kind::RegQuery => reg::parse(&mut acc, &lines),
        Kind::Ls => simple::ls(&mut acc, &lines, platform),
        Kind::Filehash => filehash::parse(&mut acc, &lines),
        Kind::Env => simple::env(&mut acc, &lines),
        Kind::EventlogView => simple::eventlog(&mut acc, &lines),
        Kind::Runscript => runscript::parse(&mut acc, text, &lines),
    }
    acc.finish(kind)
}

/// Collects what each line became; [`Acc::finish`] puts records, consumed and unparsed lines in
/// line order whatever order the parser found them in (a table's misaligned rows come last).
#[derive(Default)]
pub(crate) struct Acc<'a> {
    records: Vec<Record<'a>>,
    consumed: Vec<usize>,
    unparsed: Vec<(usize, &'a str)>,
}

type Field<'a> = (Cow<'static, str>, Cow<'a, str>);

impl<'a> Acc<'a> {
    /// A record; its values trimmed here whatever the parser cut (a base name after a `/`
    /// can start with a space as well as any value can).
    fn record(&mut self, line: usize, mut fields: Vec<Field<'a>>) {
        for (_, v) in &mut fields {
            match v {
                Cow::Borrowed(b) => *b = b.trim(),
                Cow::Owned(o) if o.trim().len() != o.len() => *o = o.trim().to_string(),
                Cow::Owned(_) => {}
            }
        }
        self.records.push(Record { line, fields });
    }

    fn consume(&mut self, line: usize) {
        self.consumed.push(line);
    }

    fn unparsed(&mut self, line: usize, text: &'a str) {
        self.unparsed.push((line, text));
    }

    /// Every line of `lines` unparsed (an output not of the expected form).
    fn all_unparsed(&mut self, lines: &[(usize, &'a str)]) {
        self.unparsed.extend_from_slice(lines);
    }

    fn finish(mut self, kind: Kind) -> Parsed<'a> {
        let known = kind.fields();
        let rank = |k: &str| known.iter().position(|f| *f == k).unwrap_or(known.len());
        // The rows of a table have the same field names (the same static strings): their order
        // is worked out once (`None`: already in order).
        let mut names: Vec<(usize, usize)> = Vec::new();
        let mut order: Option<Vec<usize>> = None;
        for r in &mut self.records {
            let same = r.fields.len() == names.len()
                && r.fields.iter().zip(&names).all(|((k, _), &(p, l))| {
                    matches!(k, Cow::Borrowed(_)) && k.as_ptr() as usize == p && k.len() == l
                });
            if !same {
                names = r
                    .fields
                    .iter()
                    .map(|(k, _)| (k.as_ptr() as usize, k.len()))
                    .collect();
                let ranks: Vec<usize> = r.fields.iter().map(|(k, _)| rank(k)).collect();
                order = (!ranks.is_sorted()).then(|| {
                    let mut idx: Vec<usize> = (0..ranks.len()).collect();
                    // Stable: extra fields keep the order of their columns after the known ones.
                    idx.sort_by_key(|&i| ranks[i]);
                    idx
                });
            }
            if let Some(idx) = &order {
                let mut old: Vec<Option<Field<'a>>> = std::mem::take(&mut r.fields)
                    .into_iter()
                    .map(Some)
                    .collect();
                r.fields = idx.iter().filter_map(|&i| old[i].take()).collect();
            }
        }
        self.records.sort_by_key(|r| r.line);
        self.consumed.sort_unstable();
        self.consumed.dedup();
        self.unparsed.sort_by_key(|(i, _)| *i);
        Parsed {
            records: self.records,
            consumed: self.consumed,
            unparsed: self.unparsed,
        }
    }
}

/// The usual extra columns, named without allocating for each record.
const EXTRAS: [&str; 30] = [
    "user_time",
    "kernel_time",
    "workingset_kb",
    "virtualmem_kb",
    "rss_kb",
    "vsz_kb",
    "time",
    "cpu",
    "mem",
    "vsz",
    "rss",
    "tty",
    "stat",
    "c",
    "recv_q",
    "send_q",
    "handles",
    "npm_k",
    "pm_k",
    "ws_k",
    "cpu_s",
    "si",
    "size_mb",
    "mode",
    "fd",
    "type",
    "device",
    "size_off",
    "user",
    "column",
];

/// A column's field name: static when usual.
pub(crate) fn key(normalised: &str) -> Cow<'static, str> {
    match EXTRAS.iter().find(|e| **e == normalised) {
        Some(e) => Cow::Borrowed(e),
        None => Cow::Owned(normalised.to_string()),
    }
}

/// A header's name as a field name: lower-case, runs of non-alphanumerics as one `_`, none at
/// either end (`WorkingSet(Kb)` → `workingset_kb`, `Start Time (UTC)` → `start_time_utc`);
/// `column` for a header of no letters or digits.
pub(crate) fn normalise(h: &str) -> String {
    let s = normalise_(h);
    if s.is_empty() { "column".into() } else { s }
}

fn normalise_(h: &str) -> String {
    let mut s = String::with_capacity(h.len());
    let mut gap = false;
    for c in h.chars() {
        if c.is_alphanumeric() {
            if gap && !s.is_empty() {
                s.push('_');
            }
            gap = false;
            s.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    s
}

/// A value lower-cased, borrowed when it already is (and static for the common protocols and
/// types, so that 10,000 hosts' `TCP` do not allocate).
pub(crate) fn lower(v: &str) -> Cow<'_, str> {
    const COMMON: [&str; 10] = [
        "tcp",
        "udp",
        "tcp4",
        "tcp6",
        "udp4",
        "udp6",
        "tcp46",
        "udp46",
        "file",
        "directory",
    ];
    if let Some(c) = COMMON.iter().find(|c| c.eq_ignore_ascii_case(v)) {
        return Cow::Borrowed(c);
    }
    if v.chars().any(char::is_uppercase) {
        Cow::Owned(v.to_lowercase())
    } else {
        Cow::Borrowed(v)
    }
}

/// A field from a static name.
pub(crate) fn f<'a>(name: &'static str, v: impl Into<Cow<'a, str>>) -> Field<'a> {
    (Cow::Borrowed(name), v.into())
}
