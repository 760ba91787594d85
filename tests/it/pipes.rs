//! Local pipes and redirection: the command goes to the host(s), its output to a local
//! pipeline (the user's shell) or file. On many hosts, a line per output line prefixed with the
//! host, as pdsh does. Nothing of the pipe is sent to the API.

use std::time::Duration;

use crate::support::shell::{Pty, converse, executed, rtrsh};
use crate::support::{TestEnv, fast};

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_on_one_host_filters_locally_and_sends_only_the_command() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", "ps | grep -i svchost"])
        .env("SHELL", "/bin/sh")
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty(), "{text:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.to_ascii_lowercase().contains("svchost")),
        "only what grep kept: {text:?}"
    );
    assert_eq!(
        executed(&env.stats().await, &aid),
        ["ps"],
        "the pipe stays local"
    );
    // The pipeline's status is the line's, as in a shell: `grep -q` that finds nothing fails.
    let miss = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", "pwd | grep -q no-such-thing"])
        .env("SHELL", "/bin/sh")
        .run()
        .await;
    assert_eq!(miss.code, 1, "{}", miss.stderr);
}

/// Piped stdout keeps a host's bytes exactly, so an output without a final newline (`pwd`)
/// leaves its line open until more output comes; a local pipeline that writes next starts on a
/// line of its own, and nothing is added after the last output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_after_an_open_line_starts_on_its_own_line() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "-c",
            "pwd",
            "-c",
            "pwd | cat",
            "-c",
            "pwd",
        ])
        .env("SHELL", "/bin/sh")
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout(), "C:\\\nC:\\\nC:\\");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_on_three_hosts_prefixes_each_line_with_its_host() {
    let env = TestEnv::start(fast()).await;
    let out = rtrsh(&env)
        .hosts(["DESKTOP-01", "SRV-LNX-01", "MBP-01"])
        .args(["-c", "pwd | cat"])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["DESKTOP-01: C:\\", "MBP-01: /", "SRV-LNX-01: /"],
        "{text:?}"
    );
    assert!(out.stderr.contains("3 succeeded"), "{}", out.stderr);
    for host in ["DESKTOP-01", "SRV-LNX-01", "MBP-01"] {
        let aid = env.aid(host).await;
        assert_eq!(executed(&env.stats().await, &aid), ["pwd"], "{host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirection_writes_a_private_file_and_a_bad_path_sends_nothing() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pwd.txt");
    let to = format!("pwd > {}", file.display());
    let again = format!("cd C:\\Windows >> {}", file.display());
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", &to, "-c", &again, "-c", "pwd"])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved = std::fs::read_to_string(&file).expect("written");
    assert_eq!(saved, "C:\\\nC:\\Windows\n", "{saved:?}");
    // Only the last pwd reached the terminal.
    assert_eq!(out.stdout().trim(), "C:\\Windows");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private: host output");
    }

    let before = executed(&env.stats().await, &aid).len();
    let bad = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "-c",
            "pwd > /nonexistent-rtrsh-dir/x.txt",
        ])
        .run()
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("cannot write /nonexistent-rtrsh-dir/x.txt"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        executed(&env.stats().await, &aid).len(),
        before,
        "nothing sent"
    );
}

/// At a prompt, on one host and on three: the pipeline's output shows before the next prompt;
/// `> FILE` writes the file and shows nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_at_the_prompt_on_one_host_and_three() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("where.txt");
    let to_file = format!("pwd > {}", file.display());
    let one = rtrsh(&env)
        .args(["--host", "DESKTOP-01"])
        .env("SHELL", "/bin/sh");
    let three = rtrsh(&env)
        .hosts(["DESKTOP-01", "SRV-LNX-01", "MBP-01"])
        .env("SHELL", "/bin/sh");
    let (single, many) = converse(move || {
        let mut t = Pty::spawn(&one);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("ps | grep -c -i svchost.exe");
        let single = t.expect(r"DESKTOP-01 C:\> ", T);
        t.line(&to_file);
        let redirected = t.expect(r"DESKTOP-01 C:\> ", T);
        assert!(
            !redirected.lines().any(|l| l.trim() == "C:\\"),
            "nothing on the terminal: {redirected:?}"
        );
        t.ctrl_d();
        assert_eq!(t.wait_exit(T), 0);
        let mut t = Pty::spawn(&three);
        t.expect("[3 hosts] ", T);
        t.expect("> ", T);
        // The pipeline has ended (`sort` prints only then) before the summary line.
        t.line("pwd | sort");
        let many = t.expect("3 succeeded", T);
        t.expect("[3 hosts] ", T);
        t.line("ps | grep -i svchost.exe");
        let svchost = t.expect("3 succeeded", T);
        t.expect("[3 hosts] ", T);
        t.ctrl_d();
        assert_eq!(t.wait_exit(T), 0);
        (single, (many, svchost))
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        "C:\\\n",
        "the file holds the output, nothing reached the terminal"
    );
    // grep -c prints one number: the count of svchost lines.
    let count: Vec<&str> = single
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(count.len(), 1, "{single:?}");
    assert!(count[0].parse::<u32>().is_ok_and(|n| n > 0), "{single:?}");
    let (many, svchost) = many;
    // Only the Windows host runs svchost.exe: every line grep kept names it.
    let kept: Vec<&str> = svchost
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("svchost.exe") && !l.contains("grep"))
        .collect();
    assert!(!kept.is_empty(), "{svchost:?}");
    assert!(
        kept.iter()
            .all(|l| l.trim_start().starts_with("DESKTOP-01: ")),
        "{svchost:?}"
    );
    assert!(
        many.contains("DESKTOP-01: C:\\")
            && many.contains("MBP-01: /")
            && many.contains("SRV-LNX-01: /"),
        "{many:?}"
    );
}
