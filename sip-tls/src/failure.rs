//! Why a TLS handshake failed, in terms an application can act on.

use std::io;

use rustls::{AlertDescription, CertificateError};

/// Why a TLS connection could not be set up. Nothing was sent over it: the SIP message
/// waiting for it is reported as a transport error (RFC 3261 §18.4) and the failure is
/// kept by the driver for the application to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate does not name the domain (or address) we asked for
    /// (RFC 5922 §4, §7.1).
    #[error("the server certificate is not valid for {expected}")]
    NameMismatch {
        /// The domain or address the certificate had to name.
        expected: String,
    },
    /// The server's certificate has expired.
    #[error("the server certificate has expired")]
    Expired,
    /// The server's certificate is not valid yet.
    #[error("the server certificate is not valid yet")]
    NotYetValid,
    /// The server's certificate chain does not lead to a trusted CA.
    #[error("the server certificate is not issued by a trusted CA")]
    UntrustedIssuer,
    /// The server's certificate was refused for another reason.
    #[error("the server certificate was refused: {0}")]
    BadCertificate(String),
    /// The peer refused the handshake with this alert (it did not accept our side).
    #[error("the peer refused the handshake: {0}")]
    PeerAlert(String),
    /// The handshake was not completed within the handshake deadline.
    #[error("the TLS handshake did not complete in time")]
    HandshakeTimeout,
    /// Another protocol or I/O failure during the handshake (peer closed, not TLS, ...).
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
}

impl TlsFailure {
    /// Classifies a rustls error; `expected` is the name or address the certificate had to
    /// match.
    pub fn from_rustls(e: &rustls::Error, expected: &str) -> TlsFailure {
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsFailure::NameMismatch {
                    expected: expected.to_owned(),
                },
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsFailure::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsFailure::NotYetValid
                }
                CertificateError::UnknownIssuer => TlsFailure::UntrustedIssuer,
                other => TlsFailure::BadCertificate(format!("{other:?}")),
            },
            rustls::Error::AlertReceived(a) => TlsFailure::PeerAlert(alert_name(*a)),
            other => TlsFailure::Handshake(other.to_string()),
        }
    }

    /// Classifies an I/O error from a TLS stream (tokio-rustls wraps rustls errors in
    /// `io::Error`).
    pub fn from_io(e: &io::Error, expected: &str) -> TlsFailure {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(r) => TlsFailure::from_rustls(r, expected),
            None => TlsFailure::Handshake(e.to_string()),
        }
    }
}

fn alert_name(a: AlertDescription) -> String {
    format!("{a:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_are_named() {
        let cert = |c| rustls::Error::InvalidCertificate(c);
        assert_eq!(
            TlsFailure::from_rustls(&cert(CertificateError::NotValidForName), "a.example"),
            TlsFailure::NameMismatch {
                expected: "a.example".into()
            }
        );
        assert_eq!(
            TlsFailure::from_rustls(&cert(CertificateError::Expired), "x"),
            TlsFailure::Expired
        );
        assert_eq!(
            TlsFailure::from_rustls(&cert(CertificateError::UnknownIssuer), "x"),
            TlsFailure::UntrustedIssuer
        );
        assert_eq!(
            TlsFailure::from_rustls(
                &rustls::Error::AlertReceived(AlertDescription::BadCertificate),
                "x"
            ),
            TlsFailure::PeerAlert("BadCertificate".into())
        );
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            cert(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            TlsFailure::from_io(&wrapped, "x"),
            TlsFailure::UntrustedIssuer
        );
        assert!(matches!(
            TlsFailure::from_io(&io::Error::from(io::ErrorKind::UnexpectedEof), "x"),
            TlsFailure::Handshake(_)
        ));
        assert_eq!(
            TlsFailure::Expired.to_string(),
            "the server certificate has expired"
        );
    }
}
