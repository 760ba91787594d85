//! A session on one host: the execute-then-poll loop with chunked output (`poll`), the session
//! itself with its working directory and transparent re-open (`host`), and the background pulse
//! that keeps it alive (`pulse`).

pub mod fleet;
pub mod host;
pub mod names;
pub mod poll;
pub mod pulse;

pub use host::{HostSession, Notice, Outcome, SessionOptions, Target, classify};
pub use poll::{Collect, Completion, OutputSink, PollLimits, Schedule};
