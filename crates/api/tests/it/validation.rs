//! One named case per validation rule of SPEC §3.1, as a table run in
//! process (`router(state).oneshot`) against one router; each request is
//! signed afresh (its own nonce) as paula.

use slipgate_test_support::{SEED_BODY, TestRouter};

use crate::{error_fields, expect_problem};

/// `(case, body, the one field its 422 names)`.
fn rejected_bodies() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("rejects_emp_id_with_forbidden_characters", SEED_BODY.replace("01234", "01 234"), "emp_id"),
        ("rejects_emp_id_longer_than_32", SEED_BODY.replace("01234", &"9".repeat(33)), "emp_id"),
        ("rejects_empty_emp_code", SEED_BODY.replace("\"ENG\"", "\"\""), "emp_code"),
        ("rejects_emp_code_longer_than_16", SEED_BODY.replace("ENG", &"E".repeat(17)), "emp_code"),
        (
            "rejects_emp_name_with_digits_or_markup",
            SEED_BODY.replace("John Doe", "<script>1</script>"),
            "emp_name",
        ),
        ("rejects_emp_name_with_control_characters", SEED_BODY.replace("John Doe", "John\\nDoe"), "emp_name"),
        ("rejects_emp_name_longer_than_100", SEED_BODY.replace("John Doe", &"a".repeat(101)), "emp_name"),
        ("rejects_grade_not_in_pay_scale", SEED_BODY.replace("7.1", "99.9"), "emp_grade"),
        ("rejects_working_days_above_basis", SEED_BODY.replace("24", "31"), "working_days"),
        ("rejects_negative_working_days", SEED_BODY.replace("24", "-1"), "working_days"),
        ("rejects_fractional_working_days", SEED_BODY.replace("24", "24.5"), "working_days"),
        ("rejects_unknown_member", SEED_BODY.replace("}", ",\"is_admin\":true}"), "is_admin"),
        ("rejects_duplicate_member", SEED_BODY.replace("}", ",\"working_days\":30}"), "working_days"),
        ("rejects_wrong_json_type", SEED_BODY.replace("24", "\"24\""), "working_days"),
        ("rejects_missing_member", SEED_BODY.replace(",\"working_days\":24", ""), "working_days"),
        (
            "rejects_malformed_pay_period",
            SEED_BODY.replace("}", ",\"pay_period\":\"2026-13\"}"),
            "pay_period",
        ),
    ]
}

#[tokio::test]
async fn validation_matrix() {
    let router = TestRouter::new(&[]).await;
    for (name, body, field) in rejected_bodies() {
        let answer = router.post_signed(&body, &[]).await;
        assert_eq!(answer.status, 422, "{name}: {}", answer.text());
        assert_eq!(answer.json()["code"], "validation_failed", "{name}");
        let problem = expect_problem(answer, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), vec![field], "{name}: {problem}");
    }
    // rejects_malformed_json_with_400
    expect_problem(router.post_signed("{\"emp_id\":", &[]).await, 400, "invalid_json").await;
    // accepts_working_days_equal_to_basis
    let answer = router.post_signed(&SEED_BODY.replace("24", "30"), &[]).await;
    assert_eq!(answer.status, 200, "accepts_working_days_equal_to_basis: {}", answer.text());
    router.stop().await;
}
