//! Tests of the parsers: the emulator's outputs (run in process, so that a change of the
//! emulator's formats shows here), formats real hosts print (written from their documentation),
//! and properties: no panic, every line accounted for once, generated tables round-trip.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;
use crate::emulator::content::Content;
use crate::emulator::world::{CloudLibrary, HostState, World, WorldConfig};

const KINDS: [Kind; 8] = [
    Kind::Ps,
    Kind::Netstat,
    Kind::RegQuery,
    Kind::Ls,
    Kind::Filehash,
    Kind::Env,
    Kind::EventlogView,
    Kind::Runscript,
];

struct NoLib;

impl CloudLibrary for NoLib {
    fn put_file(&self, _: &str) -> Option<Content> {
        None
    }
    fn script(&self, _: &str) -> Option<String> {
        None
    }
}

/// The emulator's hosts, as in the demo: DESKTOP-01, SRV-LNX-01, MBP-01, HOSTILE-01.
const DESKTOP: usize = 0;
const LINUX: usize = 1;
const MAC: usize = 2;
const HOSTILE: usize = 3;

fn world() -> &'static World {
    static W: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    W.get_or_init(|| World::new(&WorldConfig::default()))
}

/// A command's stdout on an emulated host (lossy, as the shell shows it).
fn emu(host: usize, line: &str) -> String {
    let w = world();
    let mut cwd = w.initial_cwd(host);
    let base = line.split_whitespace().next().unwrap_or("");
    let e = w
        .execute(
            host,
            &mut HostState::default(),
            &mut cwd,
            base,
            line,
            &NoLib,
        )
        .expect("command accepted");
    assert_eq!(e.stderr, "", "stderr of {line:?}");
    String::from_utf8_lossy(&e.stdout.to_bytes()).into_owned()
}

/// Checks that every non-blank line is accounted for exactly once (several records may share a
/// line: a one-line JSON array), in order.
fn accounted(text: &str, p: &Parsed<'_>) -> Result<(), String> {
    let want: BTreeSet<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i)
        .collect();
    let rec: BTreeSet<usize> = p.records.iter().map(|r| r.line).collect();
    let cons: BTreeSet<usize> = p.consumed.iter().copied().collect();
    let unp: BTreeSet<usize> = p.unparsed.iter().map(|(i, _)| *i).collect();
    if cons.len() != p.consumed.len() || unp.len() != p.unparsed.len() {
        return Err("a line consumed or unparsed twice".into());
    }
    if !p.consumed.is_sorted() || !p.unparsed.is_sorted() || !p.records.is_sorted_by_key(|r| r.line)
    {
        return Err("not in line order".into());
    }
    let all = rec.len() + cons.len() + unp.len();
    let union: BTreeSet<usize> = rec.iter().chain(&cons).chain(&unp).copied().collect();
    if union.len() != all {
        return Err(format!("a line in two places: {p:#?}"));
    }
    if union != want {
        return Err(format!("lines {want:?} accounted as {union:?}"));
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in &p.unparsed {
        if lines.get(*i) != Some(l) {
            return Err(format!("unparsed line {i} is not the output's"));
        }
    }
    for r in &p.records {
        for (k, v) in &r.fields {
            if k.is_empty() || v.trim() != v {
                return Err(format!("field {k:?} = {v:?} untrimmed or unnamed"));
            }
        }
    }
    Ok(())
}

/// Parses and checks the accounting.
fn parsed(kind: Kind, platform: Platform, text: &str) -> Parsed<'_> {
    let p = parse(kind, platform, text);
    if let Err(e) = accounted(text, &p) {
        panic!("{} on {platform:?}: {e}\n{text}", kind.name());
    }
    p
}

/// The one record whose `field` is `value`.
fn find<'p, 'a>(p: &'p Parsed<'a>, field: &str, value: &str) -> &'p Record<'a> {
    let found: Vec<&Record<'a>> = p
        .records
        .iter()
        .filter(|r| r.get(field) == Some(value))
        .collect();
    assert!(
        !found.is_empty(),
        "no record with {field} = {value:?} in {p:#?}"
    );
    found[0]
}

fn fields<'r>(r: &'r Record<'_>) -> HashMap<&'r str, &'r str> {
    r.fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect()
}

// --- the emulator -----------------------------------------------------------------------------

#[test]
fn kind_of_commands() {
    let k = |s: &str| Kind::of(&s.split(' ').map(String::from).collect::<Vec<_>>());
    assert_eq!(k("ps"), Some(Kind::Ps));
    assert_eq!(k("reg query HKLM"), Some(Kind::RegQuery));
    assert_eq!(k("netstat -nr"), None);
    assert_eq!(k("cat x"), None);
}

#[test]
fn emulator_windows_ps() {
    let out = emu(DESKTOP, "ps");
    let p = parsed(Kind::Ps, Platform::Windows, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    assert_eq!(p.consumed, [0, 1]);
    let r = find(&p, "pid", "1548");
    assert_eq!(r.get("name"), Some("svchost.exe"));
    let f = fields(r);
    assert!(
        f["start"].ends_with(" PM") || f["start"].ends_with(" AM"),
        "{f:?}"
    );
    assert!(f.contains_key("workingset_kb") && f.contains_key("virtualmem_kb"));
    assert!(f.contains_key("user_time") && f.contains_key("kernel_time"));
    assert_eq!(r.fields[0].0, "name", "known fields first");
    assert_eq!(find(&p, "name", "invoice.pdf.exe").get("pid"), Some("7280"));
    assert!(p.records.iter().all(|r| r.get("path").is_none()));
}

#[test]
fn emulator_unix_ps() {
    let out = emu(LINUX, "ps");
    let p = parsed(Kind::Ps, Platform::Linux, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let k = find(&p, "name", "kthreadd");
    assert_eq!(k.get("path"), Some("[kthreadd]"));
    assert_eq!(
        (k.get("pid"), k.get("ppid"), k.get("user")),
        (Some("2"), Some("1"), Some("root"))
    );
    assert_eq!(find(&p, "name", "kworker/0:1-events").get("pid"), Some("4"));
    let bad = find(&p, "name", "kworkerds");
    assert_eq!(bad.get("path"), Some("/tmp/.X11-unix/kworkerds"));
    assert!(bad.get("start").is_some_and(|s| s.ends_with('Z')));
    assert!(fields(bad).contains_key("rss_kb"));
    assert_eq!(find(&p, "name", "bash").get("user"), Some("deploy"));

    let out = emu(MAC, "ps");
    let p = parsed(Kind::Ps, Platform::Mac, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let c = find(&p, "name", "Google Chrome");
    assert_eq!(
        c.get("path"),
        Some("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
    );
    assert_eq!(
        find(&p, "name", "helperd").get("path"),
        Some("/Users/akumar/Library/Application Support/.helper/helperd")
    );
}

#[test]
fn emulator_hostile_ps() {
    let out = emu(HOSTILE, "ps");
    let p = parsed(Kind::Ps, Platform::Windows, &out);
    assert!(p.records.len() > 10);
    // The process whose name is escape sequences and invalid UTF-8 does not fit its columns:
    // it stays a line of its own, never a record with its columns shifted.
    for r in &p.records {
        let f = fields(r);
        assert!(f["pid"].bytes().all(|b| b.is_ascii_digit()), "{f:?}");
    }
    let odd: Vec<&str> = p.unparsed.iter().map(|(_, l)| *l).collect();
    assert!(
        p.records.iter().any(|r| r.get("pid") == Some("9999"))
            || odd.iter().any(|l| l.contains("9999")),
        "{odd:?}"
    );
}

#[test]
fn emulator_netstat() {
    let out = emu(DESKTOP, "netstat");
    let p = parsed(Kind::Netstat, Platform::Windows, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let rdp = find(&p, "local_port", "3389");
    let f = fields(rdp);
    assert_eq!(
        (f["proto"], f["state"], f["pid"]),
        ("tcp", "LISTENING", "1548")
    );
    assert_eq!((f["remote_ip"], f["remote_port"]), ("0.0.0.0", "0"));
    let c2 = find(&p, "remote_ip", "203.0.113.66");
    assert_eq!(
        (c2.get("remote_port"), c2.get("pid")),
        (Some("8443"), Some("7280"))
    );
    let udp = find(&p, "local_port", "5353");
    assert_eq!(udp.get("proto"), Some("udp"));
    assert_eq!(udp.get("remote"), Some("*:*"));
    assert_eq!(
        (
            udp.get("state"),
            udp.get("remote_ip"),
            udp.get("remote_port")
        ),
        (None, None, None)
    );

    let out = emu(LINUX, "netstat");
    let p = parsed(Kind::Netstat, Platform::Linux, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let c2 = find(&p, "remote_port", "4444");
    assert_eq!(
        (c2.get("remote_ip"), c2.get("pid"), c2.get("state")),
        (Some("203.0.113.66"), Some("3230"), Some("ESTABLISHED"))
    );
    let ssh = find(&p, "local", "0.0.0.0:22");
    assert_eq!(
        (ssh.get("remote_ip"), ssh.get("remote_port")),
        (Some("0.0.0.0"), None)
    );

    let out = emu(MAC, "netstat");
    let p = parsed(Kind::Netstat, Platform::Mac, &out);
    assert!(p.unparsed.is_empty());
    assert_eq!(
        find(&p, "remote_ip", "17.253.144.10").get("pid"),
        Some("828")
    );
}

#[test]
fn emulator_env() {
    let p_out = emu(DESKTOP, "env");
    let p = parsed(Kind::Env, Platform::Windows, &p_out);
    assert!(p.unparsed.is_empty());
    assert_eq!(p.consumed, [0, 1]);
    assert_eq!(
        find(&p, "name", "ProgramFiles(x86)").get("value"),
        Some(r"C:\Program Files (x86)")
    );
    assert_eq!(
        find(&p, "name", "USERNAME").get("value"),
        Some("DESKTOP-01$")
    );

    let out = emu(LINUX, "env");
    let p = parsed(Kind::Env, Platform::Linux, &out);
    assert!(p.unparsed.is_empty() && p.consumed.is_empty());
    assert_eq!(
        find(&p, "name", "HOSTNAME").get("value"),
        Some("srv-lnx-01")
    );

    let out = emu(HOSTILE, "env");
    let p = parsed(Kind::Env, Platform::Windows, &out);
    assert!(
        find(&p, "name", "PROMPT=\u{1b}]0;pwned\u{7}\u{1b}[2J$P$G")
            .get("value")
            .is_some_and(str::is_empty)
            || p.unparsed.iter().any(|(_, l)| l.starts_with("PROMPT"))
            || p.records
                .iter()
                .any(|r| r.get("name").is_some_and(|n| n.starts_with("PROMPT")))
    );
}

#[test]
fn emulator_ls() {
    let out = emu(DESKTOP, r"ls C:\Windows\System32");
    let p = parsed(Kind::Ls, Platform::Windows, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let cmd = fields(find(&p, "name", "cmd.exe"));
    assert_eq!(cmd["path"], r"C:\Windows\System32\cmd.exe");
    assert_eq!(
        (cmd["type"], cmd["size"], cmd["size_mb"]),
        ("file", "323584", "0.309")
    );
    assert!(cmd["modified"].contains('/') && cmd["created"].contains('/'));
    let drivers = fields(find(&p, "name", "drivers"));
    assert_eq!(drivers["type"], "directory");
    assert!(!drivers.contains_key("size"));

    let out = emu(DESKTOP, "ls");
    let p = parsed(Kind::Ls, Platform::Windows, &out);
    assert!(p.unparsed.is_empty());
    assert_eq!(
        find(&p, "name", "Program Files (x86)").get("path"),
        Some(r"C:\Program Files (x86)")
    );
    assert_eq!(
        find(&p, "name", "$Recycle.Bin").get("type"),
        Some("directory")
    );

    let out = emu(LINUX, "ls -l /etc");
    let p = parsed(Kind::Ls, Platform::Linux, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let ssh = fields(find(&p, "name", "ssh"));
    assert_eq!(
        (ssh["type"], ssh["size"], ssh["owner"]),
        ("directory", "4096", "root")
    );
    assert_eq!(find(&p, "name", "passwd").get("type"), Some("file"));

    let out = emu(MAC, "ls");
    let p = parsed(Kind::Ls, Platform::Mac, &out);
    assert!(p.unparsed.is_empty());
    assert!(find(&p, "name", "Applications").get("type").is_none());
}

#[test]
fn emulator_reg_query() {
    let out = emu(
        DESKTOP,
        r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
    );
    let p = parsed(Kind::RegQuery, Platform::Windows, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let r = fields(find(&p, "name", "WindowsUpdaterSvc"));
    assert_eq!(r["value"], r"C:\Windows\Temp\svch0st.exe -k netsvcs");
    assert_eq!(r["type"], "REG_SZ");
    assert_eq!(
        r["key"],
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run"
    );
    assert!(
        find(&p, "name", "RtkAudUService")
            .get("value")
            .is_some_and(|v| v.starts_with("\"C:\\") && v.ends_with(" -background"))
    );
    assert_eq!(
        find(&p, "name", "SecurityHealth").get("type"),
        Some("REG_EXPAND_SZ")
    );

    let out = emu(
        DESKTOP,
        r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion",
    );
    let p = parsed(Kind::RegQuery, Platform::Windows, &out);
    assert!(p.unparsed.is_empty());
    let run = find(
        &p,
        "subkey",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
    );
    assert_eq!(
        run.get("key"),
        Some(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion")
    );
    assert_eq!(p.records.len(), 3);
}

#[test]
fn emulator_filehash_and_eventlog() {
    let out = emu(DESKTOP, r"filehash C:\Windows\System32\cmd.exe");
    let p = parsed(Kind::Filehash, Platform::Windows, &out);
    assert_eq!(p.records.len(), 1);
    assert!(p.unparsed.is_empty());
    let h = fields(&p.records[0]);
    assert_eq!(h["path"], r"C:\Windows\System32\cmd.exe");
    assert_eq!(
        (h["md5"].len(), h["sha1"].len(), h["sha256"].len()),
        (32, 40, 64)
    );
    assert_eq!(p.consumed, [1, 2, 3]);

    let out = emu(LINUX, "filehash /usr/sbin/sshd");
    let p = parsed(Kind::Filehash, Platform::Linux, &out);
    assert_eq!(p.records[0].get("path"), Some("/usr/sbin/sshd"));

    let out = emu(DESKTOP, "eventlog view System 5");
    let p = parsed(Kind::EventlogView, Platform::Windows, &out);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    assert_eq!(p.records.len(), 5);
    for r in &p.records {
        let f = fields(r);
        for k in ["index", "time", "type", "source", "id", "message"] {
            assert!(f.contains_key(k), "{k} in {f:?}");
        }
    }
    let out = emu(HOSTILE, "eventlog view Security 20");
    let p = parsed(Kind::EventlogView, Platform::Windows, &out);
    assert!(p.unparsed.is_empty());
    assert!(
        p.records
            .iter()
            .any(|r| r.get("source") == Some("Microsoft-Windows-Security-Auditing"))
    );
}

/// Every emulated command's output, parsed as every kind on every platform, is accounted for.
#[test]
fn emulator_outputs_accounted_for_any_kind() {
    let cmds: [(usize, &str); 12] = [
        (DESKTOP, "ps"),
        (HOSTILE, "ps"),
        (LINUX, "ps"),
        (MAC, "ps"),
        (DESKTOP, "netstat"),
        (LINUX, "netstat"),
        (HOSTILE, "env"),
        (HOSTILE, "ls"),
        (LINUX, "ls -l /"),
        (
            DESKTOP,
            r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
        ),
        (DESKTOP, r"filehash C:\Windows\System32\cmd.exe"),
        (DESKTOP, "eventlog view Application 10"),
    ];
    for (h, c) in cmds {
        let out = emu(h, c);
        for k in KINDS {
            for pf in Platform::ALL {
                parsed(k, pf, &out);
            }
        }
    }
}

/// A rough timing of the Windows `ps` (printed with `--nocapture`; not an assertion).
#[test]
fn timing_windows_ps() {
    let out = emu(DESKTOP, "ps");
    let n = 2000;
    let t = std::time::Instant::now();
    let mut records = 0;
    for _ in 0..n {
        records += parse(Kind::Ps, Platform::Windows, std::hint::black_box(&out))
            .records
            .len();
    }
    let per = t.elapsed() / n;
    println!(
        "parse ps (Windows, {} bytes, {} records): {per:?} per host",
        out.len(),
        records / n as usize
    );
}
