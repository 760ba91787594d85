//! The client library (`rtrsh_client`) pointed at the test's emulator.

use rtrsh_client::session::{HostSession, SessionOptions, Target};
use rtrsh_client::{ClientOptions, Credentials, FalconClient};
use rtrsh_command::Platform;
use rtrsh_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use secrecy::SecretString;

use super::TestEnv;

/// A Falcon client for `env` with these credentials.
pub fn falcon_client_as(env: &TestEnv, client_id: &str, client_secret: &str) -> FalconClient {
    let creds = Credentials {
        client_id: client_id.into(),
        client_secret: SecretString::from(client_secret.to_string()),
        member_cid: None,
    };
    FalconClient::new(&env.base, creds, ClientOptions::default()).expect("builds the client")
}

/// A Falcon client for `env` with the default (all-scopes) credentials.
pub fn falcon_client(env: &TestEnv) -> FalconClient {
    falcon_client_as(env, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
}

/// A single-host session (default options) on the host named `hostname`, taken to run
/// `platform`.
pub async fn open_session(env: &TestEnv, hostname: &str, platform: Platform) -> HostSession {
    let target = Target {
        aid: env.aid(hostname).await.into(),
        hostname: hostname.to_string(),
        platform: Some(platform),
    };
    HostSession::open(falcon_client(env), target, SessionOptions::default())
        .await
        .expect("opens the session")
}
