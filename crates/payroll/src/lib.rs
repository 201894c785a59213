//! Pay scale, exact salary-slip computation, and PDF rendering (SPEC §3.5).
//!
//! - [`PayScale`] loads and validates the TOML pay scale (`docs/pay-scale.md`);
//!   [`PayScale::builtin`] is the shipped INR default.
//! - [`PayScale::compute`] turns a validated request ([`SlipInput`]) into the
//!   wire [`slipgate_proto::Slip`], computing in integer minor units ([`Money`])
//!   with documented half-up rounding — never binary floating point.
//! - [`PdfRenderer`] renders a slip as a one-page A4 PDF with embedded, subset
//!   DejaVu Sans fonts and a ToUnicode map, so text in any script extracts.
//!
//! ```
//! use slipgate_payroll::{PayScale, PdfRenderer, SlipInput};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scale = PayScale::builtin()?;
//! let input = SlipInput {
//!     emp_id: "01234",
//!     emp_code: "ENG",
//!     emp_name: "John Doe",
//!     emp_grade: "7.1",
//!     year: 2025,
//!     month: 5,
//!     working_days: 24,
//! };
//! let slip = scale.compute(&input, "3f2c…".to_owned(), time::OffsetDateTime::UNIX_EPOCH)?;
//! assert_eq!(slip.gross_earnings, "57892.00");
//! assert_eq!(slip.net_pay, "50827.80");
//!
//! let renderer = PdfRenderer::new()?; // parse fonts once, share behind Arc
//! let pdf = renderer.render(&slip)?;
//! assert!(pdf.starts_with(b"%PDF-"));
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//! Salary data (amounts, names) never appears in an error's `Display` or
//! `Debug`: [`ComputeError`] and [`PdfError`] carry only reasons and the
//! period's basis, and [`PayScaleError`] quotes only the pay scale itself,
//! which is configuration. This crate does no logging. The [`slipgate_proto::Slip`]
//! it returns does hold salary data; callers must not log it.
//!
//! Threats not covered here: authorization (who may see whose slip) is the
//! API's job; the PDF is not signed.

pub mod compute;
pub mod money;
pub mod pdf;
pub mod scale;
pub mod slip;
pub mod words;

pub use compute::{Breakdown, ComputeError, SlipInput};
pub use money::{Money, Percentage};
pub use pdf::{PdfError, PdfRenderer};
pub use scale::{Basis, PayScale, PayScaleError};
pub use slip::{Grouping, Labels, Logo, Margins, SlipLayout};
