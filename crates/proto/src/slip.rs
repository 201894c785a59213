//! The salary-slip document of SPEC §3.5.
//!
//! Amounts are decimal strings with exactly two fraction digits (`"12345.67"`);
//! they are computed in integer minor units by `slipgate-payroll` and never pass
//! through binary floating point.

use serde::{Deserialize, Serialize};

/// The employee a slip is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employee {
    /// Employee id.
    pub emp_id: String,
    /// Department or employee code.
    pub emp_code: String,
    /// Full name.
    pub emp_name: String,
    /// Grade in the pay scale.
    pub emp_grade: String,
}

/// The pay period a slip covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// `YYYY-MM`.
    pub month: String,
    /// Days a full month counts for proration.
    pub basis_days: u32,
    /// Days worked.
    pub working_days: u32,
}

/// One earning or deduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// Stable code, e.g. `BASIC`.
    pub code: String,
    /// Human label, e.g. `Basic salary`.
    pub label: String,
    /// Decimal string with two fraction digits.
    pub amount: String,
}

/// A generated salary slip (the JSON body of a 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slip {
    /// Unique id of this slip.
    pub slip_id: String,
    /// Who it is for.
    pub employee: Employee,
    /// Which month, and how many days.
    pub period: Period,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Earnings, prorated.
    pub earnings: Vec<LineItem>,
    /// Deductions.
    pub deductions: Vec<LineItem>,
    /// Σ earnings.
    pub gross_earnings: String,
    /// Σ deductions.
    pub total_deductions: String,
    /// gross − deductions.
    pub net_pay: String,
    /// Net pay spelled out.
    pub net_pay_in_words: String,
    /// RFC 3339 time of generation.
    pub generated_at: String,
}
