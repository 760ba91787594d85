//! The admin libraries: put-files and custom scripts (list, get v1/v2, create, update, delete).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, TestEnv, fast};

const PUT_Q: &str = "/real-time-response/queries/put-files/v1";
const PUT_E1: &str = "/real-time-response/entities/put-files/v1";
const PUT_E2: &str = "/real-time-response/entities/put-files/v2";
const SCRIPT_Q: &str = "/real-time-response/queries/scripts/v1";
const SCRIPT_E1: &str = "/real-time-response/entities/scripts/v1";
const SCRIPT_E2: &str = "/real-time-response/entities/scripts/v2";

async fn ids(api: &Api, path: &str) -> Vec<String> {
    let r = api.get(path).await;
    r.expect(200);
    serde_json::from_value(r.body["resources"].clone()).expect("ids")
}

async fn by_name(api: &Api, query: &str, entities: &str, name: &str) -> Option<Value> {
    let all = ids(api, query).await;
    let q: Vec<String> = all.iter().map(|i| format!("ids={i}")).collect();
    let r = api.get(&format!("{entities}?{}", q.join("&"))).await;
    r.expect(200);
    r.body["resources"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_files_can_be_uploaded_listed_and_deleted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let before = ids(&api, PUT_Q).await;
    assert!(before.len() >= 2, "the tenant starts with put-files");
    let seeded = by_name(&api, PUT_Q, PUT_E2, "triage.ps1")
        .await
        .expect("seeded");
    assert_eq!(seeded["sha256"].as_str().map(str::len), Some(64));

    let content = b"MZ\x90\x00 not really a program";
    let r = api
        .multipart(
            Method::POST,
            PUT_E1,
            &[
                ("description", "test tool"),
                ("name", "tool.exe"),
                ("comments_for_audit_log", "ci"),
            ],
            Some(("tool.exe", content)),
        )
        .await;
    r.expect(200);
    let after = ids(&api, PUT_Q).await;
    assert_eq!(after.len(), before.len() + 1);
    let rec = by_name(&api, PUT_Q, PUT_E1, "tool.exe")
        .await
        .expect("uploaded");
    assert_eq!(rec["size"], content.len());
    assert_eq!(rec["description"], "test tool");
    let id = rec["id"].as_str().expect("id").to_string();

    // Same name again: conflict.
    let r = api
        .unvalidated()
        .multipart(
            Method::POST,
            PUT_E1,
            &[("description", "again")],
            Some(("tool.exe", b"x")),
        )
        .await;
    assert_eq!(r.status, 409);
    // Missing description or file: 400.
    api.multipart(Method::POST, PUT_E1, &[], Some(("x.bin", b"x")))
        .await
        .expect_api_error(400, 400, "description");
    api.multipart(Method::POST, PUT_E1, &[("description", "d")], None)
        .await
        .expect_api_error(400, 400, "file");

    api.delete(&format!("{PUT_E1}?ids={id}")).await.expect(200);
    assert_eq!(ids(&api, PUT_Q).await.len(), before.len());
    api.get(&format!("{PUT_E2}?ids={id}"))
        .await
        .expect_api_error(404, 404, "");
    api.delete(&format!("{PUT_E1}?ids={id}")).await.expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_can_be_created_updated_and_deleted() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let before = ids(&api, SCRIPT_Q).await.len();
    let r = api
        .multipart(
            Method::POST,
            SCRIPT_E1,
            &[
                ("name", "hello"),
                ("description", "says hello"),
                ("permission_type", "private"),
                ("platform", "windows"),
                ("content", "Write-Output hello"),
            ],
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(ids(&api, SCRIPT_Q).await.len(), before + 1);
    let s = by_name(&api, SCRIPT_Q, SCRIPT_E2, "hello")
        .await
        .expect("created");
    assert_eq!(s["content"], "Write-Output hello");
    assert_eq!(s["permission_type"], "private");
    assert_eq!(s["platform"], json!(["windows"]));
    assert_eq!(s["file_type"], "script");
    let id = s["id"].as_str().expect("id").to_string();

    let r = api
        .multipart(
            Method::PATCH,
            SCRIPT_E1,
            &[("id", &id), ("platform", "linux,mac")],
            Some(("hello.sh", b"echo hello")),
        )
        .await;
    r.expect(200);
    let s = by_name(&api, SCRIPT_Q, SCRIPT_E1, "hello")
        .await
        .expect("updated");
    assert_eq!(s["content"], "echo hello");
    assert_eq!(s["platform"], json!(["linux", "mac"]));

    api.multipart(
        Method::PATCH,
        SCRIPT_E1,
        &[("id", &id), ("permission_type", "everyone")],
        None,
    )
    .await
    .expect_api_error(400, 400, "permission_type");
    api.multipart(Method::PATCH, SCRIPT_E1, &[("id", "nope")], None)
        .await
        .expect(404);

    api.delete(&format!("{SCRIPT_E1}?ids={id}"))
        .await
        .expect(200);
    assert_eq!(ids(&api, SCRIPT_Q).await.len(), before);
    api.delete(&format!("{SCRIPT_E1}?ids={id}"))
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_creation_checks_its_fields() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("name", "a"),
                ("permission_type", "public"),
                ("content", "x"),
            ],
            "description",
        ),
        (
            &[("name", "a"), ("description", "d"), ("content", "x")],
            "permission_type",
        ),
        (
            &[
                ("name", "a"),
                ("description", "d"),
                ("permission_type", "public"),
            ],
            "file or content",
        ),
        (
            &[
                ("name", "a"),
                ("description", "d"),
                ("permission_type", "public"),
                ("content", "x"),
                ("platform", "amiga"),
            ],
            "platform",
        ),
    ];
    for (fields, complaint) in cases {
        api.multipart(Method::POST, SCRIPT_E1, fields, None)
            .await
            .expect_api_error(400, 400, complaint);
    }
    let r = api
        .unvalidated()
        .multipart(
            Method::POST,
            SCRIPT_E1,
            &[
                ("name", "Get-Triage"),
                ("description", "d"),
                ("permission_type", "public"),
                ("content", "x"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 409, "names are unique");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_listings_page_and_sort() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let all = ids(&api, &format!("{PUT_Q}?sort=name|asc")).await;
    let mut paged = Vec::new();
    for offset in 0..all.len() {
        paged.extend(
            ids(
                &api,
                &format!("{PUT_Q}?sort=name|asc&limit=1&offset={offset}"),
            )
            .await,
        );
    }
    assert_eq!(paged, all);
    let mut desc = ids(&api, &format!("{PUT_Q}?sort=name|desc")).await;
    desc.reverse();
    assert_eq!(desc, all);
    api.get(&format!("{SCRIPT_Q}?offset=x")).await.expect(400);
    api.get(PUT_E2).await.expect_api_error(400, 400, "ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn library_listings_filter_by_name() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let one = ids(&api, &format!("{PUT_Q}?filter=name:'triage.ps1'")).await;
    assert_eq!(one.len(), 1);
    let none = ids(&api, &format!("{SCRIPT_Q}?filter=name:'no-such-script'")).await;
    assert!(none.is_empty());
}
