//! Remote paths for completion, without I/O: which directory a typed path asks to list, how the
//! host's `ls` output reads, which names may enter the line buffer, and how a candidate is
//! written back (quoted when it has spaces).
//!
//! Every name here comes from the host and is hostile: a name that carries a control or
//! invisible character, a double quote or a ``` fence never becomes a candidate (the line
//! buffer must stay exactly what the user sees, and RTR's syntax cannot express those names).

use crate::output::sanitize::is_hidden;
use rtrsh_command::Platform;

/// Most entries kept from one listing (a directory with more still completes, from the first
/// ones the host lists).
pub const MAX_ENTRIES: usize = 20_000;

/// How paths are written on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathStyle {
    /// `C:\Windows`: `\` (or `/`) separators, case-insensitive names.
    Windows,
    /// `/etc/passwd`: `/` separators, case-sensitive names.
    Unix,
}

impl PathStyle {
    /// The style of a platform; when the platform is unknown, guessed from the session's
    /// working directory (`/...` is Unix).
    pub fn new(platform: Option<Platform>, cwd: &str) -> PathStyle {
        match platform {
            Some(Platform::Windows) => PathStyle::Windows,
            Some(Platform::Linux | Platform::Mac) => PathStyle::Unix,
            None if cwd.starts_with('/') => PathStyle::Unix,
            None => PathStyle::Windows,
        }
    }

    /// The separator written after a directory candidate.
    pub fn sep(self) -> char {
        match self {
            PathStyle::Windows => '\\',
            PathStyle::Unix => '/',
        }
    }

    pub fn is_sep(self, c: char) -> bool {
        match self {
            PathStyle::Windows => c == '\\' || c == '/',
            PathStyle::Unix => c == '/',
        }
    }

    /// Whether `name` starts with the typed `prefix` (case-insensitively on Windows).
    pub fn matches(self, name: &str, prefix: &str) -> bool {
        match self {
            PathStyle::Unix => name.starts_with(prefix),
            PathStyle::Windows => {
                let mut n = name.chars().flat_map(char::to_lowercase);
                prefix
                    .chars()
                    .flat_map(char::to_lowercase)
                    .all(|p| n.next() == Some(p))
            }
        }
    }

    /// The cache key of a directory: trailing separators dropped (but a root kept), lowercased
    /// on Windows, `/` read as `\` there.
    pub fn key(self, dir: &str) -> String {
        let d = self.trim_dir(dir);
        match self {
            PathStyle::Unix => d.to_string(),
            PathStyle::Windows => d.replace('/', "\\").to_lowercase(),
        }
    }

    /// `dir` without trailing separators, except for a root (`/`, `C:\`, `\`).
    pub fn trim_dir(self, dir: &str) -> &str {
        let t = dir.trim_end_matches(|c| self.is_sep(c));
        match self {
            PathStyle::Unix if t.is_empty() && !dir.is_empty() => "/",
            PathStyle::Windows if t.is_empty() && !dir.is_empty() => &dir[..1],
            PathStyle::Windows if t.len() == 2 && t.ends_with(':') && dir.len() > 2 => &dir[..3],
            _ => t,
        }
    }

    /// The parent directory of a path (`None` for a root or a bare name).
    pub fn parent(self, path: &str) -> Option<&str> {
        let t = self.trim_dir(path);
        let cut = t.rfind(|c| self.is_sep(c))?;
        let parent = &t[..=cut];
        if parent.len() == t.len() {
            None
        } else {
            Some(self.trim_dir(parent))
        }
    }

    /// Whether a typed path is absolute (`C:\`, `\\server`, `\x`; `/x`).
    pub fn is_absolute(self, path: &str) -> bool {
        match self {
            PathStyle::Unix => path.starts_with('/'),
            PathStyle::Windows => {
                let b = path.as_bytes();
                path.starts_with(['\\', '/'])
                    || (b.len() >= 3
                        && b[0].is_ascii_alphabetic()
                        && b[1] == b':'
                        && (b[2] == b'\\' || b[2] == b'/'))
            }
        }
    }

    /// `path` made absolute against `cwd` (`\x` takes the drive of `cwd`). Not normalised:
    /// the host resolves `..`.
    pub fn absolute(self, cwd: &str, path: &str) -> String {
        if self == PathStyle::Windows
            && path.starts_with(['\\', '/'])
            && !path.starts_with("\\\\")
            && cwd.as_bytes().get(1) == Some(&b':')
        {
            return format!("{}{path}", &cwd[..2]);
        }
        if self.is_absolute(path) {
            return path.to_string();
        }
        let base = cwd.trim_end_matches(|c| self.is_sep(c));
        if path.is_empty() {
            return self.trim_dir(cwd).to_string();
        }
        format!("{base}{}{path}", self.sep())
    }
}

/// A typed path split at its last separator: `C:\Win` → (`C:\`, `Win`).
pub fn split_typed(style: PathStyle, typed: &str) -> (&str, &str) {
    match typed.rfind(|c| style.is_sep(c)) {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    }
}

/// One entry of a remote directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEntry {
    pub name: String,
    pub dir: bool,
}

/// Whether a host-supplied name may be offered: no control, invisible or bidi characters, no
/// `"` (RTR quoting cannot carry it), no ``` fence, not `.`/`..`, not empty.
pub fn acceptable_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('"')
        && !name.contains("```")
        && !name.chars().any(|c| c.is_control() || is_hidden(c))
}

/// Reads a listing the host printed for `ls` (Windows) or `ls -l` (Linux, macOS). Unknown
/// formats give no entries; hostile names are dropped.
pub fn parse_listing(style: PathStyle, stdout: &str) -> Vec<RemoteEntry> {
    let mut entries = match style {
        PathStyle::Windows => parse_windows(stdout),
        PathStyle::Unix => parse_unix(stdout),
    };
    entries.retain(|e| acceptable_name(&e.name));
    entries.truncate(MAX_ENTRIES);
    entries
}

/// Windows: a `Directory listing for C:\ -` banner, then a table whose `Type` column reads
/// `<Directory>` for folders and, for files, `<File>` or the file's extension (`.txt`, `.dll`;
/// empty for a name without one), then sizes and dates. A row whose name fits its column is
/// read by the header's columns; a longer name pushes the rest of the row right (and may touch
/// the type), so such a row is read from its sizes backwards.
fn parse_windows(stdout: &str) -> Vec<RemoteEntry> {
    let mut lines = stdout.lines().map(|l| l.trim_end_matches('\r'));
    // The table starts after the `Name  Type ...` header (and its dashes).
    let Some(header) = lines.find(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("Name") && w.next() == Some("Type")
    }) else {
        return Vec::new();
    };
    let column = |name: &str| header.find(name).map(|i| header[..i].chars().count());
    let columns = column("Type").zip(column("Size"));
    let mut out = Vec::new();
    for line in lines {
        if line.trim_start().starts_with("----") || line.trim().is_empty() {
            continue;
        }
        let row = columns
            .and_then(|(t, s)| windows_aligned_row(line, t, s))
            .or_else(|| windows_pushed_row(line));
        if let Some((name, dir)) = row
            && !name.is_empty()
        {
            out.push(RemoteEntry {
                name: name.to_string(),
                dir,
            });
        }
    }
    out
}

/// A `Type` column value: `Some(is_dir)` for `<Directory>`, `<File>`, an extension or nothing.
fn windows_type(t: &str) -> Option<bool> {
    match t {
        "<Directory>" => Some(true),
        "<File>" | "" => Some(false),
        _ if t.starts_with('.') && !t.contains(char::is_whitespace) => Some(false),
        _ => None,
    }
}

/// A size column value: `--` or a number.
fn windows_size(t: &str) -> bool {
    t == "--"
        || (!t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ','))
}

/// A row whose name fits its column: name, type and size where the header puts them.
fn windows_aligned_row(line: &str, type_col: usize, size_col: usize) -> Option<(&str, bool)> {
    if type_col == 0 || size_col <= type_col {
        return None;
    }
    let at = |col: usize| line.char_indices().nth(col).map(|(i, _)| i);
    let (t, s) = (at(type_col)?, at(size_col)?);
    if !line[..t].ends_with(' ') || !line[..s].ends_with(' ') {
        return None;
    }
    let dir = windows_type(line[t..s].trim())?;
    windows_size(line[s..].split_whitespace().next()?).then(|| (line[..t].trim_end(), dir))
}

/// A row pushed right by a long name: the rightmost place where a type is followed by a size
/// gives the type; the name is everything before it.
fn windows_pushed_row(line: &str) -> Option<(&str, bool)> {
    let words: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    for k in (0..words.len().saturating_sub(1)).rev() {
        // A size after a size is the second size column.
        if !windows_size(words[k + 1].1) || windows_size(words[k].1) {
            continue;
        }
        let (start, word) = words[k];
        for marker in ["<Directory>", "<File>"] {
            if let Some(name_end) = word.strip_suffix(marker).map(|rest| start + rest.len()) {
                return Some((line[..name_end].trim_end(), marker == "<Directory>"));
            }
        }
        if word.starts_with('.') && start > 0 {
            // The extension in its own column, after a name that filled its own.
            return Some((line[..start].trim_end(), false));
        }
        // The extension touching the name (`report.txt.txt`): the name ends with it too.
        if let Some(dot) = word.rfind('.') {
            let ext = &word[dot..];
            let name = &line[..start + dot];
            if ext.len() > 1 && name.to_lowercase().ends_with(&ext.to_lowercase()) {
                return Some((name.trim_end(), false));
            }
        }
        // No extension: the type column was empty.
        return Some((line[..start + word.len()].trim_end(), false));
    }
    None
}

/// Linux/macOS: `ls -l` rows (`drwxr-xr-x 2 root root 4096 Jan  1 00:00 name`), or bare names
/// one per line. A `total N` line is skipped; a symbolic link's ` -> target` is cut.
fn parse_unix(stdout: &str) -> Vec<RemoteEntry> {
    let lines: Vec<&str> = stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .collect();
    // One `ls -l` row makes it a long listing; other lines are then not names (a hostile name
    // with a newline must not turn every row into a "name").
    let long = lines.iter().any(|l| long_row(l).is_some());
    let mut out = Vec::new();
    for line in lines {
        if long {
            if let Some(e) = long_row(line) {
                out.push(e);
            }
        } else if !line.ends_with(':') {
            // Bare names (a `-R` header such as `/etc:` is not a name).
            out.push(RemoteEntry {
                name: line.to_string(),
                dir: false,
            });
        }
    }
    out
}

/// One `ls -l` row: a mode string, then links, owner, group, size and a three-part date.
fn long_row(line: &str) -> Option<RemoteEntry> {
    let mode = line.split_whitespace().next()?;
    let kind = mode.chars().next()?;
    let looks_like_mode = mode.len() >= 10
        && "-dlcbps".contains(kind)
        && mode
            .chars()
            .skip(1)
            .take(9)
            .all(|c| "rwxsStTl-".contains(c));
    if !looks_like_mode {
        return None;
    }
    // Skip eight fields (mode, links, owner, group, size, month, day, time or year).
    let mut rest = line;
    for _ in 0..8 {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ')?;
        rest = &rest[end..];
    }
    let mut name = rest.strip_prefix(' ')?.trim_start_matches(' ');
    if kind == 'l'
        && let Some((n, _target)) = name.split_once(" -> ")
    {
        name = n;
    }
    Some(RemoteEntry {
        name: name.to_string(),
        dir: kind == 'd',
    })
}

/// Writes a word for the line buffer: `prefix` (such as `-HostPath=`) then `text`, the text in
/// double quotes when it has whitespace or the user had opened a quote.
pub fn quote_word(prefix: &str, text: &str, force: bool) -> String {
    if force || text.contains(char::is_whitespace) {
        format!("{prefix}\"{text}\"")
    } else {
        format!("{prefix}{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: PathStyle = PathStyle::Windows;
    const U: PathStyle = PathStyle::Unix;

    #[test]
    fn keys_and_roots() {
        assert_eq!(W.key(r"C:\Windows\"), r"c:\windows");
        assert_eq!(W.key(r"C:\"), r"c:\");
        assert_eq!(W.key("C:/Windows"), r"c:\windows");
        assert_eq!(U.key("/etc/"), "/etc");
        assert_eq!(U.key("/"), "/");
        assert_eq!(U.key("/Etc"), "/Etc");
    }

    #[test]
    fn parents() {
        assert_eq!(W.parent(r"C:\Windows\System32"), Some(r"C:\Windows"));
        assert_eq!(W.parent(r"C:\Windows"), Some(r"C:\"));
        assert_eq!(W.parent(r"C:\"), None);
        assert_eq!(U.parent("/etc/passwd"), Some("/etc"));
        assert_eq!(U.parent("/etc"), Some("/"));
        assert_eq!(U.parent("name"), None);
    }

    #[test]
    fn absolute_paths() {
        assert_eq!(W.absolute(r"C:\Users", ""), r"C:\Users");
        assert_eq!(W.absolute(r"C:\", ""), r"C:\");
        assert_eq!(W.absolute(r"C:\Users\", r"bob\"), r"C:\Users\bob\");
        assert_eq!(W.absolute(r"C:\", r"Win"), r"C:\Win");
        assert_eq!(W.absolute(r"C:\Users", r"D:\x"), r"D:\x");
        assert_eq!(W.absolute(r"D:\Users", r"\Temp"), r"D:\Temp");
        assert_eq!(W.absolute(r"C:\", r"\\srv\share"), r"\\srv\share");
        assert_eq!(U.absolute("/home/bob", "docs/"), "/home/bob/docs/");
        assert_eq!(U.absolute("/", "etc"), "/etc");
        assert_eq!(U.absolute("/home", "/etc"), "/etc");
    }

    #[test]
    fn typed_split_and_matching() {
        assert_eq!(split_typed(W, r"C:\Win"), (r"C:\", "Win"));
        assert_eq!(split_typed(W, "C:/Win"), ("C:/", "Win"));
        assert_eq!(split_typed(U, "/etc/pa"), ("/etc/", "pa"));
        assert_eq!(split_typed(U, "pa"), ("", "pa"));
        assert!(W.matches("Windows", "wIN"));
        assert!(W.matches("Ünïcode", "ün"));
        assert!(!U.matches("Windows", "win"));
        assert!(U.matches("passwd", ""));
    }

    #[test]
    fn windows_table() {
        let long_name = "a-name-that-is-much-wider-than-its-column-of-41.txt";
        let text = format!(
            "Directory listing for C:\\ -\n\n\
             {:<41}{:<13}{:<16}\n{:<41}{:<13}{:<16}\n\
             {:<41}{:<13}{:<16}\n{:<41}{:<13}{:<16}\n{:<41}{:<13}{:<16}\n{:<41}{:<13}{:<16}\r\n",
            "Name",
            "Type",
            "Size (bytes)",
            "----",
            "----",
            "------------",
            "Program Files",
            "<Directory>",
            "--",
            "pagefile.sys",
            "<File>",
            "1024",
            long_name,
            "<File>",
            "3",
            "odd <File> name",
            "<Directory>",
            "--",
        );
        let e = parse_listing(W, &text);
        assert_eq!(
            e,
            vec![
                RemoteEntry {
                    name: "Program Files".into(),
                    dir: true
                },
                RemoteEntry {
                    name: "pagefile.sys".into(),
                    dir: false
                },
                RemoteEntry {
                    name: long_name.into(),
                    dir: false
                },
                RemoteEntry {
                    name: "odd <File> name".into(),
                    dir: true
                },
            ]
        );
        assert!(parse_listing(W, "Access is denied.\n").is_empty());
        assert!(parse_listing(W, "").is_empty());
    }

    #[test]
    fn windows_table_with_extensions_in_the_type_column() {
        let long = "a-report-name-that-is-wider-than-its-column.txt";
        let row = |n: &str, t: &str, b: &str, m: &str| {
            format!("{n:<41}{t:<13}{b:<16}{m:<16}11/27/2018 10:54:44 AM    9/15/2017 3:33:40 AM\n")
        };
        let text = [
            "Directory listing for C:\\Users -\n\n".to_string(),
            row("Name", "Type", "Size (bytes)", "Size (MB)"),
            row("----", "----", "------------", "---------"),
            row("Public", "<Directory>", "--", "--"),
            row("notes.txt", ".txt", "12", "0.00"),
            row("Setup Log.LOG", ".LOG", "2048", "0.00"),
            row("README", "", "3", "0.00"),
            row(long, ".txt", "5", "0.00"),
            format!("{long}.txt        7               0.00            11/27/2018 10:54:44 AM\n"),
            format!("{long}x<Directory>  --              --              11/27/2018 10:54:44 AM\n"),
        ]
        .concat();
        let e = parse_listing(W, &text);
        let names: Vec<(&str, bool)> = e.iter().map(|e| (e.name.as_str(), e.dir)).collect();
        let longx = format!("{long}x");
        assert_eq!(
            names,
            vec![
                ("Public", true),
                ("notes.txt", false),
                ("Setup Log.LOG", false),
                ("README", false),
                (long, false),
                (long, false),
                (longx.as_str(), true),
            ]
        );
        assert!(parse_listing(W, "").is_empty());
    }

    #[test]
    fn unix_long_and_bare() {
        let long = "total 12\n\
            drwxr-xr-x  2 root root     4096 Jan  1 00:00 cron.d\n\
            -rw-r--r--  1 root root     2048 Mar 14  2024 passwd\n\
            lrwxrwxrwx  1 root root        7 Mar 14 10:00 mtab -> /proc/self/mounts\n\
            -rw-r--r--@ 1 bob  staff      10 Mar 14 10:00 with  two spaces\n";
        let e = parse_listing(U, long);
        let names: Vec<(&str, bool)> = e.iter().map(|e| (e.name.as_str(), e.dir)).collect();
        assert_eq!(
            names,
            vec![
                ("cron.d", true),
                ("passwd", false),
                ("mtab", false),
                ("with  two spaces", false)
            ]
        );
        let bare = parse_listing(U, "passwd\nhosts\n");
        assert_eq!(bare.len(), 2);
        assert!(!bare[0].dir);
        let odd = "-rw-r--r-- 1 root root 1 Jan  1 00:00 evil\nsecond half\n";
        assert_eq!(parse_listing(U, odd).len(), 1);
    }

    #[test]
    fn hostile_names_are_dropped() {
        assert!(!acceptable_name("\x1b]0;pwned\x07notes.txt"));
        assert!(!acceptable_name("a\u{202e}txt.exe"));
        assert!(!acceptable_name("say \"hi\""));
        assert!(!acceptable_name("x```y"));
        assert!(!acceptable_name(".."));
        assert!(!acceptable_name("new\nline"));
        assert!(acceptable_name("Program Files"));
        assert!(acceptable_name("ünïcode"));
        let text = "drwxr-xr-x 2 root root 4096 Jan  1 00:00 \x1b[31mred\x1b[0m\n\
                    -rw-r--r-- 1 root root 1 Jan  1 00:00 fine\n";
        let e = parse_listing(U, text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "fine");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote_word("", r"C:\Program Files\", false),
            r#""C:\Program Files\""#
        );
        assert_eq!(quote_word("", r"C:\Windows\", false), r"C:\Windows\");
        assert_eq!(quote_word("", r"C:\Windows\", true), r#""C:\Windows\""#);
        assert_eq!(
            quote_word("-HostPath=", r"C:\My Scripts\a.ps1", false),
            r#"-HostPath="C:\My Scripts\a.ps1""#
        );
    }
}
