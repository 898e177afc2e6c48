//! A handshake of our own to learn why a peer refused us when an HTTP client could not say.
//!
//! With TLS 1.3 the client's handshake completes before the server has checked our certificate;
//! a server that refuses it sends its alert afterwards, and an HTTP client that already handed
//! the connection to its pool may only report "connection closed" or "canceled". `refusal`
//! dials the host once, completes a handshake, sends a `HEAD /` and reads the answer: a rustls
//! error on the way (an alert, an untrusted certificate) is explained in one line.

use super::TlsClient;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

impl TlsClient {
    /// The TLS reason `host:port` refuses us, if it is a TLS one; `None` when the connection
    /// fails otherwise, the server answers, or nothing happens within `limit`.
    pub async fn refusal(&self, host: &str, port: u16, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, self.refusal_inner(host, port))
            .await
            .ok()
            .flatten()
    }

    async fn refusal_inner(&self, host: &str, port: u16) -> Option<String> {
        let tcp = TcpStream::connect((host, port)).await.ok()?;
        let name = self.name_for(host).ok()?;
        let mut tls = match self.connector.connect(name, tcp).await {
            Ok(s) => s,
            Err(e) => return self.explain_tls_io(&e),
        };
        let request = format!("HEAD / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if let Err(e) = tls.write_all(request.as_bytes()).await {
            return self.explain_tls_io(&e);
        }
        // Bytes or a clean close: the server took our certificate.
        let mut buf = [0u8; 1024];
        match tls.read(&mut buf).await {
            Ok(_) => None,
            Err(e) => self.explain_tls_io(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::server::server_config;
    use super::super::{TlsClient, TlsConfig, TlsVersion};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A CA named `ca_name` and a certificate it signed, written as `<name>-ca.crt`,
    /// `<name>.crt` and `<name>.key`.
    fn issue(dir: &Path, name: &str, ca_name: &str, client: bool) -> (PathBuf, PathBuf, PathBuf) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let paths = (
            dir.join(format!("{name}-ca.crt")),
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&paths.0, ca_cert.pem()).unwrap();
        std::fs::write(&paths.1, cert.pem()).unwrap();
        std::fs::write(&paths.2, key.serialize_pem()).unwrap();
        paths
    }

    /// A TLS 1.3 server that requires client certificates from `client_ca` and answers 200.
    async fn serve(cert: &Path, key: &Path, client_ca: &Path) -> u16 {
        let cfg = server_config(cert, key, Some(client_ca), TlsVersion::V1_3).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut s) = acceptor.accept(tcp).await {
                        let mut buf = [0u8; 512];
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
                        let _ = s.shutdown().await;
                    }
                });
            }
        });
        port
    }

    fn client(ca: &Path, cert: Option<(&Path, &Path)>) -> Arc<TlsClient> {
        let cfg = TlsConfig {
            ca: Some(ca.to_path_buf()),
            cert: cert.map(|c| c.0.to_path_buf()),
            key: cert.map(|c| c.1.to_path_buf()),
            ..TlsConfig::default()
        };
        Arc::new(TlsClient::build_one_line(&cfg).unwrap())
    }

    #[tokio::test]
    async fn a_refused_or_missing_client_certificate_is_named_an_accepted_one_is_none() {
        super::super::install_default_provider();
        let dir = tempfile::tempdir().unwrap();
        let (server_ca, server_cert, server_key) = issue(dir.path(), "server", "server-ca", false);
        let (client_ca, client_cert, client_key) = issue(dir.path(), "client", "client-ca", true);
        // From another CA, and from a CA with the client CA's name but another key (a CA made
        // again): the server answers UnknownCA to one, DecryptError to the other.
        let (_, other_cert, other_key) = issue(dir.path(), "other", "other-ca", true);
        let (_, twin_cert, twin_key) = issue(dir.path(), "twin", "client-ca", true);
        let port = serve(&server_cert, &server_key, &client_ca).await;
        let limit = Duration::from_secs(10);

        let none = client(&server_ca, None)
            .refusal("localhost", port, limit)
            .await;
        let none = none.expect("a TLS refusal");
        assert!(
            none.contains("the server requires a client certificate and none is configured"),
            "{none}"
        );
        for (cert, key) in [(&other_cert, &other_key), (&twin_cert, &twin_key)] {
            let refused = client(&server_ca, Some((cert, key)))
                .refusal("localhost", port, limit)
                .await
                .expect("a TLS refusal");
            assert!(
                refused.contains("the server refused our client certificate"),
                "{refused}"
            );
        }
        let good = client(&server_ca, Some((&client_cert, &client_key)))
            .refusal("localhost", port, limit)
            .await;
        assert_eq!(good, None);
        // Our own CA does not trust the server: that is a TLS reason too.
        let untrusted = client(&client_ca, Some((&client_cert, &client_key)))
            .refusal("localhost", port, limit)
            .await
            .expect("a TLS refusal");
        assert!(
            untrusted.contains("CA") || untrusted.contains("issuer"),
            "{untrusted}"
        );
    }

    #[tokio::test]
    async fn no_listener_is_no_tls_reason() {
        super::super::install_default_provider();
        let dir = tempfile::tempdir().unwrap();
        let (ca, _, _) = issue(dir.path(), "server", "server-ca", false);
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let got = client(&ca, None)
            .refusal("localhost", port, Duration::from_secs(5))
            .await;
        assert_eq!(got, None);
    }
}
