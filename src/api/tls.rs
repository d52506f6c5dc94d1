//! HTTPS and WSS on the service's own listener: the certificate chain and key named by
//! `server.tls_cert` / `server.tls_key` (PEM), served with rustls on the aws-lc-rs provider.
//! `reload` reads both files again (on SIGHUP): new connections get the new certificate, open
//! ones (calls' WebSockets) keep the session they have; a file that does not load keeps the old
//! certificate in service. `watch` also reloads when the files change (checked on a timer, see
//! there).

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

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

/// What both files hold, as a digest of their bytes; `None` while one cannot be read.
fn contents(cert: &Path, key: &Path) -> Option<[u8; 32]> {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    for file in [cert, key] {
        let bytes = std::fs::read(file).ok()?;
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
    Some(digest.finalize().into())
}

/// The watcher's decision after one look at the files.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// The files hold what was last loaded (or tried).
    Same,
    /// They changed since the last look: wait one more period for the writer to finish.
    Settling,
    /// They changed and stayed the same for a whole period: load them.
    Load,
}

/// Tracks the files' contents between looks.
#[derive(Debug)]
struct Watch {
    loaded: Option<[u8; 32]>,
    seen: Option<[u8; 32]>,
}

impl Watch {
    fn look(&mut self, now: Option<[u8; 32]>) -> Look {
        if now == self.loaded {
            self.seen = now;
            return Look::Same;
        }
        if now != self.seen {
            self.seen = now;
            return Look::Settling;
        }
        // Loaded or refused, these contents are not tried again until they change.
        self.loaded = now;
        Look::Load
    }
}

impl Certificates {
    /// Reloads the certificate when the files change, checking every `every` until `stop`. A
    /// change is loaded once the files have stayed the same for a whole period (a writer still
    /// at work, or a certificate renewed before its key, is not caught half-way); files that do
    /// not load then are logged once and the certificate in service stays.
    ///
    /// A timer reading both files (a few KiB) rather than inotify: it costs nothing at this
    /// rate, needs no crate, and sees every way a certificate is replaced (written in place,
    /// renamed over, a symlink repointed as certbot's `live/` and Kubernetes' secret volumes do,
    /// a copy keeping the old mtime), where a file watch follows inodes and misses some of them.
    pub fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        let mut watch = Watch {
            loaded: contents(&self.cert, &self.key),
            seen: None,
        };
        watch.seen = watch.loaded;
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer.tick().await;
            loop {
                tokio::select! {
                    _ = timer.tick() => {}
                    () = stop.cancelled() => break,
                }
                let (cert, key) = (self.cert.clone(), self.key.clone());
                let now = tokio::task::spawn_blocking(move || contents(&cert, &key))
                    .await
                    .unwrap_or(None);
                if watch.look(now) != Look::Load {
                    continue;
                }
                match self.reload() {
                    Ok(()) => tracing::info!("files changed: TLS certificate reloaded"),
                    Err(e) => tracing::error!(
                        error = %format!("{e:#}"),
                        "files changed: the new TLS certificate does not load; the previous one \
                         stays in service"
                    ),
                }
            }
        });
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

#[cfg(test)]
mod tests {
    use super::{Look, Watch};

    #[test]
    fn a_change_is_loaded_once_it_has_held_for_a_period_and_tried_once() {
        let (a, b, c) = (Some([1; 32]), Some([2; 32]), Some([3; 32]));
        let mut w = Watch { loaded: a, seen: a };
        assert_eq!(w.look(a), Look::Same);
        // Half-written: b, then c, then c held for a period.
        assert_eq!(w.look(b), Look::Settling);
        assert_eq!(w.look(c), Look::Settling);
        assert_eq!(w.look(c), Look::Load);
        // Loaded (or refused): not tried again while the files hold it.
        assert_eq!(w.look(c), Look::Same);
        assert_eq!(w.look(c), Look::Same);
        // A file gone for a moment (renamed over) is a change like any other.
        assert_eq!(w.look(None), Look::Settling);
        assert_eq!(w.look(c), Look::Same);
        // Back to what was loaded before it settled: nothing to do.
        assert_eq!(w.look(b), Look::Settling);
        assert_eq!(w.look(c), Look::Same);
    }
}
