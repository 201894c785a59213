//! Net pay in words, as printed on a cheque or a salary slip.
//!
//! Two numbering systems: **Indian** (thousand, lakh = 10⁵, crore = 10⁷) and
//! **international** (thousand, million, billion, …). Words are title-cased,
//! tens and units are hyphenated ("Forty-Five"), no "and" inside a number;
//! the only "and" joins the major and minor parts:
//!
//! ```
//! use slipgate_payroll::{Money, words::{amount_in_words, Numbering, WordsStyle}};
//!
//! let style = WordsStyle::new(Numbering::Indian, "Rupees", "Paise", "Only");
//! let m: Money = "45678.50".parse().unwrap();
//! assert_eq!(
//!     amount_in_words(m, &style),
//!     "Rupees Forty-Five Thousand Six Hundred Seventy-Eight and Paise Fifty Only"
//! );
//! ```
//!
//! A zero minor part is left out ("Rupees One Lakh Only"); a zero amount reads
//! "Rupees Zero Only". Unit names are used as given (no singular forms).

use crate::money::Money;

/// How large numbers are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    /// Thousand, lakh (1,00,000), crore (1,00,00,000).
    Indian,
    /// Thousand, million, billion, trillion, quadrillion, quintillion.
    International,
}

/// Unit names and numbering used to spell an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordsStyle {
    numbering: Numbering,
    major_unit: String,
    minor_unit: String,
    suffix: String,
}

impl WordsStyle {
    /// A style; an empty `suffix` is left out.
    pub fn new(
        numbering: Numbering,
        major_unit: impl Into<String>,
        minor_unit: impl Into<String>,
        suffix: impl Into<String>,
    ) -> Self {
        WordsStyle {
            numbering,
            major_unit: major_unit.into(),
            minor_unit: minor_unit.into(),
            suffix: suffix.into(),
        }
    }

    /// The numbering system.
    pub fn numbering(&self) -> Numbering {
        self.numbering
    }
}

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const TENS: [&str; 10] =
    ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"];

/// Spells `amount` in `style`, e.g. "Rupees One Lakh and Paise Five Only".
pub fn amount_in_words(amount: Money, style: &WordsStyle) -> String {
    let units = amount.minor_units();
    let abs = units.unsigned_abs();
    let (major, minor) = (abs / 100, abs % 100);
    let mut out = String::new();
    if units < 0 {
        out.push_str("Minus ");
    }
    push_word(&mut out, &style.major_unit);
    push_word(&mut out, &number_in_words(major, style.numbering));
    if minor != 0 {
        out.push_str(" and");
        push_word(&mut out, &style.minor_unit);
        push_word(&mut out, &number_in_words(minor, style.numbering));
    }
    push_word(&mut out, &style.suffix);
    out
}

/// Spells a whole number: `number_in_words(105, Indian)` is "One Hundred Five".
pub fn number_in_words(n: u64, numbering: Numbering) -> String {
    if n == 0 {
        return ONES[0].to_owned();
    }
    let mut out = String::new();
    match numbering {
        Numbering::Indian => indian(n, &mut out),
        Numbering::International => international(n, &mut out),
    }
    out
}

fn push_word(out: &mut String, word: &str) {
    if word.is_empty() {
        return;
    }
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(word);
}

/// 1..=999, appended to `out`.
fn below_thousand(n: u64, out: &mut String) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        push_word(out, ONES[hundreds as usize]);
        push_word(out, "Hundred");
    }
    if rest >= 20 {
        push_word(out, TENS[(rest / 10) as usize]);
        if rest % 10 != 0 {
            out.push('-');
            out.push_str(ONES[(rest % 10) as usize]);
        }
    } else if rest > 0 {
        push_word(out, ONES[rest as usize]);
    }
}

/// Crore, lakh, thousand, then below a thousand; counts of crores above 99
/// are themselves spelled in Indian numbering ("One Lakh Crore").
fn indian(n: u64, out: &mut String) {
    let crore = n / 10_000_000;
    let rest = n % 10_000_000;
    if crore > 0 {
        indian(crore, out);
        push_word(out, "Crore");
    }
    let (lakh, thousand, below) = (rest / 100_000, (rest / 1000) % 100, rest % 1000);
    for (count, name) in [(lakh, "Lakh"), (thousand, "Thousand")] {
        if count > 0 {
            below_thousand(count, out);
            push_word(out, name);
        }
    }
    if below > 0 {
        below_thousand(below, out);
    }
}

fn international(n: u64, out: &mut String) {
    const SCALES: [(u64, &str); 6] = [
        (1_000_000_000_000_000_000, "Quintillion"),
        (1_000_000_000_000_000, "Quadrillion"),
        (1_000_000_000_000, "Trillion"),
        (1_000_000_000, "Billion"),
        (1_000_000, "Million"),
        (1_000, "Thousand"),
    ];
    let mut rest = n;
    for (scale, name) in SCALES {
        let count = rest / scale;
        if count > 0 {
            below_thousand(count, out);
            push_word(out, name);
        }
        rest %= scale;
    }
    if rest > 0 {
        below_thousand(rest, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr(s: &str) -> String {
        let style = WordsStyle::new(Numbering::Indian, "Rupees", "Paise", "Only");
        amount_in_words(s.parse().unwrap(), &style)
    }

    #[test]
    fn spells_small_amounts() {
        assert_eq!(inr("0"), "Rupees Zero Only");
        assert_eq!(inr("1"), "Rupees One Only");
        assert_eq!(inr("15"), "Rupees Fifteen Only");
        assert_eq!(inr("20"), "Rupees Twenty Only");
        assert_eq!(inr("99"), "Rupees Ninety-Nine Only");
        assert_eq!(inr("100"), "Rupees One Hundred Only");
        assert_eq!(inr("105"), "Rupees One Hundred Five Only");
        assert_eq!(inr("0.50"), "Rupees Zero and Paise Fifty Only");
        assert_eq!(inr("0.05"), "Rupees Zero and Paise Five Only");
    }

    #[test]
    fn spells_lakh_and_crore_in_indian_numbering() {
        assert_eq!(inr("100000"), "Rupees One Lakh Only");
        assert_eq!(
            inr("12345678.90"),
            "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six Hundred Seventy-Eight \
             and Paise Ninety Only"
        );
        assert_eq!(inr("10000000"), "Rupees One Crore Only");
        assert_eq!(inr("1000000000000"), "Rupees One Lakh Crore Only");
        assert_eq!(
            inr("45678.50"),
            "Rupees Forty-Five Thousand Six Hundred Seventy-Eight and Paise Fifty Only"
        );
    }

    #[test]
    fn spells_millions_in_international_numbering() {
        let style = WordsStyle::new(Numbering::International, "Dollars", "Cents", "");
        let m: Money = "12345678.01".parse().unwrap();
        assert_eq!(
            amount_in_words(m, &style),
            "Dollars Twelve Million Three Hundred Forty-Five Thousand Six Hundred Seventy-Eight \
             and Cents One"
        );
        assert_eq!(number_in_words(1_000_000_000, Numbering::International), "One Billion");
        assert_eq!(
            number_in_words(u64::MAX, Numbering::International),
            "Eighteen Quintillion Four Hundred Forty-Six Quadrillion Seven Hundred Forty-Four \
             Trillion Seventy-Three Billion Seven Hundred Nine Million Five Hundred Fifty-One \
             Thousand Six Hundred Fifteen"
        );
    }

    #[test]
    fn spells_negative_amounts_with_minus() {
        assert_eq!(
            amount_in_words(
                Money::from_minor_units(-150),
                &WordsStyle::new(Numbering::Indian, "Rupees", "Paise", "Only")
            ),
            "Minus Rupees One and Paise Fifty Only"
        );
    }
}
