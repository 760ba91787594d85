//! Path syntax of the simulated hosts: how a typed path resolves against the session's directory,
//! and the lookup keys the file system indexes by.
//!
//! A path is handled as a list of components. Windows components start with the drive (`C:`);
//! Unix components start below `/`. A *key* is the path spelled canonically and, on file systems
//! that ignore case (Windows, macOS), lowercased, so `c:\WINDOWS` and `C:\Windows` share one key.

use rtrsh_command::Platform;

/// The path rules of one platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flavor {
    pub platform: Platform,
}

impl Flavor {
    pub fn new(platform: Platform) -> Self {
        Flavor { platform }
    }

    pub fn is_windows(self) -> bool {
        self.platform == Platform::Windows
    }

    /// Whether names compare without regard to case (NTFS and APFS defaults).
    pub fn folds_case(self) -> bool {
        self.platform != Platform::Linux
    }

    pub fn sep(self) -> char {
        if self.is_windows() { '\\' } else { '/' }
    }

    /// The key of the root directory.
    pub fn root_key(self) -> &'static str {
        if self.is_windows() { "c:" } else { "/" }
    }

    /// A name as it appears inside a key.
    pub fn fold(self, name: &str) -> String {
        if self.folds_case() {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    /// The key of `name` inside the directory whose key is `parent`.
    pub fn join_key(self, parent: &str, name: &str) -> String {
        let name = self.fold(name);
        if self.is_windows() {
            format!("{parent}\\{name}")
        } else if parent == "/" {
            format!("/{name}")
        } else {
            format!("{parent}/{name}")
        }
    }

    /// The key of the parent directory, `None` for the root.
    pub fn parent_key(self, key: &str) -> Option<&str> {
        if key == "/" {
            return None;
        }
        let cut = key.rfind(self.sep())?;
        if !self.is_windows() && cut == 0 {
            Some("/")
        } else {
            Some(&key[..cut])
        }
    }

    /// The key of a component list (as returned by [`Flavor::resolve`]).
    pub fn key_of(self, comps: &[String]) -> String {
        let mut key = match comps.first() {
            Some(drive) if self.is_windows() => drive.to_lowercase(),
            _ => self.root_key().to_string(),
        };
        for c in comps.iter().skip(usize::from(self.is_windows())) {
            key = self.join_key(&key, c);
        }
        key
    }

    /// The display form of a component list: `C:\Windows`, `/etc`, `C:\`, `/`.
    pub fn display(self, comps: &[String]) -> String {
        if self.is_windows() {
            let drive = comps.first().map(String::as_str).unwrap_or("C:");
            if comps.len() <= 1 {
                format!("{drive}\\")
            } else {
                format!("{drive}\\{}", comps[1..].join("\\"))
            }
        } else if comps.is_empty() {
            "/".to_string()
        } else {
            format!("/{}", comps.join("/"))
        }
    }

    /// Splits a display path (as produced by [`Flavor::display`]) back into components.
    pub fn components(self, display: &str) -> Vec<String> {
        self.resolve(display, display).unwrap_or_default()
    }

    /// Resolves `arg` (absolute or relative) against the directory `cwd` into components.
    /// `None` when the path is syntactically impossible (an unknown drive, an empty name).
    pub fn resolve(self, cwd: &str, arg: &str) -> Option<Vec<String>> {
        if self.is_windows() {
            resolve_windows(cwd, arg)
        } else {
            resolve_unix(cwd, arg)
        }
    }
}

fn push_parts<'a>(out: &mut Vec<String>, parts: impl Iterator<Item = &'a str>, floor: usize) {
    for part in parts {
        match part {
            "" | "." => {}
            ".." => {
                if out.len() > floor {
                    out.pop();
                }
            }
            p => out.push(p.to_string()),
        }
    }
}

fn resolve_windows(cwd: &str, arg: &str) -> Option<Vec<String>> {
    let arg = arg.trim().replace('/', "\\");
    let base_of = |s: &str| -> Vec<String> {
        let s = s.replace('/', "\\");
        let mut v = Vec::new();
        if s.len() >= 2 && s.as_bytes()[1] == b':' && s.as_bytes()[0].is_ascii_alphabetic() {
            v.push(s[..2].to_ascii_uppercase());
            push_parts(&mut v, s[2..].split('\\'), 1);
        } else {
            v.push("C:".to_string());
        }
        v
    };
    let bytes = arg.as_bytes();
    let mut out;
    let rest: &str;
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        out = vec![arg[..2].to_ascii_uppercase()];
        rest = &arg[2..];
        if !rest.starts_with('\\') && !rest.is_empty() {
            // `C:foo` is relative to the drive's current directory; the session has one cwd.
            let cwd_v = base_of(cwd);
            if cwd_v.first() == out.first() {
                out = cwd_v;
            }
        }
    } else if arg.starts_with("\\\\") {
        // UNC paths are not part of the simulated file system.
        return None;
    } else if arg.starts_with('\\') {
        out = base_of(cwd);
        out.truncate(1);
        rest = &arg;
    } else {
        out = base_of(cwd);
        rest = &arg;
    }
    // Windows ignores trailing dots and spaces in names.
    let cleaned: Vec<&str> = rest
        .split('\\')
        .map(|p| {
            if p == "." || p == ".." {
                p
            } else {
                p.trim_end_matches([' ', '.'])
            }
        })
        .collect();
    push_parts(&mut out, cleaned.into_iter(), 1);
    Some(out)
}

fn resolve_unix(cwd: &str, arg: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let rest = if let Some(r) = arg.strip_prefix('/') {
        r
    } else if arg == "~" || arg.starts_with("~/") {
        out.push("root".to_string());
        &arg[1..]
    } else {
        push_parts(&mut out, cwd.split('/'), 0);
        arg
    };
    push_parts(&mut out, rest.split('/'), 0);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(cwd: &str, arg: &str) -> String {
        let f = Flavor::new(Platform::Windows);
        f.display(&f.resolve(cwd, arg).expect("resolves"))
    }

    fn unix(cwd: &str, arg: &str) -> String {
        let f = Flavor::new(Platform::Linux);
        f.display(&f.resolve(cwd, arg).expect("resolves"))
    }

    #[test]
    fn windows_resolution() {
        assert_eq!(win("C:\\", "Windows"), "C:\\Windows");
        assert_eq!(win("C:\\Windows", ".."), "C:\\");
        assert_eq!(win("C:\\", ".."), "C:\\");
        assert_eq!(win("C:\\Windows\\System32", "..\\..\\Users"), "C:\\Users");
        assert_eq!(win("C:\\Windows", "\\Temp"), "C:\\Temp");
        assert_eq!(win("C:\\Windows", "c:/program files/"), "C:\\program files");
        assert_eq!(win("C:\\Windows", "d:"), "D:\\");
        assert_eq!(win("C:\\Windows", "C:System32"), "C:\\Windows\\System32");
        assert!(
            Flavor::new(Platform::Windows)
                .resolve("C:\\", "\\\\srv\\share")
                .is_none()
        );
    }

    #[test]
    fn unix_resolution() {
        assert_eq!(unix("/", "etc"), "/etc");
        assert_eq!(unix("/var/log", "../../tmp"), "/tmp");
        assert_eq!(unix("/var", "/../.."), "/");
        assert_eq!(unix("/var", "~/x"), "/root/x");
    }

    #[test]
    fn keys() {
        let f = Flavor::new(Platform::Windows);
        let comps = f
            .resolve("C:\\", "Program Files\\Common Files")
            .expect("resolves");
        let key = f.key_of(&comps);
        assert_eq!(key, "c:\\program files\\common files");
        assert_eq!(f.parent_key(&key), Some("c:\\program files"));
        assert_eq!(f.parent_key("c:\\x"), Some("c:"));
        assert_eq!(f.parent_key("c:"), None);
        let u = Flavor::new(Platform::Linux);
        assert_eq!(
            u.key_of(&u.resolve("/", "etc/Hosts").expect("resolves")),
            "/etc/Hosts"
        );
        assert_eq!(u.parent_key("/etc"), Some("/"));
        assert_eq!(u.parent_key("/"), None);
        assert_eq!(u.join_key("/", "etc"), "/etc");
    }
}
