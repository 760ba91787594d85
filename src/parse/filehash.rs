//! `filehash`: one record per file, from
//! - the sensor's block: the path on a line, then `MD5: ...`, `SHA1: ...`, `SHA256: ...`;
//! - PowerShell's `Get-FileHash` table (`Algorithm  Hash  Path`, a row per algorithm: the rows
//!   of one path make one record);
//! - `sha256sum`/`md5sum` lines (`HASH  PATH`, the algorithm told by the hash's length).
//!
//! Hashes are lower-cased hex; a hash line whose value is not hex is not understood.

use std::borrow::Cow;

use super::{Acc, Field, f};

/// The algorithm a label names (`MD5`, `SHA-256`, `SHA256 Hash`, ...).
fn algorithm(label: &str) -> Option<&'static str> {
    let n: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let n = n.strip_suffix("hash").unwrap_or(&n);
    match n {
        "md5" => Some("md5"),
        "sha1" => Some("sha1"),
        "sha256" => Some("sha256"),
        _ => None,
    }
}

fn hex(v: &str) -> Option<Cow<'_, str>> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(if v.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(v.to_ascii_lowercase())
    } else {
        Cow::Borrowed(v)
    })
}

/// `MD5: 4fcd...` (or `MD5 = ...`): the algorithm and its hash.
fn hash_line(line: &str) -> Option<(&'static str, Cow<'_, str>)> {
    let (k, v) = line.split_once(':').or_else(|| line.split_once('='))?;
    Some((algorithm(k.trim())?, hex(v.trim())?))
}

/// `SHA256  1DA9...  C:\Windows\System32\cmd.exe` (a `Get-FileHash` row).
fn table_row(line: &str) -> Option<(&'static str, Cow<'_, str>, &str)> {
    let t = line.trim();
    let (alg, rest) = t.split_once(char::is_whitespace)?;
    let alg = algorithm(alg).filter(|_| !alg.contains(':'))?;
    let rest = rest.trim_start();
    let (h, path) = rest.split_once(char::is_whitespace)?;
    Some((alg, hex(h)?, path.trim()))
}

/// `1da9...  /usr/bin/bash` (`sha256sum`, `*` before the path in binary mode).
fn sum_line(line: &str) -> Option<(&'static str, Cow<'_, str>, &str)> {
    let t = line.trim();
    let (h, path) = t.split_once(char::is_whitespace)?;
    let alg = match h.len() {
        32 => "md5",
        40 => "sha1",
        64 => "sha256",
        _ => return None,
    };
    let path = path.trim_start();
    let path = path.strip_prefix('*').unwrap_or(path);
    (!path.is_empty()).then_some(())?;
    Some((alg, hex(h)?, path))
}

fn has(fields: &[Field<'_>], k: &str) -> bool {
    fields.iter().any(|(n, _)| n == k)
}

pub(crate) fn parse<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    // The record being filled: its first line and fields.
    let mut cur: Option<(usize, Vec<Field<'a>>)> = None;
    let flush = |acc: &mut Acc<'a>, cur: &mut Option<(usize, Vec<Field<'a>>)>| {
        if let Some((i, fs)) = cur.take() {
            acc.record(i, fs);
        }
    };
    let is_table_header = |l: &str| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() == 3 && w[0].eq_ignore_ascii_case("algorithm") && w[1].eq_ignore_ascii_case("hash")
    };
    for (n, &(i, l)) in lines.iter().enumerate() {
        if let Some((alg, h)) = hash_line(l) {
            match &mut cur {
                Some((_, fs)) if !has(fs, alg) => {
                    fs.push(f(alg, h));
                    acc.consume(i);
                }
                _ => {
                    flush(acc, &mut cur);
                    cur = Some((i, vec![f(alg, h)]));
                }
            }
            continue;
        }
        if is_table_header(l) || super::table::is_rule(l) {
            acc.consume(i);
            continue;
        }
        if let Some((alg, h, path)) = table_row(l).or_else(|| sum_line(l)) {
            let same = cur.as_ref().is_some_and(|(_, fs)| {
                !has(fs, alg) && fs.iter().any(|(k, v)| k == "path" && v == path)
            });
            if same && let Some((_, fs)) = &mut cur {
                fs.push(f(alg, h));
                acc.consume(i);
            } else {
                flush(acc, &mut cur);
                cur = Some((i, vec![f("path", path), f(alg, h)]));
            }
            continue;
        }
        // A path: a line followed by a hash line.
        let next_is_hash = lines
            .get(n + 1)
            .is_some_and(|&(_, next)| hash_line(next).is_some());
        flush(acc, &mut cur);
        if next_is_hash {
            let t = l.trim();
            let t = t.strip_prefix("Path:").map_or(t, str::trim);
            cur = Some((i, vec![f("path", t)]));
        } else {
            acc.unparsed(i, l);
        }
    }
    flush(acc, &mut cur);
}
