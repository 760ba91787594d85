//! Host names and big selections as the real devices API treats them (docs/protocol.md,
//! "Host lookup"): a name filter is a case-insensitive prefix match, the list form is exact and
//! case-sensitive, the offset query stops at 10,000 results and the scroll query goes on. First the
//! emulator plays each rule over HTTP, then `rtrsh` finds exactly the hosts typed, under the real
//! reading and under the exact one, one host or many.

use std::collections::HashSet;

use rtrsh_emulator::{EmulatorConfig, HostnameMatch};

use crate::support::shell::{pwd_on, rtrsh};
use crate::support::{Api, TestEnv, fast};

const QUERY: &str = "/devices/queries/devices/v1";
const SCROLL: &str = "/devices/queries/devices-scroll/v1";

/// Prefix twins of DESKTOP-01, a host in lower case, and one more.
const TWINS: [&str; 4] = ["DESKTOP-010", "DESKTOP-01-OLD", "desktop-02", "DESKTOP-03"];

fn tenant(rule: HostnameMatch) -> EmulatorConfig {
    EmulatorConfig {
        hosts: 30,
        offline_share: 0.0,
        hostname_match: rule,
        host_names: TWINS.iter().map(|s| s.to_string()).collect(),
        ..fast()
    }
}

async fn names_for(env: &TestEnv, api: &Api, filter: &str) -> Vec<String> {
    let r = api
        .get(&format!("{QUERY}?sort=hostname.asc&filter={}", enc(filter)))
        .await;
    r.expect(200);
    let mut out = Vec::new();
    for aid in r.resource_ids() {
        let host = env
            .hosts()
            .await
            .into_iter()
            .find(|h| h["aid"] == aid.as_str())
            .expect("a known aid");
        out.push(host["hostname"].as_str().unwrap_or_default().to_string());
    }
    out.sort();
    out
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_matches_names_as_real_tenants_do() {
    let env = TestEnv::start(tenant(HostnameMatch::Prefix)).await;
    let api = env.api();
    // The single form is a prefix, ignoring case.
    assert_eq!(
        names_for(&env, &api, "hostname:'DESKTOP-01'").await,
        ["DESKTOP-01", "DESKTOP-01-OLD", "DESKTOP-010"]
    );
    assert_eq!(
        names_for(&env, &api, "hostname:'Desktop-0'").await,
        [
            "DESKTOP-01",
            "DESKTOP-01-OLD",
            "DESKTOP-010",
            "DESKTOP-03",
            "desktop-02"
        ]
    );
    // A leading `*` finds nothing.
    assert!(names_for(&env, &api, "hostname:'*'").await.is_empty());
    assert!(names_for(&env, &api, "hostname:'*-01'").await.is_empty());
    // The list form is exact and case-sensitive.
    assert_eq!(
        names_for(&env, &api, "hostname:['DESKTOP-01']").await,
        ["DESKTOP-01"]
    );
    assert!(
        names_for(&env, &api, "hostname:['DESKTOP-02']")
            .await
            .is_empty()
    );
    assert_eq!(
        names_for(&env, &api, "hostname:['desktop-02','DESKTOP-03']").await,
        ["DESKTOP-03", "desktop-02"]
    );

    // The other reading: equality, ignoring case, in both forms.
    let exact = TestEnv::start(tenant(HostnameMatch::Exact)).await;
    let api = exact.api();
    assert_eq!(
        names_for(&exact, &api, "hostname:'DESKTOP-01'").await,
        ["DESKTOP-01"]
    );
    assert_eq!(
        names_for(&exact, &api, "hostname:['DESKTOP-02']").await,
        ["desktop-02"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offset_query_stops_at_10000_and_the_scroll_query_goes_on() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 25_000,
        ..fast()
    })
    .await;
    let api = env.api();
    // Two pages of 5,000 reach the 10,000th host; one more is refused.
    api.get(&format!("{QUERY}?limit=5000&offset=5000"))
        .await
        .expect(200);
    api.get(&format!("{QUERY}?limit=1&offset=10000"))
        .await
        .expect_api_error(400, 400, "limit + offset must be less than 10000");

    // The scroll query pages through all 25,000 with opaque string tokens.
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let q = if token.is_empty() {
            format!("{SCROLL}?limit=5000&sort=hostname.asc")
        } else {
            format!(
                "{SCROLL}?limit=5000&sort=hostname.asc&offset={}",
                enc(&token)
            )
        };
        let r = api.get(&q).await;
        r.expect(200);
        let p = &r.body["meta"]["pagination"];
        assert_eq!(p["total"], 25_000);
        assert!(p["offset"].is_string(), "the token is a string: {p}");
        assert!(p["expires_at"].as_u64().is_some_and(|t| t > 0));
        let page = r.resource_ids();
        if page.is_empty() {
            break;
        }
        pages += 1;
        for a in page {
            assert!(seen.insert(a), "an aid came twice");
        }
        token = p["offset"].as_str().unwrap_or_default().to_string();
    }
    assert_eq!((seen.len(), pages), (25_000, 5));

    // A token is bound to its query, and a number is not a token.
    let first = api
        .get(&format!("{SCROLL}?limit=10&filter=platform_name:'Linux'"))
        .await;
    let token = first.body["meta"]["pagination"]["offset"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.get(&format!("{SCROLL}?limit=10&offset={}", enc(&token)))
        .await
        .expect_api_error(400, 400, "another filter");
    api.get(&format!("{SCROLL}?limit=10&offset=5000"))
        .await
        .expect_api_error(400, 400, "Invalid offset");
}

/// `rtrsh --host NAME` takes the host named NAME and no other, under either reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_by_name_despite_prefix_twins_and_case() {
    for rule in [HostnameMatch::Prefix, HostnameMatch::Exact] {
        let env = TestEnv::start(tenant(rule)).await;
        let want = env.aid("DESKTOP-01").await;
        let out = rtrsh(&env)
            .args(["--host", "DESKTOP-01", "--json", "--no-transcript"])
            .commands(["pwd"])
            .run()
            .await;
        out.expect_code(0);
        let records = out.json_lines();
        assert_eq!(records.len(), 1, "{rule:?}: {records:?}");
        assert_eq!(records[0]["aid"], want.as_str(), "{rule:?}");

        // Another case finds the same host.
        let out = rtrsh(&env)
            .args(["--host", "desktop-01", "--json", "--no-transcript"])
            .commands(["pwd"])
            .run()
            .await;
        out.expect_code(0);
        assert_eq!(out.json_lines()[0]["aid"], want.as_str(), "{rule:?}");

        // A prefix of three hosts names none of them: "did you mean", nothing runs.
        let out = pwd_on(&env, "DESKTOP-0").await;
        out.expect_code(1);
        assert!(
            out.stderr.contains("no host named \"DESKTOP-0\"")
                && out.stderr.contains("did you mean: DESKTOP-01"),
            "{rule:?}: {}",
            out.stderr
        );
        // A pattern is not a name.
        let out = pwd_on(&env, "DESKTOP-*").await;
        out.expect_code(1);
        assert!(
            out.stderr.contains("no host named \"DESKTOP-*\"")
                && out.stderr.contains("--filter \"hostname:'DESKTOP-'\""),
            "{rule:?}: {}",
            out.stderr
        );
        assert_eq!(
            env.stats().await["command_log"].as_array().map(Vec::len),
            Some(2),
            "{rule:?}: only the two good runs ran a command"
        );
    }
}

/// Many names (`--host` lists and `--hosts-file`) go through the same rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_hosts_by_name_despite_prefix_twins_and_case() {
    for rule in [HostnameMatch::Prefix, HostnameMatch::Exact] {
        let env = TestEnv::start(tenant(rule)).await;
        let mut want: Vec<String> = Vec::new();
        for n in ["DESKTOP-01", "desktop-02", "DESKTOP-03"] {
            want.push(env.aid(n).await);
        }
        want.sort();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let file = dir.path().join("hosts.txt");
        std::fs::write(
            &file,
            "DESKTOP-01\nDESKTOP-02\n# a comment\ndesktop-03\n*\n",
        )
        .expect("writing the hosts file");
        for args in [
            vec![
                "--host",
                "DESKTOP-01",
                "--host",
                "DESKTOP-02",
                "--host",
                "desktop-03",
                "--host",
                "*",
            ],
            vec!["--hosts-file", file.to_str().expect("a UTF-8 path")],
        ] {
            let out = rtrsh(&env)
                .args(args.clone())
                .args(["--json", "--no-transcript", "--yes"])
                .commands(["pwd"])
                .run()
                .await;
            let mut got: Vec<String> = out
                .json_lines()
                .iter()
                .filter_map(|r| r["aid"].as_str().map(str::to_string))
                .collect();
            got.sort();
            assert_eq!(got, want, "{rule:?} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("rtrsh: 3 hosts matched"),
                "{rule:?} {args:?}: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains("no host named: *")
                    && out
                        .stderr
                        .contains("host names are literal; --filter selects"),
                "{rule:?}: {}",
                out.stderr
            );
            out.expect_code(1);
        }

        // A typo among good names gets a "did you mean".
        let out = rtrsh(&env)
            .args(["--host", "DESKTOP-01", "--host", "DESKTP-01", "--dry-run"])
            .commands(["pwd"])
            .run()
            .await;
        assert!(
            out.stderr.contains("rtrsh: 1 host matched")
                && out.stderr.contains("DESKTP-01: did you mean DESKTOP-01"),
            "{rule:?}: {}",
            out.stderr
        );
    }
}

/// `--filter` selections past the offset query's 10,000-result cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_over_25000_hosts_selects_them_all() {
    let env = TestEnv::start(EmulatorConfig {
        hosts: 25_000,
        ..fast()
    })
    .await;
    let filter = "platform_name:'Windows'";
    let total = env
        .api()
        .get(&format!("{QUERY}?limit=1&filter={}", enc(filter)))
        .await
        .body["meta"]["pagination"]["total"]
        .as_u64()
        .expect("a total");
    assert!(total > 10_000, "the test needs more than 10,000: {total}");
    let out = rtrsh(&env)
        .args(["--filter", filter, "--dry-run"])
        .commands(["pwd"])
        .run()
        .await;
    assert!(
        out.stderr
            .contains(&format!("rtrsh: {total} hosts matched")),
        "{}",
        out.stderr
    );
    let stats = env.stats().await;
    assert_eq!(
        crate::support::endpoint_count(&stats, &format!("GET {QUERY}")),
        1,
        "only the test's own offset query"
    );
}
