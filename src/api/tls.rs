//! HTTPS and WSS on the service's own listener: the certificate chain and key named by
//! `server.tls_cert` / `server.tls_key` (PEM), served with rustls on the aws-lc-rs provider.
//! `reload` reads both files again (on SIGHUP): new connections get the new certificate, open
//! ones (calls' WebSockets) keep the session they have; a file that does not load keeps the old
//! certificate in service.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// The certificate in service, and where it is read from.
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<TlsAcceptor>,
}

impl Certificates {
    /// Reads the PEM chain and key; fails naming the file that does not load.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> anyhow::Result<Arc<Self>> {
        let (cert, key) = (cert.into(), key.into());
        let acceptor = acceptor(&cert, &key)?;
        Ok(Arc::new(Self {
            cert,
            key,
            current: RwLock::new(acceptor),
        }))
    }

    /// Reads both files again and serves them to new connections; on an error the certificate
    /// in service stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let acceptor = acceptor(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = acceptor;
        Ok(())
    }

    /// The acceptor for the next connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("no PEM certificate in {}", cert.display());
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .with_context(|| {
            format!(
                "the key {} does not fit the certificate {}",
                key.display(),
                cert.display()
            )
        })?;
    // HTTP/1.1 only, like the plain listener (WebSocket upgrades need it).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
