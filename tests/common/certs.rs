//! Test PKI made with rcgen: a CA, server certificates (good, expired, not yet valid, wrong
//! name), client certificates from our CA and from another CA, written as PEM files.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

pub struct Ca {
    pub cert: Certificate,
    pub key: KeyPair,
    pub cert_path: PathBuf,
}

/// A certificate and key written to `<name>.crt` / `<name>.key`.
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn ca(dir: &Path, name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = p.self_signed(&key).expect("CA cert");
    let cert_path = dir.join(format!("{name}.crt"));
    std::fs::write(&cert_path, cert.pem()).expect("write CA");
    Ca {
        cert,
        key,
        cert_path,
    }
}

pub enum Validity {
    Now,
    Expired,
    NotYetValid,
}

pub fn issue(
    dir: &Path,
    ca: &Ca,
    name: &str,
    sans: &[&str],
    client: bool,
    validity: Validity,
) -> Issued {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let now = OffsetDateTime::now_utc();
    let (from, to) = match validity {
        Validity::Now => (now - Duration::days(1), now + Duration::days(30)),
        Validity::Expired => (now - Duration::days(30), now - Duration::days(2)),
        Validity::NotYetValid => (now + Duration::days(2), now + Duration::days(30)),
    };
    p.not_before = from;
    p.not_after = to;
    let cert = p.signed_by(&key, &ca.cert, &ca.key).expect("sign");
    let out = Issued {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&out.cert, cert.pem()).expect("write cert");
    std::fs::write(&out.key, key.serialize_pem()).expect("write key");
    out
}

/// The whole set most TLS tests need.
pub struct Pki {
    pub ca: Ca,
    pub server: Issued,
    pub client: Issued,
    pub other_ca: Ca,
    pub other_client: Issued,
}

pub fn pki(dir: &Path) -> Pki {
    let ca = ca(dir, "ca");
    let server = issue(
        dir,
        &ca,
        "server",
        &["localhost", "127.0.0.1"],
        false,
        Validity::Now,
    );
    let client = issue(dir, &ca, "client", &["logship-agent"], true, Validity::Now);
    let other_ca = ca_named(dir, "other-ca");
    let other_client = issue(
        dir,
        &other_ca,
        "other-client",
        &["intruder"],
        true,
        Validity::Now,
    );
    Pki {
        ca,
        server,
        client,
        other_ca,
        other_client,
    }
}

fn ca_named(dir: &Path, name: &str) -> Ca {
    ca(dir, name)
}
