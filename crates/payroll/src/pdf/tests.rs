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
        "33080.00",
        "Provident fund (employee)",
        "3969.60",
        "57892.00",
        "7064.20",
        "INR 50827.80",
        "Rupees Fifty Thousand Eight Hundred Twenty-Seven",
        "7d0c1f6e-0000-4000-8000-000000000001",
        "2025-05-31T12:00:00Z",
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
