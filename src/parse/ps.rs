//! `ps`: the sensor's table on Windows (`Name Id Start Time ...`, with a rule), on Linux and
//! macOS (`PID PPID USER START ... COMMAND`), and the usual `ps aux`, `ps -ef` and
//! `Get-Process` tables a script may print.
//!
//! `name` is the image name: the `Name` column on Windows; on Unix the executable's base name
//! from `COMMAND` (see [`exe_name`]), so that one binary stacks as one value across hosts
//! whatever its arguments. `path` is the command as printed.

use std::borrow::Cow;

use super::table::{self, Col};
use super::{Acc, Field, f, normalise};
use rtrsh_command::Platform;

/// Where a column's value goes.
#[derive(Clone, Debug)]
enum To {
    Field(&'static str),
    /// A command line: `path`, and the `name` derived from it when no column gives a name.
    Command,
    /// A name column that may hold a path (`comm` on Linux).
    Name,
    Extra(Cow<'static, str>),
}

fn target(header: &str) -> To {
    let n = normalise(header);
    match n.as_str() {
        "name" | "processname" | "process_name" | "image_name" | "imagename" | "comm" | "ucomm"
        | "process" => To::Name,
        "id" | "pid" | "processid" | "process_id" => To::Field("pid"),
        "ppid" | "parentprocessid" | "parent_process_id" | "parent_pid" | "parentid" => {
            To::Field("ppid")
        }
        "user" | "uid" | "username" | "user_name" | "owner" | "ruser" | "euser" => {
            To::Field("user")
        }
        "command" | "cmd" | "args" | "commandline" | "command_line" | "path" | "executablepath"
        | "executable_path" => To::Command,
        s if s.starts_with("start") || s == "stime" || s == "lstart" || s == "creationdate" => {
            To::Field("start")
        }
        _ => To::Extra(super::key(&n)),
    }
}

/// Whether a header line is a `ps` header: a `PID` or `Id` column.
fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .any(|w| w.eq_ignore_ascii_case("pid") || w.eq_ignore_ascii_case("id") || w == "ProcessId")
}

pub(crate) fn parse<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)], _platform: Platform) {
    let mut targets: Vec<To> = Vec::new();
    // The command line, last, may hold any number of words.
    let greedy = table::last_column(|name| matches!(target(name), To::Command));
    table::read_from_header(acc, lines, is_header, greedy, |cols, line, spans| {
        if targets.len() != cols.len() {
            targets = cols.iter().map(|c: &Col<'_>| target(c.name)).collect();
        }
        build(&targets, line, spans)
    });
}

fn build<'a>(
    targets: &[To],
    line: &'a str,
    spans: &[Option<(usize, usize)>],
) -> Option<Vec<Field<'a>>> {
    let mut fields: Vec<Field<'a>> = Vec::with_capacity(targets.len() + 1);
    let mut command: Option<&'a str> = None;
    let mut named = false;
    for (t, s) in targets.iter().zip(spans) {
        let Some(v) = table::value(line, *s) else {
            continue;
        };
        match t {
            To::Field(k) => fields.push(f(k, v)),
            To::Name => {
                named = true;
                // A name column is a name (`Google Chrome`), its path stripped if it has one.
                let base = v.rsplit(['/', '\\']).next().filter(|b| !b.is_empty());
                fields.push(f("name", base.unwrap_or(v)));
            }
            To::Command => {
                command.get_or_insert(v);
                fields.push(f("path", v));
            }
            To::Extra(k) => fields.push((k.clone(), Cow::Borrowed(v))),
        }
    }
    if !named && let Some(c) = command {
        fields.push(f("name", exe_name(c)));
    }
    // A row without a number for its pid is not a process (a stray line that happened to
    // split).
    fields
        .iter()
        .any(|(k, v)| k == "pid" && v.bytes().all(|b| b.is_ascii_digit()))
        .then_some(fields)
}

/// The executable's base name in a command line.
///
/// - A kernel thread `[kworker/0:1-events]` is named what is inside the brackets (as `ps -e`
///   names it), `/` included: it is not a path.
/// - A process title `sshd: root@pts/0` or `nginx: master process ...` is named before the `:`.
/// - Otherwise the executable ends at the first space, unless the next word carries on the
///   path (`/Users/a/Library/Application Support/.helper/helperd`); inside a macOS bundle
///   (`/Applications/Google Chrome.app/Contents/MacOS/Google Chrome`) it ends at the first
///   ` -` or ` /` (an argument). A path with spaces cannot be told from a command with
///   arguments in general (`/usr/bin/python3 x.py`): these are the common cases.
pub(crate) fn exe_name(cmd: &str) -> &str {
    let cmd = cmd.trim();
    if let Some(inner) = cmd.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        return inner;
    }
    let exe = if cmd.contains(".app/") {
        let end = [" -", " /"]
            .iter()
            .filter_map(|p| cmd.find(p))
            .min()
            .unwrap_or(cmd.len());
        &cmd[..end]
    } else {
        // A path goes on over a space while the next word goes on with it (`Application
        // Support/.helper/helperd`), not when it is an argument (`-D`, `/etc/x.conf`, `x.py`).
        let mut end = cmd.find(char::is_whitespace).unwrap_or(cmd.len());
        if cmd.starts_with('/') {
            while end < cmd.len() {
                let rest = cmd[end..].trim_start();
                let word = rest.split(char::is_whitespace).next().unwrap_or("");
                if word.starts_with(['-', '/']) || !word.contains('/') {
                    break;
                }
                end = cmd.len() - rest.len() + word.len();
            }
        }
        &cmd[..end]
    };
    let exe = exe.strip_suffix(':').unwrap_or(exe);
    // A login shell: `-bash`.
    let exe = exe
        .strip_prefix('-')
        .filter(|e| !e.is_empty())
        .unwrap_or(exe);
    let base = exe.rsplit(['/', '\\']).next().unwrap_or(exe);
    if base.is_empty() { exe } else { base }
}
