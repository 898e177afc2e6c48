//! The server side of TLS, for inputs that receive over `tls://` (the syslog input): the rustls
//! server configuration from a certificate, its key and an optional client CA (which makes a
//! client certificate required), the subject of the certificate a client presented, and every
//! handshake failure as one line that names the peer and what failed, as the client side does.

use super::{provider, read_certs, read_key, TlsVersion};
use rustls::server::WebPkiClientVerifier;
use rustls::{AlertDescription, CertificateError, Error, RootCertStore, ServerConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Builds the server configuration; the error names the file and what is wrong, in one line.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
    min_version: TlsVersion,
) -> Result<Arc<ServerConfig>, String> {
    let one = |e: super::TlsConfigError| format!("tls.{}: {}", e.key, e.message);
    let chain = read_certs("cert", cert).map_err(one)?;
    let private = read_key(key).map_err(one)?;
    let provider = provider();
    let versions: &[&rustls::SupportedProtocolVersion] = match min_version {
        TlsVersion::V1_2 => rustls::ALL_VERSIONS,
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("tls.min_version: unusable: {e}"))?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs("client_ca", ca).map_err(one)? {
                roots.add(c).map_err(|e| {
                    format!(
                        "tls.client_ca: {}: not a usable CA certificate: {e}",
                        ca.display()
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("tls.client_ca: {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, private)
        .map_err(|e| match e {
            Error::InconsistentKeys(_) => format!(
                "tls.key: {} does not match the certificate {}",
                key.display(),
                cert.display()
            ),
            other => format!("tls.key: unusable certificate or key: {other}"),
        })?;
    Ok(Arc::new(config))
}

/// The subject of the client's certificate (`CN=client,O=example`), if it presented one.
pub fn client_subject(conn: &rustls::ServerConnection) -> Option<String> {
    let cert = conn.peer_certificates()?.first()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.subject().to_string())
}

/// One line for a failed handshake with `peer`, in the words of whoever has to fix it.
pub fn explain_handshake(
    e: &std::io::Error,
    peer: Option<SocketAddr>,
    client_ca: Option<&Path>,
) -> String {
    let who = peer.map_or_else(|| "a client".to_string(), |p| format!("client {p}"));
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return format!("TLS handshake with {who} failed: {e}");
    };
    let ca = client_ca.map_or_else(String::new, |c| c.display().to_string());
    match tls {
        Error::NoCertificatesPresented => format!(
            "TLS handshake with {who} refused: it presented no client certificate (tls.client_ca {ca} requires one)"
        ),
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "TLS handshake with {who} refused: its certificate is not signed by tls.client_ca {ca}"
        ),
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => format!("TLS handshake with {who} refused: its client certificate has expired"),
        Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => format!("TLS handshake with {who} refused: its client certificate is not valid yet"),
        Error::InvalidCertificate(c) => {
            format!("TLS handshake with {who} refused: its client certificate is invalid: {c:?}")
        }
        Error::AlertReceived(
            a @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied),
        ) => format!(
            "TLS handshake with {who} failed: it refused our certificate (alert {a:?}: is tls.cert signed by a CA the client trusts, valid, and for the name it connects to?)"
        ),
        Error::AlertReceived(AlertDescription::ProtocolVersion)
        | Error::PeerIncompatible(_) => format!(
            "TLS handshake with {who} failed: no TLS version or cipher in common ({tls})"
        ),
        Error::InvalidMessage(_) => format!(
            "TLS handshake with {who} failed: it does not speak TLS (plain syslog sent to a tls:// listener?)"
        ),
        other => format!("TLS handshake with {who} failed: {other}"),
    }
}
