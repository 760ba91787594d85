//! Proxies: a loopback base URL never goes through one (the token request carries the client
//! secret, and every other request a bearer token, in clear text over `http://`), whatever the
//! proxy variables say; an `https://` cloud still goes through `HTTPS_PROXY` / `ALL_PROXY`, with
//! the proxy's user and password, unless `NO_PROXY` names the host.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::shell::rtrsh;
use crate::support::{TestEnv, fast};

/// A proxy that writes down the head of every request it gets and refuses it.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake proxy");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut head = String::new();
                let mut reader = BufReader::new(conn.try_clone().expect("a second handle"));
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => head.push_str(&line),
                    }
                }
                log.lock().unwrap_or_else(|p| p.into_inner()).push(head);
                let _ = conn.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
        });
        FakeProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_base_url_never_goes_through_a_proxy() {
    let env = TestEnv::start(fast()).await;
    let proxy = FakeProxy::start();
    for (vars, no_proxy) in [
        (&["HTTP_PROXY", "http_proxy"][..], None),
        (&["ALL_PROXY", "all_proxy"][..], None),
        (&["HTTP_PROXY", "ALL_PROXY"][..], Some("example.com")),
    ] {
        let mut run = rtrsh(&env).args(["--host", "DESKTOP-01", "--no-transcript"]);
        for v in vars {
            run = run.env(v, proxy.url.clone());
        }
        if let Some(n) = no_proxy {
            run = run.env("NO_PROXY", n);
        }
        let out = run.commands(["pwd"]).run().await;
        out.expect_code(0);
        assert!(out.stdout().contains(r"C:\"), "{vars:?}: {}", out.stdout());
    }
    assert!(proxy.seen().is_empty(), "the proxy saw: {:?}", proxy.seen());
    // An unreachable proxy does not matter either.
    rtrsh(&env)
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .commands(["pwd"])
        .run()
        .await
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_cloud_goes_through_the_proxy_unless_no_proxy_names_it() {
    let proxy = FakeProxy::start();
    let with_auth = proxy.url.replace("http://", "http://analyst:s3cret@");
    for var in ["HTTPS_PROXY", "ALL_PROXY"] {
        let out = crate::support::shell::rtrsh_alone()
            .env("FALCON_CLIENT_ID", "id")
            .env("FALCON_CLIENT_SECRET", "secret")
            .env("FALCON_BASE_URL", "eu-1")
            .env(var, with_auth.clone())
            .args(["--host", "DESKTOP-01", "--no-transcript"])
            .commands(["pwd"])
            .run()
            .await;
        out.expect_code(3);
        let seen = proxy.seen();
        assert!(
            seen.iter().any(|h| h
                .starts_with("CONNECT api.eu-1.crowdstrike.com:443")
                // base64("analyst:s3cret")
                && h.contains("YW5hbHlzdDpzM2NyZXQ=")),
            "{var}: {seen:?}"
        );
        assert!(
            seen.iter().all(|h| !h.contains("secret")),
            "the client secret never reaches the proxy in clear: {seen:?}"
        );
    }
    let before = proxy.seen().len();
    let out = crate::support::shell::rtrsh_alone()
        .env("FALCON_CLIENT_ID", "id")
        .env("FALCON_CLIENT_SECRET", "secret")
        .env("FALCON_BASE_URL", "eu-1")
        .env("HTTPS_PROXY", proxy.url.clone())
        .env("NO_PROXY", ".crowdstrike.com")
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands(["pwd"])
        .run()
        .await;
    out.expect_code(3);
    assert_eq!(proxy.seen().len(), before, "NO_PROXY is honoured");
}
