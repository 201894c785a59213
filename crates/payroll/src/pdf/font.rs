//! Embedded DejaVu Sans: parsed once, subset and written per document.
//!
//! Each document assigns its own CIDs (1, 2, … in order of first use, one per
//! distinct character), so the ToUnicode CMap maps every CID to exactly one
//! character — even characters the font lacks, which share the `.notdef`
//! glyph through the CIDToGIDMap yet still extract as themselves.

use std::collections::HashMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};
use ttf_parser::{Face, GlyphId};

use super::PdfError;

/// A font face parsed once at start-up.
pub(super) struct FontFace {
    data: &'static [u8],
    face: Face<'static>,
    ps_name: &'static str,
    units_per_em: f32,
}

impl std::fmt::Debug for FontFace {
    /// Names the face; the font bytes and tables are not worth printing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontFace").field("ps_name", &self.ps_name).finish_non_exhaustive()
    }
}

impl FontFace {
    pub(super) fn parse(data: &'static [u8], ps_name: &'static str) -> Result<Self, PdfError> {
        let face = Face::parse(data, 0).map_err(|_| PdfError::Font(ps_name))?;
        let units_per_em = f32::from(face.units_per_em().max(1));
        Ok(FontFace { data, face, ps_name, units_per_em })
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance of `gid` in PDF glyph space (1/1000 em).
    fn advance(&self, gid: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em
    }

    /// Width of `text` at `size` points.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(self.glyph(c))).sum::<f32>() * size / 1000.0
    }
}

/// The characters one document uses from one face.
#[derive(Debug)]
pub(super) struct FontUse<'f> {
    face: &'f FontFace,
    /// char → CID, CIDs from 1 in order of first use.
    cids: HashMap<char, u16>,
    order: Vec<char>,
}

impl<'f> FontUse<'f> {
    pub(super) fn new(face: &'f FontFace) -> Self {
        FontUse { face, cids: HashMap::with_capacity(96), order: Vec::with_capacity(96) }
    }

    pub(super) fn face(&self) -> &'f FontFace {
        self.face
    }

    /// `text` as 2-byte big-endian CIDs (Identity-H).
    pub(super) fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let cid = match self.cids.get(&c) {
                Some(cid) => *cid,
                None => {
                    // More distinct characters than CIDs cannot come from a
                    // slip (bounded fields); fall back to .notdef rather than fail.
                    let Ok(cid) = u16::try_from(self.order.len() + 1) else {
                        out.extend_from_slice(&[0, 0]);
                        continue;
                    };
                    self.cids.insert(c, cid);
                    self.order.push(c);
                    cid
                }
            };
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    /// Writes Type0 font `type0` and its descendants using refs from `alloc`.
    pub(super) fn write(
        &self,
        pdf: &mut Pdf,
        type0: Ref,
        alloc: &mut impl FnMut() -> Ref,
    ) -> Result<(), PdfError> {
        let face = self.face;
        let old_gids: Vec<u16> = self.order.iter().map(|c| face.glyph(*c)).collect();
        let mut remapper = subsetter::GlyphRemapper::new();
        let new_gids: Vec<u16> = old_gids.iter().map(|g| remapper.remap(*g)).collect();
        let subset =
            subsetter::subset(face.data, 0, &remapper).map_err(|e| PdfError::Subset(e.to_string()))?;

        let tag = subset_tag(&self.order);
        let mut base = Vec::with_capacity(7 + face.ps_name.len());
        base.extend_from_slice(&tag);
        base.push(b'+');
        base.extend_from_slice(face.ps_name.as_bytes());
        let base = Name(&base);

        let (cid_ref, descriptor_ref, cmap_ref, map_ref, file_ref) =
            (alloc(), alloc(), alloc(), alloc(), alloc());
        let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);

        let mut cid = pdf.cid_font(cid_ref);
        cid.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system_info)
            .font_descriptor(descriptor_ref)
            .default_width(0.0)
            .cid_to_gid_map_stream(map_ref);
        if !old_gids.is_empty() {
            cid.widths().consecutive(1, old_gids.iter().map(|g| face.advance(*g)));
        }
        cid.finish();

        let scale = |v: i16| f32::from(v) * 1000.0 / face.units_per_em;
        let bbox = face.face.global_bounding_box();
        pdf.font_descriptor(descriptor_ref)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(scale(bbox.x_min), scale(bbox.y_min), scale(bbox.x_max), scale(bbox.y_max)))
            .italic_angle(face.face.italic_angle())
            .ascent(scale(face.face.ascender()))
            .descent(scale(face.face.descender()))
            .cap_height(scale(face.face.capital_height().unwrap_or(face.face.ascender())))
            .stem_v(80.0)
            .font_file2(file_ref);

        let mut map = Vec::with_capacity(2 * (new_gids.len() + 1));
        map.extend_from_slice(&[0, 0]);
        for g in &new_gids {
            map.extend_from_slice(&g.to_be_bytes());
        }
        pdf.stream(map_ref, &map);

        let mut cmap = UnicodeCmap::new(Name(b"Slipgate-UTF16"), system_info);
        for (i, c) in self.order.iter().enumerate() {
            if let Ok(cid) = u16::try_from(i + 1) {
                cmap.pair(cid, *c);
            }
        }
        pdf.cmap(cmap_ref, &cmap.finish());

        let len = i32::try_from(subset.len()).unwrap_or(i32::MAX);
        pdf.stream(file_ref, &subset).pair(Name(b"Length1"), len);
        Ok(())
    }
}

/// Six upper-case letters naming the subset (PDF 32000 §9.6.4), derived from
/// the characters so identical subsets share a tag.
fn subset_tag(chars: &[char]) -> [u8; 6] {
    let mut h: u32 = 0x811c_9dc5;
    for c in chars {
        h = (h ^ u32::from(*c)).wrapping_mul(0x0100_0193);
    }
    let mut tag = [b'A'; 6];
    for t in &mut tag {
        *t = b'A' + (h % 26) as u8;
        h /= 26;
    }
    tag
}
