//! A loopback emulator of the Falcon REST API subset RTR clients use: OAuth2, devices, every
//! single-host and batch RTR endpoint, files, put-files and scripts, with the real semantics
//! (expiring tokens and sessions, tiers, offline queueing, `sequence_id` chunking, rate limits)
//! over a deterministic simulated world. Every rtrsh test, benchmark and demo runs against it.
//!
//! It depends on the command catalog (`rtrsh-command`) alone, never on the client or the shell,
//! so it cannot borrow their reading of the API. Start it with
//! `rtrsh emulator --listen 127.0.0.1:0`, or in-process:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use rtrsh_emulator::{self as emulator, EmulatorConfig};
//! let handle = emulator::spawn(EmulatorConfig { hosts: 3, ..Default::default() }).await?;
//! println!("{}", handle.base_url());
//! # Ok(()) }
//! ```
//!
//! Layout: `config` (the knobs), `server` (accept loop, gateway: auth, scopes, rate limits,
//! faults, headers), `handlers/` (one file per API area), `state` (tokens, sessions, commands,
//! files), `world/` (the simulated hosts), `content` (lazily generated bodies), `stats`
//! (counters for tests), `http` (envelopes and errors), `fql`, `archive` (7z).

pub mod archive;
pub mod config;
pub mod content;
pub mod fql;
pub mod handlers;
pub mod http;
pub mod rng;
pub mod server;
pub mod state;
pub mod stats;
pub mod world;

pub use config::{
    ChunkModel, ClientCredential, EmulatorConfig, HostnameMatch, InvalidUtf8, LogOrder,
    Misbehaviour, QueuedStatus, RetryAfterUnit,
};
pub use config::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
pub use server::{EmulatorHandle, spawn, start};
