//! How the PDF slip looks: the `[slip]` table of the pay scale.
//!
//! A payroll clerk changes the employer's address, the logo, the margins, the
//! digit grouping and every label on the page in the pay-scale file, without
//! touching Rust (`docs/pay-scale.md`, "The printed slip"). Everything is
//! checked when the scale loads: unknown keys, empty or over-long labels,
//! margins outside 5–50 mm and logos that are not a supported image stop the
//! start with a message naming the key.
//!
//! ```
//! use slipgate_payroll::PayScale;
//!
//! let scale = PayScale::from_toml_str(r#"
//!     currency = "INR"
//!     company = "Acme India Pvt. Ltd."
//!     [slip]
//!     address = ["12 MG Road", "Bengaluru 560001"]
//!     margins = { top = 15, left = 20 }
//!     labels = { net_pay = "Take-home pay" }
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
//! let layout = scale.slip_layout();
//! assert_eq!(layout.address(), ["12 MG Road", "Bengaluru 560001"]);
//! assert_eq!(layout.labels().net_pay, "Take-home pay");
//! assert_eq!(layout.grouping().apply("123456.00"), "1,23,456.00");
//! ```
//!
//! # Security
//! The layout is configuration, not request data; a logo is read once at load,
//! bounded to [`MAX_LOGO_BYTES`], and its header is parsed with checked bounds.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::scale::PayScaleError;

/// Largest logo file accepted (bytes).
pub const MAX_LOGO_BYTES: u64 = 1024 * 1024;
/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;
/// Default margin on every side, in millimetres (≈ 50 pt).
const DEFAULT_MARGIN_MM: f32 = 17.5;

/// How the whole part of an amount is grouped on the PDF (the JSON keeps plain decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// Indian: the last three digits, then pairs (`1,23,456.00`, `12,34,56,789.00`).
    Indian,
    /// Thousands (`123,456.00`, `1,234,567.00`).
    Thousands,
    /// No separators (`123456.00`).
    None,
}

impl Grouping {
    /// The grouping a currency's own locale writes: `INR` (en-IN) Indian, any other thousands.
    pub fn for_currency(currency: &str) -> Grouping {
        match currency {
            "INR" => Grouping::Indian,
            _ => Grouping::Thousands,
        }
    }

    /// `amount` (a plain decimal such as `"33080.00"`) with commas between digit
    /// groups; a value that is not such a decimal is returned unchanged.
    pub fn apply(self, amount: &str) -> String {
        let (int, frac) = amount.split_once('.').map_or((amount, None), |(i, f)| (i, Some(f)));
        if self == Grouping::None || int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return amount.to_owned();
        }
        let digits = int.as_bytes();
        let mut cuts = Vec::new(); // group start positions from the right
        let mut pos = digits.len();
        let mut first = true;
        while pos > 0 {
            let width = match (self, first) {
                (Grouping::Indian, false) => 2,
                _ => 3,
            };
            first = false;
            pos = pos.saturating_sub(width);
            cuts.push(pos);
        }
        let mut out = String::with_capacity(amount.len() + cuts.len());
        let mut end = digits.len();
        let mut groups: Vec<&str> = Vec::new();
        for start in cuts {
            groups.push(&int[start..end]);
            end = start;
        }
        groups.reverse();
        out.push_str(&groups.join(","));
        if let Some(frac) = frac {
            out.push('.');
            out.push_str(frac);
        }
        out
    }
}

/// Page margins in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margins {
    /// Top margin.
    pub top: f32,
    /// Bottom margin.
    pub bottom: f32,
    /// Left margin.
    pub left: f32,
    /// Right margin.
    pub right: f32,
}

/// Every text the slip prints besides the data. Defaults are English.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)] // each field is the label of the same name in docs/pay-scale.md
pub struct Labels {
    pub title: String,
    pub employee_name: String,
    pub employee_id: String,
    pub employee_code: String,
    pub grade: String,
    pub pay_period: String,
    pub basis_days: String,
    pub paid_days: String,
    pub loss_of_pay_days: String,
    pub issued_on: String,
    pub earnings: String,
    pub deductions: String,
    pub amount: String,
    pub gross_earnings: String,
    pub total_deductions: String,
    pub net_pay: String,
    pub in_words: String,
    pub slip_id: String,
    pub footer: String,
}

impl Default for Labels {
    fn default() -> Self {
        let s = str::to_owned;
        Labels {
            title: s("Salary slip for"),
            employee_name: s("Employee name"),
            employee_id: s("Employee ID"),
            employee_code: s("Employee code"),
            grade: s("Grade"),
            pay_period: s("Pay period"),
            basis_days: s("Basis days"),
            paid_days: s("Paid days"),
            loss_of_pay_days: s("Loss-of-pay days"),
            issued_on: s("Issued on"),
            earnings: s("Earnings"),
            deductions: s("Deductions"),
            amount: s("Amount"),
            gross_earnings: s("Gross earnings"),
            total_deductions: s("Total deductions"),
            net_pay: s("Net pay"),
            in_words: s("In words:"),
            slip_id: s("Slip ID:"),
            footer: s("This is a computer-generated salary slip and needs no signature."),
        }
    }
}

impl Labels {
    fn check(&self) -> Result<(), PayScaleError> {
        let all = [
            ("title", &self.title),
            ("employee_name", &self.employee_name),
            ("employee_id", &self.employee_id),
            ("employee_code", &self.employee_code),
            ("grade", &self.grade),
            ("pay_period", &self.pay_period),
            ("basis_days", &self.basis_days),
            ("paid_days", &self.paid_days),
            ("loss_of_pay_days", &self.loss_of_pay_days),
            ("issued_on", &self.issued_on),
            ("earnings", &self.earnings),
            ("deductions", &self.deductions),
            ("amount", &self.amount),
            ("gross_earnings", &self.gross_earnings),
            ("total_deductions", &self.total_deductions),
            ("net_pay", &self.net_pay),
            ("in_words", &self.in_words),
            ("slip_id", &self.slip_id),
        ];
        for (key, text) in all {
            check_line(&format!("slip.labels.{key}"), text, 40)?;
        }
        check_line("slip.labels.footer", &self.footer, 120)
    }
}

/// A logo image ready to embed: JPEG as is, or PNG's zlib data with its predictor.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) kind: LogoKind,
    pub(crate) data: Arc<[u8]>,
}

impl Logo {
    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("kind", &self.kind)
            .field("bytes", &self.data.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogoKind {
    /// DCTDecode; the number of colour components (1 grey, 3 RGB, 4 CMYK).
    Jpeg { components: u8 },
    /// FlateDecode with the PNG predictor; 1 (grey) or 3 (RGB) colours of 8 bits.
    Png { colors: u8 },
}

/// The validated `[slip]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SlipLayout {
    employer: Option<String>,
    address: Vec<String>,
    logo: Option<Logo>,
    grouping: Grouping,
    margins: Margins,
    labels: Labels,
}

impl Default for SlipLayout {
    fn default() -> Self {
        let m = DEFAULT_MARGIN_MM * PT_PER_MM;
        SlipLayout {
            employer: None,
            address: Vec::new(),
            logo: None,
            grouping: Grouping::Thousands,
            margins: Margins { top: m, bottom: m, left: m, right: m },
            labels: Labels::default(),
        }
    }
}

impl SlipLayout {
    /// The employer named in the header (the pay scale's `company`).
    pub fn employer(&self) -> Option<&str> {
        self.employer.as_deref()
    }

    /// Address lines under the employer's name.
    pub fn address(&self) -> &[String] {
        &self.address
    }

    /// The logo, when the scale names one.
    pub fn logo(&self) -> Option<&Logo> {
        self.logo.as_ref()
    }

    /// Digit grouping of printed amounts.
    pub fn grouping(&self) -> Grouping {
        self.grouping
    }

    /// Page margins in points.
    pub fn margins(&self) -> Margins {
        self.margins
    }

    /// The printed labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Sets the employer's name (replacing the scale's `company`).
    pub fn with_employer(mut self, employer: Option<String>) -> Self {
        self.employer = employer;
        self
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlip {
    #[serde(default)]
    address: Vec<String>,
    logo: Option<String>,
    grouping: Option<Grouping>,
    #[serde(default)]
    margins: RawMargins,
    #[serde(default)]
    labels: Labels,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMargins {
    top: Option<f64>,
    bottom: Option<f64>,
    left: Option<f64>,
    right: Option<f64>,
}

fn invalid(msg: impl Into<String>) -> PayScaleError {
    PayScaleError::Invalid(msg.into())
}

fn check_line(what: &str, text: &str, max: usize) -> Result<(), PayScaleError> {
    let len = text.chars().count();
    if text.trim().is_empty() || len > max || text.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must be 1-{max} printable characters")));
    }
    Ok(())
}

fn margin(key: &str, mm: Option<f64>) -> Result<f32, PayScaleError> {
    match mm {
        None => Ok(DEFAULT_MARGIN_MM * PT_PER_MM),
        Some(mm) if (5.0..=50.0).contains(&mm) => Ok(mm as f32 * PT_PER_MM),
        Some(_) => Err(invalid(format!("slip.margins.{key} must be from 5 to 50 (millimetres)"))),
    }
}

impl RawSlip {
    /// Validates the table; a relative `logo` is resolved against `base_dir`
    /// (the pay-scale file's directory).
    pub(crate) fn validate(
        self,
        currency: &str,
        employer: Option<String>,
        base_dir: &Path,
    ) -> Result<SlipLayout, PayScaleError> {
        if self.address.len() > 4 {
            return Err(invalid("slip.address has at most 4 lines"));
        }
        for line in &self.address {
            check_line("slip.address lines", line, 80)?;
        }
        self.labels.check()?;
        let m = &self.margins;
        let margins = Margins {
            top: margin("top", m.top)?,
            bottom: margin("bottom", m.bottom)?,
            left: margin("left", m.left)?,
            right: margin("right", m.right)?,
        };
        let logo = match self.logo {
            Some(file) => Some(load_logo(&base_dir.join(file))?),
            None => None,
        };
        Ok(SlipLayout {
            employer,
            address: self.address,
            logo,
            grouping: self.grouping.unwrap_or_else(|| Grouping::for_currency(currency)),
            margins,
            labels: self.labels,
        })
    }
}

fn load_logo(path: &Path) -> Result<Logo, PayScaleError> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| invalid(format!("slip.logo {shown}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_LOGO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("slip.logo {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_LOGO_BYTES {
        return Err(invalid(format!("slip.logo {shown} is larger than 1 MiB")));
    }
    crate::pdf::logo::parse(bytes).map_err(|why| invalid(format!("slip.logo {shown}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::Grouping;

    #[test]
    fn indian_grouping_uses_lakh_and_crore() {
        let g = Grouping::Indian;
        assert_eq!(g.apply("0.00"), "0.00");
        assert_eq!(g.apply("999.99"), "999.99");
        assert_eq!(g.apply("1000.00"), "1,000.00");
        assert_eq!(g.apply("33080.00"), "33,080.00");
        assert_eq!(g.apply("123456.00"), "1,23,456.00");
        assert_eq!(g.apply("1234567.89"), "12,34,567.89");
        assert_eq!(g.apply("123456789.00"), "12,34,56,789.00");
    }

    #[test]
    fn thousands_grouping_uses_threes() {
        let g = Grouping::Thousands;
        assert_eq!(g.apply("999.00"), "999.00");
        assert_eq!(g.apply("33080.00"), "33,080.00");
        assert_eq!(g.apply("123456.00"), "123,456.00");
        assert_eq!(g.apply("1234567.89"), "1,234,567.89");
        assert_eq!(Grouping::None.apply("1234567.89"), "1234567.89");
    }

    #[test]
    fn grouping_leaves_anything_but_a_plain_decimal_alone() {
        for odd in ["", "-1000.00", "1e9", "12a45.00", ".50"] {
            assert_eq!(Grouping::Indian.apply(odd), odd);
        }
    }

    #[test]
    fn currency_picks_its_locale_grouping() {
        assert_eq!(Grouping::for_currency("INR"), Grouping::Indian);
        assert_eq!(Grouping::for_currency("USD"), Grouping::Thousands);
        assert_eq!(Grouping::for_currency("EUR"), Grouping::Thousands);
    }
}
