//! Rate limits: the sliding per-CID window, the headers on every reply, and `RetryAfter` units.

use std::time::{SystemTime, UNIX_EPOCH};

use rtrsh_emulator::{EmulatorConfig, RetryAfterUnit};

use crate::support::{TestEnv, fast};

const DEVICES: &str = "/devices/queries/devices/v1";

async fn exhaust(unit: RetryAfterUnit) -> (crate::support::Reply, TestEnv) {
    let env = TestEnv::start(EmulatorConfig {
        rate_limit: 5,
        retry_after_unit: unit,
        ..fast()
    })
    .await;
    let api = env.api();
    for remaining in (0..5).rev() {
        let r = api.get(DEVICES).await;
        r.expect(200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let r = api.get(DEVICES).await;
    (r, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_request_in_a_minute_is_429_with_retry_after_in_epoch_seconds() {
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let (r, env) = exhaust(RetryAfterUnit::Seconds).await;
    r.expect_meta_error(429, 429, "rate limit");
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let at: u64 = r
        .header("x-ratelimit-retryafter")
        .expect("RetryAfter on a 429")
        .parse()
        .expect("an integer");
    assert!(
        at > before && at <= before + 62,
        "{at} is not about a minute from {before}"
    );
    assert_eq!(env.stats().await["rate_limited"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_can_be_sent_in_epoch_milliseconds() {
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let (r, _env) = exhaust(RetryAfterUnit::Millis).await;
    r.expect(429);
    let at: u64 = r
        .header("x-ratelimit-retryafter")
        .expect("RetryAfter")
        .parse()
        .expect("an integer");
    assert!(at > before && at <= before + 62_000, "{at} vs {before}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_per_customer_not_per_client() {
    let (r, env) = exhaust(RetryAfterUnit::Seconds).await;
    r.expect(429);
    // Another API client of the same CID shares the window.
    let other = env.api_as(crate::support::READONLY.0, crate::support::READONLY.1);
    other.get(DEVICES).await.expect(429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_reply_carries_the_rate_limit_headers() {
    // The harness checks X-RateLimit-Limit/Remaining on every reply; this walks a mix of
    // endpoints and statuses to prove it, including errors and 204s.
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    let aid = env.aid("DESKTOP-01").await;
    let sid = api.init(&aid).await;
    api.get(DEVICES).await.expect(200);
    api.get("/real-time-response/queries/sessions/v1")
        .await
        .expect(200);
    api.get("/no/such/route").await.expect(404);
    api.delete(&format!(
        "/real-time-response/entities/sessions/v1?session_id={sid}"
    ))
    .await
    .expect(204);
    let r = api.get(DEVICES).await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("6000"));
    let remaining: u32 = r
        .header("x-ratelimit-remaining")
        .expect("header")
        .parse()
        .expect("int");
    assert!(remaining < 6000);
}
