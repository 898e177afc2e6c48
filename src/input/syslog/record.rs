//! What the spool keeps of one received message: the bytes as they arrived plus what only the
//! moment of receiving knows (when, from whom, over which TLS identity, whether it was cut),
//! so a message read back after a restart makes the same record.
//!
//! Layout (all integers little-endian): `version: u8 = 1`, `flags: u8` (bit 0: truncated),
//! `received: i64` (Unix nanoseconds), `family: u8` (0 none, 4 or 6) then the address (4 or 16
//! bytes) and `port: u16`, `subject_len: u16` then the subject (UTF-8), then the message bytes
//! to the end. Decoding never panics: anything that does not fit gives `None` (the caller ships
//! the payload raw with an error).

use super::listen::Received;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const VERSION: u8 = 1;
const TRUNCATED: u8 = 1;

/// A spooled message, borrowed from the record's payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Spooled<'a> {
    pub received_nanos: i64,
    pub truncated: bool,
    pub peer: Option<SocketAddr>,
    pub subject: Option<&'a str>,
    pub message: &'a [u8],
}

/// Appends the record of `m`, received at `nanos`, to `out`.
pub fn encode(m: &Received, nanos: i64, out: &mut Vec<u8>) {
    out.push(VERSION);
    out.push(if m.truncated { TRUNCATED } else { 0 });
    out.extend_from_slice(&nanos.to_le_bytes());
    match m.peer {
        None => out.push(0),
        Some(SocketAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_le_bytes());
        }
        Some(SocketAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_le_bytes());
        }
    }
    let subject = m.subject.as_deref().unwrap_or("").as_bytes();
    let subject = subject.get(..usize::from(u16::MAX)).unwrap_or(subject);
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(subject);
    out.extend_from_slice(&m.bytes);
}

/// Takes `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

fn array<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    take(rest, N)?.try_into().ok()
}

/// Reads a record written by `encode`.
pub fn decode(payload: &[u8]) -> Option<Spooled<'_>> {
    let mut rest = payload;
    let [version, flags] = array::<2>(&mut rest)?;
    if version != VERSION {
        return None;
    }
    let received_nanos = i64::from_le_bytes(array::<8>(&mut rest)?);
    let [family] = array::<1>(&mut rest)?;
    let peer = match family {
        0 => None,
        4 => {
            let ip = Ipv4Addr::from(array::<4>(&mut rest)?);
            let port = u16::from_le_bytes(array::<2>(&mut rest)?);
            Some(SocketAddr::new(IpAddr::V4(ip), port))
        }
        6 => {
            let ip = Ipv6Addr::from(array::<16>(&mut rest)?);
            let port = u16::from_le_bytes(array::<2>(&mut rest)?);
            Some(SocketAddr::new(IpAddr::V6(ip), port))
        }
        _ => return None,
    };
    let len = u16::from_le_bytes(array::<2>(&mut rest)?);
    let subject = take(&mut rest, usize::from(len))?;
    let subject = if subject.is_empty() {
        None
    } else {
        Some(std::str::from_utf8(subject).ok()?)
    };
    Some(Spooled {
        received_nanos,
        truncated: flags & TRUNCATED != 0,
        peer,
        subject,
        message: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn round_trip_every_shape() {
        let cases = [
            (None, None, false),
            (Some("10.1.2.3:514".parse().unwrap()), None, true),
            (
                Some("[2001:db8::1]:6514".parse().unwrap()),
                Some(Arc::from("CN=client ë,O=x")),
                false,
            ),
        ];
        for (peer, subject, truncated) in cases {
            let m = Received {
                bytes: b"<13>1 - - - - - - hello\n".to_vec(),
                truncated,
                peer,
                subject: subject.clone(),
            };
            let mut out = Vec::new();
            encode(&m, -42, &mut out);
            let d = decode(&out).unwrap();
            assert_eq!(d.received_nanos, -42);
            assert_eq!(d.truncated, truncated);
            assert_eq!(d.peer, peer);
            assert_eq!(d.subject, subject.as_deref());
            assert_eq!(d.message, m.bytes.as_slice());
            // Every cut short of the message's start is refused, never a panic.
            let header = out.len() - m.bytes.len();
            for cut in 0..header {
                assert_eq!(decode(out.get(..cut).unwrap()), None, "cut at {cut}");
            }
        }
    }

    #[test]
    fn unknown_version_or_family_is_refused() {
        assert_eq!(decode(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(decode(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0]), None);
    }
}
