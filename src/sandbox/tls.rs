//! The sandbox's certificates, made in memory at start with rcgen: a CA
//! ("Postscope sandbox CA") and a server certificate signed by it for
//! `localhost`, `127.0.0.1` and `::1`. Nothing is read from or written to
//! disk here; a new pair is made every time the sandbox starts.

use std::sync::Arc;
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA (for clients to trust) and the TLS setup that serves the leaf.
pub(crate) struct Certs {
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The rustls server setup with the leaf certificate and its key.
    pub server: Arc<ServerConfig>,
}

impl Certs {
    /// Makes a fresh CA and leaf.
    pub fn generate() -> Result<Certs, String> {
        let err = |e: rcgen::Error| e.to_string();
        let year = this_year();

        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.distinguished_name = DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Postscope sandbox CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Postscope (local sandbox)");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = date_time_ymd(year - 1, 1, 1);
        ca_params.not_after = date_time_ymd(year + 10, 1, 1);
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().map_err(err)?;
        let mut leaf_params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .map_err(err)?;
        leaf_params.distinguished_name = DistinguishedName::new();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.use_authority_key_identifier_extension = true;
        // Two years at most (some platforms refuse longer-lived server
        // certificates), and at least one year from now.
        leaf_params.not_before = date_time_ymd(year, 1, 1);
        leaf_params.not_after = date_time_ymd(year + 2, 1, 1);
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;

        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
                .map_err(|e| e.to_string())?;

        Ok(Certs {
            ca_der: CertificateDer::as_ref(ca_cert.der()).to_vec(),
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        })
    }
}

/// The current year (UTC).
fn this_year() -> i32 {
    let now = crate::clock::unix_secs(SystemTime::now());
    crate::clock::at(now, time::UtcOffset::UTC).year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_ca_and_a_server_setup() {
        let certs = Certs::generate().unwrap();
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!certs.ca_der.is_empty());
        assert!(rustls::ServerConnection::new(certs.server.clone()).is_ok());
        assert!(this_year() >= 2025);
    }
}
