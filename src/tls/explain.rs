//! Every rustls/webpki failure as one line that names the peer or the file and what failed:
//! an unknown issuer, an expired certificate (with its dates), a name mismatch (with the names
//! presented), an alert from a server that refused our certificate, a protocol version mismatch.

use super::TlsClient;
use rustls::pki_types::UnixTime;
use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};

impl TlsClient {
    /// One line for an error from a client library: the first rustls error among its sources
    /// explained, else the chain of causes.
    pub fn explain_chain(&self, e: &(dyn std::error::Error + 'static)) -> Option<String> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(tls) = err.downcast_ref::<Error>() {
                return Some(self.explain(tls));
            }
            if let Some(explained) = err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| self.explain_tls_io(io))
            {
                return Some(explained);
            }
            cur = err.source();
        }
        None
    }

    /// One line for an I/O error on a TLS stream (handshake or later, e.g. the server refusing
    /// our client certificate after a TLS 1.3 handshake).
    pub fn explain_io(&self, e: &std::io::Error) -> String {
        self.explain_tls_io(e).unwrap_or_else(|| e.to_string())
    }

    /// The explanation of an I/O error that carries a rustls error; `None` for any other.
    pub(super) fn explain_tls_io(&self, e: &std::io::Error) -> Option<String> {
        e.get_ref()
            .and_then(|i| i.downcast_ref::<Error>())
            .map(|tls| self.explain(tls))
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
            // A server checking our certificate against a CA of the same name but another key
            // (a CA made again) finds the signature wrong.
            Error::AlertReceived(a @ AlertDescription::DecryptError)
                if self.client_cert.is_some() =>
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
