//! Tests of the audit transcript: permissions, one valid JSON object per event, no secrets,
//! refusal of planted files, appending to our own file.

use super::*;
use std::time::Duration;

const SECRET: &str = "s3cr3t-CLIENT-SECRET-value";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.TOKEN.sig";

fn options(store_output: bool) -> TranscriptOptions {
    TranscriptOptions {
        operator: Operator {
            user: "analyst".into(),
            api_client_id: Some("client-id-123".into()),
        },
        store_output,
        host_label: "WIN-01".into(),
        session_id: None,
    }
}

fn session() -> SessionInfo {
    SessionInfo {
        host: "WIN-01".into(),
        aid: "aid0123".into(),
        session_id: Some("sess-1".into()),
        trace_ids: vec!["trace-open".into()],
    }
}

fn record() -> CommandRecord {
    let mut r = CommandRecord::new(
        "WIN-01",
        "aid0123",
        "ls C:\\Temp",
        Tier::ReadOnly,
        SystemTime::now(),
    );
    r.session_id = Some("sess-1".into());
    r.cloud_request_id = Some("req-9".into());
    r.status = CommandStatus::Ok;
    r.set_duration(Duration::from_millis(42));
    r.set_stdout(b"hello\n");
    r.set_stderr(b"\xff\x1b[2J");
    r.trace_ids = vec!["trace-cmd".into()];
    r.sequence_ids_seen = vec![0, 1];
    r
}

/// Write one of every event.
fn write_all_events(t: &mut Transcript) {
    t.session_open(&session()).expect("open event");
    t.command(&record()).expect("command event");
    t.session_reopen(&session()).expect("reopen event");
    t.note(Some(&session()), "host went offline")
        .expect("note event");
    t.note(None, "bye").expect("note event");
    t.session_close(&session()).expect("close event");
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("readable");
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

#[test]
fn one_valid_json_line_per_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    let mut t = Transcript::open(Some(path.clone()), options(false)).expect("opens");
    assert_eq!(t.path(), Some(path.as_path()));
    write_all_events(&mut t);
    let v = lines(&path);
    let events: Vec<_> = v
        .iter()
        .map(|l| l["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        events,
        [
            "session_open",
            "command",
            "session_reopen",
            "note",
            "note",
            "session_close"
        ]
    );
    let cmd = &v[1];
    assert_eq!(cmd["operator"]["user"], "analyst");
    assert_eq!(cmd["operator"]["api_client_id"], "client-id-123");
    assert_eq!(cmd["host"], "WIN-01");
    assert_eq!(cmd["aid"], "aid0123");
    assert_eq!(cmd["session_id"], "sess-1");
    assert_eq!(cmd["cloud_request_id"], "req-9");
    assert_eq!(cmd["command"], "ls C:\\Temp");
    assert_eq!(cmd["tier"], "read-only");
    assert_eq!(cmd["status"], "ok");
    assert_eq!(cmd["duration_ms"], 42);
    assert_eq!(
        cmd["stdout_sha256"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert_eq!(cmd["stdout_bytes"], 6);
    assert_eq!(cmd["stderr_bytes"], 5);
    assert_eq!(cmd["trace_ids"], serde_json::json!(["trace-cmd"]));
    assert_eq!(cmd["sequence_ids_seen"], serde_json::json!([0, 1]));
    assert!(
        cmd.get("stdout_b64").is_none(),
        "bodies are not stored by default"
    );
    assert!(
        !std::fs::read_to_string(&path)
            .expect("readable")
            .contains("hello")
    );
    assert_eq!(v[3]["note"], "host went offline");
    for l in &v {
        assert!(humantime::parse_rfc3339(l["ts"].as_str().unwrap_or("")).is_ok());
        let e: Entry = serde_json::from_value(l.clone()).expect("an Entry");
        assert_eq!(e.operator.user, "analyst");
    }
}

#[test]
fn store_output_keeps_exact_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    let mut t = Transcript::open(Some(path.clone()), options(true)).expect("opens");
    t.command(&record()).expect("command event");
    let v = lines(&path);
    assert_eq!(v[0]["stdout_b64"], BASE64.encode(b"hello\n"));
    assert_eq!(v[0]["stderr_b64"], BASE64.encode(b"\xff\x1b[2J"));
}

#[test]
fn no_secrets_and_only_known_fields() {
    // Secrets live in the process environment as they would in a real run; nothing may copy them.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    let mut opts = options(true);
    opts.operator = Operator::from_env(Some("client-id-123".into()));
    let mut t = Transcript::open(Some(path.clone()), opts).expect("opens");
    write_all_events(&mut t);
    let text = std::fs::read_to_string(&path).expect("readable");
    for needle in [
        SECRET,
        TOKEN,
        "secret",
        "token",
        "Bearer",
        "authorization",
        "password",
    ] {
        assert!(
            !text.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} in transcript"
        );
    }
    let allowed = [
        "ts",
        "event",
        "operator",
        "host",
        "aid",
        "session_id",
        "cloud_request_id",
        "command",
        "tier",
        "status",
        "stdout_sha256",
        "stderr_sha256",
        "stdout_bytes",
        "stderr_bytes",
        "stdout_b64",
        "stderr_b64",
        "duration_ms",
        "trace_ids",
        "sequence_ids_seen",
        "note",
    ];
    for l in lines(&path) {
        let obj = l.as_object().expect("an object");
        for key in obj.keys() {
            assert!(allowed.contains(&key.as_str()), "unexpected field {key}");
        }
        let op = l["operator"].as_object().expect("operator object");
        assert!(op.keys().all(|k| k == "user" || k == "api_client_id"));
    }
}

#[test]
fn hostile_text_is_inert_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    let mut t = Transcript::open(Some(path.clone()), options(false)).expect("opens");
    let mut s = session();
    s.host = "evil\x1b]0;x\x07\u{202e}\nhost".into();
    t.session_open(&s).expect("event");
    let bytes = std::fs::read(&path).expect("readable");
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
    assert!(!bytes.contains(&0x1b) && !bytes.contains(&0x07));
    assert_eq!(lines(&path)[0]["host"], s.host.as_str());
}

#[test]
fn disabled_is_a_no_op() {
    let mut t = Transcript::disabled();
    assert!(!t.is_enabled());
    assert_eq!(t.path(), None);
    write_all_events(&mut t);
}

#[test]
fn default_path_layout() {
    let now = humantime::parse_rfc3339("2026-05-01T12:34:56Z").expect("valid time");
    let base = Path::new("/data");
    assert_eq!(
        default_path(base, "WIN-01", Some("0123456789abcdef"), now),
        Path::new("/data/rtrsh/transcripts/2026-05-01/WIN-01-01234567.jsonl")
    );
    assert_eq!(
        default_path(base, "WIN-01", None, now),
        Path::new("/data/rtrsh/transcripts/2026-05-01/WIN-01-123456.jsonl")
    );
    // A hostile host name cannot climb out of the directory or hide in a dotfile.
    assert_eq!(
        default_path(base, "../../etc/passwd", Some(""), now),
        Path::new("/data/rtrsh/transcripts/2026-05-01/_.._etc_passwd-123456.jsonl")
    );
    assert_eq!(
        default_path(base, "", Some("../x"), now),
        Path::new("/data/rtrsh/transcripts/2026-05-01/host-_x.jsonl")
    );
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("exists").permissions().mode() & 0o7777
    }

    #[test]
    fn file_is_0600_and_new_directories_0700() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a").join("b").join("t.jsonl");
        let mut t = Transcript::open(Some(path.clone()), options(false)).expect("opens");
        t.note(None, "x").expect("note");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);
    }

    #[test]
    fn appends_to_an_existing_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        {
            let mut t = Transcript::open(Some(path.clone()), options(false)).expect("opens");
            t.note(None, "first").expect("note");
        }
        let mut t = Transcript::open(Some(path.clone()), options(false)).expect("re-opens");
        t.note(None, "second").expect("note");
        let notes: Vec<_> = lines(&path).iter().map(|l| l["note"].clone()).collect();
        assert_eq!(notes, ["first", "second"]);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn refuses_a_planted_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").expect("write");
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = dir.path().join("t.jsonl");
        // unix-only: in `mod unix`, which is cfg(unix).
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        let err = Transcript::open(Some(path.clone()), options(false)).expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // A dangling symlink is refused too (it would otherwise create the target).
        let dangling = dir.path().join("d.jsonl");
        // unix-only: in `mod unix`, which is cfg(unix).
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
        assert!(Transcript::open(Some(dangling), options(false)).is_err());
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(
            std::fs::read_to_string(&victim).expect("read"),
            "precious\n"
        );
    }

    #[test]
    fn refuses_a_hard_link_and_loose_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("id_key");
        std::fs::write(&victim, "key\n").expect("write");
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = dir.path().join("t.jsonl");
        std::fs::hard_link(&victim, &path).expect("hard link");
        let err = Transcript::open(Some(path), options(false)).expect_err("refused");
        assert!(err.to_string().contains("hard links"), "{err}");

        let loose = dir.path().join("loose.jsonl");
        std::fs::write(&loose, "").expect("write");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = Transcript::open(Some(loose), options(false)).expect_err("refused");
        assert!(err.to_string().contains("0644"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "key\n");
    }

    #[test]
    fn refuses_a_directory_or_fifo_without_hanging() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        assert!(Transcript::open(Some(sub), options(false)).is_err());
        let fifo = dir.path().join("fifo.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            // With no reader, a blocking open would hang forever; this one fails at once.
            assert!(Transcript::open(Some(fifo), options(false)).is_err());
        }
    }
}
