//! The emulator's verdict on command lines, per platform, and rtrsh's local verdict on the same
//! lines: every line the API refuses (40007 "Command not found", 40012 "Max args is N. M were
//! provided", a bad process id or flag value) is refused locally, so it costs no API call, on one
//! host and on many. The table's verdicts are written down from the API's known error wording
//! and wire syntax (docs/protocol.md, "Errors" and "Command tiers"); each line is sent to the
//! emulator over HTTP and checked against `rtrsh_command::classify`.

use rtrsh_command::{Platform, Tier, classify};
use serde_json::Value;

use crate::fleet_harness::rtrsh;
use crate::support::{Api, TestEnv, fast};

/// What the API answers to a line.
#[derive(Clone, Copy, Debug)]
enum Verdict {
    /// 201: the line reaches the host (which may still fail it on stderr).
    Runs,
    /// 40007 "Command not found".
    NotFound,
    /// 40012 with this exact message.
    MaxArgs(&'static str),
    /// 40012 for a malformed argument or flag value (the real wording is undocumented).
    BadArgs,
}

use Platform::{Linux, Mac, Windows};
use Verdict::{BadArgs, MaxArgs, NotFound, Runs};

const TABLE: &[(Platform, &str, Verdict)] = &[
    (Windows, "ps", Runs),
    (Windows, "ps aux", MaxArgs("Max args is 0. 1 were provided")),
    (
        Windows,
        r"cd C:\Program Files",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (Windows, r#"cd "C:\Program Files""#, Runs),
    (
        Windows,
        "mkdir a b",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (Windows, r#"mkdir "a b""#, Runs),
    (Windows, "kill abc", BadArgs),
    (Windows, "kill 4242", Runs),
    (Windows, "memdump x", BadArgs),
    (
        Windows,
        "getsid Administrator",
        MaxArgs("Max args is 0. 1 were provided"),
    ),
    (
        Windows,
        "update install KB1 KB2",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (Windows, r#"update install "KB1 KB2""#, Runs),
    (
        Windows,
        "eventlog view System 20 WinLogon more",
        MaxArgs("Max args is 3. 4 were provided"),
    ),
    (Windows, "eventlog view System 20 WinLogon", Runs),
    (
        Windows,
        "runscript -Raw=```Write-Output hi``` -Timeout=9999",
        BadArgs,
    ),
    (
        Windows,
        "runscript -Raw=```Write-Output hi``` -Timeout=0",
        BadArgs,
    ),
    (
        Windows,
        "runscript -Raw=```Write-Output hi``` -Timeout=3595",
        Runs,
    ),
    (
        Windows,
        "runscript -Raw=```Write-Output hi``` -Timeout=3600",
        Runs,
    ),
    (
        Windows,
        r"reg set HKLM\Software\T N -ValueType=REG_STRING -Value=1",
        BadArgs,
    ),
    (
        Windows,
        r"reg set HKLM\Software\T N -ValueType=REG_SZ -Value=1",
        Runs,
    ),
    (Windows, "ifconfig", NotFound),
    (Windows, "frobnicate", NotFound),
    (Windows, "help reg set", Runs),
    (Linux, "ps aux", MaxArgs("Max args is 0. 1 were provided")),
    (Linux, "ls -l /var/log", Runs),
    (
        Linux,
        "ls /var /tmp",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (Linux, "reg query", NotFound),
    (Linux, "kill abc", BadArgs),
    (Linux, "kill 1", Runs),
    (Linux, "tar -f=/tmp/x.tgz -c /var/log -z", Runs),
    (
        Linux,
        "tar -f=/tmp/x.tgz -c /var/log /etc",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (Mac, "csrutil status", Runs),
    (
        Mac,
        "csrutil status now",
        MaxArgs("Max args is 1. 2 were provided"),
    ),
    (
        Mac,
        "ifconfig en0",
        MaxArgs("Max args is 0. 1 were provided"),
    ),
    (Mac, "ipconfig", NotFound),
];

/// Lines rtrsh refuses although the emulator lets the host answer them: the API's reply to
/// these is undocumented, and rtrsh refuses them for the analyst's sake (a missing `-Confirm`,
/// a flag in another letter case that the host might ignore).
const LOCAL_ONLY: &[(Platform, &str)] = &[
    (Windows, "restart"),
    (Windows, r"rm C:\x -force"),
    (Windows, "runscript -Raw=```Write-Output hi``` -timeout=5"),
];

/// An online, well-behaved host of `platform`: (aid, hostname).
async fn host_of(env: &TestEnv, platform: Platform) -> (String, String) {
    let hosts = env.hosts().await;
    let h = hosts
        .iter()
        .filter(|h| h["online"] == true && h["hostile"] != true)
        .filter(|h| h["platform_name"] == platform.api_name())
        .min_by_key(|h| h["hostname"] != "DESKTOP-01" && h["hostname"] != "SRV-LNX-01")
        .unwrap_or_else(|| panic!("no online {platform:?} host"));
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (s(&h["aid"]), s(&h["hostname"]))
}

async fn send(api: &Api, sid: &str, aid: &str, line: &str) -> Result<(), (u64, String)> {
    let r = api.exec_reply(Tier::Admin, sid, aid, line).await;
    if r.status == 201 {
        return Ok(());
    }
    assert_eq!(r.status, 400, "{line}: {:#}", r.body);
    let e = &r.body["errors"][0];
    Err((
        e["code"].as_u64().unwrap_or_default(),
        e["message"].as_str().unwrap_or_default().to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_verdict_agrees_with_the_emulators_on_every_line() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    for platform in [Windows, Linux, Mac] {
        let (aid, _) = host_of(&env, platform).await;
        let sid = api.init(&aid).await;
        for (_, line, verdict) in TABLE.iter().filter(|(p, _, _)| *p == platform) {
            let api_said = send(&api, &sid, &aid, line).await;
            match (verdict, &api_said) {
                (Runs, Ok(())) | (NotFound, Err((40007, _))) | (BadArgs, Err((40012, _))) => {}
                (MaxArgs(want), Err((40012, got))) if got == want => {}
                _ => panic!(
                    "{platform:?} {line:?}: expected {verdict:?}, the emulator said {api_said:?}"
                ),
            }
            let local = classify(line, Some(platform));
            assert_eq!(
                local.is_ok(),
                api_said.is_ok(),
                "{platform:?} {line:?}: emulator {api_said:?}, rtrsh {local:?}"
            );
            if let Err(e) = local {
                let text = e.to_string();
                assert!(!text.contains('\n'), "{text}");
                if line.contains("Program Files") {
                    assert!(text.contains(r#"cd "C:\Program Files""#), "{text}");
                }
            }
        }
        for (_, line) in LOCAL_ONLY.iter().filter(|(p, _)| *p == platform) {
            assert_eq!(send(&api, &sid, &aid, line).await, Ok(()), "{line}");
            assert!(classify(line, Some(platform)).is_err(), "{line}");
        }
    }
}

/// Requests to any command endpoint (single or batch, any tier).
fn command_requests(stats: &Value) -> u64 {
    stats["endpoints"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains("command/v1") && k.starts_with("POST"))
                .map(|(_, v)| v["count"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_invalid_lines_cost_no_api_call_on_one_host_and_many() {
    let env = TestEnv::start(fast()).await;
    let mut lines: Vec<(Platform, &str)> = TABLE
        .iter()
        .filter(|(_, _, v)| !matches!(v, Runs))
        .map(|(p, l, _)| (*p, *l))
        .collect();
    lines.extend(LOCAL_ONLY);
    for (platform, line) in lines {
        let (_, name) = host_of(&env, platform).await;
        let filter = format!("platform_name:'{}'", platform.api_name());
        let want = classify(line, Some(platform)).err().map(|e| e.to_string());
        for target in [
            vec!["--host", name.as_str()],
            vec!["--filter", filter.as_str()],
        ] {
            let out = rtrsh(&env)
                .args(target.iter().copied())
                .args(["--no-transcript", "-c", line])
                .run()
                .await;
            let stats = env.stats().await;
            assert_eq!(
                command_requests(&stats),
                0,
                "{target:?} {line:?} reached the API: {:#}",
                stats["endpoints"]
            );
            assert_ne!(out.code, 0, "{target:?} {line:?}: {}", out.stderr);
            let want = want
                .as_deref()
                .unwrap_or_else(|| panic!("{line:?} passes classify"));
            assert!(
                out.stderr.contains(want),
                "{target:?} {line:?}: stderr lacks {want:?}:\n{}",
                out.stderr
            );
        }
    }
}
