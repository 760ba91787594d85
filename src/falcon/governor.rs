//! One rate-limit governor for the whole process: every request of every host, poller and
//! background task asks it before sending, and reports the limit headers it got back.
//!
//! It holds everything off after a 429 until `X-RateLimit-RetryAfter`, and slows down a little
//! when `X-RateLimit-Remaining` runs low (as gofalcon does), so a fleet of pollers backs off
//! together instead of each hammering the API on its own.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// The longest we wait for one 429 (gofalcon caps its backoff at 60 s).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct State {
    blocked_until: Option<Instant>,
    remaining: Option<u64>,
    limit: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Governor {
    state: Mutex<State>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long to wait from `now` (wall clock) for an `X-RateLimit-RetryAfter` value. The spec says
/// epoch milliseconds, the SDKs that act on it read epoch seconds: a value above 10^11 is taken
/// as milliseconds (10^11 seconds is the year 5138). A value in the past gives a short pause.
pub fn retry_after_wait(value: u64, now: SystemTime) -> Duration {
    let target = if value > 100_000_000_000 {
        UNIX_EPOCH + Duration::from_millis(value)
    } else {
        UNIX_EPOCH + Duration::from_secs(value)
    };
    let wait = target.duration_since(now).unwrap_or(Duration::ZERO);
    wait.clamp(Duration::from_millis(50), MAX_RETRY_WAIT)
}

impl Governor {
    /// Waits until a request may be sent.
    pub async fn ready(&self) {
        loop {
            let (until, pace) = {
                let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let pace = match s.remaining {
                    Some(r) if r <= 5 => Duration::from_millis(500),
                    Some(r) if r <= 10 => Duration::from_millis(200),
                    _ => Duration::ZERO,
                };
                (s.blocked_until, pace)
            };
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => {
                    if !pace.is_zero() {
                        tokio::time::sleep(pace).await;
                    }
                    return;
                }
            }
        }
    }

    /// Records the limit headers of a reply. On a 429, returns how long to hold off.
    pub fn observe(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = header_u64(headers, "x-ratelimit-limit") {
            s.limit = Some(l);
        }
        if let Some(r) = header_u64(headers, "x-ratelimit-remaining") {
            s.remaining = Some(r);
        }
        if status != 429 {
            return None;
        }
        let wait = match header_u64(headers, "x-ratelimit-retryafter") {
            Some(v) => retry_after_wait(v, SystemTime::now()),
            None => Duration::from_secs(2),
        };
        // A little jitter so that many waiting tasks do not all fire at the same instant.
        let jitter = Duration::from_millis(u64::from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos()
                % 100,
        ));
        let until = Instant::now() + wait + jitter;
        s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
        // After the wait the window is fresh; do not also pace on the stale "0 remaining".
        s.remaining = None;
        Some(wait + jitter)
    }

    /// The last seen limit and remaining budget.
    pub fn snapshot(&self) -> (Option<u64>, Option<u64>) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.limit, s.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_millis() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(retry_after_wait(1_800_000_007, now), Duration::from_secs(7));
        assert_eq!(
            retry_after_wait(1_800_000_007_500, now),
            Duration::from_millis(7_500)
        );
        // In the past: a short pause, not zero and not forever.
        assert_eq!(
            retry_after_wait(1_700_000_000, now),
            Duration::from_millis(50)
        );
        // Absurdly far: capped.
        assert_eq!(retry_after_wait(1_900_000_000, now), MAX_RETRY_WAIT);
    }

    #[tokio::test]
    async fn a_429_blocks_everyone_until_retry_after() {
        let g = Governor::default();
        let mut h = HeaderMap::new();
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64
            + 300;
        h.insert("x-ratelimit-retryafter", soon.into());
        h.insert("x-ratelimit-limit", 6000u64.into());
        let wait = g.observe(429, &h).expect("429 yields a wait");
        assert!(wait <= Duration::from_millis(450), "{wait:?}");
        let t = Instant::now();
        g.ready().await;
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert_eq!(g.snapshot().0, Some(6000));
    }
}
