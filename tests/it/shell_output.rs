//! What the shell prints: chunked output arrives byte-identical under every chunk model, hostile
//! host output is neutralised on the terminal (and passed through with `--raw`), and the audit
//! transcript records every command with the hash of its real output and nothing secret.

use rtrsh_emulator::world::{
    HOSTILE_DIR, HOSTILE_ESCAPES, HOSTILE_ESCAPES_TEXT, HOSTILE_INVALID_UTF8, HOSTILE_LONG_LINE,
    HOSTILE_LONG_LINE_LEN,
};
use rtrsh_emulator::{ChunkModel, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use sha2::{Digest, Sha256};

use crate::support::shell::{
    Out, events, executed, file_bytes, rtrsh, transcript_entries, transcript_files,
};
use crate::support::{TestEnv, assert_no_violations, fast};

const BIG_1MB: &str = r"C:\Logs\big-1mb.log";
const CHUNK: u64 = 16 * 1024;

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `cat` of the 1 MiB log in 16 KiB chunks: the bytes equal the file, and polling costs about
/// one status call per chunk.
async fn chunked_cat_is_exact(model: ChunkModel) {
    let env = TestEnv::start(EmulatorConfig {
        chunk_size: CHUNK,
        chunk_model: model,
        ..fast()
    })
    .await;
    let aid = env.aid("DESKTOP-01").await;
    let line = format!("cat {BIG_1MB}");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--raw"])
        .commands([line.as_str()])
        .run()
        .await;
    out.expect_code(0);
    let want = file_bytes(&env, &aid, BIG_1MB).await;
    assert_eq!(want.len(), 1 << 20);
    assert!(
        out.stdout == want,
        "{model:?}: got {} bytes, want {} (first difference at {:?})",
        out.stdout.len(),
        want.len(),
        out.stdout.iter().zip(&want).position(|(a, b)| a != b)
    );
    let stats = env.stats().await;
    assert_eq!(executed(&stats, &aid), [line.as_str()]);
    let id = stats["command_log"][0]["cloud_request_id"]
        .as_str()
        .expect("the cat's id");
    let cmd = &stats["commands"][id];
    let chunks = (1u64 << 20).div_ceil(CHUNK);
    let polls = cmd["polls"].as_u64().expect("polls");
    assert!(
        polls >= chunks && polls <= chunks + 12,
        "{model:?}: {polls} status calls for {chunks} chunks: {:#}",
        cmd["polls_by_sequence"]
    );
    // Never a tight loop on one index: each is fetched about once (the first also while the
    // command runs).
    for (seq, n) in cmd["polls_by_sequence"].as_object().expect("by sequence") {
        let n = n.as_u64().unwrap_or(0);
        let limit = if seq == "0" { 8 } else { 2 };
        assert!(n <= limit, "{model:?}: sequence {seq} polled {n} times");
    }
    assert_no_violations(&stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_output_is_byte_identical_with_the_next_model() {
    chunked_cat_is_exact(ChunkModel::Next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_output_is_byte_identical_with_the_echo_model() {
    chunked_cat_is_exact(ChunkModel::Echo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_output_is_byte_identical_with_the_splunk_model() {
    chunked_cat_is_exact(ChunkModel::Splunk).await;
}

/// No byte or character a terminal acts on: ESC, BEL, other C0 controls than tab/newline/CR,
/// C1 controls, bidi overrides and isolates.
fn assert_inert(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        assert!(
            !bad,
            "{what}: {c:?} at byte {i}: {:?}",
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        );
    }
}

/// `lines` on HOSTILE-01 (output sanitised, as by default); the run must exit 0.
async fn run_on_hostile(env: &TestEnv, lines: &[&str]) -> Out {
    let out = rtrsh(env)
        .args(["--host", "HOSTILE-01"])
        .commands(lines.iter().copied())
        .run()
        .await;
    out.expect_code(0);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_output_is_neutralised_unless_raw() {
    let env = TestEnv::start(fast()).await;
    let cat = format!("cat {HOSTILE_ESCAPES}");
    let out = run_on_hostile(&env, &[&cat]).await;
    let text = String::from_utf8(out.stdout.clone()).expect("sanitised output is UTF-8");
    assert_inert("cat escapes.txt", &text);
    for shown in [r"\e]0;pwned", r"\e[2J", r"\e[31m"] {
        assert!(text.contains(shown), "{shown} is shown as text:\n{text}");
    }
    assert!(text.contains("quarterly numbers attached") && text.contains("all is fine"));

    // --raw: the exact bytes, escapes and all (for pipes).
    let raw = rtrsh(&env)
        .args(["--host", "HOSTILE-01", "--raw"])
        .commands([cat.as_str()])
        .run()
        .await;
    raw.expect_code(0);
    assert_eq!(raw.stdout, HOSTILE_ESCAPES_TEXT.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_and_hostile_file_names_are_neutralised() {
    let env = TestEnv::start(fast()).await;
    let cat = format!("cat {HOSTILE_INVALID_UTF8}");
    let ls = format!("ls {HOSTILE_DIR}");
    let out = run_on_hostile(&env, &[&cat, &ls]).await;
    let text = String::from_utf8(out.stdout.clone()).expect("sanitised output is UTF-8");
    assert_inert("cat invalid-utf8.bin; ls C:\\hostile", &text);
    assert!(text.contains("header") && text.contains("end"), "{text}");
    assert!(
        text.contains(r"\e]0;pwned") && text.contains("notes") && text.contains("escapes.txt"),
        "the listing shows the hostile names as text:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_mib_single_line_arrives_complete() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("HOSTILE-01").await;
    let want = file_bytes(&env, &aid, HOSTILE_LONG_LINE).await;
    assert_eq!(want.len() as u64, HOSTILE_LONG_LINE_LEN);
    let cat = format!("cat {HOSTILE_LONG_LINE}");
    let out = run_on_hostile(&env, &[&cat]).await;
    assert_eq!(
        out.stdout.len(),
        want.len(),
        "every byte of the line arrives"
    );
    assert!(
        out.stdout == want,
        "a printable line is passed through unchanged"
    );
}

/// Every line of a transcript file, parsed.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcript_records_every_command_privately_and_without_secrets() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let ini = r"C:\Windows\win.ini";
    let cat = format!("cat {ini}");
    let sh = rtrsh(&env);
    let sh = sh.args(["--host", "DESKTOP-01", "--raw"]).commands([
        "cd Windows",
        cat.as_str(),
        MISSING_CAT,
    ]);
    let out = sh.run().await;
    out.expect_code(1);

    // Default location: $HOME/.local/share (no XDG_DATA_HOME in the environment).
    let files = transcript_files(sh.home());
    assert_eq!(files.len(), 1, "{files:#?}");
    let path = &files[0];
    let rel = path.strip_prefix(sh.home()).expect("under HOME");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        parts[..4],
        [".local", "share", "rtrsh", "transcripts"],
        "{}",
        rel.display()
    );
    assert!(
        parts[5].starts_with("DESKTOP-01-") && parts[5].ends_with(".jsonl"),
        "{}",
        rel.display()
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(path), 0o600, "the transcript is private");
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
    }

    let (text, entries) = transcript_entries(path);
    let events = events(&entries);
    assert_eq!(
        events,
        [
            "session_open",
            "command",
            "command",
            "command",
            "session_close"
        ]
    );
    let stats = env.stats().await;
    let log = stats["command_log"].as_array().expect("log");
    let session_id = entries[0]["session_id"].as_str().expect("session id");
    for (i, e) in entries[1..4].iter().enumerate() {
        assert_eq!(e["host"], "DESKTOP-01");
        assert_eq!(e["aid"], aid.as_str());
        assert_eq!(e["session_id"], session_id);
        assert_eq!(e["operator"]["user"], "analyst");
        assert_eq!(e["cloud_request_id"], log[i]["cloud_request_id"]);
        assert_eq!(e["command"], log[i]["command_string"]);
    }
    assert_eq!(entries[3]["status"], "error");
    // The hash of what the host really sent: the file's bytes (also what --raw printed).
    let ini_bytes = file_bytes(&env, &aid, ini).await;
    let cd_out = br"C:\Windows";
    // A newline separates the `cd` output (which has none) from the next command's.
    assert_eq!(out.stdout, [cd_out.as_slice(), b"\n", &ini_bytes].concat());
    assert_eq!(entries[2]["stdout_sha256"], hex_sha256(&ini_bytes));
    assert_eq!(entries[2]["stdout_bytes"], ini_bytes.len() as u64);
    assert_eq!(entries[1]["stdout_sha256"], hex_sha256(cd_out));
    assert_eq!(entries[3]["stdout_sha256"], hex_sha256(b""));
    assert_eq!(
        entries[3]["stderr_sha256"],
        hex_sha256(out.stderr.as_bytes()),
        "the error text is hashed as the host sent it"
    );
    // Nothing secret, nothing of the output itself.
    assert!(!text.contains(DEFAULT_CLIENT_SECRET), "the secret leaked");
    assert!(
        !text.to_ascii_lowercase().contains("bearer"),
        "a token leaked"
    );
    assert!(!text.contains("access_token"));
    assert!(!text.contains("[fonts]"), "output bodies are not stored");
}

const MISSING_CAT: &str = r"cat C:\nope.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcript_honours_xdg_data_home() {
    let env = TestEnv::start(fast()).await;
    let sh = rtrsh(&env);
    let xdg = sh.home().join("xdg-data");
    let sh = sh
        .args(["--host", "DESKTOP-01"])
        .env("XDG_DATA_HOME", xdg.display().to_string())
        .commands(["pwd"]);
    let out = sh.run().await;
    out.expect_code(0);
    let files = transcript_files(sh.home());
    assert_eq!(files.len(), 1, "{files:#?}");
    assert!(
        files[0].starts_with(xdg.join("rtrsh").join("transcripts")),
        "{}",
        files[0].display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_path_and_no_transcript() {
    let env = TestEnv::start(fast()).await;
    let sh = rtrsh(&env);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let path = elsewhere.path().join("case-4711").join("audit.jsonl");
    let sh = sh
        .args(["--host", "DESKTOP-01", "--transcript"])
        .arg(path.display().to_string())
        .commands(["pwd"]);
    let out = sh.run().await;
    out.expect_code(0);
    assert!(
        transcript_files(sh.home()).is_empty(),
        "nothing in the default place"
    );
    let (_, entries) = transcript_entries(&path);
    let events = events(&entries);
    assert_eq!(events, ["session_open", "command", "session_close"]);
    assert_eq!(entries[1]["stdout_sha256"], hex_sha256(br"C:\"));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    // A second run appends to the same file.
    let again = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--transcript"])
        .arg(path.display().to_string())
        .commands(["pwd"])
        .run()
        .await;
    again.expect_code(0);
    assert_eq!(transcript_entries(&path).1.len(), 6);

    let none = rtrsh(&env);
    let none = none
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands(["pwd", "cd Windows"]);
    let out = none.run().await;
    out.expect_code(0);
    assert!(
        transcript_files(none.home()).is_empty(),
        "--no-transcript writes nothing: {:#?}",
        transcript_files(none.home())
    );
}
