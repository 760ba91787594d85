//! One rate-limit governor for the whole process: every request of every host, poller and
//! background task asks it before sending, and reports the limit headers it got back.
//!
//! It holds everything off after a 429 until `X-RateLimit-RetryAfter`, and slows down a little
//! when `X-RateLimit-Remaining` runs low (as gofalcon does), so a fleet of pollers backs off
//! together instead of each hammering the API on its own.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// The longest rtrsh waits out one 429; a server that asks for more gets a clear error instead
/// of a silent hang (the real API's window is one minute).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(5 * 60);
/// Waits at least this long are announced (through [`Governor::on_wait`]).
pub const NOTICE_WAIT: Duration = Duration::from_secs(1);

/// Told how long everyone will wait, when a 429 blocks requests for [`NOTICE_WAIT`] or more.
pub type WaitNotice = std::sync::Arc<dyn Fn(Duration) + Send + Sync>;

/// What a 429 means for the request that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateWait {
    /// Wait this long, then send again.
    Wait(Duration),
    /// The API asks for a wait beyond [`MAX_RETRY_WAIT`] (this long): give up with an error.
    TooLong(Duration),
}

#[derive(Debug, Default)]
struct State {
    blocked_until: Option<Instant>,
    remaining: Option<u64>,
    limit: Option<u64>,
}

#[derive(Default)]
pub struct Governor {
    state: Mutex<State>,
    notice: Mutex<Option<WaitNotice>>,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor").finish_non_exhaustive()
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long to wait from `now` (wall clock) for an `X-RateLimit-RetryAfter` value. The spec says
/// epoch milliseconds, the SDKs that act on it read epoch seconds: a value above 10^11 is taken
/// as milliseconds (10^11 seconds is the year 5138). A value in the past gives a short pause; one
/// further away than [`MAX_RETRY_WAIT`] is [`RateWait::TooLong`].
pub fn retry_after_wait(value: u64, now: SystemTime) -> RateWait {
    let target = if value > 100_000_000_000 {
        UNIX_EPOCH.checked_add(Duration::from_millis(value))
    } else {
        UNIX_EPOCH.checked_add(Duration::from_secs(value))
    };
    let Some(target) = target else {
        return RateWait::TooLong(Duration::MAX);
    };
    let wait = target.duration_since(now).unwrap_or(Duration::ZERO);
    if wait > MAX_RETRY_WAIT {
        RateWait::TooLong(wait)
    } else {
        RateWait::Wait(wait.max(Duration::from_millis(50)))
    }
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

    /// Who to tell about long waits (the shell prints "rate limited; waiting 8 s").
    pub fn on_wait(&self, notice: WaitNotice) {
        *self.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(notice);
    }

    /// Records the limit headers of a reply. On a 429, says how long to hold off.
    pub fn observe(&self, status: u16, headers: &HeaderMap) -> Option<RateWait> {
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
            Some(v) => match retry_after_wait(v, SystemTime::now()) {
                RateWait::Wait(w) => w,
                too_long => return Some(too_long),
            },
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
        // Announce a long wait once, not once per request that ran into it.
        let news = s
            .blocked_until
            .is_none_or(|b| until > b + NOTICE_WAIT || b < Instant::now());
        s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
        // After the wait the window is fresh; do not also pace on the stale "0 remaining".
        s.remaining = None;
        drop(s);
        if news && wait >= NOTICE_WAIT {
            let notice = self
                .notice
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(n) = notice {
                n(wait + jitter);
            }
        }
        Some(RateWait::Wait(wait + jitter))
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
        let wait = |d| RateWait::Wait(d);
        assert_eq!(
            retry_after_wait(1_800_000_007, now),
            wait(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after_wait(1_800_000_007_500, now),
            wait(Duration::from_millis(7_500))
        );
        // In the past: a short pause, not zero and not forever.
        assert_eq!(
            retry_after_wait(1_700_000_000, now),
            wait(Duration::from_millis(50))
        );
        // Up to five minutes is waited; further (the year 2100, u64::MAX) is an error.
        assert_eq!(retry_after_wait(1_800_000_300, now), wait(MAX_RETRY_WAIT));
        assert_eq!(
            retry_after_wait(1_800_000_301, now),
            RateWait::TooLong(Duration::from_secs(301))
        );
        assert!(matches!(
            retry_after_wait(4_102_444_800, now),
            RateWait::TooLong(_)
        ));
        assert!(matches!(
            retry_after_wait(u64::MAX, now),
            RateWait::TooLong(_)
        ));
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
        let Some(RateWait::Wait(wait)) = g.observe(429, &h) else {
            panic!("429 yields a wait");
        };
        assert!(wait <= Duration::from_millis(450), "{wait:?}");
        let t = Instant::now();
        g.ready().await;
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert_eq!(g.snapshot().0, Some(6000));
    }
}
