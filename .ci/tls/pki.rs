//! Certificates for the TLS tests, made at test time with rcgen and written to a fresh
//! temporary directory (never committed): a CA, a server certificate it signs for the
//! given names, and the failure cases (a wrong name, an expired certificate, a
//! certificate from a CA nobody trusts). Included by the tests with `#[path]`.

#![allow(dead_code)] // each test uses the part it needs

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, date_time_ymd,
};

/// A directory of PEM files, removed when dropped.
pub struct Pki {
    pub dir: PathBuf,
    /// The CA certificate the tests trust.
    pub ca: PathBuf,
    ca_params: CertificateParams,
    ca_key: String,
}

/// A certificate and its key, as PEM files.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How a leaf certificate is made.
pub enum Kind {
    /// Valid now, signed by the trusted CA.
    Good,
    /// Validity entirely in the past (2020), signed by the trusted CA.
    Expired,
    /// Valid now, signed by a CA that is not the trusted one.
    Untrusted,
}

impl Pki {
    /// A new CA in a new temporary directory named after `tag`.
    pub fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("sip-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let (ca_pem, ca_params, ca_key) = ca_pair("sip test CA");
        std::fs::write(&ca, ca_pem).unwrap();
        Pki {
            dir,
            ca,
            ca_params,
            ca_key,
        }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses), written as
    /// `<file>.pem` and `<file>.key`.
    pub fn leaf(&self, file: &str, names: &[&str], kind: Kind) -> Leaf {
        let (ca_params, ca_key) = match kind {
            Kind::Untrusted => {
                let (_, p, k) = ca_pair("rogue CA");
                (p, k)
            }
            _ => (self.ca_params.clone(), self.ca_key.clone()),
        };
        let issuer = rcgen::Issuer::new(ca_params, KeyPair::from_pem(&ca_key).unwrap());
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if let Kind::Expired = kind {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let leaf = Leaf {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
        };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA: its certificate in PEM, its parameters and its key in PEM.
fn ca_pair(name: &str) -> (String, CertificateParams, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let key_pem = key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(params.clone(), key).unwrap();
    (ca.pem(), params, key_pem)
}
