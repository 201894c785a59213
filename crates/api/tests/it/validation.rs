//! One named test per validation rule of SPEC §3.1, through the real server.

use slipgate_test_support::{SEED_BODY, TestApi};

use crate::{error_fields, expect_problem, post_slip};

async fn rejects(body: &str, field: &str) {
    let api = TestApi::spawn(&[]).await;
    let problem = expect_problem(post_slip(&api, body, &[]).await, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), vec![field], "{problem}");
    api.stop().await;
}

#[tokio::test]
async fn rejects_emp_id_with_forbidden_characters() {
    rejects(&SEED_BODY.replace("01234", "01 234"), "emp_id").await;
}

#[tokio::test]
async fn rejects_emp_id_longer_than_32() {
    rejects(&SEED_BODY.replace("01234", &"9".repeat(33)), "emp_id").await;
}

#[tokio::test]
async fn rejects_empty_emp_code() {
    rejects(&SEED_BODY.replace("\"ENG\"", "\"\""), "emp_code").await;
}

#[tokio::test]
async fn rejects_emp_code_longer_than_16() {
    rejects(&SEED_BODY.replace("ENG", &"E".repeat(17)), "emp_code").await;
}

#[tokio::test]
async fn rejects_emp_name_with_digits_or_markup() {
    rejects(&SEED_BODY.replace("John Doe", "<script>1</script>"), "emp_name").await;
}

#[tokio::test]
async fn rejects_emp_name_with_control_characters() {
    rejects(&SEED_BODY.replace("John Doe", "John\\nDoe"), "emp_name").await;
}

#[tokio::test]
async fn rejects_emp_name_longer_than_100() {
    rejects(&SEED_BODY.replace("John Doe", &"a".repeat(101)), "emp_name").await;
}

#[tokio::test]
async fn rejects_grade_not_in_pay_scale() {
    rejects(&SEED_BODY.replace("7.1", "99.9"), "emp_grade").await;
}

#[tokio::test]
async fn rejects_working_days_above_basis() {
    rejects(&SEED_BODY.replace("24", "31"), "working_days").await;
}

#[tokio::test]
async fn rejects_negative_working_days() {
    rejects(&SEED_BODY.replace("24", "-1"), "working_days").await;
}

#[tokio::test]
async fn rejects_fractional_working_days() {
    rejects(&SEED_BODY.replace("24", "24.5"), "working_days").await;
}

#[tokio::test]
async fn rejects_unknown_member() {
    rejects(&SEED_BODY.replace("}", ",\"is_admin\":true}"), "is_admin").await;
}

#[tokio::test]
async fn rejects_duplicate_member() {
    rejects(&SEED_BODY.replace("}", ",\"working_days\":30}"), "working_days").await;
}

#[tokio::test]
async fn rejects_wrong_json_type() {
    rejects(&SEED_BODY.replace("24", "\"24\""), "working_days").await;
}

#[tokio::test]
async fn rejects_missing_member() {
    rejects(&SEED_BODY.replace(",\"working_days\":24", ""), "working_days").await;
}

#[tokio::test]
async fn rejects_malformed_pay_period() {
    rejects(&SEED_BODY.replace("}", ",\"pay_period\":\"2026-13\"}"), "pay_period").await;
}

#[tokio::test]
async fn rejects_malformed_json_with_400() {
    let api = TestApi::spawn(&[]).await;
    expect_problem(post_slip(&api, "{\"emp_id\":", &[]).await, 400, "invalid_json").await;
    api.stop().await;
}

#[tokio::test]
async fn accepts_working_days_equal_to_basis() {
    let api = TestApi::spawn(&[]).await;
    let response = post_slip(&api, &SEED_BODY.replace("24", "30"), &[]).await;
    assert_eq!(response.status(), 200);
    api.stop().await;
}
