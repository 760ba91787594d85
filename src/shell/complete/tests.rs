//! Unit tests of the completer: catalog words, remote paths from a fake host, quoting, hostile
//! names, the cache, and the hint.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture as BoxFuture;

use super::*;

/// A host whose directories are a map (keyed by [`PathStyle::key`]).
struct FakeFs {
    style: PathStyle,
    cwd: Mutex<String>,
    dirs: HashMap<String, Vec<RemoteEntry>>,
    calls: AtomicUsize,
    listed: Mutex<Vec<String>>,
}

impl FakeFs {
    fn new(style: PathStyle, cwd: &str, dirs: &[(&str, &[(&str, bool)])]) -> FakeFs {
        FakeFs {
            style,
            cwd: Mutex::new(cwd.to_string()),
            dirs: dirs
                .iter()
                .map(|(d, entries)| {
                    (
                        style.key(d),
                        entries
                            .iter()
                            .map(|(n, dir)| RemoteEntry {
                                name: n.to_string(),
                                dir: *dir,
                            })
                            .collect(),
                    )
                })
                .collect(),
            calls: AtomicUsize::new(0),
            listed: Mutex::new(Vec::new()),
        }
    }
}

impl RemoteFs for FakeFs {
    fn cwd(&self) -> BoxFuture<'_, String> {
        let cwd = self.cwd.lock().expect("lock").clone();
        Box::pin(async move { cwd })
    }

    fn list<'a>(
        &'a self,
        style: PathStyle,
        dir: &'a str,
    ) -> BoxFuture<'a, Option<Vec<RemoteEntry>>> {
        assert_eq!(style, self.style);
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.listed.lock().expect("lock").push(dir.to_string());
        let found = self.dirs.get(&style.key(dir)).cloned();
        // A missing directory: the host answered with an error (an empty, cacheable listing),
        // except `/unreachable`, which the host could not be asked about.
        let answer = if dir == "/unreachable" {
            None
        } else {
            Some(found.unwrap_or_default())
        };
        Box::pin(async move { answer })
    }
}

struct FakeCloud {
    calls: AtomicUsize,
}

impl CloudNames for FakeCloud {
    fn names(&self, kind: CloudKind) -> BoxFuture<'_, Option<Vec<String>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let names = match kind {
            CloudKind::PutFiles => vec!["tools.zip", "collector.exe", "Team Tools.7z"],
            CloudKind::Scripts => vec!["Get Things", "GetLogs", "\x1b[2Jwipe"],
            CloudKind::FalconScripts => vec!["FileInfo", "Memory Dump"],
        };
        Box::pin(async move { Some(names.into_iter().map(String::from).collect()) })
    }
}

const WIN_TREE: &[(&str, &[(&str, bool)])] = &[
    (
        r"C:\",
        &[
            ("Program Files", true),
            ("ProgramData", true),
            ("Users", true),
            ("Windows", true),
            ("pagefile.sys", false),
            ("-Force", false),
            ("\x1b]0;pwned\x07notes.txt", false),
            ("say \"hi\".txt", false),
        ],
    ),
    (
        r"C:\Program Files",
        &[("CrowdStrike", true), ("Common Files", true)],
    ),
    (
        r"C:\Windows",
        &[
            ("System32", true),
            ("system.ini", false),
            ("win.ini", false),
        ],
    ),
];

const NIX_TREE: &[(&str, &[(&str, bool)])] = &[
    ("/", &[("etc", true), ("home", true), ("tmp", true)]),
    (
        "/etc",
        &[
            ("passwd", false),
            ("pam.d", true),
            ("Passwords", false),
            ("hosts", false),
        ],
    ),
    (
        "/home/bob",
        &[(".bashrc", false), ("docs", true), ("my notes.txt", false)],
    ),
];

struct Fixture {
    helper: ShellHelper,
    fs: Arc<FakeFs>,
    cloud: Arc<FakeCloud>,
}

fn fixture(platform: Platform) -> Fixture {
    let fs = Arc::new(match platform {
        Platform::Windows => FakeFs::new(PathStyle::Windows, r"C:\", WIN_TREE),
        _ => FakeFs::new(PathStyle::Unix, "/home/bob", NIX_TREE),
    });
    let cloud = Arc::new(FakeCloud {
        calls: AtomicUsize::new(0),
    });
    let remote = Remote {
        fs: fs.clone(),
        cloud: cloud.clone(),
    };
    Fixture {
        helper: ShellHelper::with_remote(Some(platform), Some(remote), None),
        fs,
        cloud,
    }
}

impl Fixture {
    /// Replacements for `line` with the cursor at its end (the fakes never wait).
    fn complete(&self, line: &str) -> Vec<String> {
        let (start, pairs) = self.complete_at(line);
        assert!(start <= line.len());
        pairs.into_iter().map(|p| p.replacement).collect()
    }

    fn complete_at(&self, line: &str) -> (usize, Vec<Pair>) {
        self.helper
            .candidates(line, line.len())
            .now_or_never()
            .expect("fakes answer at once")
    }

    fn displays(&self, line: &str) -> Vec<String> {
        self.complete_at(line)
            .1
            .into_iter()
            .map(|p| p.display)
            .collect()
    }
}

fn win() -> Fixture {
    fixture(Platform::Windows)
}

fn linux() -> Fixture {
    fixture(Platform::Linux)
}

// ----- the word under the cursor -------------------------------------------------------------

#[test]
fn scan_finds_the_current_word() {
    let (before, w) = scan("cd C:\\Win").expect("scans");
    assert_eq!(before, vec!["cd"]);
    assert_eq!((w.start, w.text.as_str(), w.quoted), (3, r"C:\Win", false));

    let (before, w) = scan("ls ").expect("scans");
    assert_eq!(before, vec!["ls"]);
    assert_eq!((w.start, w.text.as_str()), (3, ""));

    let (_, w) = scan(r#"cd "C:\Program Fi"#).expect("an open quote is being typed");
    assert_eq!(
        (w.start, w.text.as_str(), w.quoted),
        (3, r"C:\Program Fi", true)
    );

    let (before, w) = scan(r#"cat "C:\a b\" -Sh"#).expect("scans");
    assert_eq!(before, vec!["cat", r"C:\a b\"]);
    assert_eq!(w.text, "-Sh");

    let (before, w) = scan("runscript -Raw=```a b``` -Ti").expect("scans");
    assert_eq!(before, vec!["runscript", "-Raw=a b"]);
    assert_eq!(w.text, "-Ti");

    assert!(
        scan("runscript -Raw=```Get-Pro").is_none(),
        "inside a fence"
    );
    let (before, w) = scan("").expect("scans");
    assert!(before.is_empty() && w.text.is_empty() && w.start == 0);
}

// ----- catalog words -------------------------------------------------------------------------

#[test]
fn command_names_for_the_platform_and_builtins() {
    let w = win();
    let all = w.complete("");
    for name in [
        "reg", "eventlog", "ls", "help", "history", "files", "exit", "put",
    ] {
        assert!(all.contains(&name.to_string()), "{name} in {all:?}");
    }
    assert!(!all.contains(&"ifconfig".to_string()), "Linux only");
    assert_eq!(w.complete("re"), vec!["reg", "restart", "results"]);
    assert_eq!(w.complete("  fi"), vec!["filehash", "files"]);
    assert_eq!(linux().complete("if"), vec!["ifconfig"]);
    assert!(linux().complete("reg").is_empty(), "Windows only");
    let (start, _) = w.complete_at("  ev");
    assert_eq!(start, 2);
}

#[test]
fn subcommands() {
    let w = win();
    assert_eq!(
        w.complete("eventlog "),
        vec!["backup", "export", "list", "view"]
    );
    assert_eq!(w.complete("reg q"), vec!["query"]);
    assert_eq!(w.complete("update i"), vec!["install"]);
    let (start, _) = w.complete_at("reg q");
    assert_eq!(start, 4);
    assert!(w.complete("reg bogus ").is_empty());
    assert_eq!(w.complete("help ev"), vec!["eventlog"]);
}

#[test]
fn flags_in_rtr_case() {
    let w = win();
    assert_eq!(w.complete(r"rm C:\Temp\ir -F"), vec!["-Force"]);
    assert_eq!(w.complete("rm -f"), vec!["-Force"], "case is corrected");
    assert_eq!(
        w.complete("runscript -C"),
        vec!["-CloudFile=", "-CommandLine="]
    );
    assert_eq!(
        w.complete("runscript -CloudFile=GetLogs -C"),
        vec!["-CommandLine="],
        "a flag already given is not offered again"
    );
    assert_eq!(
        w.complete(r"reg set HKLM\Software\Test Name -ValueType=REG_D"),
        vec!["-ValueType=REG_DWORD"]
    );
    assert_eq!(w.complete("restart -"), vec!["-Confirm"]);
    assert!(
        w.complete("ls -").is_empty(),
        "ls flags are Linux/macOS only"
    );
    assert_eq!(linux().complete("ls -"), vec!["-L", "-R", "-l", "-t"]);
    assert_eq!(linux().complete("ls -l"), vec!["-l"], "exact case first");
    assert_eq!(w.complete("xmemdump k"), vec!["kerneldbg"]);
}

// ----- remote paths --------------------------------------------------------------------------

#[test]
fn windows_paths() {
    let w = win();
    assert_eq!(w.complete(r"cd C:\Win"), vec![r"C:\Windows\"]);
    assert_eq!(w.displays(r"cd C:\Win"), vec![r"Windows\"]);
    assert_eq!(
        w.complete(r"cd c:\WIN"),
        vec![r"c:\Windows\"],
        "case-insensitive; the typed directory is kept"
    );
    assert_eq!(
        w.complete(r"cat C:\P"),
        vec![
            r"C:\pagefile.sys",
            r#""C:\Program Files\""#,
            r"C:\ProgramData\"
        ]
    );
    assert_eq!(
        w.complete(r"cd C:\"),
        vec![
            r#""C:\Program Files\""#,
            r"C:\ProgramData\",
            r"C:\Users\",
            r"C:\Windows\"
        ],
        "cd offers directories only"
    );
    // Inside an opened quote, and after a closed one.
    assert_eq!(
        w.complete(r#"cd "C:\Program Files\Cr"#),
        vec![r#""C:\Program Files\CrowdStrike\""#]
    );
    assert_eq!(
        w.complete(r#"ls "C:\Program Files\""#),
        vec![
            r#""C:\Program Files\Common Files\""#,
            r#""C:\Program Files\CrowdStrike\""#
        ]
    );
    // Relative to the working directory.
    *w.fs.cwd.lock().expect("lock") = r"C:\Windows".into();
    assert_eq!(w.complete("cat sys"), vec!["system.ini", r"System32\"]);
    assert_eq!(w.complete(r"get \Windows\w"), vec![r"\Windows\win.ini"]);
    assert_eq!(
        w.fs.listed.lock().expect("lock").last().map(String::as_str),
        Some(r"C:\Windows"),
        "a rooted path takes the drive of the working directory"
    );
}

#[test]
fn paths_in_every_argument_that_takes_one() {
    let w = win();
    assert_eq!(
        w.complete(r"cp C:\Windows\win.ini C:\Win"),
        vec![r"C:\Windows\"]
    );
    assert_eq!(
        w.complete(r"runscript -HostPath=C:\Pro"),
        vec![
            r#"-HostPath="C:\Program Files\""#,
            r"-HostPath=C:\ProgramData\"
        ]
    );
    assert_eq!(w.complete(r"zip C:\Windows C:\U"), vec![r"C:\Users\"]);
    assert!(w.complete(r"getsid C:\W").is_empty(), "not a path");
    assert!(w.complete(r"reg query C:\W").is_empty(), "a registry key");
    assert!(
        w.complete(r"cat C:\Windows\win.ini C:\W").is_empty(),
        "no second path"
    );
}

#[test]
fn unix_paths() {
    let l = linux();
    assert_eq!(
        l.complete("cat /etc/pa"),
        vec!["/etc/pam.d/", "/etc/passwd"]
    );
    assert_eq!(l.complete("cat /etc/pas"), vec!["/etc/passwd"]);
    assert_eq!(
        l.complete("cat /etc/Pa"),
        vec!["/etc/Passwords"],
        "case-sensitive"
    );
    assert_eq!(l.complete("cd /"), vec!["/etc/", "/home/", "/tmp/"]);
    assert_eq!(
        l.complete("ls "),
        vec!["docs/", r#""my notes.txt""#],
        "no hidden entries unless asked"
    );
    assert_eq!(l.complete("cat ."), vec![".bashrc"]);
    assert_eq!(l.complete("tar -f=/t"), vec!["-f=/tmp/"]);
}

#[test]
fn hostile_names_never_reach_the_line() {
    let w = win();
    let all = w.complete(r"cat C:\");
    assert!(!all.is_empty());
    for c in &all {
        assert!(
            !c.chars().any(|ch| ch.is_control()),
            "control character in {c:?}"
        );
    }
    assert!(
        all.iter().all(|c| !c.contains("hi")),
        "quotes cannot be quoted"
    );
    // A name that reads as a flag is written so it does not.
    assert_eq!(w.complete("rm -"), vec!["-Force"], "a dash types a flag");
    assert!(w.complete("rm ").contains(&r".\-Force".to_string()));
    // Cloud names are filtered the same way.
    assert_eq!(
        w.complete("runscript -CloudFile="),
        vec![r#"-CloudFile="Get Things""#, "-CloudFile=GetLogs"]
    );
}

#[test]
fn cloud_names() {
    let w = win();
    assert_eq!(w.complete("put t"), vec!["tools.zip"]);
    assert_eq!(w.complete("put T"), vec![r#""Team Tools.7z""#]);
    assert_eq!(w.complete("put-and-run c"), vec!["collector.exe"]);
    assert_eq!(
        w.complete("runscript -CloudFile=Get"),
        vec![r#"-CloudFile="Get Things""#, "-CloudFile=GetLogs"]
    );
    assert_eq!(w.complete("falconscript -Name=F"), vec!["-Name=FileInfo"]);
    assert_eq!(
        w.complete("falconscript -Name=M"),
        vec![r#"-Name="Memory Dump""#]
    );
    assert_eq!(
        w.cloud.calls.load(Ordering::SeqCst),
        3,
        "cached per library"
    );
}

#[test]
fn listings_are_cached_per_directory_and_invalidated() {
    let w = win();
    let cache = w.helper.cache_handle();
    w.complete(r"cd C:\Win");
    w.complete(r"cd C:\Use");
    w.complete(r"cat c:\p");
    assert_eq!(w.fs.calls.load(Ordering::SeqCst), 1, "one listing of C:\\");
    w.complete(r"cat C:\Windows\w");
    assert_eq!(w.fs.calls.load(Ordering::SeqCst), 2);
    cache.invalidate(r"C:\Windows\new.txt");
    w.complete(r"cat C:\Windows\w");
    w.complete(r"cd C:\Win");
    assert_eq!(
        w.fs.calls.load(Ordering::SeqCst),
        3,
        "only C:\\Windows listed again"
    );
    cache.after_command(&lexer::words("mkdir ir").expect("lexes"), r"C:\");
    w.complete(r"cd C:\Win");
    assert_eq!(
        w.fs.calls.load(Ordering::SeqCst),
        4,
        "the working directory changed"
    );
    cache.clear();
    w.complete(r"cd C:\Win");
    assert_eq!(w.fs.calls.load(Ordering::SeqCst), 5);
}

#[test]
fn failures_give_nothing_and_are_not_cached() {
    let l = linux();
    assert!(l.complete("cat /nowhere/x").is_empty());
    assert!(l.complete("cat /nowhere/x").is_empty());
    assert_eq!(
        l.fs.calls.load(Ordering::SeqCst),
        1,
        "an error reply is cached"
    );
    assert!(l.complete("cat /unreachable/x").is_empty());
    assert!(l.complete("cat /unreachable/x").is_empty());
    assert_eq!(
        l.fs.calls.load(Ordering::SeqCst),
        3,
        "no answer is not cached"
    );
}

#[test]
fn without_a_session_only_the_catalog() {
    let h = ShellHelper::new(None, None);
    let (start, c) = h.complete_blocking("reg q", 5);
    assert_eq!(start, 4);
    assert_eq!(c[0].replacement, "query");
    assert!(h.complete_blocking(r"cd C:\W", 7).1.is_empty());
    // Through rustyline's trait.
    let history = rustyline::history::MemHistory::new();
    let ctx = Context::new(&history);
    let (_, c) = h.complete("ev", 2, &ctx).expect("completes");
    assert_eq!(c[0].replacement, "eventlog");
}

/// A host that never answers.
struct Silent;

impl RemoteFs for Silent {
    fn cwd(&self) -> BoxFuture<'_, String> {
        Box::pin(async { r"C:\".to_string() })
    }

    fn list<'a>(&'a self, _: PathStyle, _: &'a str) -> BoxFuture<'a, Option<Vec<RemoteEntry>>> {
        Box::pin(futures_util::future::pending())
    }
}

impl CloudNames for Silent {
    fn names(&self, _: CloudKind) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(futures_util::future::pending())
    }
}

#[test]
fn a_silent_host_gives_no_candidates() {
    // Multi-threaded, as in the shell: a current-thread runtime's timers only run under its own
    // `block_on`, not a handle's.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let silent = Arc::new(Silent);
    let remote = Remote {
        fs: silent.clone(),
        cloud: silent,
    };
    let h = ShellHelper::with_remote(
        Some(Platform::Windows),
        Some(remote),
        Some(rt.handle().clone()),
    )
    .with_timeout(Duration::from_millis(20));
    let (_, c) = h.complete_blocking(r"cd C:\W", 7);
    assert!(c.is_empty());
    assert_eq!(h.complete_blocking("put x", 5).1.len(), 0);
    // Inside the runtime it refuses to block.
    let (_, c) = rt.block_on(async { h.complete_blocking("reg q", 5) });
    assert!(c.is_empty());
}

#[test]
fn odd_cursor_positions() {
    let w = win();
    let (start, c) = w
        .helper
        .candidates("reg q ls", 5)
        .now_or_never()
        .expect("ready");
    assert_eq!((start, c.len()), (4, 1), "text after the cursor is ignored");
    let (_, c) = w
        .helper
        .candidates("cat ü", 5)
        .now_or_never()
        .expect("ready");
    assert!(c.is_empty(), "not a character boundary");
    let (_, c) = w.helper.candidates("ls", 99).now_or_never().expect("ready");
    assert_eq!(c[0].replacement, "ls");
}

// ----- hints ---------------------------------------------------------------------------------

#[test]
fn usage_hints() {
    let w = win();
    let h = |line: &str| w.helper.usage_hint(line, line.len());
    assert_eq!(h("rm ").as_deref(), Some("<path> [-Force]"));
    assert_eq!(h("rm   ").as_deref(), Some("<path> [-Force]"));
    assert_eq!(h("rm"), None, "the name may still be growing");
    assert_eq!(h("put"), None, "put-and-run");
    assert_eq!(
        h("reg ").as_deref(),
        Some("query|set|delete|load|unload ...")
    );
    assert_eq!(h("reg query"), None);
    assert_eq!(h("reg query ").as_deref(), Some("[Subkey] [Value]"));
    assert_eq!(h("reg quer "), None, "not a subcommand");
    assert_eq!(h("nosuch "), None);
    assert_eq!(h(r"rm C:\x"), None, "arguments typed");
    assert_eq!(h("ps "), None, "nothing to add");
    assert_eq!(h("ifconfig "), None, "not on Windows");
    assert_eq!(h("exit "), None);
    // After `only HOSTS` (many hosts), the command's own hint.
    assert_eq!(h("only A,B rm ").as_deref(), Some("<path> [-Force]"));
    assert_eq!(h("only A reg query ").as_deref(), Some("[Subkey] [Value]"));
    assert_eq!(h("only A "), None);
    assert_eq!(
        w.helper.usage_hint("rm ", 1),
        None,
        "cursor inside the line"
    );
    assert_eq!(UsageHint("x".into()).completion(), None, "never inserted");
}

#[test]
fn hints_can_be_turned_off() {
    use rustyline::history::DefaultHistory;
    let history = DefaultHistory::new();
    let ctx = Context::new(&history);
    let on = win().helper;
    assert_eq!(
        on.hint("rm ", 3, &ctx).map(|h| h.display().to_string()),
        Some("<path> [-Force]".to_string())
    );
    let off = win().helper.with_hints(false);
    assert!(off.hint("rm ", 3, &ctx).is_none());
}

#[test]
fn history_file_names() {
    assert_eq!(history_file_name(None), "history");
    assert_eq!(history_file_name(Some("default")), "history");
    assert_eq!(history_file_name(Some("prod-eu")), "history-prod-eu");
    assert_eq!(history_file_name(Some("../../etc/x")), "history-_.._etc_x");
    assert_eq!(history_file_name(Some("a/b c")), "history-a_b_c");
}

#[test]
fn fleet_prompts_complete_host_names_for_only_and_drop() {
    let w = win();
    let fleet = ShellHelper::with_remote(Some(Platform::Windows), None, None).with_hosts(
        [
            "DESKTOP-01",
            "DESKTOP-02",
            "SRV-LNX-01",
            "EVIL-\u{202e}01",
            "BAD\u{1b}[31m",
        ]
        .map(String::from),
    );
    let complete = |line: &str| -> Vec<String> {
        fleet
            .candidates(line, line.len())
            .now_or_never()
            .expect("no I/O")
            .1
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    };
    assert_eq!(complete("only DESK"), vec!["DESKTOP-01", "DESKTOP-02"]);
    assert_eq!(complete("drop srv"), vec!["SRV-LNX-01"]);
    // After a comma: the next name, the list kept.
    assert_eq!(
        complete("only DESKTOP-01,SR"),
        vec!["DESKTOP-01,SRV-LNX-01"]
    );
    // A hostile name is never offered.
    assert_eq!(
        complete("only "),
        vec!["DESKTOP-01", "DESKTOP-02", "SRV-LNX-01"]
    );
    // After the hosts, the command as usual.
    assert_eq!(
        complete("only DESKTOP-01 re"),
        vec!["reg", "restart", "results"]
    );
    // The fleet's own commands are offered; one host's helper knows no hosts.
    assert!(complete("on").contains(&"only".to_string()));
    assert!(w.complete("only DESK").is_empty());
}

#[test]
fn stack_completes_the_fields_of_the_newest_result() {
    let fields = StackFields::default();
    let mut w = win();
    w.helper = w.helper.with_stack_fields(fields.clone());
    // Nothing parsed yet: only the flag.
    assert_eq!(w.complete("stack "), vec!["--all"]);
    *fields.lock().expect("lock") = vec!["name".into(), "path".into(), "pid".into()];
    assert_eq!(w.complete("stack p"), vec!["path", "pid"]);
    assert_eq!(w.complete("stack --all na"), vec!["name"]);
    // After the field: a result number or a command, not fields again.
    assert!(!w.complete("stack name p").contains(&"path".to_string()));
}
