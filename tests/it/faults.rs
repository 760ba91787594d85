//! Fault injection: 5xx replies and dropped connections, which a client must survive without
//! hanging.

use std::time::{Duration, Instant};

use reqwest::Method;
use rtrsh_emulator::EmulatorConfig;

use crate::support::{TestEnv, fast};

const DEVICES: &str = "/devices/queries/devices/v1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_request_failing_the_client_sees_5xx_with_a_proper_body() {
    let env = TestEnv::start(EmulatorConfig {
        fault_5xx: 1.0,
        ..fast()
    })
    .await;
    let api = env.api();
    for _ in 0..5 {
        let r = api
            .send(api.form_request(
                "/oauth2/token",
                &[
                    ("client_id", "emulator-client"),
                    ("client_secret", "emulator-secret"),
                ],
            ))
            .await;
        assert!([500, 502, 503].contains(&r.status), "got {}", r.status);
        assert_eq!(r.body["errors"][0]["code"], r.status);
    }
    let stats = env.stats().await;
    assert_eq!(stats["faults"]["http_5xx"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_can_be_switched_on_and_off_at_run_time() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    api.get(DEVICES).await.expect(200);
    env.set_faults(1.0, 0.0).await;
    let r = api.unvalidated().get(DEVICES).await;
    assert!(r.status >= 500, "{}", r.status);
    // The controls themselves are never faulted.
    assert_eq!(env.stats().await["faults"]["http_5xx"], 1);
    env.set_faults(0.0, 0.0).await;
    api.get(DEVICES).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_an_error_not_a_hang() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    api.token().await;
    env.set_faults(0.0, 1.0).await;
    let start = Instant::now();
    let rb = api
        .request(Method::GET, DEVICES)
        .await
        .timeout(Duration::from_secs(10));
    let err = api
        .try_send(rb)
        .await
        .expect_err("a dropped connection cannot produce a reply");
    assert!(
        !err.is_timeout(),
        "the connection should be closed, not left hanging: {err}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(env.stats().await["faults"]["dropped"], 1);
    env.set_faults(0.0, 0.0).await;
    api.get(DEVICES).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_shares_out_of_range_are_ignored() {
    let env = TestEnv::start(fast()).await;
    let api = env.api();
    env.set_faults(7.0, -1.0).await;
    api.get(DEVICES).await.expect(200);
}
