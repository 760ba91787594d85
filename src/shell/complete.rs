//! Tab completion and hints at the prompt, and the generated shell completions and man page.
//!
//! The completer knows RTR's syntax (the lexer's rules: literal backslashes, double quotes that
//! group, ``` fences) and offers, for the word under the cursor:
//! - command names (the catalog's for the host's platform, plus the local built-ins), then
//!   subcommands (`reg query`, `eventlog view`), flags in RTR's case (`-Force`, `-CloudFile=`)
//!   and documented values (`-ValueType=REG_SZ`, `xmemdump kerneldbg`);
//! - REMOTE paths in the arguments that take one (`cd C:\Win` → `C:\Windows\`, `cat /etc/pa` →
//!   `/etc/passwd`, `runscript -HostPath=`), from `ls` run on the host through the session and
//!   cached per directory ([`CompletionCache`]);
//! - names from the cloud libraries for `put`, `put-and-run` and `runscript -CloudFile=`.
//!
//! The editor runs on its own thread; a completion that needs the host blocks that thread on
//! the runtime for at most [`REMOTE_TIMEOUT`], then gives up silently (no candidates, nothing
//! printed). Completion only happens at the prompt, when no command runs.
//!
//! Hints show a command's usage from the catalog once its name (or name and subcommand) and a
//! space are typed: `reg query ` shows `[Subkey] [Value]` after the cursor. They are shown only
//! dimmed (the editor turns them off where it cannot dim them: `NO_COLOR`, output not a
//! terminal; a dumb terminal gets no line editing at all), are never inserted into the line,
//! and so never reach the host or the history.

mod cache;
mod paths;
mod remote;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

pub use cache::{CloudKind, CompletionCache, DEFAULT_TTL};
pub use paths::{PathStyle, RemoteEntry, parse_listing};
pub use remote::{Borrowed, CloudNames, RemoteFs, Representative};

use paths::{acceptable_name, quote_word, split_typed};
use rtrsh_client::session::HostSession;
use rtrsh_command::catalog::{self, ArgSpec, CommandSpec, FlagValue};
use rtrsh_command::{Platform, lexer};

/// How long TAB may wait for the host (a directory listing, the cloud's names).
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(3);

/// Local commands of the shell (see `builtins`), completed with the catalog's.
pub const BUILTINS: &[&str] = &[
    "help", "history", "files", "download", "queue", "hosts", "library", "clear", "cls", "exit",
    "contain", "lift", "stack", "diff", "results",
];

/// Positional arguments that name a path on the host (by the catalog's argument names).
const PATH_ARGS: &[&str] = &[
    "Path",
    "Source",
    "Destination",
    "Filename",
    "Executable",
    "MountPoint",
    "Filesystem",
];

/// Commands whose `Filename` is a name in the put-files library, not a host path.
const PUT_FILE_COMMANDS: &[&str] = &["put", "put-and-run"];

/// The sources of remote candidates.
#[derive(Clone)]
pub struct Remote {
    pub fs: Arc<dyn RemoteFs>,
    pub cloud: Arc<dyn CloudNames>,
}

impl Remote {
    /// Both from one open session.
    pub fn session(session: HostSession) -> Remote {
        let s = Arc::new(session);
        Remote {
            fs: s.clone(),
            cloud: s,
        }
    }
}

/// The line editor's helper: completion and hints for RTR command lines.
pub struct ShellHelper {
    platform: Option<Platform>,
    remote: Option<Remote>,
    runtime: Option<tokio::runtime::Handle>,
    cache: CompletionCache,
    timeout: Duration,
    hints: bool,
    /// The fleet's host names (for `only` and `drop`); empty on one host.
    hosts: Vec<String>,
    /// The fields of the newest parsed result (`stack FIELD`), as the interpreter keeps them.
    fields: StackFields,
}

/// The field names `stack` can count in the newest parsed result, shared with the interpreter
/// (which updates them after each command; the editor reads them on its own thread).
pub type StackFields = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The local commands that name hosts (completed when the helper knows host names).
const FLEET_LOCALS: &[&str] = &["only", "drop"];

impl ShellHelper {
    /// `session` and `runtime` let the completer list remote directories (the editor runs on
    /// its own thread; it blocks on the runtime for the listing). Without them only the
    /// catalog completes.
    pub fn new(session: Option<HostSession>, runtime: Option<tokio::runtime::Handle>) -> Self {
        let platform = session.as_ref().and_then(|s| s.target().platform);
        ShellHelper::with_remote(platform, session.map(Remote::session), runtime)
    }

    /// A helper over any sources (tests use fakes).
    pub fn with_remote(
        platform: Option<Platform>,
        remote: Option<Remote>,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self {
        let cache = CompletionCache::default();
        if let Some(p) = platform {
            cache.set_style(PathStyle::new(Some(p), ""));
        }
        ShellHelper {
            platform,
            remote,
            runtime,
            cache,
            timeout: REMOTE_TIMEOUT,
            hints: true,
            hosts: Vec::new(),
            fields: StackFields::default(),
        }
    }

    /// `stack FIELD` completes the names in `fields` (see [`StackFields`]).
    pub fn with_stack_fields(mut self, fields: StackFields) -> Self {
        self.fields = fields;
        self
    }

    /// A helper for a fleet prompt: `only` and `drop` complete these host names (names that
    /// hold anything but letters, digits, `.`, `_` and `-` are never offered: a host chooses its
    /// own name, and it must not reach the line).
    pub fn with_hosts(mut self, hosts: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<String> = hosts
            .into_iter()
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            })
            .collect();
        names.sort();
        names.dedup();
        self.hosts = names;
        self
    }

    /// Whether to show usage hints (on by default; off where they cannot be told apart from
    /// typed text).
    pub fn with_hints(mut self, on: bool) -> Self {
        self.hints = on;
        self
    }

    /// How long a completion may wait for the host.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A handle on the cache, for the shell to drop listings after commands that write
    /// ([`CompletionCache::after_command`]). The helper itself moves into the editor thread.
    pub fn cache_handle(&self) -> CompletionCache {
        self.cache.clone()
    }

    /// The candidates for the word ending at byte `pos` of `line`: the byte offset where the
    /// replaced word starts, and the candidates (each replaces `line[start..pos]`).
    pub async fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let pos = pos.min(line.len());
        if !line.is_char_boundary(pos) {
            return (pos, Vec::new());
        }
        let Some((before, word)) = scan(&line[..pos]) else {
            return (pos, Vec::new());
        };
        let found = match self.want(&before, &word) {
            Want::Nothing => Vec::new(),
            Want::Words {
                prefix,
                typed,
                words,
            } => match_words(&prefix, &typed, &words, word.quoted),
            Want::Path {
                prefix,
                typed,
                dirs_only,
            } => match &self.remote {
                Some(r) => self.paths(r, &prefix, &typed, word.quoted, dirs_only).await,
                None => Vec::new(),
            },
            Want::Cloud {
                kind,
                prefix,
                typed,
            } => match &self.remote {
                Some(r) => match self.cloud_names(r, kind).await {
                    Some(names) => match_words(&prefix, &typed, &names, word.quoted),
                    None => Vec::new(),
                },
                None => Vec::new(),
            },
        };
        (word.start, found)
    }

    /// [`candidates`](Self::candidates) from a thread outside the runtime, bounded by the
    /// timeout. Gives nothing when called from inside a runtime (it must not block one).
    pub fn complete_blocking(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let none = (pos, Vec::new());
        if tokio::runtime::Handle::try_current().is_ok() {
            return none;
        }
        match &self.runtime {
            Some(rt) => rt
                .block_on(async {
                    tokio::time::timeout(self.timeout, self.candidates(line, pos)).await
                })
                .unwrap_or(none),
            None => {
                // No runtime: only what needs no I/O (the catalog).
                let remote_free = ShellHelper {
                    platform: self.platform,
                    remote: None,
                    runtime: None,
                    cache: self.cache.clone(),
                    timeout: self.timeout,
                    hints: false,
                    hosts: self.hosts.clone(),
                    fields: self.fields.clone(),
                };
                futures_util::FutureExt::now_or_never(remote_free.candidates(line, pos))
                    .unwrap_or(none)
            }
        }
    }

    /// The usage hint for a line that is just a known command (or command and subcommand)
    /// followed by whitespace, cursor at the end: the rest of the catalog's usage line. Not
    /// while the name is still being typed (`put` may become `put-and-run`).
    pub fn usage_hint(&self, line: &str, pos: usize) -> Option<String> {
        if pos != line.len() || !line.ends_with([' ', '\t']) {
            return None;
        }
        let tokens = lexer::tokenize(line).ok()?;
        // `only HOSTS COMMAND`: the hint of COMMAND.
        let tokens = match tokens.first() {
            Some(t) if t.text == "only" => tokens.get(2..)?,
            _ => &tokens[..],
        };
        let spec = catalog::lookup(&tokens.first()?.text)?;
        if self.platform.is_some_and(|p| !spec.available_on(p)) {
            return None;
        }
        let (usage, typed) = match tokens.len() {
            1 => (spec.usage, spec.name.to_string()),
            2 => {
                let sub = spec.subcommand(&tokens[1].text)?;
                (sub.usage, format!("{} {}", spec.name, sub.name))
            }
            _ => return None,
        };
        let rest = usage.strip_prefix(typed.as_str())?;
        if !rest.starts_with(' ') {
            return None;
        }
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// What the word under the cursor can be.
    fn want(&self, before: &[String], word: &Word) -> Want {
        let typed = word.text.clone();
        let Some(base) = before.first() else {
            let mut names: Vec<String> = self.commands().map(|c| c.name.to_string()).collect();
            names.extend(BUILTINS.iter().map(|b| b.to_string()));
            if !self.hosts.is_empty() {
                names.extend(FLEET_LOCALS.iter().map(|b| b.to_string()));
            }
            names.sort();
            names.dedup();
            return Want::words(typed, names);
        };
        if !self.hosts.is_empty() && (base == "only" || base == "drop") {
            if before.len() == 1 {
                // A comma-separated list: complete the name after the last comma.
                let cut = typed.rfind(',').map_or(0, |i| i + 1);
                return Want::Words {
                    prefix: typed[..cut].to_string(),
                    typed: typed[cut..].to_string(),
                    words: self.hosts.clone(),
                };
            }
            if base == "only" {
                // After the hosts, the command line runs as typed on its own.
                return self.want(&before[2..], word);
            }
            return Want::Nothing;
        }
        if base == "stack" {
            // `stack [--all] FIELD ...`: the fields of the newest result.
            let at_field = match before.get(1).map(String::as_str) {
                None => true,
                Some("--all") => before.len() == 2,
                Some(_) => false,
            };
            if !at_field {
                return Want::Nothing;
            }
            let mut words = self.fields.lock().map(|f| f.clone()).unwrap_or_default();
            if before.len() == 1 {
                words.push("--all".into());
            }
            return Want::words(typed, words);
        }
        if base == "help" || base == "?" {
            return if before.len() == 1 {
                Want::words(typed, self.commands().map(|c| c.name.to_string()).collect())
            } else {
                Want::Nothing
            };
        }
        let Some(spec) = catalog::lookup(base) else {
            return Want::Nothing;
        };
        if self.platform.is_some_and(|p| !spec.available_on(p)) {
            return Want::Nothing;
        }
        let (spec, rest) = if spec.subcommands.is_empty() {
            (spec, &before[1..])
        } else if before.len() == 1 {
            return Want::words(
                typed,
                spec.subcommands
                    .iter()
                    .map(|s| s.name.to_string())
                    .collect(),
            );
        } else {
            match spec.subcommand(&before[1]) {
                Some(sub) => (sub, &before[2..]),
                None => return Want::Nothing,
            }
        };
        if typed.starts_with('-') {
            return self.flag_want(base, spec, rest, typed);
        }
        let index = rest.iter().filter(|w| !w.starts_with('-')).count();
        match spec.args.get(index) {
            Some(arg) => arg_want(base, arg, String::new(), typed),
            None => Want::Nothing,
        }
    }

    fn flag_want(&self, base: &str, spec: &CommandSpec, rest: &[String], typed: String) -> Want {
        if let (name, Some(value)) = lexer::split_flag(&typed) {
            let Some(flag) = spec.flags_on(self.platform).find(|f| f.name == name) else {
                return Want::Nothing;
            };
            let prefix = format!("{name}=");
            let value = value.to_string();
            return match (flag.value, flag.name, base) {
                (FlagValue::OneOf(values), _, _) => Want::Words {
                    prefix,
                    typed: value,
                    words: values.iter().map(|v| v.to_string()).collect(),
                },
                (_, "-HostPath", _) | (_, "-f", "tar") => Want::Path {
                    prefix,
                    typed: value,
                    dirs_only: false,
                },
                (_, "-CloudFile", _) => Want::Cloud {
                    kind: CloudKind::Scripts,
                    prefix,
                    typed: value,
                },
                (_, "-Name", "falconscript") => Want::Cloud {
                    kind: CloudKind::FalconScripts,
                    prefix,
                    typed: value,
                },
                _ => Want::Nothing,
            };
        }
        let used: Vec<&str> = rest.iter().map(|w| lexer::split_flag(w).0).collect();
        let flags = spec
            .flags_on(self.platform)
            .filter(|f| !used.contains(&f.name))
            .map(|f| {
                if f.takes_value() {
                    format!("{}=", f.name)
                } else {
                    f.name.to_string()
                }
            })
            .collect();
        Want::words(typed, flags)
    }

    fn commands(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        catalog::commands()
            .iter()
            .filter(|c| self.platform.is_none_or(|p| c.available_on(p)))
    }

    /// Remote path candidates for `typed` (quotes removed), each written as `prefix` + path.
    async fn paths(
        &self,
        remote: &Remote,
        prefix: &str,
        typed: &str,
        quoted: bool,
        dirs_only: bool,
    ) -> Vec<Pair> {
        if typed.contains('"') || typed.chars().any(char::is_control) {
            return Vec::new();
        }
        let cwd = remote.fs.cwd().await;
        let style = PathStyle::new(self.platform, &cwd);
        self.cache.set_style(style);
        let (typed_dir, name_prefix) = split_typed(style, typed);
        let dir = style.absolute(&cwd, typed_dir);
        if dir.is_empty()
            || (style == PathStyle::Windows && typed_dir.is_empty() && typed.ends_with(':'))
        {
            return Vec::new();
        }
        let entries = match self.cache.listing(style, &dir) {
            Some(e) => e,
            None => match remote.fs.list(style, style.trim_dir(&dir)).await {
                Some(v) => self.cache.store_listing(style, &dir, v),
                None => return Vec::new(),
            },
        };
        let sep = style.sep();
        let mut out: Vec<Pair> = entries
            .iter()
            // Any source's names are hostile, not only `ls` output's.
            .filter(|e| acceptable_name(&e.name))
            .filter(|e| !dirs_only || e.dir)
            .filter(|e| style.matches(&e.name, name_prefix))
            // Unix convention: hidden entries only when asked for.
            .filter(|e| {
                style == PathStyle::Windows
                    || name_prefix.starts_with('.')
                    || !e.name.starts_with('.')
            })
            .map(|e| {
                let mut text = format!("{typed_dir}{}", e.name);
                if e.dir {
                    text.push(sep);
                }
                // A bare name starting with a dash would read as a flag.
                if text.starts_with('-') {
                    text = format!(".{sep}{text}");
                }
                let mut display = e.name.clone();
                if e.dir {
                    display.push(sep);
                }
                Pair {
                    display,
                    replacement: quote_word(prefix, &text, quoted),
                }
            })
            .collect();
        // By name (`Program Files` before `Program Files (x86)`, whatever the separator).
        let name = |p: &Pair| p.display.trim_end_matches(sep).to_string();
        match style {
            PathStyle::Windows => out.sort_by_cached_key(|p| name(p).to_lowercase()),
            PathStyle::Unix => out.sort_by_cached_key(name),
        }
        out
    }

    async fn cloud_names(&self, remote: &Remote, kind: CloudKind) -> Option<Vec<String>> {
        if let Some(n) = self.cache.names(kind) {
            return Some(n.to_vec());
        }
        let mut names = remote.cloud.names(kind).await?;
        names.retain(|n| acceptable_name(n));
        Some(self.cache.store_names(kind, names).to_vec())
    }
}

/// What the word under the cursor can be.
enum Want {
    Nothing,
    /// One of these words, written after `prefix` (`-ValueType=`).
    Words {
        prefix: String,
        typed: String,
        words: Vec<String>,
    },
    /// A path on the host.
    Path {
        prefix: String,
        typed: String,
        dirs_only: bool,
    },
    /// A name in a cloud library.
    Cloud {
        kind: CloudKind,
        prefix: String,
        typed: String,
    },
}

impl Want {
    fn words(typed: String, words: Vec<String>) -> Want {
        Want::Words {
            prefix: String::new(),
            typed,
            words,
        }
    }
}

/// What a positional argument takes.
fn arg_want(base: &str, arg: &ArgSpec, prefix: String, typed: String) -> Want {
    if !arg.options.is_empty() {
        return Want::Words {
            prefix,
            typed,
            words: arg.options.iter().map(|o| o.to_string()).collect(),
        };
    }
    if PUT_FILE_COMMANDS.contains(&base) {
        return Want::Cloud {
            kind: CloudKind::PutFiles,
            prefix,
            typed,
        };
    }
    if PATH_ARGS.contains(&arg.name) {
        return Want::Path {
            prefix,
            typed,
            dirs_only: base == "cd",
        };
    }
    Want::Nothing
}

/// The words starting with `typed` (case-sensitively; when none do, case-insensitively, so
/// `-force` finds `-Force`), sorted, each written as `prefix` + word.
fn match_words(prefix: &str, typed: &str, words: &[String], quoted: bool) -> Vec<Pair> {
    let mut hits: Vec<&String> = words.iter().filter(|w| w.starts_with(typed)).collect();
    if hits.is_empty() {
        let lower = typed.to_lowercase();
        hits = words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .collect();
    }
    hits.sort();
    hits.dedup();
    hits.into_iter()
        .map(|w| Pair {
            display: w.clone(),
            replacement: quote_word(prefix, w, quoted),
        })
        .collect()
}

/// The word under the cursor.
#[derive(Debug, PartialEq, Eq)]
struct Word {
    /// Byte offset where it starts (a candidate replaces from here to the cursor).
    start: usize,
    /// Its text so far, quotes removed.
    text: String,
    /// Some of it is (or was) inside double quotes.
    quoted: bool,
}

/// Splits the text before the cursor into the finished words and the word being typed, by the
/// lexer's rules, except that a double quote still open at the end is allowed (the user is
/// typing inside it). `None` inside an unfinished ``` fence (free text: nothing to complete).
fn scan(text: &str) -> Option<(Vec<String>, Word)> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let mut last: Option<Word> = None;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            if let Some(w) = last.take() {
                words.push(w.text);
            }
            i += 1;
            continue;
        }
        let word = last.get_or_insert_with(|| Word {
            start: i,
            text: String::new(),
            quoted: false,
        });
        if text[i..].starts_with("```") {
            let body = i + 3;
            let close = text[body..].find("```")?;
            word.text.push_str(&text[body..body + close]);
            word.quoted = true;
            i = body + close + 3;
        } else if bytes[i] == b'"' {
            word.quoted = true;
            match text[i + 1..].find('"') {
                Some(close) => {
                    word.text.push_str(&text[i + 1..i + 1 + close]);
                    i += close + 2;
                }
                None => {
                    word.text.push_str(&text[i + 1..]);
                    i = bytes.len();
                }
            }
        } else {
            let ch = text[i..].chars().next()?;
            word.text.push(ch);
            i += ch.len_utf8();
        }
    }
    let word = last.unwrap_or(Word {
        start: text.len(),
        text: String::new(),
        quoted: false,
    });
    Some((words, word))
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(self.complete_blocking(line, pos))
    }
}

/// A usage hint: shown after the cursor, never inserted into the line.
#[derive(Debug)]
pub struct UsageHint(String);

impl Hint for UsageHint {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ShellHelper {
    type Hint = UsageHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<UsageHint> {
        if !self.hints {
            return None;
        }
        self.usage_hint(line, pos).map(UsageHint)
    }
}

impl Highlighter for ShellHelper {
    /// Dim. rustyline calls highlighters only when colours are on (see `repl::start_editor`);
    /// otherwise hints are off, so a hint never shows undimmed.
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[22m"))
    }

    /// The host and the directory in colour. The prompt text itself holds no escapes (it is
    /// built inert); rustyline measures that text and shows this one, of the same width.
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Owned(crate::output::style::prompt(prompt))
    }
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// The history file name for a credentials profile: `history` for the default profile,
/// `history-<profile>` otherwise, with anything but ASCII letters, digits, `-`, `_` and `.`
/// replaced by `_` (a profile name never escapes the directory).
pub fn history_file_name(profile: Option<&str>) -> String {
    match profile.map(str::trim) {
        None | Some("") | Some("default") => "history".to_string(),
        Some(p) => {
            let safe: String = p
                .chars()
                .take(64)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("history-{}", safe.trim_start_matches('.'))
        }
    }
}

#[cfg(test)]
mod tests;
