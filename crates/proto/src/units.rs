//! Human-readable durations, sizes and rates as written in configuration
//! (SPEC §6): `300s`, `15m`, `8h`, `250ms`; `16KiB`, `1MiB`; `600/min`, `20/s`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// A value that did not parse; names the value and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: expected {expected}")]
pub struct UnitError {
    kind: &'static str,
    value: String,
    expected: &'static str,
}

impl UnitError {
    fn new(kind: &'static str, value: &str, expected: &'static str) -> Self {
        Self { kind, value: value.chars().take(40).collect(), expected }
    }
}

fn split_number(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = s.get(..end)?.parse().ok()?;
    Some((n, s.get(end..)?.trim()))
}

/// A duration such as `300s`, `15m`, `8h`, `250ms`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "a whole number with a unit: ms, s, m, min, h or d (e.g. `300s`)";
        let err = || UnitError::new("duration", s, EXPECTED);
        let (n, unit) = split_number(s.trim()).ok_or_else(err)?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n.checked_mul(60).ok_or_else(err)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(err)?),
            "d" => Duration::from_secs(n.checked_mul(86_400).ok_or_else(err)?),
            _ => return Err(err()),
        };
        Ok(Self(d))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) { write!(f, "{ms}ms") } else { write!(f, "{}s", ms / 1000) }
    }
}

/// A size such as `16KiB`, `1MiB`, `512B` or a bare byte count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("size", s, "a whole number with B, KiB, MiB or GiB (e.g. `16KiB`)");
        let (n, unit) = split_number(s.trim()).ok_or_else(err)?;
        let mult: u64 = match unit {
            "" | "B" => 1,
            "KiB" | "KB" | "k" => 1024,
            "MiB" | "MB" | "M" => 1024 * 1024,
            "GiB" | "GB" | "G" => 1024 * 1024 * 1024,
            _ => return Err(err()),
        };
        n.checked_mul(mult).map(Self).ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{}MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{}KiB", n >> 10),
            n => write!(f, "{n}B"),
        }
    }
}

/// A rate `N/unit`: N requests per unit (`s`, `min`, `h`), with a burst of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed per window, and the burst.
    pub quota: NonZeroU32,
    /// The window.
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new("rate", s, "N/unit with unit s, min or h (e.g. `600/min`)");
        let (n, unit) = s.trim().split_once('/').ok_or_else(err)?;
        let quota = n.trim().parse::<NonZeroU32>().map_err(|_| err())?;
        let per = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "m" | "min" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(err()),
        };
        Ok(Self { quota, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.quota)
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
string_serde!(HumanDuration, ByteSize, Rate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_duration_forms() {
        for (s, secs_ms) in [("300s", 300_000), ("15m", 900_000), ("8h", 28_800_000), ("250ms", 250)] {
            assert_eq!(s.parse::<HumanDuration>().unwrap().0, Duration::from_millis(secs_ms), "{s}");
        }
        assert!("300".parse::<HumanDuration>().is_err());
        assert!("-1s".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn parses_the_spec_size_forms() {
        assert_eq!("16KiB".parse::<ByteSize>().unwrap().0, 16 * 1024);
        assert_eq!("1MiB".parse::<ByteSize>().unwrap().0, 1 << 20);
        assert!("16 parsecs".parse::<ByteSize>().is_err());
        assert_eq!(ByteSize(16 * 1024).to_string(), "16KiB");
    }

    #[test]
    fn parses_the_spec_rate_forms() {
        let r: Rate = "600/min".parse().unwrap();
        assert_eq!((r.quota.get(), r.per), (600, Duration::from_secs(60)));
        assert_eq!("20/s".parse::<Rate>().unwrap().per, Duration::from_secs(1));
        assert_eq!("1000/h".parse::<Rate>().unwrap().to_string(), "1000/h");
        assert!("0/min".parse::<Rate>().is_err());
        assert!("5/week".parse::<Rate>().is_err());
    }
}
