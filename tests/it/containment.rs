//! Network containment (`contain` / `lift`) against the emulator: one host and many, with and
//! without the Hosts: Write scope (`devices:write`), scripts without `--yes` refused before any
//! request, `only HOST contain`, the states `hosts` shows, and the devices-actions endpoint's
//! replies against the spec.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::shell::{Pty, converse, rtrsh, transcript_files};
use crate::support::{Api, Reply, TestEnv, assert_no_violations, endpoint_count, fast, ms};

const ACTIONS: &str = "/devices/entities/devices-actions/v2";
const ACTIONS_ENDPOINT: &str = "POST /devices/entities/devices-actions/v2";

/// Generous: the machine is shared; a deadline only catches hangs.
const T: std::time::Duration = std::time::Duration::from_secs(30);

/// A tenant whose hosts settle 300 ms after a containment action.
async fn env() -> TestEnv {
    TestEnv::start(rtrsh_emulator::EmulatorConfig {
        containment_delay: ms(300),
        ..fast()
    })
    .await
}

/// A field of a host as the emulator lists it (`""` when it has none).
async fn host_field(env: &TestEnv, aid: &str, field: &str) -> String {
    env.hosts()
        .await
        .iter()
        .find(|h| h["aid"] == aid)
        .and_then(|h| h[field].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The emulator's containment status of a host.
async fn status(env: &TestEnv, aid: &str) -> String {
    host_field(env, aid, "containment").await
}

async fn hostname(env: &TestEnv, aid: &str) -> String {
    host_field(env, aid, "hostname").await
}

/// Two online hosts: their aids and their names.
async fn two_hosts(env: &TestEnv) -> (Vec<String>, String, String) {
    let aids = env.online_aids(2).await;
    let (a, b) = (hostname(env, &aids[0]).await, hostname(env, &aids[1]).await);
    (aids, a, b)
}

/// `POST /devices/entities/devices-actions/v2?action_name=NAME` with these ids.
async fn action(api: &Api, name: &str, ids: Value) -> Reply {
    let rb = api
        .request(Method::POST, ACTIONS)
        .await
        .query(&[("action_name", name)])
        .json(&json!({ "ids": ids }));
    api.send(rb).await
}

/// The lines of `--json` output about an action (`result`), and about hosts (`containment`).
fn split(lines: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    (
        lines.iter().filter(|l| l.get("result").is_some()).collect(),
        lines
            .iter()
            .filter(|l| l.get("containment").is_some())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_is_contained_then_lifted_and_hosts_shows_the_state() {
    let env = env().await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args([
        "--host",
        "DESKTOP-01",
        "--yes",
        "--json",
        "-c",
        "contain",
        "-c",
        "hosts",
    ]);
    let out = sh.run().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The audit transcript says what was done to which host.
    let files = transcript_files(sh.home());
    let audit = std::fs::read_to_string(&files[0]).expect("transcript");
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"contain: requested\"") && l.contains(&aid)),
        "{audit}"
    );
    let lines = out.json_lines();
    let (results, hosts) = split(&lines);
    assert_eq!(results.len(), 1, "{lines:?}");
    assert_eq!(results[0]["host"], "DESKTOP-01");
    assert_eq!(results[0]["aid"], aid.as_str());
    assert_eq!(results[0]["action"], "contain");
    assert_eq!(results[0]["result"], "requested");
    assert_eq!(hosts.len(), 1, "{lines:?}");
    assert_eq!(hosts[0]["containment"], "containment_pending");
    assert!(
        hosts[0]["local_ip"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty())
    );
    assert!(
        hosts[0]["os_version"]
            .as_str()
            .is_some_and(|o| !o.is_empty())
    );
    assert!(
        hosts[0]["last_seen"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(endpoint_count(&env.stats().await, ACTIONS_ENDPOINT), 1);

    tokio::time::sleep(ms(400)).await;
    assert_eq!(status(&env, &aid).await, "contained");

    // Again: the host is already contained; that is the state asked for, exit 0.
    let again = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--yes",
            "-c",
            "contain",
            "-c",
            "hosts",
        ])
        .run()
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    let text = again.stdout();
    assert!(text.contains("DESKTOP-01: already contained"), "{text}");
    assert!(text.contains("contained"), "hosts shows the state: {text}");

    // Lift: pending, then normal.
    let lift = rtrsh(&env)
        .args([
            "--host",
            "DESKTOP-01",
            "--yes",
            "--json",
            "-c",
            "lift",
            "-c",
            "hosts",
        ])
        .run()
        .await;
    assert_eq!(lift.code, 0, "{}", lift.stderr);
    let lines = lift.json_lines();
    let (results, hosts) = split(&lines);
    assert_eq!(results[0]["action"], "lift_containment");
    assert_eq!(results[0]["result"], "requested");
    assert_eq!(hosts[0]["containment"], "lift_containment_pending");
    tokio::time::sleep(ms(400)).await;
    assert_eq!(status(&env, &aid).await, "normal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_hosts_offline_ones_too_each_with_its_result() {
    let env = env().await;
    let online = env.online_aids(2).await;
    let off = env.online_aids(3).await.pop().expect("a third host");
    env.set_online(&off, false).await;
    let mut names = Vec::new();
    for a in online.iter().chain([&off]) {
        names.push(hostname(&env, a).await);
    }
    // `--queue-offline` keeps the offline host in the shell without counting it as not run
    // (exit 1); containment reaches it either way.
    let out = rtrsh(&env)
        .hosts(&names)
        .args([
            "--queue-offline",
            "--yes",
            "--json",
            "-c",
            "contain",
            "-c",
            "hosts",
        ])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    let (results, hosts) = split(&lines);
    let mut contained: Vec<&str> = results
        .iter()
        .filter(|r| r["result"] == "requested")
        .filter_map(|r| r["host"].as_str())
        .collect();
    contained.sort_unstable();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(contained, want, "the offline host too: {lines:?}");
    assert_eq!(hosts.len(), 3, "{lines:?}");
    assert!(
        hosts
            .iter()
            .all(|h| h["containment"] == "containment_pending"),
        "{hosts:?}"
    );
    assert!(
        out.stderr.contains("contain on 3 hosts: 3 requested"),
        "{}",
        out.stderr
    );
    // One request for all of them, as the spec has it.
    let stats = env.stats().await;
    assert_eq!(endpoint_count(&stats, ACTIONS_ENDPOINT), 1);
    assert_no_violations(&stats);

    // The online hosts settle; the offline one stays pending until it is back.
    tokio::time::sleep(ms(400)).await;
    for a in &online {
        assert_eq!(status(&env, a).await, "contained");
    }
    assert_eq!(status(&env, &off).await, "containment_pending");
    env.set_online(&off, true).await;
    assert_eq!(status(&env, &off).await, "containment_pending");
    tokio::time::sleep(ms(400)).await;
    assert_eq!(status(&env, &off).await, "contained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_some_hosts_of_a_fleet() {
    let env = env().await;
    let (aids, a, b) = two_hosts(&env).await;
    let out = rtrsh(&env)
        .args([
            "--host",
            &a,
            "--host",
            &b,
            "--yes",
            "-c",
            &format!("only {} contain", b.to_lowercase()),
        ])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout();
    assert!(
        text.contains(&format!("{b}: containment requested")),
        "{text}"
    );
    assert!(!text.contains(&format!("{a}:")), "{text}");
    assert_eq!(status(&env, &aids[0]).await, "normal");
    assert_eq!(status(&env, &aids[1]).await, "containment_pending");

    // A name that is not in the shell: refused, nothing sent.
    let before = endpoint_count(&env.stats().await, ACTIONS_ENDPOINT);
    let out = rtrsh(&env)
        .args(["--host", &a, "--yes", "-c", &format!("only {b} lift")])
        .run()
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not in this session"), "{}", out.stderr);
    assert_eq!(endpoint_count(&env.stats().await, ACTIONS_ENDPOINT), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_without_yes_are_refused_before_any_request() {
    let env = env().await;
    let (aids, a, b) = two_hosts(&env).await;
    let runs: Vec<Vec<String>> = vec![
        // One host, below any threshold.
        vec!["--host".into(), a.clone(), "-c".into(), "contain".into()],
        vec!["--host".into(), a.clone(), "-c".into(), "lift".into()],
        // Many hosts, and `only`.
        vec![
            "--host".into(),
            a.clone(),
            "--host".into(),
            b.clone(),
            "-c".into(),
            "contain".into(),
        ],
        vec![
            "--host".into(),
            a.clone(),
            "--host".into(),
            b.clone(),
            "-c".into(),
            format!("only {a} contain"),
        ],
    ];
    for args in runs {
        let out = rtrsh(&env).args(args.clone()).run().await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("refused: `") && out.stderr.contains("pass --yes"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // `--dry-run` says so, and sends nothing either.
    let out = rtrsh(&env)
        .args([
            "--host",
            &a,
            "--host",
            &b,
            "--dry-run",
            "--json",
            "-c",
            "contain",
        ])
        .run()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    let line = lines
        .iter()
        .find(|l| l["command"] == "contain")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(line["action"], "contain");
    assert_eq!(line["hosts"], 2);
    assert_eq!(line["needs_yes"], true);
    // Piped on stdin, too.
    let out = rtrsh(&env)
        .args(["--host", &a])
        .stdin_pipe("contain\n")
        .run()
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let stats = env.stats().await;
    assert_eq!(endpoint_count(&stats, ACTIONS_ENDPOINT), 0, "nothing sent");
    assert_eq!(status(&env, &aids[0]).await, "normal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_hosts_write_the_error_names_the_scope() {
    let env = env().await;
    let (aids, a, b) = two_hosts(&env).await;
    for hosts in [vec![a.clone()], vec![a.clone(), b.clone()]] {
        let out = rtrsh(&env)
            .env("FALCON_CLIENT_ID", "responder-client")
            .env("FALCON_CLIENT_SECRET", "responder-secret")
            .hosts(&hosts)
            .args(["--yes", "-c", "contain"])
            .run()
            .await;
        // A command that failed (1), not a failure to reach the API (3): the shell keeps going.
        assert_eq!(out.code, 1, "{hosts:?}: {}", out.stderr);
        let scope_lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("Hosts: Write"))
            .collect();
        assert_eq!(scope_lines.len(), 1, "one line: {}", out.stderr);
        assert!(
            scope_lines[0].contains("contain: this API client lacks the \"Hosts: Write\" scope"),
            "{}",
            out.stderr
        );
        assert!(out.stdout().contains("not done"), "{}", out.stdout());
    }
    let stats = env.stats().await;
    assert_eq!(
        stats["endpoints"][ACTIONS_ENDPOINT]["statuses"]["403"], 2,
        "{}",
        stats["endpoints"]
    );
    assert_eq!(status(&env, &aids[0]).await, "normal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_endpoint_answers_per_host_as_the_spec_says() {
    let env = env().await;
    let api = env.api();
    let aids = env.online_aids(2).await;
    let r = action(&api, "contain", json!([aids[0]])).await;
    r.expect(202);
    assert_eq!(r.body["resources"][0]["id"], aids[0].as_str());
    assert_eq!(r.body["errors"], json!([]));
    // Already pending: 409, per host.
    let r = action(&api, "contain", json!([aids[0]])).await;
    r.expect(409);
    assert_eq!(r.body["errors"][0]["code"], 409);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&aids[0])
    );
    // Mixed: the new host is taken, the other reported.
    let unknown = "0".repeat(32);
    let r = action(&api, "contain", json!([aids[0], aids[1], unknown])).await;
    r.expect(202);
    assert_eq!(r.body["resources"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(2));
    // Lift on a host that is not contained: 409.
    tokio::time::sleep(ms(400)).await;
    let r = action(&api, "lift_containment", json!([aids[0]])).await;
    r.expect(202);
    let r = action(&api, "lift_containment", json!([aids[0]])).await;
    r.expect(409);
    // Device details report the status, and FQL filters on it.
    let d = api
        .get(&format!("/devices/entities/devices/v2?ids={}", aids[1]))
        .await;
    d.expect(200);
    assert_eq!(d.body["resources"][0]["status"], "contained");
    let q = api
        .get("/devices/queries/devices/v1?filter=status%3A%27contained%27")
        .await;
    q.expect(200);
    assert_eq!(q.body["resources"], json!([aids[1]]));
    // A bad action name: 400 in the same envelope.
    let r = action(&api, "reboot", json!([aids[0]])).await;
    r.expect(400);
    // A read-only client: the gateway's 403.
    let ro = env.api_as("readonly-client", "readonly-secret");
    action(&ro, "contain", json!([aids[0]]))
        .await
        .expect_meta_error(403, 403, "access denied, authorization failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_asks_even_for_one_host() {
    let env = env().await;
    let aid = env.aid("DESKTOP-01").await;
    let sh = rtrsh(&env).args(["--host", "DESKTOP-01"]);
    let code = converse(move || {
        let mut t = Pty::spawn(&sh);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("contain");
        t.expect("Network-contain 1 host (DESKTOP-01)?", T);
        t.line("n");
        t.expect("not run", T);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.line("lift");
        t.expect("Lift containment on 1 host (DESKTOP-01)? [y/N]", T);
        t.line("");
        t.expect("not run", T);
        t.line("contain");
        t.expect("[y/N]", T);
        t.line("y");
        t.expect("DESKTOP-01: containment requested", T);
        t.expect(r"DESKTOP-01 C:\> ", T);
        t.ctrl_d();
        t.wait_exit(T)
    })
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        endpoint_count(&env.stats().await, ACTIONS_ENDPOINT),
        1,
        "only the yes"
    );
    assert_eq!(status(&env, &aid).await, "containment_pending");
}
