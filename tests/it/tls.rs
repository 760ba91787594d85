//! TLS: a certificate the client must not trust fails at once (it is not a hiccup worth a
//! retry), in plain words that say what is wrong with it. The certificates under
//! `fixtures/tls/` were made with openssl: a test CA (`ca.pem`, trusted through
//! `SSL_CERT_FILE`), leaves for 127.0.0.1 signed by it (`good.pem`; `expired.pem`;
//! `wrong-name.pem`, issued for other.example) and a self-signed one.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::support::shell::rtrsh_alone;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/it/fixtures/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A TLS server on 127.0.0.1 presenting `cert`: counts connections and keeps the first bytes
/// a client sends after a completed handshake.
struct TlsServer {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    fn start(cert: &str) -> TlsServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = vec![CertificateDer::from_pem_file(fixture(cert)).expect("the certificate")];
        let key = PrivateKeyDer::from_pem_file(fixture("leaf.key")).expect("the key");
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("a server config"),
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding");
        let url = format!("https://{}", listener.local_addr().expect("address"));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, log) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(sock) = sock else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 64];
                if let Ok(n) = tls.read(&mut buf)
                    && n > 0
                {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        TlsServer {
            url,
            connections,
            requests,
        }
    }
}

async fn run_against(server: &TlsServer) -> crate::support::shell::Out {
    rtrsh_alone()
        .env("FALCON_CLIENT_ID", "id")
        .env("FALCON_CLIENT_SECRET", "secret")
        .env("FALCON_BASE_URL", server.url.clone())
        .env("SSL_CERT_FILE", fixture("ca.pem"))
        .args(["--host", "DESKTOP-01", "--no-transcript"])
        .commands(["pwd"])
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once_in_plain_words() {
    for (cert, says) in [
        (
            "self-signed.pem",
            "not issued by an authority this machine trusts",
        ),
        ("expired.pem", "has expired"),
        ("wrong-name.pem", "is for another name"),
    ] {
        let server = TlsServer::start(cert);
        let out = run_against(&server).await;
        out.expect_code(3);
        assert!(
            out.stderr.contains("TLS certificate") && out.stderr.contains(says),
            "{cert}: {}",
            out.stderr
        );
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "{cert}: a certificate problem is not retried"
        );
        assert!(server.requests.lock().expect("log").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_trusted_file_gets_through() {
    // The same test CA through SSL_CERT_FILE: the handshake completes and the token request
    // follows (the server then hangs up, which is a different error).
    let server = TlsServer::start("good.pem");
    let out = run_against(&server).await;
    assert_ne!(out.code, 0);
    let requests = server.requests.lock().expect("log").clone();
    assert!(
        requests.iter().any(|r| r.starts_with("POST /oauth2/token")),
        "{requests:?}\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("TLS certificate"), "{}", out.stderr);
}
