//! Completion of REMOTE paths against the emulator: a real `HostSession` on DESKTOP-01,
//! SRV-LNX-01 and HOSTILE-01, the completer's candidate function called directly, and the
//! emulator's command log to prove the per-directory cache (one `ls` per directory).

use rtrsh::shell::complete::ShellHelper;
use rtrsh_client::session::{Collect, HostSession, SessionOptions, Target};
use rtrsh_command::Platform;
use rtrsh_command::{Tier, lexer};
use tokio_util::sync::CancellationToken;

use crate::support::client::{falcon_client, open_session};
use crate::support::{TestEnv, fast};

async fn replacements(helper: &ShellHelper, line: &str) -> Vec<String> {
    let (start, pairs) = helper.candidates(line, line.len()).await;
    assert!(start <= line.len());
    pairs.into_iter().map(|p| p.replacement).collect()
}

/// The `ls` lines the emulator ran.
async fn ls_lines(env: &TestEnv) -> Vec<String> {
    env.stats().await["command_log"]
        .as_array()
        .expect("command_log")
        .iter()
        .filter_map(|c| c["command_string"].as_str())
        .filter(|c| c.starts_with("ls"))
        .map(str::to_string)
        .collect()
}

async fn run(session: &HostSession, line: &str, tier: Tier) -> Collect {
    let words = lexer::words(line).expect("lexes");
    let mut sink = Collect::default();
    let outcome = session
        .run(line, &words, tier, &mut sink, &CancellationToken::new())
        .await
        .expect("runs");
    assert!(outcome.ok(), "{line}: {}", sink.stderr);
    sink
}

#[tokio::test]
async fn windows_paths_from_the_host_and_the_cache() {
    let env = TestEnv::start(fast()).await;
    let session = open_session(&env, "DESKTOP-01", Platform::Windows).await;
    let helper = ShellHelper::new(Some(session.clone()), None);

    assert_eq!(
        replacements(&helper, r"cd C:\Win").await,
        vec![r"C:\Windows\"]
    );
    assert_eq!(
        replacements(&helper, r"cd C:\Program").await,
        vec![
            r#""C:\Program Files\""#,
            r#""C:\Program Files (x86)\""#,
            r"C:\ProgramData\"
        ],
        "quoted when the name has spaces"
    );
    assert_eq!(ls_lines(&env).await, vec![r"ls C:\"], "one ls for C:\\");

    // Inside an open quote, one level down.
    let inner = replacements(&helper, r#"cd "C:\Program Files\Common"#).await;
    assert_eq!(inner, vec![r#""C:\Program Files\Common Files\""#]);
    assert_eq!(
        ls_lines(&env).await.last().map(String::as_str),
        Some(r#"ls "C:\Program Files""#)
    );

    // Relative to the working directory, case-insensitively.
    run(&session, r"cd C:\Windows", Tier::ReadOnly).await;
    let files = replacements(&helper, "cat NOTE").await;
    assert_eq!(files, vec!["notepad.exe"]);
    assert!(
        replacements(&helper, "cd sys")
            .await
            .contains(&r"System32\".to_string())
    );
    let before = ls_lines(&env).await.len();
    replacements(&helper, "cat reg").await;
    assert_eq!(ls_lines(&env).await.len(), before, "C:\\Windows is cached");

    // After a write command, the shell drops the listing it changed.
    run(&session, r"mkdir C:\Windows\ir-case", Tier::ActiveResponder).await;
    assert!(
        replacements(&helper, "cd ir").await.is_empty(),
        "still cached"
    );
    let cache = helper.cache_handle();
    cache.after_command(
        &lexer::words(r"mkdir C:\Windows\ir-case").expect("lexes"),
        &session.cwd().await,
    );
    assert_eq!(replacements(&helper, "cd ir").await, vec![r"ir-case\"]);
    session.close().await.expect("closes");
}

#[tokio::test]
async fn unix_paths_from_the_host() {
    let env = TestEnv::start(fast()).await;
    let session = open_session(&env, "SRV-LNX-01", Platform::Linux).await;
    let helper = ShellHelper::new(Some(session.clone()), None);

    let c = replacements(&helper, "cat /etc/pa").await;
    assert!(c.contains(&"/etc/passwd".to_string()), "{c:?}");
    assert!(c.iter().all(|p| p.starts_with("/etc/pa")), "{c:?}");
    assert!(
        replacements(&helper, "cat /etc/PA").await.is_empty(),
        "case-sensitive"
    );
    assert_eq!(
        replacements(&helper, "cat /etc/passw").await,
        vec!["/etc/passwd"]
    );
    assert_eq!(ls_lines(&env).await, vec!["ls -l /etc"], "one ls for /etc");

    let dirs = replacements(&helper, "cd /").await;
    assert!(dirs.contains(&"/etc/".to_string()) && dirs.contains(&"/tmp/".to_string()));
    assert!(
        dirs.iter().all(|d| d.ends_with('/')),
        "cd offers directories: {dirs:?}"
    );

    run(&session, "cd /etc", Tier::ReadOnly).await;
    assert_eq!(replacements(&helper, "cat passw").await, vec!["passwd"]);
    assert_eq!(
        ls_lines(&env).await.len(),
        2,
        "/etc was cached: only / was listed since"
    );
    session.close().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_thread_path_blocks_on_the_runtime() {
    let env = TestEnv::start(fast()).await;
    let session = open_session(&env, "DESKTOP-01", Platform::Windows).await;
    let helper = ShellHelper::new(
        Some(session.clone()),
        Some(tokio::runtime::Handle::current()),
    );
    // As rustyline calls it: from a plain thread outside the runtime.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(helper.complete_blocking(r"cat C:\Windows\win", 18));
    });
    let (start, pairs) = rx.await.expect("the thread answers");
    assert_eq!(start, 4);
    let c: Vec<String> = pairs.into_iter().map(|p| p.replacement).collect();
    assert!(c.contains(&r"C:\Windows\win.ini".to_string()), "{c:?}");
    session.close().await.expect("closes");
}

#[tokio::test]
async fn hostile_names_from_the_host_never_reach_the_line() {
    let env = TestEnv::start(fast()).await;
    let session = open_session(&env, "HOSTILE-01", Platform::Windows).await;
    let helper = ShellHelper::new(Some(session.clone()), None);
    let (_, pairs) = helper.candidates(r"cat C:\hostile\", 15).await;
    assert!(!pairs.is_empty());
    for p in &pairs {
        for s in [&p.display, &p.replacement] {
            assert!(
                !s.chars().any(|c| c.is_control()),
                "control character in candidate {s:?}"
            );
        }
    }
    assert!(
        pairs
            .iter()
            .any(|p| p.replacement == r"C:\hostile\escapes.txt"),
        "ordinary names still complete"
    );
    session.close().await.expect("closes");
}

#[tokio::test]
async fn cloud_names_from_the_libraries() {
    let env = TestEnv::start(fast()).await;
    let session = open_session(&env, "DESKTOP-01", Platform::Windows).await;
    let helper = ShellHelper::new(Some(session.clone()), None);
    assert_eq!(replacements(&helper, "put tr").await, vec!["triage.ps1"]);
    assert_eq!(
        replacements(&helper, "put-and-run proc").await,
        vec!["procdump64.exe"]
    );
    assert_eq!(
        replacements(&helper, "runscript -CloudFile=Get").await,
        vec!["-CloudFile=Get-Triage"]
    );
    assert_eq!(
        replacements(&helper, "falconscript -Name=Get").await,
        vec!["-Name=GetScheduledTasks"]
    );
    let queries =
        env.stats().await["endpoints"]["GET /real-time-response/queries/put-files/v1"]["count"]
            .as_u64();
    assert_eq!(
        queries,
        Some(1),
        "the put-files names are cached for the session"
    );
    session.close().await.expect("closes");
}

#[tokio::test]
async fn nothing_is_queued_on_an_offline_host() {
    let env = TestEnv::start(fast()).await;
    let aid = env.offline_aid().await;
    let target = Target {
        aid: aid.into(),
        hostname: "offline".to_string(),
        platform: Some(Platform::Windows),
    };
    let opts = SessionOptions {
        queue_offline: true,
        ..Default::default()
    };
    let session = HostSession::open(falcon_client(&env), target, opts)
        .await
        .expect("opens a queued session");
    assert!(session.offline_queued().await);
    let helper = ShellHelper::new(Some(session.clone()), None);
    assert!(replacements(&helper, r"cd C:\Win").await.is_empty());
    assert!(ls_lines(&env).await.is_empty(), "no ls queued for later");
}
