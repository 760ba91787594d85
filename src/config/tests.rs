//! Precedence (flag > environment > profile), keyring use, and one-line errors of resolution.
//! The keyring is `keyring-core`'s mock store; nothing here touches the network.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::credentials::{KeyringStore, SecretStore};
use crate::error::Exit;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<KeyringStore>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rtrsh").join("config.toml");
        Fixture {
            _dir: dir,
            path,
            store: Arc::new(KeyringStore::mock()),
        }
    }

    /// A fixture with one profile (and its secret in the mock keyring).
    fn with(name: &str, p: Profile, secret: Option<&str>) -> Fixture {
        let fx = Fixture::new();
        fx.profile(name, p, secret);
        fx
    }

    fn profile(&self, name: &str, p: Profile, secret: Option<&str>) {
        let mut f = ConfigFile::load(&self.path).expect("load");
        if let Some(s) = secret {
            self.store
                .set(name, &p.client_id, &SecretString::from(s.to_string()))
                .expect("set");
        }
        f.profiles.insert(name.to_string(), p);
        f.save(&self.path).expect("save");
    }

    fn ctx(&self) -> Context {
        Context::new(
            self.path.clone(),
            CloudUrls::default(),
            self.store.clone() as Arc<dyn SecretStore>,
        )
    }
}

fn profile(id: &str, cloud: Option<&str>, member: Option<&str>) -> Profile {
    let mut p = Profile::new(id);
    p.cloud = cloud.map(str::to_string);
    p.member_cid = member.map(str::to_string);
    p
}

fn secret(r: &Resolved) -> String {
    r.secret.expose_secret().to_string()
}

#[test]
fn the_default_profile_supplies_everything_with_the_secret_from_the_keyring() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", Some("eu-1"), Some("child")),
        Some("prof-secret"),
    );
    let r = resolve_with(&Request::default(), &fx.ctx()).expect("resolves");
    assert_eq!(r.profile, "default");
    assert!(r.profile_found);
    assert_eq!(r.client_id, "prof-id");
    assert_eq!(r.client_id_source, Source::Profile);
    assert_eq!(secret(&r), "prof-secret");
    assert_eq!(r.secret_source, Source::Keyring("mock keyring".into()));
    assert_eq!(r.cloud, Cloud::Region(Region::Eu1));
    assert_eq!(r.base_url, "https://api.eu-1.crowdstrike.com");
    assert_eq!(r.member_cid.as_deref(), Some("child"));
    assert_eq!(r.member_cid_source, Source::Profile);
}

#[test]
fn environment_beats_profile_and_flag_beats_environment_value_by_value() {
    let fx = Fixture::with(
        "work",
        profile("prof-id", Some("eu-1"), Some("prof-child")),
        Some("prof-secret"),
    );
    // Environment only for the cloud and member CID: id and secret still from the profile.
    let ctx = fx
        .ctx()
        .with_env("RTRSH_PROFILE", "work")
        .with_env("FALCON_BASE_URL", "us-2")
        .with_env("FALCON_MEMBER_CID", "env-child");
    let req = Request {
        profile: Some("work".into()),
        base_url: Some("us-2".into()),
        member_cid: Some("env-child".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.profile_source, Source::Environment("RTRSH_PROFILE"));
    assert_eq!(r.cloud, Cloud::Region(Region::Us2));
    assert_eq!(r.cloud_source, Source::Environment("FALCON_BASE_URL"));
    assert_eq!(r.member_cid.as_deref(), Some("env-child"));
    assert_eq!(r.client_id, "prof-id");
    assert_eq!(secret(&r), "prof-secret");

    // A flag (a value that differs from the environment's) wins over it.
    let req = Request {
        base_url: Some("https://proxy.example".into()),
        ..req
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.cloud, Cloud::Url("https://proxy.example".into()));
    assert_eq!(r.cloud_source, Source::Flag);
}

#[test]
fn environment_credentials_never_touch_the_keyring() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", None, None),
        Some("prof-secret"),
    );
    let ctx = Context {
        store: Arc::new(|| Err(StoreError::Unavailable("test: no keyring".into()))),
        ..fx.ctx()
    }
    .with_env("FALCON_CLIENT_ID", "env-id")
    .with_env("FALCON_CLIENT_SECRET", "env-secret");
    let req = Request {
        client_id: Some("env-id".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("no keyring needed");
    assert_eq!(r.client_id, "env-id");
    assert_eq!(r.client_id_source, Source::Environment("FALCON_CLIENT_ID"));
    assert_eq!(secret(&r), "env-secret");
    assert_eq!(r.secret_source, Source::Environment("FALCON_CLIENT_SECRET"));
    assert_eq!(r.cloud, Cloud::Auto, "no cloud anywhere: autodiscover");
    assert_eq!(r.base_url, "https://api.crowdstrike.com");
}

#[test]
fn a_profile_is_never_paired_with_another_client_id() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", None, None),
        Some("prof-secret"),
    );
    // Named profile, another client id from the environment, no secret for it.
    let req = Request {
        profile: Some("default".into()),
        client_id: Some("other-id".into()),
        ..Request::default()
    };
    let e = resolve_with(&req, &fx.ctx().with_env("FALCON_CLIENT_ID", "other-id"))
        .expect_err("an error");
    assert_eq!(e.exit, Exit::Usage);
    assert!(
        e.message.contains("other-id") && e.message.contains("prof-id"),
        "{}",
        e.message
    );
    assert!(
        e.hint
            .unwrap_or_default()
            .contains("unset FALCON_CLIENT_ID")
    );
    // Even with a secret for the other client: the named profile's cloud and member CID are
    // not lent to it.
    let e = resolve_with(
        &req,
        &fx.ctx()
            .with_env("FALCON_CLIENT_ID", "other-id")
            .with_env("FALCON_CLIENT_SECRET", "other-secret"),
    )
    .expect_err("no mixing");
    assert!(e.message.contains("not profile"), "{}", e.message);
    // Unnamed: the default profile is for another client, so it is not used at all.
    let req = Request {
        profile: None,
        ..req
    };
    let e = resolve_with(&req, &fx.ctx().with_env("FALCON_CLIENT_ID", "other-id"))
        .expect_err("an error");
    assert_eq!(e.message, "no API client secret");
}

#[test]
fn a_missing_keyring_is_one_line_that_offers_the_environment() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", None, None),
        Some("prof-secret"),
    );
    let ctx = Context {
        store: Arc::new(|| {
            Err(StoreError::Unavailable(
                "Couldn't access platform secure storage: no D-Bus session".into(),
            ))
        }),
        ..fx.ctx()
    };
    let e = resolve_with(&Request::default(), &ctx).expect_err("an error");
    assert_eq!(e.exit, Exit::AuthOrConnection);
    assert!(!e.message.contains('\n'));
    assert!(
        e.message.contains("no OS keyring") && e.message.contains("FALCON_CLIENT_SECRET"),
        "{}",
        e.message
    );
}

#[test]
fn a_profile_without_its_secret_says_how_to_store_one() {
    let fx = Fixture::with("default", profile("prof-id", None, None), None);
    let e = resolve_with(&Request::default(), &fx.ctx()).expect_err("an error");
    assert_eq!(e.exit, Exit::AuthOrConnection);
    assert!(e.hint.unwrap_or_default().contains("rtrsh auth login"));
}

#[test]
fn a_named_profile_must_exist_and_the_error_lists_the_ones_that_do() {
    let fx = Fixture::with("work", profile("a", None, None), Some("s"));
    let req = Request {
        profile: Some("wrok".into()),
        ..Request::default()
    };
    let e = resolve_with(&req, &fx.ctx()).expect_err("an error");
    assert_eq!(e.exit, Exit::Usage);
    assert!(e.message.contains("wrok"));
    assert!(e.hint.unwrap_or_default().contains("work"));
    // An unnamed, missing default profile is fine when the environment has everything.
    let ctx = fx.ctx().with_env("FALCON_CLIENT_SECRET", "s");
    let req = Request {
        client_id: Some("id".into()),
        ..Request::default()
    };
    assert!(resolve_with(&req, &ctx).is_ok());
}

#[test]
fn nothing_configured_says_how_to_start() {
    let fx = Fixture::new();
    let e = resolve_with(&Request::default(), &fx.ctx()).expect_err("an error");
    assert_eq!(e.exit, Exit::Usage);
    let hint = e.hint.unwrap_or_default();
    assert!(
        hint.contains("rtrsh auth login") && hint.contains("rtrsh demo"),
        "{hint}"
    );
}

#[test]
fn a_bad_cloud_names_where_it_came_from_and_http_is_refused_off_loopback() {
    let fx = Fixture::with("default", profile("id", Some("mars-1"), None), Some("s"));
    let e = resolve_with(&Request::default(), &fx.ctx()).expect_err("an error");
    assert!(e.message.contains("mars-1"));
    assert!(e.hint.unwrap_or_default().contains("profile"));

    let req = Request {
        base_url: Some("http://api.example.com".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &fx.ctx()).expect("resolves");
    let e = r.client(ClientOptions::default()).expect_err("an error");
    assert!(e.message.contains("http"), "{}", e.message);
    let req = Request {
        base_url: Some("http://127.0.0.1:8080".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &fx.ctx()).expect("resolves");
    assert!(
        r.client(ClientOptions::default()).is_ok(),
        "loopback http is fine"
    );
}

#[test]
fn the_debug_form_never_shows_the_secret() {
    let fx = Fixture::with(
        "default",
        profile("id", None, None),
        Some("very-secret-value"),
    );
    let r = resolve_with(&Request::default(), &fx.ctx()).expect("resolves");
    assert!(!format!("{r:?}").contains("very-secret-value"));
}

#[test]
fn an_unnamed_default_profile_for_another_client_contributes_nothing() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", Some("eu-1"), Some("prof-child")),
        Some("prof-secret"),
    );
    let ctx = fx.ctx().with_env("FALCON_CLIENT_SECRET", "env-secret");
    let req = Request {
        client_id: Some("other-id".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert!(!r.profile_found);
    assert_eq!(r.cloud, Cloud::Auto, "not the profile's eu-1");
    assert_eq!(r.member_cid, None, "not the profile's child");
    assert_eq!(secret(&r), "env-secret");
}

#[test]
fn a_broken_profiles_file_does_not_stop_environment_credentials() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&fx.path, "[profiles.x\n").expect("write");
    let ctx = fx.ctx().with_env("FALCON_CLIENT_SECRET", "s");
    let req = Request {
        client_id: Some("id".into()),
        ..Request::default()
    };
    assert!(resolve_with(&req, &ctx).is_ok());
    // ...but a named profile needs the file.
    let req = Request {
        profile: Some("x".into()),
        ..req
    };
    let e = resolve_with(&req, &ctx).expect_err("an error");
    assert!(e.message.contains("config.toml"), "{}", e.message);
}

#[tokio::test]
async fn status_without_a_keyring_still_shows_the_profile_and_fails_the_token_check() {
    let fx = Fixture::with(
        "default",
        profile("prof-id", Some("eu-1"), None),
        Some("prof-secret"),
    );
    let ctx = Context {
        store: Arc::new(|| Err(StoreError::Unavailable("no D-Bus session".into()))),
        ..fx.ctx()
    };
    let report = auth::status(None, &ctx).await.expect("a report");
    let e = report
        .token
        .as_ref()
        .expect_err("no token without a secret");
    assert_eq!(e.exit, Exit::AuthOrConnection);
    let text = auth::render_status(&report);
    assert!(text.contains("prof-id (profile)"), "{text}");
    assert!(
        text.contains("eu-1 -> https://api.eu-1.crowdstrike.com"),
        "{text}"
    );
    assert!(text.contains("unavailable: no OS keyring"), "{text}");
    assert!(text.contains("FAILED"), "{text}");
    // The shell's own resolution still refuses outright.
    assert!(resolve_with(&Request::default(), &ctx).is_err());
}

#[test]
fn the_request_debug_form_redacts_secrets_and_sources_ignore_stray_whitespace() {
    let req = Request {
        client_secret_flag: Some("flag-secret".into()),
        secret_in_process: Some("inproc-secret".into()),
        ..Request::default()
    };
    let shown = format!("{req:?}");
    assert!(
        !shown.contains("flag-secret") && !shown.contains("inproc-secret"),
        "{shown}"
    );
    assert!(shown.contains("[redacted]"));

    let fx = Fixture::new();
    let ctx = fx
        .ctx()
        .with_env("FALCON_CLIENT_ID", " env-id \n")
        .with_env("FALCON_CLIENT_SECRET", "s");
    let req = Request {
        client_id: Some(" env-id \n".into()),
        ..Request::default()
    };
    let r = resolve_with(&req, &ctx).expect("resolves");
    assert_eq!(r.client_id, "env-id");
    assert_eq!(r.client_id_source, Source::Environment("FALCON_CLIENT_ID"));
}

#[test]
fn a_refusing_keyring_also_offers_the_environment() {
    let e = StoreError::Failed("collection is locked".into()).to_string();
    assert!(
        e.contains("unlock") && e.contains("FALCON_CLIENT_SECRET"),
        "{e}"
    );
}

#[tokio::test]
async fn login_refuses_plain_http_off_loopback_even_without_verification() {
    let fx = Fixture::new();
    let req = auth::LoginRequest {
        profile: "default".into(),
        client_id: "id".into(),
        secret: SecretString::from("s"),
        cloud: Some("http://falcon-proxy.example.com".into()),
        member_cid: None,
        verify: false,
    };
    let e = auth::login(req, &fx.ctx()).await.expect_err("refused");
    assert_eq!(e.exit, Exit::Usage);
    assert!(e.message.contains("http"), "{}", e.message);
    assert!(!fx.path.exists(), "nothing saved");
    assert!(fx.store.get("default", "id").expect("keyring").is_none());
}
