//! TLS for every network output: builds a rustls client configuration from a `tls:` block
//! (PEM CA bundle, client certificate and key in PKCS#8, PKCS#1 or SEC1, `server_name`,
//! `verify: full | certificate | none`, `min_version`), connects, and turns every rustls/webpki
//! failure into one line that names the file or the peer and what failed.

pub mod config;
mod explain;
mod probe;
pub mod server;
mod verify;

use verify::{NoVerify, SkipHostName};

pub use config::{TlsConfig, TlsVerify, TlsVersion};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, Error, RootCertStore};
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

/// The DER certificates of a PEM bundle (none is an error).
pub fn pem_certificates(pem: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        out.push(
            item.map_err(|e| anyhow::anyhow!("invalid PEM: {e}"))?
                .to_vec(),
        );
    }
    if out.is_empty() {
        anyhow::bail!(
            "no certificate in the file (expected PEM `-----BEGIN CERTIFICATE-----` blocks)"
        );
    }
    Ok(out)
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

    /// The name the server's certificate must carry: `tls.server_name`, else `host`.
    fn name_for(&self, host: &str) -> Result<ServerName<'static>, String> {
        match &self.server_name {
            Some(n) => Ok(n.clone()),
            None => ServerName::try_from(host.to_string())
                .map_err(|_| format!("{host:?} is not a valid server name; set tls.server_name")),
        }
    }

    /// Completes the handshake over `tcp`; `host` is the host part of the address dialled.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> Result<TlsStream<TcpStream>, String> {
        let name = self.name_for(host)?;
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {}", self.explain_io(&e)))
    }
}
