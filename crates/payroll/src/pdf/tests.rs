use std::process::Command;

use time::macros::datetime;

use super::*;
use crate::{PayScale, SlipInput};

fn seed_slip(name: &str) -> slipgate_proto::Slip {
    let input = SlipInput {
        emp_id: "01234",
        emp_code: "ENG",
        emp_name: name,
        emp_grade: "7.1",
        year: 2025,
        month: 5,
        working_days: 24,
    };
    PayScale::builtin()
        .unwrap()
        .compute(&input, "7d0c1f6e-0000-4000-8000-000000000001".into(), datetime!(2025-05-31 12:00 UTC))
        .unwrap()
}

/// Runs `pdftotext -layout` on `pdf`; fails loudly if poppler-utils is missing.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = match Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output() {
        Ok(out) => out,
        Err(e) => panic!(
            "pdftotext is required for this test ({e}); install poppler-utils: \
             apt-get install -y poppler-utils"
        ),
    };
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pdfinfo(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdfinfo").arg(&path).output().expect("pdfinfo (poppler-utils) is required");
    assert!(out.status.success(), "pdfinfo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn renderer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PdfRenderer>();
}

#[test]
fn seed_slip_text_is_extractable() {
    let slip = seed_slip("John Doe");
    let pdf = PdfRenderer::new().unwrap().with_company(Some("Acme India Pvt. Ltd.")).render(&slip).unwrap();
    let text = pdftotext(&pdf);
    for needle in [
        "Acme India Pvt. Ltd.",
        "Salary slip for May 2025",
        "John Doe",
        "01234",
        "ENG",
        "7.1",
        "Basic salary",
        "33,080.00",
        "Provident fund (employee)",
        "3,969.60",
        "57,892.00",
        "7,064.20",
        "INR 50,827.80",
        "Rupees Fifty Thousand Eight Hundred Twenty-Seven",
        "7d0c1f6e-0000-4000-8000-000000000001",
        "31 May 2025",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn non_ascii_names_round_trip_through_text_extraction() {
    let renderer = PdfRenderer::new().unwrap();
    for name in ["Łukasz Δημήτρης", "Анна-Мария О'Нил", "佐藤 花子"] {
        let text = pdftotext(&renderer.render(&seed_slip(name)).unwrap());
        assert!(text.contains(name), "missing {name:?} in:\n{text}");
    }
}

#[test]
fn pdf_is_one_a4_page_with_embedded_fonts() {
    let pdf = PdfRenderer::new().unwrap().render(&seed_slip("John Doe")).unwrap();
    let info = pdfinfo(&pdf);
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let fonts = Command::new("pdffonts").arg(&path).output().expect("pdffonts (poppler-utils) is required");
    let fonts = String::from_utf8(fonts.stdout).unwrap();
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVuSans")).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        // name, type "CID TrueType", encoding "Identity-H", emb sub uni = yes yes yes
        assert!(row.contains("CID TrueType") && row.contains("Identity-H"), "{row}");
        assert!(row.contains("yes yes yes"), "{row}");
    }
    assert!(pdf.len() < 100_000, "subset PDF unexpectedly large: {} bytes", pdf.len());
}

#[test]
fn many_components_and_long_values_stay_on_one_page() {
    let mut slip = seed_slip(&"Very Long Name ".repeat(7));
    let item = slip.earnings[0].clone();
    slip.earnings = vec![item; 64];
    slip.deductions = slip.earnings.clone();
    let pdf = PdfRenderer::new().unwrap().render(&slip).unwrap();
    assert!(pdfinfo(&pdf).contains("Pages:           1"));
    assert!(pdftotext(&pdf).contains("Net pay"));
}

#[test]
fn renderer_debug_is_short() {
    let shown = format!("{:?}", PdfRenderer::new().unwrap());
    assert!(shown.len() < 300, "{shown}");
    assert!(shown.contains("DejaVuSans"));
}

fn tool(name: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = match Command::new(name).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("{name} is required for this test ({e}); install poppler-utils"),
    };
    assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Renders page 1 of `pdf` at `dpi` as an 8-bit grey PGM: (width, height, pixels).
fn render_grey(pdf: &[u8], dpi: u32) -> (usize, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, pdf).unwrap();
    let dpi = dpi.to_string();
    let pgm = tool("pdftoppm", &["-gray".as_ref(), "-r".as_ref(), dpi.as_ref(), path.as_os_str()]);
    // P5\n<w> <h>\n255\n<pixels>
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = pgm[at + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

/// Share of pixels darker than mid-grey in the box (fractions of the page).
fn dark_share(img: &(usize, usize, Vec<u8>), x: (f32, f32), y: (f32, f32)) -> f32 {
    let (w, h, px) = img;
    let (x0, x1) = ((x.0 * *w as f32) as usize, (x.1 * *w as f32) as usize);
    let (y0, y1) = ((y.0 * *h as f32) as usize, (y.1 * *h as f32) as usize);
    let mut dark = 0;
    for row in y0..y1 {
        dark += px[row * w + x0..row * w + x1].iter().filter(|&&p| p < 128).count();
    }
    dark as f32 / ((x1 - x0) * (y1 - y0)) as f32
}

fn scale_with_slip_table(extra: &str, dir: &std::path::Path) -> PayScale {
    let builtin = include_str!("../../pay-scale.toml");
    let text = builtin.replace("[proration]", &format!("{extra}\n\n[proration]"));
    let path = dir.join("pay-scale.toml");
    std::fs::write(&path, text).unwrap();
    PayScale::load(&path).unwrap()
}

fn slip_for(scale: &PayScale, grade: &str, days: u32) -> slipgate_proto::Slip {
    let input = SlipInput {
        emp_id: "01234",
        emp_code: "ENG",
        emp_name: "John Doe",
        emp_grade: grade,
        year: 2026,
        month: 12,
        working_days: days,
    };
    scale
        .compute(&input, "0c5e2b1a-1111-4222-8333-444455556666".into(), datetime!(2026-12-01 09:30 UTC))
        .unwrap()
}

#[test]
fn slip_shows_employer_address_grouped_amounts_date_and_loss_of_pay_days() {
    let dir = tempfile::tempdir().unwrap();
    let scale = scale_with_slip_table(
        "[slip]\naddress = [\"4th Floor, Prestige Tower, 12 MG Road\", \"Bengaluru 560001, India\"]",
        dir.path(),
    );
    let renderer = PdfRenderer::new().unwrap().with_layout(scale.slip_layout().clone());
    let text = pdftotext(&renderer.render(&slip_for(&scale, "7.1", 24)).unwrap());
    for needle in [
        "Slipgate Demo Technologies Pvt. Ltd.",
        "4th Floor, Prestige Tower, 12 MG Road",
        "Bengaluru 560001, India",
        "Salary slip for December 2026",
        "Issued on",
        "1 December 2026",
        "Paid days",
        "Loss-of-pay days",
        "33,080.00",
        "13,232.00",
        "57,892.00",
        "INR 50,827.80",
        "Slip ID: 0c5e2b1a-1111-4222-8333-444455556666",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let lop = text.lines().find(|l| l.contains("Loss-of-pay days")).unwrap();
    assert!(lop.trim_end().ends_with(" 6"), "basis 30 − 24 worked = 6: {lop:?}");
    assert!(!text.contains("33080.00") && !text.contains("2026-12-01T"), "{text}");
    // A full month has no loss of pay, and lakh grouping shows above 99,999.99.
    let text = pdftotext(&renderer.render(&slip_for(&scale, "8.1", 30)).unwrap());
    let lop = text.lines().find(|l| l.contains("Loss-of-pay days")).unwrap();
    assert!(lop.trim_end().ends_with(" 0"), "{lop:?}");
    assert!(text.contains("1,11,733.33"), "gross 62,000 + 24,800 + 23,333.33 + 1,600:\n{text}");
}

#[test]
fn other_currencies_group_by_thousands() {
    let scale = PayScale::from_toml_str(
        r#"
        currency = "USD"
        company = "Acme Corp."
        [words]
        numbering = "international"
        major_unit = "Dollars"
        minor_unit = "Cents"
        [[earnings]]
        code = "BASIC"
        label = "Base salary"
        [grades."A1"]
        earnings = { BASIC = "1234567.00" }
        "#,
    )
    .unwrap();
    let pdf = PdfRenderer::new().unwrap().with_layout(scale.slip_layout().clone());
    let text = pdftotext(&pdf.render(&slip_for(&scale, "A1", 30)).unwrap());
    assert!(text.contains("USD 1,234,567.00"), "{text}");
    assert!(!text.contains("12,34,567.00"), "{text}");
}

#[test]
fn clerk_sets_labels_margins_and_grouping_in_the_pay_scale() {
    let dir = tempfile::tempdir().unwrap();
    let scale = scale_with_slip_table(
        r#"[slip]
grouping = "none"
margins = { left = 40, top = 30 }
[slip.labels]
title = "Payslip for the month of"
net_pay = "Take-home pay"
loss_of_pay_days = "LOP days"
footer = "Questions? Write to payroll@example.com."
"#,
        dir.path(),
    );
    let pdf = PdfRenderer::new()
        .unwrap()
        .with_layout(scale.slip_layout().clone())
        .render(&slip_for(&scale, "7.1", 24))
        .unwrap();
    let text = pdftotext(&pdf);
    for needle in [
        "Payslip for the month of December 2026",
        "Take-home pay",
        "LOP days",
        "Questions? Write to payroll@example.com.",
        "INR 50827.80",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("Net pay") && !text.contains("computer-generated"), "{text}");
    // Nothing starts left of the 40 mm margin (113.4 pt); the default is 17.5 mm (49.6 pt).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let bbox =
        String::from_utf8(tool("pdftotext", &["-bbox".as_ref(), path.as_os_str(), "-".as_ref()])).unwrap();
    let xs: Vec<f32> = bbox
        .lines()
        .filter(|l| l.contains("<word "))
        .map(|l| l.split("xMin=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
        .collect();
    assert!(xs.len() > 50, "{bbox}");
    let min = xs.iter().copied().fold(f32::MAX, f32::min);
    assert!((113.0..116.0).contains(&min), "leftmost word at {min} pt");
}

#[test]
fn rejects_bad_slip_tables_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = include_str!("../../pay-scale.toml");
    for (table, expect) in [
        ("[slip]\nmargins = { left = 2 }", "slip.margins.left must be from 5 to 50"),
        ("[slip]\nmargins = { middle = 10 }", "unknown field `middle`"),
        ("[slip.labels]\nnett_pay = \"x\"", "unknown field `nett_pay`"),
        ("[slip.labels]\nnet_pay = \"\"", "slip.labels.net_pay must be 1-40"),
        ("[slip]\naddress = [\"a\", \"b\", \"c\", \"d\", \"e\"]", "at most 4 lines"),
        ("[slip]\ngrouping = \"arabic\"", "unknown variant `arabic`"),
        ("[slip]\nlogo = \"missing.png\"", "slip.logo"),
        ("[slip]\nlogo = \"pay-scale.toml\"", "neither a PNG nor a JPEG"),
    ] {
        let path = dir.path().join("pay-scale.toml");
        std::fs::write(&path, builtin.replace("[proration]", &format!("{table}\n[proration]"))).unwrap();
        let e = PayScale::load(&path).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(expect), "{table}: {e}");
    }
}

/// A solid black RGB PNG made by poppler itself (so the test needs no image crate).
fn black_png(dir: &std::path::Path) -> std::path::PathBuf {
    use pdf_writer::{Content, Pdf, Rect, Ref};
    let mut pdf = Pdf::new();
    let (catalog, pages, page, content) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    pdf.page(page).media_box(Rect::new(0.0, 0.0, 300.0, 100.0)).parent(pages).contents(content);
    let mut c = Content::new();
    c.set_fill_rgb(0.0, 0.0, 0.0).rect(0.0, 0.0, 300.0, 100.0).fill_nonzero();
    pdf.stream(content, &c.finish());
    let src = dir.join("logo.pdf");
    std::fs::write(&src, pdf.finish()).unwrap();
    let stem = dir.join("logo");
    tool(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "24".as_ref(),
            "-singlefile".as_ref(),
            src.as_os_str(),
            stem.as_os_str(),
        ],
    );
    dir.join("logo.png")
}

#[test]
fn rendered_png_shows_text_and_the_logo() {
    let dir = tempfile::tempdir().unwrap();
    let logo = black_png(dir.path());
    assert!(std::fs::read(&logo).unwrap().starts_with(b"\x89PNG"));
    let scale = scale_with_slip_table("[slip]\nlogo = \"logo.png\"", dir.path());
    let l = scale.slip_layout().logo().unwrap();
    assert_eq!(l.size(), (100, 34), "300 x 100 pt at 24 dpi");
    let pdf = PdfRenderer::new()
        .unwrap()
        .with_layout(scale.slip_layout().clone())
        .render(&slip_for(&scale, "7.1", 24))
        .unwrap();

    // The PNG poppler renders is an A4 page at the asked resolution, and not trivial.
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let stem = dir.path().join("page");
    tool(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "72".as_ref(),
            "-singlefile".as_ref(),
            path.as_os_str(),
            stem.as_os_str(),
        ],
    );
    let png = std::fs::read(dir.path().join("page.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert!((595..=596).contains(&w) && (841..=842).contains(&h), "{w}x{h}");
    assert!(png.len() > 20_000, "a page of text compresses to more than {} bytes", png.len());

    let img = render_grey(&pdf, 72);
    // The page is mostly white but not blank; the header (employer) and the earnings table carry ink.
    let all = dark_share(&img, (0.0, 1.0), (0.0, 1.0));
    assert!((0.005..0.2).contains(&all), "dark share of the page {all}");
    assert!(dark_share(&img, (0.08, 0.5), (0.03, 0.08)) > 0.03, "employer name in the header");
    assert!(dark_share(&img, (0.08, 0.5), (0.3, 0.45)) > 0.01, "earnings rows");
    // The logo (black, scaled to 140 x 46.7 pt at the top right margin) is solid ink.
    let (mw, mh) = (A4_WIDTH, A4_HEIGHT);
    let margin = 17.5 * 72.0 / 25.4;
    let x = ((mw - margin - 135.0) / mw, (mw - margin - 5.0) / mw);
    let y = ((margin + 5.0) / mh, (margin + 40.0) / mh);
    assert!(dark_share(&img, x, y) > 0.95, "logo box {x:?} {y:?}");
    // Without the logo that box is white.
    let plain = PdfRenderer::new().unwrap().render(&slip_for(&scale, "7.1", 24)).unwrap();
    assert!(dark_share(&render_grey(&plain, 72), x, y) < 0.05);

    let dir2 = tempfile::tempdir().unwrap();
    let p2 = dir2.path().join("slip.pdf");
    std::fs::write(&p2, &pdf).unwrap();
    let images = String::from_utf8(tool("pdfimages", &["-list".as_ref(), p2.as_os_str()])).unwrap();
    let row = images.lines().nth(2).unwrap_or_default();
    assert!(row.contains(" 100 ") && row.contains(" 34 ") && row.contains("rgb"), "{images}");
}
