//! `ls`, `env` and `eventlog view`.

use std::borrow::Cow;

use super::table::{self, Col};
use super::{Acc, Field, f, lower, normalise};
use rtrsh_command::Platform;

// --- ls ---------------------------------------------------------------------------------------

/// The directory a listing's header names: the sensor's `Directory listing for C:\X -`,
/// PowerShell's `    Directory: C:\X`, `ls -R`'s `/etc:`.
fn dir_header(line: &str) -> Option<&str> {
    let t = line.trim();
    if let Some(d) = t.strip_prefix("Directory listing for ") {
        return Some(d.strip_suffix('-').unwrap_or(d).trim_end());
    }
    if let Some(d) = t.strip_prefix("Directory:") {
        return Some(d.trim());
    }
    t.strip_suffix(':')
        .filter(|d| d.starts_with(['/', '.', '~']) && !line.starts_with(char::is_whitespace))
}

/// A Windows listing's table header: `Name` and `Type` (the sensor) or `Mode` (PowerShell).
fn is_table_header(line: &str) -> bool {
    let mut name = false;
    let mut other = false;
    for w in line.split_whitespace() {
        name |= w.eq_ignore_ascii_case("name");
        other |= ["type", "mode", "length"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k));
    }
    name && other
}

fn join<'a>(dir: Option<&str>, name: &'a str, sep: char) -> Option<Cow<'a, str>> {
    let d = dir?;
    let mut p = String::with_capacity(d.len() + name.len() + 1);
    p.push_str(d);
    if !d.ends_with(sep) {
        p.push(sep);
    }
    p.push_str(name);
    Some(Cow::Owned(p))
}

pub(crate) fn ls<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)], platform: Platform) {
    let windows = lines.iter().any(|(_, l)| is_table_header(l));
    if windows {
        ls_tables(acc, lines);
        return;
    }
    let long = lines.iter().any(|(_, l)| long_row(l).is_some());
    let mut dir: Option<&'a str> = None;
    for &(i, l) in lines {
        if let Some(d) = dir_header(l) {
            dir = Some(d);
            acc.consume(i);
            continue;
        }
        let t = l.trim();
        if long && t.starts_with("total ") && t[6..].trim().bytes().all(|b| b.is_ascii_digit()) {
            acc.consume(i);
            continue;
        }
        if t.starts_with("ls: ") || (!long && platform == Platform::Windows) {
            acc.unparsed(i, l);
            continue;
        }
        let fields = if long {
            long_row(l).map(|r| r.fields(dir))
        } else {
            Some(named(t, dir, Vec::with_capacity(2)))
        };
        match fields {
            Some(fs) => acc.record(i, fs),
            None => acc.unparsed(i, l),
        }
    }
}

/// `name` and `path` from a name as listed (a full path when `ls` was given one file).
fn named<'a>(name: &'a str, dir: Option<&str>, mut fields: Vec<Field<'a>>) -> Vec<Field<'a>> {
    match join(dir, name, '/') {
        Some(p) => {
            fields.push(f("name", name));
            fields.push(f("path", p));
        }
        None if name.starts_with('/') && name.len() > 1 => {
            let base = name
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(name);
            let base = Some(base.trim()).filter(|b| !b.is_empty()).unwrap_or(name);
            fields.push(f("name", base));
            fields.push(f("path", name));
        }
        None => fields.push(f("name", name)),
    }
    fields
}

/// A row of `ls -l`: `drwxr-xr-x  2 root root  4096 Jun 15 06:13 ssh`.
struct LongRow<'a> {
    mode: &'a str,
    links: &'a str,
    owner: &'a str,
    group: &'a str,
    size: &'a str,
    modified: &'a str,
    name: &'a str,
    target: Option<&'a str>,
}

fn is_mode(m: &str) -> bool {
    let b = m.as_bytes();
    (10..=11).contains(&b.len())
        && b"-dlbcpsD".contains(&b[0])
        && b[1..].iter().all(|c| b"rwxsStTl-@+.".contains(c))
}

fn long_row(line: &str) -> Option<LongRow<'_>> {
    let t = table::tokens(line);
    if t.len() < 8 {
        return None;
    }
    let w = |k: usize| &line[t[k].s..t[k].e];
    if !is_mode(w(0)) || !w(1).bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !w(4).bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // `Jun 15 06:13` / `Apr 14  2026`, or ISO `2026-06-15 06:13`.
    let iso = w(5).len() == 10 && w(5).as_bytes().get(4) == Some(&b'-');
    let date_words = if iso { 2 } else { 3 };
    let first_name = 5 + date_words;
    if t.len() <= first_name {
        return None;
    }
    let full = line[t[first_name].s..].trim_end();
    let (name, target) = match full.split_once(" -> ") {
        Some((n, tg)) if w(0).starts_with('l') => (n, Some(tg)),
        _ => (full, None),
    };
    Some(LongRow {
        mode: w(0),
        links: w(1),
        owner: w(2),
        group: w(3),
        size: w(4),
        modified: &line[t[5].s..t[first_name - 1].e],
        name,
        target,
    })
}

impl<'a> LongRow<'a> {
    fn fields(&self, dir: Option<&str>) -> Vec<Field<'a>> {
        let kind = match self.mode.as_bytes()[0] {
            b'd' => "directory",
            b'l' => "link",
            b'c' => "char",
            b'b' => "block",
            b'p' => "pipe",
            b's' => "socket",
            _ => "file",
        };
        let mut fs = named(self.name, dir, Vec::with_capacity(10));
        fs.push(f("type", kind));
        fs.push(f("size", self.size));
        fs.push(f("modified", self.modified));
        fs.push(f("mode", self.mode));
        fs.push(f("links", self.links));
        fs.push(f("owner", self.owner));
        fs.push(f("group", self.group));
        if let Some(t) = self.target {
            fs.push(f("target", t));
        }
        fs
    }
}

/// Windows listings: a directory header, then a table.
fn ls_tables<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    let mut dir: Option<&'a str> = None;
    let mut i = 0;
    while i < lines.len() {
        let (li, l) = lines[i];
        if let Some(d) = dir_header(l) {
            dir = Some(d);
            acc.consume(li);
            i += 1;
            continue;
        }
        if !is_table_header(l) {
            acc.unparsed(li, l);
            i += 1;
            continue;
        }
        let end = (i + 1..lines.len())
            .find(|&j| dir_header(lines[j].1).is_some())
            .unwrap_or(lines.len());
        let mut names: Vec<String> = Vec::new();
        table::read(
            acc,
            lines,
            i,
            end,
            |cols| {
                cols.last()
                    .is_some_and(|c| c.name.eq_ignore_ascii_case("name"))
            },
            |cols, line, spans| {
                if names.len() != cols.len() {
                    names = cols.iter().map(|c: &Col<'_>| normalise(c.name)).collect();
                }
                ls_row(&names, line, spans, dir)
            },
        );
        i = end;
    }
}

fn ls_row<'a>(
    names: &[String],
    line: &'a str,
    spans: &[Option<(usize, usize)>],
    dir: Option<&str>,
) -> Option<Vec<Field<'a>>> {
    let mut fs: Vec<Field<'a>> = Vec::with_capacity(names.len() + 1);
    let mut name = None;
    let mut typed = false;
    for (n, s) in names.iter().zip(spans) {
        let Some(v) = table::value(line, *s).filter(|v| *v != "--") else {
            continue;
        };
        match n.as_str() {
            "name" => name = Some(v),
            "type" => {
                typed = true;
                let t = v.trim_start_matches('<').trim_end_matches('>');
                fs.push(f("type", lower(t)));
            }
            "size_bytes" | "length" | "size" => fs.push(f("size", v)),
            "mode" => {
                if !typed {
                    let t = if v.starts_with('d') {
                        "directory"
                    } else {
                        "file"
                    };
                    fs.push(f("type", t));
                }
                fs.push(f("mode", v));
            }
            m if m.starts_with("last_modified")
                || m == "lastwritetime"
                || m == "modified"
                || m == "date_modified" =>
            {
                fs.push(f("modified", v))
            }
            c if c.starts_with("created") || c == "creationtime" => fs.push(f("created", v)),
            _ => fs.push((super::key(n), Cow::Borrowed(v))),
        }
    }
    let name = name?;
    fs.push(f("name", name));
    if let Some(p) = join(dir, name, '\\') {
        fs.push(f("path", p));
    }
    Some(fs)
}

// --- env --------------------------------------------------------------------------------------

/// `env`: the sensor's Windows table (`Name  Value` and a rule) or `NAME=value` lines (Unix,
/// and `set` on Windows). A Windows table row is a name (no spaces) and the rest of the line.
pub(crate) fn env<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    let table = lines.first().is_some_and(|(_, l)| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() == 2 && w[0].eq_ignore_ascii_case("name") && w[1].eq_ignore_ascii_case("value")
    });
    for (n, &(i, l)) in lines.iter().enumerate() {
        if table && (n == 0 || (n == 1 && table::is_rule(l))) {
            acc.consume(i);
            continue;
        }
        let t = l.trim();
        let pair = if table {
            let (k, v) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
            // A name cannot hold `=`: a `NAME=value` line among the rows is one too.
            match k.split_once('=') {
                Some((name, _)) if !name.is_empty() => t.split_once('='),
                _ => Some((k, v.trim())),
            }
        } else {
            // cmd's hidden `=C:=C:\` variables start with `=`.
            let from = usize::from(t.starts_with('='));
            t[from..]
                .find('=')
                .map(|p| (&t[..from + p], t[from + p + 1..].trim()))
                .filter(|(k, _)| !k.is_empty() && !k.contains(char::is_whitespace))
        };
        match pair {
            Some((k, v)) => acc.record(i, vec![f("name", k), f("value", v)]),
            None => acc.unparsed(i, l),
        }
    }
}

// --- eventlog view ----------------------------------------------------------------------------

fn event_target(n: &str) -> Option<&'static str> {
    Some(match n {
        "index" | "recordid" | "record_id" => "index",
        "time" | "timegenerated" | "timecreated" | "time_created" | "timewritten" | "date"
        | "date_and_time" => "time",
        "entrytype" | "entry_type" | "level" | "leveldisplayname" | "type" => "type",
        "source" | "providername" | "provider_name" | "provider" => "source",
        "instanceid" | "instance_id" | "eventid" | "event_id" | "id" => "id",
        "message" => "message",
        _ => return None,
    })
}

/// `eventlog view`: the sensor's table (`Index Time EntryType Source InstanceID Message`, as
/// `Get-EventLog` prints it) or `Get-WinEvent`'s (`TimeCreated Id LevelDisplayName Message`).
pub(crate) fn eventlog<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    let is_header = |l: &str| {
        let mut known = 0;
        for w in l.split_whitespace() {
            known += usize::from(event_target(&normalise(w)).is_some());
        }
        known >= 3
    };
    let mut names: Vec<String> = Vec::new();
    // The message, last, may hold any number of words.
    let greedy = table::last_column(|name| name.eq_ignore_ascii_case("message"));
    table::read_from_header(acc, lines, is_header, greedy, |cols, line, spans| {
        if names.len() != cols.len() {
            names = cols.iter().map(|c: &Col<'_>| normalise(c.name)).collect();
        }
        let mut fs: Vec<Field<'a>> = Vec::with_capacity(names.len());
        for (n, s) in names.iter().zip(spans) {
            let Some(v) = table::value(line, *s) else {
                continue;
            };
            match event_target(n) {
                Some(k) => fs.push(f(k, v)),
                None => fs.push((super::key(n), Cow::Borrowed(v))),
            }
        }
        fs.iter()
            .any(|(k, _)| k == "id" || k == "index")
            .then_some(fs)
    });
}
