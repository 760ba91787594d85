//! The background pulse: keeps a session alive while the analyst thinks (the API expires idle
//! sessions after 5 to 10 minutes, depending on whom you ask; docs/protocol.md,
//! "Session lifetime").

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::session::host::HostSession;

/// What the pulse task reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PulseEvent {
    Ok,
    /// The session was already gone (e.g. the laptop slept); the next command re-opens it.
    Gone,
    Failed(String),
}

/// Pulses `session` every `every` until `cancel`; events go to `events` (dropped if nobody
/// listens).
pub fn spawn(
    session: HostSession,
    every: Duration,
    cancel: CancellationToken,
    events: mpsc::UnboundedSender<PulseEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let ev = match session.pulse().await {
                Ok(true) => PulseEvent::Ok,
                Ok(false) => PulseEvent::Gone,
                Err(e) => PulseEvent::Failed(e.to_string()),
            };
            let _ = events.send(ev);
        }
    })
}
