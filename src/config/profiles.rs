//! The profiles file: `<config dir>/rtrsh/config.toml` (or `$RTRSH_CONFIG`), 0600 in a 0700
//! folder. It holds client ids, clouds and member CIDs, never a secret (those are in the OS
//! keyring). Written atomically (temporary file + rename), so a crash never leaves half a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable naming the profiles file.
pub const CONFIG_ENV: &str = "RTRSH_CONFIG";

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// One tenant / API client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub client_id: String,
    /// A cloud name (us-1, eu-1, ..., auto) or an API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    /// MSSP: the child CID to act in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_cid: Option<String>,
    /// Never read: present only to warn someone who put a secret into the file.
    #[serde(default, skip_serializing)]
    client_secret: Option<toml::Value>,
}

impl Profile {
    pub fn new(client_id: impl Into<String>) -> Profile {
        Profile {
            client_id: client_id.into(),
            ..Default::default()
        }
    }

    /// True when the file holds a `client_secret` for this profile (rtrsh ignores it).
    pub fn has_secret_in_file(&self) -> bool {
        self.client_secret.is_some()
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// `[output]`: where each command's output is saved, or not.
    #[serde(default, skip_serializing_if = "OutputSettings::is_default")]
    pub output: OutputSettings,
}

/// `[output]` in the config file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputSettings {
    /// `save = false`: keep no copy of the output (as `--no-save-output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save: Option<bool>,
    /// `dir = "..."`: where the logs go (as `--output-dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl OutputSettings {
    fn is_default(&self) -> bool {
        *self == OutputSettings::default()
    }
}

/// `$RTRSH_CONFIG`, else `<config dir>/rtrsh/config.toml` (`~/.config` on Linux,
/// `~/Library/Application Support` on macOS, `%APPDATA%` on Windows).
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    dirs::config_dir().map(|d| d.join("rtrsh").join("config.toml"))
}

/// A profile name: letters, digits, `-`, `_`, `.`; 1 to 64 characters.
pub fn check_profile_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid profile name {:?}: use letters, digits, '-', '_' or '.' (at most 64)",
            crate::output::sanitize::one_line(name)
        ))
    }
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty configuration. Errors are one line.
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        toml::from_str(&text).map_err(|e| {
            format!(
                "{} is not a valid profiles file: {}",
                path.display(),
                crate::output::sanitize::one_line(e.message())
            )
        })
    }

    /// Writes the file atomically, 0600 in a 0700 folder (Unix).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::output::private::dirs(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let body = toml::to_string_pretty(self).map_err(|e| format!("cannot encode: {e}"))?;
        let header = "# rtrsh profiles (`rtrsh auth login|status|logout`). Secrets are in the OS keyring, never here.\n\n";
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        // NamedTempFile is created 0600 on Unix.
        tmp.write_all(header.as_bytes())
            .and_then(|()| tmp.write_all(body.as_bytes()))
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        tmp.persist(path)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_empty_and_a_saved_file_reads_back_private() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("sub").join("config.toml");
        assert!(
            ConfigFile::load(&path)
                .expect("missing is fine")
                .profiles
                .is_empty()
        );
        let mut c = ConfigFile::default();
        let mut p = Profile::new("abc");
        p.cloud = Some("eu-1".into());
        c.profiles.insert("work".into(), p.clone());
        c.save(&path).expect("save");
        let back = ConfigFile::load(&path).expect("load");
        assert_eq!(back.profiles.get("work"), Some(&p));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("[profiles.work]") && text.contains("client_id = \"abc\""));
        assert!(!text.contains("secret ="), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
        }
    }

    #[test]
    fn a_secret_in_the_file_is_noticed_but_never_written_back() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("config.toml");
        std::fs::write(
            &path,
            "[profiles.x]\nclient_id = \"a\"\nclient_secret = \"oops\"\n",
        )
        .expect("write");
        let c = ConfigFile::load(&path).expect("load");
        assert!(c.profiles["x"].has_secret_in_file());
        c.save(&path).expect("save");
        assert!(
            !std::fs::read_to_string(&path)
                .expect("read")
                .contains("oops")
        );
    }

    #[test]
    fn a_broken_file_is_a_one_line_error_naming_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("config.toml");
        std::fs::write(&path, "[profiles.x\nclient_id=").expect("write");
        let e = ConfigFile::load(&path).expect_err("an error");
        assert!(e.contains("config.toml") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn profile_names_are_plain() {
        assert!(check_profile_name("work-eu_1.b").is_ok());
        for bad in ["", "a/b", "a b", "x\x1b[2J", &"a".repeat(65)] {
            assert!(check_profile_name(bad).is_err(), "{bad:?}");
        }
    }
}
