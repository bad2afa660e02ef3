//! The rustls client and server configurations a driver needs, from files.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Where a client's trusted CAs come from (RFC 3261 §26.3.1: the server's certificate must
/// chain to one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustAnchors {
    /// The platform's (the system certificate store), the default.
    #[default]
    Platform,
    /// Only the CA certificates of this PEM file.
    PemFile(PathBuf),
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file could not be read or parsed.
    #[error("reading {path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A certificate file held no certificate.
    #[error("no certificate in {0}")]
    NoCertificate(PathBuf),
    /// No trust anchor could be loaded (the platform store is empty or unreadable, or the
    /// PEM file's certificates were all refused).
    #[error("no trusted CA certificate could be loaded ({0})")]
    NoTrustAnchors(String),
    /// rustls refused the configuration (a key that does not match the certificate, ...).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What a driver needs for TLS: a client configuration (trust anchors) and, to accept
/// connections, a server configuration (certificate chain and key). Cheap to clone.
///
/// ```no_run
/// use sip_tls::{TlsConfig, TrustAnchors};
/// // A client that trusts the platform's CAs, and serves with a certificate from PEM files.
/// let tls = TlsConfig::client(TrustAnchors::Platform)?
///     .with_server_pem("server.pem".as_ref(), "server.key".as_ref())?;
/// # Ok::<(), sip_tls::TlsConfigError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    /// How connections we open check servers.
    pub client: Arc<ClientConfig>,
    /// How we answer connections to our TLS listeners; `None`: no listener can be bound.
    pub server: Option<Arc<ServerConfig>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

/// Two configurations are equal when they share the same rustls configurations.
impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.client, &other.client)
            && match (&self.server, &other.server) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for TlsConfig {}

/// rustls's `ring` provider: it builds with a C compiler alone, where `aws-lc-rs` needs
/// cmake. rustls marks it deprecated for lacking post-quantum key exchange, which SIP
/// peers do not offer yet; the classical suites it has are rustls's safe defaults.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_error(path: &Path, e: impl fmt::Display) -> TlsConfigError {
    TlsConfigError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Every certificate in a PEM file.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

impl TlsConfig {
    /// A configuration that opens connections checking servers against `anchors` (and
    /// accepts none until [`with_server_pem`](Self::with_server_pem)).
    pub fn client(anchors: TrustAnchors) -> Result<TlsConfig, TlsConfigError> {
        let mut roots = RootCertStore::empty();
        match &anchors {
            TrustAnchors::Platform => {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    tracing::warn!(error = %e, "a platform CA certificate could not be read");
                }
                roots.add_parsable_certificates(found.certs);
            }
            TrustAnchors::PemFile(path) => {
                roots.add_parsable_certificates(certificates(path)?);
            }
        }
        if roots.is_empty() {
            return Err(TlsConfigError::NoTrustAnchors(format!("{anchors:?}")));
        }
        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            client: Arc::new(client),
            server: None,
        })
    }

    /// A server configuration from a certificate chain and key in PEM files (see
    /// [`with_server_pem`](Self::with_server_pem)); its connections out trust the
    /// platform's CAs, or none if the platform has none (then every server is refused, with
    /// a warning logged now).
    pub fn server(cert: &Path, key: &Path) -> Result<TlsConfig, TlsConfigError> {
        let client = match TlsConfig::client(TrustAnchors::Platform) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no platform CA: outgoing TLS connections will be refused");
                TlsConfig {
                    client: Arc::new(
                        ClientConfig::builder_with_provider(provider())
                            .with_safe_default_protocol_versions()?
                            .with_root_certificates(RootCertStore::empty())
                            .with_no_client_auth(),
                    ),
                    server: None,
                }
            }
        };
        client.with_server_pem(cert, key)
    }

    /// Adds the server side: the certificate chain (leaf first) and the private key
    /// (PKCS#8, PKCS#1 or SEC1) of two PEM files, which may be the same file.
    pub fn with_server_pem(mut self, cert: &Path, key: &Path) -> Result<TlsConfig, TlsConfigError> {
        let chain = certificates(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        self.server = Some(Arc::new(server));
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, as PEM files in a fresh directory.
    fn pem_files(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("sip-tls-config-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["sip.test".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        (dir.join("cert.pem"), dir.join("key.pem"), dir)
    }

    #[test]
    fn pem_files_load_and_bad_ones_say_why() {
        let (cert, key, dir) = pem_files("ok");
        let tls = TlsConfig::client(TrustAnchors::PemFile(cert.clone()))
            .unwrap()
            .with_server_pem(&cert, &key)
            .unwrap();
        assert!(tls.server.is_some());
        assert_eq!(tls, tls.clone());

        let missing = dir.join("missing.pem");
        assert!(matches!(
            TlsConfig::client(TrustAnchors::PemFile(missing)),
            Err(TlsConfigError::Pem { .. })
        ));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(
            TlsConfig::client(TrustAnchors::PemFile(empty.clone())),
            Err(TlsConfigError::NoCertificate(p)) if p == empty
        ));
        // A key that is not the certificate's.
        let (_, other_key, other_dir) = pem_files("other");
        let e = TlsConfig::client(TrustAnchors::PemFile(cert.clone()))
            .unwrap()
            .with_server_pem(&cert, &other_key)
            .unwrap_err();
        assert!(matches!(e, TlsConfigError::Rustls(_)), "{e}");
        // A certificate file given as the key.
        let e = TlsConfig::server(&cert, &cert).unwrap_err();
        assert!(matches!(e, TlsConfigError::Pem { .. }), "{e}");
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(other_dir);
    }
}
