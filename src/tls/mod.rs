//! TLS for every network output: builds a rustls client configuration from a `tls:` block
//! (PEM CA bundle, client certificate and key in PKCS#8, PKCS#1 or SEC1, `server_name`,
//! `verify: full | certificate | none`, `min_version`), connects, and turns every rustls/webpki
//! failure into one line that names the file or the peer and what failed.

pub mod config;

pub use config::{TlsConfig, TlsVerify, TlsVersion};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, Error,
    PeerIncompatible, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A ready client side: the rustls configuration plus what is needed to explain failures.
pub struct TlsClient {
    config: Arc<ClientConfig>,
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
    /// The configured client certificate file, if any.
    client_cert: Option<PathBuf>,
    /// Where trusted CAs come from, for "unknown CA" messages.
    trust: String,
    min_version: TlsVersion,
}

/// One problem with a `tls:` block: the YAML key it belongs to and the message.
#[derive(Debug)]
pub struct TlsConfigError {
    pub key: &'static str,
    pub message: String,
}

/// Makes ring the process-wide rustls provider (HTTP clients built without a TLS block of ours
/// ask for it). Called once at start.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|e| TlsConfigError {
        key,
        message: format!("{}: cannot read: {e}", path.display()),
    })
}

fn read_certs(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let bytes = read_file(key, path)?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        match item {
            Ok(c) => certs.push(c),
            Err(e) => {
                return Err(TlsConfigError {
                    key,
                    message: format!("{}: invalid PEM: {e}", path.display()),
                })
            }
        }
    }
    if certs.is_empty() {
        return Err(TlsConfigError {
            key,
            message: format!(
                "{}: no certificate in the file (expected PEM `-----BEGIN CERTIFICATE-----` blocks)",
                path.display()
            ),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let bytes = read_file("key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsConfigError {
        key: "key",
        message: format!(
            "{}: no usable private key (expected PEM PKCS#8, PKCS#1 or SEC1): {e}",
            path.display()
        ),
    })
}

impl TlsClient {
    /// Loads every file the block names; each problem names its file and what is wrong.
    pub fn build(cfg: &TlsConfig) -> Result<TlsClient, Vec<TlsConfigError>> {
        let mut errors = Vec::new();
        let provider = provider();
        let versions: &[&rustls::SupportedProtocolVersion] = match cfg.min_version {
            TlsVersion::V1_2 => rustls::ALL_VERSIONS,
            TlsVersion::V1_3 => &[&rustls::version::TLS13],
        };
        let mut roots = RootCertStore::empty();
        let trust = match &cfg.ca {
            Some(ca) => {
                match read_certs("ca", ca) {
                    Ok(certs) => {
                        for c in certs {
                            if let Err(e) = roots.add(c) {
                                errors.push(TlsConfigError {
                                    key: "ca",
                                    message: format!(
                                        "{}: not a usable CA certificate: {e}",
                                        ca.display()
                                    ),
                                });
                            }
                        }
                    }
                    Err(e) => errors.push(e),
                }
                format!("tls.ca {}", ca.display())
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    let _ = roots.add(c);
                }
                "the system CA store (set tls.ca)".to_string()
            }
        };
        let identity = match (&cfg.cert, &cfg.key) {
            (Some(cert), Some(key)) => match (read_certs("cert", cert), read_key(key)) {
                (Ok(chain), Ok(k)) => {
                    match rustls::sign::CertifiedKey::from_der(
                        chain.clone(),
                        k.clone_key(),
                        &provider,
                    ) {
                        Ok(_) => Some((chain, k)),
                        Err(Error::InconsistentKeys(_)) => {
                            errors.push(TlsConfigError {
                                key: "key",
                                message: format!(
                                    "{} does not match the certificate {}",
                                    key.display(),
                                    cert.display()
                                ),
                            });
                            None
                        }
                        Err(e) => {
                            errors.push(TlsConfigError {
                                key: "key",
                                message: format!("{}: unusable key: {e}", key.display()),
                            });
                            None
                        }
                    }
                }
                (a, b) => {
                    errors.extend(a.err());
                    errors.extend(b.err());
                    None
                }
            },
            (Some(_), None) => {
                errors.push(TlsConfigError {
                    key: "key",
                    message: "tls.cert is set but tls.key is not: both are needed".into(),
                });
                None
            }
            (None, Some(_)) => {
                errors.push(TlsConfigError {
                    key: "cert",
                    message: "tls.key is set but tls.cert is not: both are needed".into(),
                });
                None
            }
            (None, None) => None,
        };
        let server_name = match &cfg.server_name {
            Some(n) => match ServerName::try_from(n.clone()) {
                Ok(s) => Some(s),
                Err(_) => {
                    errors.push(TlsConfigError {
                        key: "server_name",
                        message: format!("{n:?} is not a valid DNS name or IP address"),
                    });
                    None
                }
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let builder = match ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
        {
            Ok(b) => b,
            Err(e) => {
                return Err(vec![TlsConfigError {
                    key: "min_version",
                    message: format!("unusable: {e}"),
                }])
            }
        };
        let builder = match cfg.verify {
            TlsVerify::Full | TlsVerify::Certificate if roots.is_empty() => {
                return Err(vec![TlsConfigError {
                    key: "ca",
                    message: format!("no trusted CA certificates found in {trust}"),
                }])
            }
            TlsVerify::Full | TlsVerify::Certificate => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| {
                            vec![TlsConfigError {
                                key: "ca",
                                message: format!("{trust}: {e}"),
                            }]
                        })?;
                if cfg.verify == TlsVerify::Full {
                    builder.with_webpki_verifier(webpki)
                } else {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(SkipHostName { inner: webpki }))
                }
            }
            // Warned about by name in check-config, test-output and the run log
            // (`Config::warnings`).
            TlsVerify::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone()))),
        };
        let config = match identity {
            Some((chain, k)) => builder.with_client_auth_cert(chain, k).map_err(|e| {
                vec![TlsConfigError {
                    key: "key",
                    message: format!("unusable certificate or key: {e}"),
                }]
            })?,
            None => builder.with_no_client_auth(),
        };
        let config = Arc::new(config);
        Ok(TlsClient {
            connector: TlsConnector::from(config.clone()),
            config,
            server_name,
            client_cert: cfg.cert.clone(),
            trust,
            min_version: cfg.min_version,
        })
    }

    /// `build` with every problem in one line (`tls.ca: ...; tls.key: ...`).
    pub fn build_one_line(cfg: &TlsConfig) -> Result<TlsClient, String> {
        TlsClient::build(cfg).map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("tls.{}: {}", e.key, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The rustls configuration, for clients that run their own connections (HTTP).
    pub fn client_config(&self) -> ClientConfig {
        (*self.config).clone()
    }

    /// One line for an error from a client library: the first rustls error among its sources
    /// explained, else the chain of causes.
    pub fn explain_chain(&self, e: &(dyn std::error::Error + 'static)) -> Option<String> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(tls) = err.downcast_ref::<Error>() {
                return Some(self.explain(tls));
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
                    return Some(self.explain(tls));
                }
            }
            cur = err.source();
        }
        None
    }

    /// Completes the handshake over `tcp`; `host` is the host part of the address dialled.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> Result<TlsStream<TcpStream>, String> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_string())
                .map_err(|_| format!("{host:?} is not a valid server name; set tls.server_name"))?,
        };
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {}", self.explain_io(&e)))
    }

    /// One line for an I/O error on a TLS stream (handshake or later, e.g. the server refusing
    /// our client certificate after a TLS 1.3 handshake).
    pub fn explain_io(&self, e: &std::io::Error) -> String {
        match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            Some(tls) => self.explain(tls),
            None => e.to_string(),
        }
    }

    /// One line for a rustls error, in the words of the person who has to fix it.
    pub fn explain(&self, e: &Error) -> String {
        let refused = |alert: &AlertDescription| {
            match &self.client_cert {
            None => format!(
                "the server requires a client certificate and none is configured (set tls.cert and tls.key; alert {alert:?})"
            ),
            Some(cert) => format!(
                "the server refused our client certificate {} (alert {alert:?}: is it signed by a CA the server trusts, and still valid?)",
                cert.display()
            ),
        }
        };
        match e {
            Error::InvalidCertificate(c) => self.explain_cert(c),
            Error::AlertReceived(
                a @ (AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateRevoked
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::AccessDenied),
            ) => refused(a),
            Error::AlertReceived(a @ AlertDescription::HandshakeFailure)
                if self.client_cert.is_none() =>
            {
                refused(a)
            }
            Error::AlertReceived(AlertDescription::ProtocolVersion)
            | Error::PeerIncompatible(
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig,
            ) => format!(
                "no TLS version in common with the server (we accept TLS {} and later: tls.min_version)",
                self.min_version
            ),
            other => format!("TLS error: {other}"),
        }
    }

    fn explain_cert(&self, c: &CertificateError) -> String {
        match c {
            CertificateError::UnknownIssuer => format!(
                "the server certificate is signed by an unknown CA (not in {})",
                self.trust
            ),
            CertificateError::Expired => "the server certificate has expired".into(),
            CertificateError::ExpiredContext { not_after, .. } => format!(
                "the server certificate expired at {}",
                rfc3339(*not_after)
            ),
            CertificateError::NotValidYet => "the server certificate is not valid yet".into(),
            CertificateError::NotValidYetContext { not_before, .. } => format!(
                "the server certificate is not valid yet (valid from {})",
                rfc3339(*not_before)
            ),
            CertificateError::NotValidForName => {
                "host name mismatch: the server certificate is not valid for this name (set tls.server_name)".into()
            }
            CertificateError::NotValidForNameContext { expected, presented } => format!(
                "host name mismatch: the server certificate is not valid for {} (it names: {}); set tls.server_name or fix the certificate",
                expected.to_str(),
                presented.iter().map(|n| presented_name(n)).collect::<Vec<_>>().join(", ")
            ),
            other => format!("the server certificate is invalid: {other:?}"),
        }
    }
}

/// `DnsName("a.example")` as webpki reports it becomes `a.example`.
fn presented_name(n: &str) -> &str {
    n.strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .unwrap_or(n)
}

fn rfc3339(t: UnixTime) -> String {
    chrono::DateTime::from_timestamp(t.as_secs() as i64, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| format!("{} s after the epoch", t.as_secs()))
}

/// `verify: certificate`: the chain and dates are checked by webpki; only a host name mismatch
/// is forgiven (webpki checks the name last, after the chain).
#[derive(Debug)]
struct SkipHostName {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for SkipHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `verify: none`: accepts any certificate (handshake signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
