//! Successful slips: JSON invariants of SPEC §3.5, PDF, response headers.

use slipgate_test_support::{SEED_BODY, TestApi, json, pdftotext};

use crate::post_slip;

/// A two-fraction-digit decimal string in minor units.
fn cents(v: &serde_json::Value) -> i64 {
    let s = v.as_str().unwrap();
    let (int, frac) = s.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{s}");
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

fn sum(items: &serde_json::Value) -> i64 {
    items.as_array().unwrap().iter().map(|i| cents(&i["amount"])).sum()
}

#[tokio::test]
async fn seed_payload_returns_a_consistent_json_slip() {
    let api = TestApi::spawn(&[]).await;
    let response = post_slip(&api, SEED_BODY, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let slip = json(&response.bytes().await.unwrap());
    assert_eq!(slip["employee"]["emp_id"], "01234");
    assert_eq!(slip["employee"]["emp_name"], "John Doe");
    assert_eq!(slip["period"]["working_days"], 24);
    let gross = cents(&slip["gross_earnings"]);
    let deductions = cents(&slip["total_deductions"]);
    assert!(gross > 0);
    assert_eq!(sum(&slip["earnings"]), gross);
    assert_eq!(sum(&slip["deductions"]), deductions);
    assert_eq!(cents(&slip["net_pay"]), gross - deductions);
    assert!(slip["net_pay_in_words"].as_str().is_some_and(|w| !w.is_empty()));
    assert!(
        time::OffsetDateTime::parse(
            slip["generated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    api.stop().await;
}

#[tokio::test]
async fn full_basis_pays_more_than_partial_month() {
    let api = TestApi::spawn(&[]).await;
    let body = SEED_BODY.replace("}", ",\"pay_period\":\"2026-02\"}");
    let partial = json(&post_slip(&api, &body, &[]).await.bytes().await.unwrap());
    let full = json(&post_slip(&api, &body.replace("24", "30"), &[]).await.bytes().await.unwrap());
    assert_eq!(partial["period"]["month"], "2026-02");
    assert!(cents(&full["gross_earnings"]) > cents(&partial["gross_earnings"]));
    api.stop().await;
}

#[tokio::test]
async fn pdf_is_served_when_preferred_and_text_is_extractable() {
    let api = TestApi::spawn(&[]).await;
    let json_slip = json(&post_slip(&api, SEED_BODY, &[]).await.bytes().await.unwrap());
    let response = post_slip(&api, SEED_BODY, &[("accept", "application/pdf")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdftotext(&pdf);
    assert!(text.contains("John Doe"), "{text}");
    let net = json_slip["net_pay"].as_str().unwrap();
    let digits: String = net.chars().filter(|c| c.is_ascii_digit()).collect();
    let text_digits: String = text.chars().filter(|c| c.is_ascii_digit() || c.is_whitespace()).collect();
    assert!(
        text.contains(net) || text_digits.split_whitespace().any(|w| w == digits),
        "net pay {net} not in PDF text:\n{text}"
    );
    api.stop().await;
}

#[tokio::test]
async fn pdf_names_the_company_of_the_configured_pay_scale() {
    let dir = tempfile::tempdir().unwrap();
    let scale = include_str!("../../../payroll/pay-scale.toml");
    let line = scale.lines().find(|l| l.starts_with("company =")).unwrap();
    let scale = scale.replace(line, r#"company = "Quillfeather Looms Pvt. Ltd.""#);
    let path = dir.path().join("pay-scale.toml");
    std::fs::write(&path, scale).unwrap();
    let api = TestApi::spawn(&[&format!("payroll.pay_scale=\"{}\"", path.display())]).await;
    let response = post_slip(&api, SEED_BODY, &[("accept", "application/pdf")]).await;
    assert_eq!(response.status(), 200);
    let text = pdftotext(&response.bytes().await.unwrap());
    assert!(text.contains("Quillfeather Looms Pvt. Ltd."), "{text}");
    api.stop().await;
}

/// A small RGB PNG drawn by poppler from a PDF (no image crate needed).
fn logo_png(dir: &std::path::Path) -> std::path::PathBuf {
    let scale = slipgate_payroll::PayScale::builtin().unwrap();
    let input = slipgate_payroll::SlipInput {
        emp_id: "1",
        emp_code: "X",
        emp_name: "Logo",
        emp_grade: "5.1",
        year: 2026,
        month: 1,
        working_days: 1,
    };
    let slip = scale.compute(&input, "logo".into(), time::OffsetDateTime::UNIX_EPOCH).unwrap();
    let pdf = slipgate_payroll::PdfRenderer::new().unwrap().render(&slip).unwrap();
    std::fs::write(dir.join("src.pdf"), pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "8", "-singlefile"])
        .arg(dir.join("src.pdf"))
        .arg(dir.join("logo"))
        .output()
        .expect("pdftoppm (poppler-utils) is required");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("logo.png")
}

#[tokio::test]
async fn pdf_is_laid_out_by_the_slip_table_of_the_pay_scale_and_json_keeps_plain_amounts() {
    let dir = tempfile::tempdir().unwrap();
    logo_png(dir.path());
    let slip_table = r#"
[slip]
address = ["Plot 7, Electronic City Phase 1", "Bengaluru 560100"]
logo = "logo.png"
margins = { top = 20, bottom = 20, left = 20, right = 20 }
labels = { net_pay = "Net salary payable", loss_of_pay_days = "LOP days" }
"#;
    let scale = include_str!("../../../payroll/pay-scale.toml")
        .replace("[proration]", &format!("{slip_table}\n[proration]"));
    let path = dir.path().join("pay-scale.toml");
    std::fs::write(&path, scale).unwrap();
    let api = TestApi::spawn(&[&format!("payroll.pay_scale=\"{}\"", path.display())]).await;
    let body = SEED_BODY.replace('}', ",\"pay_period\":\"2026-12\"}");

    let response = post_slip(&api, &body, &[("accept", "application/pdf")]).await;
    assert_eq!(response.status(), 200);
    let pdf = response.bytes().await.unwrap();
    let text = pdftotext(&pdf);
    for needle in [
        "Slipgate Demo Technologies Pvt. Ltd.",
        "Plot 7, Electronic City Phase 1",
        "Bengaluru 560100",
        "Salary slip for December 2026",
        "33,080.00",
        "57,892.00",
        "Net salary payable",
        "INR 50,827.80",
        "LOP days",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let lop = text.lines().find(|l| l.contains("LOP days")).unwrap();
    assert!(lop.trim_end().ends_with(" 6"), "{lop:?}");
    std::fs::write(dir.path().join("served.pdf"), &pdf).unwrap();
    let images =
        std::process::Command::new("pdfimages").arg("-list").arg(dir.path().join("served.pdf")).output();
    let images = String::from_utf8(images.expect("pdfimages (poppler-utils)").stdout).unwrap();
    assert_eq!(images.lines().count(), 3, "one embedded image, the logo:\n{images}");

    // The JSON slip keeps the members and plain decimals of SPEC §3.5.
    let slip = json(&post_slip(&api, &body, &[]).await.bytes().await.unwrap());
    assert_eq!(slip["earnings"][0]["amount"], "33080.00");
    assert_eq!(slip["net_pay"], "50827.80");
    let mut members: Vec<&str> = slip.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "currency",
            "deductions",
            "earnings",
            "employee",
            "generated_at",
            "gross_earnings",
            "net_pay",
            "net_pay_in_words",
            "period",
            "slip_id",
            "total_deductions"
        ]
    );
    api.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let api = TestApi::spawn(&[]).await;
    let ok = post_slip(&api, SEED_BODY, &[]).await;
    let problem = api.client().get(api.url("/nope")).send().await.unwrap();
    for response in [&ok, &problem] {
        let h = response.headers();
        assert_eq!(h["cache-control"], "no-store");
        assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("x-request-id"));
    }
    api.stop().await;
}

#[tokio::test]
async fn openapi_document_describes_the_slip_endpoint() {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().get(api.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc = json(&response.bytes().await.unwrap());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/generate/salaryslip"]["post"].is_object(), "{doc}");
    api.stop().await;
}
