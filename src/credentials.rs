//! Where API client secrets live: the OS keyring (macOS Keychain, Windows Credential Manager,
//! the Secret Service on Linux), through the `keyring` crate family. Never a plain file.
//!
//! `crates.md`: on a headless Linux box (no D-Bus session) or in a container there is no
//! keyring. Then [`KeyringStore::os`] fails with [`StoreError::Unavailable`], whose message says
//! so in one line and offers the environment variables. Keyring calls are blocking round trips:
//! rtrsh makes them before the prompt starts, off the async runtime.
//!
//! Tests use the `keyring-core` mock store ([`KeyringStore::mock`]): the same code path as the OS
//! store, minus the OS.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use secrecy::{ExposeSecret, SecretString};

/// The keyring service name of rtrsh's entries; the entry's user is `PROFILE/CLIENT_ID`.
pub const SERVICE: &str = "rtrsh";

/// What the environment variables fallback is, said wherever the keyring is missing.
pub const ENV_HINT: &str = "set FALCON_CLIENT_ID and FALCON_CLIENT_SECRET (and FALCON_BASE_URL) in the environment instead";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No keyring on this machine (headless Linux, containers, CI, or built without one).
    #[error("no OS keyring is available here ({0}); {ENV_HINT}")]
    Unavailable(String),
    /// The keyring exists but refused (locked, denied, ...).
    #[error("the OS keyring refused: {0}; unlock it, or {ENV_HINT}")]
    Failed(String),
}

/// A place for secrets, keyed by profile and client id.
pub trait SecretStore: Send + Sync {
    /// For messages: "OS keyring", "mock keyring", ...
    fn describe(&self) -> String;
    fn get(&self, profile: &str, client_id: &str) -> Result<Option<SecretString>, StoreError>;
    fn set(&self, profile: &str, client_id: &str, secret: &SecretString) -> Result<(), StoreError>;
    /// True when there was something to delete.
    fn delete(&self, profile: &str, client_id: &str) -> Result<bool, StoreError>;
}

/// The user name of a keyring entry.
fn user(profile: &str, client_id: &str) -> String {
    format!("{profile}/{client_id}")
}

/// A `keyring-core` credential store: the OS one, or the crate's mock in tests.
pub struct KeyringStore {
    store: Arc<CredentialStore>,
    label: String,
}

impl KeyringStore {
    /// The platform's keyring, or [`StoreError::Unavailable`] in one line. Blocking (D-Bus).
    #[cfg(feature = "keyring")]
    pub fn os() -> Result<KeyringStore, StoreError> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(StoreError::Unavailable(short(e)));
        }
        let store = keyring_core::get_default_store()
            .ok_or_else(|| StoreError::Unavailable("no credential store".into()))?;
        Ok(KeyringStore {
            label: format!("OS keyring ({})", short_store_name(&store)),
            store,
        })
    }

    /// Built without the `keyring` feature: there is no OS keyring.
    #[cfg(not(feature = "keyring"))]
    pub fn os() -> Result<KeyringStore, StoreError> {
        Err(StoreError::Unavailable(
            "this rtrsh was built without the `keyring` feature".into(),
        ))
    }

    /// The `keyring-core` mock store (in memory; for tests and demonstrations).
    pub fn mock() -> KeyringStore {
        #[allow(clippy::expect_used)]
        let store: Arc<CredentialStore> =
            keyring_core::mock::Store::new().expect("the mock store never fails to build");
        KeyringStore {
            store,
            label: "mock keyring".into(),
        }
    }

    fn entry(&self, profile: &str, client_id: &str) -> Result<Entry, StoreError> {
        self.store
            .build(SERVICE, &user(profile, client_id), None)
            .map_err(|e| StoreError::Failed(short(&e)))
    }
}

/// Errors of credential stores can carry platform detail over several lines: keep one.
fn short(e: &keyring_core::Error) -> String {
    crate::output::sanitize::one_line(&e.to_string())
}

#[cfg(feature = "keyring")]
fn short_store_name(store: &Arc<CredentialStore>) -> String {
    crate::output::sanitize::one_line(&store.vendor())
}

impl SecretStore for KeyringStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn get(&self, profile: &str, client_id: &str) -> Result<Option<SecretString>, StoreError> {
        match self.entry(profile, client_id)?.get_password() {
            Ok(s) => Ok(Some(SecretString::from(s))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn set(&self, profile: &str, client_id: &str, secret: &SecretString) -> Result<(), StoreError> {
        self.entry(profile, client_id)?
            .set_password(secret.expose_secret())
            .map_err(map_err)
    }

    fn delete(&self, profile: &str, client_id: &str) -> Result<bool, StoreError> {
        match self.entry(profile, client_id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }
}

fn map_err(e: keyring_core::Error) -> StoreError {
    match e {
        keyring_core::Error::NoDefaultStore | keyring_core::Error::NotSupportedByStore(_) => {
            StoreError::Unavailable(short(&e))
        }
        other => StoreError::Failed(short(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_keyring_round_trips_and_keys_by_profile_and_client() {
        let s = KeyringStore::mock();
        assert!(s.get("default", "abc").expect("get").is_none());
        s.set("default", "abc", &SecretString::from("s3cret"))
            .expect("set");
        assert_eq!(
            s.get("default", "abc")
                .expect("get")
                .map(|x| x.expose_secret().to_string())
                .as_deref(),
            Some("s3cret")
        );
        assert!(s.get("other", "abc").expect("get").is_none(), "per profile");
        assert!(
            s.get("default", "xyz").expect("get").is_none(),
            "per client"
        );
        assert!(s.delete("default", "abc").expect("delete"));
        assert!(!s.delete("default", "abc").expect("delete again"));
        assert!(s.get("default", "abc").expect("get").is_none());
    }

    #[test]
    fn an_unavailable_keyring_says_so_in_one_line_and_offers_the_environment() {
        let e = StoreError::Unavailable("no D-Bus session".into()).to_string();
        assert!(e.contains("FALCON_CLIENT_SECRET"), "{e}");
        assert!(!e.contains('\n'));
    }
}
