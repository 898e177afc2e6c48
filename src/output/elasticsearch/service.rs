//! Sending one `_bulk` request and reading its answer: the HTTP client (rustls, timeouts), the
//! headers (configured ones, `auth`, or the credentials a host's URL carried, kept out of every
//! message), the host choice with its backoff (`hosts.rs`), and one line for a request that got
//! no answer.

use super::classify::{self, BulkError};
use super::config::ElasticsearchOutputConfig;
use super::Elasticsearch;
use crate::output::OutputError;
use crate::tls::TlsClient;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};

/// The HTTP client: timeouts, user agent, and the TLS config when there is one.
pub fn client(
    cfg: &ElasticsearchOutputConfig,
    tls: Option<&TlsClient>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(cfg.timeout.0)
        .connect_timeout(cfg.timeout.0.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("logship/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = tls {
        builder = builder.use_preconfigured_tls(t.client_config());
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", causes(&e)))
}

/// The configured `headers` and the `auth` header (sensitive: never printed).
pub fn headers(cfg: &ElasticsearchOutputConfig) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (k, v) in &cfg.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("headers: `{k}` is not a valid header name"))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| format!("headers.{k}: not a valid header value"))?;
        headers.insert(name, value);
    }
    if let Some(a) = &cfg.auth {
        let value = match (&a.username, &a.password, &a.api_key) {
            (_, _, Some(key)) => {
                let key = key.expose();
                // Elasticsearch hands out `id:key`; the header wants it base64-encoded.
                let encoded = if key.contains(':') {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(key)
                } else {
                    key.to_string()
                };
                format!("ApiKey {encoded}")
            }
            (Some(u), p, None) => {
                use base64::Engine;
                let pair = format!("{u}:{}", p.as_ref().map(|p| p.expose()).unwrap_or(""));
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            _ => String::new(),
        };
        if !value.is_empty() {
            let mut v = HeaderValue::from_str(&value)
                .map_err(|_| "auth: the credentials are not valid in a header".to_string())?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
    }
    Ok(headers)
}

/// Each host's address without credentials, and the Authorization header its URL carried.
pub fn split_hosts(hosts: &[String]) -> (Vec<String>, Vec<Option<HeaderValue>>) {
    hosts
        .iter()
        .map(|h| {
            let (clean, pair) = crate::secret::split_credentials(h);
            let header = pair.and_then(|(u, p)| {
                use base64::Engine;
                let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                let mut v = HeaderValue::from_str(&format!("Basic {b}")).ok()?;
                v.set_sensitive(true);
                Some(v)
            });
            (clean, header)
        })
        .unzip()
}

/// The error's causes, outermost first, without the URL-carrying top line.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

impl Elasticsearch {
    /// The request headers for a host: the configured ones, plus the credentials its URL had
    /// when `auth` does not set them.
    pub(super) fn headers_for(&self, url_auth: &Option<HeaderValue>) -> HeaderMap {
        let mut h = self.headers.clone();
        if let Some(v) = url_auth {
            if !h.contains_key(AUTHORIZATION) {
                h.insert(AUTHORIZATION, v.clone());
            }
        }
        h
    }

    /// One line for a request that got no HTTP answer. When TLS is on and the client's error
    /// names no TLS cause, a handshake of our own asks whether the server refused us (a TLS 1.3
    /// server's alert can come after the client pooled the connection, which then reports only
    /// "canceled" or "closed").
    pub(super) async fn explain_failure(&self, host: &str, e: &reqwest::Error) -> OutputError {
        let explained = self.explain(host, e);
        if explained.kind == "tls" || e.is_timeout() {
            return explained;
        }
        match self.tls_refusal(host).await {
            Some(t) => OutputError::new("tls", format!("{host}: TLS: {t}")),
            None => explained,
        }
    }

    /// What our own handshake with an `https` host learns, if it is a TLS refusal.
    async fn tls_refusal(&self, host: &str) -> Option<String> {
        let tls = self.tls.as_ref()?;
        let url = reqwest::Url::parse(host)
            .ok()
            .filter(|u| u.scheme() == "https")?;
        let name = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default()?;
        let limit = self.cfg.timeout.0.min(std::time::Duration::from_secs(5));
        tls.refusal(name, port, limit).await
    }

    fn explain(&self, host: &str, e: &reqwest::Error) -> OutputError {
        if let Some(t) = self.tls.as_ref().and_then(|t| t.explain_chain(e)) {
            return OutputError::new("tls", format!("{host}: TLS: {t}"));
        }
        if e.is_timeout() {
            return OutputError::new(
                "timeout",
                format!(
                    "{host}: no answer within {:?} (timeout)",
                    self.cfg.timeout.0
                ),
            );
        }
        let kind = if e.is_connect() { "connect" } else { "http" };
        let what = if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        OutputError::new(kind, format!("{host}: {what}: {}", causes(e)))
    }

    /// Sends one request body to the next host; its answer or why there is none.
    pub(super) async fn post_bulk(&self, body: bytes::Bytes) -> Result<Vec<u8>, BulkError> {
        let host = self.hosts.pick();
        let url = format!("{}/_bulk", host.addr.trim_end_matches('/'));
        let mut req = self
            .client
            .post(&url)
            .headers(self.headers_for(&host.extra))
            .header(CONTENT_TYPE, "application/x-ndjson");
        if let Some(p) = &self.cfg.pipeline {
            req = req.query(&[("pipeline", p)]);
        }
        if self.cfg.compression_level > 0 {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                host.failed(self.cfg.backoff);
                return Err(BulkError::Retry(self.explain_failure(&host.addr, &e).await));
            }
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                host.failed(self.cfg.backoff);
                return Err(BulkError::Retry(self.explain_failure(&host.addr, &e).await));
            }
        };
        match classify::request(&host.addr, status, &body, &self.cfg.auth) {
            Ok(()) => {
                host.succeeded();
                Ok(body)
            }
            Err((e, host_at_fault)) => {
                if host_at_fault {
                    host.failed(self.cfg.backoff);
                }
                Err(e)
            }
        }
    }
}
