//! Falcon clouds: names, API hosts, and the region switch that autodiscovery performs.
//!
//! See docs/protocol.md, "Clouds and region discovery": the token endpoint answers with
//! `X-CS-Region` naming the API client's home cloud. FalconPy and PSFalcon switch to that cloud
//! when it differs from the configured one; gofalcon does it only in `autodiscover` mode. rtrsh
//! switches for `auto` and for a named commercial cloud, never into or out of GovCloud (gov users
//! must name their cloud), and never for an explicit URL (it may be a proxy).

use std::collections::HashMap;
use std::fmt;

use rtrsh_client::RegionSwitch;

/// A named Falcon cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    Us1,
    Us2,
    Eu1,
    UsGov1,
    UsGov2,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::Us1,
        Region::Us2,
        Region::Eu1,
        Region::UsGov1,
        Region::UsGov2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Region::Us1 => "us-1",
            Region::Us2 => "us-2",
            Region::Eu1 => "eu-1",
            Region::UsGov1 => "us-gov-1",
            Region::UsGov2 => "us-gov-2",
        }
    }

    /// The API host of this cloud (FalconPy, gofalcon and PSFalcon agree on these).
    pub fn default_url(self) -> &'static str {
        match self {
            Region::Us1 => "https://api.crowdstrike.com",
            Region::Us2 => "https://api.us-2.crowdstrike.com",
            Region::Eu1 => "https://api.eu-1.crowdstrike.com",
            Region::UsGov1 => "https://api.laggar.gcw.crowdstrike.com",
            Region::UsGov2 => "https://api.us-gov-2.crowdstrike.mil",
        }
    }

    pub fn is_gov(self) -> bool {
        matches!(self, Region::UsGov1 | Region::UsGov2)
    }

    /// Parses a cloud name as users and `X-CS-Region` write it: `us-1`, `US1`, `us_1`, `eu-1`,
    /// `us-gov-1`, `gov1`, `usgov2`, ...
    pub fn parse(s: &str) -> Option<Region> {
        let k: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match k.as_str() {
            "us1" => Region::Us1,
            "us2" => Region::Us2,
            "eu1" => Region::Eu1,
            "usgov1" | "gov1" | "laggar" => Region::UsGov1,
            "usgov2" | "gov2" => Region::UsGov2,
            _ => return None,
        })
    }

    /// The environment variable that points this cloud elsewhere (tests, proxies):
    /// `RTRSH_CLOUD_URL_US_1`, `RTRSH_CLOUD_URL_US_GOV_2`, ...
    pub fn env_override(self) -> String {
        format!(
            "RTRSH_CLOUD_URL_{}",
            self.name().to_ascii_uppercase().replace('-', "_")
        )
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the API is: a named cloud, autodiscovery (start at us-1, follow `X-CS-Region`), or a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cloud {
    Region(Region),
    Auto,
    Url(String),
}

impl Cloud {
    /// Parses a cloud name, `auto`, or a URL. A bare host (`api.eu-1.crowdstrike.com`) means
    /// https. Errors are one line saying what is accepted.
    pub fn parse(s: &str) -> Result<Cloud, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty cloud name: use us-1, us-2, eu-1, us-gov-1, us-gov-2, auto or an https:// URL".into());
        }
        if let Some(r) = Region::parse(t) {
            return Ok(Cloud::Region(r));
        }
        if t.eq_ignore_ascii_case("auto") || t.eq_ignore_ascii_case("autodiscover") {
            return Ok(Cloud::Auto);
        }
        let url = if t.contains("://") {
            t.trim_end_matches('/').to_string()
        } else if t.contains('.') && !t.contains(char::is_whitespace) {
            format!("https://{}", t.trim_end_matches('/'))
        } else {
            String::new()
        };
        if !url.is_empty() {
            // A cloud's own API host is that cloud (so it autodiscovers like the name would).
            if let Some(r) = Region::ALL
                .into_iter()
                .find(|r| r.default_url().eq_ignore_ascii_case(&url))
            {
                return Ok(Cloud::Region(r));
            }
            return Ok(Cloud::Url(url));
        }
        Err(format!(
            "unknown cloud {t:?}: use us-1, us-2, eu-1, us-gov-1, us-gov-2, auto or an https:// URL"
        ))
    }

    /// How the cloud is written in a profile and shown by `auth status`.
    pub fn label(&self) -> String {
        match self {
            Cloud::Region(r) => r.name().to_string(),
            Cloud::Auto => "auto".to_string(),
            Cloud::Url(u) => u.clone(),
        }
    }
}

/// The API host of each cloud, with `RTRSH_CLOUD_URL_<REGION>` overrides.
#[derive(Clone, Debug, Default)]
pub struct CloudUrls {
    overrides: HashMap<Region, String>,
}

impl CloudUrls {
    /// The built-in hosts, overridden by `RTRSH_CLOUD_URL_<REGION>` where set.
    pub fn from_env() -> CloudUrls {
        let mut c = CloudUrls::default();
        for r in Region::ALL {
            if let Ok(v) = std::env::var(r.env_override())
                && !v.trim().is_empty()
            {
                c.overrides
                    .insert(r, v.trim().trim_end_matches('/').to_string());
            }
        }
        c
    }

    /// Points one cloud at another URL (tests).
    pub fn with(mut self, r: Region, url: impl Into<String>) -> CloudUrls {
        self.overrides.insert(r, url.into());
        self
    }

    pub fn url(&self, r: Region) -> String {
        self.overrides
            .get(&r)
            .cloned()
            .unwrap_or_else(|| r.default_url().to_string())
    }

    /// The URL to start at for this cloud.
    pub fn base_url(&self, cloud: &Cloud) -> String {
        match cloud {
            Cloud::Region(r) => self.url(*r),
            Cloud::Auto => self.url(Region::Us1),
            Cloud::Url(u) => u.clone(),
        }
    }

    /// The region switch for this cloud: given the `X-CS-Region` of a token reply, the URL to
    /// move to (None: stay). Auto and named commercial clouds follow a commercial region; gov
    /// clouds and explicit URLs never move.
    pub fn region_switch(&self, cloud: &Cloud) -> Option<RegionSwitch> {
        match cloud {
            Cloud::Url(_) => None,
            Cloud::Region(r) if r.is_gov() => None,
            Cloud::Region(_) | Cloud::Auto => {
                let urls = self.clone();
                Some(RegionSwitch::new(move |header: &str| {
                    Region::parse(header)
                        .filter(|r| !r.is_gov())
                        .map(|r| urls.url(r))
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_every_spelling_sdks_and_headers_use() {
        for (s, r) in [
            ("us-1", Region::Us1),
            ("US1", Region::Us1),
            ("us_2", Region::Us2),
            ("EU-1", Region::Eu1),
            ("eu1", Region::Eu1),
            ("us-gov-1", Region::UsGov1),
            ("gov1", Region::UsGov1),
            ("usgov2", Region::UsGov2),
            ("gov2", Region::UsGov2),
        ] {
            assert_eq!(Region::parse(s), Some(r), "{s}");
            assert_eq!(Cloud::parse(s), Ok(Cloud::Region(r)), "{s}");
        }
        assert_eq!(Region::parse("us-3"), None);
        assert_eq!(Cloud::parse("auto"), Ok(Cloud::Auto));
        assert_eq!(Cloud::parse("Autodiscover"), Ok(Cloud::Auto));
    }

    #[test]
    fn urls_and_bare_hosts_are_urls_and_junk_is_a_one_line_error() {
        assert_eq!(
            Cloud::parse("https://api.eu-1.crowdstrike.com/"),
            Ok(Cloud::Region(Region::Eu1)),
            "a cloud's own host is that cloud"
        );
        assert_eq!(
            Cloud::parse("api.us-2.crowdstrike.com"),
            Ok(Cloud::Region(Region::Us2))
        );
        assert_eq!(
            Cloud::parse("https://falcon-proxy.example.com/"),
            Ok(Cloud::Url("https://falcon-proxy.example.com".into()))
        );
        assert_eq!(
            Cloud::parse("proxy.example.com"),
            Ok(Cloud::Url("https://proxy.example.com".into()))
        );
        let e = Cloud::parse("mars-1").expect_err("an error");
        assert!(e.contains("us-1") && e.contains("https://") && !e.contains('\n'));
        assert!(Cloud::parse("  ").is_err());
    }

    #[test]
    fn every_region_has_its_documented_host_and_an_override_variable() {
        let urls = CloudUrls::default();
        assert_eq!(urls.url(Region::Us1), "https://api.crowdstrike.com");
        assert_eq!(
            urls.url(Region::UsGov1),
            "https://api.laggar.gcw.crowdstrike.com"
        );
        assert_eq!(Region::UsGov2.env_override(), "RTRSH_CLOUD_URL_US_GOV_2");
        let urls = urls.with(Region::Eu1, "http://127.0.0.1:9");
        assert_eq!(
            urls.base_url(&Cloud::Region(Region::Eu1)),
            "http://127.0.0.1:9"
        );
        assert_eq!(urls.base_url(&Cloud::Auto), "https://api.crowdstrike.com");
    }

    #[test]
    fn the_switch_follows_commercial_regions_only_and_never_for_urls_or_gov() {
        let urls = CloudUrls::default().with(Region::Eu1, "http://127.0.0.1:9");
        let auto = urls.region_switch(&Cloud::Auto).expect("auto switches");
        assert_eq!(auto.target("eu-1").as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            auto.target("US2").as_deref(),
            Some("https://api.us-2.crowdstrike.com")
        );
        assert_eq!(auto.target("us-gov-1"), None, "never into GovCloud");
        assert_eq!(auto.target("mars"), None);
        assert!(urls.region_switch(&Cloud::Region(Region::Us1)).is_some());
        assert!(urls.region_switch(&Cloud::Region(Region::UsGov1)).is_none());
        assert!(
            urls.region_switch(&Cloud::Url("https://proxy.example".into()))
                .is_none()
        );
    }
}
