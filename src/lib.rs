//! rtrsh: a terminal shell for CrowdStrike Falcon Real Time Response, and a loopback emulator of
//! the Falcon API that every test, benchmark and demo runs against.
//!
//! The flow of a typed line: `shell` → `session` → `exec` → `falcon` (HTTP) → API or `emulator`.
//! Modules that exist today:
//! - [`command`]: pure parsing of RTR command lines and the command catalog (tiers, help).
//! - [`emulator`]: the loopback Falcon API (`rtrsh emulator`, `emulator::spawn`).
//! - [`cli`]: the command-line interface of the `rtrsh` binary.

pub mod cli;
pub mod command;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod emulator;
pub mod falcon;
pub mod output;
pub mod parse;
pub mod rng;
pub mod session;
pub mod shell;
