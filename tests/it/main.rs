//! Conformance tests of the Falcon API emulator: real HTTP against an in-process emulator, every
//! JSON reply validated against the 2023 and 2026 spec definitions (see `support`).
//!
//! One integration-test binary (one link step). No test waits for a missing part of the
//! emulator. The only `#[ignore]`d tests are slow ones, with the reason in the attribute: the
//! two rate-limited script tests of `shell_faults` wait out the emulator's real one-minute
//! sliding window (run them with `cargo test -- --ignored`).

mod support;

mod auth;
mod auth_profiles;
mod bad_input;
mod batch;
mod builtins_local;
mod cmd_fidelity;
mod cmd_verdicts;
mod commands;
mod complete_files;
mod complete_remote;
mod containment;
mod demo_pty;
mod devices;
mod faults;
mod files;
mod fleet_exit;
mod fleet_get;
mod fleet_harness;
mod fleet_memory;
mod fleet_recovery;
mod fleet_reopen;
mod fleet_rounds;
mod fleet_scale;
mod fleet_script;
mod fleet_summary;
mod get_library;
mod get_shell;
mod hardening;
mod host_names;
mod library;
mod offline;
mod one_shell;
mod pipes;
mod poll_pace;
mod proxy;
mod queue_cli;
mod queued;
mod ratelimit;
mod recovery;
mod saved_output;
mod schema_selftest;
mod sessions;
mod shell_faults;
mod shell_input;
mod shell_output;
mod shell_pty;
mod shell_script;
mod shell_sessions;
mod shell_term;
mod stack;
mod stdin_stream;
mod tls;
