//! The mobile SDK's Rust surface over HTTPS: the in-process mock behind a TLS proxy whose certificate comes from a
//! CA this test generates (rcgen). The SDK refuses it (no platform trusts that CA) with a non-retryable network
//! error and no request sent, and the same calls succeed once the CA is in `ClientConfig.trusted_certificates`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use moments_client::models::CustomerTokenCreate;
use moments_ffi::{
    ActionOutcome, ClientConfig, CustomerToken, DeviceInfo, DeviceType, ErrorCode, MomentsClient,
    MomentsError, TokenProvider,
};
use moments_mock_server::MockServer;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The app's backend: a customer token minted with the mock's demo secret key.
struct Tokens {
    token: CustomerToken,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl TokenProvider for Tokens {
    async fn fetch_token(&self) -> Result<CustomerToken, MomentsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.token.clone())
    }
}

/// A CA made for this test.
fn test_ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Moments SDK test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A TLS proxy on 127.0.0.1 in front of `upstream` (plain HTTP), with a certificate for `127.0.0.1` signed by
/// `ca`. Returns its `https://` URL and the count of connections that got through the handshake.
async fn tls_proxy(
    ca: &CertifiedIssuer<'static, KeyPair>,
    upstream: SocketAddr,
) -> (String, Arc<AtomicUsize>) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
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
    let url = format!("https://{}", listener.local_addr().unwrap());
    let through = Arc::new(AtomicUsize::new(0));
    let counter = through.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused the certificate
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (url, through)
}

fn config(base_url: &str, trusted_certificates: Vec<Vec<u8>>) -> ClientConfig {
    ClientConfig {
        base_url: base_url.to_owned(),
        device: DeviceInfo {
            device_type: DeviceType::Android,
            device_id: Some("device-tls".into()),
        },
        connect_timeout_ms: 10_000,
        request_timeout_ms: 30_000,
        call_timeout_ms: 60_000,
        max_retries: 2,
        trusted_certificates,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_refuses_an_unknown_ca_and_works_with_it_added_to_the_config() {
    let mock = MockServer::start().await.expect("mock starts");
    let campaign = mock.demo().campaign_id.clone();
    let minted = moments_client::MomentsClient::builder()
        .base_url(mock.base_url())
        .secret_key(mock.demo().secret_key.clone())
        .build()
        .unwrap()
        .customer_tokens()
        .create(&CustomerTokenCreate::new("cust_tls", "US").ttl_seconds(900))
        .await
        .unwrap();
    let tokens = Arc::new(Tokens {
        token: CustomerToken {
            token: minted.token.clone(),
            expires_in_seconds: minted.expires_in_seconds,
        },
        calls: AtomicU32::new(0),
    });
    let upstream: SocketAddr = mock
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let ca = test_ca();
    let (url, through) = tls_proxy(&ca, upstream).await;

    // The platform's trust store alone: refused at the handshake, never retried, nothing reaches the mock.
    let untrusting = MomentsClient::new(config(&url, Vec::new()), tokens.clone()).unwrap();
    let err = untrusting
        .reward_info(campaign.clone(), "first_workout".into())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NetworkError, "{err:?}");
    assert!(
        err.reason().starts_with("TLS handshake failed: ")
            && err.reason().contains("UnknownIssuer"),
        "{err:?}"
    );
    assert!(!err.retryable());
    assert_eq!(through.load(Ordering::SeqCst), 0);

    // The CA added (PEM): the same calls go through the proxy to the mock.
    let trusting =
        MomentsClient::new(config(&url, vec![ca.pem().into_bytes()]), tokens.clone()).unwrap();
    let info = trusting
        .reward_info(campaign.clone(), "first_workout".into())
        .await
        .unwrap();
    assert_eq!(info.campaign_id, campaign);
    let outcome = trusting
        .report_action(campaign.clone(), "first_workout".into(), 1, None)
        .await
        .unwrap();
    assert!(
        matches!(outcome, ActionOutcome::Rewarded { .. }),
        "{outcome:?}"
    );
    assert!(through.load(Ordering::SeqCst) >= 1);

    // DER works as well.
    let der = MomentsClient::new(config(&url, vec![ca.der().to_vec()]), tokens).unwrap();
    let progress = der.my_progress(Some(campaign.clone())).await.unwrap();
    assert!(
        progress.iter().all(|p| p.campaign_id == campaign),
        "{progress:?}"
    );
}
