//! `netstat`: the sensor's table (`Proto Local Address Foreign Address State PID`), Windows
//! `netstat -ano`, Linux `netstat -anp` (`PID/Program name`) and `ss -tunap`
//! (`users:(("sshd",pid=1,fd=3))`), macOS `netstat -an` (`10.0.0.5.443`, a dot before the
//! port) and `lsof -i` (`NAME` as `local->remote (STATE)`).
//!
//! Addresses are kept as printed (`local`, `remote`); the derived `local_port`, `remote_ip` and
//! `remote_port` are what stacking wants (`*` is no value: absent).

use std::borrow::Cow;

use super::table::{self, Col};
use super::{Acc, Field, f, lower, normalise};
use rtrsh_command::Platform;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum To {
    Proto,
    Local,
    Remote,
    State,
    Pid,
    /// `1234/sshd` (netstat -anp).
    PidProgram,
    /// `users:(("sshd",pid=1234,fd=3))` (ss).
    Users,
    Process,
    /// `TCP 10.0.0.5:52345->17.253.144.10:443 (ESTABLISHED)` split over lsof's NODE and NAME.
    LsofName,
    LocalPort,
    RemoteIp,
    RemotePort,
    Extra,
}

fn target(n: &str, lsof: bool) -> To {
    match n {
        "proto" | "netid" | "protocol" => To::Proto,
        "node" if lsof => To::Proto,
        "name" if lsof => To::LsofName,
        "command" if lsof => To::Process,
        "local_address" | "local_address_port" | "local" => To::Local,
        "foreign_address" | "peer_address_port" | "remote_address" | "foreign" | "peer"
        | "remote" => To::Remote,
        "state" | "st" => To::State,
        "pid" | "owningprocess" => To::Pid,
        "pid_program_name" => To::PidProgram,
        "process" | "users" => To::Users,
        "program_name" | "processname" | "process_name" => To::Process,
        "localport" | "local_port" => To::LocalPort,
        "remoteaddress" => To::RemoteIp,
        "remoteport" | "remote_port" => To::RemotePort,
        _ => To::Extra,
    }
}

/// A table header: `Proto` (netstat), `Netid` (ss), or lsof's `COMMAND ... NAME`.
fn is_header(line: &str) -> bool {
    let mut w = line.split_whitespace();
    let first = w.next().unwrap_or("");
    first.eq_ignore_ascii_case("proto")
        || first.eq_ignore_ascii_case("netid")
        || (first == "COMMAND" && line.contains(" NODE ") && line.trim_end().ends_with("NAME"))
        || (line.contains("LocalAddress") && line.contains("OwningProcess"))
}

/// A title line before a table (`Active Connections`, `Active Internet connections (...)`).
fn is_title(line: &str) -> bool {
    let t = line.trim_start();
    t.len() > 7
        && t.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("active "))
}

pub(crate) fn parse<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)], platform: Platform) {
    let mut i = 0;
    while i < lines.len() {
        let (li, l) = lines[i];
        if is_title(l) {
            acc.consume(li);
            i += 1;
            continue;
        }
        if !is_header(l) {
            acc.unparsed(li, l);
            i += 1;
            continue;
        }
        // The table runs to the next title or header.
        let end = (i + 1..lines.len())
            .find(|&j| is_title(lines[j].1) || (is_header(lines[j].1) && lines[j].1 != l))
            .unwrap_or(lines.len());
        let lsof = l.trim_start().starts_with("COMMAND");
        let mut targets: Vec<(To, String)> = Vec::new();
        table::read(
            acc,
            lines,
            i,
            end,
            |cols| {
                lsof || cols
                    .last()
                    .is_some_and(|c| target(&normalise(c.name), false) == To::PidProgram)
            },
            |cols, line, spans| {
                if targets.len() != cols.len() {
                    targets = cols
                        .iter()
                        .map(|c: &Col<'_>| {
                            let n = normalise(c.name);
                            (target(&n, lsof), n)
                        })
                        .collect();
                }
                build(&targets, line, spans, platform)
            },
        );
        i = end;
    }
}

fn build<'a>(
    targets: &[(To, String)],
    line: &'a str,
    spans: &[Option<(usize, usize)>],
    platform: Platform,
) -> Option<Vec<Field<'a>>> {
    let mut fields: Vec<Field<'a>> = Vec::with_capacity(targets.len() + 4);
    let (mut local, mut remote) = (None, None);
    for ((t, n), s) in targets.iter().zip(spans) {
        let Some(v) = table::value(line, *s) else {
            continue;
        };
        match t {
            To::Proto => fields.push(f("proto", lower(v))),
            To::Local => {
                local = Some(v);
                fields.push(f("local", v));
            }
            To::Remote => {
                remote = Some(v);
                fields.push(f("remote", v));
            }
            To::State => fields.push(f("state", v)),
            To::Pid => fields.push(f("pid", v)),
            To::PidProgram => {
                if let Some((pid, prog)) = v.split_once('/') {
                    fields.push(f("pid", pid.trim()));
                    // `sshd: /usr/sbin` (the command line, cut): the program's name.
                    let prog = super::ps::exe_name(prog);
                    if !prog.is_empty() {
                        fields.push(f("process", prog));
                    }
                } else if v != "-" {
                    fields.push(f("pid", v));
                }
            }
            To::Users => match users(v) {
                Some((name, pid)) => {
                    fields.push(f("process", name));
                    fields.push(f("pid", pid));
                }
                None => fields.push(f("process", v)),
            },
            To::Process => fields.push(f("process", v)),
            To::LsofName => {
                let (conn, state) = match v.rsplit_once(" (") {
                    Some((c, s)) if s.ends_with(')') => (c.trim(), Some(&s[..s.len() - 1])),
                    _ => (v, None),
                };
                let (l, r) = match conn.split_once("->") {
                    Some((l, r)) => (l, Some(r)),
                    None => (conn, None),
                };
                local = Some(l);
                fields.push(f("local", l));
                if let Some(r) = r {
                    remote = Some(r);
                    fields.push(f("remote", r));
                }
                if let Some(s) = state {
                    fields.push(f("state", s));
                }
            }
            To::LocalPort => fields.push(f("local_port", v)),
            To::RemoteIp => fields.push(f("remote_ip", v)),
            To::RemotePort => fields.push(f("remote_port", v)),
            To::Extra => fields.push((super::key(n), Cow::Borrowed(v))),
        }
    }
    if let Some((_, Some(port))) = local.and_then(|l| endpoint(l, platform)) {
        fields.push(f("local_port", port));
    }
    if let Some((ip, port)) = remote.and_then(|r| endpoint(r, platform)) {
        if let Some(ip) = ip {
            fields.push(f("remote_ip", ip));
        }
        if let Some(port) = port {
            fields.push(f("remote_port", port));
        }
    }
    // A connection has at least a protocol or an address.
    fields
        .iter()
        .any(|(k, _)| k == "proto" || k == "local")
        .then_some(fields)
}

/// The process of ss's `users:(("sshd",pid=1234,fd=3))` (the first one when several share it).
fn users(v: &str) -> Option<(&str, &str)> {
    let rest = v.split_once("((\"")?.1;
    let (name, rest) = rest.split_once('"')?;
    let pid = rest.split_once("pid=")?.1;
    let end = pid.find(|c: char| !c.is_ascii_digit()).unwrap_or(pid.len());
    (end > 0).then(|| (name, &pid[..end]))
}

/// An address's IP and port (`None` for `*`): `0.0.0.0:135`, `[::1]:443`, `:::22` (Linux
/// IPv6), `*:*`, and macOS's `10.0.0.5.443`, `*.22`, `fe80::1%lo0.123`.
pub(crate) fn endpoint(a: &str, platform: Platform) -> Option<(Option<&str>, Option<&str>)> {
    fn star(s: &str) -> Option<&str> {
        (s != "*" && !s.is_empty()).then_some(s)
    }
    let portish = |p: &str| p == "*" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if let Some(rest) = a.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return portish(port).then(|| (star(ip), star(port)));
    }
    let dotted = || -> Option<(Option<&str>, Option<&str>)> {
        let (ip, port) = a.rsplit_once('.')?;
        let ok = portish(port) && (ip == "*" || ip.contains(':') || ip.matches('.').count() == 3);
        ok.then(|| (star(ip), star(port)))
    };
    if platform == Platform::Mac
        && !a.contains(':')
        && let Some(r) = dotted()
    {
        return Some(r);
    }
    match a.rsplit_once(':') {
        Some((ip, port)) if portish(port) => Some((star(ip), star(port))),
        _ => dotted(),
    }
}
