//! What `test-output` runs: a TCP (and TLS) connection to every host, then a short wait for a
//! server that refuses our certificate after a TLS 1.3 handshake to say so.

use super::{Logstash, REFUSAL_WAIT};
use crate::output::OutputError;
use tokio::io::AsyncReadExt;

impl Logstash {
    /// Connects to every host: which answered (plain or TLS), or why each other did not.
    pub(super) async fn check_hosts(&self) -> Result<String, OutputError> {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for host in self.hosts.all() {
            match self.dial(&host.addr).await {
                Err(e) => failed.push(e),
                Ok(mut io) => {
                    // A server that refuses our certificate after a TLS 1.3 handshake says so now.
                    let mut byte = [0u8; 1];
                    match tokio::time::timeout(REFUSAL_WAIT, io.read(&mut byte)).await {
                        Ok(Err(e)) => {
                            failed.push(OutputError::new("tls", (self.explain(&host.addr))(&e)))
                        }
                        Ok(Ok(0)) => failed.push(OutputError::new(
                            "connect",
                            format!(
                                "{}: the server closed the connection right after it was opened",
                                host.addr
                            ),
                        )),
                        _ => ok.push(format!(
                            "{} {}",
                            host.addr,
                            if self.tls.is_some() {
                                "TLS"
                            } else {
                                "plain TCP"
                            }
                        )),
                    }
                }
            }
        }
        if failed.is_empty() {
            Ok(format!("connected to {}", ok.join(", ")))
        } else {
            let kind = failed[0].kind;
            let msg = failed
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            Err(OutputError::new(kind, msg))
        }
    }
}
