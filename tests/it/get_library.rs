//! The client side of the libraries `put`, `runscript -CloudFile` and `falconscript` complete
//! from (`FalconClient::put_file_names`, `script_names`, `falcon_script_names`), and of the
//! session file list `get` waits on.

use rtrsh_command::Tier;

use crate::support::client::{falcon_client, falcon_client_as};
use crate::support::{READONLY, TestEnv, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_names_for_completion() {
    let env = TestEnv::start(fast()).await;
    let c = falcon_client(&env);
    assert_eq!(
        c.put_file_names().await.expect("put-files"),
        ["collect.sh", "procdump64.exe", "triage.ps1"]
    );
    assert_eq!(
        c.script_names().await.expect("scripts"),
        ["Get-Triage", "linux-triage"]
    );
    assert_eq!(
        c.falcon_script_names().await.expect("falcon scripts"),
        ["CollectBrowserHistory", "GetScheduledTasks", "ListCronJobs"]
    );
    // Without the admin scope the libraries are refused (403), not empty.
    let ro = falcon_client_as(&env, READONLY.0, READONLY.1);
    let e = ro.put_file_names().await.expect_err("needs admin");
    assert_eq!(e.status(), Some(403), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_files_show_a_get_until_deleted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let path = r"C:\Windows\System32\drivers\etc\hosts";
    let id = api
        .exec(Tier::ActiveResponder, &sid, &aid, &format!("get {path}"))
        .await;
    api.wait(Tier::ActiveResponder, &id).await;
    let c = falcon_client(&env);
    let start = std::time::Instant::now();
    let file = loop {
        let files = c.session_files(&sid).await.expect("files");
        assert_eq!(files.len(), 1, "{files:?}");
        if files[0].ready() {
            break files[0].clone();
        }
        assert!(start.elapsed() < crate::support::DEADLINE, "never uploaded");
        tokio::time::sleep(crate::support::ms(20)).await;
    };
    assert_eq!(file.cloud_request_id, id);
    assert_eq!(file.name, path);
    assert!(!file.deleted());
    c.delete_session_file(&sid, &file.id).await.expect("delete");
    assert!(c.session_files(&sid).await.expect("files").is_empty());
}

/// The `library` built-in lists what `put`, `runscript -CloudFile=` and `falconscript -Name=`
/// accept, on one host and on a fleet; a library the client may not read is one error line and
/// the others are still listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_builtin_lists_the_cloud_libraries() {
    use crate::support::shell::rtrsh;
    let env = TestEnv::start(fast()).await;

    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", "library"])
        .run()
        .await;
    out.expect_code(0);
    let text = out.stdout();
    for want in [
        "put-files (put NAME): 3",
        "  procdump64.exe",
        "scripts (runscript -CloudFile=NAME): 2",
        "  Get-Triage",
        "falcon-scripts (falconscript -Name=NAME): 3",
        "  GetScheduledTasks",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }

    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--json", "-c", "library falcon"])
        .run()
        .await;
    out.expect_code(0);
    let names: Vec<String> = out
        .json_lines()
        .iter()
        .filter(|v| v["library"] == "falcon-scripts")
        .map(|v| v["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        ["CollectBrowserHistory", "GetScheduledTasks", "ListCronJobs"]
    );

    // Read-only: put-files and scripts are refused (one line each), Falcon scripts still listed.
    let out = rtrsh(&env)
        .env("FALCON_CLIENT_ID", READONLY.0)
        .env("FALCON_CLIENT_SECRET", READONLY.1)
        .args(["--host", "DESKTOP-01", "-c", "library"])
        .run()
        .await;
    out.expect_code(1);
    assert!(out.stderr.contains("put-files:"), "{}", out.stderr);
    assert!(out.stdout().contains("  ListCronJobs"), "{}", out.stdout());

    let out = rtrsh(&env)
        .args(["--host", "DESKTOP-01", "-c", "library nope"])
        .run()
        .await;
    out.expect_code(2);
    assert!(out.stderr.contains("put|scripts|falcon"), "{}", out.stderr);

    // A fleet has the same built-in (the libraries belong to the tenant, not a host).
    let out = rtrsh(&env)
        .hosts(["DESKTOP-01", "SRV-LNX-01"])
        .args(["-c", "library put"])
        .run()
        .await;
    out.expect_code(0);
    assert!(out.stdout().contains("  triage.ps1"), "{}", out.stdout());
}
