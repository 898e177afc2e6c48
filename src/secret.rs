//! Keeping secrets out of sight: credentials in URLs (`https://user:pass@es:9200`) are taken out
//! of the address before it is used in any message, and configuration values that are secrets
//! (`Secret`) print as `<redacted>` in `Debug` output.

use serde::Deserialize;
use std::fmt;

/// A configuration value that must not be printed (a password, an API key).
#[derive(Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

/// `url` without its user and password, and the (percent-decoded) pair when it had them.
pub fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return (redact_url(url), None);
    };
    if u.username().is_empty() && u.password().is_none() {
        return (url.to_string(), None);
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(u.username());
    let pass = u.password().map(decode).unwrap_or_default();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let mut clean = u.to_string();
    if !url.ends_with('/') && clean.ends_with('/') && u.path() == "/" {
        clean.pop();
    }
    (clean, Some((user, pass)))
}

/// `url` with any `user:password@` replaced by `***@`, for messages; text that is not a URL with
/// credentials comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = url.get(authority_start..).unwrap_or("");
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_len).unwrap_or("");
    match authority.rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            url.get(..authority_start).unwrap_or(""),
            rest.get(at + 1..).unwrap_or("")
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_address() {
        let (clean, creds) = split_credentials("https://elastic:p%40ss:w@es:9200");
        assert_eq!(clean, "https://es:9200");
        assert_eq!(creds, Some(("elastic".into(), "p@ss:w".into())));
        let (clean, creds) = split_credentials("http://es:9200/prefix/");
        assert_eq!((clean.as_str(), creds), ("http://es:9200/prefix/", None));
        assert_eq!(
            redact_url("https://u:secret@es:9200/x"),
            "https://***@es:9200/x"
        );
        assert_eq!(redact_url("es:9200"), "es:9200");
        assert_eq!(redact_url("https://es:9200/a@b"), "https://es:9200/a@b");
        assert_eq!(redact_url("https://ü:ß@é"), "https://***@é");
        assert_eq!(format!("{:?}", Secret::from("hunter2")), "<redacted>");
    }
}
