//! The catalog of every RTR command: platforms, permission tier (by command *and* arguments),
//! subcommands, positional arguments, flags and help text. A static table, no I/O.
//!
//! Users:
//! - the shell routes a typed line to the lowest sufficient tier ([`validate`],
//!   [`required_tier`]), answers `help` / `help CMD` locally ([`CommandSpec::help_text`]),
//!   rejects unknown commands and bad flags before any API call, and completes names;
//! - the emulator rejects a command sent to an endpoint of too low a tier and publishes the
//!   `scripts` help catalogue of session init ([`script_help`]).
//!
//! Sources: the SDKs' tier lists and the wire syntax real clients send (docs/protocol.md,
//! "Command tiers") and the shape of real `scripts` replies (flag names without the dash in
//! `arg_name`, `eventlog`/`reg`/`update` as non-runnable parents of runnable subcommands). Where a
//! platform restriction is not documented, the command is listed on every platform: a local
//! rejection of a valid command is worse than letting the API answer.
//!
//! Validation refuses locally what the API refuses (so an invalid line costs no API call): an
//! unknown command or one of another platform (40007 "Command not found"), more positional
//! arguments than the command takes (40012 "Max args is N. M were provided"; the message then
//! shows the quoted form, since an unquoted path with spaces is the usual cause), a process id
//! that is not a number, and flag values outside their type (`-ValueType` is a closed set,
//! `-Timeout` a number of seconds within [`TIMEOUT_SECONDS`]). The emulator answers with the same
//! verdicts from this same table ([`api_rejection`]). Beyond that it stays permissive: where a
//! bound is not documented, nothing is refused.

use std::fmt;

use super::lexer::split_flag;
use super::script_timeout;
use super::{Platform, Tier};

/// One RTR command, or one subcommand of a parent such as `reg`.
#[derive(Debug)]
pub struct CommandSpec {
    /// `ls`, or for a subcommand its own word (`query`).
    pub name: &'static str,
    /// Platforms where the command exists (subcommands inherit their parent's).
    pub platforms: &'static [Platform],
    /// Lowest tier that runs the command. For a parent, the lowest tier of its subcommands.
    pub tier: Tier,
    pub description: &'static str,
    /// One usage line, e.g. `rm <path> [-Force]`.
    pub usage: &'static str,
    pub examples: &'static [&'static str],
    /// Positional arguments, in order.
    pub args: &'static [ArgSpec],
    pub flags: &'static [FlagSpec],
    /// When non-empty, the first argument must name one of these and the parent is not
    /// runnable by itself.
    pub subcommands: &'static [CommandSpec],
    /// At least one of these flags must be given (`runscript`'s script source).
    pub one_of: &'static [&'static str],
    /// Hidden from the console's help (RTR marks `pwd` so).
    pub internal_only: bool,
}

/// A positional argument.
#[derive(Debug)]
pub struct ArgSpec {
    /// As RTR names it in `scripts` (`Path`, `Subkey`).
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
    /// Default shown in help (`.` for `ls`), empty when none.
    pub default: &'static str,
    /// Documented values (`complete`, `kerneldbg`), for help and completion; not enforced.
    pub options: &'static [&'static str],
    /// A whole number is required (`kill <PID>`).
    pub number: bool,
}

/// A flag such as `-Force` or `-CloudFile=<name>`.
#[derive(Debug)]
pub struct FlagSpec {
    /// With its dash, in RTR's case: `-Force`.
    pub name: &'static str,
    pub value: FlagValue,
    /// The line is invalid without this flag (`restart -Confirm`).
    pub required: bool,
    /// Lowest tier that accepts a line using this flag (`runscript -Raw` needs admin).
    pub tier: Tier,
    /// Platforms where the flag exists; empty means every platform of the command.
    pub platforms: &'static [Platform],
    pub description: &'static str,
}

/// What follows a flag's `=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagValue {
    /// A switch: `-Force`. A value is an error.
    None,
    /// Any non-empty text: `-CloudFile="name"`, `-Raw=```...```.
    Text,
    /// A whole number within `min..=max`: `-Timeout=30`.
    Number { min: u64, max: u64 },
    /// One of these, exactly as written: `-ValueType=REG_SZ`.
    OneOf(&'static [&'static str]),
}

/// Why a command line is rejected locally. `Display` is one line that says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogError {
    /// The line has no words.
    Empty,
    UnknownCommand {
        name: String,
        suggestion: Option<&'static str>,
    },
    NotOnPlatform {
        command: &'static str,
        platform: Platform,
        platforms: &'static [Platform],
    },
    MissingSubcommand {
        command: &'static str,
        valid: Vec<&'static str>,
    },
    UnknownSubcommand {
        command: &'static str,
        given: String,
        suggestion: Option<&'static str>,
        valid: Vec<&'static str>,
    },
    UnknownFlag {
        /// `rm`, or `reg set` for a subcommand.
        command: String,
        flag: String,
        suggestion: Option<&'static str>,
        /// Flags valid here (on this platform), with their dash.
        valid: Vec<&'static str>,
    },
    MissingFlagValue {
        command: String,
        flag: &'static str,
        usage: &'static str,
    },
    UnexpectedFlagValue {
        command: String,
        flag: &'static str,
    },
    BadFlagValue {
        command: String,
        flag: &'static str,
        value: String,
        /// The accepted values; empty for a number.
        allowed: Vec<&'static str>,
    },
    MissingArgument {
        command: String,
        /// `Path`, `-Confirm`, or `one of -CloudFile, -HostPath, -Raw`.
        missing: String,
        usage: &'static str,
    },
    /// More positional arguments than the command takes (the API's 40012 "Max args is N").
    TooManyArguments {
        command: String,
        max: usize,
        given: usize,
        /// The first word past the limit.
        extra: String,
        /// The line with the trailing arguments joined in quotes (`cd "C:\Program Files"`),
        /// when that is a plausible reading.
        quoted: Option<String>,
        usage: &'static str,
    },
    /// A positional argument of the wrong type (`kill abc`).
    BadArgument {
        command: String,
        name: &'static str,
        value: String,
        usage: &'static str,
    },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Empty => f.write_str("no command given: type `help` to list commands"),
            CatalogError::UnknownCommand { name, suggestion } => {
                write!(f, "unknown command `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, ": did you mean `{s}`?")?;
                }
                f.write_str(" (type `help` to list commands)")
            }
            CatalogError::NotOnPlatform {
                command,
                platform,
                platforms,
            } => {
                let names: Vec<&str> = platforms.iter().map(|p| p.api_name()).collect();
                write!(
                    f,
                    "`{command}` is not available on {}: it runs on {} only",
                    platform.api_name(),
                    names.join(", ")
                )
            }
            CatalogError::MissingSubcommand { command, valid } => write!(
                f,
                "`{command}` needs a subcommand: one of {} (try `help {command}`)",
                valid.join(", ")
            ),
            CatalogError::UnknownSubcommand {
                command,
                given,
                suggestion,
                valid,
            } => {
                write!(f, "unknown subcommand `{command} {given}`")?;
                if let Some(s) = suggestion {
                    write!(f, ": did you mean `{command} {s}`?")?;
                }
                write!(f, " (valid: {})", valid.join(", "))
            }
            CatalogError::UnknownFlag {
                command,
                flag,
                suggestion,
                valid,
            } => {
                write!(f, "unknown flag `{flag}` for `{command}`")?;
                if let Some(s) = suggestion {
                    write!(f, ": did you mean `{s}`? (flags are case-sensitive)")?;
                } else if valid.is_empty() {
                    write!(f, ": `{command}` takes no flags here")?;
                } else {
                    write!(f, " (valid: {})", valid.join(" "))?;
                }
                Ok(())
            }
            CatalogError::MissingFlagValue {
                command,
                flag,
                usage,
            } => write!(
                f,
                "flag `{flag}` of `{command}` needs a value: `{flag}=<value>` (usage: {usage})"
            ),
            CatalogError::UnexpectedFlagValue { command, flag } => write!(
                f,
                "flag `{flag}` of `{command}` takes no value: write just `{flag}`"
            ),
            CatalogError::BadFlagValue {
                command,
                flag,
                value,
                allowed,
            } => {
                if let [range] = allowed.as_slice() {
                    write!(
                        f,
                        "bad value `{value}` for `{flag}` of `{command}`: expected a whole number {range}"
                    )
                } else if allowed.is_empty() {
                    write!(
                        f,
                        "bad value `{value}` for `{flag}` of `{command}`: expected a whole number"
                    )
                } else {
                    write!(
                        f,
                        "bad value `{value}` for `{flag}` of `{command}`: use one of {}",
                        allowed.join(", ")
                    )
                }
            }
            CatalogError::MissingArgument {
                command,
                missing,
                usage,
            } => write!(f, "`{command}` is missing {missing} (usage: {usage})"),
            CatalogError::TooManyArguments {
                command,
                max,
                given,
                extra,
                quoted,
                usage,
            } => {
                match max {
                    0 => write!(f, "`{command}` takes no arguments (`{extra}` given)")?,
                    1 => write!(f, "`{command}` takes 1 argument, {given} given")?,
                    n => write!(f, "`{command}` takes at most {n} arguments, {given} given")?,
                }
                match quoted {
                    Some(q) => write!(f, ": quote a path with spaces: {q}"),
                    None if *max == 0 => write!(f, ": write just `{command}`"),
                    None => write!(f, " (usage: {usage})"),
                }
            }
            CatalogError::BadArgument {
                command,
                name,
                value,
                usage,
            } => write!(
                f,
                "bad <{name}> `{value}` for `{command}`: expected a whole number (usage: {usage})"
            ),
        }
    }
}

impl CatalogError {
    /// Whether the API itself refuses such a line (the emulator's model): an unknown command,
    /// too many arguments, a process id or flag value of the wrong type. rtrsh refuses the other
    /// errors locally too (a missing `-Confirm`, a misspelt flag), but what the API answers to
    /// them is undocumented: the emulator lets the host answer.
    pub fn refused_by_api(&self) -> bool {
        matches!(
            self,
            CatalogError::Empty
                | CatalogError::UnknownCommand { .. }
                | CatalogError::NotOnPlatform { .. }
                | CatalogError::TooManyArguments { .. }
                | CatalogError::BadArgument { .. }
                | CatalogError::BadFlagValue { .. }
        )
    }

    /// What the API answers for a line this catalog refuses: 40007 "Command not found" for a
    /// command it does not know (or not on that platform), 40012 with "Max args is N. M were
    /// provided" for too many arguments (the real wording; docs/protocol.md, "Errors"), and 40012
    /// with this error's own text for every other malformed argument or flag (the real API's
    /// wording for those is not documented).
    pub fn api_rejection(&self) -> (u32, String) {
        match self {
            CatalogError::Empty
            | CatalogError::UnknownCommand { .. }
            | CatalogError::NotOnPlatform { .. } => (40007, "Command not found".into()),
            CatalogError::TooManyArguments { max, given, .. } => {
                (40012, format!("Max args is {max}. {given} were provided"))
            }
            other => (40012, other.to_string()),
        }
    }
}

impl std::error::Error for CatalogError {}

// ---------------------------------------------------------------------------------------------
// Table-building helpers (const, so the whole catalog is a static).

const ALL: &[Platform] = &[Platform::Windows, Platform::Linux, Platform::Mac];
const WIN: &[Platform] = &[Platform::Windows];
const NIX: &[Platform] = &[Platform::Linux, Platform::Mac];
const MAC: &[Platform] = &[Platform::Mac];

const RO: Tier = Tier::ReadOnly;
const AR: Tier = Tier::ActiveResponder;
const ADMIN: Tier = Tier::Admin;

const fn cmd(
    name: &'static str,
    tier: Tier,
    platforms: &'static [Platform],
    description: &'static str,
    usage: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        platforms,
        tier,
        description,
        usage,
        examples: &[],
        args: &[],
        flags: &[],
        subcommands: &[],
        one_of: &[],
        internal_only: false,
    }
}

/// Builder methods of the catalog's `const` tables: `fn name(field: T)` sets a field;
/// `set name => field = value` sets it to that value and takes no argument.
macro_rules! setters {
    ($ty:ty { $(fn $name:ident($field:ident: $arg:ty);)* $(set $flag:ident => $ffield:ident = $val:expr;)* }) => {
        impl $ty {
            $(
                const fn $name(mut self, $field: $arg) -> Self {
                    self.$field = $field;
                    self
                }
            )*
            $(
                const fn $flag(mut self) -> Self {
                    self.$ffield = $val;
                    self
                }
            )*
        }
    };
}

setters!(CommandSpec {
    fn args(args: &'static [ArgSpec]);
    fn flags(flags: &'static [FlagSpec]);
    fn subs(subcommands: &'static [CommandSpec]);
    fn examples(examples: &'static [&'static str]);
    fn one_of(one_of: &'static [&'static str]);
    set internal => internal_only = true;
});

/// A required positional argument.
const fn req(name: &'static str, description: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        required: true,
        description,
        default: "",
        options: &[],
        number: false,
    }
}

/// An optional positional argument.
const fn opt(name: &'static str, description: &'static str) -> ArgSpec {
    ArgSpec {
        required: false,
        ..req(name, description)
    }
}

setters!(ArgSpec {
    fn default(default: &'static str);
    fn options(options: &'static [&'static str]);
    set number => number = true;
});

/// A switch (`-Force`).
const fn switch(name: &'static str, description: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        value: FlagValue::None,
        required: false,
        tier: RO,
        platforms: &[],
        description,
    }
}

/// A flag taking text (`-CloudFile=<name>`).
const fn valued(name: &'static str, description: &'static str) -> FlagSpec {
    FlagSpec {
        value: FlagValue::Text,
        ..switch(name, description)
    }
}

impl FlagSpec {
    const fn number(mut self, min: u64, max: u64) -> Self {
        self.value = FlagValue::Number { min, max };
        self
    }
    const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.value = FlagValue::OneOf(values);
        self
    }
}

setters!(FlagSpec {
    fn tier(tier: Tier);
    fn on(platforms: &'static [Platform]);
    set required => required = true;
});

const CONFIRM: FlagSpec = switch("-Confirm", "Confirm the operation (required)").required();
const COMMAND_LINE: FlagSpec = valued(
    "-CommandLine",
    "Arguments for the program, in ``` fences: -CommandLine=```/s /q```",
);
const WAIT: FlagSpec = switch(
    "-Wait",
    "Wait for the program to finish and show its output",
);
const TROUBLESHOOTING: FlagSpec = switch(
    "-Troubleshooting",
    "Show detailed errors when the operation fails",
);

/// The `runscript -Timeout` rtrsh accepts, in seconds: 1 to [`script_timeout::MAX_SECONDS`]
/// (see there for the evidence). 0 would stop the script before it starts.
pub const TIMEOUT_SECONDS: (u64, u64) = (1, script_timeout::MAX_SECONDS);

/// `from 1 to 3600`: the range of a number flag, as shown in errors.
fn range_text(min: u64, max: u64) -> &'static str {
    if (min, max) == TIMEOUT_SECONDS {
        "from 1 to 3600 (seconds)"
    } else {
        "in range"
    }
}

/// Registry value types accepted by `reg set -ValueType=`.
pub const REG_VALUE_TYPES: &[&str] = &[
    "REG_SZ",
    "REG_DWORD",
    "REG_QWORD",
    "REG_MULTI_SZ",
    "REG_BINARY",
];

static COMMANDS: &[CommandSpec] = &[
    // ----- read-only -------------------------------------------------------------------------
    cmd("cat", RO, ALL, "Read a file from disk and display it as ASCII or hex", "cat <path> [-ShowHex]")
        .args(&[req("Path", "File to read")])
        .flags(&[
            switch("-ShowHex", "Show the contents in hexadecimal instead of ASCII"),
            switch("-n", "Number the output lines").on(NIX),
            switch("-t", "Show tabs and non-printing characters").on(NIX),
        ])
        .examples(&[r"cat C:\Windows\win.ini", r"cat C:\Windows\notepad.exe -ShowHex", "cat /etc/hosts"]),
    cmd("cd", RO, ALL, "Change the current working directory", "cd <path>")
        .args(&[req("Path", "Relative or absolute directory")])
        .examples(&[r"cd C:\Users\Administrator", r#"cd "C:\Program Files""#, "cd /var/log"]),
    cmd("clear", RO, ALL, "Clear the screen", "clear"),
    cmd("env", RO, ALL, "Show environment variables (machine, user and process)", "env"),
    cmd("eventlog", RO, WIN, "Inspect Windows event logs", "eventlog list|view|export|backup ...")
        .subs(&[
            cmd("list", RO, WIN, "List the available event log sources", "eventlog list")
                .examples(&["eventlog list"]),
            cmd("view", RO, WIN, "View the most recent events of an event log", "eventlog view <Name> [Count] [SourceName]")
                .args(&[
                    req("Name", "Name of the event log, e.g. Application or System"),
                    opt("Count", "Number of entries to return (default 100, max 500)").default("100"),
                    opt("SourceName", "Name of the event source, e.g. WinLogon"),
                ])
                .examples(&["eventlog view Application", "eventlog view System 20 WinLogon"]),
            cmd("export", RO, WIN, "Export an event log to a CSV file on the host", "eventlog export <Name> <Filename>")
                .args(&[
                    req("Name", "Name of the event log, e.g. Application or System"),
                    req("Filename", "Target .csv file on the host"),
                ])
                .examples(&[r"eventlog export System C:\Windows\Temp\system.csv"]),
            cmd("backup", RO, WIN, "Back up an event log to an EVTX file on the host", "eventlog backup <Name> <Filename>")
                .args(&[
                    req("Name", "Name of the event log, e.g. Application or System"),
                    req("Filename", "Target .evtx file on the host"),
                ])
                .examples(&[r"eventlog backup System C:\Windows\Temp\system.evtx"]),
        ]),
    cmd("filehash", RO, ALL, "Compute the MD5, SHA1 and SHA256 hashes of a file", "filehash <path>")
        .args(&[req("Path", "File to hash")])
        .examples(&[r"filehash C:\Windows\System32\cmd.exe", "filehash /bin/ls"]),
    cmd("getsid", RO, WIN, "List local users and their security identifiers (SID)", "getsid")
        .examples(&["getsid"]),
    cmd("help", RO, ALL, "Show the commands, or the help of one command", "help [command] [subcommand]")
        .args(&[opt("Command", "Command to describe"), opt("Subcommand", "Subcommand to describe")])
        .examples(&["help", "help reg"]),
    cmd("history", RO, ALL, "Show the commands run in this session", "history"),
    cmd("ipconfig", RO, WIN, "Show the network configuration", "ipconfig"),
    cmd("ifconfig", RO, NIX, "Show the network interfaces", "ifconfig"),
    cmd("ls", RO, ALL, "List the contents of a directory", "ls [path]  (Linux/macOS: [-l] [-L] [-R] [-t])")
        .args(&[opt("Path", "Directory to list").default(".")])
        .flags(&[
            switch("-l", "Long listing with details").on(NIX),
            switch("-L", "Follow symbolic links").on(NIX),
            switch("-R", "List subdirectories recursively").on(NIX),
            switch("-t", "Sort by modification time").on(NIX),
        ])
        .examples(&["ls", r"ls C:\Windows", "ls -l /var/log"]),
    cmd("mount", RO, ALL, "List mounted filesystems, or mount one", "mount | mount -t=<fs> [-o=<options>] <source> <mountpoint>")
        .args(&[opt("Source", "Device or share to mount"), opt("MountPoint", "Where to mount it")])
        .flags(&[
            valued("-t", "Filesystem type").on(NIX),
            valued("-o", "Mount options").on(NIX),
        ])
        .examples(&["mount", r#"mount -t=nfs "10.0.0.2:/export" "/mnt/export""#]),
    cmd("netstat", RO, ALL, "Show network connections, or the routing table with -nr", "netstat [-nr]")
        .flags(&[switch("-nr", "Show the routing table")])
        .examples(&["netstat", "netstat -nr"]),
    cmd("ps", RO, ALL, "List running processes", "ps"),
    cmd("reg", RO, WIN, "Query and change the Windows registry", "reg query|set|delete|load|unload ...")
        .subs(&[
            cmd("query", RO, WIN, "Query a registry subkey or value", "reg query [Subkey] [Value]")
                .args(&[opt("Subkey", "Registry subkey, full path"), opt("Value", "Name of the value to query")])
                .examples(&["reg query", r"reg query HKLM\Software\Microsoft\Windows\CurrentVersion\Run"]),
            cmd("set", AR, WIN, "Create a subkey, or set a value", "reg set <Subkey> [Value -ValueType=<type> -Value=<data>]")
                .args(&[req("Subkey", "Registry subkey, full path"), opt("Value", "Name of the value to set")])
                .flags(&[
                    valued("-ValueType", "Type of the value").one_of(REG_VALUE_TYPES),
                    valued("-Value", "Data of the value"),
                ])
                .examples(&[r"reg set HKLM\Software\Test", r"reg set HKLM\Software\Test Name -ValueType=REG_SZ -Value=hello"]),
            cmd("delete", AR, WIN, "Delete a subkey or a value", "reg delete <Subkey> [Value]")
                .args(&[req("Subkey", "Registry subkey, full path"), opt("Value", "Name of the value to delete")])
                .examples(&[r"reg delete HKLM\Software\Test Name"]),
            cmd("load", AR, WIN, "Load a hive file under a subkey", "reg load <Filename> <Subkey> [-Troubleshooting]")
                .args(&[req("Filename", "Hive file on the host"), req("Subkey", "Subkey to load it under")])
                .flags(&[TROUBLESHOOTING])
                .examples(&[r"reg load C:\Users\bob\NTUSER.DAT HKLM\bob"]),
            cmd("unload", AR, WIN, "Unload a hive loaded with reg load", "reg unload <Subkey> [-Troubleshooting]")
                .args(&[req("Subkey", "Subkey the hive is loaded under")])
                .flags(&[TROUBLESHOOTING])
                .examples(&[r"reg unload HKLM\bob"]),
        ]),
    cmd("users", RO, ALL, "Show details of local users", "users [UserName]")
        .args(&[opt("UserName", "Partial or full user name to filter on")])
        .examples(&["users", "users Administrator"]),
    cmd("pwd", RO, ALL, "Show the current working directory", "pwd").internal(),
    // The reference lists `csrutil` without arguments, but `csrutil status` is how macOS spells
    // it and nothing says RTR refuses it: one optional word is let through.
    cmd("csrutil", RO, MAC, "Show the System Integrity Protection status", "csrutil [status]")
        .args(&[opt("Subcommand", "status (the default)").options(&["status"])]),
    // ----- active-responder ------------------------------------------------------------------
    cmd("cp", AR, ALL, "Copy a file or directory", "cp <source> <destination>")
        .args(&[req("Source", "File or directory to copy"), req("Destination", "Where to copy it")])
        .examples(&[r"cp C:\a.txt C:\Temp\a.txt"]),
    cmd("encrypt", AR, ALL, "Encrypt a file with AES-256", "encrypt <path> [key]")
        .args(&[req("Path", "File to encrypt"), opt("Key", "Base64 key (one is generated if omitted)")])
        .examples(&[r"encrypt C:\Temp\secret.txt"]),
    cmd("get", AR, ALL, "Upload a file from the host to the cloud (then download it with rtrsh)", "get <path>")
        .args(&[req("Path", "File to retrieve")])
        .examples(&[r"get C:\Windows\Temp\evil.exe", "get /var/log/auth.log"]),
    cmd("kill", AR, ALL, "Kill a process", "kill <pid>")
        .args(&[req("PID", "Process id").number()])
        .examples(&["kill 4242"]),
    cmd("map", AR, WIN, "Map an SMB share to a drive letter", r"map <drive> <\\server\share> <user> <password>")
        .args(&[
            req("DriveLetter", "Drive letter, e.g. X:"),
            req("NetworkShare", r"UNC path, e.g. \\server\share"),
            req("Username", "User for the share"),
            req("Password", "Password for the share"),
        ])
        .examples(&[r"map X: \\fileserver\ir svc_ir hunter2"]),
    cmd("memdump", AR, WIN, "Dump the memory of a process", "memdump <pid> [filename]")
        .args(&[req("PID", "Process id").number(), opt("Filename", "Dump file on the host")])
        .examples(&[r"memdump 4242 C:\Windows\Temp\4242.dmp"]),
    cmd("mkdir", AR, ALL, "Create a directory", "mkdir <path>")
        .args(&[req("Path", "Directory to create")])
        .examples(&[r"mkdir C:\Temp\ir"]),
    cmd("mv", AR, ALL, "Move or rename a file or directory", "mv <source> <destination>")
        .args(&[req("Source", "File or directory to move"), req("Destination", "New path")])
        .examples(&[r"mv C:\a.txt C:\Temp\a.txt"]),
    cmd("restart", AR, ALL, "Restart the host", "restart -Confirm")
        .flags(&[CONFIRM])
        .examples(&["restart -Confirm"]),
    cmd("rm", AR, ALL, "Delete a file or directory", "rm <path> [-Force]")
        .args(&[req("Path", "File or directory to delete")])
        .flags(&[switch("-Force", "Delete directories and their contents")])
        .examples(&[r"rm C:\Temp\evil.exe", r"rm C:\Temp\ir -Force"]),
    cmd("runscript", AR, ALL, "Run a script: from the cloud library (active-responder), a host path or raw text (admin)", "runscript -CloudFile=<name> | -HostPath=<path> | -Raw=```<script>``` [-CommandLine=```<args>```] [-Timeout=<seconds>]")
        .flags(&[
            valued("-CloudFile", "Name of a script in the cloud script library"),
            valued("-HostPath", "Path of a script on the host").tier(ADMIN),
            valued("-Raw", "Script text, in ``` fences").tier(ADMIN),
            COMMAND_LINE,
            valued("-Timeout", "Seconds the host lets the script run (sensor default 30; 1 to 3600; rtrsh adds one when none is given)")
                .number(TIMEOUT_SECONDS.0, TIMEOUT_SECONDS.1),
        ])
        .one_of(&["-CloudFile", "-HostPath", "-Raw"])
        .examples(&[
            r#"runscript -CloudFile="CollectLogs" -CommandLine=```-Days 7```"#,
            "runscript -Raw=```Get-Process | Select -First 5```",
            r#"runscript -HostPath="C:\Temp\triage.ps1" -Timeout=600"#,
        ]),
    cmd("shutdown", AR, ALL, "Shut the host down", "shutdown -Confirm")
        .flags(&[CONFIRM])
        .examples(&["shutdown -Confirm"]),
    cmd("unmap", AR, WIN, "Remove a drive mapped with map", "unmap <drive>")
        .args(&[req("DriveLetter", "Drive letter, e.g. X:")])
        .examples(&["unmap X:"]),
    cmd("update", AR, WIN, "Manage Windows updates", "update history|install|list|query ...")
        .subs(&[
            cmd("history", AR, WIN, "Show the update history", "update history").examples(&["update history"]),
            cmd("install", AR, WIN, "Install updates by KB number", r#"update install <KB> | update install "<KB> <KB>""#)
                .args(&[req("KB", "KB number(s), quoted when several")])
                .examples(&["update install KB4537572", r#"update install "KB4537572 KB4540673""#]),
            cmd("list", AR, WIN, "List available updates", "update list").examples(&["update list"]),
            cmd("query", AR, WIN, "Show details of updates by KB number", r#"update query <KB> | update query "<KB> <KB>""#)
                .args(&[req("KB", "KB number(s), quoted when several")])
                .examples(&["update query KB4537572"]),
        ]),
    cmd("xmemdump", AR, WIN, "Dump the complete or kernel memory of the host", "xmemdump complete|kerneldbg [destination]")
        .args(&[
            req("Mode", "complete or kerneldbg").options(&["complete", "kerneldbg"]),
            opt("Destination", "Dump file on the host"),
        ])
        .examples(&[r"xmemdump kerneldbg C:\Windows\Temp\kernel.dmp"]),
    cmd("zip", AR, ALL, "Compress a file or directory into a zip archive", "zip <source> <destination>")
        .args(&[req("Source", "File or directory to compress"), req("Destination", "Zip file to create")])
        .examples(&[r"zip C:\Temp\ir C:\Temp\ir.zip"]),
    cmd("tar", AR, NIX, "Create or update a tar archive", "tar -f=<file> -c|-u <source> [-a|-z|-j|-J]")
        .args(&[req("Source", "File or directory to archive")])
        .flags(&[
            valued("-f", "Archive file").required(),
            switch("-c", "Create a new archive"),
            switch("-u", "Add newer files to an existing archive"),
            switch("-a", "Choose compression from the archive suffix"),
            switch("-z", "Compress with gzip"),
            switch("-j", "Compress with bzip2"),
            switch("-J", "Compress with xz"),
        ])
        .one_of(&["-c", "-u"])
        .examples(&["tar -f=/tmp/logs.tar.gz -c /var/log -z"]),
    cmd("umount", AR, NIX, "Unmount a filesystem", "umount <filesystem> [-f]")
        .args(&[req("Filesystem", "Mount point or device")])
        .flags(&[switch("-f", "Force the unmount")])
        .examples(&["umount /mnt/export"]),
    // ----- admin -----------------------------------------------------------------------------
    cmd("put", ADMIN, ALL, "Copy a file from the cloud put-files library to the host", "put <name>")
        .args(&[req("Filename", "Name in the put-files library (case-sensitive)")])
        .examples(&["put tools.zip"]),
    cmd("run", ADMIN, ALL, "Run an executable on the host", "run <path> [-CommandLine=```<args>```] [-Wait]")
        .args(&[req("Executable", "Path of the executable")])
        .flags(&[COMMAND_LINE, WAIT])
        .examples(&[r#"run "C:\Windows\System32\ipconfig.exe" -CommandLine=```/all``` -Wait"#]),
    cmd("put-and-run", ADMIN, WIN, "Copy a put-file to the host and run it", "put-and-run <name> [-CommandLine=```<args>```] [-Wait]")
        .args(&[req("Filename", "Name in the put-files library (case-sensitive)")])
        .flags(&[COMMAND_LINE, WAIT])
        .examples(&[r#"put-and-run "collector.exe" -CommandLine=```--quick``` -Wait"#]),
    cmd("falconscript", ADMIN, ALL, "Run a script from the Falcon scripts library", "falconscript -Name=```<name>``` [-JsonInput=```<json>```]")
        .flags(&[
            valued("-Name", "Name of the Falcon script").required(),
            valued("-JsonInput", "Input of the script as JSON, in ``` fences"),
        ])
        .examples(&["falconscript -Name=```FileInfo``` -JsonInput=```'{\"Path\":\"C:\\\\Temp\"}'```"]),
    cmd("cswindiag", ADMIN, WIN, "Collect Falcon sensor diagnostics", "cswindiag")
        .examples(&["cswindiag"]),
];

// ---------------------------------------------------------------------------------------------
// Look-ups.

/// Every command, in catalog order (read-only, then active-responder, then admin).
pub fn commands() -> &'static [CommandSpec] {
    COMMANDS
}

/// The command named exactly `name` (RTR command names are lowercase).
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The commands available on `platform`, in catalog order.
pub fn commands_for(platform: Platform) -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(move |c| c.available_on(platform))
}

impl CommandSpec {
    pub fn available_on(&self, platform: Platform) -> bool {
        self.platforms.contains(&platform)
    }

    /// The subcommand named exactly `name`.
    pub fn subcommand(&self, name: &str) -> Option<&'static CommandSpec> {
        self.subcommands.iter().find(|s| s.name == name)
    }

    /// The flag named exactly `name` (with its dash; case-sensitive).
    pub fn flag(&self, name: &str) -> Option<&FlagSpec> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// The flags usable on `platform` (all of them when `None`).
    pub fn flags_on(&self, platform: Option<Platform>) -> impl Iterator<Item = &FlagSpec> {
        self.flags.iter().filter(move |f| match platform {
            Some(p) => f.available_on(p),
            None => true,
        })
    }

    /// The highest tier any form of this command can need.
    pub fn max_tier(&self) -> Tier {
        let own = self.flags.iter().map(|f| f.tier).fold(self.tier, Ord::max);
        self.subcommands
            .iter()
            .map(CommandSpec::max_tier)
            .fold(own, Ord::max)
    }

    /// Multi-line help for `help CMD`: description, usage, subcommands, arguments, flags and
    /// examples (flags and subcommands limited to `platform` when given).
    pub fn help_text(&self, platform: Option<Platform>) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{} - {}", self.name, self.description);
        let _ = writeln!(s, "usage: {}", self.usage);
        let mut platforms: Vec<&str> = self.platforms.iter().map(|p| p.api_name()).collect();
        platforms.sort_unstable();
        let _ = writeln!(
            s,
            "tier: {}{}; platforms: {}",
            self.tier,
            if self.max_tier() > self.tier {
                format!(" (up to {} depending on arguments)", self.max_tier())
            } else {
                String::new()
            },
            platforms.join(", ")
        );
        if !self.subcommands.is_empty() {
            let rows: Vec<(String, String)> = self
                .subcommands
                .iter()
                .map(|sub| {
                    (
                        sub.usage.to_string(),
                        format!("{} [{}]", sub.description, sub.tier),
                    )
                })
                .collect();
            write_section(&mut s, "subcommands", &rows);
        }
        if !self.args.is_empty() {
            let rows: Vec<(String, String)> = self
                .args
                .iter()
                .map(|a| {
                    let opt = if a.required { "" } else { " (optional)" };
                    (a.name.to_string(), format!("{}{opt}", a.description))
                })
                .collect();
            write_section(&mut s, "arguments", &rows);
        }
        let rows: Vec<(String, String)> = self
            .flags_on(platform)
            .map(|f| {
                let value = match f.value {
                    FlagValue::None => String::new(),
                    FlagValue::Text => "=<text>".to_string(),
                    FlagValue::Number { min, max } => format!("=<{min}..{max}>"),
                    FlagValue::OneOf(v) => format!("={}", v.join("|")),
                };
                let tier = if f.tier > self.tier {
                    format!(" [{}]", f.tier)
                } else {
                    String::new()
                };
                (
                    format!("{}{value}", f.name),
                    format!("{}{tier}", f.description),
                )
            })
            .collect();
        if !rows.is_empty() {
            write_section(&mut s, "flags", &rows);
        }
        if !self.examples.is_empty() {
            let _ = writeln!(s, "examples:");
            for e in self.examples {
                let _ = writeln!(s, "  {e}");
            }
        }
        s
    }
}

/// A titled two-column section, the left column padded to its widest entry.
fn write_section(s: &mut String, title: &str, rows: &[(String, String)]) {
    use std::fmt::Write;
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(s, "{title}:");
    for (left, right) in rows {
        let _ = writeln!(s, "  {left:<width$}  {right}");
    }
}

impl FlagSpec {
    pub fn available_on(&self, platform: Platform) -> bool {
        self.platforms.is_empty() || self.platforms.contains(&platform)
    }

    pub fn takes_value(&self) -> bool {
        self.value != FlagValue::None
    }
}

// ---------------------------------------------------------------------------------------------
// Tiers and validation.

/// The lowest tier whose endpoints accept this command line, from its words
/// (`["reg", "query", ...]` → read-only, `["reg", "set", ...]` → active-responder).
/// `None` when the command is unknown.
///
/// Lenient: a line that [`validate`] would reject still gets the tier it would need (an
/// unknown subcommand gets the highest tier of its parent's subcommands). For a valid line it
/// equals `validate(words, None)`.
pub fn required_tier(words: &[String]) -> Option<Tier> {
    let spec = lookup(words.first()?)?;
    let mut rest = &words[1..];
    let leaf = if spec.subcommands.is_empty() {
        spec
    } else {
        let found = rest.first().and_then(|w| {
            spec.subcommand(w).or_else(|| {
                spec.subcommands
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(w))
            })
        });
        match found {
            Some(sub) => {
                rest = &rest[1..];
                sub
            }
            None => return Some(spec.max_tier()),
        }
    };
    let tier = rest
        .iter()
        .filter(|w| is_flag_word(w))
        .filter_map(|w| {
            let (name, _) = split_flag(w);
            leaf.flag(name).or_else(|| {
                leaf.flags
                    .iter()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
            })
        })
        .map(|f| f.tier)
        .fold(leaf.tier, Ord::max);
    Some(tier)
}

/// Checks a command line (its words, as [`super::lexer::words`] gives them) against the
/// catalog, and returns the lowest tier that runs it. With `platform`, commands and flags of
/// other platforms are rejected too.
pub fn validate(words: &[String], platform: Option<Platform>) -> Result<Tier, CatalogError> {
    let Some(name) = words.first() else {
        return Err(CatalogError::Empty);
    };
    let Some(spec) = lookup(name) else {
        let candidates = COMMANDS.iter().filter(|c| match platform {
            Some(p) => c.available_on(p),
            None => true,
        });
        return Err(CatalogError::UnknownCommand {
            name: name.clone(),
            suggestion: closest(name, candidates.map(|c| c.name)),
        });
    };
    if let Some(p) = platform
        && !spec.available_on(p)
    {
        return Err(CatalogError::NotOnPlatform {
            command: spec.name,
            platform: p,
            platforms: spec.platforms,
        });
    }
    let mut rest = &words[1..];
    let mut leaf = spec;
    let mut display = spec.name.to_string();
    if !spec.subcommands.is_empty() {
        let valid: Vec<&'static str> = spec.subcommands.iter().map(|s| s.name).collect();
        let Some(given) = rest.first() else {
            return Err(CatalogError::MissingSubcommand {
                command: spec.name,
                valid,
            });
        };
        let Some(sub) = spec.subcommand(given) else {
            return Err(CatalogError::UnknownSubcommand {
                command: spec.name,
                given: given.clone(),
                suggestion: closest(given, valid.iter().copied()),
                valid,
            });
        };
        leaf = sub;
        rest = &rest[1..];
        display = format!("{} {}", spec.name, sub.name);
    }

    let mut tier = leaf.tier;
    let mut seen: Vec<&'static str> = Vec::new();
    let mut positional = 0usize;
    for word in rest {
        if !is_flag_word(word) {
            positional += 1;
            continue;
        }
        let (flag_name, value) = split_flag(word);
        let Some(flag) = leaf
            .flags
            .iter()
            .find(|f| f.name == flag_name && platform.is_none_or(|p| f.available_on(p)))
        else {
            if let Some(letters) = combined_switches(leaf, platform, word) {
                seen.extend(letters.iter().map(|f| f.name));
                tier = letters.iter().map(|f| f.tier).fold(tier, Ord::max);
                continue;
            }
            let valid: Vec<&'static str> = leaf.flags_on(platform).map(|f| f.name).collect();
            return Err(CatalogError::UnknownFlag {
                command: display,
                flag: flag_name.to_string(),
                suggestion: closest(flag_name, valid.iter().copied()),
                valid,
            });
        };
        check_value(&display, leaf, flag, value)?;
        tier = tier.max(flag.tier);
        seen.push(flag.name);
    }

    let args: Vec<&String> = rest.iter().filter(|w| !is_flag_word(w)).collect();
    if args.len() > leaf.args.len() {
        return Err(too_many(&display, leaf, rest));
    }
    for (spec, value) in leaf.args.iter().zip(&args) {
        if spec.number && (value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit())) {
            return Err(CatalogError::BadArgument {
                command: display,
                name: spec.name,
                value: value.to_string(),
                usage: leaf.usage,
            });
        }
    }
    if let Some(missing) = leaf.args.iter().filter(|a| a.required).nth(positional) {
        return Err(CatalogError::MissingArgument {
            command: display,
            missing: format!("argument <{}>", missing.name),
            usage: leaf.usage,
        });
    }
    if let Some(flag) = leaf
        .flags_on(platform)
        .find(|f| f.required && !seen.contains(&f.name))
    {
        return Err(CatalogError::MissingArgument {
            command: display,
            missing: format!("flag {}", flag.name),
            usage: leaf.usage,
        });
    }
    if !leaf.one_of.is_empty() && !leaf.one_of.iter().any(|f| seen.contains(f)) {
        return Err(CatalogError::MissingArgument {
            command: display,
            missing: format!("one of {}", leaf.one_of.join(", ")),
            usage: leaf.usage,
        });
    }
    Ok(tier)
}

/// The error for a line with more positional arguments than `leaf` takes. `rest` are the words
/// after the command (and subcommand). When the command takes arguments and
/// none of the words holds a quote, the extra words are offered joined to the last argument in
/// quotes: the usual cause is an unquoted path with spaces.
fn too_many(display: &str, leaf: &CommandSpec, rest: &[String]) -> CatalogError {
    let max = leaf.args.len();
    let positions: Vec<usize> = (0..rest.len())
        .filter(|&i| !is_flag_word(&rest[i]))
        .collect();
    let extra = positions
        .get(max)
        .map(|&i| rest[i].clone())
        .unwrap_or_default();
    let quoted = (max > 0 && !rest.iter().any(|w| w.contains('"') || w.is_empty())).then(|| {
        let first = positions[max - 1];
        let last = positions[positions.len() - 1];
        let mut out: Vec<String> = vec![display.to_string()];
        out.extend(rest[..first].iter().cloned());
        out.push(format!("\"{}\"", rest[first..=last].join(" ")));
        out.extend(rest[last + 1..].iter().cloned());
        out.join(" ")
    });
    CatalogError::TooManyArguments {
        command: display.to_string(),
        max,
        given: positions.len(),
        extra,
        quoted,
        usage: leaf.usage,
    }
}

/// A word is a flag when it starts with `-` followed by a letter (so `-5` is a positional).
fn is_flag_word(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next() == Some('-') && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// `-lR` as `-l -R`: every letter a value-less single-letter flag of `leaf`.
fn combined_switches(
    leaf: &'static CommandSpec,
    platform: Option<Platform>,
    word: &str,
) -> Option<Vec<&'static FlagSpec>> {
    let letters = word.strip_prefix('-')?;
    if letters.chars().count() < 2 || word.contains('=') {
        return None;
    }
    letters
        .chars()
        .map(|c| {
            leaf.flags.iter().find(|f| {
                f.value == FlagValue::None
                    && f.name.len() == 2
                    && f.name[1..].chars().eq(std::iter::once(c))
                    && platform.is_none_or(|p| f.available_on(p))
            })
        })
        .collect()
}

fn check_value(
    command: &str,
    leaf: &'static CommandSpec,
    flag: &'static FlagSpec,
    value: Option<&str>,
) -> Result<(), CatalogError> {
    match (flag.value, value) {
        (FlagValue::None, None) => Ok(()),
        (FlagValue::None, Some(_)) => Err(CatalogError::UnexpectedFlagValue {
            command: command.to_string(),
            flag: flag.name,
        }),
        (_, None) | (_, Some("")) => Err(CatalogError::MissingFlagValue {
            command: command.to_string(),
            flag: flag.name,
            usage: leaf.usage,
        }),
        (FlagValue::Text, Some(_)) => Ok(()),
        (FlagValue::Number { min, max }, Some(v)) => {
            let in_range = v.bytes().all(|b| b.is_ascii_digit())
                && v.parse::<u64>().is_ok_and(|n| (min..=max).contains(&n));
            if in_range {
                Ok(())
            } else {
                Err(CatalogError::BadFlagValue {
                    command: command.to_string(),
                    flag: flag.name,
                    value: v.to_string(),
                    allowed: vec![range_text(min, max)],
                })
            }
        }
        (FlagValue::OneOf(allowed), Some(v)) => {
            if allowed.contains(&v) {
                Ok(())
            } else {
                Err(CatalogError::BadFlagValue {
                    command: command.to_string(),
                    flag: flag.name,
                    value: v.to_string(),
                    allowed: allowed.to_vec(),
                })
            }
        }
    }
}

/// The candidate closest to `given`: an exact case-insensitive match first, else the smallest
/// edit distance (case-insensitive, a transposition counts as one edit) within about a third of
/// the name's length (at least 1, at most 3).
fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    if let Some(c) = candidates.clone().find(|c| c.eq_ignore_ascii_case(given)) {
        return Some(c);
    }
    let given_lower = given.to_lowercase();
    let budget = given.chars().count().div_ceil(3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(&given_lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance over chars (insertions, deletions, substitutions and adjacent transpositions:
/// the optimal-string-alignment variant), with the inputs capped so hostile lengths stay cheap.
fn edit_distance(a: &str, b: &str) -> usize {
    const CAP: usize = 64;
    let a: Vec<char> = a.chars().take(CAP).collect();
    let b: Vec<char> = b.chars().take(CAP).collect();
    // Rows i-2, i-1 and i of the distance matrix.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 0..a.len() {
        cur[0] = i + 1;
        for j in 0..b.len() {
            let cost = usize::from(a[i] != b[j]);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// The `scripts` catalogue of session init.

/// `created_at` / `updated_at` of every published argument (the catalogue is static).
const CATALOG_DATE: &str = "2020-09-22T00:53:14Z";

/// The `scripts` help catalogue that session init returns for a platform
/// (an array of `domain.ScriptHelp`), covering every tier.
pub fn script_help(platform: Platform) -> serde_json::Value {
    script_help_for_tier(platform, Tier::Admin)
}

/// The `scripts` catalogue limited to what an API client of tier `max` may run (real replies
/// list only the commands the caller's role allows; `reg` of a read-only caller shows `query`).
pub fn script_help_for_tier(platform: Platform, max: Tier) -> serde_json::Value {
    let mut out = Vec::new();
    for (index, spec) in COMMANDS.iter().enumerate() {
        if !spec.available_on(platform) || spec.tier > max {
            continue;
        }
        let script_id = 100 * (index as u64 + 1);
        out.push(help_entry(spec, platform, max, script_id));
    }
    serde_json::Value::Array(out)
}

fn help_entry(
    spec: &CommandSpec,
    platform: Platform,
    max: Tier,
    script_id: u64,
) -> serde_json::Value {
    let level = if spec.tier == Tier::ReadOnly {
        "non-destructive"
    } else {
        "destructive"
    };
    let mut args = Vec::new();
    let mut sequence = 0u64;
    let mut push = |name: &str,
                    arg_type: &str,
                    required: bool,
                    requires_value: bool,
                    default: &str,
                    options: Vec<&str>,
                    description: &str| {
        sequence += 1;
        args.push(serde_json::json!({
            "id": script_id * 100 + sequence,
            "script_id": script_id,
            "created_at": CATALOG_DATE,
            "updated_at": CATALOG_DATE,
            "arg_name": name,
            "arg_type": arg_type,
            "data_type": "string",
            "required": required,
            "requires_value": requires_value,
            "default_value": default,
            "options": options,
            "sequence": sequence,
            "command_level": level,
            "description": description,
            "encoding": "",
        }));
    };
    for a in spec.args {
        push(
            a.name,
            "arg",
            a.required,
            false,
            a.default,
            a.options.to_vec(),
            a.description,
        );
    }
    for f in spec
        .flags
        .iter()
        .filter(|f| f.available_on(platform) && f.tier <= max)
    {
        let options = match f.value {
            FlagValue::OneOf(v) => v.to_vec(),
            _ => Vec::new(),
        };
        push(
            f.name.trim_start_matches('-'),
            "flag",
            f.required,
            f.takes_value(),
            "",
            options,
            f.description,
        );
    }
    let subs: Vec<serde_json::Value> = spec
        .subcommands
        .iter()
        .enumerate()
        .filter(|(_, s)| s.tier <= max)
        .map(|(i, s)| help_entry(s, platform, max, script_id + i as u64 + 1))
        .collect();
    serde_json::json!({
        "command": spec.name,
        "description": spec.description,
        "examples": spec.examples.join("\r\n"),
        "internal_only": spec.internal_only,
        "runnable": spec.subcommands.is_empty(),
        "sub_commands": subs,
        "args": args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::words;

    fn w(line: &str) -> Vec<String> {
        words(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn check(line: &str, platform: Option<Platform>) -> Result<Tier, CatalogError> {
        validate(&w(line), platform)
    }

    #[test]
    fn tiers_of_representative_lines() {
        let cases: &[(&str, Tier)] = &[
            ("ls", RO),
            (r"ls C:\Windows", RO),
            ("ls -l /var/log", RO),
            ("ls -lR /var/log", RO),
            (r#"cd "C:\Program Files""#, RO),
            (r"cat C:\Windows\win.ini -ShowHex", RO),
            ("clear", RO),
            ("env", RO),
            ("eventlog list", RO),
            ("eventlog view System 20", RO),
            (r"eventlog export System C:\s.csv", RO),
            (r"eventlog backup System C:\s.evtx", RO),
            (r"filehash C:\Windows\System32\cmd.exe", RO),
            ("getsid", RO),
            ("help", RO),
            ("help reg", RO),
            ("history", RO),
            ("ipconfig", RO),
            ("ifconfig", RO),
            ("mount", RO),
            ("netstat -nr", RO),
            ("ps", RO),
            (
                r"reg query HKLM\Software\Microsoft\Windows\CurrentVersion\Run",
                RO,
            ),
            ("reg query", RO),
            ("users", RO),
            ("pwd", RO),
            ("csrutil", RO),
            (
                r"reg set HKLM\Software\Test Name -ValueType=REG_SZ -Value=x",
                AR,
            ),
            (r"reg delete HKLM\Software\Test", AR),
            (r"reg load C:\NTUSER.DAT HKLM\bob -Troubleshooting", AR),
            (r"reg unload HKLM\bob", AR),
            (r"get C:\x", AR),
            (r"cp C:\a C:\b", AR),
            (r"mv C:\a C:\b", AR),
            (r"encrypt C:\a", AR),
            ("kill 4242", AR),
            (r"map X: \\srv\share bob pw", AR),
            ("memdump 4242", AR),
            (r"mkdir C:\ir", AR),
            ("restart -Confirm", AR),
            ("shutdown -Confirm", AR),
            (r"rm C:\x -Force", AR),
            (r#"runscript -CloudFile="x""#, AR),
            (
                "runscript -CloudFile=x -CommandLine=```-a b``` -Timeout=30",
                AR,
            ),
            ("unmap X:", AR),
            ("update list", AR),
            ("update history", AR),
            (r#"update install "KB1 KB2""#, AR),
            ("update query KB1", AR),
            ("xmemdump kerneldbg", AR),
            (r"zip C:\ir C:\ir.zip", AR),
            ("tar -f=/tmp/x.tgz -c /var/log -z", AR),
            ("umount /mnt -f", AR),
            ("runscript -Raw=```x```", ADMIN),
            (
                "runscript -Raw=```Get-Process | Select -First 5``` -Timeout=9",
                ADMIN,
            ),
            (r#"runscript -HostPath="C:\t.ps1""#, ADMIN),
            ("runscript -CloudFile=x -Raw=```y```", ADMIN),
            ("put x", ADMIN),
            (r#"run "C:\x.exe" -CommandLine=```/all``` -Wait"#, ADMIN),
            ("put-and-run x.exe -Wait", ADMIN),
            (
                "falconscript -Name=```FileInfo``` -JsonInput=```'{}'```",
                ADMIN,
            ),
            ("cswindiag", ADMIN),
        ];
        assert!(cases.len() >= 40);
        for (line, want) in cases {
            assert_eq!(check(line, None), Ok(*want), "{line}");
            assert_eq!(required_tier(&w(line)), Some(*want), "required_tier {line}");
        }
    }

    #[test]
    fn required_tier_is_lenient() {
        assert_eq!(required_tier(&[]), None);
        assert_eq!(required_tier(&w("frobnicate")), None);
        assert_eq!(
            required_tier(&w("reg")),
            Some(AR),
            "any reg form may need AR"
        );
        assert_eq!(required_tier(&w("reg bogus")), Some(AR));
        assert_eq!(required_tier(&w("reg QUERY x")), Some(RO));
        assert_eq!(required_tier(&w("runscript -raw=x")), Some(ADMIN));
        assert_eq!(required_tier(&w("rm")), Some(AR), "missing argument");
        assert_eq!(required_tier(&w("eventlog")), Some(RO));
    }

    #[test]
    fn unknown_command_suggests_the_closest() {
        let e = check("lss", None).expect_err("unknown");
        assert_eq!(
            e,
            CatalogError::UnknownCommand {
                name: "lss".into(),
                suggestion: Some("ls")
            }
        );
        assert!(e.to_string().contains("did you mean `ls`"));
        assert!(matches!(
            check("LS", None),
            Err(CatalogError::UnknownCommand {
                suggestion: Some("ls"),
                ..
            })
        ));
        assert!(matches!(
            check("runscrpit -Raw=x", None),
            Err(CatalogError::UnknownCommand {
                suggestion: Some("runscript"),
                ..
            })
        ));
        assert!(matches!(
            check("xyzzyplugh", None),
            Err(CatalogError::UnknownCommand {
                suggestion: None,
                ..
            })
        ));
        assert_eq!(validate(&[], None), Err(CatalogError::Empty));
    }

    #[test]
    fn platform_rules() {
        let e = check(r"reg query HKLM", Some(Platform::Linux)).expect_err("no reg on Linux");
        assert!(matches!(
            e,
            CatalogError::NotOnPlatform { command: "reg", .. }
        ));
        assert!(e.to_string().contains("Windows"), "{e}");
        assert!(check("ifconfig", Some(Platform::Windows)).is_err());
        assert!(check("ifconfig", Some(Platform::Mac)).is_ok());
        assert!(check("csrutil", Some(Platform::Linux)).is_err());
        // Linux-only ls flags are unknown on Windows, with the reason spelled out.
        let e = check("ls -l", Some(Platform::Windows)).expect_err("no -l on Windows");
        assert!(e.to_string().contains("takes no flags here"), "{e}");
        assert!(check("ls -l", Some(Platform::Linux)).is_ok());
        assert!(check("ls -l", None).is_ok());
        // Suggestions only name commands of the platform.
        assert!(matches!(
            check("ipconfg", Some(Platform::Windows)),
            Err(CatalogError::UnknownCommand {
                suggestion: Some("ipconfig"),
                ..
            })
        ));
    }

    #[test]
    fn subcommand_errors() {
        let e = check("reg", None).expect_err("needs a subcommand");
        assert!(matches!(
            e,
            CatalogError::MissingSubcommand { command: "reg", .. }
        ));
        assert!(
            e.to_string().contains("query, set, delete, load, unload"),
            "{e}"
        );
        let e = check("reg qurey x", None).expect_err("typo");
        assert!(matches!(
            e,
            CatalogError::UnknownSubcommand {
                suggestion: Some("query"),
                ..
            }
        ));
        assert!(e.to_string().contains("did you mean `reg query`"), "{e}");
        assert!(check("eventlog tail", None).is_err());
        assert!(check("update", None).is_err());
    }

    #[test]
    fn flag_errors() {
        let e = check(r"rm C:\x -force", None).expect_err("case");
        assert_eq!(
            e,
            CatalogError::UnknownFlag {
                command: "rm".into(),
                flag: "-force".into(),
                suggestion: Some("-Force"),
                valid: vec!["-Force"],
            }
        );
        assert!(e.to_string().contains("did you mean `-Force`"), "{e}");
        let e = check(r"rm C:\x -Recurse", None).expect_err("unknown");
        assert!(e.to_string().contains("valid: -Force"), "{e}");
        let e = check("runscript -CloudFile", None).expect_err("no value");
        assert!(matches!(
            e,
            CatalogError::MissingFlagValue {
                flag: "-CloudFile",
                ..
            }
        ));
        assert!(e.to_string().contains("-CloudFile=<value>"), "{e}");
        assert!(matches!(
            check(r#"runscript -CloudFile="""#, None),
            Err(CatalogError::MissingFlagValue { .. })
        ));
        assert!(matches!(
            check(r"rm C:\x -Force=yes", None),
            Err(CatalogError::UnexpectedFlagValue { flag: "-Force", .. })
        ));
        let e =
            check(r"reg set HKLM\x N -ValueType=REG_STRING -Value=1", None).expect_err("bad value");
        assert!(matches!(
            &e,
            CatalogError::BadFlagValue { flag: "-ValueType", allowed, .. } if allowed.len() == 5
        ));
        assert!(e.to_string().contains("REG_SZ, REG_DWORD"), "{e}");
        assert!(check(r"reg set HKLM\x N -ValueType=reg_sz -Value=1", None).is_err());
        let e = check("runscript -CloudFile=x -Timeout=soon", None).expect_err("number");
        assert!(e.to_string().contains("whole number"), "{e}");
        assert!(matches!(
            check("ls -lX", Some(Platform::Linux)),
            Err(CatalogError::UnknownFlag { .. })
        ));
    }

    #[test]
    fn missing_arguments_show_usage() {
        let e = check("get", None).expect_err("path");
        assert_eq!(
            e,
            CatalogError::MissingArgument {
                command: "get".into(),
                missing: "argument <Path>".into(),
                usage: "get <path>",
            }
        );
        assert!(e.to_string().contains("usage: get <path>"), "{e}");
        assert!(check(r"cp C:\a", None).is_err());
        assert!(check("eventlog view", None).is_err());
        assert!(check("map X: share user", None).is_err());
        let e = check("restart", None).expect_err("-Confirm");
        assert!(e.to_string().contains("flag -Confirm"), "{e}");
        let e = check("runscript -Timeout=5", None).expect_err("source");
        assert!(
            e.to_string().contains("one of -CloudFile, -HostPath, -Raw"),
            "{e}"
        );
        assert!(check("falconscript", None).is_err());
        assert!(check("tar -f=x /src", None).is_err(), "-c or -u");
        assert!(check("tar -c /src", None).is_err(), "-f");
        // Flags do not count as positional arguments.
        assert!(check("rm -Force", None).is_err());
    }

    #[test]
    fn what_the_api_refuses_is_refused_here() {
        let e = check(r"cd C:\Program Files", None).expect_err("two args");
        assert_eq!(
            e.to_string(),
            r#"`cd` takes 1 argument, 2 given: quote a path with spaces: cd "C:\Program Files""#
        );
        assert_eq!(
            e.api_rejection(),
            (40012, "Max args is 1. 2 were provided".into())
        );
        let e = check("ps aux", Some(Platform::Linux)).expect_err("no args");
        assert_eq!(
            e.to_string(),
            "`ps` takes no arguments (`aux` given): write just `ps`"
        );
        let e = check(r"update install KB1 KB2", None).expect_err("quoted");
        assert!(
            e.to_string().ends_with(r#"update install "KB1 KB2""#),
            "{e}"
        );
        let e = check(r"rm C:\a b -Force", None).expect_err("quoted");
        assert!(e.to_string().ends_with(r#"rm "C:\a b" -Force"#), "{e}");
        let e = check("kill abc", None).expect_err("pid");
        assert_eq!(
            e.to_string(),
            "bad <PID> `abc` for `kill`: expected a whole number (usage: kill <pid>)"
        );
        assert!(e.refused_by_api());
        for bad in ["0", "3601", "9999", "99999999999999999999999"] {
            let line = format!("runscript -CloudFile=x -Timeout={bad}");
            let e = check(&line, None).expect_err(&line);
            assert!(e.to_string().contains("from 1 to 3600"), "{e}");
        }
        for good in ["1", "30", "600", "3595", "3600"] {
            let line = format!("runscript -CloudFile=x -Timeout={good}");
            assert_eq!(check(&line, None), Ok(AR), "{line}");
        }
        // Missing pieces are refused locally but left to the host by the emulator.
        assert!(
            !check("restart", None)
                .expect_err("confirm")
                .refused_by_api()
        );
        // A dash followed by a digit is an argument, not a flag.
        assert_eq!(check("eventlog view System -5", None), Ok(RO));
        assert!(check(r"get C:\x -- y", None).is_err());
        assert_eq!(check("help reg set", None), Ok(RO));
    }

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<&str> = commands().iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate command names");
        for required in [
            "cat",
            "cd",
            "clear",
            "env",
            "eventlog",
            "filehash",
            "getsid",
            "help",
            "history",
            "ipconfig",
            "ifconfig",
            "ls",
            "mount",
            "netstat",
            "ps",
            "reg",
            "users",
            "pwd",
            "csrutil",
            "cp",
            "encrypt",
            "get",
            "kill",
            "map",
            "memdump",
            "mkdir",
            "mv",
            "restart",
            "rm",
            "runscript",
            "shutdown",
            "unmap",
            "update",
            "xmemdump",
            "zip",
            "tar",
            "umount",
            "put",
            "run",
            "put-and-run",
            "falconscript",
            "cswindiag",
        ] {
            assert!(lookup(required).is_some(), "{required} missing");
        }
        for c in commands() {
            assert!(
                !c.description.is_empty() && !c.usage.is_empty(),
                "{}",
                c.name
            );
            assert!(c.usage.starts_with(c.name), "{}", c.name);
            assert!(!c.platforms.is_empty(), "{}", c.name);
            for sub in c.subcommands {
                assert!(sub.tier >= c.tier, "{} {}", c.name, sub.name);
                assert_eq!(sub.platforms, c.platforms, "{} {}", c.name, sub.name);
                assert!(sub.usage.starts_with(&format!("{} {}", c.name, sub.name)));
            }
            if !c.subcommands.is_empty() {
                let lowest = c.subcommands.iter().map(|s| s.tier).min();
                assert_eq!(lowest, Some(c.tier), "{}", c.name);
            }
            for leaf in std::iter::once(c).chain(c.subcommands) {
                for f in leaf.flags {
                    assert!(is_flag_word(f.name), "{}", f.name);
                    assert!(
                        f.tier == RO || f.tier > leaf.tier,
                        "{} raises nothing",
                        f.name
                    );
                }
                for f in leaf.one_of {
                    assert!(leaf.flag(f).is_some(), "{} one_of {f}", leaf.name);
                }
                let required: Vec<bool> = leaf.args.iter().map(|a| a.required).collect();
                assert!(
                    required.windows(2).all(|p| p[0] || !p[1]),
                    "{}: a required argument after an optional one",
                    leaf.name
                );
            }
        }
    }

    /// Every published example is a valid line, on each platform of its command, and the
    /// exact-platform check agrees with the catalog.
    #[test]
    fn examples_validate() {
        for c in commands() {
            for leaf in std::iter::once(c).chain(c.subcommands) {
                for example in leaf.examples {
                    let words = w(example);
                    assert_eq!(words[0], c.name, "{example}");
                    let tier = validate(&words, None).unwrap_or_else(|e| panic!("{example}: {e}"));
                    assert!(tier >= leaf.tier, "{example}");
                    for p in c.platforms {
                        // Linux-only flags in an example are fine when the example is Linux's.
                        if let Err(e) = validate(&words, Some(*p)) {
                            assert!(
                                matches!(e, CatalogError::UnknownFlag { .. }),
                                "{example} on {p:?}: {e}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn commands_for_filters_by_platform() {
        let linux: Vec<&str> = commands_for(Platform::Linux).map(|c| c.name).collect();
        assert!(!linux.contains(&"reg") && !linux.contains(&"ipconfig"));
        assert!(linux.contains(&"ifconfig") && linux.contains(&"tar"));
        let windows: Vec<&str> = commands_for(Platform::Windows).map(|c| c.name).collect();
        assert!(!windows.contains(&"ifconfig") && !windows.contains(&"csrutil"));
        assert!(windows.contains(&"reg") && windows.contains(&"put-and-run"));
        let mac: Vec<&str> = commands_for(Platform::Mac).map(|c| c.name).collect();
        assert!(mac.contains(&"csrutil") && !mac.contains(&"eventlog"));
    }

    #[test]
    fn help_text_mentions_everything() {
        let reg = lookup("reg").expect("reg");
        let text = reg.help_text(Some(Platform::Windows));
        assert!(text.contains("reg set <Subkey>"), "{text}");
        assert!(text.contains("up to active-responder"), "{text}");
        let rs = lookup("runscript").expect("runscript").help_text(None);
        assert!(rs.contains("-Raw=<text>") && rs.contains("[admin]"), "{rs}");
        let ls = lookup("ls").expect("ls");
        assert!(!ls.help_text(Some(Platform::Windows)).contains("flags:"));
        assert!(
            ls.help_text(Some(Platform::Linux))
                .contains("  -R  List subdirectories")
        );
    }

    fn spec_validator() -> jsonschema::Validator {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/falcon-rtr-openapi.json"
        );
        let text = std::fs::read_to_string(path).expect("spec file");
        let spec: serde_json::Value = serde_json::from_str(&text).expect("spec json");
        let defs = &spec["definitions"];
        let schema = serde_json::json!({
            "definitions": {
                "domain.ScriptHelp": defs["domain.ScriptHelp"],
                "model.Argument": defs["model.Argument"],
            },
            "type": "array",
            "items": { "$ref": "#/definitions/domain.ScriptHelp" },
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .expect("schema compiles")
    }

    #[test]
    fn script_help_validates_against_the_spec() {
        let validator = spec_validator();
        for p in Platform::ALL {
            for tier in Tier::ALL {
                let help = script_help_for_tier(p, tier);
                let errors: Vec<String> = validator
                    .iter_errors(&help)
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{p:?} {tier}: {errors:?}");
            }
        }
        // The validator really checks: a null `options` is rejected.
        let mut bad = script_help(Platform::Windows);
        bad[0]["args"][0]["options"] = serde_json::Value::Null;
        assert!(!validator.is_valid(&bad));
    }

    #[test]
    fn script_help_shape() {
        let help = script_help(Platform::Windows);
        let list = help.as_array().expect("array");
        let names: Vec<&str> = list.iter().filter_map(|s| s["command"].as_str()).collect();
        assert_eq!(names.len(), commands_for(Platform::Windows).count());
        assert!(!names.contains(&"ifconfig"));
        let rm = list.iter().find(|s| s["command"] == "rm").expect("rm");
        assert_eq!(rm["runnable"], true);
        assert_eq!(rm["args"][0]["arg_name"], "Path");
        assert_eq!(rm["args"][0]["arg_type"], "arg");
        assert_eq!(rm["args"][0]["required"], true);
        assert_eq!(rm["args"][1]["arg_name"], "Force");
        assert_eq!(rm["args"][1]["arg_type"], "flag");
        assert_eq!(rm["args"][1]["sequence"], 2);
        let reg = list.iter().find(|s| s["command"] == "reg").expect("reg");
        assert_eq!(reg["runnable"], false);
        let set = reg["sub_commands"]
            .as_array()
            .and_then(|s| s.iter().find(|c| c["command"] == "set"))
            .expect("reg set");
        let vt = set["args"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["arg_name"] == "ValueType"))
            .expect("ValueType");
        assert_eq!(vt["requires_value"], true);
        assert_eq!(vt["options"].as_array().map(Vec::len), Some(5));
        assert_eq!(vt["command_level"], "destructive");
        for key in [
            "command",
            "description",
            "examples",
            "internal_only",
            "runnable",
            "sub_commands",
            "args",
        ] {
            assert!(rm.get(key).is_some(), "{key}");
        }

        let linux = script_help(Platform::Linux);
        let linux_names: Vec<&str> = linux
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|s| s["command"].as_str())
            .collect();
        assert!(!linux_names.contains(&"reg") && linux_names.contains(&"ifconfig"));

        // A read-only caller sees `reg query` only, and no active-responder command.
        let ro = script_help_for_tier(Platform::Windows, RO);
        let ro = ro.as_array().expect("array");
        assert!(ro.iter().all(|s| s["command"] != "get"));
        let reg = ro.iter().find(|s| s["command"] == "reg").expect("reg");
        assert_eq!(reg["sub_commands"].as_array().map(Vec::len), Some(1));
        // runscript without -Raw/-HostPath for an active responder.
        let ar = script_help_for_tier(Platform::Windows, AR);
        let rs = ar
            .as_array()
            .and_then(|a| a.iter().find(|s| s["command"] == "runscript"))
            .expect("runscript");
        let flags: Vec<&str> = rs["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(|a| a["arg_name"].as_str())
            .collect();
        assert!(flags.contains(&"CloudFile") && !flags.contains(&"Raw"));
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("qurey", "query"), 1, "transposition");
        let long = "x".repeat(10_000);
        assert_eq!(edit_distance(&long, "x"), 63, "inputs are capped");
    }

    proptest::proptest! {
        #[test]
        fn validate_never_panics(line in "\\PC{0,40}") {
            if let Ok(words) = words(&line) {
                let _ = validate(&words, Some(Platform::Linux));
                let _ = required_tier(&words);
            }
        }

        #[test]
        fn validate_never_panics_on_commandish_input(
            cmd in proptest::sample::select(vec!["reg", "rm", "ls", "runscript", "tar", "eventlog", "netstat"]),
            rest in proptest::collection::vec("-?[a-zA-Z=]{0,8}", 0..5),
        ) {
            let mut words = vec![cmd.to_string()];
            words.extend(rest);
            for p in [None, Some(Platform::Windows), Some(Platform::Mac)] {
                if let Ok(tier) = validate(&words, p) {
                    proptest::prop_assert_eq!(required_tier(&words), Some(tier));
                }
            }
        }
    }
}
