//! The fleet: the fixed, well-known hosts that tests and the demo rely on, then generated hosts
//! named and configured like a real fleet. Everything derives from the world seed.

use std::collections::HashSet;

use super::clock;
use super::{Host, WorldConfig};
use crate::rng::Rng;
use rtrsh_command::Platform;

/// What the world keeps per host beyond the devices-API facts.
#[derive(Clone, Debug)]
pub struct HostExtra {
    /// Seed of everything host-specific (file bodies, pids, event records).
    pub seed: u64,
    /// The primary (logged-on) user, whose home directory exists.
    pub user: String,
}

const USERS: [&str; 16] = [
    "jsmith", "akumar", "mgarcia", "lchen", "tnguyen", "rpatel", "ewilson", "dkim", "sbrown",
    "ojohnson", "fmartin", "hlee", "cdavis", "nmuller", "ysato", "bcohen",
];

struct Fixed {
    name: &'static str,
    platform: Platform,
    online: bool,
    hostile: bool,
}

const FIXED: [Fixed; 7] = [
    Fixed {
        name: "DESKTOP-01",
        platform: Platform::Windows,
        online: true,
        hostile: false,
    },
    Fixed {
        name: "SRV-LNX-01",
        platform: Platform::Linux,
        online: true,
        hostile: false,
    },
    Fixed {
        name: "MBP-01",
        platform: Platform::Mac,
        online: true,
        hostile: false,
    },
    Fixed {
        name: "HOSTILE-01",
        platform: Platform::Windows,
        online: true,
        hostile: true,
    },
    Fixed {
        name: "LAPTOP-OFF-01",
        platform: Platform::Windows,
        online: false,
        hostile: false,
    },
    Fixed {
        name: "KIOSK-01",
        platform: Platform::Windows,
        online: true,
        hostile: false,
    },
    Fixed {
        name: "KIOSK-01",
        platform: Platform::Windows,
        online: false,
        hostile: false,
    },
];

/// Index of the older of the two `KIOSK-01` hosts (re-imaged; seen long ago, offline).
pub const OLD_KIOSK: usize = 6;

struct Namer {
    used: HashSet<String>,
    counters: std::collections::HashMap<&'static str, u32>,
}

impl Namer {
    fn numbered(&mut self, prefix: &'static str, width: usize) -> String {
        loop {
            let n = self.counters.entry(prefix).or_insert(0);
            *n += 1;
            let name = format!("{prefix}{:0width$}", *n);
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }

    fn random(&mut self, r: &mut Rng, prefix: &str) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        loop {
            let tail: String = (0..7).map(|_| char::from(*r.pick(ALNUM))).collect();
            let name = format!("{prefix}{tail}");
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }

    fn name(&mut self, r: &mut Rng, platform: Platform, server: bool) -> String {
        match platform {
            Platform::Windows if server => {
                let p = *r.pick(&["SRV-DB-", "SRV-APP-", "SRV-FS-", "SRV-WEB-", "SRV-DC-"]);
                self.numbered(p, 2)
            }
            Platform::Windows => match r.below(3) {
                0 => self.numbered("WS-", 4),
                1 => self.random(r, "DESKTOP-"),
                _ => self.random(r, "LAPTOP-"),
            },
            Platform::Linux => {
                let p = *r.pick(&["LNX-WEB-", "LNX-DB-", "LNX-APP-", "LNX-K8S-", "LNX-CI-"]);
                self.numbered(p, 2)
            }
            Platform::Mac => {
                let p = *r.pick(&["MAC-ENG-", "MAC-DES-", "MAC-FIN-", "MAC-OPS-"]);
                self.numbered(p, 2)
            }
        }
    }
}

fn mac_address(r: &mut Rng) -> String {
    let v = r.next_u64();
    format!(
        "00-50-56-{:02x}-{:02x}-{:02x}",
        (v >> 16) & 0x3f,
        (v >> 8) & 0xff,
        v & 0xff
    )
}

fn local_ip(i: usize) -> String {
    let i = i as u64;
    format!(
        "10.{}.{}.{}",
        20 + (i / (254 * 250)) % 200,
        (i / 254) % 250 + 1,
        i % 254 + 1
    )
}

/// Builds the hosts and their extras; `cids[0]` is the parent CID.
pub fn build(cfg: &WorldConfig, cids: &[String]) -> (Vec<Host>, Vec<HostExtra>) {
    let mut namer = Namer {
        used: HashSet::with_capacity(cfg.hosts),
        counters: Default::default(),
    };
    for f in &FIXED {
        namer.used.insert(f.name.to_string());
    }
    for n in &cfg.names {
        namer.used.insert(n.clone());
    }
    let mut aids: HashSet<String> = HashSet::with_capacity(cfg.hosts);
    let mut hosts = Vec::with_capacity(cfg.hosts);
    let mut extras = Vec::with_capacity(cfg.hosts);
    for i in 0..cfg.hosts {
        let mut r = Rng::derive(cfg.seed, &[0x4057, i as u64]);
        let fixed = FIXED.get(i).filter(|f| !f.hostile || cfg.hostile_host);
        let (platform, server) = match fixed {
            Some(f) => (f.platform, f.name == "SRV-LNX-01"),
            None => {
                let u = r.unit();
                let p = if u < 0.7 {
                    Platform::Windows
                } else if u < 0.9 {
                    Platform::Linux
                } else {
                    Platform::Mac
                };
                (p, p == Platform::Linux || r.chance(0.15))
            }
        };
        let given = i
            .checked_sub(FIXED.len())
            .and_then(|k| cfg.names.get(k))
            .filter(|_| fixed.is_none());
        let hostname = match (fixed, given) {
            (Some(f), _) => f.name.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => namer.name(&mut r, platform, server),
        };
        let online = match fixed {
            Some(f) => f.online,
            None => !r.chance(cfg.offline_share.clamp(0.0, 1.0)),
        };
        let mut aid = r.hex32();
        while !aids.insert(aid.clone()) {
            aid = r.hex32();
        }
        let cid = if i < FIXED.len() || cids.len() <= 1 {
            cids.first().cloned().unwrap_or_default()
        } else {
            cids[i % cids.len()].clone()
        };
        let dc = platform == Platform::Windows && hostname.starts_with("SRV-DC-");
        let (os_version, agent_version, manufacturer) = match platform {
            Platform::Windows => (
                if server {
                    *r.pick(&["Windows Server 2022", "Windows Server 2019"])
                } else if i == 0 {
                    "Windows 11"
                } else {
                    *r.pick(&["Windows 11", "Windows 11", "Windows 10"])
                },
                *r.pick(&["7.18.18104.0", "7.17.17901.0", "7.16.17603.0"]),
                if server {
                    *r.pick(&["VMware, Inc.", "Microsoft Corporation", "Dell Inc."])
                } else {
                    *r.pick(&["Dell Inc.", "LENOVO", "HP"])
                },
            ),
            Platform::Linux => (
                if i < FIXED.len() {
                    "Ubuntu 22.04"
                } else {
                    *r.pick(&[
                        "Ubuntu 22.04",
                        "Ubuntu 24.04",
                        "RHEL 9.4",
                        "Amazon Linux 2023",
                    ])
                },
                *r.pick(&["7.18.17106.0", "7.17.16909.0"]),
                *r.pick(&["VMware, Inc.", "Amazon EC2", "QEMU"]),
            ),
            Platform::Mac => (
                if i < FIXED.len() {
                    "Sonoma (14)"
                } else {
                    *r.pick(&["Sonoma (14)", "Sequoia (15)", "Ventura (13)"])
                },
                *r.pick(&["7.18.18102.0", "7.17.17801.0"]),
                "Apple Inc.",
            ),
        };
        let product_type_desc = if dc {
            "Domain Controller"
        } else if server {
            "Server"
        } else {
            "Workstation"
        };
        let machine_domain = match platform {
            Platform::Windows => "corp.example.com",
            Platform::Linux => *r.pick(&["", "corp.example.com", "prod.example.internal"]),
            Platform::Mac => "",
        };
        let first_seen = clock::NOW - 30 * 86_400 - r.below(900 * 86_400) as i64;
        let last_seen = if i == OLD_KIOSK {
            clock::NOW - 143 * 86_400 - r.below(86_400) as i64
        } else if online {
            clock::NOW - r.below(600) as i64
        } else {
            clock::NOW - 3600 - r.below(40 * 86_400) as i64
        };
        let mut tags = Vec::new();
        if i >= FIXED.len() || i == 0 {
            if r.chance(0.25) || i == 0 {
                tags.push(
                    (*r.pick(&[
                        "FalconGroupingTags/finance",
                        "FalconGroupingTags/engineering",
                        "FalconGroupingTags/hr",
                    ]))
                    .to_string(),
                );
            }
            if r.chance(0.2) {
                tags.push(
                    (*r.pick(&["SensorGroupingTags/prod", "SensorGroupingTags/vdi"])).to_string(),
                );
            }
        }
        let user = if platform == Platform::Linux && server {
            (*r.pick(&["ubuntu", "deploy", "svc_app"])).to_string()
        } else {
            (*r.pick(&USERS)).to_string()
        };
        extras.push(HostExtra {
            seed: r.next_u64(),
            user,
        });
        hosts.push(Host {
            aid,
            cid,
            hostname,
            platform,
            os_version: os_version.to_string(),
            agent_version: agent_version.to_string(),
            local_ip: local_ip(i),
            external_ip: format!(
                "{}.{}",
                r.pick(&["198.51.100", "203.0.113"]),
                2 + r.below(250)
            ),
            mac_address: mac_address(&mut r),
            product_type_desc: product_type_desc.to_string(),
            machine_domain: machine_domain.to_string(),
            system_manufacturer: manufacturer.to_string(),
            first_seen: clock::rfc3339(first_seen.min(last_seen)),
            last_seen: clock::rfc3339(last_seen),
            tags,
            online,
            hostile: fixed.is_some_and(|f| f.hostile),
        });
    }
    (hosts, extras)
}
