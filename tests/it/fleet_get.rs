//! `get` on many hosts: one batch get, every host's file downloaded, its SHA-256 checked and
//! extracted into `evidence/HOST/` with a manifest line, a line per host and one summary;
//! a host without the file is reported, not counted as a success.

use rtrsh_emulator::EmulatorConfig;

use crate::support::shell::rtrsh;
use crate::support::{TestEnv, fast};

const PATH: &str = r"C:\Windows\System32\drivers\etc\hosts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_on_a_hundred_hosts_saves_every_file_verified() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 100,
        offline_share: 0.0,
        no_hostile_host: true,
        rate_limit: 0,
        ..fast()
    })
    .await;
    let windows: Vec<(String, String)> = env
        .hosts()
        .await
        .iter()
        .filter(|h| h["platform_name"] == "Windows" && h["online"] == true)
        .map(|h| {
            (
                h["aid"].as_str().unwrap_or_default().to_string(),
                h["hostname"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(windows.len() > 50, "{}", windows.len());
    // The fixed offline hosts (LAPTOP-OFF-01, the old KIOSK-01) are "not run (offline)".
    let all_windows = env
        .hosts()
        .await
        .iter()
        .filter(|h| h["platform_name"] == "Windows")
        .count();
    let dir = tempfile::tempdir().expect("an evidence folder");
    let out = rtrsh(&env)
        .args([
            "--filter",
            "platform_name:'Windows'",
            "--no-transcript",
            "--yes",
        ])
        .args(["--evidence-dir", dir.path().to_str().expect("UTF-8")])
        .commands([format!("get {PATH}")])
        .run()
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains(&format!(
            "{all_windows} hosts: {} succeeded, {} not run (offline)",
            windows.len(),
            all_windows - windows.len()
        )),
        "{}",
        out.stderr
    );
    for (aid, hostname) in &windows {
        let want = env.host_file(aid, PATH).await;
        let saved = dir.path().join(hostname).join("hosts");
        let got = std::fs::read(&saved).unwrap_or_else(|e| panic!("{}: {e}", saved.display()));
        assert_eq!(got, want, "{hostname}: byte for byte");
        let manifest = std::fs::read_to_string(dir.path().join(hostname).join("manifest.jsonl"))
            .expect("a manifest");
        assert!(manifest.contains("\"verified\":true"), "{manifest}");
        assert!(
            out.stdout().contains(&format!("{hostname}: saved ")),
            "{hostname}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_the_file_is_reported_per_host() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("an evidence folder");
    let out = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--host",
            "KIOSK-01",
            "--no-transcript",
            "--yes",
        ])
        .args(["--evidence-dir", dir.path().to_str().expect("UTF-8")])
        .commands([r"get C:\no\such\file.txt"])
        .run()
        .await;
    out.expect_code(1);
    assert!(out.stderr.contains("0 succeeded"), "{}", out.stderr);
    assert!(
        out.stderr.contains(r"DESKTOP-01: get C:\no\such\file.txt:"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_queued_for_an_offline_host_is_not_waited_for() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("an evidence folder");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--host", "LAPTOP-OFF-01"])
        .args(["--queue-offline", "--no-transcript", "--yes"])
        .args(["--evidence-dir", dir.path().to_str().expect("UTF-8")])
        .commands([format!("get {PATH}")])
        .run()
        .await;
    assert!(
        out.stdout().contains("DESKTOP-01: saved"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stderr.contains("LAPTOP-OFF-01: get")
            && out.stderr.contains("queued for the offline host"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_download_on_many_hosts() {
    let env = TestEnv::start(fast()).await;
    let names = ["DESKTOP-01", "HOSTILE-01"];
    let dir = tempfile::tempdir().expect("an evidence folder");
    let out = rtrsh(&env)
        .args(["--no-transcript", "--yes"])
        .hosts(names)
        .args(["--evidence-dir", dir.path().to_str().expect("UTF-8")])
        .commands([
            format!("get {PATH}"),
            "files".into(),
            "download hosts".into(),
        ])
        .run()
        .await;
    out.expect_code(0);
    let stdout = out.stdout();
    for n in names {
        let aid = env.aid(n).await;
        let want = env.host_file(&aid, PATH).await;
        // `get` saved it once, `download` once more under the next free name.
        for file in ["hosts", "hosts (2)"] {
            let got = std::fs::read(dir.path().join(n).join(file))
                .unwrap_or_else(|e| panic!("{n}/{file}: {e}\n{stdout}\n{}", out.stderr));
            assert_eq!(got, want, "{n}/{file}");
        }
        assert_eq!(
            stdout.matches(&format!("{n}: saved ")).count(),
            2,
            "{stdout}"
        );
    }
    // The `files` table names the host of each file.
    assert!(
        stdout.contains("host") && stdout.contains("complete"),
        "{stdout}"
    );
    assert!(
        out.stderr.contains("download hosts: 2 hosts: 2 succeeded"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_on_one_host_saves_what_files_lists() {
    let env = TestEnv::start(fast()).await;
    let aid = env.aid("DESKTOP-01").await;
    let dir = tempfile::tempdir().expect("an evidence folder");
    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .args(["--evidence-dir", dir.path().to_str().expect("UTF-8")])
        .commands([
            format!("get {PATH}"),
            "download hosts".into(),
            "download nothing-like-it".into(),
        ])
        .run()
        .await;
    // The last line finds nothing: exit 1, said in one line.
    out.expect_code(1);
    assert!(out.stderr.contains("nothing to download"), "{}", out.stderr);
    let want = env.host_file(&aid, PATH).await;
    for file in ["hosts", "hosts (2)"] {
        let got = std::fs::read(dir.path().join("DESKTOP-01").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", out.stderr));
        assert_eq!(got, want, "{file}");
    }
}
