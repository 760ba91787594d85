//! Execute-then-poll for one command on one host, with the chunk loop of docs/protocol.md,
//! "Chunk protocol".
//!
//! The `sequence_id` protocol is undocumented, so the loop is correct under all three plausible
//! models (`next`, `echo`, `splunk`; see `emulator::ChunkModel`): every chunk is delivered to the
//! sink the moment it arrives, exactly once, in order; the loop never re-fetches a delivered
//! index and never spins.
//!
//! Polling is scheduled on absolute times after the execute. Without anything known about the
//! host ([`Schedule`]): the first check at 50 ms, then every 30 ms until 350 ms, then intervals
//! growing by 25% up to 2 s. A 300 ms command costs 10 status calls; a 10 s command 30.
//!
//! A single-host session learns how long its host takes to answer ([`Pace`]): from its init
//! (which waits for the host) and from the bracket in which each earlier command's answer
//! appeared. It then checks densely around that time ([`Expect`]): one probe before it (for a
//! command faster than usual; more, halving, while only the init is known), a few checks a few ms apart across it, and after it intervals
//! that grow quickly to 10% of the time spent so far (at least 250 ms, at most 2 s), so a
//! command that runs longer than usual is still seen within 10% of its running time or 250 ms.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::rtr::Status;
use crate::{FalconClient, FalconError};
use rtrsh_command::Tier;

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

/// A dense polling window, learned from the session (see [`Pace::expect`]): offsets from the
/// start of polling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The first check of the dense window.
    pub start: Duration,
    /// The last check of the dense window is at or before this.
    pub end: Duration,
    /// Between two checks inside the window.
    pub spacing: Duration,
    /// Checks before the window, each at half the time of the next (for a command faster than
    /// expected), down to [`FIRST_PROBE`].
    pub probes: usize,
}

/// Probes before the dense window once commands taught the session (each costs a call on
/// every command, so one), and while only the init is known (it may have been slow for reasons
/// of its own: halving down to [`FIRST_PROBE`] keeps a fast first command from waiting long).
const PROBES_LEARNED: usize = 1;
const PROBES_FROM_INIT: usize = 8;
/// No probe earlier than this.
const FIRST_PROBE: Duration = Duration::from_millis(40);
/// Spacing of the dense window: at least this, and the window is split into at most
/// [`WINDOW_CHECKS`] steps (one check more).
const MIN_SPACING: Duration = Duration::from_millis(3);
const WINDOW_CHECKS: u32 = 6;
/// After the window: the first interval is [`LATE_FIRST`] window spacings, then intervals grow
/// by [`LATE_GROWTH`], up to [`LATE_SHARE`] of the time spent (but at least [`LATE_FLOOR`]) and
/// [`Schedule::max_interval`]. A quick climb: the calls go where they buy the most (a command
/// 10 ms late is seen at once, one 20 s late costs about two calls a second).
const LATE_FIRST: u32 = 10;
const LATE_GROWTH: f64 = 2.0;
const LATE_SHARE: f64 = 0.1;
const LATE_FLOOR: Duration = Duration::from_millis(250);

impl Expect {
    /// Offsets at which checks are due, lazily: probes, the window, then growing intervals.
    pub fn offsets(&self, max_interval: Duration) -> impl Iterator<Item = Duration> + use<> {
        let this = *self;
        let mut probes: Vec<Duration> = Vec::with_capacity(this.probes);
        let mut p = this.start / 2;
        while probes.len() < this.probes && p >= FIRST_PROBE {
            probes.push(p);
            p /= 2;
        }
        probes.reverse();
        let mut probes = probes.into_iter();
        let mut t: Option<Duration> = None;
        let mut interval: Option<Duration> = None;
        std::iter::from_fn(move || {
            if let Some(p) = probes.next() {
                return Some(p);
            }
            let next = match t {
                None => this.start,
                Some(prev) if prev + this.spacing <= this.end => prev + this.spacing,
                Some(prev) => {
                    let cap = prev
                        .mul_f64(LATE_SHARE)
                        .max(LATE_FLOOR)
                        .min(max_interval.max(LATE_FLOOR));
                    let i = match interval {
                        None => this.spacing * LATE_FIRST,
                        Some(i) => i.mul_f64(LATE_GROWTH),
                    }
                    .min(cap)
                    .max(this.spacing)
                    .max(Duration::from_millis(1));
                    interval = Some(i);
                    prev + i
                }
            };
            t = Some(next);
            Some(next)
        })
    }
}

/// One command's answer appeared between these offsets from the start of its polling: the
/// last check that found nothing was sent at `after`, the first reply with output or
/// completion arrived at `by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    pub after: Duration,
    pub by: Duration,
}

/// What a session has learned about how soon its host answers: the brackets of its recent
/// commands' answers, or, before the first command, the time its init took (the API waits for
/// the host to answer a first command before it replies to an init).
#[derive(Clone, Debug, Default)]
pub struct Pace {
    init: Option<Duration>,
    recent: VecDeque<Answered>,
}

/// How many commands [`Pace`] remembers.
const PACE_MEMORY: usize = 8;

impl Pace {
    /// The session's init took `took` (request to reply).
    pub fn init_took(&mut self, took: Duration) {
        self.init = Some(took);
    }

    /// Learns from one polled command (nothing when it was never answered).
    pub fn observe(&mut self, polled: &Polled) {
        if let Some(a) = polled.answered {
            if self.recent.len() == PACE_MEMORY {
                self.recent.pop_front();
            }
            self.recent.push_back(a);
        }
    }

    /// Where to poll densely for the next command: around the fastest recent answer (a command
    /// that runs longer is caught by the growing intervals after the window), or around the
    /// init's time before any command. `None` when nothing is known yet.
    pub fn expect(&self) -> Option<Expect> {
        let (lo, hi, probes) = if self.recent.is_empty() {
            let init = self.init?;
            (init.mul_f64(0.9), init.mul_f64(1.05), PROBES_FROM_INIT)
        } else {
            // A bracket that starts at 0 (the first check already had the answer) says only
            // "by then": assume it came in the second half.
            let lo = self
                .recent
                .iter()
                .map(|a| a.after.max(a.by / 2))
                .min()
                .unwrap_or_default();
            let hi = self.recent.iter().map(|a| a.by).min().unwrap_or_default();
            (lo, hi.max(lo), PROBES_LEARNED)
        };
        let margin = MIN_SPACING.max(lo.mul_f64(0.02));
        let start = lo.saturating_sub(margin).max(FIRST_PROBE / 2);
        let end = (hi + margin).max(start + 2 * MIN_SPACING);
        let spacing = ((end - start) / WINDOW_CHECKS).max(MIN_SPACING);
        Some(Expect {
            start,
            end,
            spacing,
            probes,
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
    /// Between which checks the answer appeared (for [`Pace`]); `None` when it never did, or
    /// when chunk 0 was already in hand.
    pub answered: Option<Answered>,
}

impl Polled {
    /// Complete, with nothing seen and no status call: where a poll starts, and the whole
    /// answer for a command the API queued for an offline host.
    pub fn complete() -> Polled {
        Polled {
            completion: Completion::Complete,
            status_calls: 0,
            chunks: 0,
            sequence_ids_seen: Vec::new(),
            stderr_seen: false,
            first_output_after: None,
            answered: None,
        }
    }
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

/// How to wait for one command: when to check ([`Schedule`]), for how long ([`PollLimits`]),
/// and the user's Ctrl-C.
#[derive(Clone, Copy)]
pub struct Waiting<'a> {
    pub schedule: &'a Schedule,
    pub limits: &'a PollLimits,
    pub cancel: &'a CancellationToken,
}

/// Polls a command's status until it completes, streaming each chunk to `sink`.
pub async fn poll<S: OutputSink + ?Sized>(
    client: &FalconClient,
    tier: Tier,
    cloud_request_id: &str,
    sink: &mut S,
    wait: Waiting<'_>,
) -> Result<Polled, FalconError> {
    poll_starting(
        client,
        tier,
        cloud_request_id,
        Start::Fresh(None),
        sink,
        wait,
    )
    .await
}

/// Where a poll starts from.
#[derive(Debug)]
pub enum Start {
    /// Nothing known yet: checks follow the schedule, or the dense window learned from the
    /// session ([`Pace::expect`]) when there is one.
    Fresh(Option<Expect>),
    /// Chunk 0 already in hand (a batch reply carries each host's chunk 0): it goes through the
    /// same loop as a fetched chunk, so the rest is fetched the same way under every chunk
    /// model, and nothing is fetched when chunk 0 was all there is.
    From(Status),
    /// Known to have finished with output (a batch reply said so, and its chunk 0 was not
    /// kept): the first check goes at once, from chunk 0.
    Ready,
}

/// [`poll`] from a known starting point ([`Start`]).
pub async fn poll_starting<S: OutputSink + ?Sized>(
    client: &FalconClient,
    tier: Tier,
    cloud_request_id: &str,
    start_from: Start,
    sink: &mut S,
    wait: Waiting<'_>,
) -> Result<Polled, FalconError> {
    let Waiting {
        schedule,
        limits,
        cancel,
    } = wait;
    let (mut first, expect, ready) = match start_from {
        Start::Fresh(expect) => (None, expect, false),
        Start::From(status) => (Some(status), None, false),
        Start::Ready => (None, None, true),
    };
    let start = Instant::now();
    let mut offsets: Box<dyn Iterator<Item = Duration> + Send + '_> = match expect {
        Some(e) => Box::new(e.offsets(schedule.max_interval)),
        None => Box::new(schedule.offsets()),
    };
    let from_batch = first.is_some() || ready;
    // When the last check that found nothing was sent (for `answered`).
    let mut last_empty: Duration = Duration::ZERO;
    let mut next: u64 = 0;
    let mut delivered_up_to: Option<u64> = None;
    let mut seen_complete = false;
    let mut result = Polled::complete();
    // Whether the next check should wait for the schedule (nothing new yet) or go at once.
    let mut on_schedule = !ready;
    // A pause before the next immediate fetch (after a chunk that carried almost nothing).
    let mut pause: Option<Duration> = None;
    let mut failures = 0u32;
    loop {
        let status = match first.take() {
            // Chunk 0 from a batch reply: no wait, no request.
            Some(s) => s,
            None => {
                if on_schedule {
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
                let sent_at = start.elapsed();
                let status = tokio::select! {
                    _ = cancel.cancelled() => {
                        result.completion = Completion::Cancelled;
                        return Ok(result);
                    }
                    s = client.command_status(tier, cloud_request_id, next) => s,
                };
                if let Ok(s) = &status
                    && result.answered.is_none()
                {
                    if s.complete || !s.stdout.is_empty() || !s.stderr.is_empty() {
                        if !from_batch {
                            result.answered = Some(Answered {
                                after: last_empty,
                                by: start.elapsed(),
                            });
                        }
                    } else {
                        last_empty = sent_at;
                    }
                }
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
                        on_schedule = false;
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
                on_schedule = false;
                pause = small.then_some(SMALL_CHUNK_GAP);
                continue;
            }
            return Ok(result);
        }
        if got {
            // A non-final piece: works for both the "next" and the "echo" readings.
            next = rs.max(next.saturating_add(1));
            on_schedule = false;
            pause = small.then_some(SMALL_CHUNK_GAP);
            continue;
        }
        if seen_complete {
            return Ok(result);
        }
        on_schedule = true;
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

#[cfg(test)]
mod pace_tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Status calls until (and including) the first check at or after `done`, and that check.
    fn seen(e: &Expect, done: Duration) -> (usize, Duration) {
        let mut n = 0;
        for t in e.offsets(ms(2000)) {
            n += 1;
            if t >= done {
                return (n, t);
            }
        }
        unreachable!("the schedule is infinite")
    }

    fn polled(answered: Option<Answered>) -> Polled {
        Polled {
            answered,
            ..Polled::complete()
        }
    }

    #[test]
    fn nothing_known_means_the_fixed_schedule() {
        assert_eq!(Pace::default().expect(), None);
    }

    #[test]
    fn the_init_seeds_a_window_that_holds_the_first_command() {
        let mut p = Pace::default();
        p.init_took(ms(302));
        let e = p.expect().expect("seeded");
        let (calls, at) = seen(&e, ms(300));
        assert!(calls <= 10, "{calls} calls, {e:?}");
        assert!(at <= ms(300) + e.spacing, "{at:?}, {e:?}");
    }

    #[test]
    fn learned_commands_narrow_the_window() {
        let mut p = Pace::default();
        p.init_took(ms(302));
        // A host that answers 299.6 ms after the execute, polled with the learned windows.
        let done = Duration::from_micros(299_600);
        for _ in 0..5 {
            let e = p.expect().expect("known");
            let offs: Vec<Duration> = e.offsets(ms(2000)).take(100).collect();
            let by = *offs.iter().find(|t| **t >= done).expect("reached");
            let after = offs
                .iter()
                .rev()
                .find(|t| **t < done)
                .copied()
                .unwrap_or_default();
            p.observe(&polled(Some(Answered { after, by })));
        }
        let e = p.expect().expect("known");
        let (calls, at) = seen(&e, done);
        assert!(calls <= 8, "{calls} calls, {e:?}");
        assert!(at - done <= ms(4), "seen {at:?}, {e:?}");
        // Faster than usual: seen by a probe or the window's first check.
        let (calls, at) = seen(&e, ms(120));
        assert!(calls <= 2 && at <= e.start, "{calls} {at:?}");
    }

    #[test]
    fn a_command_longer_than_usual_is_seen_within_ten_percent() {
        let mut p = Pace::default();
        p.observe(&polled(Some(Answered {
            after: ms(297),
            by: ms(301),
        })));
        let e = p.expect().expect("known");
        for secs in [1u64, 3, 10, 20, 60] {
            let done = Duration::from_secs(secs) + ms(7);
            let (_, at) = seen(&e, done);
            let late = at - done;
            assert!(
                late <= done.mul_f64(0.1).max(ms(250)),
                "{done:?} seen {late:?} late"
            );
        }
        // About two calls a second for a 20 s command, fewer for longer ones (the window and
        // the 250 ms steps up to 2.5 s are paid once).
        let (calls, _) = seen(&e, Duration::from_secs(20) + ms(300));
        assert!(calls <= 42, "{calls} calls by 20.3 s");
        let (calls, _) = seen(&e, Duration::from_secs(60));
        assert!(calls <= 70, "{calls} calls by 60 s");
        // Intervals never shrink below the window's spacing and never exceed the cap.
        let v: Vec<Duration> = e.offsets(ms(2000)).take(200).collect();
        for w in v.windows(2) {
            assert!(w[1] > w[0] && w[1] - w[0] <= ms(2000), "{w:?}");
        }
    }

    #[test]
    fn a_slow_host_learned_from_its_init() {
        // The init took 20 s: a 20 s command costs well under a call a second (halving probes
        // and the window) and shows within 10%, and once learned, a handful of calls.
        let mut p = Pace::default();
        p.init_took(Duration::from_secs(20) + ms(3));
        let e = p.expect().expect("seeded");
        let (calls, at) = seen(&e, Duration::from_secs(20));
        assert!(calls <= 15, "{calls}");
        assert!(at - Duration::from_secs(20) <= ms(2000), "{at:?}");
        p.observe(&polled(Some(Answered {
            after: Duration::from_secs(19) + ms(990),
            by: Duration::from_secs(20) + ms(5),
        })));
        let e = p.expect().expect("learned");
        let (calls, at) = seen(&e, Duration::from_secs(20));
        assert!(calls <= 8, "{calls}");
        assert!(at - Duration::from_secs(20) <= ms(250), "{at:?}");
    }

    #[test]
    fn a_slow_init_does_not_keep_a_fast_first_command_waiting() {
        // The init took 20 s, the first command takes 300 ms: probes halve down to 40 ms, so it
        // is seen within its own running time again.
        let mut p = Pace::default();
        p.init_took(Duration::from_secs(20));
        let e = p.expect().expect("seeded");
        let (calls, at) = seen(&e, ms(300));
        assert!(at <= ms(600), "{at:?}");
        assert!(calls <= 5, "{calls}");
    }

    #[test]
    fn memory_is_bounded_and_unanswered_commands_teach_nothing() {
        let mut p = Pace::default();
        for i in 0..100 {
            p.observe(&polled(Some(Answered {
                after: ms(100 + i),
                by: ms(110 + i),
            })));
            p.observe(&polled(None));
        }
        assert_eq!(p.recent.len(), PACE_MEMORY);
    }
}
