//! Credentials and tenants end to end: `auth login|status|logout` with the keyring crate's mock
//! store, region autodiscovery between two emulators playing two clouds, MSSP `member_cid`, and
//! the binary's behaviour without a keyring. All over real HTTP.

use std::sync::Arc;

use rtrsh::config::auth::{LoginRequest, check_token, login, logout, render_status, status};
use rtrsh::config::{
    Cloud, CloudUrls, ConfigFile, Context, Profile, Region, Request, Source, resolve_with,
};
use rtrsh::credentials::{KeyringStore, SecretStore};
use rtrsh::error::Exit;
use rtrsh_client::ClientOptions;
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::support::shell::rtrsh;
use crate::support::{TestEnv, assert_no_violations, endpoint_count, fast};

const TOKEN: &str = "POST /oauth2/token";
const REVOKE: &str = "POST /oauth2/revoke";
const QUERY: &str = "GET /devices/queries/devices-scroll/v1";

/// Two emulators: `home` is the eu-1 cloud the API client belongs to; `us1` is the default
/// cloud, which serves the token but names eu-1 in `X-CS-Region` (docs/protocol.md,
/// "Clouds and region discovery").
async fn two_clouds() -> (TestEnv, TestEnv, CloudUrls) {
    let eu = EmulatorConfig {
        region: "eu-1".into(),
        ..fast()
    };
    let us1 = TestEnv::start(eu.clone()).await;
    let home = TestEnv::start(eu).await;
    let urls = CloudUrls::default()
        .with(Region::Us1, us1.base.clone())
        .with(Region::Eu1, home.base.clone());
    (us1, home, urls)
}

struct Tenant {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<KeyringStore>,
}

impl Tenant {
    fn new() -> Tenant {
        let dir = tempfile::tempdir().expect("tempdir");
        Tenant {
            path: dir.path().join("rtrsh").join("config.toml"),
            _dir: dir,
            store: Arc::new(KeyringStore::mock()),
        }
    }

    fn ctx(&self, urls: CloudUrls) -> Context {
        Context::new(
            self.path.clone(),
            urls,
            self.store.clone() as Arc<dyn SecretStore>,
        )
    }
}

fn login_req(profile: &str, cloud: Option<&str>) -> LoginRequest {
    LoginRequest {
        profile: profile.into(),
        client_id: DEFAULT_CLIENT_ID.into(),
        secret: SecretString::from(DEFAULT_CLIENT_SECRET),
        cloud: cloud.map(str::to_string),
        member_cid: None,
        verify: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_discovers_the_region_pins_it_and_the_profile_then_works_there() {
    let (us1, home, urls) = two_clouds().await;
    let t = Tenant::new();
    let ctx = t.ctx(urls);

    let out = login(login_req("work", None), &ctx).await.expect("login");
    assert_eq!(out.cloud, "eu-1", "autodiscovered and pinned");
    assert_eq!(out.region.as_deref(), Some("eu-1"));
    assert_eq!(out.store, "mock keyring");

    // The file has the id and the cloud, never the secret; the keyring has the secret.
    let text = std::fs::read_to_string(&t.path).expect("profiles file");
    assert!(
        text.contains("[profiles.work]") && text.contains("cloud = \"eu-1\""),
        "{text}"
    );
    assert!(!text.contains(DEFAULT_CLIENT_SECRET), "{text}");
    let kept = t
        .store
        .get("work", DEFAULT_CLIENT_ID)
        .expect("keyring")
        .expect("the secret is in the keyring");
    assert_eq!(kept.expose_secret(), DEFAULT_CLIENT_SECRET);

    // Discovery at us-1: one token, revoked there; verification then used the home cloud.
    let s = us1.stats().await;
    assert_eq!(endpoint_count(&s, TOKEN), 1, "{s:#}");
    assert_eq!(
        s["tokens_revoked"], 1,
        "the discovery token is revoked where it was issued"
    );
    assert_eq!(endpoint_count(&s, QUERY), 0);
    let h = home.stats().await;
    assert_eq!(
        endpoint_count(&h, TOKEN),
        1,
        "the new token came from the home cloud"
    );
    assert_eq!(
        h["tokens_revoked"], 1,
        "and login revoked it after checking"
    );

    // The shell's resolution of that profile goes straight to eu-1 with the keyring's secret.
    us1.reset_stats().await;
    let req = Request {
        profile: Some("work".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.cloud, Cloud::Region(Region::Eu1));
    assert_eq!(r.secret_source, Source::Keyring("mock keyring".into()));
    let client = r.client(ClientOptions::default()).expect("client");
    let page = client
        .query_devices("hostname:'DESKTOP-01'", 10, 0, None)
        .await
        .expect("host lookup");
    assert_eq!(page.ids.len(), 1);
    assert_eq!(
        endpoint_count(&us1.stats().await, TOKEN),
        0,
        "us-1 no longer asked"
    );
    assert_eq!(
        endpoint_count(&home.stats().await, "GET /devices/queries/devices/v1"),
        1
    );
    for env in [&us1, &home] {
        assert_no_violations(&env.stats().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_sources_and_the_token_and_never_the_secret_then_logout_removes_all() {
    let (_us1, _home, urls) = two_clouds().await;
    let t = Tenant::new();
    let ctx = t.ctx(urls);
    login(login_req("default", Some("auto")), &ctx)
        .await
        .expect("login");

    let report = status(None, &ctx).await.expect("status");
    assert!(report.token.is_ok(), "{:?}", report.token);
    let text = render_status(&report);
    assert!(text.contains(DEFAULT_CLIENT_ID), "{text}");
    assert!(text.contains("mock keyring"), "{text}");
    assert!(text.contains("eu-1"), "{text}");
    assert!(text.contains("token") && text.contains("ok"), "{text}");
    assert!(!text.contains(DEFAULT_CLIENT_SECRET), "{text}");
    assert!(
        !format!("{report:?}").contains(DEFAULT_CLIENT_SECRET),
        "not even in the Debug form"
    );

    assert!(
        logout("default", &ctx).expect("logout"),
        "a secret was deleted"
    );
    assert!(
        t.store
            .get("default", DEFAULT_CLIENT_ID)
            .expect("keyring")
            .is_none()
    );
    let file = ConfigFile::load(&t.path).expect("load");
    assert!(file.profiles.is_empty());
    let e = status(None, &ctx).await.expect_err("nothing configured");
    assert_eq!(e.exit, Exit::Usage);
    let e = logout("default", &ctx).expect_err("already gone");
    assert!(e.message.contains("no profile"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_verification_saves_nothing() {
    let env = TestEnv::start(fast()).await;
    let t = Tenant::new();
    let ctx = t.ctx(CloudUrls::default().with(Region::Us1, env.base.clone()));
    let mut req = login_req("default", Some("us-1"));
    req.secret = SecretString::from("wrong-secret");
    let e = login(req, &ctx).await.expect_err("wrong secret");
    assert_eq!(e.exit, Exit::AuthOrConnection);
    assert!(e.hint.unwrap_or_default().contains("nothing was saved"));
    assert!(!t.path.exists(), "no profiles file");
    assert!(
        t.store
            .get("default", DEFAULT_CLIENT_ID)
            .expect("keyring")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gov_cloud_and_an_explicit_url_never_move_even_when_the_token_names_another_region() {
    let (us1, _home, urls) = two_clouds().await;
    // us-gov-1 pointed at the emulator that names eu-1: it must stay put.
    let urls = urls.with(Region::UsGov1, us1.base.clone());
    let t = Tenant::new();
    for cloud in ["us-gov-1", us1.base.as_str()] {
        let ctx = t
            .ctx(urls.clone())
            .with_env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
        let req = Request {
            client_id: Some(DEFAULT_CLIENT_ID.into()),
            base_url: Some(cloud.into()),
            ..Request::default()
        };
        let r = resolve_with(&req, &ctx).expect("resolves");
        let check = check_token(&r).await.expect("token");
        assert_eq!(check.region.as_deref(), Some("eu-1"));
        assert_eq!(check.moved_from, None, "{cloud}: no move");
        assert_eq!(check.base_url, us1.base, "{cloud}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cid_acts_in_the_child_tenant_and_an_unknown_one_is_refused() {
    let env = TestEnv::start(EmulatorConfig {
        child_cids: 2,
        hosts: 40,
        ..fast()
    })
    .await;
    let child = env.handle.emulator().world.child_cids[0].clone();
    let in_child = env
        .handle
        .emulator()
        .world
        .hosts()
        .iter()
        .filter(|h| h.cid == child)
        .count();
    assert!(
        in_child > 0 && in_child < 40,
        "the world puts hosts in the child"
    );

    let t = Tenant::new();
    let ctx = t.ctx(CloudUrls::default().with(Region::Us1, env.base.clone()));
    let mut req = login_req("mssp", Some("us-1"));
    req.member_cid = Some(child.clone());
    login(req, &ctx).await.expect("login with member_cid");
    let text = std::fs::read_to_string(&t.path).expect("profiles file");
    assert!(
        text.contains(&format!("member_cid = \"{child}\"")),
        "{text}"
    );

    let req = Request {
        profile: Some("mssp".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.member_cid.as_deref(), Some(child.as_str()));
    let client = r.client(ClientOptions::default()).expect("client");
    let all = client.query_all_devices("").await.expect("query");
    assert_eq!(all.len(), in_child, "only the child's hosts are visible");

    // The environment's member CID wins over the profile's: an unknown one is refused.
    let ctx = ctx.with_env("FALCON_MEMBER_CID", "0123456789abcdef0123456789abcdef");
    let report = status(Some("mssp".into()), &ctx).await.expect("resolves");
    assert_eq!(
        report.resolved.member_cid_source,
        Source::Environment("FALCON_MEMBER_CID")
    );
    let e = report.token.expect_err("unknown child");
    assert_eq!(e.exit, Exit::AuthOrConnection);
    assert!(e.message.contains("member_cid"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_autodiscovers_the_region_when_no_cloud_is_given() {
    let (us1, home, _urls) = two_clouds().await;
    let aid = home.aid("DESKTOP-01").await;
    let out = rtrsh(&home)
        .env_remove("FALCON_BASE_URL")
        .env("RTRSH_CLOUD_URL_US_1", us1.base.clone())
        .env("RTRSH_CLOUD_URL_EU_1", home.base.clone())
        .args(["--host", "DESKTOP-01", "-c", "pwd"])
        .run()
        .await;
    out.expect_code(0);
    assert!(out.stdout().contains(r"C:\"), "{}", out.stdout());
    let s = us1.stats().await;
    assert_eq!(endpoint_count(&s, TOKEN), 1);
    assert_eq!(endpoint_count(&s, REVOKE), 1);
    assert_eq!(
        endpoint_count(&s, QUERY),
        0,
        "nothing but discovery at us-1"
    );
    let h = home.stats().await;
    assert_eq!(endpoint_count(&h, QUERY), 1);
    assert!(
        h["hosts"][&aid].is_object(),
        "the session ran at home: {h:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_a_profile_with_the_secret_from_the_environment_and_reports_status() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let mut file = ConfigFile::default();
    let mut p = Profile::new(DEFAULT_CLIENT_ID);
    p.cloud = Some(env.base.clone());
    file.profiles.insert("lab".into(), p);
    file.save(&path).expect("save");
    let path_s = path.display().to_string();

    // Client id and cloud from the profile; the secret from the environment.
    let out = rtrsh(&env)
        .env_remove("FALCON_BASE_URL")
        .env_remove("FALCON_CLIENT_ID")
        .env("RTRSH_CONFIG", path_s.clone())
        .args(["--profile", "lab", "--host", "DESKTOP-01", "-c", "pwd"])
        .run()
        .await;
    out.expect_code(0);

    let out = rtrsh(&env)
        .env_remove("FALCON_BASE_URL")
        .env_remove("FALCON_CLIENT_ID")
        .env("RTRSH_CONFIG", path_s.clone())
        .env("RTRSH_PROFILE", "lab")
        .args(["auth", "status"])
        .run()
        .await;
    out.expect_code(0);
    let text = out.stdout();
    assert!(text.contains("lab (environment RTRSH_PROFILE"), "{text}");
    assert!(
        text.contains(&format!("{DEFAULT_CLIENT_ID} (profile)")),
        "{text}"
    );
    assert!(text.contains("environment FALCON_CLIENT_SECRET"), "{text}");
    assert!(text.contains(&env.base) && text.contains("ok"), "{text}");
    assert!(!text.contains(DEFAULT_CLIENT_SECRET) && !out.stderr.contains(DEFAULT_CLIENT_SECRET));

    // A wrong secret: status says FAILED and exits 3.
    let out = rtrsh(&env)
        .env("FALCON_CLIENT_SECRET", "wrong")
        .args(["auth", "status"])
        .run()
        .await;
    out.expect_code(3);
    assert!(out.stdout().contains("FAILED"), "{}", out.stdout());

    // A profile that does not exist: a usage error naming the ones that do.
    let out = rtrsh(&env)
        .env("RTRSH_CONFIG", path_s)
        .args(["--profile", "lba", "--host", "DESKTOP-01", "-c", "pwd"])
        .run()
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("no profile \"lba\"") && out.stderr.contains("lab"),
        "{}",
        out.stderr
    );
}

/// Without a Secret Service (no D-Bus session), login says so in one line, offers the
/// environment variables, and writes nothing.
#[cfg(all(target_os = "linux", feature = "keyring"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_login_fails_in_one_line_and_writes_nothing() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let out = rtrsh(&env)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/rtrsh-test-bus",
        )
        .env("RTRSH_CONFIG", path.display().to_string())
        .args(["auth", "login", "--client-id", DEFAULT_CLIENT_ID])
        .stdin(format!("{DEFAULT_CLIENT_SECRET}\n"))
        .run()
        .await;
    out.expect_code(3);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("no OS keyring") && lines[0].contains("FALCON_CLIENT_SECRET"),
        "{}",
        out.stderr
    );
    assert!(
        !path.exists(),
        "no profiles file, and so no secret anywhere on disk"
    );
    assert!(!out.stderr.contains(DEFAULT_CLIENT_SECRET));
}

/// A token endpoint that answers every token request with a 308 to `to` (another host).
async fn redirector(to: String) -> String {
    use axum::http::{StatusCode, header};
    let app = axum::Router::new().route(
        "/oauth2/token",
        axum::routing::post(move || {
            let location = format!("{to}/oauth2/token");
            async move {
                (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location)],
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_moves_the_client_there_with_its_token() {
    let home = TestEnv::start(fast()).await; // names us-1 in X-CS-Region
    let hop = redirector(home.base.clone()).await;
    let t = Tenant::new();
    let ctx = t
        .ctx(CloudUrls::default().with(Region::Us1, hop.clone()))
        .with_env("FALCON_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
    let req = Request {
        client_id: Some(DEFAULT_CLIENT_ID.into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.cloud, Cloud::Auto);
    let client = r.client(ClientOptions::default()).expect("client");
    let page = client
        .query_devices("hostname:'DESKTOP-01'", 10, 0, None)
        .await
        .expect("the API is called where the token was issued");
    assert_eq!(page.ids.len(), 1);
    assert_eq!(client.base_url(), home.base);
    assert_eq!(client.moved_from().as_deref(), Some(hop.as_str()));
    let s = home.stats().await;
    assert_eq!(s["tokens_issued"], 1, "the redirected token is kept");
    assert_eq!(s["tokens_revoked"], 0);

    // An explicit URL (a proxy, say) never moves: a redirect elsewhere is a clear error.
    let req = Request {
        base_url: Some(hop.clone()),
        ..req
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    let e = check_token(&r).await.expect_err("refused");
    assert!(
        e.message.contains("redirected to") && e.message.contains(&home.base),
        "{}",
        e.message
    );
    assert_eq!(
        home.stats().await["tokens_revoked"],
        1,
        "its token is revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_again_keeps_the_member_cid_unless_told_otherwise() {
    let env = TestEnv::start(EmulatorConfig {
        child_cids: 1,
        ..fast()
    })
    .await;
    let child = env.handle.emulator().world.child_cids[0].clone();
    let t = Tenant::new();
    let ctx = t.ctx(CloudUrls::default().with(Region::Us1, env.base.clone()));
    let mut req = login_req("mssp", Some("us-1"));
    req.member_cid = Some(child.clone());
    login(req, &ctx).await.expect("first login");

    // A new secret for the same client: the child tenant stays.
    login(login_req("mssp", None), &ctx)
        .await
        .expect("second login");
    let file = ConfigFile::load(&t.path).expect("load");
    assert_eq!(
        file.profiles["mssp"].member_cid.as_deref(),
        Some(child.as_str())
    );
    assert_eq!(file.profiles["mssp"].cloud.as_deref(), Some("us-1"));

    // `--member-cid ""` clears it.
    let mut req = login_req("mssp", None);
    req.member_cid = Some(String::new());
    login(req, &ctx).await.expect("third login");
    let file = ConfigFile::load(&t.path).expect("load");
    assert_eq!(file.profiles["mssp"].member_cid, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_subcommands_take_the_profile_flag() {
    let env = TestEnv::start(fast()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.toml").display().to_string();
    for cmd in ["status", "logout"] {
        let out = rtrsh(&env)
            .env("RTRSH_CONFIG", cfg.clone())
            .args(["auth", cmd, "--profile", "ghost"])
            .run()
            .await;
        out.expect_code(2);
        assert!(
            out.stderr.contains("no profile \"ghost\""),
            "{cmd}: {}",
            out.stderr
        );
    }
    let out = rtrsh(&env)
        .env("RTRSH_CONFIG", cfg)
        .args(["auth", "login", "--profile", "bad/name", "--client-id", "x"])
        .run()
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("invalid profile name"),
        "{}",
        out.stderr
    );
}
