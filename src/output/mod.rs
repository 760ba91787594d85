//! Sinks for what comes back from hosts: the terminal (sanitised, or raw with `--raw`), the
//! `--json` per-command records, and the local JSONL audit transcript.
//!
//! - [`sanitize`]: the hostile-output sanitiser every printer goes through (stream text, table
//!   cells, error messages).
//! - [`writer`]: [`OutputMode`] (`--raw`) and [`SanitizingWriter`], one per terminal stream.
//! - [`record`]: [`CommandRecord`], one JSON line per command for `--json` (exact bytes kept).
//! - [`transcript`]: [`Transcript`], the append-only JSONL audit log of a session (hashes, not
//!   output bodies; never a secret).
//! - [`layout`]: tables fitted to the terminal, sizes in binary units.
//! - [`style`]: colour for rtrsh's own terminal output (`--color`, `NO_COLOR`), decided once
//!   per stream.
//! - `json`: terminal-safe JSON lines, for the records and for the shell's other `--json` lines.

pub(crate) mod json;
pub mod layout;
pub mod private;
pub mod record;
pub mod sanitize;
pub mod saved;
pub mod style;
pub mod transcript;
pub mod writer;

pub use record::{CommandRecord, CommandStatus, ExitInfo};
pub use sanitize::{Sanitizer, sanitize_bytes, sanitize_line, truncate_for_display};
pub use transcript::{Operator, SessionInfo, Transcript, TranscriptOptions};
pub use writer::{OutputMode, SanitizingWriter, terminal_writers};
