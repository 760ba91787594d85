//! Tests of the parsers: the emulator's outputs (run in process, so that a change of the
//! emulator's formats shows here), formats real hosts print (written from their documentation),
//! and properties: no panic, every line accounted for once, generated tables round-trip.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;
use rtrsh_emulator::content::Content;
use rtrsh_emulator::world::{CloudLibrary, HostState, World, WorldConfig};

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
    // Its line is cut short after its start time: read as far as it goes.
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let odd = fields(find(&p, "pid", "9999"));
    assert!(odd["name"].starts_with("svc\u{fffd}") && odd["name"].ends_with(".exe\u{1b}[31m"));
    assert!(odd["start"].ends_with("AM\u{7}") || odd["start"].ends_with("PM\u{7}"));
    assert!(!odd.contains_key("user_time"));
    // A name of escape sequences and a carriage return, within its column: kept as it is.
    assert_eq!(
        find(&p, "pid", "5936").get("name"),
        Some("\u{1b}]0;pwned\u{7}svchost\u{1b}[2K\r.exe")
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
    assert_eq!(
        find(&p, "name", "PROMPT").get("value"),
        Some("\u{1b}]0;pwned\u{7}\u{1b}[2J$P$G")
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

/// `runscript` on the emulator: a script writing CSV, one writing NDJSON, one writing prose.
#[test]
fn emulator_runscript() {
    let csv = emu(
        DESKTOP,
        "runscript -Raw=```Write-Output 'Name,Id'; Write-Output 'svchost,1548'; Write-Output '\"a, b\",7'```",
    );
    let p = parsed(Kind::Runscript, Platform::Windows, &csv);
    assert_eq!(p.records.len(), 2, "{csv:?}");
    assert_eq!(find(&p, "Name", "a, b").get("id"), Some("7"));
    let json = emu(
        LINUX,
        "runscript -Raw=```echo '{\"user\": \"root\", \"uid\": 0}'; echo '{\"user\": \"deploy\", \"uid\": 1001}'```",
    );
    let p = parsed(Kind::Runscript, Platform::Linux, &json);
    assert_eq!(
        find(&p, "user", "deploy").get("uid"),
        Some("1001"),
        "{json:?}"
    );
    let prose = emu(
        DESKTOP,
        "runscript -Raw=```Write-Output 'triage done, 3 findings'```",
    );
    let p = parsed(Kind::Runscript, Platform::Windows, &prose);
    assert_eq!((p.records.len(), p.unparsed.len()), (0, 1));
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

// --- formats real hosts print -----------------------------------------------------------------
// Written here in the form the tools' documentation and man pages show (column layouts from
// the printf widths of net-tools, procps and iproute2, PowerShell's default table views, and
// reg.exe's four-space layout), with made-up values.

/// `netstat -ano` on Windows (Microsoft's netstat documentation): a title, indented columns,
/// IPv6 in brackets, UDP without a state, CRLF line endings.
#[test]
fn windows_netstat_ano() {
    let mut s = String::from("\r\nActive Connections\r\n\r\n");
    s += "  Proto  Local Address          Foreign Address        State           PID\r\n";
    for (p, l, r, st, pid) in [
        ("TCP", "0.0.0.0:135", "0.0.0.0:0", "LISTENING", "1072"),
        (
            "TCP",
            "10.0.0.5:49702",
            "52.168.117.170:443",
            "ESTABLISHED",
            "3120",
        ),
        ("TCP", "[::]:135", "[::]:0", "LISTENING", "1072"),
        ("TCP", "[::1]:49670", "[::1]:443", "TIME_WAIT", "0"),
        ("UDP", "0.0.0.0:5353", "*:*", "", "2360"),
        (
            "UDP",
            "[fe80::1c2a:9d3e:4b1f:77a%12]:1900",
            "*:*",
            "",
            "3944",
        ),
    ] {
        s += &format!("  {p:<5}  {l:<22} {r:<22} {st:<15} {pid}\r\n");
    }
    let p = parsed(Kind::Netstat, Platform::Windows, &s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    assert_eq!(p.records.len(), 6);
    let v6 = find(&p, "local", "[::]:135");
    assert_eq!(
        (
            v6.get("local_port"),
            v6.get("remote_ip"),
            v6.get("remote_port")
        ),
        (Some("135"), Some("::"), Some("0"))
    );
    assert_eq!(
        find(&p, "remote", "[::1]:443").get("state"),
        Some("TIME_WAIT")
    );
    let pushed = find(&p, "pid", "3944");
    assert_eq!(
        (
            pushed.get("local_port"),
            pushed.get("state"),
            pushed.get("remote_ip")
        ),
        (Some("1900"), None, None)
    );
}

/// `netstat -anp` on Linux (net-tools: `%-5s %6ld %6ld %-23s %-23s %-12s` then PID/Program),
/// then its UNIX sockets section.
#[test]
fn linux_netstat_anp() {
    let mut s = String::from("Active Internet connections (servers and established)\n");
    s += "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    \n";
    for (p, q, l, r, st, prog) in [
        (
            "tcp",
            0,
            "0.0.0.0:22",
            "0.0.0.0:*",
            "LISTEN",
            "812/sshd: /usr/sbin",
        ),
        (
            "tcp",
            36,
            "10.0.0.7:22",
            "198.51.100.4:53122",
            "ESTABLISHED",
            "1423/sshd: deploy [",
        ),
        ("tcp6", 0, ":::80", ":::*", "LISTEN", "901/nginx: master p"),
        ("udp", 0, "0.0.0.0:68", "0.0.0.0:*", "", "655/dhclient"),
        (
            "tcp",
            0,
            "10.0.0.7:41000",
            "203.0.113.66:4444",
            "ESTABLISHED",
            "-",
        ),
    ] {
        s += &format!("{p:<5} {:>6} {q:>6} {l:<23} {r:<23} {st:<12}{prog}\n", 0);
    }
    s += "Active UNIX domain sockets (servers and established)\n";
    s += "Proto RefCnt Flags       Type       State         I-Node   PID/Program name     Path\n";
    s += "unix  2      [ ACC ]     STREAM     LISTENING     20345    1/init               /run/systemd/private\n";
    let p = parsed(Kind::Netstat, Platform::Linux, &s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let ssh = fields(find(&p, "pid", "1423"));
    assert_eq!(
        (
            ssh["process"],
            ssh["remote_ip"],
            ssh["remote_port"],
            ssh["send_q"]
        ),
        ("sshd", "198.51.100.4", "53122", "36")
    );
    let web = find(&p, "pid", "901");
    assert_eq!(
        (web.get("proto"), web.get("local_port"), web.get("process")),
        (Some("tcp6"), Some("80"), Some("nginx"))
    );
    assert_eq!(find(&p, "process", "dhclient").get("state"), None);
    assert_eq!(find(&p, "remote_port", "4444").get("pid"), None);
    assert_eq!(find(&p, "proto", "unix").get("pid"), Some("1"));
}

/// `ss -tunap` (iproute2): the address right-aligned before its `:port`, `users:((...))`.
#[test]
fn linux_ss_tunap() {
    let s = "\
Netid State  Recv-Q Send-Q    Local Address:Port      Peer Address:Port Process
udp   UNCONN 0      0               0.0.0.0:68             0.0.0.0:*     users:((\"dhclient\",pid=655,fd=6))
tcp   LISTEN 0      128             0.0.0.0:22             0.0.0.0:*     users:((\"sshd\",pid=812,fd=3))
tcp   ESTAB  0      0              10.0.0.7:22        198.51.100.4:53122 users:((\"sshd\",pid=1423,fd=4),(\"sshd\",pid=1500,fd=4))
tcp   LISTEN 0      511                [::]:80                [::]:*     users:((\"nginx\",pid=901,fd=7))
";
    let p = parsed(Kind::Netstat, Platform::Linux, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let est = fields(find(&p, "state", "ESTAB"));
    assert_eq!(
        (
            est["process"],
            est["pid"],
            est["local_port"],
            est["remote_ip"]
        ),
        ("sshd", "1423", "22", "198.51.100.4")
    );
    let v6 = find(&p, "pid", "901");
    assert_eq!(
        (
            v6.get("local_port"),
            v6.get("remote_ip"),
            v6.get("remote_port")
        ),
        (Some("80"), Some("::"), None)
    );
}

/// macOS `netstat -an` (a dot before the port, `*.*`) and `lsof -i -n -P`.
#[test]
fn mac_netstat_and_lsof() {
    let s = "\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp4       0      0  192.168.1.20.52345     17.253.144.10.443      ESTABLISHED
tcp46      0      0  *.22                   *.*                    LISTEN
udp4       0      0  *.68                   *.*
";
    let p = parsed(Kind::Netstat, Platform::Mac, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let c = fields(find(&p, "remote_ip", "17.253.144.10"));
    assert_eq!(
        (c["remote_port"], c["local_port"], c["state"], c["proto"]),
        ("443", "52345", "ESTABLISHED", "tcp4")
    );
    let l = find(&p, "local", "*.22");
    assert_eq!(
        (l.get("local_port"), l.get("remote_ip"), l.get("state")),
        (Some("22"), None, Some("LISTEN"))
    );

    let s = "\
COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME
launchd       1   root   11u  IPv6 0x1a2b3c4d5e6f7a81      0t0  TCP *:22 (LISTEN)
Google      828 akumar   23u  IPv4 0x1a2b3c4d5e6f7a82      0t0  TCP 192.168.1.20:52345->17.253.144.10:443 (ESTABLISHED)
mDNSRespo   301 _mdnsresponder    8u  IPv4 0x1a2b3c4d5e6f7a83      0t0  UDP *:5353
";
    let p = parsed(Kind::Netstat, Platform::Mac, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let g = fields(find(&p, "pid", "828"));
    assert_eq!(
        (
            g["proto"],
            g["remote_ip"],
            g["remote_port"],
            g["state"],
            g["process"]
        ),
        ("tcp", "17.253.144.10", "443", "ESTABLISHED", "Google")
    );
    assert_eq!(find(&p, "pid", "1").get("local_port"), Some("22"));
    assert_eq!(find(&p, "pid", "301").get("proto"), Some("udp"));
}

/// `ps aux` and `ps -ef` (procps), a login shell, a process title, a user pushed by its width.
#[test]
fn linux_ps_aux_and_ef() {
    let s = "\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.1 169432 13160 ?        Ss   Nov21   0:05 /sbin/init splash
root           2  0.0  0.0      0     0 ?        S    Nov21   0:00 [kthreadd]
systemd+     655  0.0  0.0  90236  6120 ?        Ssl  Nov21   0:01 /lib/systemd/systemd-timesyncd
www-data    2827  0.0  0.1  55280  5640 ?        S    10:02   0:00 nginx: worker process
deploy      3136  0.0  0.0  10044  5120 pts/0    Ss+  10:05   0:00 -bash
averylongusername 4000 99.0 12.5 2908192 484016 ? Rl 10:07 55:10 /tmp/.X11-unix/kworkerds -o pool:4444
";
    let p = parsed(Kind::Ps, Platform::Linux, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    assert_eq!(find(&p, "pid", "1").get("name"), Some("init"));
    assert_eq!(find(&p, "pid", "2").get("name"), Some("kthreadd"));
    assert_eq!(find(&p, "pid", "2827").get("name"), Some("nginx"));
    let sh = fields(find(&p, "pid", "3136"));
    assert_eq!(
        (sh["name"], sh["user"], sh["tty"], sh["start"], sh["cpu"]),
        ("bash", "deploy", "pts/0", "10:05", "0.0")
    );
    let x = fields(find(&p, "pid", "4000"));
    assert_eq!(
        (x["name"], x["user"], x["path"]),
        (
            "kworkerds",
            "averylongusername",
            "/tmp/.X11-unix/kworkerds -o pool:4444"
        )
    );

    let s = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 Nov21 ?        00:00:05 /sbin/init splash
root         812       1  0 Nov21 ?        00:00:00 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups
";
    let p = parsed(Kind::Ps, Platform::Linux, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let d = fields(find(&p, "pid", "812"));
    assert_eq!(
        (d["name"], d["ppid"], d["user"], d["start"]),
        ("sshd", "1", "root", "Nov21")
    );
}

/// PowerShell's `Get-Process` table: right-aligned numbers under a rule, an empty `CPU(s)`.
#[test]
fn powershell_get_process() {
    let mut s = String::from(
        "\r\nHandles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName\r\n",
    );
    s += "-------  ------    -----      -----     ------     --  -- -----------\r\n";
    for (h, n, pm, ws, cpu, id, si, name) in [
        (231, 13, 3012, 11264, "0.06", 1548, 0, "svchost"),
        (1012, 52, 180344, 203776, "421.33", 6184, 1, "OUTLOOK"),
        (0, 0, 60, 8, "", 0, 0, "Idle"),
    ] {
        s += &format!("{h:>7}{n:>8}{pm:>9}{ws:>11}{cpu:>11}{id:>7}{si:>4} {name}\r\n");
    }
    let p = parsed(Kind::Ps, Platform::Windows, &s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let o = fields(find(&p, "name", "OUTLOOK"));
    assert_eq!(
        (o["pid"], o["ws_k"], o["cpu_s"], o["handles"]),
        ("6184", "203776", "421.33", "1012")
    );
    assert!(find(&p, "name", "Idle").get("cpu_s").is_none());
}

/// The sensor's Windows `ps` as a host may print it otherwise: CRLF, the header in lower case
/// and its rule missing, a tab, a name longer than its column that pushes the row, garbage.
#[test]
fn windows_ps_tolerance() {
    let out = emu(DESKTOP, "ps");
    let mut lines: Vec<String> = out.lines().map(String::from).collect();
    lines[0] = lines[0].to_lowercase();
    lines.remove(1);
    let long = "a-process-name-longer-than-its-column-width.exe";
    assert!(lines[4].starts_with("csrss.exe "));
    lines[4] = lines[4].replacen(
        "csrss.exe                               ",
        &format!("{long} "),
        1,
    );
    lines.insert(5, "garbage that is no process".into());
    lines.insert(6, "\t".into());
    let s = lines.join("\r\n") + "\r\n";
    let p = parsed(Kind::Ps, Platform::Windows, &s);
    assert_eq!(p.unparsed, [(5, "garbage that is no process")]);
    let r = fields(find(&p, "name", long));
    assert_eq!(r["pid"], "520");
    assert!(r["start"].ends_with('M'));
    assert_eq!(find(&p, "pid", "1548").get("name"), Some("svchost.exe"));
}

/// `reg query` as reg.exe prints it: `(Default)`, empty data, data with four spaces, DWORDs,
/// subkeys; `/s` with a nested key and its values; the search summary; an error.
#[test]
fn reg_exe_query() {
    let s = [
        "",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
        "    AutoRestartShell    REG_DWORD    0x1",
        "    (Default)    REG_SZ    ",
        "    Shell    REG_SZ    explorer.exe",
        r"    Userinit    REG_SZ    C:\Windows\system32\userinit.exe,",
        "    LegalNoticeText    REG_SZ    Authorized use only.    Violators will be prosecuted.",
        r"    PreloadedMuiLanguages    REG_MULTI_SZ    en-US\0fr-FR",
        "    Not REG_SZ Really    REG_SZ    x",
        "",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AlternateShells",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\GPExtensions",
        "",
    ]
    .join("\r\n");
    let s = s.as_str();
    let p = parsed(Kind::RegQuery, Platform::Windows, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let d = fields(find(&p, "name", "(Default)"));
    assert_eq!((d["type"], d["value"]), ("REG_SZ", ""));
    assert_eq!(
        find(&p, "name", "AutoRestartShell").get("value"),
        Some("0x1")
    );
    assert_eq!(
        find(&p, "name", "LegalNoticeText").get("value"),
        Some("Authorized use only.    Violators will be prosecuted.")
    );
    assert_eq!(
        find(&p, "name", "Not REG_SZ Really").get("value"),
        Some("x")
    );
    assert_eq!(
        p.records
            .iter()
            .filter(|r| r.get("subkey").is_some())
            .count(),
        2
    );

    let s = "\
HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run
    OneDrive    REG_SZ    \"C:\\Users\\a\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe\" /background

HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Sub
    Name With Spaces    REG_EXPAND_SZ    %TEMP%\\x.exe

End of search: 2 match(es) found.
ERROR: The system was unable to find the specified registry key or value.
";
    let p = parsed(Kind::RegQuery, Platform::Windows, s);
    assert_eq!(p.unparsed.len(), 1);
    let n = fields(find(&p, "name", "Name With Spaces"));
    assert_eq!(
        (n["key"], n["value"]),
        (
            "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Sub",
            "%TEMP%\\x.exe"
        )
    );
    assert!(p.records.iter().all(|r| r.get("subkey").is_none()));
}

/// `Get-FileHash` (one row per algorithm, merged per path) and `sha256sum`/`md5sum` lines.
#[test]
fn filehash_other_forms() {
    let s = "\n\
Algorithm       Hash                                                                   Path\n\
---------       ----                                                                   ----\n\
SHA256          1DA9327468D045838DF41362AEC90BCBE3225F0D680D17DB033D71B71ECA14D0       C:\\Windows\\System32\\cmd.exe\n\
MD5             4FCDD1FCE5670EFF4D9A24835DFCF95D                                       C:\\Windows\\System32\\cmd.exe\n\
SHA256          E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855       C:\\Program Files\\x y\\z.exe\n";
    let p = parsed(Kind::Filehash, Platform::Windows, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    assert_eq!(p.records.len(), 2);
    let c = fields(&p.records[0]);
    assert_eq!(c["md5"], "4fcdd1fce5670eff4d9a24835dfcf95d");
    assert_eq!(
        c["sha256"],
        "1da9327468d045838df41362aec90bcbe3225f0d680d17db033d71b71eca14d0"
    );
    assert_eq!(
        p.records[1].get("path"),
        Some("C:\\Program Files\\x y\\z.exe")
    );

    let s = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /etc/passwd\n\
d41d8cd98f00b204e9800998ecf8427e *C:/x.bin\n\
sha256sum: /nope: No such file or directory\n\
/usr/bin/bash\nMD5: ZZZ\n";
    let p = parsed(Kind::Filehash, Platform::Linux, s);
    assert_eq!(p.records.len(), 2);
    assert_eq!(
        find(&p, "path", "C:/x.bin").get("md5"),
        Some("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(p.unparsed.len(), 3);
}

/// cmd's `set` (`NAME=value`, the hidden `=C:` variables) and a Unix value with `=` in it.
#[test]
fn env_other_forms() {
    let s = "=C:=C:\\Users\\a\r\nComSpec=C:\\WINDOWS\\system32\\cmd.exe\r\nLS_COLORS=rs=0:di=01;34\r\n  a continuation line\r\nEMPTY=\r\n";
    let p = parsed(Kind::Env, Platform::Windows, s);
    assert_eq!(find(&p, "name", "=C:").get("value"), Some("C:\\Users\\a"));
    assert_eq!(
        find(&p, "name", "LS_COLORS").get("value"),
        Some("rs=0:di=01;34")
    );
    assert_eq!(find(&p, "name", "EMPTY").get("value"), Some(""));
    assert_eq!(p.unparsed.len(), 1);
}

/// `Get-EventLog` (right-aligned Index and InstanceID, a truncated Source) and `Get-WinEvent`.
#[test]
fn eventlog_powershell_tables() {
    let s = [
        "",
        "   Index Time          EntryType   Source                 InstanceID Message",
        "   ----- ----          ---------   ------                 ---------- -------",
        "   48350 Nov 22 10:13  Warning     Microsoft-Windows...         1014 Name resolution for the name paypa1-support.example timed out.",
        "   48349 Nov 22 10:13  Information Service Control M...   1073748860 The Windows Update service entered the running state.",
        "    9999 Nov 22 10:12  Error       EventLog                     6008 The previous system shutdown was unexpected.",
    ]
    .join("\n");
    let s = s.as_str();
    let p = parsed(Kind::EventlogView, Platform::Windows, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let w = fields(find(&p, "index", "48350"));
    assert_eq!(
        (w["time"], w["type"], w["source"], w["id"]),
        ("Nov 22 10:13", "Warning", "Microsoft-Windows...", "1014")
    );
    assert_eq!(find(&p, "index", "48349").get("id"), Some("1073748860"));
    assert_eq!(find(&p, "index", "9999").get("source"), Some("EventLog"));

    let s = "\n   ProviderName: Service Control Manager\n\n\
TimeCreated                      Id LevelDisplayName Message\n\
-----------                      -- ---------------- -------\n\
11/22/2026 10:13:11 AM         7036 Information      The Windows Update service entered the running state.\n";
    let p = parsed(Kind::EventlogView, Platform::Windows, s);
    assert_eq!(p.unparsed.len(), 1);
    let e = fields(find(&p, "id", "7036"));
    assert_eq!(
        (e["time"], e["type"]),
        ("11/22/2026 10:13:11 AM", "Information")
    );
}

/// The sensor's Windows `ls` as a real host prints it (the form shown in the Cortex XSOAR
/// CrowdStrike Falcon integration's documentation of `cs-falcon-run-command ls`): the columns'
/// times in the host's offset (`UTC-5`), trailing spaces.
#[test]
fn windows_ls_real_offset() {
    let row = |n: &str, t: &str, b: &str, m: &str, lm: &str, c: &str| {
        format!("{n:<41}{t:<13}{b:<16}{m:<16}{lm:<26}{c:<25}\n")
    };
    let mut s = String::from("Directory listing for C:\\ -\n\n");
    s += &row(
        "Name",
        "Type",
        "Size (bytes)",
        "Size (MB)",
        "Last Modified (UTC-5)",
        "Created (UTC-5)",
    );
    s += &row(
        "----",
        "----",
        "------------",
        "---------",
        "---------------------",
        "---------------",
    );
    s += &row(
        "$Recycle.Bin",
        "<Directory>",
        "--",
        "--",
        "11/27/2018 10:54:44 AM",
        "9/15/2017 3:33:40 AM",
    );
    s += &row(
        "pagefile.sys",
        "<File>",
        "8589934592",
        "8192.000",
        "11/19/2018 1:31:42 PM",
        "9/15/2017 3:33:40 AM",
    );
    let p = parsed(Kind::Ls, Platform::Windows, &s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let f = fields(find(&p, "name", "pagefile.sys"));
    assert_eq!(
        (f["path"], f["size"], f["modified"], f["created"]),
        (
            "C:\\pagefile.sys",
            "8589934592",
            "11/19/2018 1:31:42 PM",
            "9/15/2017 3:33:40 AM"
        )
    );
}

/// `ls -l` on Linux with a symlink, ISO times, `total`; `ls -R`; a full path; Get-ChildItem.
#[test]
fn ls_other_forms() {
    let s = "\
/etc:
total 12
lrwxrwxrwx  1 root root   21 Jun 15 06:13 mtab -> ../proc/self/mounts
-rw-r--r--  1 root root  563 2025-05-10 09:01 passwd
-rw-r--r--@ 1 root wheel 300 Apr 19  2026 my file.txt
drwxr-xr-x  2 root root 4096 Jun 15 06:13 ssh
";
    let p = parsed(Kind::Ls, Platform::Linux, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let m = fields(find(&p, "name", "mtab"));
    assert_eq!(
        (m["type"], m["target"], m["path"]),
        ("link", "../proc/self/mounts", "/etc/mtab")
    );
    assert_eq!(
        find(&p, "name", "passwd").get("modified"),
        Some("2025-05-10 09:01")
    );
    assert_eq!(find(&p, "name", "my file.txt").get("size"), Some("300"));

    let p = parsed(Kind::Ls, Platform::Linux, "/etc/passwd\n");
    assert_eq!(
        (p.records[0].get("name"), p.records[0].get("path")),
        (Some("passwd"), Some("/etc/passwd"))
    );

    let s = "\r\n    Directory: C:\\Users\\a\\Downloads\r\n\r\n\
Mode                 LastWriteTime         Length Name\r\n\
----                 -------------         ------ ----\r\n\
d-----        11/20/2026   9:16 AM                Old Stuff\r\n\
-a----        11/20/2026   9:16 AM          96512 invoice.pdf.exe\r\n";
    let p = parsed(Kind::Ls, Platform::Windows, s);
    assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
    let i = fields(find(&p, "name", "invoice.pdf.exe"));
    assert_eq!(
        (i["type"], i["size"], i["path"]),
        ("file", "96512", "C:\\Users\\a\\Downloads\\invoice.pdf.exe")
    );
    assert_eq!(find(&p, "name", "Old Stuff").get("type"), Some("directory"));
}

/// `runscript` CSV (`ConvertTo-Csv`, with Windows PowerShell's `#TYPE` line): quotes, commas
/// and `""` inside, a value over two lines, a row short of fields.
#[test]
fn runscript_csv() {
    let s = "#TYPE System.Management.Automation.PSCustomObject\r\n\
\"Name\",\"Path\",\"Note\"\r\n\
\"svchost\",\"C:\\Windows\\System32\\svchost.exe\",\"ok\"\r\n\
\"evil\",\"C:\\Temp\\a, b.exe\",\"say \"\"hi\"\"\"\r\n\
\"multi\",\"C:\\x\",\"line one\r\nline two\"\r\n\
short,row\r\n\
plain,C:\\y, spaced \r\n";
    let p = parsed(Kind::Runscript, Platform::Windows, s);
    assert_eq!(p.records.len(), 4);
    assert_eq!(p.consumed, [0, 1, 5]);
    assert_eq!(p.unparsed, [(6, "short,row")]);
    let e = find(&p, "name", "evil");
    assert_eq!(
        (e.get("Path"), e.get("note")),
        (Some("C:\\Temp\\a, b.exe"), Some("say \"hi\""))
    );
    assert_eq!(e.fields[0].0, "Name", "the output's own case");
    assert_eq!(
        find(&p, "name", "multi").get("note"),
        Some("line one\r\nline two")
    );
    assert_eq!(find(&p, "name", "plain").get("note"), Some("spaced"));
}

/// `runscript` JSON: `ConvertTo-Json`'s array, one object, NDJSON, a one-line array; nested
/// values as compact JSON, `null` absent; anything else unparsed whole.
#[test]
fn runscript_json() {
    let s = "[\n    {\n        \"Name\":  \"svchost\",\n        \"Id\":  1548,\n        \"Modules\":  [ \"a\", \"b\" ],\n        \"Parent\":  null\n    },\n    {\n        \"Name\":  \"evil\",\n        \"Id\":  7280,\n        \"Info\":  { \"x\": 1, \"ok\": true }\n    }\n]\n";
    let p = parsed(Kind::Runscript, Platform::Windows, s);
    assert_eq!(p.records.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 7]);
    let a = fields(&p.records[0]);
    assert_eq!(
        (a["Name"], a["Id"], a["Modules"]),
        ("svchost", "1548", "[\"a\",\"b\"]")
    );
    assert!(!a.contains_key("Parent"));
    // Key order: as written with serde_json's `preserve_order`, sorted without it.
    let info = p.records[1].get("info");
    assert!(
        matches!(
            info,
            Some("{\"ok\":true,\"x\":1}" | "{\"x\":1,\"ok\":true}")
        ),
        "{info:?}"
    );

    let p = parsed(
        Kind::Runscript,
        Platform::Linux,
        "{\"host\": \"a\", \"n\": 1}\n{\"host\": \"b\", \"n\": 2}\n",
    );
    assert_eq!(p.records.len(), 2);
    assert_eq!(p.records[1].get("host"), Some("b"));
    let p = parsed(Kind::Runscript, Platform::Linux, "[{\"a\":1},{\"a\":2}]");
    assert_eq!((p.records.len(), p.records[1].line), (2, 0));
    let p = parsed(
        Kind::Runscript,
        Platform::Linux,
        "  {\"one\": \"object\"}  ",
    );
    assert_eq!(p.records[0].get("one"), Some("object"));

    for bad in [
        "{\"a\": ",
        "[\"a\", \"b\"]",
        "[1, {\"a\": 1}]",
        "hello world\nsecond line",
        "{} trailing",
        "[]",
        "Name\nsvchost",
    ] {
        let p = parsed(Kind::Runscript, Platform::Windows, bad);
        assert!(
            p.records.is_empty() && p.consumed.is_empty(),
            "{bad:?}: {p:?}"
        );
    }
}

/// `runscript` printing a `Format-Table` table.
#[test]
fn runscript_format_table() {
    let s = "\nName        Id Path\n----        -- ----\nsvchost   1548 C:\\Windows\\System32\\svchost.exe\nGoogle Chrome 828 C:\\Program Files\\Google\\Chrome\\chrome.exe\n";
    let p = parsed(Kind::Runscript, Platform::Windows, s);
    assert_eq!(find(&p, "Name", "svchost").get("Id"), Some("1548"));
    assert_eq!(p.records[0].fields[0].0, "Name");
    assert_eq!(p.records.len() + p.unparsed.len(), 2);
}

/// Lines of hundreds of thousands of words (a header among them) take no longer than their
/// length: nothing is quadratic in the words of a line.
#[test]
fn huge_lines() {
    let words: String = (0..60_000).map(|i| format!("w{i} ")).collect();
    let header = format!("Name PID Id {words}");
    let text = format!("{header}\n{words}\n{}\n{words}\n", "-- ".repeat(60_000));
    let t = std::time::Instant::now();
    for k in KINDS {
        for pf in Platform::ALL {
            parsed(k, pf, &text);
        }
    }
    println!(
        "huge lines ({} bytes), every kind and platform: {:?}",
        text.len(),
        t.elapsed()
    );
}

// --- properties -------------------------------------------------------------------------------

/// Lines of every format above, to mix with garbage.
fn pool() -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for (h, c) in [
        (DESKTOP, "ps"),
        (LINUX, "ps"),
        (HOSTILE, "ps"),
        (DESKTOP, "netstat"),
        (MAC, "netstat"),
        (DESKTOP, "env"),
        (LINUX, "env"),
        (DESKTOP, r"ls C:\Windows\System32"),
        (LINUX, "ls -l /etc"),
        (
            DESKTOP,
            r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
        ),
        (
            DESKTOP,
            r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion",
        ),
        (DESKTOP, r"filehash C:\Windows\System32\cmd.exe"),
        (DESKTOP, "eventlog view System 5"),
    ] {
        lines.extend(emu(h, c).lines().map(String::from));
    }
    lines.extend(
        [
            "Active Connections",
            "  TCP    [::1]:49670            [::1]:443              TIME_WAIT       0",
            "\"Name\",\"Id\"",
            "\"a,b\",\"1\"",
            "[",
            "{\"a\": 1}",
            "]",
            "{",
            "}",
            "Algorithm       Hash       Path",
            "SHA256  E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855  C:\\x",
            "total 12",
            "/etc:",
            "Directory listing for C:\\ -",
            "End of search: 2 match(es) found.",
            "users:((\"sshd\",pid=1423,fd=4))",
            "\u{1b}[31mred\u{7}",
        ]
        .map(String::from),
    );
    lines
}

fn line_strategy(pool: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(pool),
        2 => ".{0,80}",
        1 => "[ \t\u{0}-\u{1f}\u{7f}\u{1b}]{0,20}",
        1 => "[-= ]{0,40}",
        1 => "[a-zA-Z0-9 :\\[\\]\\\\/.*,\"{}()<>-]{0,120}",
        1 => Just(String::new()),
        1 => "x{1000,3000}",
    ]
}

fn text_strategy() -> impl Strategy<Value = String> {
    let pool = pool();
    (
        proptest::collection::vec((line_strategy(pool), 0u8..4), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, trailing)| {
            let mut s = String::new();
            for (i, (l, end)) in lines.iter().enumerate() {
                s += l;
                if i + 1 < lines.len() || trailing {
                    s += match end {
                        0 => "\r\n",
                        1 => "\r",
                        _ => "\n",
                    };
                }
            }
            s
        })
}

proptest! {
    // No regressions file: the tests' files stay under `src/parse/`.
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever the text, every kind on every platform accounts for every line once.
    #[test]
    fn any_text_accounted(text in text_strategy()) {
        for k in KINDS {
            for pf in Platform::ALL {
                let p = parse(k, pf, &text);
                if let Err(e) = accounted(&text, &p) {
                    return Err(TestCaseError::fail(format!("{} on {pf:?}: {e}", k.name())));
                }
            }
        }
    }

    /// A table of generated rows (columns of random widths, values longer than their column
    /// pushing the row) reads back: each row its values, or unparsed when it was pushed and
    /// ambiguous; a row that fits its columns always reads back.
    #[test]
    fn table_round_trips(
        widths in proptest::collection::vec(4usize..30, 4),
        rows in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9_.-]{0,34}", 1u32..100_000, 1u8..13, 0u8..60, any::<bool>(), 0u64..10_000_000),
            1..30,
        ),
    ) {
        let heads = ["Name", "Id", "Start Time (UTC)", "WorkingSet(Kb)"];
        // At least two spaces between the rules of two columns: with one, a value pushed
        // exactly onto the next column cannot be told from a full one (`SI ProcessName`).
        let cell = |v: &str, w: usize| format!("{v:<w$}  ");
        let mut s = String::new();
        for (h, w) in heads.iter().zip(&widths) {
            s += &cell(h, (*w).max(h.len()));
        }
        s += "\n";
        for (h, w) in heads.iter().zip(&widths) {
            s += &cell(&"-".repeat(h.len()), (*w).max(h.len()));
        }
        s += "\n";
        let mut want = Vec::new();
        for (name, pid, hour, min, pm, ws) in &rows {
            let start = format!("11/{hour}/2026 {hour}:{min:02}:07 {}", if *pm { "PM" } else { "AM" });
            let vals = [name.clone(), pid.to_string(), start, ws.to_string()];
            let fits = vals.iter().zip(heads.iter().zip(&widths)).all(|(v, (h, w))| v.len() <= (*w).max(h.len()));
            for (v, (h, w)) in vals.iter().zip(heads.iter().zip(&widths)) {
                s += &cell(v, (*w).max(h.len()));
            }
            s += "\n";
            want.push((vals, fits));
        }
        let p = parse(Kind::Ps, Platform::Windows, &s);
        prop_assert!(accounted(&s, &p).is_ok());
        for (i, (vals, fits)) in want.iter().enumerate() {
            match p.records.iter().find(|r| r.line == i + 2) {
                Some(r) => {
                    prop_assert_eq!(r.get("name"), Some(vals[0].as_str()));
                    prop_assert_eq!(r.get("pid"), Some(vals[1].as_str()));
                    prop_assert_eq!(r.get("start"), Some(vals[2].as_str()));
                    prop_assert_eq!(r.get("workingset_kb"), Some(vals[3].as_str()));
                }
                None => prop_assert!(!fits, "row {} fits its columns but was not read: {:?}", i, s),
            }
        }
    }

    /// `NAME=value` lines read back, values trimmed.
    #[test]
    fn env_round_trips(vars in proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_()]{0,20}", "[^\r\n]{0,60}"), 0..20)) {
        let s: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let p = parse(Kind::Env, Platform::Linux, &s);
        prop_assert!(accounted(&s, &p).is_ok());
        let blank = vars.iter().filter(|(k, v)| format!("{k}={v}").trim().is_empty()).count();
        prop_assert_eq!(p.records.len(), vars.len() - blank);
        for (r, (k, v)) in p.records.iter().zip(&vars) {
            prop_assert_eq!(r.get("name"), Some(k.as_str()));
            prop_assert_eq!(r.get("value"), Some(v.trim()));
        }
    }

    /// CSV written with quotes where needed reads back, field for field.
    #[test]
    fn csv_round_trips(rows in proptest::collection::vec(proptest::collection::vec("[^\r]{0,12}", 3), 1..10)) {
        let q = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
        let mut s = String::from("\"A\",\"B b\",\"c\"\n");
        for r in &rows {
            s += &r.iter().map(|v| q(v)).collect::<Vec<_>>().join(",");
            s += "\n";
        }
        let p = parse(Kind::Runscript, Platform::Windows, &s);
        prop_assert!(accounted(&s, &p).is_ok());
        let nonblank: Vec<&Vec<String>> = rows.iter().filter(|r| r.iter().any(|v| !v.trim().is_empty())).collect();
        prop_assert_eq!(p.records.len(), nonblank.len());
        for (rec, r) in p.records.iter().zip(nonblank) {
            prop_assert_eq!(rec.get("A"), Some(r[0].trim()));
            prop_assert_eq!(rec.get("b b"), Some(r[1].trim()));
            prop_assert_eq!(rec.get("C"), Some(r[2].trim()));
        }
    }
}
