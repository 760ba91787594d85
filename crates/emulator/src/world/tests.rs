//! Tests of the simulated world: the fleet, the file systems, and the command interpreter.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::*;
use crate::content::Content;

struct Lib(HashMap<&'static str, &'static str>);

impl CloudLibrary for Lib {
    fn put_file(&self, name: &str) -> Option<Content> {
        self.0
            .get(name)
            .filter(|_| name.ends_with(".exe") || name.ends_with(".txt"))
            .map(|s| Content::text(*s))
    }
    fn script(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .filter(|_| !name.contains('.'))
            .map(|s| s.to_string())
    }
}

fn lib() -> Lib {
    Lib(HashMap::from([
        ("tool.exe", "MZ fake tool"),
        ("notes.txt", "hello from the library\n"),
        (
            "Triage",
            "Write-Output \"triage on $env:COMPUTERNAME\"\nWrite-Error 'one warning'\n",
        ),
    ]))
}

fn world() -> World {
    World::new(&WorldConfig::default())
}

const DESKTOP: usize = 0;
const LINUX: usize = 1;
const MAC: usize = 2;
const HOSTILE: usize = 3;

/// A session on one host.
struct Sh<'a> {
    w: &'a World,
    host: usize,
    state: HostState,
    cwd: String,
    lib: Lib,
}

impl<'a> Sh<'a> {
    fn new(w: &'a World, host: usize) -> Self {
        Sh {
            w,
            host,
            state: HostState::default(),
            cwd: w.initial_cwd(host),
            lib: lib(),
        }
    }

    fn try_run(&mut self, line: &str) -> Result<Execution, Rejection> {
        let base = line.split_whitespace().next().unwrap_or("").to_string();
        self.w.execute(
            self.host,
            &mut self.state,
            &mut self.cwd,
            &base,
            line,
            &self.lib,
        )
    }

    fn run(&mut self, line: &str) -> Execution {
        self.try_run(line).expect("command accepted")
    }

    /// stdout as text; asserts stderr is empty.
    fn ok(&mut self, line: &str) -> String {
        let e = self.run(line);
        assert_eq!(e.stderr, "", "unexpected stderr for {line:?}");
        String::from_utf8_lossy(&e.stdout.to_bytes()).into_owned()
    }

    /// stderr; asserts stdout is empty.
    fn err(&mut self, line: &str) -> String {
        let e = self.run(line);
        assert!(e.stdout.is_empty(), "unexpected stdout for {line:?}");
        assert!(!e.stderr.is_empty(), "expected stderr for {line:?}");
        e.stderr
    }
}

#[test]
fn deterministic_per_seed() {
    let a = World::new(&WorldConfig::default());
    let b = World::new(&WorldConfig::default());
    let c = World::new(&WorldConfig {
        seed: 2,
        ..WorldConfig::default()
    });
    assert_eq!(a.cid, b.cid);
    assert_ne!(a.cid, c.cid);
    for (x, y) in a.hosts().iter().zip(b.hosts()) {
        assert_eq!(format!("{x:?}"), format!("{y:?}"));
    }
    assert_ne!(a.hosts()[0].aid, c.hosts()[0].aid);
    for host in [DESKTOP, LINUX, MAC, 10, 20] {
        let mut s1 = Sh::new(&a, host);
        let mut s2 = Sh::new(&b, host);
        for cmd in ["ps", "ls", "netstat", "env", "users"] {
            assert_eq!(s1.ok(cmd), s2.ok(cmd), "{cmd} on host {host}");
        }
    }
    let p0 = Sh::new(&a, DESKTOP).ok("ps");
    let p1 = Sh::new(&c, DESKTOP).ok("ps");
    assert_ne!(p0, p1, "pids derive from the seed");
}

#[test]
fn ten_thousand_hosts_build_fast_and_are_unique() {
    let t = Instant::now();
    let w = World::new(&WorldConfig {
        hosts: 10_000,
        child_cids: 3,
        ..WorldConfig::default()
    });
    let took = t.elapsed();
    eprintln!("10,000 hosts built in {took:?}");
    assert!(took.as_millis() < 2_000, "took {took:?}");
    assert_eq!(w.hosts().len(), 10_000);
    let names: HashSet<&str> = w.hosts().iter().map(|h| h.hostname.as_str()).collect();
    // The two KIOSK-01 hosts share a name on purpose.
    assert_eq!(names.len(), 9_999);
    let aids: HashSet<&str> = w.hosts().iter().map(|h| h.aid.as_str()).collect();
    assert_eq!(aids.len(), 10_000);
    for h in w.hosts() {
        assert_eq!(h.aid.len(), 32);
        assert!(
            h.aid
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(h.last_seen.ends_with('Z') && h.first_seen <= h.last_seen);
        assert!(h.mac_address.starts_with("00-50-56-"));
        assert_eq!(w.index_of(&h.aid).map(|i| &w.hosts()[i].aid), Some(&h.aid));
    }
    let generated = &w.hosts()[7..];
    let share = |p: Platform| {
        generated.iter().filter(|h| h.platform == p).count() as f64 / generated.len() as f64
    };
    assert!((share(Platform::Windows) - 0.7).abs() < 0.03);
    assert!((share(Platform::Linux) - 0.2).abs() < 0.03);
    assert!((share(Platform::Mac) - 0.1).abs() < 0.03);
    let offline = generated.iter().filter(|h| !h.online).count() as f64 / generated.len() as f64;
    assert!((offline - 0.1).abs() < 0.03, "{offline}");
    assert_eq!(w.child_cids.len(), 3);
    let cids: HashSet<&str> = w.hosts().iter().map(|h| h.cid.as_str()).collect();
    assert_eq!(cids.len(), 4);
    assert!(cids.contains(w.cid.as_str()));
    assert!(w.hosts().iter().any(|h| h.hostname.starts_with("WS-")));
    assert!(w.hosts().iter().any(|h| h.hostname.starts_with("LNX-")));
    assert!(w.hosts().iter().any(|h| h.hostname.starts_with("MAC-")));
    assert!(
        w.hosts()
            .iter()
            .any(|h| h.product_type_desc == "Domain Controller")
    );
    assert!(
        w.hosts()
            .iter()
            .any(|h| h.tags.iter().any(|t| t.starts_with("FalconGroupingTags/")))
    );
}

#[test]
fn fixed_hosts() {
    let w = world();
    let h = w.hosts();
    let names: Vec<&str> = h.iter().take(7).map(|h| h.hostname.as_str()).collect();
    assert_eq!(
        names,
        [
            "DESKTOP-01",
            "SRV-LNX-01",
            "MBP-01",
            "HOSTILE-01",
            "LAPTOP-OFF-01",
            "KIOSK-01",
            "KIOSK-01"
        ]
    );
    assert_eq!(h[0].platform, Platform::Windows);
    assert_eq!(h[1].platform, Platform::Linux);
    assert_eq!(h[2].platform, Platform::Mac);
    assert!(h[3].hostile && h[3].online);
    assert!(!h[4].online);
    assert!(h[..4].iter().all(|h| h.online));
    assert_ne!(h[5].aid, h[6].aid);
    assert!(h[OLD_KIOSK].last_seen < h[5].last_seen);
    assert_eq!(h.iter().filter(|h| h.hostile).count(), 1);
    assert_eq!(w.initial_cwd(DESKTOP), "C:\\");
    assert_eq!(w.initial_cwd(LINUX), "/");

    let tame = World::new(&WorldConfig {
        hostile_host: false,
        ..WorldConfig::default()
    });
    assert!(tame.hosts().iter().all(|h| !h.hostile));
    assert_ne!(tame.hosts()[3].hostname, "HOSTILE-01");
    let small = World::new(&WorldConfig {
        hosts: 2,
        ..WorldConfig::default()
    });
    assert_eq!(small.hosts().len(), 2);
    assert_eq!(small.hosts()[1].hostname, "SRV-LNX-01");
    assert!(
        World::new(&WorldConfig {
            hosts: 0,
            ..WorldConfig::default()
        })
        .hosts()
        .is_empty()
    );
}

#[test]
fn windows_navigation_with_quotes_and_dots() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    assert_eq!(sh.ok("pwd"), "C:\\");
    assert_eq!(sh.ok(r#"cd "C:\Program Files""#), r"C:\Program Files");
    assert_eq!(sh.cwd, r"C:\Program Files");
    let ls = sh.ok("ls");
    assert!(
        ls.starts_with("Directory listing for C:\\Program Files -\n\n"),
        "{ls}"
    );
    assert!(ls.contains("CrowdStrike") && ls.contains("<Directory>"));
    assert_eq!(sh.ok("cd CrowdStrike"), r"C:\Program Files\CrowdStrike");
    assert!(sh.ok("ls").contains("CSFalconService.exe"));
    assert_eq!(sh.ok(r"cd ..\.."), "C:\\");
    assert_eq!(sh.ok("cd .."), "C:\\", "no higher than the root");
    // Case-insensitive, canonical case in the result.
    assert_eq!(
        sh.ok(r"cd c:\WINDOWS\system32\DRIVERS\etc"),
        r"C:\Windows\System32\drivers\etc"
    );
    assert!(sh.ok("cat hosts").contains("localhost name resolution"));
    assert_eq!(sh.ok(r"cd \Users"), r"C:\Users");
    let user = w.primary_user(DESKTOP).expect("user").to_string();
    assert!(sh.ok("ls").contains(&user));
    let notes = sh.ok(&format!(r"cat {user}\Desktop\notes.txt"));
    assert!(notes.contains("DESKTOP-01"), "{notes}");
    // A missing directory: error, cwd unchanged.
    let e = sh.err(r"cd C:\Nope");
    assert!(e.contains(r"C:\Nope"), "{e}");
    assert_eq!(sh.cwd, r"C:\Users");
    // A path with spaces but no quotes is refused by the API.
    let r = sh.try_run(r"cd C:\Program Files").expect_err("rejected");
    assert_eq!(r.code, 40012);
    assert_eq!(r.message, "Max args is 1. 2 were provided");
    assert_eq!(sh.cwd, r"C:\Users");
    // Listing a path with spaces and the suspicious download.
    let dl = sh.ok(&format!(r#"ls "C:\Users\{user}\Downloads""#));
    assert!(dl.contains("invoice.pdf.exe"));
    assert!(sh.state.is_pristine());
}

#[test]
fn unix_navigation() {
    let w = world();
    let mut sh = Sh::new(&w, LINUX);
    assert_eq!(sh.ok("cd /var/log"), "/var/log");
    let ls = sh.ok("ls");
    assert!(ls.lines().any(|l| l == "syslog"), "{ls}");
    assert!(
        sh.ok("ls -l")
            .lines()
            .any(|l| l.starts_with("-rw-r--r--") && l.ends_with(" syslog"))
    );
    assert_eq!(sh.ok("cd ../../etc"), "/etc");
    assert_eq!(sh.ok("cat hostname"), "srv-lnx-01\n");
    assert!(sh.ok("cat /etc/os-release").contains("Ubuntu 22.04"));
    assert_eq!(
        sh.err("cat nope.txt"),
        "cat: nope.txt: No such file or directory\n"
    );
    assert!(sh.err("cd /nope").contains("No such file or directory"));
    assert!(sh.err("cd /etc/passwd").contains("Not a directory"));
    assert_eq!(sh.cwd, "/etc");
    // Linux paths are case-sensitive.
    assert!(sh.err("cat /ETC/passwd").contains("No such file"));
    let user = w.primary_user(LINUX).expect("user").to_string();
    assert!(sh.ok("ls /home").lines().any(|l| l == user));
    assert!(sh.ok("cat /etc/passwd").contains(&format!("/home/{user}:")));

    let mut mac = Sh::new(&w, MAC);
    assert!(mac.ok("ls /").contains("Applications"));
    assert_eq!(mac.ok("cd /applications"), "/Applications");
    assert!(mac.ok("csrutil status").contains("enabled"));
    assert!(mac.ok("ifconfig").contains("en0"));
}

#[test]
fn big_files_are_exact_and_match_read_file() {
    let w = world();
    for host in [DESKTOP, LINUX, MAC] {
        let platform = w.hosts()[host].platform;
        let state = HostState::default();
        for b in BIG_FILES {
            let c = w
                .read_file(host, &state, b.path(platform))
                .expect("big file");
            assert_eq!(c.len(), b.len, "{}", b.path(platform));
            assert!(matches!(c, Content::Generated(_)), "never materialised");
        }
        let mut sh = Sh::new(&w, host);
        for b in &BIG_FILES[..2] {
            let out = sh.run(&format!("cat {}", b.path(platform)));
            assert_eq!(out.stderr, "");
            assert_eq!(out.stdout.len(), b.len);
            let c = w
                .read_file(host, &state, b.path(platform))
                .expect("big file");
            for off in [0, 4_095, b.len / 2, b.len - 300] {
                assert_eq!(out.stdout.slice(off, off + 300), c.slice(off, off + 300));
            }
        }
        let one = &BIG_FILES[0];
        let whole = sh
            .run(&format!("cat {}", one.path(platform)))
            .stdout
            .to_bytes();
        let c = w
            .read_file(host, &state, one.path(platform))
            .expect("big file");
        assert_eq!(whole, c.to_bytes());
        assert_eq!(whole.last(), Some(&b'\n'));
        // ls shows the exact size.
        let flag = if platform == Platform::Windows {
            ""
        } else {
            "-l "
        };
        let ls = sh.ok(&format!("ls {flag}{}", one.path(platform)));
        assert!(ls.contains("1048576"), "{ls}");
        let hash = sh.ok(&format!("filehash {}", one.path(platform)));
        assert!(
            hash.contains(&format!("SHA256: {}", c.sha256_hex())),
            "{hash}"
        );
    }
    // Different hosts have different bodies; the same host always the same.
    let a = w
        .read_file(0, &HostState::default(), BIG_FILES[0].windows)
        .expect("file");
    let b = w
        .read_file(5, &HostState::default(), BIG_FILES[0].windows)
        .expect("file");
    assert_ne!(a.slice(0, 4096), b.slice(0, 4096));
}

#[test]
fn changes_persist_in_state_only() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    assert_eq!(sh.ok(r"mkdir C:\Cases\IR-42"), r"C:\Cases\IR-42");
    assert!(sh.ok(r"ls C:\").contains("Cases"));
    assert!(!sh.state.is_pristine());
    assert!(sh.err(r"mkdir C:\Cases").contains("already exists"));
    assert_eq!(
        sh.ok(r"cp C:\Windows\System32\drivers\etc\hosts C:\Cases\IR-42"),
        r"C:\Cases\IR-42\hosts"
    );
    let copy = w
        .read_file(DESKTOP, &sh.state, r"c:\cases\ir-42\HOSTS")
        .expect("copied");
    let orig = w
        .read_file(DESKTOP, &sh.state, r"C:\Windows\System32\drivers\etc\hosts")
        .expect("orig");
    assert_eq!(copy.to_bytes(), orig.to_bytes());
    assert_eq!(
        sh.ok(r"mv C:\Cases\IR-42\hosts C:\Cases\hosts.txt"),
        r"C:\Cases\hosts.txt"
    );
    assert!(
        w.read_file(DESKTOP, &sh.state, r"C:\Cases\IR-42\hosts")
            .is_none()
    );
    assert!(
        w.read_file(DESKTOP, &sh.state, r"C:\Cases\hosts.txt")
            .is_some()
    );

    // rm: files directly, directories only with -Force.
    let user = w.primary_user(DESKTOP).expect("user").to_string();
    let inv = format!(r"C:\Users\{user}\Downloads\invoice.pdf.exe");
    assert!(w.read_file(DESKTOP, &sh.state, &inv).is_some());
    sh.ok(&format!("rm {inv}"));
    assert!(w.read_file(DESKTOP, &sh.state, &inv).is_none());
    assert!(sh.err(&format!("cat {inv}")).contains("does not exist"));
    assert!(sh.err(r"rm C:\Windows\Temp").contains("-Force"));
    sh.ok(r"rm C:\Windows\Temp -Force");
    assert!(w.list_dir(DESKTOP, &sh.state, r"C:\Windows\Temp").is_none());
    assert!(
        w.read_file(DESKTOP, &sh.state, r"C:\Windows\Temp\update.ps1")
            .is_none()
    );
    // Re-creating the directory does not resurrect its old contents.
    sh.ok(r"mkdir C:\Windows\Temp");
    assert_eq!(
        w.list_dir(DESKTOP, &sh.state, r"C:\Windows\Temp"),
        Some(vec![])
    );

    // kill: the process disappears from ps.
    let (pid, name) = w
        .processes(DESKTOP, &sh.state)
        .into_iter()
        .find(|(_, n)| n == "invoice.pdf.exe")
        .expect("demo process");
    assert!(sh.ok("ps").contains(&name));
    assert!(sh.ok(&format!("kill {pid}")).contains(&pid.to_string()));
    assert!(!sh.ok("ps").contains("invoice.pdf.exe"));
    assert!(sh.err(&format!("kill {pid}")).contains("Cannot find"));
    assert!(sh.err("kill 4").contains("denied"));

    // Another session on the same host (same state) sees everything; a fresh state sees nothing.
    let mut other = Sh::new(&w, DESKTOP);
    other.state = sh.state.clone();
    assert!(other.ok(r"ls C:\").contains("Cases"));
    let mut fresh = Sh::new(&w, DESKTOP);
    assert!(!fresh.ok(r"ls C:\").contains("Cases"));
    assert!(fresh.ok("ps").contains("invoice.pdf.exe"));
    assert!(w.read_file(DESKTOP, &fresh.state, &inv).is_some());
    assert!(fresh.state.is_pristine());
    // Changes on one host do not leak to another host.
    assert!(w.list_dir(5, &HostState::default(), r"C:\Cases").is_none());
}

#[test]
fn unix_changes() {
    let w = world();
    let mut sh = Sh::new(&w, LINUX);
    sh.ok("cd /tmp");
    assert_eq!(sh.ok("mkdir evidence"), "/tmp/evidence");
    sh.ok("cp /etc/passwd evidence/passwd");
    sh.ok("tar -f=/tmp/e.tar -c /tmp/evidence -z");
    assert!(
        w.read_file(LINUX, &sh.state, "/tmp/e.tar")
            .is_some_and(|c| !c.is_empty())
    );
    assert!(sh.err("rm evidence").contains("Is a directory"));
    sh.ok("rm evidence -Force");
    assert!(sh.err("ls evidence").contains("cannot access"));
    let (pid, _) = w
        .processes(LINUX, &sh.state)
        .into_iter()
        .find(|(_, n)| n == "kworkerds")
        .expect("miner");
    sh.ok(&format!("kill {pid}"));
    assert!(!sh.ok("ps").contains("kworkerds"));
}

#[test]
fn rejections() {
    let w = world();
    let mut win = Sh::new(&w, DESKTOP);
    let mut lnx = Sh::new(&w, LINUX);
    let nf = Rejection {
        code: 40007,
        message: "Command not found".into(),
    };
    assert_eq!(win.try_run("frobnicate").expect_err("unknown"), nf);
    assert_eq!(win.try_run("ifconfig").expect_err("not on windows"), nf);
    assert_eq!(lnx.try_run("ipconfig").expect_err("not on linux"), nf);
    assert_eq!(lnx.try_run("reg query").expect_err("not on linux"), nf);
    assert_eq!(win.try_run("").expect_err("empty"), nf);
    let r = win.try_run(r#"cat "C:\x"#).expect_err("lexer error");
    assert_eq!(r.code, 40012);
    let r = win.try_run("kill 1 2 3").expect_err("too many");
    assert_eq!(r.message, "Max args is 1. 3 were provided");
    let r = lnx.try_run("ls /a /b").expect_err("too many");
    assert_eq!(r.message, "Max args is 1. 2 were provided");
    // Flags do not count as arguments.
    lnx.ok("ls -l -t /etc");
    // The two-word base command form is accepted.
    let e = w
        .execute(
            DESKTOP,
            &mut win.state,
            &mut win.cwd,
            "reg query",
            r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
            &win.lib,
        )
        .expect("accepted");
    let out = String::from_utf8_lossy(&e.stdout.to_bytes()).into_owned();
    assert!(
        out.contains("SecurityHealth") && out.contains("REG_EXPAND_SZ"),
        "{out}"
    );
    // A bad host index is refused, not a panic.
    assert!(
        w.execute(
            99_999,
            &mut HostState::default(),
            &mut String::new(),
            "ls",
            "ls",
            &win.lib
        )
        .is_err()
    );
}

#[test]
fn hostile_host_outputs_are_hostile() {
    let w = world();
    let mut sh = Sh::new(&w, HOSTILE);
    let ls = sh.ok(HOSTILE_DIR.replace("C:", "ls C:").as_str());
    assert!(
        ls.contains('\x1b') && ls.contains(HOSTILE_ESCAPE_NAME),
        "{ls:?}"
    );
    let ps = sh.run("ps").stdout.to_bytes();
    assert!(ps.contains(&0x1b));
    assert!(std::str::from_utf8(&ps).is_err(), "ps has invalid UTF-8");
    assert!(String::from_utf8_lossy(&ps).contains(HOSTILE_PROC_NAME));
    let esc = sh.run(&format!("cat {HOSTILE_ESCAPES}")).stdout.to_bytes();
    assert_eq!(esc, HOSTILE_ESCAPES_TEXT.as_bytes());
    for needle in [
        "\x1b]0;pwned\x07",
        "\x1b[2J",
        "\x1b]52;c;",
        "\x1b[31m",
        "\x08",
        "\r",
    ] {
        assert!(HOSTILE_ESCAPES_TEXT.contains(needle), "{needle:?}");
    }
    let bin = sh
        .run(&format!("cat {HOSTILE_INVALID_UTF8}"))
        .stdout
        .to_bytes();
    assert!(std::str::from_utf8(&bin).is_err());
    assert_eq!(bin, HOSTILE_INVALID_BYTES);
    let long = w
        .read_file(HOSTILE, &HostState::default(), HOSTILE_LONG_LINE)
        .expect("long line");
    assert_eq!(long.len(), HOSTILE_LONG_LINE_LEN);
    assert!(!long.slice(0, 1 << 20).contains(&b'\n'));
    assert_eq!(long.slice(long.len() - 1, long.len()).as_ref(), b"\n");
    assert!(sh.ok("env").contains('\x1b'));
    // The other hosts have no hostile directory.
    assert!(
        w.list_dir(DESKTOP, &HostState::default(), HOSTILE_DIR)
            .is_none()
    );
    assert!(!Sh::new(&w, DESKTOP).ok("ps").contains('\x1b'));
}

#[test]
fn get_uploads_the_file() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    sh.ok(r"cd C:\Windows\System32\drivers");
    let e = sh.run(r"get etc\hosts");
    assert_eq!(e.stderr, "");
    let up = e.uploaded.expect("uploaded");
    assert_eq!(up.path, r"C:\Windows\System32\drivers\etc\hosts");
    let want = w.read_file(DESKTOP, &sh.state, &up.path).expect("file");
    assert_eq!(up.content.to_bytes(), want.to_bytes());
    let big = sh.run(&format!("get {}", BIG_FILES[2].windows));
    assert_eq!(
        big.uploaded.expect("uploaded").content.len(),
        BIG_FILES[2].len
    );
    let missing = sh.run(r"get C:\nope.txt");
    assert!(missing.uploaded.is_none() && !missing.stderr.is_empty());
    assert!(sh.run(r"get C:\Windows").uploaded.is_none());
}

#[test]
fn admin_commands() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    sh.ok(r"cd C:\Windows\Temp");
    assert_eq!(sh.ok("put tool.exe"), r"C:\Windows\Temp\tool.exe");
    assert_eq!(
        w.read_file(DESKTOP, &sh.state, r"C:\Windows\Temp\tool.exe")
            .expect("put")
            .to_bytes()
            .as_ref(),
        b"MZ fake tool"
    );
    assert_eq!(sh.err("put tool.exe"), "put: Destination already exists.\n");
    let missing = |r: Result<Execution, Rejection>| r.map(|_| ()).expect_err("refused");
    assert_eq!(
        missing(sh.try_run("put TOOL.exe")).code,
        40412,
        "names are case-sensitive"
    );
    let r = missing(sh.try_run("put missing.exe"));
    assert_eq!(
        (r.code, r.message.as_str()),
        (40412, "The file missing.exe could not be found")
    );
    assert_eq!(r.single_host("put").code, 40408);

    let out = sh.ok("runscript -Raw=```Write-Output hello; echo \"two words\"\nWrite-Host 'x'```");
    assert_eq!(out, "hello\ntwo words\nx\n");
    let e = sh.run("runscript -CloudFile=Triage");
    assert_eq!(
        String::from_utf8_lossy(&e.stdout.to_bytes()),
        "triage on DESKTOP-01\n"
    );
    assert_eq!(e.stderr, "one warning\n");
    let r = missing(sh.try_run("runscript -CloudFile=Nope"));
    assert_eq!(r.code, 40412);
    assert_eq!(
        r.single_host("runscript"),
        Rejection {
            code: 40006,
            message: "command is not valid".into()
        }
    );
    sh.ok(r#"runscript -HostPath="C:\Windows\Temp\update.ps1""#);

    let started = sh.ok(r#"run "C:\Windows\System32\cmd.exe" -CommandLine=```/c whoami```"#);
    assert!(started.contains("cmd.exe"), "{started}");
    assert!(sh.ok("ps").contains("cmd.exe"));
    assert!(!sh.err(r#"run "C:\nope.exe""#).is_empty());
    assert!(sh.ok("put-and-run tool.exe").contains("putrun"));

    assert!(sh.err("restart").contains("-Confirm"));
    assert!(sh.ok("shutdown -Confirm").contains("DESKTOP-01"));
    assert!(sh.ok("update list").contains("KB"));
    assert!(sh.ok("xmemdump kerneldbg").contains("Wrote"));
    let (pid, _) = w.processes(DESKTOP, &sh.state)[5].clone();
    assert!(sh.ok(&format!("memdump {pid}")).contains("memdump"));
    assert!(sh.ok("history").contains("put tool.exe"));
}

#[test]
fn registry_changes_persist() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    let run = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run";
    assert!(
        sh.ok(&format!("reg query {run}"))
            .contains("WindowsUpdaterSvc")
    );
    sh.ok(&format!(
        r"reg set {run} Evil -ValueType=REG_SZ -Value=C:\evil.exe"
    ));
    let q = sh.ok(&format!("reg query {run} Evil"));
    assert!(q.contains(r"Evil    REG_SZ    C:\evil.exe"), "{q}");
    sh.ok(&format!("reg delete {run} WindowsUpdaterSvc"));
    assert!(
        !sh.ok(&format!("reg query {run}"))
            .contains("WindowsUpdaterSvc")
    );
    sh.ok(r"reg set HKCU\Software\Acme\Deep\Key");
    assert!(
        sh.ok(r"reg query HKCU\Software\Acme")
            .contains(r"HKEY_CURRENT_USER\Software\Acme\Deep")
    );
    sh.ok(r"reg delete HKCU\Software\Acme");
    assert!(
        sh.err(r"reg query HKCU\Software\Acme\Deep\Key")
            .contains("unable to find")
    );
    assert!(
        sh.err(r"reg set HKLM\X\Y V -ValueType=REG_DWORD -Value=abc")
            .contains("Invalid")
    );
    // Host-specific values render per host.
    assert!(
        sh.ok(r"reg query HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName")
            .contains("DESKTOP-01")
    );
    // A fresh state sees the template again.
    let mut fresh = Sh::new(&w, DESKTOP);
    assert!(
        fresh
            .ok(&format!("reg query {run}"))
            .contains("WindowsUpdaterSvc")
    );
    assert!(
        sh.ok(r"reg load C:\Windows\System32\config\SAM HKLM\TempHive")
            .contains("successfully")
    );
    assert!(
        sh.ok(r"reg query HKLM")
            .contains(r"HKEY_LOCAL_MACHINE\TempHive")
    );
    sh.ok(r"reg unload HKLM\TempHive");
    assert!(!sh.ok(r"reg query HKLM").contains("TempHive"));
}

#[test]
fn read_only_commands_render() {
    let w = world();
    let mut win = Sh::new(&w, DESKTOP);
    assert!(win.ok("ipconfig").contains(&w.hosts()[DESKTOP].local_ip));
    assert!(win.ok("netstat").contains("LISTENING"));
    assert!(win.ok("netstat -nr").contains("0.0.0.0"));
    assert!(win.ok("getsid").contains("S-1-5-21-"));
    assert!(win.ok("eventlog list").contains("Security"));
    let ev = win.ok("eventlog view Security 5");
    assert_eq!(ev.lines().count(), 2 + 5, "{ev}");
    assert!(win.err("eventlog view Nope").contains("does not exist"));
    assert!(win.ok("mount").contains("NTFS"));
    assert!(win.ok("users").contains("Administrator"));
    assert_eq!(win.ok("clear"), "");
    let ps = win.ok("ps");
    assert!(ps.contains("lsass.exe") && ps.contains("svchost.exe"));
    let mut lnx = Sh::new(&w, LINUX);
    assert!(lnx.ok("netstat").contains("LISTEN"));
    assert!(lnx.ok("netstat -nr").contains("Kernel IP routing table"));
    assert!(lnx.ok("mount").contains(" on / type ext4"));
    assert!(lnx.ok("env").contains("PATH="));
    assert!(lnx.ok("ps").contains("systemd"));
    assert!(lnx.state.is_pristine());
}

#[test]
fn memory_and_rss_at_scale() {
    fn rss_kb() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4)
    }
    let before = rss_kb();
    let w = World::new(&WorldConfig {
        hosts: 10_000,
        ..WorldConfig::default()
    });
    if let (Some(a), Some(b)) = (before, rss_kb()) {
        eprintln!("10,000 hosts: ~{} KiB resident", b.saturating_sub(a));
    }
    // Every host answers without per-host file systems being built.
    let lib = lib();
    for host in (0..10_000).step_by(997) {
        let mut state = HostState::default();
        let mut cwd = w.initial_cwd(host);
        let e = w
            .execute(host, &mut state, &mut cwd, "ls", "ls", &lib)
            .expect("ls");
        assert!(!e.stdout.is_empty());
        assert!(state.is_pristine());
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "ls",
        "cd",
        "cat",
        "rm",
        "mkdir",
        "cp",
        "mv",
        "get",
        "put",
        "run",
        "reg",
        "kill",
        "zip",
        "tar",
        "eventlog",
        "update",
        "runscript",
        "memdump",
        "map",
        "mount",
        "umount",
        "filehash",
        "query",
        "set",
        "delete",
        "load",
        "unload",
        "view",
        "list",
        "..",
        ".",
        "/",
        "\\",
        "C:",
        "D:",
        "C:\\",
        "-Force",
        "-Confirm",
        "-Raw=```echo x```",
        "-CloudFile=",
        "-f=/tmp/x",
        "-c",
        "-l",
        "-R",
        "\"",
        "```",
        "~",
        "*",
        "0",
        "4",
        "99999999999",
        "/etc",
        "Windows",
        "C:\\Windows\\Temp",
        "/var/log",
        "..\\..",
        "../..",
        "HKLM\\SOFTWARE",
        "\u{1b}[2J",
        "é",
        "\u{0}",
        "   ",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn no_input_panics(host in 0usize..8, picks in proptest::collection::vec(0usize..WORDS.len(), 0..6), junk in ".{0,12}") {
            let w = World::new(&WorldConfig { hosts: 8, ..WorldConfig::default() });
            let mut sh = Sh::new(&w, host);
            let mut line: Vec<&str> = picks.iter().map(|i| WORDS[*i]).collect();
            line.push(&junk);
            let line = line.join(" ");
            for _ in 0..2 {
                if let Ok(e) = sh.try_run(&line) {
                    // Outputs are bounded enough to materialise (except big generated files).
                    prop_assert!(e.stdout.len() < 600 << 20);
                }
            }
            let _ = sh.try_run("ls -R /");
            let _ = sh.try_run(&junk);
        }
    }
}

#[test]
fn scripts_take_their_sleep_and_stop_at_their_timeout() {
    let w = world();
    let mut sh = Sh::new(&w, DESKTOP);
    let e = sh.run(
        "runscript -Raw=```Write-Output a; Start-Sleep -Seconds 5; Write-Output b``` -Timeout=60",
    );
    assert_eq!(e.runtime_ms, 5_000);
    assert_eq!(String::from_utf8_lossy(&e.stdout.to_bytes()), "a\nb\n");
    assert_eq!(e.stderr, "");
    // Without -Timeout: the sensor's 30 s; what ran before the cut stays.
    let e = sh.run("runscript -Raw=```Write-Output a; Start-Sleep 40; Write-Output b```");
    assert_eq!(e.runtime_ms, 30_000);
    assert_eq!(String::from_utf8_lossy(&e.stdout.to_bytes()), "a\n");
    assert_eq!(e.stderr, super::commands::script_cut_off(30));
    let e = sh.run("runscript -Raw=```sleep 0.5; Start-Sleep -Milliseconds 250``` -timeout=1");
    assert_eq!(e.runtime_ms, 750);
    assert_eq!(e.stderr, "");
}

#[test]
fn deferred_ps_renders_what_ps_would_have() {
    let w = world();
    for host in [DESKTOP, LINUX, MAC, HOSTILE] {
        let mut sh = Sh::new(&w, host);
        // Change what `ps` shows: a process killed, one started (Windows).
        let ctx = w.ctx(host).expect("host");
        for p in ctx.procs(&sh.state).iter().rev() {
            sh.run(&format!("kill {}", p.pid));
            if !sh.state.is_pristine() {
                break;
            }
        }
        if w.hosts()[host].platform == rtrsh_command::Platform::Windows {
            sh.run(r#"run "C:\Windows\System32\cmd.exe" -CommandLine=```/c whoami```"#);
        }
        assert!(!sh.state.is_pristine());
        let (mut state, mut cwd) = (sh.state.clone(), sh.cwd.clone());
        let direct = w
            .execute(host, &mut state, &mut cwd, "ps", "ps", &sh.lib)
            .expect("ps");
        let (exec, later) = w
            .execute_deferring(host, &mut sh.state, &mut sh.cwd, "ps", "ps", &sh.lib)
            .expect("ps");
        assert!(exec.stdout.is_empty());
        assert_eq!(exec.stderr, direct.stderr);
        // The effects are the same: the line is in the history either way.
        assert_eq!(sh.state.history, state.history);
        // A later change does not reach the snapshot.
        let later = later.expect("ps is deferred");
        sh.run(&format!("kill {}", ctx.procs(&sh.state)[3].pid));
        assert_eq!(
            w.render_deferred(&later).to_bytes(),
            direct.stdout.to_bytes()
        );
        // Only `ps` is deferred.
        let (exec, later) = w
            .execute_deferring(host, &mut sh.state, &mut sh.cwd, "pwd", "pwd", &sh.lib)
            .expect("pwd");
        assert!(later.is_none());
        assert!(!exec.stdout.is_empty());
    }
}
