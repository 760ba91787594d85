//! Small built-ins, for one host and for fleets: `clear`/`cls` clear the terminal locally (and
//! write nothing into a pipe or `--json`), `help files` and `help library` describe the local
//! commands, a built-in given words it does not take is refused before anything runs, and a
//! host's stderr without a final newline never runs into rtrsh's next message.

use std::time::Duration;

use crate::support::shell::{Out, Pty, converse, executed, rtrsh};
use crate::support::{TestEnv, fast};

const T: Duration = Duration::from_secs(30);

/// One host, and two Windows hosts (a fleet).
async fn targets(env: &TestEnv) -> [Vec<String>; 2] {
    let hosts = env.hosts().await;
    let unique = |h: &serde_json::Value| {
        hosts
            .iter()
            .filter(|o| o["hostname"] == h["hostname"])
            .count()
            == 1
    };
    let second = hosts
        .iter()
        .filter(|h| h["online"] == true && h["hostile"] != true && unique(h))
        .filter(|h| h["platform_name"] == "Windows" && h["hostname"] != "DESKTOP-01")
        .find_map(|h| h["hostname"].as_str())
        .expect("a second Windows host")
        .to_string();
    [
        vec!["--host".into(), "DESKTOP-01".into()],
        vec![
            "--host".into(),
            "DESKTOP-01".into(),
            "--host".into(),
            second,
        ],
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_and_cls_never_reach_the_host_nor_a_pipe() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    for target in targets(&env).await {
        for json in [false, true] {
            let mut args = target.clone();
            args.push("--no-transcript".into());
            if json {
                args.push("--json".into());
            }
            let out = rtrsh(&env)
                .args(args)
                .commands(["clear", "cls", "pwd"])
                .run()
                .await;
            out.expect_code(0);
            assert!(
                !out.stdout.contains(&0x1b) && !out.stderr.contains('\u{1b}'),
                "{target:?}: escapes written into a pipe: {:?}",
                out.stdout()
            );
        }
    }
    let stats = env.stats().await;
    let sent: Vec<&str> = stats["command_log"]
        .as_array()
        .expect("command log")
        .iter()
        .filter_map(|e| e["command_string"].as_str())
        .collect();
    assert_eq!(
        sent, ["pwd"; 6],
        "2 single-host runs, 2 fleet runs on 2 hosts"
    );
    assert_eq!(executed(&stats, &aid).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_clears_the_terminal_at_the_prompt() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("cls");
        let seen = t.expect_seen(r"DESKTOP-01 C:\> ", T);
        assert!(
            seen.raw.contains("\u{1b}[2J"),
            "not cleared: {:?}",
            seen.raw
        );
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
    assert!(executed(&env.stats().await, &aid).is_empty());
}

/// `lines` on `target` (one of [`targets`]), without a transcript.
async fn run_lines(env: &TestEnv, target: &[String], lines: &[&str]) -> Out {
    rtrsh(env)
        .args(target.iter().cloned())
        .args(["--no-transcript"])
        .commands(lines.iter().copied())
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_describes_the_local_commands() {
    let env = TestEnv::start(fast()).await;
    for target in targets(&env).await {
        let out = run_lines(&env, &target, &["help files", "help library", "help cls"]).await;
        out.expect_code(0);
        let text = out.stdout();
        assert!(
            text.contains("files - list the files"),
            "{target:?}: {text}"
        );
        assert!(
            text.contains("usage: library [put|scripts|falcon]"),
            "{text}"
        );
        assert!(text.contains("clear - clear the terminal"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_given_words_it_does_not_take_is_refused_before_anything_runs() {
    let env = TestEnv::start(fast()).await;
    for target in targets(&env).await {
        let out = run_lines(&env, &target, &["pwd", r"files get C:\x.txt"]).await;
        out.expect_code(2);
        assert!(
            out.stderr
                .contains("`files` takes no arguments: it lists the session's files; to retrieve one, type `get PATH`"),
            "{target:?}: {}",
            out.stderr
        );
    }
    let stats = env.stats().await;
    assert_eq!(
        stats["command_log"].as_array().map(Vec::len),
        Some(0),
        "nothing ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_stderr_without_a_final_newline_ends_its_line() {
    let env = TestEnv::start(fast()).await;
    for target in targets(&env).await {
        // The second line is refused when it runs (no `-l` on Windows): rtrsh's message
        // follows the host's stderr.
        let out = run_lines(
            &env,
            &target,
            &[
                "runscript -Raw=```printf 'No such file or directory' >&2```",
                "ls -l",
            ],
        )
        .await;
        assert!(
            out.stderr.contains("No such file or directory\n"),
            "{target:?}: {:?}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("directoryrtrsh"),
            "{target:?}: {:?}",
            out.stderr
        );
    }
}
