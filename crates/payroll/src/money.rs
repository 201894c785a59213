//! Exact money: integer minor units (paise, cents), never binary floating point.
//!
//! [`Money`] holds an `i64` count of minor units (1/100 of the major unit).
//! It parses from decimal strings with at most two fraction digits and
//! displays with exactly two, which is the wire format of SPEC §3.5.
//!
//! ```
//! use slipgate_payroll::Money;
//!
//! let m: Money = "45678.5".parse().unwrap();
//! assert_eq!(m.minor_units(), 4_567_850);
//! assert_eq!(m.to_string(), "45678.50");
//! ```
//!
//! Percentages ([`Percentage`]; not to be confused with the request rates of
//! `slipgate_proto::units::Rate`) are stored exactly as hundredths of a percent
//! (basis points): `"12"` is 1200, `"12.5"` is 1250.
//!
//! # Security
//! Parse errors name the problem, never the rejected value, so that a salary
//! typed into the wrong place does not end up in a log line.

use std::fmt;
use std::str::FromStr;

/// Largest amount a pay scale may hold: 1,000,000,000,000.00 (10¹⁴ minor units).
///
/// Keeps every product in [`crate::PayScale::compute`] far inside `i128` and every
/// sum inside `i64`.
pub const MAX_MINOR_UNITS: i64 = 100_000_000_000_000;

/// An exact amount in minor units (1/100 of the currency's major unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a decimal string is not an amount or a rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// Empty string.
    #[error("empty value")]
    Empty,
    /// A character other than digits and one `.`.
    #[error("not a plain decimal number (digits with an optional `.` and up to two fraction digits)")]
    Syntax,
    /// A leading `-`.
    #[error("must not be negative")]
    Negative,
    /// More than two fraction digits.
    #[error("more than two fraction digits")]
    TooPrecise,
    /// Above the allowed maximum.
    #[error("too large")]
    TooLarge,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// From a count of minor units.
    pub const fn from_minor_units(units: i64) -> Money {
        Money(units)
    }

    /// The count of minor units.
    pub const fn minor_units(self) -> i64 {
        self.0
    }

    /// The whole major units (truncated toward zero).
    pub const fn major_part(self) -> i64 {
        self.0 / 100
    }

    /// The minor units below one major unit (sign of `self`).
    pub const fn minor_part(self) -> i64 {
        self.0 % 100
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = DecimalError;

    /// Parses a non-negative decimal with at most two fraction digits
    /// (`"45000"`, `"45000.5"`, `"45000.50"`), up to [`MAX_MINOR_UNITS`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hundredths(s, MAX_MINOR_UNITS).map(Money)
    }
}

/// A percentage stored exactly, in hundredths of a percent (basis points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentage(u32);

impl Percentage {
    /// 100 %.
    pub const FULL: Percentage = Percentage(10_000);

    /// From basis points (hundredths of a percent); `None` above 100 %.
    pub const fn from_basis_points(bp: u32) -> Option<Percentage> {
        if bp <= 10_000 { Some(Percentage(bp)) } else { None }
    }

    /// Hundredths of a percent: `12.5 %` is `1250`.
    pub const fn basis_points(self) -> u32 {
        self.0
    }

    /// `round_half_up(base × self)`, exact.
    pub fn apply(self, base: Money) -> Money {
        Money(div_round_half_up(i128::from(base.0) * i128::from(self.0), 10_000))
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac == 0 {
            write!(f, "{whole}")
        } else if frac % 10 == 0 {
            write!(f, "{whole}.{}", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}")
        }
    }
}

impl FromStr for Percentage {
    type Err = DecimalError;

    /// Parses a percentage from `"0"` to `"100"` with at most two fraction digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bp = parse_hundredths(s, 10_000)?;
        u32::try_from(bp).map(Percentage).map_err(|_| DecimalError::TooLarge)
    }
}

/// Accepts a TOML/JSON string (`"45000.50"`) or integer (`45000`); rejects
/// floats, whose binary value is not the decimal the author wrote.
struct DecimalVisitor<T>(std::marker::PhantomData<T>, &'static str);

impl<T: FromStr<Err = DecimalError>> serde::de::Visitor<'_> for DecimalVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a quoted decimal string such as \"12.50\"", self.1)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(|e| E::custom(format_args!("invalid {}: {e}", self.1)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        if v < 0 {
            return Err(E::custom(format_args!("invalid {}: {}", self.1, DecimalError::Negative)));
        }
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<T, E> {
        Err(E::custom(format_args!(
            "invalid {}: write decimals as quoted strings (\"12.50\", not 12.50) so they stay exact",
            self.1
        )))
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor(std::marker::PhantomData, "amount"))
    }
}

impl<'de> serde::Deserialize<'de> for Percentage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor(std::marker::PhantomData, "rate (percent)"))
    }
}

/// Parses `digits[.d[d]]` into hundredths, rejecting anything above `max`.
fn parse_hundredths(s: &str, max: i64) -> Result<i64, DecimalError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    if s.starts_with('-') {
        return Err(DecimalError::Negative);
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(DecimalError::Syntax);
    }
    if frac.len() > 2 {
        return Err(DecimalError::TooPrecise);
    }
    let mut value: i64 = 0;
    for b in int.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .filter(|v| *v <= max)
            .ok_or(DecimalError::TooLarge)?;
    }
    let mut cents: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        cents += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    value.checked_mul(100).map(|v| v + cents).filter(|v| *v <= max).ok_or(DecimalError::TooLarge)
}

/// `round_half_up(num / den)` for `den > 0`: halves round away from zero.
///
/// Amounts in a slip are never negative, so "half up" and "half away from
/// zero" agree; the symmetric rule keeps negative inputs sensible too.
pub(crate) fn div_round_half_up(num: i128, den: i128) -> i64 {
    debug_assert!(den > 0);
    let q = (num.abs() * 2 + den) / (den * 2);
    let q = if num < 0 { -q } else { q };
    // Callers bound their inputs (MAX_MINOR_UNITS × small factor / divisor),
    // so the quotient always fits; saturate rather than wrap just in case.
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_two_fraction_digits() {
        for (s, units, shown) in [
            ("0", 0, "0.00"),
            ("1", 100, "1.00"),
            ("45000.5", 4_500_050, "45000.50"),
            ("0.07", 7, "0.07"),
            (" 12.34 ", 1234, "12.34"),
        ] {
            let m: Money = s.parse().unwrap();
            assert_eq!(m.minor_units(), units, "{s}");
            assert_eq!(m.to_string(), shown);
        }
        assert_eq!(Money::from_minor_units(-5).to_string(), "-0.05");
        assert_eq!(Money::from_minor_units(-12_345).to_string(), "-123.45");
    }

    #[test]
    fn rejects_malformed_amounts() {
        assert_eq!("".parse::<Money>(), Err(DecimalError::Empty));
        assert_eq!("-1".parse::<Money>(), Err(DecimalError::Negative));
        assert_eq!("1.234".parse::<Money>(), Err(DecimalError::TooPrecise));
        for bad in ["1,000", "1e5", ".5", "5.", "1.2.3", "+1", "NaN", "١٢"] {
            assert_eq!(bad.parse::<Money>(), Err(DecimalError::Syntax), "{bad}");
        }
        assert_eq!("99999999999999999999999".parse::<Money>(), Err(DecimalError::TooLarge));
        assert_eq!("1000000000000.01".parse::<Money>(), Err(DecimalError::TooLarge));
        assert!("1000000000000.00".parse::<Money>().is_ok());
    }

    #[test]
    fn rates_are_exact_basis_points() {
        assert_eq!("12".parse::<Percentage>().unwrap().basis_points(), 1200);
        assert_eq!("12.5".parse::<Percentage>().unwrap().basis_points(), 1250);
        assert_eq!("0.75".parse::<Percentage>().unwrap().basis_points(), 75);
        assert_eq!("100".parse::<Percentage>().unwrap(), Percentage::FULL);
        assert_eq!("100.01".parse::<Percentage>(), Err(DecimalError::TooLarge));
        assert_eq!("12.5".parse::<Percentage>().unwrap().to_string(), "12.5");
        assert_eq!("7.25".parse::<Percentage>().unwrap().to_string(), "7.25");
    }

    #[test]
    fn rate_application_rounds_half_up() {
        let twelve: Percentage = "12".parse().unwrap();
        // 12 % of 0.04 = 0.0048 → 0.00; of 0.05 = 0.006 → 0.01 (half-up at 0.005).
        assert_eq!(twelve.apply(Money::from_minor_units(4)).minor_units(), 0);
        assert_eq!(twelve.apply(Money::from_minor_units(5)).minor_units(), 1);
        // 50 % of 0.01 = 0.005 → 0.01.
        assert_eq!("50".parse::<Percentage>().unwrap().apply(Money::from_minor_units(1)).minor_units(), 1);
        assert_eq!(div_round_half_up(-1, 2), -1);
        assert_eq!(div_round_half_up(7, 3), 2);
    }
}
