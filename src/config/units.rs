//! Human units in the configuration: durations (`500ms`, `10s`, `5m`, parsed by humantime) and
//! sizes (`512KiB`, `10MiB`, `1GiB`, parsed by bytesize; a bare integer is bytes).

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub Duration);

/// The longest duration the configuration takes: 100 years, for "never" in practice. Longer
/// ones are refused: a timer far enough out overflows the clock (`Instant` + 2^64 s panicked).
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 10s or 5m")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Dur, E> {
                let d = humantime::parse_duration(s.trim()).map_err(|e| {
                    E::custom(format!(
                        "invalid duration `{s}` ({e}): expected a number and a unit, such as 500ms, 10s or 5m"
                    ))
                })?;
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "invalid duration `{s}`: at most 100 years"
                    )));
                }
                Ok(Dur(d))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 512KiB, 10MiB or 1GiB")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Size, E> {
                Ok(Size(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Size, E> {
                u64::try_from(n)
                    .map(Size)
                    .map_err(|_| E::custom(format!("invalid size `{n}`: must not be negative")))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Size, E> {
                s.trim()
                    .parse::<bytesize::ByteSize>()
                    .map(|b| Size(b.as_u64()))
                    .map_err(|_| {
                        E::custom(format!(
                            "invalid size `{s}`: expected a number and a unit, such as 512KiB, 10MiB or 1GiB"
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let d: Dur = crate::config::from_yaml("500ms").unwrap();
        assert_eq!(d.0, Duration::from_millis(500));
        let d: Dur = crate::config::from_yaml("5m").unwrap();
        assert_eq!(d.0, Duration::from_secs(300));
        assert!(crate::config::from_yaml::<Dur>("10x").is_err());
        assert!(crate::config::from_yaml::<Dur>("10").is_err());
        let d: Dur = crate::config::from_yaml("100y").unwrap();
        assert_eq!(d.0, MAX_DURATION);
        assert!(crate::config::from_yaml::<Dur>("101y").is_err());
        assert!(crate::config::from_yaml::<Dur>("18446744073709551615s").is_err());
        let s: Size = crate::config::from_yaml("512KiB").unwrap();
        assert_eq!(s.0, 512 * 1024);
        let s: Size = crate::config::from_yaml("1GiB").unwrap();
        assert_eq!(s.0, 1 << 30);
        let s: Size = crate::config::from_yaml("4096").unwrap();
        assert_eq!(s.0, 4096);
        assert!(crate::config::from_yaml::<Size>("lots").is_err());
    }
}
