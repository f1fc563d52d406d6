//! Which servers the client trusts: the system's roots plus an optional extra CA file, as one
//! rustls configuration that REST and the WebSocket both use; and how a refused handshake is
//! explained to the user.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};

/// The system's trust roots, read once per process.
static SYSTEM_ROOTS: LazyLock<RootCertStore> = LazyLock::new(|| {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
});

/// A CA file that cannot be used: a settings error, reported before connecting.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read the CA file {path}: {source}")]
    Read {
        /// The file as given.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not PEM.
    #[error("the CA file {path} is not a PEM certificate file: {source}")]
    NotPem {
        /// The file as given.
        path: PathBuf,
        /// The PEM parser's error.
        source: rustls::pki_types::pem::Error,
    },
    /// The file holds no certificate rustls accepts as a trust anchor.
    #[error("the CA file {path} holds no usable CA certificate (BEGIN CERTIFICATE)")]
    NoCertificate {
        /// The file as given.
        path: PathBuf,
    },
}

/// The roots a client trusts and the rustls configuration built from them.
#[derive(Clone)]
pub struct Trust {
    ca_file: Option<PathBuf>,
    config: Arc<rustls::ClientConfig>,
}

impl Trust {
    /// Only the system's roots.
    pub fn system() -> Self {
        static SYSTEM: LazyLock<Trust> = LazyLock::new(|| Trust {
            ca_file: None,
            config: client_config(SYSTEM_ROOTS.clone()),
        });
        SYSTEM.clone()
    }

    /// The system's roots plus every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self, TrustError> {
        let pem = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.to_owned(),
            source,
        })?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TrustError::NotPem {
                path: path.to_owned(),
                source,
            })?;
        let mut roots = SYSTEM_ROOTS.clone();
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(TrustError::NoCertificate {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            ca_file: Some(path.to_owned()),
            config: client_config(roots),
        })
    }

    /// The extra CA file, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The rustls configuration to give to the HTTP and WebSocket clients.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.ca_file {
            Some(path) => write!(f, "Trust(system + {})", path.display()),
            None => write!(f, "Trust(system)"),
        }
    }
}

impl PartialEq for Trust {
    fn eq(&self, other: &Self) -> bool {
        self.ca_file == other.ca_file
    }
}

fn client_config(roots: RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS handshake the server's certificate failed: never retried, never bypassed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("TLS to {server} failed: {reason}{}", hint(*.untrusted))]
pub struct TlsFailure {
    /// `host:port` of the server.
    pub server: String,
    /// What was wrong with the certificate or the handshake.
    pub reason: String,
    /// Whether the certificate's issuer is unknown (so giving the CA would help).
    pub untrusted: bool,
}

/// The first rustls error in `error`'s chain; I/O errors hide theirs from `source()`, so their
/// payload is searched too.
fn rustls_error_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(rustls_error) = error.downcast_ref::<rustls::Error>() {
        return Some(rustls_error);
    }
    if let Some(io_error) = error.downcast_ref::<io::Error>()
        && let Some(inner) = io_error.get_ref()
        && let Some(found) = rustls_error_in(inner)
    {
        return Some(found);
    }
    error.source().and_then(rustls_error_in)
}

fn hint(untrusted: bool) -> &'static str {
    if untrusted {
        "; give the room's CA with NEKO_CA_FILE / --ca-file (element property ca-file)"
    } else {
        ""
    }
}

impl TlsFailure {
    /// Finds a rustls error in `error`'s chain (looking inside I/O errors too) and explains it.
    pub fn find(server: String, error: &(dyn std::error::Error + 'static)) -> Option<Self> {
        rustls_error_in(error).map(|rustls_error| Self::explain(server, rustls_error))
    }

    fn explain(server: String, error: &rustls::Error) -> Self {
        let (reason, untrusted) = match error {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => (
                "certificate is not trusted (UnknownIssuer)".to_owned(),
                true,
            ),
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => (
                "certificate is not valid for this host name (NotValidForName); connect with a name or address the certificate lists".to_owned(),
                false,
            ),
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            ) => ("certificate has expired (Expired)".to_owned(), false),
            rustls::Error::InvalidCertificate(other) => {
                (format!("certificate was refused ({other:?})"), false)
            }
            other => (other.to_string(), false),
        };
        Self {
            server,
            reason,
            untrusted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_garbage_ca_file_is_a_settings_error() {
        let missing = Trust::with_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(missing, TrustError::Read { .. }), "{missing}");
        assert!(missing.to_string().contains("/nonexistent/ca.pem"));
        let dir = std::env::temp_dir().join(format!("neko-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate at all\n").unwrap();
        let err = Trust::with_ca_file(&garbage).unwrap_err();
        assert!(matches!(err, TrustError::NoCertificate { .. }), "{err}");
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Trust::with_ca_file(&broken).unwrap_err();
        assert!(
            matches!(
                err,
                TrustError::NotPem { .. } | TrustError::NoCertificate { .. }
            ),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failures_inside_io_errors_are_explained() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io_error = io::Error::new(io::ErrorKind::InvalidData, inner);
        let failure = TlsFailure::find("127.0.0.1:8443".into(), &io_error).unwrap();
        assert_eq!(
            failure.to_string(),
            "TLS to 127.0.0.1:8443 failed: certificate is not trusted (UnknownIssuer); give the room's CA with NEKO_CA_FILE / --ca-file (element property ca-file)"
        );
        let other = io::Error::other("connection refused");
        assert_eq!(TlsFailure::find("h:1".into(), &other), None);
    }
}
