//! TLS with rustls (ring provider only): the client configuration — system
//! roots through rustls-platform-verifier, an optional private CA, and the
//! loudly named insecure mode — and what a handshake tells us ([`TlsInfo`]:
//! version, cipher, the certificate chain and whether it was verified).
//!
//! The verifier is wrapped so the chain is recorded even when verification
//! fails: the probe can then show *why* a certificate was refused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

/// How to check the server's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of CA certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// CA certificates (DER) to trust besides the system's, such as the
    /// local sandbox's in-memory CA.
    pub extra_roots: Vec<Vec<u8>>,
    /// Accept any certificate (the result of the check is still reported).
    pub dangerous_accept_invalid_certs: bool,
}

/// Why TLS could not be set up before connecting.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The system's trusted roots could not be loaded.
    #[error(
        "cannot load the system's trusted certificates: {0}; install ca-certificates or trust a private CA file"
    )]
    Roots(String),
}

/// Reads every certificate from a PEM file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let err = |reason: String| TlsSetupError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err(
            "it contains no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration for one connection, with the recorder that will
/// hold the server's chain after the handshake.
pub struct ClientSetup {
    /// The rustls configuration.
    pub config: Arc<ClientConfig>,
    recorder: Arc<Recorder>,
}

impl ClientSetup {
    /// Builds the configuration. Reads the CA file and the system roots, so
    /// call it once per connection, before connecting.
    pub fn new(options: &TlsOptions) -> Result<ClientSetup, TlsSetupError> {
        let provider = provider();
        let mut extra = match &options.ca_file {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        extra.extend(
            options
                .extra_roots
                .iter()
                .map(|der| CertificateDer::from(der.clone())),
        );
        let inner =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>);
        let inner = match inner {
            Ok(v) => Ok(v),
            Err(e) if options.dangerous_accept_invalid_certs => Err(e.to_string()),
            Err(e) => return Err(TlsSetupError::Roots(e.to_string())),
        };
        let recorder = Arc::new(Recorder {
            inner,
            provider: provider.clone(),
            insecure: options.dangerous_accept_invalid_certs,
            seen: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Roots(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        Ok(ClientSetup {
            config: Arc::new(config),
            recorder,
        })
    }

    /// After a handshake (successful or not): what was learnt about the
    /// server's certificate.
    pub fn certificate_report(&self) -> Option<(Vec<CertSummary>, Verification)> {
        let seen = self.recorder.seen.lock().ok()?.clone()?;
        let chain = seen.0.iter().map(|c| CertSummary::from_der(c)).collect();
        Some((chain, seen.1))
    }

    /// The TLS summary of an established connection.
    pub fn info(&self, conn: &rustls::ClientConnection, server_name: &str) -> TlsInfo {
        let (chain, verification) = self.certificate_report().unwrap_or_else(|| {
            (
                Vec::new(),
                Verification::NotVerified {
                    reason: "no certificate seen".into(),
                },
            )
        });
        TlsInfo {
            version: conn
                .protocol_version()
                .map(|v| v.as_str().unwrap_or("unknown").replace('_', "."))
                .unwrap_or_else(|| "unknown".into()),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|c| c.suite().as_str().unwrap_or("unknown").to_owned())
                .unwrap_or_else(|| "unknown".into()),
            key_exchange: conn
                .negotiated_key_exchange_group()
                .map(|g| format!("{:?}", g.name())),
            server_name: server_name.to_owned(),
            verification,
            chain,
        }
    }
}

/// The result of checking the certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verification {
    /// The chain leads to a trusted root and names the server.
    Verified,
    /// It does not, and `--insecure` let the connection go on anyway.
    NotVerified {
        /// Why it failed.
        reason: String,
    },
}

/// What TLS gave us on one connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TlsInfo {
    /// E.g. "TLSv1.3".
    pub version: String,
    /// E.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher: String,
    /// The key exchange group, e.g. "X25519" (as `openssl s_client` prints
    /// "Server Temp Key").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_exchange: Option<String>,
    /// The name the certificate was checked against.
    pub server_name: String,
    /// The verification result.
    pub verification: Verification,
    /// The chain the server presented, leaf first.
    pub chain: Vec<CertSummary>,
}

impl TlsInfo {
    /// One line for the transcript.
    pub fn summary(&self) -> String {
        let verified = match &self.verification {
            Verification::Verified => "verified".to_string(),
            Verification::NotVerified { .. } => "NOT verified".to_string(),
        };
        match self.chain.first() {
            Some(leaf) => format!(
                "{}, {}; certificate {} issued by {}, expires {} ({} days), {verified}",
                self.version,
                self.cipher,
                leaf.subject,
                leaf.issuer,
                leaf.not_after,
                leaf.days_left
            ),
            None => format!("{}, {}, {verified}", self.version, self.cipher),
        }
    }

    /// Lines the transcript shows as warnings.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Verification::NotVerified { reason } = &self.verification {
            out.push(format!(
                "WARNING: the server's certificate was NOT verified (certificate checks are off): {reason}. \
                 Anyone on the path could be reading this connection."
            ));
        }
        if let Some(leaf) = self.chain.first()
            && (0..=14).contains(&leaf.days_left)
        {
            out.push(format!(
                "WARNING: the server's certificate expires in {} days",
                leaf.days_left
            ));
        }
        out
    }
}

/// The parts of one certificate a person checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses it is valid for.
    pub subject_alt_names: Vec<String>,
    /// Start of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_before: String,
    /// End of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: String,
    /// Whole days until it expires (negative when expired).
    pub days_left: i64,
    /// The serial number, hex.
    pub serial: String,
    /// SHA-256 of the DER, hex with colons.
    pub sha256: String,
    /// The public key, e.g. "RSA 2048 bits" or "EC 256 bits".
    pub public_key: String,
    /// How the issuer signed it, e.g. "sha256WithRSAEncryption".
    pub signature: String,
    /// True for a CA certificate.
    pub is_ca: bool,
}

impl CertSummary {
    /// Parses a DER certificate; a certificate that cannot be parsed still
    /// gets a summary with its fingerprint.
    pub fn from_der(der: &[u8]) -> CertSummary {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let sha256 = digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => {
                let mut sans = Vec::new();
                if let Ok(Some(ext)) = cert.subject_alternative_name() {
                    for name in &ext.value.general_names {
                        use x509_parser::extensions::GeneralName;
                        match name {
                            GeneralName::DNSName(d) => sans.push(d.to_string()),
                            GeneralName::IPAddress(ip) => sans.push(format_ip(ip)),
                            GeneralName::RFC822Name(m) => sans.push(format!("email:{m}")),
                            GeneralName::URI(u) => sans.push(format!("uri:{u}")),
                            _ => {}
                        }
                    }
                }
                let not_after = cert.validity().not_after.timestamp();
                CertSummary {
                    subject: cert.subject().to_string(),
                    issuer: cert.issuer().to_string(),
                    subject_alt_names: sans,
                    not_before: format_utc(cert.validity().not_before.timestamp()),
                    not_after: format_utc(not_after),
                    days_left: (not_after - now).div_euclid(86_400),
                    serial: cert.raw_serial_as_string(),
                    sha256,
                    public_key: public_key(cert.public_key()),
                    signature: x509_parser::objects::oid2sn(
                        &cert.signature_algorithm.algorithm,
                        x509_parser::objects::oid_registry(),
                    )
                    .map(str::to_owned)
                    .unwrap_or_else(|_| cert.signature_algorithm.algorithm.to_id_string()),
                    is_ca: cert.is_ca(),
                }
            }
            Err(e) => CertSummary {
                subject: format!("(unparseable certificate: {e})"),
                issuer: String::new(),
                subject_alt_names: Vec::new(),
                not_before: String::new(),
                not_after: String::new(),
                days_left: 0,
                serial: String::new(),
                sha256,
                public_key: String::new(),
                signature: String::new(),
                is_ca: false,
            },
        }
    }
}

fn public_key(info: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    match info.parsed() {
        Ok(key @ PublicKey::RSA(_)) => format!("RSA {} bits", key.key_size()),
        Ok(key @ PublicKey::EC(_)) => format!("EC {} bits", key.key_size()),
        Ok(key @ PublicKey::DSA(_)) => format!("DSA {} bits", key.key_size()),
        _ => x509_parser::objects::oid2sn(
            &info.algorithm.algorithm,
            x509_parser::objects::oid_registry(),
        )
        .map(str::to_owned)
        .unwrap_or_else(|_| info.algorithm.algorithm.to_id_string()),
    }
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("{bytes:02x?}"),
    }
}

pub use crate::clock::format_utc;

/// Turns a rustls error into a sentence that says what to do.
pub fn explain(error: &rustls::Error, host: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => {
            let what = match cert {
                CertificateError::UnknownIssuer => {
                    "the certificate was issued by a CA this machine does not trust".to_string()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    format!(
                        "the certificate is not valid for the name {host}; connect with a name it lists"
                    )
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the certificate has expired".to_string()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "the certificate is not valid yet (check this machine's clock)".to_string()
                }
                CertificateError::Revoked => "the certificate has been revoked".to_string(),
                other => format!("the certificate was rejected: {other:?}"),
            };
            format!("invalid server certificate: {what}")
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the handshake with the alert {alert:?}")
        }
        other => other.to_string(),
    }
}

/// Records the chain and the verification result, then delegates.
#[derive(Debug)]
struct Recorder {
    /// The real verifier, or why none could be made (only in insecure mode).
    inner: Result<Arc<dyn ServerCertVerifier>, String>,
    provider: Arc<CryptoProvider>,
    insecure: bool,
    seen: Mutex<Option<(Vec<CertificateDer<'static>>, Verification)>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = match &self.inner {
            Ok(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Err(reason) => Err(rustls::Error::General(format!(
                "no trusted roots: {reason}"
            ))),
        };
        let verification = match &result {
            Ok(_) => Verification::Verified,
            Err(e) => Verification::NotVerified {
                reason: explain(e, &server_name.to_str()),
            },
        };
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, verification));
        }
        match result {
            Ok(v) => Ok(v),
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_errors_name_the_file() {
        let e = read_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        let dir = std::env::temp_dir().join(format!("postscope-ca-test-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let e = read_ca_file(&dir).unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn ip_sans() {
        assert_eq!(format_ip(&[127, 0, 0, 1]), "127.0.0.1");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(format_ip(&v6), "::1");
    }
}
