//! The `tls:` block of a network output (client side): the options and their check, which
//! loads the files now so a missing or wrong file is a configuration error (exit 2) naming the
//! YAML key, the file and what is wrong.

use crate::config::{Problems, Value};
use serde::Deserialize;
use std::path::PathBuf;

/// `verify:` in a TLS block.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsVerify {
    /// Chain to a trusted CA, validity dates and host name.
    #[default]
    Full,
    /// Chain and dates, but not the host name.
    Certificate,
    /// Nothing: encryption without authentication (logged loudly).
    None,
}

/// `min_version:` in a TLS block: `1.2` (default) or `1.3`, as a number or a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let text = match &v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match text.as_str() {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            _ => Err(serde::de::Error::custom(format!(
                "invalid TLS version {text:?}, expected 1.2 or 1.3"
            ))),
        }
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        })
    }
}

/// A `tls:` block of an output (client side).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM bundle of the CAs that sign the server certificate (default: the system roots).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Our client certificate chain (PEM), for servers that require one.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The key of `cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Name to check the server certificate against (default: the host of the address).
    #[serde(default)]
    pub server_name: Option<String>,
    /// `full` (chain, dates, name), `certificate` (skip the name check) or `none` (warned about).
    #[serde(default)]
    pub verify: TlsVerify,
    /// Lowest TLS version offered: `"1.2"` (default) or `"1.3"`.
    #[serde(default)]
    pub min_version: TlsVersion,
}

impl TlsConfig {
    /// Loads the block's files (CA, certificate, key) as `run` would; each problem at its key.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        if let Err(errors) = super::TlsClient::build(self) {
            for e in errors {
                p.error(format!("{path}.{}", e.key), e.message);
            }
        }
    }
}
