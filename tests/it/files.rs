//! Files retrieved with `get`: the session's list (v1, v2), delete, and the 7z download.

use rtrsh_command::Tier;
use serde_json::json;

use crate::support::{Api, DEADLINE, RESPONDER, TestEnv, fast, ms};

const V1: &str = "/real-time-response/entities/file/v1";
const V2: &str = "/real-time-response/entities/file/v2";
const CONTENTS: &str = "/real-time-response/entities/extracted-file-contents/v1";
const HOSTS_FILE: &str = "C:\\Windows\\System32\\drivers\\etc\\hosts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_session_has_no_files_and_unknown_sessions_are_404() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    for list in [V1, V2] {
        let r = api.get(&format!("{list}?session_id={sid}")).await;
        r.expect(200);
        assert_eq!(r.body["resources"], json!([]));
        api.get(&format!("{list}?session_id={}", uuid::Uuid::nil()))
            .await
            .expect_api_error(404, 404, "session");
        api.get(list).await.expect_api_error(400, 400, "session_id");
    }
    // Another client cannot list this session's files.
    let other = env.api_as(RESPONDER.0, RESPONDER.1);
    other
        .get(&format!("{V2}?session_id={sid}"))
        .await
        .expect_api_error(404, 404, "session");
    api.delete(&format!("{V2}?session_id={sid}&ids=nope"))
        .await
        .expect_api_error(404, 404, "file");
    api.get(&format!(
        "{CONTENTS}?session_id={sid}&sha256={}",
        "0".repeat(64)
    ))
    .await
    .expect_api_error(404, 404, "sha256");
}

/// Runs `get` and waits until file/v2 shows the file complete; returns the v2 record.
async fn get_file(api: &Api, aid: &str, sid: &str, path: &str) -> serde_json::Value {
    let id = api
        .exec(Tier::ActiveResponder, sid, aid, &format!("get {path}"))
        .await;
    let done = api.wait(Tier::ActiveResponder, &id).await;
    assert_eq!(done["stderr"], "", "{done}");
    let start = std::time::Instant::now();
    loop {
        let r = api.get(&format!("{V2}?session_id={sid}")).await;
        r.expect(200);
        if let Some(f) = r.body["resources"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["cloud_request_id"] == id.as_str()))
            && f["complete"] == true
        {
            return f.clone();
        }
        assert!(start.elapsed() < DEADLINE, "file never finished uploading");
        tokio::time::sleep(ms(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_retrieved_file_is_listed_then_deleted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let f = get_file(&api, &aid, &sid, HOSTS_FILE).await;
    assert_eq!(f["name"], HOSTS_FILE);
    assert_eq!(f["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(f["progress"], 1.0);
    let raw = reqwest::get(env.url(&format!(
        "/_emulator/hosts/{aid}/file?path={}",
        HOSTS_FILE.replace('\\', "%5C")
    )))
    .await
    .expect("raw")
    .bytes()
    .await
    .expect("bytes");
    assert_eq!(f["size"], raw.len());

    let v1 = api.get(&format!("{V1}?session_id={sid}")).await;
    assert_eq!(v1.first()["sha256"], f["sha256"]);
    assert!(v1.first()["id"].is_u64(), "v1 ids are integers");

    let id = f["id"].as_str().expect("id");
    api.delete(&format!("{V2}?session_id={sid}&ids={id}"))
        .await
        .expect(204);
    let r = api.get(&format!("{V2}?session_id={sid}")).await;
    assert_eq!(r.body["resources"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_retrieved_file_downloads_as_a_7z_archive_without_content_length() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    let f = get_file(&api, &aid, &sid, HOSTS_FILE).await;
    let sha = f["sha256"].as_str().expect("sha");
    let resp = api
        .request(
            reqwest::Method::GET,
            &format!("{CONTENTS}?session_id={sid}&sha256={sha}&filename=hosts"),
        )
        .await
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-7z-compressed"
    );
    assert!(resp.headers().get("content-length").is_none());
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..6], b"7z\xbc\xaf\x27\x1c", "7z signature");
}
