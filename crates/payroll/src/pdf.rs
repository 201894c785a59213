//! One-page A4 PDF of a salary slip, with the same content as the JSON slip.
//!
//! Fonts are DejaVu Sans and DejaVu Sans Bold (licence in
//! `crates/payroll/fonts/LICENSE-DejaVu.txt`), parsed once in
//! [`PdfRenderer::new`] and embedded per document as subsets holding only the
//! glyphs used. Text is written as Type0/CIDFontType2 fonts with Identity-H
//! encoding and a ToUnicode CMap, so `pdftotext` and screen readers recover
//! names in any script. Characters DejaVu lacks (e.g. CJK) print as boxes but
//! still extract correctly.
//!
//! ```
//! use std::sync::Arc;
//! use slipgate_payroll::PdfRenderer;
//!
//! let renderer = Arc::new(PdfRenderer::new().unwrap()); // once, at start-up
//! # let _ = renderer;
//! ```
//!
//! Amounts are printed with the digit grouping of the scale's currency
//! (`33,080.00`; INR in lakh and crore: `1,23,456.00`), dates as
//! "31 May 2025", and the loss-of-pay days (basis − working days) beside the
//! paid days; the JSON slip keeps plain decimals.
//!
//! Long values shrink to fit their box, and many components share the page,
//! so the document is always exactly one page.
//!
//! # Security
//! [`PdfError`] carries no slip content. Strings are written as CID sequences,
//! never as PDF syntax, so a name cannot inject PDF operators.

mod font;
mod layout;
pub(crate) mod logo;

use font::FontFace;

use crate::slip::SlipLayout;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 width in points.
pub const A4_WIDTH: f32 = 595.28;
/// A4 height in points.
pub const A4_HEIGHT: f32 = 841.89;

/// Why a PDF could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// An embedded font failed to parse (a build defect).
    #[error("embedded font {0} cannot be parsed")]
    Font(&'static str),
    /// The font subsetter failed.
    #[error("font subsetting failed: {0}")]
    Subset(String),
}

/// Renders slips as PDF; build once and share (it is `Send + Sync`).
pub struct PdfRenderer {
    regular: FontFace,
    bold: FontFace,
    layout: SlipLayout,
}

impl std::fmt::Debug for PdfRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfRenderer")
            .field("regular", &self.regular)
            .field("bold", &self.bold)
            .field("employer", &self.layout.employer())
            .finish_non_exhaustive()
    }
}

impl PdfRenderer {
    /// Parses the embedded fonts.
    pub fn new() -> Result<PdfRenderer, PdfError> {
        Ok(PdfRenderer {
            regular: FontFace::parse(REGULAR, "DejaVuSans")?,
            bold: FontFace::parse(BOLD, "DejaVuSans-Bold")?,
            layout: SlipLayout::default(),
        })
    }

    /// Prints `company` (e.g. [`crate::PayScale::company`]) in the header
    /// instead of the product name.
    pub fn with_company(mut self, company: Option<impl Into<String>>) -> Self {
        self.layout = self.layout.with_employer(company.map(Into::into));
        self
    }

    /// Lays slips out as the pay scale's `[slip]` table says (employer, address,
    /// logo, digit grouping, margins, labels): `with_layout(scale.slip_layout().clone())`.
    pub fn with_layout(mut self, layout: SlipLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Renders `slip` as a one-page A4 PDF.
    pub fn render(&self, slip: &slipgate_proto::Slip) -> Result<Vec<u8>, PdfError> {
        layout::render(self, slip)
    }
}

#[cfg(test)]
mod tests;
