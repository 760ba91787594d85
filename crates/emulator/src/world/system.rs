//! Everything on a host that is not a file: processes, network configuration and connections,
//! environment, users, mounts and Windows event logs. All derived from the host's seed on demand.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::LazyLock;

use super::clock;
use super::fs::Who;
use super::out;
use crate::rng::Rng;
use rtrsh_command::Platform;

/// One running process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    // Mostly the same few strings on every host: borrowed, not copied 50,000 times.
    pub name: Cow<'static, str>,
    pub path: Cow<'static, str>,
    pub user: Cow<'static, str>,
    pub start: i64,
    pub ws_kb: u64,
    pub vm_kb: u64,
    pub cpu_ms: u64,
}

/// (name, path, parent index, runs as the logged-on user, typical working set in KB)
type ProcSpec = (&'static str, &'static str, usize, bool, u64);

const WINDOWS_PROCS: &[ProcSpec] = &[
    ("System", "", 0, false, 150),
    ("Registry", "", 0, false, 62_000),
    ("smss.exe", r"C:\Windows\System32\smss.exe", 0, false, 1_200),
    (
        "csrss.exe",
        r"C:\Windows\System32\csrss.exe",
        2,
        false,
        5_800,
    ),
    (
        "wininit.exe",
        r"C:\Windows\System32\wininit.exe",
        2,
        false,
        6_900,
    ),
    (
        "csrss.exe",
        r"C:\Windows\System32\csrss.exe",
        2,
        false,
        6_100,
    ),
    (
        "winlogon.exe",
        r"C:\Windows\System32\winlogon.exe",
        2,
        false,
        11_400,
    ),
    (
        "services.exe",
        r"C:\Windows\System32\services.exe",
        4,
        false,
        10_800,
    ),
    (
        "lsass.exe",
        r"C:\Windows\System32\lsass.exe",
        4,
        false,
        24_600,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        31_000,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        17_200,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        12_800,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        54_300,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        9_600,
    ),
    (
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe",
        7,
        false,
        21_900,
    ),
    (
        "spoolsv.exe",
        r"C:\Windows\System32\spoolsv.exe",
        7,
        false,
        14_100,
    ),
    (
        "MsMpEng.exe",
        r"C:\Program Files\Windows Defender\MsMpEng.exe",
        7,
        false,
        212_000,
    ),
    (
        "CSFalconService.exe",
        r"C:\Program Files\CrowdStrike\CSFalconService.exe",
        7,
        false,
        88_000,
    ),
    (
        "CSFalconContainer.exe",
        r"C:\Program Files\CrowdStrike\CSFalconContainer.exe",
        17,
        false,
        41_000,
    ),
    ("dwm.exe", r"C:\Windows\System32\dwm.exe", 6, false, 96_000),
    (
        "fontdrvhost.exe",
        r"C:\Windows\System32\fontdrvhost.exe",
        6,
        false,
        4_300,
    ),
    (
        "sihost.exe",
        r"C:\Windows\System32\sihost.exe",
        9,
        true,
        27_000,
    ),
    (
        "taskhostw.exe",
        r"C:\Windows\System32\taskhostw.exe",
        9,
        true,
        19_000,
    ),
    ("explorer.exe", r"C:\Windows\explorer.exe", 6, true, 152_000),
    (
        "RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe",
        9,
        true,
        22_000,
    ),
    (
        "SearchHost.exe",
        r"C:\Windows\SystemApps\SearchHost.exe",
        9,
        true,
        118_000,
    ),
    (
        "OneDrive.exe",
        r"C:\Program Files\Microsoft OneDrive\OneDrive.exe",
        23,
        true,
        64_000,
    ),
    (
        "chrome.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        23,
        true,
        231_000,
    ),
    (
        "chrome.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        27,
        true,
        95_000,
    ),
    (
        "chrome.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        27,
        true,
        143_000,
    ),
    (
        "OUTLOOK.EXE",
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        23,
        true,
        187_000,
    ),
    (
        "ms-teams.exe",
        r"C:\Program Files\WindowsApps\ms-teams.exe",
        23,
        true,
        176_000,
    ),
    (
        "powershell.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        23,
        true,
        78_000,
    ),
    (
        "conhost.exe",
        r"C:\Windows\System32\conhost.exe",
        32,
        true,
        7_100,
    ),
];

const LINUX_PROCS: &[ProcSpec] = &[
    ("systemd", "/usr/lib/systemd/systemd", 0, false, 12_800),
    ("kthreadd", "", 0, false, 0),
    ("rcu_gp", "", 1, false, 0),
    ("kworker/0:1-events", "", 1, false, 0),
    ("ksoftirqd/0", "", 1, false, 0),
    (
        "systemd-journald",
        "/usr/lib/systemd/systemd-journald",
        0,
        false,
        24_100,
    ),
    (
        "systemd-udevd",
        "/usr/lib/systemd/systemd-udevd",
        0,
        false,
        6_900,
    ),
    (
        "systemd-resolved",
        "/usr/lib/systemd/systemd-resolved",
        0,
        false,
        13_400,
    ),
    ("cron", "/usr/sbin/cron", 0, false, 2_800),
    ("dbus-daemon", "/usr/bin/dbus-daemon", 0, false, 4_900),
    ("rsyslogd", "/usr/sbin/rsyslogd", 0, false, 5_600),
    ("falcond", "/opt/CrowdStrike/falcond", 0, false, 7_200),
    (
        "falcon-sensor",
        "/opt/CrowdStrike/falcon-sensor",
        11,
        false,
        98_000,
    ),
    ("sshd", "/usr/sbin/sshd", 0, false, 8_300),
    ("nginx", "/usr/sbin/nginx", 0, false, 2_100),
    ("nginx", "/usr/sbin/nginx", 14, false, 6_400),
    ("agetty", "/usr/sbin/agetty", 0, false, 1_900),
    ("sshd", "/usr/sbin/sshd", 13, true, 9_800),
    ("bash", "/usr/bin/bash", 17, true, 5_200),
    ("kworkerds", "/tmp/.X11-unix/kworkerds", 0, false, 412_000),
];

const MAC_PROCS: &[ProcSpec] = &[
    ("launchd", "/sbin/launchd", 0, false, 14_000),
    ("logd", "/usr/libexec/logd", 0, false, 9_800),
    (
        "UserEventAgent",
        "/usr/libexec/UserEventAgent",
        0,
        false,
        7_300,
    ),
    (
        "WindowServer",
        "/System/Library/PrivateFrameworks/SkyLight.framework/Resources/WindowServer",
        0,
        false,
        182_000,
    ),
    (
        "loginwindow",
        "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow",
        0,
        true,
        41_000,
    ),
    ("falcond", "/Library/CS/falcond", 0, false, 88_000),
    (
        "Finder",
        "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder",
        0,
        true,
        96_000,
    ),
    (
        "Dock",
        "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock",
        0,
        true,
        61_000,
    ),
    (
        "Google Chrome",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        0,
        true,
        264_000,
    ),
    (
        "Slack",
        "/Applications/Slack.app/Contents/MacOS/Slack",
        0,
        true,
        198_000,
    ),
    (
        "zoom.us",
        "/Applications/zoom.us.app/Contents/MacOS/zoom.us",
        0,
        true,
        143_000,
    ),
    (
        "helperd",
        "/Users/{user}/Library/Application Support/.helper/helperd",
        0,
        true,
        18_000,
    ),
    ("zsh", "/bin/zsh", 0, true, 3_100),
];

/// The hostile host's extra process name (escape sequences; `ps` adds invalid UTF-8 too).
pub const HOSTILE_PROC_NAME: &str = "\x1b]0;pwned\x07svchost\x1b[2K\r.exe";

/// The pid of the first process named `name` (0 when there is none).
fn pid_named(procs: &[Proc], name: &str) -> u32 {
    procs.iter().find(|p| p.name == name).map_or(0, |p| p.pid)
}

/// The processes a host starts with (before `kill` and `run`).
pub fn processes(who: &Who<'_>, platform: Platform) -> Vec<Proc> {
    let specs = match platform {
        Platform::Windows => WINDOWS_PROCS,
        Platform::Linux => LINUX_PROCS,
        Platform::Mac => MAC_PROCS,
    };
    let mut r = Rng::derive(who.seed, &[0x9_0c5]);
    let boot = clock::NOW - 3600 - (who.seed % (20 * 86_400)) as i64;
    let mut out: Vec<Proc> = Vec::with_capacity(specs.len() + 2);
    let mut pid: u32 = match platform {
        Platform::Windows => 4,
        Platform::Linux | Platform::Mac => 1,
    };
    // `DOMAIN\user` of the logged-on user's processes, built once per host.
    let win_user = if platform == Platform::Windows {
        format!("{}\\{}", netbios(who), who.user)
    } else {
        String::new()
    };
    for (i, (name, path, parent, as_user, ws)) in specs.iter().enumerate() {
        if i > 0 {
            pid += match platform {
                Platform::Windows => 4 * (1 + r.below(90) as u32),
                _ if i < 5 => 1,
                _ => 1 + r.below(400) as u32,
            };
        }
        let ppid = if i == 0 {
            0
        } else {
            out.get(*parent).map_or(0, |p| p.pid)
        };
        let start = if i < 20 {
            boot + (i as i64) * 3
        } else {
            boot + 60 + r.below((clock::NOW - boot - 60).max(1) as u64) as i64
        };
        let user: Cow<'static, str> = match (platform, *as_user) {
            (Platform::Windows, true) => Cow::Owned(win_user.clone()),
            (Platform::Windows, false) => r"NT AUTHORITY\SYSTEM".into(),
            (_, true) => who.user.to_string().into(),
            (_, false) => "root".into(),
        };
        let jitter = if *ws == 0 { 0 } else { r.below(*ws / 3 + 1) };
        out.push(Proc {
            pid,
            ppid,
            name: Cow::Borrowed(*name),
            path: if path.contains('{') {
                who.render(path).into()
            } else {
                Cow::Borrowed(*path)
            },
            user,
            start,
            ws_kb: ws + jitter,
            vm_kb: (ws + jitter) * (3 + r.below(6)) + 4_096,
            cpu_ms: r.below(600_000),
        });
    }
    // Demo artefacts: the workstation that opened the fake invoice, and the hostile process.
    if platform == Platform::Windows && (who.index == 0 || who.seed.is_multiple_of(10)) {
        let explorer = pid_named(&out, "explorer.exe");
        out.push(Proc {
            pid: pid + 4 * (1 + r.below(200) as u32),
            ppid: explorer,
            name: "invoice.pdf.exe".into(),
            path: who
                .render(r"C:\Users\{user}\Downloads\invoice.pdf.exe")
                .into(),
            user: win_user.clone().into(),
            start: clock::NOW - 2 * 86_400 - 3_500,
            ws_kb: 18_200,
            vm_kb: 96_512,
            cpu_ms: 48_211,
        });
    }
    // The intruder's process, started by its autorun at boot (see `planted`).
    if who.planted().process {
        let last = out.last().map_or(pid, |p| p.pid);
        let services = pid_named(&out, "services.exe");
        out.push(Proc {
            pid: last + 4 * (1 + r.below(50) as u32),
            ppid: services,
            name: super::planted::PROCESS.into(),
            path: super::planted::PROCESS_PATH.into(),
            user: r"NT AUTHORITY\SYSTEM".into(),
            start: boot + 95,
            ws_kb: 9_400,
            vm_kb: 61_000,
            cpu_ms: 91_000,
        });
    }
    if who.host.hostile {
        let last = out.last().map_or(pid, |p| p.pid);
        out.push(Proc {
            pid: last + 4,
            ppid: 4,
            name: HOSTILE_PROC_NAME.into(),
            path: r"C:\hostile\svchost.exe".into(),
            user: r"NT AUTHORITY\SYSTEM".into(),
            start: clock::NOW - 600,
            ws_kb: 6_600,
            vm_kb: 40_000,
            cpu_ms: 1_200,
        });
    }
    out
}

pub fn netbios(who: &Who<'_>) -> String {
    match who.host.machine_domain.split('.').next() {
        Some(d) if !d.is_empty() => d.to_uppercase(),
        _ => who.host.hostname.clone(),
    }
}

/// `H:MM:SS.mmm` of a duration in milliseconds.
fn push_mmss(buf: &mut Vec<u8>, ms: u64) {
    let s = ms / 1000;
    out::u64(buf, s / 3600);
    buf.push(b':');
    out::u64_zero(buf, (s / 60) % 60, 2);
    buf.push(b':');
    out::u64_zero(buf, s % 60, 2);
    buf.push(b'.');
    out::u64_zero(buf, ms % 1000, 3);
}

/// The two header lines of Windows `ps`.
static WINDOWS_PS_HEADER: LazyLock<String> = LazyLock::new(|| {
    let mut s = String::new();
    for cells in [
        [
            "Name",
            "Id",
            "Start Time (UTC)",
            "User Time",
            "Kernel Time",
            "WorkingSet(Kb)",
            "VirtualMem(Kb)",
        ],
        [
            "----",
            "--",
            "----------------",
            "---------",
            "-----------",
            "--------------",
            "--------------",
        ],
    ] {
        let [a, b, c, d, e, f, g] = cells;
        let _ = writeln!(s, "{a:<40}{b:<10}{c:<26}{d:<16}{e:<16}{f:<18}{g:<18}");
    }
    s
});

/// The header line of Linux and macOS `ps`.
static UNIX_PS_HEADER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{:>7} {:>7} {:<10} {:<20} {:>10} {:>10} {:>12}  COMMAND\n",
        "PID", "PPID", "USER", "START (UTC)", "RSS(KB)", "VSZ(KB)", "TIME"
    )
});

/// `ps` output. Written straight into bytes: this runs once per host of a batch `ps`.
pub fn render_ps(procs: &[Proc], platform: Platform, hostile: bool) -> Vec<u8> {
    let mut s: Vec<u8>;
    match platform {
        Platform::Windows => {
            // Rows are 145 bytes unless a cell overflows its column; the output is kept (as a
            // command's stdout) for as long as the command, so size it to fit.
            s = Vec::with_capacity(WINDOWS_PS_HEADER.len() + procs.len() * 145 + 96);
            s.extend_from_slice(WINDOWS_PS_HEADER.as_bytes());
            for p in procs {
                out::left(&mut s, &p.name, 40);
                let at = s.len();
                out::u64(&mut s, p.pid.into());
                out::pad_left_aligned(&mut s, at, 10);
                let at = s.len();
                clock::push_windows(&mut s, p.start);
                out::pad_left_aligned(&mut s, at, 26);
                let at = s.len();
                push_mmss(&mut s, p.cpu_ms * 2 / 3);
                out::pad_left_aligned(&mut s, at, 16);
                let at = s.len();
                push_mmss(&mut s, p.cpu_ms / 3);
                out::pad_left_aligned(&mut s, at, 16);
                let at = s.len();
                out::u64(&mut s, p.ws_kb);
                out::pad_left_aligned(&mut s, at, 18);
                let at = s.len();
                out::u64(&mut s, p.vm_kb);
                out::pad_left_aligned(&mut s, at, 18);
                s.push(b'\n');
            }
        }
        Platform::Linux | Platform::Mac => {
            // 86 bytes of columns per row, then the command.
            let commands: usize = procs
                .iter()
                .map(|p| match p.path.len() {
                    0 => p.name.len() + 2,
                    n => n,
                })
                .sum();
            s = Vec::with_capacity(UNIX_PS_HEADER.len() + procs.len() * 86 + commands + 96);
            s.extend_from_slice(UNIX_PS_HEADER.as_bytes());
            let mut cell = Vec::with_capacity(32);
            for p in procs {
                out::u64_right(&mut s, p.pid.into(), 7);
                s.push(b' ');
                out::u64_right(&mut s, p.ppid.into(), 7);
                s.push(b' ');
                out::left(&mut s, &p.user, 10);
                s.push(b' ');
                let at = s.len();
                clock::push_rfc3339(&mut s, p.start);
                out::pad_left_aligned(&mut s, at, 20);
                s.push(b' ');
                out::u64_right(&mut s, p.ws_kb, 10);
                s.push(b' ');
                out::u64_right(&mut s, p.vm_kb, 10);
                s.push(b' ');
                cell.clear();
                push_mmss(&mut cell, p.cpu_ms);
                out::right(&mut s, &cell, 12);
                s.extend_from_slice(b"  ");
                if p.path.is_empty() {
                    s.push(b'[');
                    s.extend_from_slice(p.name.as_bytes());
                    s.push(b']');
                } else {
                    s.extend_from_slice(p.path.as_bytes());
                }
                s.push(b'\n');
            }
        }
    }
    if hostile {
        // A process whose name is not even valid UTF-8.
        s.extend_from_slice(
            b"svc\xff\xfehost\xc3\x28.exe\x1b[31m                         9999      ",
        );
        clock::push_windows(&mut s, clock::NOW - 60);
        s.extend_from_slice(b"\x07\n");
    }
    s
}

/// Local addresses and listening ports of the host's platform.
pub fn render_netstat(who: &Who<'_>, platform: Platform, procs: &[Proc]) -> String {
    let mut r = Rng::derive(who.seed, &[0x7e7]);
    let pid_of = |name: &str| pid_named(procs, name);
    let ip = &who.host.local_ip;
    let mut rows: Vec<(&str, String, String, &str, u32)> = Vec::new();
    match platform {
        Platform::Windows => {
            let svc = pid_of("svchost.exe");
            rows.push((
                "TCP",
                "0.0.0.0:135".into(),
                "0.0.0.0:0".into(),
                "LISTENING",
                svc,
            ));
            rows.push((
                "TCP",
                "0.0.0.0:445".into(),
                "0.0.0.0:0".into(),
                "LISTENING",
                4,
            ));
            rows.push((
                "TCP",
                "0.0.0.0:3389".into(),
                "0.0.0.0:0".into(),
                "LISTENING",
                svc,
            ));
            rows.push((
                "TCP",
                "0.0.0.0:49664".into(),
                "0.0.0.0:0".into(),
                "LISTENING",
                pid_of("lsass.exe"),
            ));
            rows.push((
                "TCP",
                format!("{ip}:{}", 49_700 + r.below(2000)),
                "52.168.117.170:443".into(),
                "ESTABLISHED",
                pid_of("CSFalconService.exe"),
            ));
            rows.push((
                "TCP",
                format!("{ip}:{}", 49_700 + r.below(2000)),
                "142.250.72.196:443".into(),
                "ESTABLISHED",
                pid_of("chrome.exe"),
            ));
            rows.push((
                "TCP",
                format!("{ip}:{}", 49_700 + r.below(2000)),
                "10.10.4.20:445".into(),
                "ESTABLISHED",
                4,
            ));
            if who.planted().port {
                // The intruder's listener: its own process where it runs, else a svchost.
                let owner = match pid_of(super::planted::PROCESS) {
                    0 => svc,
                    p => p,
                };
                rows.push((
                    "TCP",
                    format!("0.0.0.0:{}", super::planted::PORT),
                    "0.0.0.0:0".into(),
                    "LISTENING",
                    owner,
                ));
            }
            let inv = pid_of("invoice.pdf.exe");
            if inv != 0 {
                rows.push((
                    "TCP",
                    format!("{ip}:{}", 51_000 + r.below(2000)),
                    "203.0.113.66:8443".into(),
                    "ESTABLISHED",
                    inv,
                ));
            }
            rows.push(("UDP", "0.0.0.0:5353".into(), "*:*".into(), "", svc));
            rows.push(("UDP", format!("{ip}:137"), "*:*".into(), "", 4));
        }
        Platform::Linux | Platform::Mac => {
            let sshd = pid_of("sshd");
            rows.push((
                "tcp",
                "0.0.0.0:22".into(),
                "0.0.0.0:*".into(),
                "LISTEN",
                sshd,
            ));
            if platform == Platform::Linux {
                rows.push((
                    "tcp",
                    "0.0.0.0:80".into(),
                    "0.0.0.0:*".into(),
                    "LISTEN",
                    pid_of("nginx"),
                ));
                rows.push((
                    "tcp",
                    "127.0.0.53:53".into(),
                    "0.0.0.0:*".into(),
                    "LISTEN",
                    pid_of("systemd-resolved"),
                ));
                rows.push((
                    "tcp",
                    format!("{ip}:22"),
                    format!("10.10.8.14:{}", 50_000 + r.below(10_000)),
                    "ESTABLISHED",
                    sshd,
                ));
                rows.push((
                    "tcp",
                    format!("{ip}:{}", 40_000 + r.below(20_000)),
                    "203.0.113.66:4444".into(),
                    "ESTABLISHED",
                    pid_of("kworkerds"),
                ));
            } else {
                rows.push((
                    "tcp",
                    format!("{ip}:{}", 50_000 + r.below(10_000)),
                    "17.253.144.10:443".into(),
                    "ESTABLISHED",
                    pid_of("Google Chrome"),
                ));
            }
            rows.push((
                "tcp",
                format!("{ip}:{}", 40_000 + r.below(20_000)),
                "52.168.117.170:443".into(),
                "ESTABLISHED",
                pid_of("falcond"),
            ));
            rows.push(("udp", "0.0.0.0:68".into(), "0.0.0.0:*".into(), "", 0));
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<8}{:<28}{:<28}{:<14}PID",
        "Proto", "Local Address", "Foreign Address", "State"
    );
    for (proto, local, foreign, state, pid) in rows {
        let _ = writeln!(s, "{proto:<8}{local:<28}{foreign:<28}{state:<14}{pid}");
    }
    s
}

fn gateway(ip: &str) -> String {
    match ip.rsplit_once('.') {
        Some((net, _)) => format!("{net}.254"),
        None => "10.0.0.254".into(),
    }
}

fn network(ip: &str) -> String {
    match ip.rsplit_once('.') {
        Some((net, _)) => format!("{net}.0"),
        None => "10.0.0.0".into(),
    }
}

/// `netstat -nr` (routing table).
pub fn render_routes(who: &Who<'_>, platform: Platform) -> String {
    let ip = &who.host.local_ip;
    let gw = gateway(ip);
    let net = network(ip);
    let mut s = String::new();
    match platform {
        Platform::Windows => {
            let _ = writeln!(s, "IPv4 Route Table");
            let _ = writeln!(
                s,
                "==========================================================================="
            );
            let _ = writeln!(s, "Active Routes:");
            let _ = writeln!(
                s,
                "Network Destination        Netmask          Gateway       Interface  Metric"
            );
            let _ = writeln!(
                s,
                "{:>18} {:>15} {:>16} {:>15} {:>6}",
                "0.0.0.0", "0.0.0.0", gw, ip, 25
            );
            let _ = writeln!(
                s,
                "{:>18} {:>15} {:>16} {:>15} {:>6}",
                "127.0.0.0", "255.0.0.0", "On-link", "127.0.0.1", 331
            );
            let _ = writeln!(
                s,
                "{:>18} {:>15} {:>16} {:>15} {:>6}",
                net, "255.255.255.0", "On-link", ip, 281
            );
            let _ = writeln!(
                s,
                "{:>18} {:>15} {:>16} {:>15} {:>6}",
                ip, "255.255.255.255", "On-link", ip, 281
            );
            let _ = writeln!(
                s,
                "==========================================================================="
            );
        }
        Platform::Linux => {
            let _ = writeln!(s, "Kernel IP routing table");
            let _ = writeln!(
                s,
                "Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface"
            );
            let _ = writeln!(
                s,
                "{:<16}{:<16}{:<16}UG        0 0          0 eth0",
                "0.0.0.0", gw, "0.0.0.0"
            );
            let _ = writeln!(
                s,
                "{:<16}{:<16}{:<16}U         0 0          0 eth0",
                net, "0.0.0.0", "255.255.255.0"
            );
        }
        Platform::Mac => {
            let _ = writeln!(s, "Routing tables\n\nInternet:");
            let _ = writeln!(
                s,
                "Destination        Gateway            Flags               Netif Expire"
            );
            let _ = writeln!(s, "{:<19}{:<19}{:<20}{:<6}", "default", gw, "UGScg", "en0");
            let _ = writeln!(
                s,
                "{:<19}{:<19}{:<20}{:<6}",
                "127", "127.0.0.1", "UCS", "lo0"
            );
            let _ = writeln!(
                s,
                "{:<19}{:<19}{:<20}{:<6}",
                format!("{}/24", net.trim_end_matches(".0")),
                "link#11",
                "UCS",
                "en0"
            );
        }
    }
    s
}

/// `ipconfig` (Windows).
pub fn render_ipconfig(who: &Who<'_>) -> String {
    let h = who.host;
    format!(
        "\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : {host}\n   Primary Dns Suffix  . . . . . . . : {dom}\n   Node Type . . . . . . . . . . . . : Hybrid\n   IP Routing Enabled. . . . . . . . : No\n   WINS Proxy Enabled. . . . . . . . : No\n   DNS Suffix Search List. . . . . . : {dom}\n\nEthernet adapter Ethernet0:\n\n   Connection-specific DNS Suffix  . : {dom}\n   Description . . . . . . . . . . . : Intel(R) Ethernet Connection (7) I219-LM\n   Physical Address. . . . . . . . . : {mac}\n   DHCP Enabled. . . . . . . . . . . : Yes\n   Autoconfiguration Enabled . . . . : Yes\n   IPv4 Address. . . . . . . . . . . : {ip}(Preferred)\n   Subnet Mask . . . . . . . . . . . : 255.255.255.0\n   Default Gateway . . . . . . . . . : {gw}\n   DHCP Server . . . . . . . . . . . : {gw}\n   DNS Servers . . . . . . . . . . . : 10.10.0.2\n                                       10.10.0.3\n   NetBIOS over Tcpip. . . . . . . . : Enabled\n",
        host = h.hostname,
        dom = h.machine_domain,
        mac = h.mac_address.to_uppercase(),
        ip = h.local_ip,
        gw = gateway(&h.local_ip),
    )
}

/// `ifconfig` (Linux and macOS).
pub fn render_ifconfig(who: &Who<'_>, platform: Platform) -> String {
    let h = who.host;
    let mac = h.mac_address.replace('-', ":").to_lowercase();
    let bcast = gateway(&h.local_ip).replace(".254", ".255");
    match platform {
        Platform::Mac => format!(
            "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384\n\toptions=1203<RXCSUM,TXCSUM,TXSTATUS,SW_TIMESTAMP>\n\tinet 127.0.0.1 netmask 0xff000000\n\tinet6 ::1 prefixlen 128\n\tnd6 options=201<PERFORMNUD,DAD>\nen0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tether {mac}\n\tinet {ip} netmask 0xffffff00 broadcast {bcast}\n\tnd6 options=201<PERFORMNUD,DAD>\n\tmedia: autoselect\n\tstatus: active\n",
            ip = h.local_ip,
        ),
        _ => format!(
            "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet {ip}  netmask 255.255.255.0  broadcast {bcast}\n        ether {mac}  txqueuelen 1000  (Ethernet)\n        RX packets 18422731  bytes 9918273645 (9.9 GB)\n        TX packets 12094418  bytes 2213849901 (2.2 GB)\n\nlo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n        inet6 ::1  prefixlen 128  scopeid 0x10<host>\n        loop  txqueuelen 1000  (Local Loopback)\n",
            ip = h.local_ip,
        ),
    }
}

/// `env`.
pub fn render_env(who: &Who<'_>, platform: Platform) -> String {
    let h = who.host;
    let mut s = String::new();
    match platform {
        Platform::Windows => {
            let vars = [
                ("ALLUSERSPROFILE", r"C:\ProgramData".to_string()),
                ("CommonProgramFiles", r"C:\Program Files\Common Files".into()),
                ("COMPUTERNAME", h.hostname.clone()),
                ("ComSpec", r"C:\Windows\system32\cmd.exe".into()),
                ("NUMBER_OF_PROCESSORS", "8".into()),
                ("OS", "Windows_NT".into()),
                (
                    "Path",
                    r"C:\Windows\system32;C:\Windows;C:\Windows\System32\Wbem;C:\Windows\System32\WindowsPowerShell\v1.0\"
                        .into(),
                ),
                ("PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC".into()),
                ("PROCESSOR_ARCHITECTURE", "AMD64".into()),
                ("ProgramData", r"C:\ProgramData".into()),
                ("ProgramFiles", r"C:\Program Files".into()),
                ("ProgramFiles(x86)", r"C:\Program Files (x86)".into()),
                ("PUBLIC", r"C:\Users\Public".into()),
                ("SystemDrive", "C:".into()),
                ("SystemRoot", r"C:\Windows".into()),
                ("TEMP", r"C:\Windows\TEMP".into()),
                ("TMP", r"C:\Windows\TEMP".into()),
                ("USERDOMAIN", netbios(who)),
                ("USERNAME", format!("{}$", h.hostname)),
                ("USERPROFILE", r"C:\Windows\system32\config\systemprofile".into()),
                ("windir", r"C:\Windows".into()),
            ];
            let _ = writeln!(s, "{:<28}Value", "Name");
            let _ = writeln!(s, "{:<28}-----", "----");
            for (k, v) in vars {
                let _ = writeln!(s, "{k:<28}{v}");
            }
        }
        _ => {
            let home = if platform == Platform::Mac {
                "/var/root"
            } else {
                "/root"
            };
            for (k, v) in [
                ("HOME", home.to_string()),
                ("HOSTNAME", h.hostname.to_lowercase()),
                ("LANG", "C.UTF-8".into()),
                ("LOGNAME", "root".into()),
                (
                    "PATH",
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                ),
                ("PWD", "/".into()),
                ("SHELL", "/bin/sh".into()),
                ("USER", "root".into()),
            ] {
                let _ = writeln!(s, "{k}={v}");
            }
        }
    }
    if h.hostile {
        s.push_str("PROMPT=\x1b]0;pwned\x07\x1b[2J$P$G\n");
    }
    s
}

/// The host's user accounts: (name, SID or uid, home).
pub fn accounts(who: &Who<'_>, platform: Platform) -> Vec<(String, String, String)> {
    let mut r = Rng::derive(who.seed, &[0x51d]);
    let dom = format!(
        "S-1-5-21-{}-{}-{}",
        1_000_000_000 + r.below(3_000_000_000),
        1_000_000_000 + r.below(3_000_000_000),
        1_000_000_000 + r.below(3_000_000_000)
    );
    match platform {
        Platform::Windows => vec![
            (
                "Administrator".into(),
                format!("{dom}-500"),
                r"C:\Users\Administrator".into(),
            ),
            ("DefaultAccount".into(), format!("{dom}-503"), String::new()),
            ("Guest".into(), format!("{dom}-501"), String::new()),
            (
                "WDAGUtilityAccount".into(),
                format!("{dom}-504"),
                String::new(),
            ),
            (
                who.user.to_string(),
                format!("{dom}-{}", 1100 + r.below(9000)),
                format!(r"C:\Users\{}", who.user),
            ),
        ],
        Platform::Linux => vec![
            ("root".into(), "0".into(), "/root".into()),
            ("www-data".into(), "33".into(), "/var/www".into()),
            ("sshd".into(), "105".into(), "/run/sshd".into()),
            (
                who.user.to_string(),
                "1000".into(),
                format!("/home/{}", who.user),
            ),
        ],
        Platform::Mac => vec![
            ("root".into(), "0".into(), "/var/root".into()),
            ("daemon".into(), "1".into(), "/var/root".into()),
            (
                who.user.to_string(),
                "501".into(),
                format!("/Users/{}", who.user),
            ),
        ],
    }
}

/// `users [name]`.
pub fn render_users(who: &Who<'_>, platform: Platform, filter: Option<&str>) -> Option<String> {
    let mut s = String::new();
    let mut found = false;
    for (name, id, home) in accounts(who, platform) {
        if let Some(f) = filter
            && !f.eq_ignore_ascii_case(&name)
        {
            continue;
        }
        found = true;
        let logon = if name == who.user {
            clock::windows(clock::NOW - 5 * 3600)
        } else {
            "Never".to_string()
        };
        if platform == Platform::Windows {
            let _ = writeln!(
                s,
                "UserName       : {name}\nSid            : {id}\nProfilePath    : {home}\nLastLogon      : {logon}\n"
            );
        } else {
            let _ = writeln!(
                s,
                "UserName: {name}\nUid:      {id}\nHome:     {home}\nLastLogon: {logon}\n"
            );
        }
    }
    found.then_some(s)
}

/// `getsid` (Windows).
pub fn render_getsid(who: &Who<'_>) -> String {
    let mut s = format!("{:<32}{}\n{:<32}{}\n", "UserName", "SID", "--------", "---");
    for (name, sid, _) in accounts(who, Platform::Windows) {
        let _ = writeln!(s, "{name:<32}{sid}");
    }
    let _ = writeln!(s, "{:<32}S-1-5-18", "SYSTEM");
    s
}

/// `mount` (list).
pub fn render_mount(platform: Platform, mapped: &[(String, String)]) -> String {
    match platform {
        Platform::Windows => {
            let mut s = format!(
                "{:<8}{:<12}{:<14}{:<18}{}\n{:<8}{:<12}{:<14}{:<18}{}\n{:<8}{:<12}{:<14}{:<18}{}\n",
                "Drive", "Type", "FileSystem", "Size", "Free",
                "-----", "----", "----------", "----", "----",
                "C:", "Fixed", "NTFS", "511101636608", "187346214912",
            );
            for (drive, share) in mapped {
                let _ = writeln!(s, "{drive:<8}{:<12}{:<14}{:<18}{}", "Network", "NTFS", "-", share);
            }
            s
        }
        Platform::Linux => "sysfs on /sys type sysfs (rw,nosuid,nodev,noexec,relatime)\nproc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\nudev on /dev type devtmpfs (rw,nosuid,relatime,size=4017236k,nr_inodes=1004309,mode=755)\n/dev/mapper/ubuntu--vg-ubuntu--lv on / type ext4 (rw,relatime)\n/dev/sda2 on /boot type ext4 (rw,relatime)\n/dev/sda1 on /boot/efi type vfat (rw,relatime,fmask=0077,dmask=0077)\ntmpfs on /run type tmpfs (rw,nosuid,nodev,noexec,relatime,size=812512k,mode=755)\n".into(),
        Platform::Mac => "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\ndevfs on /dev (devfs, local, nobrowse)\n/dev/disk3s6 on /System/Volumes/VM (apfs, local, noexec, journaled, noatime, nobrowse)\n/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse, protect)\nmap auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)\n".into(),
    }
}

/// The Windows event logs: (name, record count).
pub const EVENT_LOGS: [(&str, u32); 6] = [
    ("Application", 24_113),
    ("HardwareEvents", 0),
    ("Security", 131_972),
    ("Setup", 412),
    ("System", 48_350),
    ("Windows PowerShell", 2_904),
];

/// `eventlog list`.
pub fn render_eventlog_list() -> String {
    let mut s = format!(
        "{:<24}{:>10}\n{:<24}{:>10}\n",
        "Log", "Entries", "---", "-------"
    );
    for (name, n) in EVENT_LOGS {
        let _ = writeln!(s, "{name:<24}{n:>10}");
    }
    s
}

/// `eventlog view <name> [count] [source]`; `None` when the log does not exist.
pub fn render_eventlog_view(
    who: &Who<'_>,
    log: &str,
    count: usize,
    source: Option<&str>,
) -> Option<String> {
    let (name, total) = EVENT_LOGS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(log))
        .copied()?;
    type Ev = (&'static str, u32, &'static str, &'static str);
    let events: &[Ev] = match name {
        "Security" => &[
            (
                "Microsoft-Windows-Security-Auditing",
                4624,
                "Information",
                "An account was successfully logged on. Account Name: {user} Logon Type: 2",
            ),
            (
                "Microsoft-Windows-Security-Auditing",
                4625,
                "Information",
                "An account failed to log on. Account Name: administrator Source Network Address: 198.51.100.23",
            ),
            (
                "Microsoft-Windows-Security-Auditing",
                4688,
                "Information",
                "A new process has been created. New Process Name: C:\\Users\\{user}\\Downloads\\invoice.pdf.exe",
            ),
            (
                "Microsoft-Windows-Security-Auditing",
                4672,
                "Information",
                "Special privileges assigned to new logon. Account Name: SYSTEM",
            ),
            (
                "Microsoft-Windows-Security-Auditing",
                4720,
                "Information",
                "A user account was created. New Account: Account Name: support_tmp",
            ),
        ],
        "System" => &[
            (
                "Service Control Manager",
                7036,
                "Information",
                "The Windows Update service entered the running state.",
            ),
            (
                "Service Control Manager",
                7045,
                "Information",
                "A service was installed in the system. Service Name: UpdaterSvc Image Path: C:\\Windows\\Temp\\svch0st.exe",
            ),
            (
                "Microsoft-Windows-Kernel-General",
                12,
                "Information",
                "The operating system started at system time 2026-11-21T08:00:03Z.",
            ),
            (
                "EventLog",
                6005,
                "Information",
                "The Event log service was started.",
            ),
            (
                "Microsoft-Windows-DNS-Client",
                1014,
                "Warning",
                "Name resolution for the name paypa1-support.example timed out.",
            ),
        ],
        "Windows PowerShell" => &[
            (
                "PowerShell",
                400,
                "Information",
                "Engine state is changed from None to Available. HostName=ConsoleHost",
            ),
            (
                "PowerShell",
                600,
                "Information",
                "Provider \"Registry\" is Started.",
            ),
            (
                "PowerShell",
                403,
                "Information",
                "Engine state is changed from Available to Stopped.",
            ),
        ],
        "HardwareEvents" => &[],
        _ => &[
            (
                "Application Error",
                1000,
                "Error",
                "Faulting application name: OUTLOOK.EXE, version: 16.0.17928.20156",
            ),
            (
                "MsiInstaller",
                11707,
                "Information",
                "Product: Google Chrome -- Installation completed successfully.",
            ),
            (
                "Windows Error Reporting",
                1001,
                "Information",
                "Fault bucket 1552938462, type 5",
            ),
            (
                "Microsoft-Windows-Security-SPP",
                16384,
                "Information",
                "Successfully scheduled Software Protection service for re-start.",
            ),
        ],
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10}{:<26}{:<14}{:<40}{:<12}Message",
        "Index", "Time", "EntryType", "Source", "InstanceID"
    );
    let _ = writeln!(
        s,
        "{:<10}{:<26}{:<14}{:<40}{:<12}-------",
        "-----", "----", "---------", "------", "----------"
    );
    if events.is_empty() {
        return Some(s);
    }
    let mut shown = 0;
    let mut i = 0u64;
    while shown < count && i < u64::from(total) && i < 100_000 {
        let mut r = Rng::derive(who.seed, &[0xe7, u64::from(total), i]);
        let ev = r.pick(events);
        let index = u64::from(total) - i;
        let time = clock::NOW - (i as i64) * 97 - r.below(90) as i64;
        i += 1;
        if let Some(src) = source
            && !ev.0.eq_ignore_ascii_case(src)
        {
            continue;
        }
        shown += 1;
        let _ = writeln!(
            s,
            "{:<10}{:<26}{:<14}{:<40}{:<12}{}",
            index,
            clock::windows(time),
            ev.2,
            ev.0,
            ev.1,
            who.render(ev.3)
        );
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{HostState, World, WorldConfig};

    /// The `format!`-based `ps` this module used to write: the fast one must match it byte for
    /// byte.
    fn reference_ps(procs: &[Proc], platform: Platform, hostile: bool) -> Vec<u8> {
        fn mmss(ms: u64) -> String {
            let s = ms / 1000;
            format!(
                "{}:{:02}:{:02}.{:03}",
                s / 3600,
                (s / 60) % 60,
                s % 60,
                ms % 1000
            )
        }
        let mut s = String::new();
        match platform {
            Platform::Windows => {
                let _ = writeln!(
                    s,
                    "{:<40}{:<10}{:<26}{:<16}{:<16}{:<18}{:<18}",
                    "Name",
                    "Id",
                    "Start Time (UTC)",
                    "User Time",
                    "Kernel Time",
                    "WorkingSet(Kb)",
                    "VirtualMem(Kb)"
                );
                let _ = writeln!(
                    s,
                    "{:<40}{:<10}{:<26}{:<16}{:<16}{:<18}{:<18}",
                    "----",
                    "--",
                    "----------------",
                    "---------",
                    "-----------",
                    "--------------",
                    "--------------"
                );
                for p in procs {
                    let _ = writeln!(
                        s,
                        "{:<40}{:<10}{:<26}{:<16}{:<16}{:<18}{:<18}",
                        p.name,
                        p.pid,
                        clock::windows(p.start),
                        mmss(p.cpu_ms * 2 / 3),
                        mmss(p.cpu_ms / 3),
                        p.ws_kb,
                        p.vm_kb
                    );
                }
            }
            Platform::Linux | Platform::Mac => {
                let _ = writeln!(
                    s,
                    "{:>7} {:>7} {:<10} {:<20} {:>10} {:>10} {:>12}  COMMAND",
                    "PID", "PPID", "USER", "START (UTC)", "RSS(KB)", "VSZ(KB)", "TIME"
                );
                for p in procs {
                    let cmd: Cow<'_, str> = if p.path.is_empty() {
                        format!("[{}]", p.name).into()
                    } else {
                        Cow::Borrowed(&p.path)
                    };
                    let _ = writeln!(
                        s,
                        "{:>7} {:>7} {:<10} {:<20} {:>10} {:>10} {:>12}  {}",
                        p.pid,
                        p.ppid,
                        p.user,
                        clock::rfc3339(p.start),
                        p.ws_kb,
                        p.vm_kb,
                        mmss(p.cpu_ms),
                        cmd
                    );
                }
            }
        }
        let mut out = s.into_bytes();
        if hostile {
            out.extend_from_slice(
                b"svc\xff\xfehost\xc3\x28.exe\x1b[31m                         9999      ",
            );
            out.extend_from_slice(clock::windows(clock::NOW - 60).as_bytes());
            out.extend_from_slice(b"\x07\n");
        }
        out
    }

    #[test]
    fn ps_matches_the_format_based_rendering() {
        let world = World::new(&WorldConfig {
            hosts: 2_500,
            ..WorldConfig::default()
        });
        let state = HostState::default();
        let mut seen = std::collections::HashMap::new();
        for (i, h) in world.hosts().iter().enumerate() {
            let n = seen.entry(h.platform).or_insert(0);
            *n += 1;
            let ctx = world.ctx(i).expect("host");
            let procs = ctx.procs(&state);
            assert_eq!(
                render_ps(&procs, h.platform, h.hostile),
                reference_ps(&procs, h.platform, h.hostile),
                "host {i} ({:?})",
                h.platform
            );
        }
        assert!(seen.values().all(|&n| n >= 200), "{seen:?}");
        // Cells wider than their column, characters of several bytes, extreme numbers and times.
        let odd = |name: &'static str, path: &'static str, user: &'static str, n: u64| Proc {
            pid: n as u32,
            ppid: u32::MAX,
            name: name.into(),
            path: path.into(),
            user: user.into(),
            start: clock::NOW - (n as i64) * 7_919,
            ws_kb: n,
            vm_kb: u64::MAX - n,
            cpu_ms: n.wrapping_mul(1_000_003),
        };
        let procs = [
            odd("", "", "", 0),
            odd("ünïcødé ✓ 进程.exe", "/opt/ünï/✓", "jösé", 1),
            odd(
                HOSTILE_PROC_NAME,
                "C:\\x",
                "NT AUTHORITY\\SYSTEM",
                4_000_000_000,
            ),
            odd(
                "a-process-name-that-is-much-longer-than-forty-characters.exe",
                "/a",
                "a-user-longer-than-ten",
                u64::from(u32::MAX),
            ),
            odd("x", "", "root", 1 << 40),
            odd("y", "/y", "root", 17 * 3_600_000 + 59_999),
        ];
        for platform in [Platform::Windows, Platform::Linux, Platform::Mac] {
            for hostile in [false, true] {
                assert_eq!(
                    render_ps(&procs, platform, hostile),
                    reference_ps(&procs, platform, hostile)
                );
            }
        }
    }
}
