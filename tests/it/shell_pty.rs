//! The interactive prompt on a real pseudo-terminal: the prompt shows host and directory and
//! follows `cd`, Ctrl-C clears a half-typed line or cancels a long command, Ctrl-D ends the
//! session (closed on the server), usage hints show while typing but never run, and hostile
//! names never reach the terminal raw.
//!
//! Expectations match what the terminal shows (the line editor repaints its row on keys while
//! a hint is up); checks that something never reached the terminal look at the raw bytes.

use std::time::Duration;

use rtrsh::shell::repl::prompt_text;
use rtrsh_emulator::EmulatorConfig;
use rtrsh_emulator::world::HOSTILE_ESCAPES;

use crate::support::shell::{Pty, converse, executed, executions, rtrsh, sessions_of};
use crate::support::{TestEnv, assert_no_violations, fast};

/// Generous: the machine is shared; a deadline only catches hangs.
const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_follows_cd_and_ctrl_c_clears_the_line_and_ctrl_d_closes_the_session() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("cd Windows");
        t.expect(r"DESKTOP-01 C:\Windows> ", T);

        t.line(r"cat C:\Windows\win.ini");
        let shown = t.expect(r"DESKTOP-01 C:\Windows> ", T);
        assert!(
            shown.contains("[fonts]") && shown.contains("MAPI=1"),
            "the output appears: {shown:?}"
        );

        // A half-typed line, then Ctrl-C: the line is dropped, a fresh prompt follows.
        t.send("pwd");
        t.expect("pwd", T);
        t.ctrl_c();
        t.expect(r"DESKTOP-01 C:\Windows> ", T);
        t.line("ls");
        let shown = t.expect(r"DESKTOP-01 C:\Windows> ", T);
        assert!(
            shown.contains(r"Directory listing for C:\Windows"),
            "{shown:?}"
        );

        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0, "Ctrl-D exits 0");
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &aid),
        ["cd Windows", r"cat C:\Windows\win.ini", "ls"],
        "the cleared line never ran"
    );
    let sessions = sessions_of(&stats, &aid);
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].1["deleted"], true, "Ctrl-D closed the session");
    assert_eq!(stats["open_sessions"], 0);
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_a_long_command_and_the_next_one_works() {
    // 100 MiB in 16 KiB chunks: thousands of status calls, far longer than the test waits.
    let env = TestEnv::start(EmulatorConfig {
        chunk_size: 16 * 1024,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let big = r"cat C:\Logs\big-100mb.log";
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line(big);
        // Output is streaming (a log line of the big file), then Ctrl-C.
        t.expect("policy refresh succeeded", T);
        t.ctrl_c();
        let shown = t.expect("cancelled", T);
        assert!(shown.contains("falcond"), "{}", shown.len());
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line(r"cd C:\Users");
        t.expect(r"DESKTOP-01 C:\Users> ", T);
        t.line("exit");
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
    let stats = env.stats().await;
    assert_eq!(executions(&stats, &aid, big), 1);
    assert_eq!(
        executed(&stats, &aid).last().map(String::as_str),
        Some(r"cd C:\Users")
    );
    let id = stats["command_log"][0]["cloud_request_id"]
        .as_str()
        .expect("the cat's id");
    let polls = stats["commands"][id]["polls"].as_u64().unwrap_or(0);
    assert!(
        polls < 100 * 1024 / 16,
        "polling stopped at the Ctrl-C ({polls} status calls)"
    );
    assert_eq!(stats["open_sessions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_output_and_directory_names_reach_the_terminal_inert() {
    let env = TestEnv::start(fast()).await;
    // A directory whose name carries bidi controls (a right-to-left override and an isolate:
    // characters that can be typed at the prompt, unlike escapes).
    let dir = "C:\\hostile\\evil\u{202e}exe.txt\u{2066}";
    let made = rtrsh(&env)
        .args(["--host", "HOSTILE-01", "--no-transcript"])
        .commands([format!("mkdir {dir}")])
        .run()
        .await;
    made.expect_code(0);
    let want_prompt = prompt_text("HOSTILE-01", dir);
    assert!(
        !want_prompt.contains('\u{202e}') && !want_prompt.contains('\u{2066}'),
        "{want_prompt:?}"
    );
    let raw_prompt = format!("HOSTILE-01 {dir}> ");

    let sh = rtrsh(&env).args(["--host", "HOSTILE-01"]);
    let cd = format!("cd {dir}");
    let screen = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"HOSTILE-01 C:\> ", T);
        t.line(&format!("cat {HOSTILE_ESCAPES}"));
        let shown = t.expect_seen(r"HOSTILE-01 C:\> ", T);
        t.line(&cd);
        let after_cd = t.expect_seen(&want_prompt, T);
        t.line("exit");
        t.wait_exit(T);
        (shown, after_cd)
    })
    .await;
    let (shown, after_cd) = screen;
    assert!(
        shown.text.contains("window title changed") && shown.text.contains(r"\e]0;pwned"),
        "{:?}",
        shown.text
    );
    // The model of the terminal would swallow an active sequence: look at the bytes.
    for active in ["\x1b]", "\x1b[2J", "\x1bP", "\x07", "\x1b[31m"] {
        assert!(
            !shown.raw.contains(active),
            "{active:?} reached the terminal: {:?}",
            shown.raw
        );
    }
    assert!(
        !after_cd.raw.contains(&raw_prompt) && !after_cd.text.contains(&raw_prompt),
        "a raw directory name in the prompt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_hint_shows_dimmed_while_typing_and_never_runs() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]);
    let (typed, ran, history, code) = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        // The command word and a space: its subcommands, dimmed.
        t.send("reg ");
        let typed = t.expect_seen("query|set|delete|load|unload ...", T);
        // The subcommand and a space: its arguments, replacing the first hint.
        t.send("query ");
        t.expect("[Subkey] [Value]", T);
        // Enter: the hint goes from the screen, the typed line runs.
        t.send("\r");
        let ran = t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("history");
        let history = t.expect(r"DESKTOP-01 C:\> ", T);
        t.ctrl_d();
        let code = t.wait_exit(T);
        // Written at exit, under the test's HOME.
        let file = sh.home().join(".local/share/rtrsh/history");
        let file =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        (typed, ran, (history, file), code)
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(typed.text, "reg ", "the hint follows the typed text");
    assert!(
        typed
            .raw
            .contains("\x1b[2mquery|set|delete|load|unload ...\x1b[22m"),
        "dimmed: {:?}",
        typed.raw
    );
    assert!(
        !ran.contains("Subkey") && ran.contains("HKEY_LOCAL_MACHINE"),
        "{ran:?}"
    );
    let stats = env.stats().await;
    assert_eq!(
        executed(&stats, &aid),
        ["reg query"],
        "exactly the typed line"
    );
    let (history, file) = history;
    assert!(
        history.contains("reg query") && !history.contains("Subkey"),
        "{history:?}"
    );
    assert!(
        file.contains("reg query") && !file.contains("Subkey") && !file.contains("query|set"),
        "{file:?}"
    );
}

/// Where a hint could not be dimmed (`NO_COLOR`) there is none; a dumb terminal gets a plain
/// prompt with no line editing. Either way commands run as typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hints_without_colours_and_a_dumb_terminal_still_works() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    for (var, value) in [("NO_COLOR", "1"), ("TERM", "dumb")] {
        let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]).env(var, value);
        let (typed, ran, code) = converse(move || {
            let mut t = Pty::spawn(&sh);
            t.expect(r"DESKTOP-01 C:\> ", T);
            // Had a hint been drawn, it would have come with the echo of the space.
            t.send("reg query ");
            let typed = t.expect_seen("reg query ", T);
            t.send("\r");
            let ran = t.expect_seen(r"DESKTOP-01 C:\> ", T);
            t.ctrl_d();
            (typed, ran, t.wait_exit(T))
        })
        .await;
        assert_eq!(code, 0, "{var}={value}");
        for raw in [&typed.raw, &ran.raw] {
            assert!(
                !raw.contains("Subkey") && !raw.contains("\x1b[2m"),
                "{var}={value}: {raw:?}"
            );
        }
        assert!(ran.text.contains("HKEY_LOCAL_MACHINE"), "{:?}", ran.text);
    }
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), ["reg query", "reg query"]);
}

/// The fleet prompt takes Ctrl-C like the single-host one: during a command (it stops the
/// wait), at an idle prompt and twice in a row; rtrsh keeps running, Ctrl-D exits 0 and closes
/// every session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_fleet_prompt_never_kills_the_shell() {
    // Every command takes 3 s on the hosts: Ctrl-C comes while the batch command is out.
    let env = TestEnv::start(EmulatorConfig {
        latency: Duration::from_secs(3),
        ..fast()
    })
    .await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--host", "SRV-LNX-01"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect("[2 hosts] ", T);
        t.expect("> ", T);
        // During a command.
        t.line("ps");
        t.expect("ps", T);
        std::thread::sleep(Duration::from_millis(300));
        t.ctrl_c();
        let after = t.expect_seen("cancelled", T);
        // No `^C` echoed after the full-width progress bar (it would wrap the terminal and
        // leave the bar's line behind when it is cleared).
        assert!(!after.raw.contains("^C"), "{:?}", after.raw);
        t.expect("[2 hosts] ", T);
        // At the idle prompt, twice.
        t.ctrl_c();
        t.expect("[2 hosts] ", T);
        t.ctrl_c();
        t.expect("[2 hosts] ", T);
        t.line("pwd");
        t.expect("2 succeeded", T);
        t.expect("[2 hosts] ", T);
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0, "Ctrl-D exits 0");
    let stats = env.stats().await;
    assert_eq!(stats["open_sessions"], 0, "every session closed");
}
