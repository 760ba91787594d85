//! A misbehaving server (`--misbehave`) and hostile names: rtrsh never panics, never hangs,
//! never hammers, and nothing a server or a host chose reaches the terminal raw.

use rtrsh_emulator::{EmulatorConfig, Misbehaviour};

use crate::support::shell::{Out, pwd_on, rtrsh};
use crate::support::{TestEnv, endpoint_count, fast};

fn misbehaving(m: &[Misbehaviour]) -> EmulatorConfig {
    EmulatorConfig {
        misbehave: m.to_vec(),
        ..fast()
    }
}

/// Nothing raw that a terminal would act on: no ESC, no bidi override, no CR, no BEL.
#[track_caller]
fn inert(text: &str) {
    for bad in ['\u{1b}', '\u{202e}', '\r', '\u{7}'] {
        assert!(
            !text.contains(bad),
            "raw {bad:?} reached the terminal:\n{text}"
        );
    }
}

#[track_caller]
fn no_panic(out: &Out) {
    assert_ne!(out.code, 101, "rtrsh panicked:\n{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_numbers_from_the_server_are_clamped() {
    let env = TestEnv::start(misbehaving(&[Misbehaviour::AbsurdNumbers])).await;
    let home = tempfile::tempdir().expect("a folder for evidence");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .args(["--evidence-dir", home.path().to_str().expect("UTF-8")])
        .commands([
            r"ls C:\Windows",
            r"get C:\Windows\System32\drivers\etc\hosts",
        ])
        .run()
        .await;
    no_panic(&out);
    out.expect_code(0);
    assert!(out.stdout().contains("System32"), "{}", out.stdout());
    // A fleet: absurd pagination totals and sequence ids.
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:'Windows'",
            "--no-transcript",
            "--yes",
        ])
        .commands(["pwd"])
        .run()
        .await;
    no_panic(&out);
    assert!(out.stderr.contains("hosts matched"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_output_stops_at_the_command_timeout_at_a_sane_rate() {
    let env = TestEnv::start(misbehaving(&[Misbehaviour::EndlessOutput])).await;
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .args(["--command-timeout", "2s"])
        .commands(["ps"])
        .run()
        .await;
    no_panic(&out);
    out.expect_code(1);
    assert!(out.stderr.contains("gave up waiting"), "{}", out.stderr);
    // Each tiny chunk is followed by a 20 ms pause: within the 2 s limit at most ~100 checks
    // (not thousands), whatever the machine's speed.
    let calls = endpoint_count(
        &env.stats().await,
        "GET /real-time-response/entities/command/v1",
    );
    assert!(
        (5..=110).contains(&calls),
        "{calls} status checks in a 2 s window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_wait_is_announced_and_one_too_far_is_an_error() {
    let env = TestEnv::start(misbehaving(&[Misbehaviour::RetryAfterSeconds])).await;
    let out = pwd_on(&env, "DESKTOP-01").await;
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("rtrsh: rate limited by the API; waiting"),
        "{}",
        out.stderr
    );

    let env = TestEnv::start(misbehaving(&[Misbehaviour::RetryAfterCentury])).await;
    let out = pwd_on(&env, "DESKTOP-01").await;
    no_panic(&out);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("rate limited")
            && out.stderr.contains("try again later")
            && !out.stderr.contains("waiting"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_error_messages_are_inert() {
    let env = TestEnv::start(misbehaving(&[Misbehaviour::HostileErrors])).await;
    // A read-only client asks for an active-responder command: the API's 403 is printed.
    let out = rtrsh(&env)
        .env("FALCON_CLIENT_ID", "readonly-client")
        .env("FALCON_CLIENT_SECRET", "readonly-secret")
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands([r"rm C:\x"])
        .run()
        .await;
    no_panic(&out);
    assert!(out.stderr.contains("access denied"), "{}", out.stderr);
    assert!(out.stderr.contains(r"\u{202e}"), "{}", out.stderr);
    inert(&out.stderr);
    inert(&out.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_host_names_are_inert_in_errors_hints_and_tables() {
    let evil = "DUP-\u{202e}\u{1b}[31mX";
    let env = TestEnv::start(EmulatorConfig {
        hosts: 12,
        host_names: vec![evil.to_string(), evil.to_string()],
        ..fast()
    })
    .await;
    // Two hosts with that name: the table of both, in a script.
    let out = pwd_on(&env, evil).await;
    out.expect_code(2);
    assert!(out.stderr.contains("2 hosts are named"), "{}", out.stderr);
    inert(&out.stderr);
    // A near name: the "did you mean" and the typed name.
    let out = pwd_on(&env, "DUP-").await;
    out.expect_code(1);
    assert!(out.stderr.contains("did you mean"), "{}", out.stderr);
    inert(&out.stderr);
    // Many hosts: unmatched names and suggestions.
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--host",
            "DUP-\u{202e}",
            "--dry-run",
        ])
        .commands(["pwd"])
        .run()
        .await;
    assert!(out.stderr.contains("no host named"), "{}", out.stderr);
    inert(&out.stderr);
    inert(&out.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_hash_that_is_not_one_fails_the_get_at_once() {
    let env = TestEnv::start(misbehaving(&[Misbehaviour::BadHashes])).await;
    let home = tempfile::tempdir().expect("a folder for evidence");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .args(["--evidence-dir", home.path().to_str().expect("UTF-8")])
        .commands([r"get C:\Windows\System32\drivers\etc\hosts"])
        .run()
        .await;
    no_panic(&out);
    out.expect_code(1);
    assert!(
        out.stderr.contains("which is not one (64 hex digits)"),
        "{}",
        out.stderr
    );
    inert(&out.stderr);
    // One look at the file list after the upload, not ten minutes of them.
    let lists = endpoint_count(
        &env.stats().await,
        "GET /real-time-response/entities/file/v2",
    );
    assert!(lists <= 3, "{lists} file list requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_local_input_is_refused_before_any_request() {
    let env = TestEnv::start(fast()).await;
    let long_name = "A".repeat(10_000);
    let long_filter = format!("hostname:'{}'", "B".repeat(100_000));
    let long_aid = "z".repeat(10_000);
    let dir = tempfile::tempdir().expect("a folder");
    // Its "folder" is a file: the transcript cannot be written there.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").expect("writing a file");
    let not_a_file = blocker.join("t.jsonl");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--host".into(), long_name.clone()],
            "is too long: host names have at most 255",
        ),
        (
            vec![
                "--host".into(),
                "DESKTOP-01".into(),
                "--host".into(),
                long_name,
            ],
            "is too long: host names have at most 255",
        ),
        (
            vec!["--filter".into(), long_filter],
            "--filter is too long (100011 bytes",
        ),
        (
            vec!["--aid".into(), long_aid],
            "(10000 characters) is not a host id",
        ),
        (
            vec![
                "--host".into(),
                "DESKTOP-01".into(),
                "--transcript".into(),
                not_a_file.to_str().expect("UTF-8").into(),
            ],
            "cannot open the audit transcript",
        ),
    ];
    for (args, says) in cases {
        let out = rtrsh(&env).args(args).commands(["pwd"]).run().await;
        out.expect_code(2);
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
        assert!(out.stderr.len() < 1000, "a short message: {}", out.stderr);
    }
    let stats = env.stats().await;
    assert_eq!(stats["tokens_issued"], 0, "nothing was asked of the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_unknown_names_are_counted_not_listed() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("hosts.txt");
    let mut names: Vec<String> = (0..20_000).map(|i| format!("NO-SUCH-{i:05}")).collect();
    names.push("DESKTOP-01".into());
    std::fs::write(&file, names.join("\n")).expect("writing the hosts file");
    let out = rtrsh(&env)
        .args(["--hosts-file", file.to_str().expect("UTF-8"), "--dry-run"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(
        out.stderr.contains("rtrsh: 1 host matched"),
        "{}",
        out.stderr
    );
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("rtrsh: no host named:"))
        .expect("the unmatched names");
    assert!(
        line.ends_with("and 19990 more (20000 in all)") && line.len() < 300,
        "{line}"
    );
}

/// `RUST_LOG=debug` prints a line per API request for a bug report, and never the secret, a
/// token, a header or a command's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_name_each_request_and_never_a_secret_a_token_or_output() {
    let env = crate::support::TestEnv::start(crate::support::fast()).await;
    let out = crate::support::shell::rtrsh(&env)
        .env("RUST_LOG", "debug")
        .args([
            "--host",
            "DESKTOP-01",
            "--no-transcript",
            "-c",
            "ps",
            "-c",
            "env",
        ])
        .run()
        .await;
    out.expect_code(0);
    let log = &out.stderr;
    for line in [
        "rtrsh::http: POST /oauth2/token -> 201",
        "rtrsh::http: POST /real-time-response/entities/sessions/v1 -> 201",
        "rtrsh::http: POST /real-time-response/entities/command/v1 -> 201",
        "rtrsh::http: GET /real-time-response/entities/command/v1 -> 200",
    ] {
        assert!(log.contains(line), "{line} in {log}");
    }
    assert!(log.contains("trace_id "), "{log}");
    // The output went to stdout only; nothing secret anywhere.
    assert!(out.stdout().contains("lsass.exe") && out.stdout().contains("COMPUTERNAME"));
    for secret in [
        rtrsh_emulator::DEFAULT_CLIENT_SECRET,
        "access_token",
        "Bearer",
        "authorization",
        "lsass.exe",
        "COMPUTERNAME",
        "cloud_request_id=",
    ] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

/// `--debug --log-file FILE`: the same request lines go to FILE (private), none to stderr; a
/// log file that cannot be opened is one usage line before any request.
#[tokio::test]
async fn the_log_file_takes_the_debug_lines_and_nothing_secret() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rtrsh.log");
    let out = rtrsh(&env)
        .env_remove("RUST_LOG")
        .args([
            "--host",
            "DESKTOP-01",
            "--no-transcript",
            "--debug",
            "--log-file",
        ])
        .args([path.to_str().expect("utf-8 path"), "-c", "env"])
        .run()
        .await;
    out.expect_code(0);
    assert!(!out.stderr.contains("rtrsh::http"), "{}", out.stderr);
    let log = std::fs::read_to_string(&path).expect("the log file");
    assert!(
        log.contains("rtrsh::http: POST /real-time-response/entities/command/v1 -> 201"),
        "{log}"
    );
    for secret in [
        rtrsh_emulator::DEFAULT_CLIENT_SECRET,
        "access_token",
        "Bearer",
        "COMPUTERNAME",
    ] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A log file that was there already is narrowed to 0600; a symbolic link is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = dir.path().join("loose.log");
        std::fs::write(&loose, "").expect("write");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let out = rtrsh(&env)
            .args(["--host", "DESKTOP-01", "--no-transcript", "--log-file"])
            .args([loose.to_str().expect("utf-8 path"), "-c", "pwd"])
            .run()
            .await;
        out.expect_code(0);
        let mode = std::fs::metadata(&loose)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&loose, &link).expect("symlink");
        let out = rtrsh(&env)
            .args(["--host", "DESKTOP-01", "--no-transcript", "--log-file"])
            .args([link.to_str().expect("utf-8 path"), "-c", "pwd"])
            .run()
            .await;
        out.expect_code(2);
    }
    let before = endpoint_count(&env.stats().await, "POST /oauth2/token");
    let bad = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--log-file"])
        .args([dir
            .path()
            .join("no/such/dir/x.log")
            .to_str()
            .expect("utf-8")])
        .args(["-c", "pwd"])
        .run()
        .await;
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("cannot open the log file"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        endpoint_count(&env.stats().await, "POST /oauth2/token"),
        before
    );
}
