//! rtrsh: a terminal shell for CrowdStrike Falcon Real Time Response.
//!
//! The flow of a typed line: `shell` → `rtrsh_command` (parse, pick the tier) →
//! `rtrsh_client::session` → `rtrsh_client` (HTTP) → the API or `rtrsh_emulator`. The crates
//! below this one (see the README's "Architecture"):
//! - `rtrsh-command`: RTR command lines without I/O (lexer, catalog, tiers) and shared digests.
//! - `rtrsh-client`: the typed Falcon API client, sessions, polling and fleets.
//! - `rtrsh-emulator` (feature `emulator`, on by default): the loopback Falcon API behind
//!   `rtrsh emulator` and `rtrsh demo`.
//!
//! This crate's modules, from the user's side down:
//! - [`cli`]: the command-line interface of the `rtrsh` binary (clap definitions, dispatch, the
//!   one async runtime, the one place errors are printed).
//! - [`config`]: the API URL, cloud and credentials, from flags, environment and profiles.
//! - [`credentials`]: API client secrets in the OS keyring.
//! - [`shell`]: the interactive prompt and scripts, local built-ins, fleets of hosts.
//! - [`parse`]: host output parsed into records, for `stack` and `diff`.
//! - [`output`]: where output goes: the sanitised terminal, `--json` records, the transcript.
//! - [`error`]: the process-wide error and exit codes.

pub mod cli;
pub mod config;
pub mod credentials;
pub mod error;
pub mod output;
pub mod parse;
pub mod shell;
