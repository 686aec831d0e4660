//! TLS: server certificates are checked by the platform's verifier, plus the application's extra roots.
//!
//! [`rustls_platform_verifier`] asks the operating system: the Android trust manager (system and
//! user-installed CAs, the app's network security config), Apple's `Security.framework` (keychain and
//! MDM-installed roots), the Windows certificate store, and on Linux the system CA bundle. Certificates
//! given to [`ClientBuilder::add_trusted_certificate`](crate::ClientBuilder::add_trusted_certificate)
//! are trusted on top of those on every platform (the platform verifier itself cannot take extra roots on
//! Android): a chain the platform refuses is accepted when it leads to one of them.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

/// A certificate given to the builder: PEM (one or more `CERTIFICATE` blocks) or DER.
#[derive(Clone)]
pub(crate) struct TrustedCertificate(pub(crate) Vec<u8>);

impl fmt::Debug for TrustedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedCertificate({} bytes)", self.0.len())
    }
}

/// Parses the builder's certificates into DER, each with its place among them (from 1, for messages): a PEM
/// text (anything holding a `-----BEGIN` line) may hold several; other bytes are taken as one DER certificate.
fn parse(certs: &[TrustedCertificate]) -> Result<Vec<(usize, CertificateDer<'static>)>, Error> {
    let mut out = Vec::new();
    for (i, TrustedCertificate(bytes)) in certs.iter().enumerate() {
        let n = i + 1;
        if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            let before = out.len();
            for cert in CertificateDer::pem_slice_iter(bytes) {
                let cert = cert.map_err(|e| {
                    Error::config(format!("trusted certificate #{n}: unreadable PEM: {e}"))
                })?;
                out.push((n, cert));
            }
            if out.len() == before {
                return Err(Error::config(format!(
                    "trusted certificate #{n}: the PEM text has no CERTIFICATE block"
                )));
            }
        } else if bytes.first() == Some(&0x30) {
            // A DER certificate is an ASN.1 SEQUENCE; the root store checks the rest below.
            out.push((n, CertificateDer::from(bytes.clone())));
        } else {
            return Err(Error::config(format!(
                "trusted certificate #{n} is neither PEM nor DER"
            )));
        }
    }
    Ok(out)
}

/// The rustls configuration of every client this crate builds: ring, TLS 1.2 and 1.3, the platform
/// verifier plus `extra` roots, ALPN for the HTTP versions compiled in.
pub(crate) fn client_config(extra: &[TrustedCertificate]) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = if extra.is_empty() {
        None
    } else {
        let mut roots = RootCertStore::empty();
        for (n, cert) in parse(extra)? {
            roots.add(cert).map_err(|e| {
                Error::config(format!(
                    "trusted certificate #{n}: not a usable CA certificate: {e}"
                ))
            })?;
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| Error::config(format!("trusted certificates: {e}")))?;
        Some(verifier)
    };
    let verifier = PlatformVerifier {
        provider: provider.clone(),
        platform: OnceLock::new(),
        extra,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![
        #[cfg(feature = "http2")]
        b"h2".to_vec(),
        b"http/1.1".to_vec(),
    ];
    Ok(config)
}

/// The platform verifier, made on the first handshake (so a client that only speaks plain HTTP, or a
/// Linux machine without a CA bundle, still builds), and the extra roots.
struct PlatformVerifier {
    provider: Arc<CryptoProvider>,
    platform: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
    extra: Option<Arc<WebPkiServerVerifier>>,
}

impl fmt::Debug for PlatformVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformVerifier")
            .field("extra_roots", &self.extra.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for PlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let platform = self
            .platform
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()));
        let refused = match platform {
            Ok(verifier) => match verifier.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(verified) => return Ok(verified),
                Err(e) => e,
            },
            Err(e) => e.clone(),
        };
        let Some(extra) = &self.extra else {
            return Err(refused);
        };
        match extra.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            // The platform's reason when it had one (it knows more roots); else the extra roots' own.
            Err(e) if platform.is_err() => Err(e),
            Err(_) => Err(refused),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls error behind a reqwest error, if the failure was TLS's (a refused certificate, a failed
/// handshake). An `io::Error` hides the error it wraps from `source()` (and the TLS connector wraps one
/// `io::Error` in another), so each is opened by hand.
pub(crate) fn rustls_cause(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}
