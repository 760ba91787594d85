//! rtrsh: a terminal shell for CrowdStrike Falcon Real Time Response, and a loopback emulator of
//! the Falcon API that every test, benchmark and demo runs against.
//!
//! The flow of a typed line: `shell` → `command` (parse, pick the tier) → `session` → `falcon`
//! (HTTP) → the API or the `emulator`. The modules, from the user's side to the wire:
//! - [`cli`]: the command-line interface of the `rtrsh` binary (clap definitions and dispatch).
//! - [`config`]: the API URL, cloud and credentials, from flags, environment and profiles.
//! - [`credentials`]: API client secrets in the OS keyring.
//! - [`error`]: the process-wide error and exit codes, printed in one place.
//! - [`shell`]: the interactive prompt and scripts, local built-ins, fleets of hosts.
//! - [`command`]: pure parsing of RTR command lines and the command catalog (tiers, help).
//! - [`session`]: one host's session (execute-then-poll, pulse, re-open) and batch fleets.
//! - [`falcon`]: the typed HTTP client of the Falcon API (auth, retries, rate limits).
//! - [`parse`]: host output parsed into records, for `stack` and `diff`.
//! - [`output`]: where output goes: the sanitised terminal, `--json` records, the transcript.
//! - [`emulator`]: the loopback Falcon API (`rtrsh emulator`, `emulator::spawn`).
//! - [`rng`]: the deterministic generator behind the emulator's simulated world.
//! - [`digest`]: lowercase hex of digests, shared by the client, the audit trail and the emulator.

pub mod cli;
pub mod command;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod emulator;
pub mod error;
pub mod falcon;
pub mod output;
pub mod parse;
pub mod rng;
pub mod session;
pub mod shell;
