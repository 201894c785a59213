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
