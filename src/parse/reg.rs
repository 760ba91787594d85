//! `reg query`: as `reg.exe` prints it (and the sensor after it): a key at the start of a line,
//! its values indented (`    NAME    TYPE    DATA`, four spaces apart), then its subkeys, each a
//! full path on a line.
//!
//! A value's name and data may hold spaces (and the data four of them): a value line is split
//! at its type (`REG_SZ`, ...), the first known type word between spaces.

use super::{Acc, f};

/// The value types `reg.exe` prints.
const TYPES: [&str; 14] = [
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_MULTI_SZ",
    "REG_DWORD",
    "REG_QWORD",
    "REG_BINARY",
    "REG_NONE",
    "REG_LINK",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_QWORD_LITTLE_ENDIAN",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTOR",
    "REG_RESOURCE_REQUIREMENTS_LIST",
];

/// A key line: a hive at the start of the line.
fn is_key(line: &str) -> bool {
    const HIVES: [&str; 5] = ["HKLM", "HKCU", "HKCR", "HKU", "HKCC"];
    let head = line.split('\\').next().unwrap_or("");
    line.starts_with("HKEY_") || HIVES.iter().any(|h| head.eq_ignore_ascii_case(h))
}

/// A value line: name, type, data (data possibly empty). Indented as printed, but a host
/// that lost the indentation is read too.
fn value(line: &str) -> Option<(&str, &str, &str)> {
    if is_key(line) {
        return None;
    }
    // reg.exe's four spaces around the type first, then any whitespace (a name with a type's
    // word in it is found by the first way).
    split_at_type(line, true).or_else(|| split_at_type(line, false))
}

fn split_at_type(line: &str, strict: bool) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(p) = line[from..].find("REG_") {
        let at = from + p;
        let rest = &line[at..];
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let word = &rest[..end];
        let after = &rest[end..];
        let spaced = if strict {
            line[..at].ends_with("    ") && (after.starts_with("    ") || after.trim().is_empty())
        } else {
            line[..at].ends_with([' ', '\t'])
        };
        if spaced && TYPES.contains(&word) {
            let name = line[..at].trim();
            return (!name.is_empty()).then_some((name, word, after.trim()));
        }
        from = at + 4;
    }
    None
}

pub(crate) fn parse<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    let mut key: Option<&'a str> = None;
    for (n, &(i, l)) in lines.iter().enumerate() {
        if let Some((name, ty, data)) = value(l) {
            let mut fields = Vec::with_capacity(4);
            if let Some(k) = key {
                fields.push(f("key", k));
            }
            fields.push(f("name", name));
            fields.push(f("type", ty));
            fields.push(f("value", data));
            acc.record(i, fields);
            continue;
        }
        let t = l.trim();
        if is_key(l) {
            // Under the current key and not followed by values of its own: a subkey listed.
            let child = key.is_some_and(|k| {
                t.len() > k.len() + 1
                    && t.get(..k.len()).is_some_and(|p| p.eq_ignore_ascii_case(k))
                    && t.as_bytes().get(k.len()) == Some(&b'\\')
            });
            let has_values = lines
                .get(n + 1)
                .is_some_and(|&(_, next)| value(next).is_some());
            match key {
                Some(k) if child && !has_values => {
                    acc.record(i, vec![f("key", k), f("subkey", t)]);
                }
                _ => {
                    key = Some(t);
                    acc.consume(i);
                }
            }
            continue;
        }
        if t.starts_with("End of search:") {
            acc.consume(i);
        } else {
            acc.unparsed(i, l);
        }
    }
}
