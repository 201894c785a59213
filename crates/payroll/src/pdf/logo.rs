//! The employer's logo: a JPEG embedded as is (DCTDecode), or a PNG whose
//! zlib data goes into the PDF unchanged with the PNG predictor (FlateDecode,
//! `/Predictor 15`), so no image is decoded here.
//!
//! Only headers are parsed, with checked bounds. Supported: JPEG (grey, RGB,
//! CMYK; baseline or progressive) and non-interlaced 8-bit grey or RGB PNG.
//! Transparency and palettes are refused with a message saying how to save
//! the file instead.

use std::sync::Arc;

use pdf_writer::types::Predictor;
use pdf_writer::{Filter, Name, Pdf, Ref};

use crate::slip::{Logo, LogoKind};

/// Largest width or height accepted, in pixels.
const MAX_SIDE: u32 = 4096;

/// Parses a logo file's header; the error says what to change.
pub(crate) fn parse(bytes: Vec<u8>) -> Result<Logo, String> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(&bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg(bytes)
    } else {
        Err("is neither a PNG nor a JPEG file".into())
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn sides(width: u32, height: u32) -> Result<(), String> {
    if (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height) {
        Ok(())
    } else {
        Err(format!("is {width}x{height} pixels; width and height must be 1-{MAX_SIDE}"))
    }
}

fn png(b: &[u8]) -> Result<Logo, String> {
    let truncated = || "is a truncated PNG file".to_owned();
    let mut at = 8;
    let mut header = None;
    let mut data = Vec::new();
    loop {
        let len = be32(b, at).ok_or_else(truncated)? as usize;
        let kind = b.get(at + 4..at + 8).ok_or_else(truncated)?;
        let body = b.get(at + 8..at + 8 + len).ok_or_else(truncated)?;
        match kind {
            b"IHDR" if body.len() == 13 => header = Some(body.to_vec()),
            b"IDAT" if header.is_some() => data.extend_from_slice(body),
            b"IEND" => break,
            b"IHDR" | b"IDAT" => return Err("is not a well-formed PNG file".into()),
            _ => {}
        }
        at += 12 + len;
    }
    let h = header.ok_or("is a PNG file without a header")?;
    let (width, height) = (be32(&h, 0).unwrap_or(0), be32(&h, 4).unwrap_or(0));
    sides(width, height)?;
    let (depth, color, interlace) = (h[8], h[9], h[12]);
    let colors = match color {
        0 => 1,
        2 => 3,
        3 => return Err("is a palette PNG; save it as RGB (24-bit) PNG or as JPEG".into()),
        _ => return Err("has transparency; save it as RGB (24-bit) PNG without alpha, or as JPEG".into()),
    };
    if depth != 8 || interlace != 0 {
        return Err("must be an 8-bit, non-interlaced PNG".into());
    }
    if data.is_empty() {
        return Err("is a PNG file without image data".into());
    }
    Ok(Logo { width, height, kind: LogoKind::Png { colors }, data: Arc::from(data) })
}

fn jpeg(b: Vec<u8>) -> Result<Logo, String> {
    let mut at = 2;
    loop {
        if b.get(at) != Some(&0xFF) {
            return Err("is not a well-formed JPEG file".into());
        }
        let marker = *b.get(at + 1).ok_or("is a truncated JPEG file")?;
        match marker {
            0xFF => at += 1, // fill byte
            0xD0..=0xD7 | 0x01 => at += 2,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u32::from(be16(&b, at + 5).ok_or("is a truncated JPEG file")?);
                let width = u32::from(be16(&b, at + 7).ok_or("is a truncated JPEG file")?);
                let components = *b.get(at + 9).ok_or("is a truncated JPEG file")?;
                sides(width, height)?;
                if !matches!(components, 1 | 3 | 4) || b.get(at + 4) != Some(&8) {
                    return Err("must be an 8-bit grey, RGB or CMYK JPEG".into());
                }
                return Ok(Logo { width, height, kind: LogoKind::Jpeg { components }, data: Arc::from(b) });
            }
            0xD9 | 0xDA => return Err("is a JPEG file without a frame header".into()),
            _ => {
                let len = be16(&b, at + 2).ok_or("is a truncated JPEG file")?;
                at += 2 + usize::from(len);
            }
        }
    }
}

/// Writes `logo` as an image XObject with id `id`.
pub(super) fn write(pdf: &mut Pdf, id: Ref, logo: &Logo) {
    let mut image = pdf.image_xobject(id, &logo.data);
    image.width(logo.width as i32).height(logo.height as i32).bits_per_component(8);
    let colors = match logo.kind {
        LogoKind::Jpeg { components } => {
            image.filter(Filter::DctDecode);
            components
        }
        LogoKind::Png { colors } => {
            image.filter(Filter::FlateDecode);
            image
                .decode_parms()
                .predictor(Predictor::PngOptimum)
                .colors(i32::from(colors))
                .bits_per_component(8)
                .columns(logo.width as i32);
            colors
        }
    };
    match colors {
        1 => image.color_space_name(Name(b"DeviceGray")),
        4 => image.color_space_name(Name(b"DeviceCMYK")),
        _ => image.color_space_name(Name(b"DeviceRGB")),
    };
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(body);
        c.extend_from_slice(&[0; 4]); // CRC is not checked here; the PDF reader decodes
        c
    }

    fn png(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(chunk(b"IHDR", &ihdr));
        b.extend(chunk(b"IDAT", b"\x78\x9c"));
        b.extend(chunk(b"IEND", b""));
        b
    }

    #[test]
    fn accepts_rgb_and_grey_png_headers() {
        let logo = parse(png(120, 40, 8, 2)).unwrap();
        assert_eq!((logo.width, logo.height), (120, 40));
        assert!(parse(png(1, 1, 8, 0)).is_ok());
    }

    #[test]
    fn rejects_png_with_alpha_palette_or_other_depth() {
        assert!(parse(png(10, 10, 8, 6)).unwrap_err().contains("transparency"));
        assert!(parse(png(10, 10, 8, 3)).unwrap_err().contains("palette"));
        assert!(parse(png(10, 10, 16, 2)).unwrap_err().contains("8-bit"));
        assert!(parse(png(0, 10, 8, 2)).unwrap_err().contains("1-4096"));
        assert!(parse(png(5000, 10, 8, 2)).unwrap_err().contains("1-4096"));
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let mut cut = png(10, 10, 8, 2);
        cut.truncate(20);
        assert!(parse(cut).unwrap_err().contains("truncated"));
        assert!(parse(b"GIF89a....".to_vec()).unwrap_err().contains("neither"));
        assert!(parse(vec![0xFF, 0xD8, 0xFF]).unwrap_err().contains("truncated"));
        // a huge chunk length must not be trusted
        let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(b"IHDR");
        assert!(parse(huge).is_err());
    }

    #[test]
    fn reads_a_jpeg_frame_header() {
        // SOI, APP0 (length 4), SOF0: len 11, precision 8, 30 high, 90 wide, 3 components
        let b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 30, 0, 90, 3, 1, 0x11, 0];
        let logo = parse(b).unwrap();
        assert_eq!((logo.width, logo.height), (90, 30));
        let no_frame = vec![0xFF, 0xD8, 0xFF, 0xDA, 0, 2];
        assert!(parse(no_frame).unwrap_err().contains("frame"));
    }
}
