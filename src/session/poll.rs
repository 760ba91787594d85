//! Execute-then-poll for one command on one host, with the chunk loop of reference §8.4.
//!
//! The `sequence_id` protocol is undocumented, so the loop is correct under all three plausible
//! models (`next`, `echo`, `splunk`; see `emulator::ChunkModel`): every chunk is delivered to the
//! sink the moment it arrives, exactly once, in order; the loop never re-fetches a delivered
//! index and never spins.
//!
//! Polling is scheduled on absolute times after the execute: the first check at 50 ms, then
//! every 30 ms until 350 ms (a typical command finishes in a few hundred ms and its output shows
//! within ~30 ms), then intervals growing by 25% up to 2 s. A 300 ms command costs 10 status
//! calls; a 10 s command 30.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::command::Tier;
use crate::falcon::rtr::Status;
use crate::falcon::{FalconClient, FalconError};

/// Receives output as it arrives.
pub trait OutputSink {
    fn stdout(&mut self, chunk: &str);
    fn stderr(&mut self, chunk: &str);
}

/// A sink that keeps everything (tests, `--json`).
#[derive(Debug, Default)]
pub struct Collect {
    pub stdout: String,
    pub stderr: String,
}

impl OutputSink for Collect {
    fn stdout(&mut self, chunk: &str) {
        self.stdout.push_str(chunk);
    }

    fn stderr(&mut self, chunk: &str) {
        self.stderr.push_str(chunk);
    }
}

/// The polling schedule: when (after the execute) the `n`-th status check is due while the
/// command has produced nothing yet.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub first: Duration,
    pub fast_interval: Duration,
    pub fast_until: Duration,
    pub growth: f64,
    pub max_interval: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            first: Duration::from_millis(50),
            fast_interval: Duration::from_millis(30),
            fast_until: Duration::from_millis(350),
            growth: 1.25,
            max_interval: Duration::from_secs(2),
        }
    }
}

impl Schedule {
    /// Offsets from the execute at which checks are due, lazily.
    pub fn offsets(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut t = self.first;
        let mut interval = self.fast_interval;
        let mut first = true;
        std::iter::from_fn(move || {
            if first {
                first = false;
                return Some(t);
            }
            if t < self.fast_until {
                t += self.fast_interval;
            } else {
                interval = interval.mul_f64(self.growth).min(self.max_interval);
                t += interval;
            }
            Some(t)
        })
    }
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The host finished it (stderr may still report a failure of the command itself).
    Complete,
    /// Still running when the local time limit passed.
    TimedOut,
    /// The user cancelled (Ctrl-C); the command may still run on the host.
    Cancelled,
}

/// What polling one command produced.
#[derive(Clone, Debug)]
pub struct Polled {
    pub completion: Completion,
    pub status_calls: u32,
    pub chunks: u32,
    /// `sequence_id` values the API returned, in order (for the transcript: real tenants'
    /// behaviour can be learned from them).
    pub sequence_ids_seen: Vec<u64>,
    pub stderr_seen: bool,
    /// When the first output (or the completion) arrived, from the start of polling.
    pub first_output_after: Option<Duration>,
}

/// Limits of one poll loop.
#[derive(Clone, Debug)]
pub struct PollLimits {
    pub timeout: Duration,
    pub max_chunks: u32,
}

impl Default for PollLimits {
    fn default() -> Self {
        PollLimits {
            timeout: Duration::from_secs(15 * 60),
            max_chunks: 1_000_000,
        }
    }
}

/// A non-final chunk smaller than this is followed by [`SMALL_CHUNK_GAP`] before the next
/// fetch: at most 50 such requests a second, while real chunks (64 KiB and more) stream at full
/// speed.
const SMALL_CHUNK: usize = 1024;
const SMALL_CHUNK_GAP: Duration = Duration::from_millis(20);

/// Consecutive failed status reads (each already retried by the client) before giving up.
const MAX_STATUS_FAILURES: u32 = 8;

/// A failure worth another read: the API or the network hiccuped.
fn transient(e: &FalconError) -> bool {
    match e {
        FalconError::Transport { .. } => true,
        FalconError::Api { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Polls a command's status until it completes, streaming each chunk to `sink`.
pub async fn poll(
    client: &FalconClient,
    tier: Tier,
    cloud_request_id: &str,
    sink: &mut dyn OutputSink,
    schedule: &Schedule,
    limits: &PollLimits,
    cancel: &CancellationToken,
) -> Result<Polled, FalconError> {
    poll_from(
        client,
        tier,
        cloud_request_id,
        None,
        sink,
        schedule,
        limits,
        cancel,
    )
    .await
}

/// [`poll`], starting from chunk 0 already in hand (a batch reply carries each host's chunk 0):
/// it goes through the same loop as a fetched chunk, so the rest is fetched the same way under
/// every chunk model, and nothing is fetched when chunk 0 was all there is.
#[allow(clippy::too_many_arguments)]
pub async fn poll_from(
    client: &FalconClient,
    tier: Tier,
    cloud_request_id: &str,
    mut first: Option<Status>,
    sink: &mut dyn OutputSink,
    schedule: &Schedule,
    limits: &PollLimits,
    cancel: &CancellationToken,
) -> Result<Polled, FalconError> {
    let start = Instant::now();
    let mut offsets = schedule.offsets();
    let mut next: u64 = 0;
    let mut delivered_up_to: Option<u64> = None;
    let mut seen_complete = false;
    let mut result = Polled {
        completion: Completion::Complete,
        status_calls: 0,
        chunks: 0,
        sequence_ids_seen: Vec::new(),
        stderr_seen: false,
        first_output_after: None,
    };
    // Whether the next check should wait for the schedule (nothing new yet) or go at once.
    let mut wait = true;
    // A pause before the next immediate fetch (after a chunk that carried almost nothing).
    let mut pause: Option<Duration> = None;
    let mut failures = 0u32;
    loop {
        let status = match first.take() {
            // Chunk 0 from a batch reply: no wait, no request.
            Some(s) => s,
            None => {
                if wait {
                    // Skip offsets already in the past (slow replies): never burst to catch up.
                    let due = loop {
                        let off = offsets.next().unwrap_or(schedule.max_interval);
                        if start + off > Instant::now() || off >= limits.timeout {
                            break start + off;
                        }
                    };
                    if due.duration_since(start) >= limits.timeout {
                        result.completion = Completion::TimedOut;
                        return Ok(result);
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => {
                            result.completion = Completion::Cancelled;
                            return Ok(result);
                        }
                        _ = tokio::time::sleep_until(due.into()) => {}
                    }
                } else {
                    if cancel.is_cancelled() {
                        result.completion = Completion::Cancelled;
                        return Ok(result);
                    }
                    // Chunks come back to back, but never past the time limit, and never
                    // faster than a sane rate when they carry almost nothing (a server that
                    // says "more" forever must not be hammered).
                    if start.elapsed() >= limits.timeout {
                        result.completion = Completion::TimedOut;
                        return Ok(result);
                    }
                    if let Some(gap) = pause.take() {
                        tokio::select! {
                            _ = cancel.cancelled() => {
                                result.completion = Completion::Cancelled;
                                return Ok(result);
                            }
                            _ = tokio::time::sleep(gap) => {}
                        }
                    }
                }
                let status = tokio::select! {
                    _ = cancel.cancelled() => {
                        result.completion = Completion::Cancelled;
                        return Ok(result);
                    }
                    s = client.command_status(tier, cloud_request_id, next) => s,
                };
                result.status_calls += 1;
                match status {
                    Ok(s) => {
                        failures = 0;
                        s
                    }
                    // The client already retried this read a few times. The output exists on the
                    // API's side: keep trying for a while longer rather than lose it.
                    Err(e) if transient(&e) && failures < MAX_STATUS_FAILURES => {
                        failures += 1;
                        tracing::debug!(
                            "status of {cloud_request_id}: {e}; still trying ({failures})"
                        );
                        tokio::select! {
                            _ = cancel.cancelled() => {
                                result.completion = Completion::Cancelled;
                                return Ok(result);
                            }
                            _ = tokio::time::sleep(Duration::from_millis(250 * u64::from(failures))) => {}
                        }
                        wait = false;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let got = !status.stdout.is_empty() || !status.stderr.is_empty();
        let rs = status.sequence_id.unwrap_or(0);
        if let Some(s) = status.sequence_id {
            result.sequence_ids_seen.push(s);
        }
        if got && delivered_up_to.is_none_or(|d| next > d) {
            if !status.stdout.is_empty() {
                sink.stdout(&status.stdout);
            }
            if !status.stderr.is_empty() {
                sink.stderr(&status.stderr);
                result.stderr_seen = true;
            }
            delivered_up_to = Some(next);
            result.chunks += 1;
            result.first_output_after.get_or_insert(start.elapsed());
        }
        if result.chunks >= limits.max_chunks {
            result.completion = Completion::TimedOut;
            return Ok(result);
        }
        let small = status.stdout.len() + status.stderr.len() < SMALL_CHUNK;
        if status.complete {
            seen_complete = true;
            result.first_output_after.get_or_insert(start.elapsed());
            if rs > next && got {
                // Splunk-style "more pieces follow" hint on a complete chunk.
                next = rs;
                wait = false;
                pause = small.then_some(SMALL_CHUNK_GAP);
                continue;
            }
            return Ok(result);
        }
        if got {
            // A non-final piece: works for both the "next" and the "echo" readings.
            next = rs.max(next.saturating_add(1));
            wait = false;
            pause = small.then_some(SMALL_CHUNK_GAP);
            continue;
        }
        if seen_complete {
            return Ok(result);
        }
        wait = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_meets_the_call_budgets() {
        let s = Schedule::default();
        let calls_until = |done: Duration| s.offsets().take_while(|t| *t < done).count() + 1;
        let first_after = |done: Duration| {
            s.offsets()
                .find(|t| *t >= done)
                .expect("schedule is infinite")
        };
        // A 300 ms command: output within ~30 ms of completion, at most 10 status calls.
        assert!(
            calls_until(Duration::from_millis(300)) <= 10,
            "{}",
            calls_until(Duration::from_millis(300))
        );
        assert!(first_after(Duration::from_millis(300)) <= Duration::from_millis(330));
        // A 10 s command: at most 30 status calls.
        assert!(
            calls_until(Duration::from_secs(10)) <= 30,
            "{}",
            calls_until(Duration::from_secs(10))
        );
        // Never faster than the fast interval, never slower than the cap.
        let v: Vec<Duration> = s.offsets().take(100).collect();
        for w in v.windows(2) {
            let d = w[1] - w[0];
            assert!(
                d >= Duration::from_millis(30) && d <= Duration::from_secs(2),
                "{d:?}"
            );
        }
    }
}
