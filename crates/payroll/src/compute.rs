//! Slip computation: exact integer arithmetic in minor units.
//!
//! Rules (SPEC §3.5, docs/pay-scale.md):
//! - each earning is prorated on its own: `round_half_up(monthly × worked / basis)`,
//!   so a full basis pays exactly the monthly amounts;
//! - a percent deduction is `round_half_up(base × rate)`, the base being gross or
//!   one prorated earning; a slab deduction is the amount of the highest slab
//!   whose `from` is at most the base;
//! - deductions apply in file order, each capped at what is left of gross, so
//!   `net_pay = gross − deductions ≥ 0` always;
//! - products use `i128`; amounts are bounded at load so nothing overflows.
//!
//! ```
//! use slipgate_payroll::{PayScale, SlipInput};
//!
//! let scale = PayScale::builtin().unwrap();
//! let input = SlipInput {
//!     emp_id: "01234", emp_code: "ENG", emp_name: "John Doe", emp_grade: "7.1",
//!     year: 2025, month: 5, working_days: 24,
//! };
//! let slip = scale.compute(&input, "slip-1".into(), time::macros::datetime!(2025-05-31 12:00 UTC)).unwrap();
//! assert_eq!(slip.net_pay, "50827.80");
//! ```
//!
//! # Security
//! [`ComputeError`] carries no salary figure, only the grade-free reason and
//! the basis, so it is safe to log and to show to the client.

use slipgate_proto::{Employee, LineItem, Period, Slip};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::money::{Money, div_round_half_up};
use crate::scale::{Base, Grade, PayScale, Rule};
use crate::words::amount_in_words;

/// What to compute a slip for (the validated request plus its period).
#[derive(Debug, Clone, Copy)]
pub struct SlipInput<'a> {
    /// Employee id.
    pub emp_id: &'a str,
    /// Department / employee code.
    pub emp_code: &'a str,
    /// Full name.
    pub emp_name: &'a str,
    /// Grade; must be in the scale.
    pub emp_grade: &'a str,
    /// Year of the pay period.
    pub year: i32,
    /// Month of the pay period, 1–12.
    pub month: u8,
    /// Days worked, 0 ≤ n ≤ basis.
    pub working_days: u32,
}

/// Why a slip could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComputeError {
    /// `emp_grade` is not in the pay scale.
    #[error("unknown grade")]
    UnknownGrade,
    /// More working days than the period's basis.
    #[error("working days exceed the basis of {basis} days for this period")]
    DaysExceedBasis {
        /// The basis for the period.
        basis: u32,
    },
    /// Month outside 1–12 or year outside 0–9999.
    #[error("pay period is not a valid year and month")]
    InvalidPeriod,
    /// `generated_at` cannot be written as RFC 3339.
    #[error("generation time cannot be formatted as RFC 3339")]
    InvalidTimestamp,
}

/// The computed amounts of one slip, index-aligned with the scale's components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    /// The period's basis.
    pub basis: u32,
    /// Prorated earnings, in scale order.
    pub earnings: Vec<Money>,
    /// Deductions after capping, in scale order.
    pub deductions: Vec<Money>,
    /// Σ earnings.
    pub gross: Money,
    /// Σ deductions.
    pub total_deductions: Money,
    /// gross − deductions, never negative.
    pub net: Money,
}

impl PayScale {
    /// The amounts for `grade` in `year`-`month` with `working_days` worked.
    pub fn breakdown(
        &self,
        grade: &str,
        year: i32,
        month: u8,
        working_days: u32,
    ) -> Result<Breakdown, ComputeError> {
        if !(1..=12).contains(&month) || !(0..=9999).contains(&year) {
            return Err(ComputeError::InvalidPeriod);
        }
        let g = self.grades.get(grade).ok_or(ComputeError::UnknownGrade)?;
        let basis = self.basis_days(year, month);
        if working_days > basis {
            return Err(ComputeError::DaysExceedBasis { basis });
        }
        Ok(self.amounts(g, basis, working_days))
    }

    fn amounts(&self, g: &Grade, basis: u32, worked: u32) -> Breakdown {
        let earnings: Vec<Money> = g
            .monthly
            .iter()
            .map(|m| {
                let num = i128::from(m.minor_units()) * i128::from(worked);
                Money::from_minor_units(div_round_half_up(num, i128::from(basis.max(1))))
            })
            .collect();
        // Bounded at load: ≤ 64 components × 10¹⁴ minor units fits in i64.
        let gross = Money::from_minor_units(earnings.iter().map(|m| m.minor_units()).sum());
        let mut left = gross;
        let mut deductions = Vec::with_capacity(self.deductions.len());
        for (d, rate_override) in self.deductions.iter().zip(&g.rates) {
            let base_of = |b: Base| match b {
                Base::Gross => gross,
                Base::Earning(i) => earnings.get(i).copied().unwrap_or(Money::ZERO),
            };
            let amount = match &d.rule {
                Rule::Percent { base, rate } => rate_override.unwrap_or(*rate).apply(base_of(*base)),
                Rule::Slab { base, slabs } => {
                    let b = base_of(*base);
                    slabs.iter().take_while(|(from, _)| *from <= b).last().map_or(Money::ZERO, |s| s.1)
                }
            };
            let amount = amount.min(left).max(Money::ZERO);
            left = Money::from_minor_units(left.minor_units() - amount.minor_units());
            deductions.push(amount);
        }
        let total_deductions = Money::from_minor_units(gross.minor_units() - left.minor_units());
        Breakdown { basis, earnings, deductions, gross, total_deductions, net: left }
    }

    /// Computes the slip of SPEC §3.5 for `input`.
    pub fn compute(
        &self,
        input: &SlipInput<'_>,
        slip_id: String,
        generated_at: OffsetDateTime,
    ) -> Result<Slip, ComputeError> {
        let b = self.breakdown(input.emp_grade, input.year, input.month, input.working_days)?;
        let generated_at = generated_at.format(&Rfc3339).map_err(|_| ComputeError::InvalidTimestamp)?;
        let items = |components: &mut dyn Iterator<Item = (&crate::scale::Component, &Money)>| {
            components
                .map(|(c, m)| LineItem {
                    code: c.code.clone(),
                    label: c.label.clone(),
                    amount: m.to_string(),
                })
                .collect()
        };
        Ok(Slip {
            slip_id,
            employee: Employee {
                emp_id: input.emp_id.to_owned(),
                emp_code: input.emp_code.to_owned(),
                emp_name: input.emp_name.to_owned(),
                emp_grade: input.emp_grade.to_owned(),
            },
            period: Period {
                month: format!("{:04}-{:02}", input.year, input.month),
                basis_days: b.basis,
                working_days: input.working_days,
            },
            currency: self.currency.clone(),
            earnings: items(&mut self.earnings.iter().zip(&b.earnings)),
            deductions: items(&mut self.deductions.iter().map(|d| &d.component).zip(&b.deductions)),
            gross_earnings: b.gross.to_string(),
            total_deductions: b.total_deductions.to_string(),
            net_pay: b.net.to_string(),
            net_pay_in_words: amount_in_words(b.net, &self.words),
            generated_at,
        })
    }
}

#[cfg(test)]
mod tests;
