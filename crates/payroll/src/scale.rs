//! The pay scale: a TOML file an HR person can read, checked completely at load.
//!
//! The schema is documented in `docs/pay-scale.md`; the shipped default is
//! `crates/payroll/pay-scale.toml`. Every table denies unknown keys (a typo is
//! an error, not a silently ignored setting), amounts and rates are quoted
//! decimal strings parsed exactly, and cross-references (earning codes used by
//! grades and deduction bases, rate overrides) are resolved once here, so that
//! [`PayScale::compute`] cannot meet an inconsistent scale.
//!
//! ```
//! use slipgate_payroll::PayScale;
//!
//! let scale = PayScale::from_toml_str(r#"
//!     currency = "INR"
//!     [words]
//!     numbering = "indian"
//!     major_unit = "Rupees"
//!     minor_unit = "Paise"
//!     [[earnings]]
//!     code = "BASIC"
//!     label = "Basic salary"
//!     [grades."1.1"]
//!     earnings = { BASIC = "10000.00" }
//! "#).unwrap();
//! assert!(scale.has_grade("1.1"));
//! assert_eq!(scale.basis_days(2025, 2), 30);
//! ```
//!
//! # Security
//! Errors name the offending grade, code or key — never a salary figure from
//! a request. (They can quote the pay scale itself, which is configuration.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::money::{Money, Percentage};
use crate::slip::{RawSlip, SlipLayout};
use crate::words::{Numbering, WordsStyle};

/// At most this many earning and this many deduction components, so that sums
/// of [`crate::money::MAX_MINOR_UNITS`]-bounded amounts cannot overflow.
const MAX_COMPONENTS: usize = 64;

/// Why a pay scale was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayScaleError {
    /// The file could not be read.
    #[error("cannot read pay scale file {path}")]
    Io {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or keys/types do not match the schema (message has line and column).
    #[error("pay scale does not match the schema in docs/pay-scale.md: {0}")]
    Syntax(#[from] toml::de::Error),
    /// Well-formed, but inconsistent or out of range.
    #[error("invalid pay scale: {0}")]
    Invalid(String),
}

/// How many days a full month counts for proration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The number of days in that calendar month (28–31).
    Calendar,
    /// A fixed number of days (1–31), e.g. 30 or 26.
    Fixed(u32),
}

/// One earning or deduction heading.
#[derive(Debug, Clone)]
pub(crate) struct Component {
    pub(crate) code: String,
    pub(crate) label: String,
}

/// What a deduction is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// Gross (prorated) earnings.
    Gross,
    /// One prorated earning, by index into `PayScale::earnings`.
    Earning(usize),
}

#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// `round_half_up(base × rate)`; grades may override the rate.
    Percent { base: Base, rate: Percentage },
    /// The amount of the last slab whose `from` ≤ base; slabs ascend from 0.
    Slab { base: Base, slabs: Vec<(Money, Money)> },
}

#[derive(Debug, Clone)]
pub(crate) struct Deduction {
    pub(crate) component: Component,
    pub(crate) rule: Rule,
}

#[derive(Debug, Clone)]
pub(crate) struct Grade {
    /// Monthly amounts, index-aligned with `PayScale::earnings`.
    pub(crate) monthly: Vec<Money>,
    /// Rate overrides, index-aligned with `PayScale::deductions`.
    pub(crate) rates: Vec<Option<Percentage>>,
}

/// A validated pay scale: grades, components, deductions, currency and basis.
#[derive(Debug, Clone)]
pub struct PayScale {
    pub(crate) currency: String,
    pub(crate) company: Option<String>,
    pub(crate) basis: Basis,
    pub(crate) words: WordsStyle,
    pub(crate) earnings: Vec<Component>,
    pub(crate) deductions: Vec<Deduction>,
    pub(crate) grades: BTreeMap<String, Grade>,
    pub(crate) layout: SlipLayout,
}

// ----- the TOML model -------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    currency: String,
    company: Option<String>,
    #[serde(default)]
    proration: RawProration,
    words: RawWords,
    earnings: Vec<RawComponent>,
    #[serde(default)]
    deductions: Vec<RawDeduction>,
    grades: BTreeMap<String, RawGrade>,
    #[serde(default)]
    slip: RawSlip,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProration {
    basis: RawBasis,
}

impl Default for RawProration {
    fn default() -> Self {
        RawProration { basis: RawBasis::Days(30) }
    }
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "`basis` must be \"calendar\" or a number of days such as 30")]
enum RawBasis {
    Days(i64),
    Named(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    numbering: RawNumbering,
    major_unit: String,
    minor_unit: String,
    #[serde(default = "default_suffix")]
    suffix: String,
}

fn default_suffix() -> String {
    "Only".to_owned()
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawNumbering {
    Indian,
    International,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    code: String,
    label: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Percent,
    Slab,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeduction {
    code: String,
    label: String,
    kind: RawKind,
    base: String,
    rate: Option<Percentage>,
    slabs: Option<Vec<RawSlab>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlab {
    from: Money,
    amount: Money,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    #[allow(dead_code)] // documentation for the reader of the file
    description: Option<String>,
    earnings: BTreeMap<String, Money>,
    #[serde(default)]
    rates: BTreeMap<String, Percentage>,
}

// ----- loading and validation -------------------------------------------------

fn invalid(msg: impl Into<String>) -> PayScaleError {
    PayScaleError::Invalid(msg.into())
}

fn check_code(what: &str, code: &str) -> Result<(), PayScaleError> {
    let ok = (1..=16).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{what} code {code:?} must be 1-16 characters of A-Z, 0-9 and _")))
    }
}

fn check_text(what: &str, text: &str, max: usize) -> Result<(), PayScaleError> {
    let len = text.chars().count();
    if text.trim().is_empty() || len > max || text.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must be 1-{max} printable characters")));
    }
    Ok(())
}

fn component(what: &str, code: String, label: String) -> Result<Component, PayScaleError> {
    check_code(what, &code)?;
    check_text(&format!("{what} {code} label"), &label, 60)?;
    Ok(Component { code, label })
}

impl PayScale {
    /// Parses and validates a pay scale.
    ///
    /// A relative `slip.logo` path is read from the current directory; use
    /// [`PayScale::load`] to resolve it beside the file.
    pub fn from_toml_str(s: &str) -> Result<PayScale, PayScaleError> {
        PayScale::from_toml_str_in(s, Path::new("."))
    }

    fn from_toml_str_in(s: &str, base_dir: &Path) -> Result<PayScale, PayScaleError> {
        let raw: RawScale = toml::from_str(s)?;
        validate(raw, base_dir)
    }

    /// Reads, parses and validates a pay-scale file; a relative `slip.logo`
    /// is read from the file's directory.
    pub fn load(path: &Path) -> Result<PayScale, PayScaleError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PayScaleError::Io { path: path.to_owned(), source })?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        PayScale::from_toml_str_in(&text, dir)
    }

    /// The default scale shipped in `crates/payroll/pay-scale.toml`.
    ///
    /// A unit test proves it loads; it is a `Result` only so that no panic
    /// path exists in library code.
    pub fn builtin() -> Result<PayScale, PayScaleError> {
        PayScale::from_toml_str(include_str!("../pay-scale.toml"))
    }

    /// ISO 4217 code, e.g. `INR`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// The employer's name for slip headers, if the scale sets `company`.
    pub fn company(&self) -> Option<&str> {
        self.company.as_deref()
    }

    /// How the PDF slip looks (`[slip]`: address, logo, grouping, margins, labels).
    pub fn slip_layout(&self) -> &SlipLayout {
        &self.layout
    }

    /// The proration basis as configured.
    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// How net pay is spelled out.
    pub fn words_style(&self) -> &WordsStyle {
        &self.words
    }

    /// Whether `grade` is in the scale (exact, case-sensitive match).
    pub fn has_grade(&self, grade: &str) -> bool {
        self.grades.contains_key(grade)
    }

    /// Grade names in ascending order.
    pub fn grades(&self) -> impl Iterator<Item = &str> {
        self.grades.keys().map(String::as_str)
    }

    /// Days a full month counts for proration in `year`-`month`.
    ///
    /// With `basis = "calendar"` this is the length of that month; a month
    /// outside 1–12 (which `slipgate_proto::parse_period` never yields) counts 30.
    pub fn basis_days(&self, year: i32, month: u8) -> u32 {
        match self.basis {
            Basis::Fixed(days) => days,
            Basis::Calendar => time::Month::try_from(month).map_or(30, |m| u32::from(m.length(year))),
        }
    }
}

fn validate(raw: RawScale, base_dir: &Path) -> Result<PayScale, PayScaleError> {
    if raw.currency.len() != 3 || !raw.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(format!(
            "currency {:?} must be a three-letter ISO 4217 code such as \"INR\"",
            raw.currency
        )));
    }
    if let Some(company) = &raw.company {
        check_text("company", company, 80)?;
    }
    let basis = match raw.proration.basis {
        RawBasis::Named(s) if s == "calendar" => Basis::Calendar,
        RawBasis::Named(s) => {
            return Err(invalid(format!(
                "proration basis {s:?} must be \"calendar\" or a number of days from 1 to 31"
            )));
        }
        RawBasis::Days(d) => match u32::try_from(d) {
            Ok(d @ 1..=31) => Basis::Fixed(d),
            _ => return Err(invalid(format!("proration basis {d} must be from 1 to 31 days"))),
        },
    };
    check_text("words.major_unit", &raw.words.major_unit, 30)?;
    check_text("words.minor_unit", &raw.words.minor_unit, 30)?;
    if raw.words.suffix.chars().count() > 30 || raw.words.suffix.chars().any(char::is_control) {
        return Err(invalid("words.suffix must be at most 30 printable characters"));
    }
    let numbering = match raw.words.numbering {
        RawNumbering::Indian => Numbering::Indian,
        RawNumbering::International => Numbering::International,
    };
    let words = WordsStyle::new(numbering, raw.words.major_unit, raw.words.minor_unit, raw.words.suffix);

    if raw.earnings.is_empty() {
        return Err(invalid("at least one [[earnings]] component is required"));
    }
    if raw.earnings.len() > MAX_COMPONENTS || raw.deductions.len() > MAX_COMPONENTS {
        return Err(invalid(format!("at most {MAX_COMPONENTS} earnings and {MAX_COMPONENTS} deductions")));
    }
    let earnings = raw
        .earnings
        .into_iter()
        .map(|c| component("earning", c.code, c.label))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deductions = Vec::with_capacity(raw.deductions.len());
    for d in raw.deductions {
        deductions.push(deduction(d, &earnings)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    for code in earnings.iter().map(|c| &c.code).chain(deductions.iter().map(|d| &d.component.code)) {
        if !seen.insert(code.as_str()) {
            return Err(invalid(format!("component code {code} is defined twice")));
        }
    }

    if raw.grades.is_empty() {
        return Err(invalid("at least one grade is required under [grades]"));
    }
    let mut grades = BTreeMap::new();
    for (name, g) in raw.grades {
        let grade = grade(&name, g, &earnings, &deductions)?;
        grades.insert(name, grade);
    }
    let layout = raw.slip.validate(&raw.currency, raw.company.clone(), base_dir)?;
    Ok(PayScale {
        currency: raw.currency,
        company: raw.company,
        basis,
        words,
        earnings,
        deductions,
        grades,
        layout,
    })
}

fn deduction(d: RawDeduction, earnings: &[Component]) -> Result<Deduction, PayScaleError> {
    let component = component("deduction", d.code, d.label)?;
    let code = &component.code;
    let base = if d.base == "gross" {
        Base::Gross
    } else {
        earnings.iter().position(|e| e.code == d.base).map(Base::Earning).ok_or_else(|| {
            invalid(format!(
                "deduction {code}: base {:?} must be \"gross\" or the code of an earning",
                d.base
            ))
        })?
    };
    let rule = match (d.kind, d.rate, d.slabs) {
        (RawKind::Percent, Some(rate), None) => Rule::Percent { base, rate },
        (RawKind::Percent, _, _) => {
            return Err(invalid(format!("deduction {code}: kind \"percent\" needs `rate` and no `slabs`")));
        }
        (RawKind::Slab, None, Some(slabs)) => {
            if slabs.first().is_none_or(|s| s.from != Money::ZERO) {
                return Err(invalid(format!("deduction {code}: the first slab must start `from = \"0\"`")));
            }
            if slabs.windows(2).any(|w| w[0].from >= w[1].from) {
                return Err(invalid(format!("deduction {code}: slab `from` values must strictly ascend")));
            }
            Rule::Slab { base, slabs: slabs.into_iter().map(|s| (s.from, s.amount)).collect() }
        }
        (RawKind::Slab, _, _) => {
            return Err(invalid(format!("deduction {code}: kind \"slab\" needs `slabs` and no `rate`")));
        }
    };
    Ok(Deduction { component, rule })
}

fn grade(
    name: &str,
    g: RawGrade,
    earnings: &[Component],
    deductions: &[Deduction],
) -> Result<Grade, PayScaleError> {
    let name_ok = (1..=16).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !name_ok {
        return Err(invalid(format!("grade name {name:?} must be 1-16 characters of A-Z, a-z, 0-9, . - _")));
    }
    if let Some(desc) = &g.description {
        check_text(&format!("grade {name:?} description"), desc, 80)?;
    }
    if let Some(code) = g.earnings.keys().find(|k| !earnings.iter().any(|e| &e.code == *k)) {
        return Err(invalid(format!("grade {name:?}: earning {code} is not defined in [[earnings]]")));
    }
    let monthly = earnings
        .iter()
        .map(|e| {
            g.earnings.get(&e.code).copied().ok_or_else(|| {
                invalid(format!(
                    "grade {name:?}: missing earning {} (write \"0\" if it does not apply)",
                    e.code
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut rates = vec![None; deductions.len()];
    for (code, rate) in g.rates {
        let idx = deductions
            .iter()
            .position(|d| d.component.code == code && matches!(d.rule, Rule::Percent { .. }))
            .ok_or_else(|| {
                invalid(format!("grade {name:?}: rate for {code}, which is not a percent deduction"))
            })?;
        rates[idx] = Some(rate);
    }
    Ok(Grade { monthly, rates })
}

#[cfg(test)]
mod tests;
