//! `GET /status` and `logship status`: is this node shipping, and if not, why. The report
//! (`report.rs`) joins the checkpoint store (each file read: identity, size, read and
//! acknowledged offsets), the ack ledger (the oldest batch a file's checkpoint waits for, and the
//! outputs that still owe it) and the health of each output; `table.rs` prints it for a person.

pub mod report;
pub mod table;

pub use report::StatusSources;

/// The address to ask for the status from `http.listen`: a wildcard address becomes loopback.
pub fn local_address(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "" | "[::]" | "::", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_string(),
    }
}

/// Fetches `/status` from the agent listening on `listen`.
pub async fn fetch(listen: &str) -> Result<serde_json::Value, String> {
    let addr = local_address(listen);
    let url = format!("http://{addr}/status");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(&url).send().await.map_err(|e| {
        format!("no logship agent answers on {url} (http.listen {listen}): is it running? ({e})")
    })?;
    let code = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("{url} answered {code}, then failed: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{url} answered {code} without a status (an older agent?): {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcard_listen_addresses_are_asked_on_loopback() {
        assert_eq!(super::local_address("0.0.0.0:5066"), "127.0.0.1:5066");
        assert_eq!(super::local_address("[::]:5066"), "127.0.0.1:5066");
        assert_eq!(super::local_address("10.0.0.1:80"), "10.0.0.1:80");
    }
}
