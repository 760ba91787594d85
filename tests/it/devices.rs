//! The devices API: host queries with pagination and sort, details (GET ≤100, POST ≤5000),
//! online state.

use std::collections::HashSet;

use serde_json::json;

use crate::support::{Api, TestEnv, fast};

const QUERY: &str = "/devices/queries/devices/v1";
const DETAILS: &str = "/devices/entities/devices/v2";
const ONLINE: &str = "/devices/entities/online-state/v1";

async fn hostnames(api: &Api, aids: &[String]) -> Vec<String> {
    let q: Vec<String> = aids.iter().map(|a| format!("ids={a}")).collect();
    let r = api.get(&format!("{DETAILS}?{}", q.join("&"))).await;
    r.expect(200);
    let by_aid: std::collections::HashMap<String, String> = r.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|d| {
            (
                d["device_id"].as_str().unwrap_or_default().to_string(),
                d["hostname"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    aids.iter().map(|a| by_aid[a].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_all_hosts_yields_each_exactly_once() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let world = env.hosts().await.len();
    let all = api.get(QUERY).await;
    all.expect(200);
    assert_eq!(all.body["meta"]["pagination"]["total"], world);
    assert_eq!(all.body["meta"]["pagination"]["limit"], 100);
    assert_eq!(all.resource_ids().len(), world);

    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let r = api.get(&format!("{QUERY}?limit=4&offset={offset}")).await;
        r.expect(200);
        assert_eq!(r.body["meta"]["pagination"]["offset"], offset);
        assert_eq!(r.body["meta"]["pagination"]["total"], world);
        let page = r.resource_ids();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        offset += page.len();
        seen.extend(page);
    }
    assert_eq!(seen.len(), world);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        world,
        "no duplicates"
    );
    for aid in &seen {
        assert!(
            aid.len() == 32 && aid.chars().all(|c| c.is_ascii_hexdigit()),
            "{aid} is not an aid"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorting_by_hostname_both_ways() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let asc = api
        .get(&format!("{QUERY}?sort=hostname.asc"))
        .await
        .resource_ids();
    let names = hostnames(&api, &asc).await;
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_ascii_lowercase());
    assert_eq!(names, sorted);
    let desc = api
        .get(&format!("{QUERY}?sort=hostname|desc"))
        .await
        .resource_ids();
    let mut names_desc = hostnames(&api, &desc).await;
    names_desc.reverse();
    assert_eq!(
        names_desc
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect::<Vec<_>>(),
        sorted
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_limits_and_bad_sorts_are_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for bad in [
        "limit=0",
        "limit=5001",
        "limit=ten",
        "offset=-1",
        "sort=nosuchfield.asc",
        "sort=hostname.up",
    ] {
        let r = api.get(&format!("{QUERY}?{bad}")).await;
        r.expect_api_error(400, 400, "");
        assert_eq!(r.body["meta"]["powered_by"], "device-api", "{bad}");
    }
    api.get(&format!("{QUERY}?limit=5000")).await.expect(200);
    let past = api.get(&format!("{QUERY}?offset=9000")).await;
    past.expect(200);
    assert_eq!(past.body["resources"], json!([]));
    // Past 10,000 (offset + limit) the offset query refuses, as on real tenants.
    api.get(&format!("{QUERY}?offset=100000"))
        .await
        .expect_api_error(400, 400, "limit + offset must be less than 10000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_hostname_filter_finds_exactly_that_host() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let r = api
        .get(&format!("{QUERY}?filter=hostname:'DESKTOP-01'"))
        .await;
    r.expect(200);
    assert_eq!(r.resource_ids(), vec![env.aid("DESKTOP-01").await]);
    assert_eq!(r.body["meta"]["pagination"]["total"], 1);
    let r = api
        .get(&format!("{QUERY}?filter=hostname:'NO-SUCH-HOST'"))
        .await;
    r.expect(200);
    assert_eq!(r.body["resources"], json!([]));
    let r = api
        .get(&format!("{QUERY}?filter=platform_name:'Windows'"))
        .await;
    let windows = r.resource_ids();
    assert!(!windows.is_empty() && windows.len() < env.hosts().await.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_malformed_filter_or_unknown_field_is_400() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for bad in ["hostname:'unterminated", "nosuchfield:'x'", "hostname"] {
        let r = api.get(&format!("{QUERY}?filter={bad}")).await;
        r.expect_api_error(400, 400, "filter");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_describe_each_host_the_query_returned() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aids = api.get(&format!("{QUERY}?limit=3")).await.resource_ids();
    let q: Vec<String> = aids.iter().map(|a| format!("ids={a}")).collect();
    let r = api.get(&format!("{DETAILS}?{}", q.join("&"))).await;
    r.expect(200);
    let got: Vec<&str> = r.body["resources"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["device_id"].as_str().expect("device_id"))
        .collect();
    assert_eq!(got.len(), 3);
    let world = env.hosts().await;
    for d in r.body["resources"].as_array().expect("array") {
        let h = world
            .iter()
            .find(|h| h["aid"] == d["device_id"])
            .expect("known host");
        assert_eq!(d["hostname"], h["hostname"]);
        assert_eq!(d["platform_name"], h["platform_name"]);
        assert_eq!(d["cid"], h["cid"]);
    }
    // POST takes the same ids in a body.
    let r = api.post(DETAILS, &json!({ "ids": aids })).await;
    r.expect(200);
    assert_eq!(r.body["resources"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_enforce_100_ids_on_get_and_5000_on_post() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let q = vec![format!("ids={aid}"); 101].join("&");
    api.get(&format!("{DETAILS}?{q}"))
        .await
        .expect_api_error(400, 400, "100");
    let q = vec![format!("ids={aid}"); 100].join("&");
    api.get(&format!("{DETAILS}?{q}")).await.expect(200);

    let many = vec![aid.clone(); 5001];
    api.post(DETAILS, &json!({ "ids": many }))
        .await
        .expect_api_error(400, 400, "5000");
    let many = vec![aid; 5000];
    api.post(DETAILS, &json!({ "ids": many })).await.expect(200);
    api.get(DETAILS).await.expect_api_error(400, 400, "ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_reported_beside_the_known_ones() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let unknown = "0".repeat(32);
    let r = api.get(&format!("{DETAILS}?ids={aid}&ids={unknown}")).await;
    r.expect(200);
    assert_eq!(r.body["resources"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["errors"][0]["code"], 404);
    let r = api
        .unvalidated()
        .get(&format!("{DETAILS}?ids={unknown}"))
        .await;
    r.expect(404);
    assert_eq!(r.body["resources"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_state_follows_the_host() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let state = |r: &crate::support::Reply| r.first()["state"].as_str().map(str::to_string);
    let r = api.get(&format!("{ONLINE}?ids={aid}")).await;
    r.expect(200);
    assert_eq!(state(&r).as_deref(), Some("online"));
    assert_eq!(r.first()["id"], aid.as_str());
    env.set_online(&aid, false).await;
    let r = api.get(&format!("{ONLINE}?ids={aid}")).await;
    assert_eq!(state(&r).as_deref(), Some("offline"));
    env.set_online(&aid, true).await;
    let r = api.get(&format!("{ONLINE}?ids={aid}")).await;
    assert_eq!(state(&r).as_deref(), Some("online"));

    let q = vec![format!("ids={aid}"); 101].join("&");
    api.get(&format!("{ONLINE}?{q}")).await.expect(400);
    api.get(ONLINE).await.expect(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_world_starts_with_the_hosts_the_demo_needs() {
    let env = TestEnv::start(fast()).await;
    let hosts = env.hosts().await;
    assert_eq!(hosts.len(), 25, "the default tenant has 25 hosts");
    assert!(hosts.iter().any(|h| h["hostname"] == "DESKTOP-01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn the_fixed_hosts_exist_with_their_platforms_and_states() {
    let env = TestEnv::start(fast()).await;
    let hosts = env.hosts().await;
    let find = |name: &str| {
        hosts
            .iter()
            .filter(|h| h["hostname"] == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(find("DESKTOP-01")[0]["platform_name"], "Windows");
    assert_eq!(find("SRV-LNX-01")[0]["platform_name"], "Linux");
    assert_eq!(find("MBP-01")[0]["platform_name"], "Mac");
    assert_eq!(find("HOSTILE-01")[0]["hostile"], true);
    assert_eq!(find("LAPTOP-OFF-01")[0]["online"], false);
    assert_eq!(find("KIOSK-01").len(), 2, "two hosts share a hostname");
}
