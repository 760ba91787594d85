//! Parsed results: what a host's output *says*, as records (a process, a connection, a
//! registry value, a file, ...), so that answers from many hosts can be stacked and compared.
//!
//! Host output is hostile and formats differ by platform and sensor version: a parser keeps
//! every line it does not recognise (in [`Parsed::unparsed`]), never drops one, never panics.
//! Values borrow from the output where they can: parsing 10,000 hosts' `ps` copies little.

use std::borrow::Cow;

use crate::command::Platform;

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

/// Parses one host's output of a command of `kind`.
pub fn parse<'a>(kind: Kind, platform: Platform, text: &'a str) -> Parsed<'a> {
    let _ = (kind, platform);
    // Until the per-command parsers land: every line is kept unparsed.
    Parsed {
        records: Vec::new(),
        consumed: Vec::new(),
        unparsed: text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect(),
    }
}
