//! The terminal as an analyst meets it: colour that carries meaning (and none where it would
//! be noise: `NO_COLOR`, pipes), TAB that lists like bash, a spinner while a slow sensor opens
//! the session (keys typed meanwhile kept for the prompt), and the prompt used with stdout
//! redirected to a file.

use std::time::Duration;

use rtrsh_emulator::EmulatorConfig;
use rtrsh_emulator::world::HOSTILE_ESCAPES;

use crate::support::shell::{Pty, converse, executed, rtrsh};
use crate::support::{TestEnv, fast};

/// Generous: the machine is shared; a deadline only catches hangs.
const T: Duration = Duration::from_secs(30);

/// What a missing file prints on a Windows host's stderr.
const MISSING: &str = r"cat C:\no-such-file.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_colour_that_carries_meaning_and_no_color_gets_none() {
    let env = TestEnv::start(fast()).await;
    for no_color in [false, true] {
        let mut sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
        if no_color {
            sh = sh.env("NO_COLOR", "1");
        }
        let (first, err, out) = converse(move || {
            let mut t = Pty::spawn(&sh);
            let first = t.expect_seen(r"DESKTOP-01 C:\> ", T);
            t.line(MISSING);
            let err = t.expect_seen(r"DESKTOP-01 C:\> ", T);
            t.line(r"cat C:\Windows\win.ini");
            let out = t.expect_seen(r"DESKTOP-01 C:\> ", T);
            t.ctrl_d();
            assert_eq!(t.wait_exit(T), 0);
            (first, err, out)
        })
        .await;
        assert!(err.text.contains("does not exist"), "{:?}", err.text);
        assert!(out.text.contains("[fonts]"), "{:?}", out.text);
        let coloured_prompt = "\x1b[1;32mDESKTOP-01\x1b[0m \x1b[1;34mC:\\\x1b[0m> ";
        if no_color {
            for raw in [&first.raw, &err.raw, &out.raw] {
                assert!(
                    !raw.contains("\x1b[1;32m") && !raw.contains("\x1b[31m"),
                    "NO_COLOR: {raw:?}"
                );
            }
        } else {
            assert!(first.raw.contains(coloured_prompt), "{:?}", first.raw);
            // Host stderr in red, around the host's text.
            let red = err.raw.find("\x1b[31m").expect("red on");
            let text = err.raw.find("does not exist").expect("the text");
            let off = err.raw[text..].find("\x1b[39m").expect("red off");
            assert!(red < text && off > 0, "{:?}", err.raw);
            // Host stdout stays plain.
            assert!(
                !out.raw.contains("\x1b[31m") && out.raw.contains("[fonts]"),
                "{:?}",
                out.raw
            );
        }
    }
}

/// Colour is put around text already made inert: the host's own escapes still arrive as
/// `\e...` text (dimmed, so they stand apart from the host's text), never as sequences, and
/// the host's `ESC [31m` colours nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_never_lets_host_escapes_through() {
    let env = TestEnv::start(fast()).await;
    let sh = rtrsh(&env).args(["--host", "HOSTILE-01", "--no-transcript"]);
    let shown = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"HOSTILE-01 C:\> ", T);
        t.line(&format!("cat {HOSTILE_ESCAPES}"));
        let shown = t.expect_seen(r"HOSTILE-01 C:\> ", T);
        t.ctrl_d();
        assert_eq!(t.wait_exit(T), 0);
        shown
    })
    .await;
    assert!(
        shown.text.contains(r"\e[31mred text\e[0m"),
        "{:?}",
        shown.text
    );
    assert!(
        shown.raw.contains("\x1b[2m\\e]0;pwned\\x07\x1b[22m"),
        "dimmed, inert: {:?}",
        shown.raw
    );
    for active in ["\x1b]", "\x1b[2J", "\x1bP", "\x07", "\x1b[31m", "\x1b[6n"] {
        assert!(
            !shown.raw.contains(active),
            "{active:?} reached the terminal"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_get_no_colour_unless_asked_and_errors_are_bold_red() {
    let env = TestEnv::start(fast()).await;
    let piped = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands([MISSING, "pwd"])
        .run()
        .await;
    piped.expect_code(1);
    assert!(piped.stderr.contains("does not exist"), "{}", piped.stderr);
    assert!(
        !piped.stderr.contains('\x1b') && !piped.stdout().contains('\x1b'),
        "{:?} {:?}",
        piped.stdout,
        piped.stderr
    );

    let always = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--no-transcript",
            "--color",
            "always",
        ])
        .commands([MISSING, "pwd"])
        .env("NO_COLOR", "1")
        .run()
        .await;
    always.expect_code(1);
    assert!(
        always.stderr.contains("\x1b[31m") && always.stdout().contains(r"C:\"),
        "the flag wins over NO_COLOR: {:?}",
        always.stderr
    );
    assert!(!always.stdout().contains('\x1b'), "stdout stays plain");

    let error = rtrsh(&env)
        .args(["--host", "NO-SUCH-HOST", "--color", "always"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(
        error
            .stderr
            .contains("\x1b[1;31mrtrsh: error: no host named"),
        "{:?}",
        error.stderr
    );

    // Many hosts: bold per-host headers; none into a pipe, none in --json.
    let fleet = [
        "--host",
        "DESKTOP-01",
        "--host",
        "SRV-LNX-01",
        "--no-transcript",
    ];
    let bold = rtrsh(&env)
        .args(fleet)
        .args(["--color", "always"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(bold.stdout().contains("\x1b[1m=== "), "{:?}", bold.stdout());
    let plain = rtrsh(&env).args(fleet).commands(["pwd"]).run().await;
    assert!(
        plain.stdout().contains("=== ") && !plain.stdout().contains('\x1b'),
        "{:?}",
        plain.stdout()
    );
    let json = rtrsh(&env)
        .args(fleet)
        .args(["--color", "always", "--json"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(!json.stdout().contains('\x1b'), "{:?}", json.stdout());
    assert_eq!(json.json_lines().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_completes_the_common_prefix_then_lists_the_candidates() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let (listed, code) = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        // `re`: `reg` and `restart` share no more than that; the first TAB changes nothing,
        // the second lists both under the line, which is drawn again as it was.
        t.send("re\t");
        t.expect("re", T);
        t.send("\t");
        let listed = t.expect(r"DESKTOP-01 C:\> re", T);
        // Completing a unique candidate still works, and TAB on an empty line inserts nothing.
        t.send("\x15"); // Ctrl-U: clear the line
        t.send("\tcd C:\\Win\t");
        t.expect(r"cd C:\Windows\", T);
        t.send("\r");
        t.expect(r"DESKTOP-01 C:\Windows> ", T);
        t.ctrl_d();
        (listed, t.wait_exit(T))
    })
    .await;
    assert_eq!(code, 0);
    let words: Vec<&str> = listed.split_whitespace().collect();
    assert!(
        words.contains(&"reg") && words.contains(&"restart"),
        "{listed:?}"
    );
    // The listing of `C:\` that completed the path ran too; nothing else was sent.
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), [r"ls C:\", r"cd C:\Windows\"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinner_shows_while_the_session_opens_and_keys_typed_meanwhile_wait_for_the_prompt() {
    // The sensor takes 3 s to answer the session's init (and each command).
    let env = TestEnv::start(EmulatorConfig {
        latency: Duration::from_secs(3),
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let (before, typed, ran, code) = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect("connecting to DESKTOP-01 …", T);
        t.send("pwd");
        let before = t.expect_seen(r"DESKTOP-01 C:\> ", T);
        let typed = t.expect("pwd", T);
        t.send("\r");
        let ran = t.expect(r"DESKTOP-01 C:\> ", T);
        t.ctrl_d();
        (before, typed, ran, t.wait_exit(T))
    })
    .await;
    assert_eq!(code, 0);
    // (The raw bytes may reach a little past the prompt: the typed keys drawn after it.)
    let prompt_at = before.raw.rfind("> ").expect("the prompt");
    assert!(
        !before.text.contains("pwd") && !before.raw[..prompt_at].contains("pwd"),
        "not echoed raw while connecting: {before:?}"
    );
    assert_eq!(typed, "", "the first line starts with the keys typed ahead");
    assert!(ran.contains(r"C:\"), "{ran:?}");
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), ["pwd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stdout_in_a_file_the_prompt_stays_on_the_terminal_and_the_file_gets_the_output() {
    let env = TestEnv::start(fast()).await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let file = sh.home().join("session.log");
    // `rtrsh ... > session.log` typed in a terminal.
    let cmd = in_sh(
        &format!(r#"exec "$@" > '{}'"#, file.display()),
        &sh.command(),
    );
    let (screen, code) = converse(move || {
        let mut t = Pty::spawn_command(cmd);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("pwd");
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line(r"cat C:\Windows\win.ini");
        let screen = t.expect_seen(r"DESKTOP-01 C:\> ", T);
        t.line("exit");
        (screen, t.wait_exit(T))
    })
    .await;
    assert_eq!(code, 0);
    assert!(
        !screen.text.contains("[fonts]"),
        "output goes to the file: {screen:?}"
    );
    let log = std::fs::read_to_string(&file).expect("the log");
    assert!(
        log.starts_with("C:\\\n") && log.contains("[fonts]") && log.ends_with('\n'),
        "pwd's line kept, each output ends its line: {log:?}"
    );
    assert!(
        !log.contains('\x1b') && !log.contains("DESKTOP-01") && !log.contains('\r'),
        "nothing of the editor in the file: {log:?}"
    );
}

/// `sh -c SCRIPT` on a terminal, with `rtrsh`'s command line (program, arguments, environment,
/// directory) as the script's arguments (`"$@"`).
fn in_sh(script: &str, inner: &std::process::Command) -> std::process::Command {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_connecting_gives_the_terminal_back_with_its_echo() {
    let env = TestEnv::start(EmulatorConfig {
        latency: Duration::from_secs(3),
        ..fast()
    })
    .await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    // The shell around rtrsh survives the Ctrl-C (it traps it), then shows the echo setting.
    let cmd = in_sh(
        r#"trap true INT; "$@"; echo "rtrsh exited $?"; stty -a | tr ' ;' '\n\n' | grep -x -e echo -e -echo; echo done"#,
        &sh.command(),
    );
    let (after, code) = converse(move || {
        let mut t = Pty::spawn_command(cmd);
        t.expect("connecting to DESKTOP-01 …", T);
        t.ctrl_c();
        t.expect("interrupted while connecting", T);
        t.expect("rtrsh exited 3", T);
        let after = t.expect("done", T);
        (after, t.wait_exit(T))
    })
    .await;
    assert_eq!(code, 0);
    let setting: Vec<&str> = after.split_whitespace().collect();
    assert_eq!(setting, ["echo"], "{after:?}");
}
