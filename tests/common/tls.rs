//! A test certificate authority (rcgen) for the HTTPS tests: it issues the node's certificates
//! for 127.0.0.1 into a directory, gives their key's SPKI hash for Chromium to accept, and makes
//! verified TLS connections that report the certificate the node presented.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::client::TlsStream;

/// A test CA, trusted by the test's clients, that issues the node's certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("ca key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca certificate"),
        }
    }

    /// Writes a certificate for 127.0.0.1 and its key as `cert.pem` / `key.pem` in `dir`;
    /// returns the certificate's DER, to recognise it on the wire.
    pub fn issue(&self, dir: &Path) -> CertificateDer<'static> {
        self.issue_with_spki(dir).0
    }

    /// `issue`, and the base64 SHA-256 of the certificate's public key, as Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it.
    pub fn issue_with_spki(&self, dir: &Path) -> (CertificateDer<'static>, String) {
        use base64::Engine;
        use rcgen::PublicKeyData;
        use sha2::Digest;
        let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write cert");
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write key");
        let spki = sha2::Sha256::digest(key.subject_public_key_info());
        let spki = base64::engine::general_purpose::STANDARD.encode(spki);
        (cert.der().clone(), spki)
    }

    pub fn client(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).expect("root");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// A verified TLS connection to `addr`, and the certificate the node presented.
    pub async fn connect(&self, addr: SocketAddr) -> (TlsStream<tokio::net::TcpStream>, Vec<u8>) {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
        let name = ServerName::IpAddress(addr.ip().into());
        let tls = self
            .client()
            .connect(name, tcp)
            .await
            .expect("tls handshake");
        let presented = tls
            .get_ref()
            .1
            .peer_certificates()
            .expect("peer certificate")[0]
            .to_vec();
        (tls, presented)
    }
}
