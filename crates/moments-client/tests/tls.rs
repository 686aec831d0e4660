//! TLS against an HTTPS server whose certificate comes from a CA this test generates: the platform's
//! verifier refuses it (no device trusts that CA) with a TLS error, and the same call succeeds once the
//! CA is added with `ClientBuilder::add_trusted_certificate`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{SECRET, fast_retries, reward_json};
use moments_client::{ErrorKind, MomentsClient};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A CA made for one test: its certificate (PEM and DER) and its issuer.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }
}

/// An HTTPS server on 127.0.0.1 with a certificate for `127.0.0.1` and `localhost` signed by `ca`. It
/// answers every request with a reward; it counts handshakes begun and requests answered.
struct HttpsServer {
    base_url: String,
    handshakes: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl HttpsServer {
    async fn start(ca: &TestCa) -> Self {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (h, r) = (handshakes.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                h.fetch_add(1, Ordering::SeqCst);
                let (acceptor, r) = (acceptor.clone(), r.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate aborts the handshake: nothing to answer.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    let body = reward_json("rwd_tls").to_string();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         x-request-id: req_tls\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            base_url: format!("https://127.0.0.1:{port}"),
            handshakes,
            requests,
        }
    }

    fn builder(&self) -> moments_client::ClientBuilder {
        MomentsClient::builder()
            .base_url(&self.base_url)
            .secret_key(SECRET)
            .retry_policy(fast_retries(3))
    }
}

#[tokio::test]
async fn a_certificate_from_a_ca_the_platform_does_not_trust_is_a_tls_error() {
    let ca = TestCa::new("Moments test CA");
    let server = HttpsServer::start(&ca).await;
    let err = server
        .builder()
        .build()
        .unwrap()
        .rewards()
        .get("rwd_tls")
        .await
        .unwrap_err();

    assert!(err.is_tls(), "{err:?}");
    let ErrorKind::Tls { message } = err.kind() else {
        panic!("not a TLS error: {err:?}");
    };
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        err.to_string().starts_with("TLS handshake failed: "),
        "{err}"
    );
    assert!(!err.is_connect());
    assert!(!err.is_retryable(), "retrying cannot make the CA trusted");
    assert!(!err.may_have_reached_server());
    // One handshake, refused, and no retry; the request was never sent.
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_same_call_succeeds_with_the_ca_added_as_pem_or_der() {
    let ca = TestCa::new("Moments test CA");
    let server = HttpsServer::start(&ca).await;

    let pem = server
        .builder()
        .add_trusted_certificate(ca.pem())
        .build()
        .unwrap();
    let reward = pem.rewards().get("rwd_tls").await.unwrap();
    assert_eq!(reward.id, "rwd_tls");

    let der = server
        .builder()
        .add_trusted_certificate(ca.der())
        .build()
        .unwrap();
    assert_eq!(der.rewards().get("rwd_tls").await.unwrap().id, "rwd_tls");

    // A client with its own connection pool keeps the added root.
    let own_pool = pem.with_own_connection_pool().unwrap();
    assert_eq!(
        own_pool.rewards().get("rwd_tls").await.unwrap().id,
        "rwd_tls"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_pem_bundle_is_read_whole_and_another_ca_does_not_help() {
    let ca = TestCa::new("Moments test CA");
    let other = TestCa::new("Some other CA");
    let server = HttpsServer::start(&ca).await;

    let err = server
        .builder()
        .add_trusted_certificate(other.pem())
        .build()
        .unwrap()
        .rewards()
        .get("rwd_tls")
        .await
        .unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);

    // Both CAs in one PEM text, with text around the blocks as openssl writes it: the second is the server's.
    let bundle = format!(
        "Bag Attributes\n    friendlyName: other\n{}\nsubject=CN = Moments test CA\n{}",
        other.pem(),
        ca.pem()
    );
    let client = server
        .builder()
        .add_trusted_certificate(bundle)
        .build()
        .unwrap();
    assert_eq!(client.rewards().get("rwd_tls").await.unwrap().id, "rwd_tls");
}

#[test]
fn bytes_that_are_not_a_certificate_fail_the_build() {
    for (bytes, expected) in [
        (b"not a certificate".to_vec(), "neither PEM nor DER"),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
            "no CERTIFICATE block",
        ),
        (
            vec![0x30, 0x03, 0x02, 0x01, 0x01],
            "not a usable CA certificate",
        ),
    ] {
        // After a good certificate, so the message must name the second one.
        let err = MomentsClient::builder()
            .add_trusted_certificate(TestCa::new("Good CA").pem())
            .add_trusted_certificate(bytes)
            .build()
            .unwrap_err();
        let ErrorKind::InvalidConfig(message) = err.kind() else {
            panic!("not a configuration error: {err:?}");
        };
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("trusted certificate #2"), "{message}");
    }
}

#[test]
fn trusted_certificates_and_a_caller_supplied_http_client_do_not_mix() {
    let ca = TestCa::new("Moments test CA");
    let err = MomentsClient::builder()
        .http_client(reqwest::Client::new())
        .add_trusted_certificate(ca.pem())
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidConfig(m) if m.contains("http_client")),
        "{err:?}"
    );
}
