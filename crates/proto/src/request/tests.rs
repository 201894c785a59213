use super::*;
use proptest::prelude::*;

const SEED: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;

fn fields(body: &str) -> Vec<String> {
    match SlipRequest::parse_strict(body.as_bytes()) {
        Err(RequestError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation failure, got {other:?}"),
    }
}

#[test]
fn accepts_the_seed_payload() {
    let r = SlipRequest::parse_strict(SEED.as_bytes()).unwrap();
    assert_eq!(r.emp_id, "01234");
    assert_eq!(r.working_days, 24);
    assert_eq!(r.pay_period, None);
}

#[test]
fn rejects_malformed_json_as_invalid_json() {
    let err = SlipRequest::parse_strict(b"{\"emp_id\": ").unwrap_err();
    assert_eq!(err.code(), ProblemCode::InvalidJson);
}

#[test]
fn rejects_a_non_object_body() {
    assert_eq!(fields("[1,2]"), vec![""]);
}

#[test]
fn rejects_unknown_member() {
    let body = SEED.replace("}", r#","salary":"999999"}"#);
    assert_eq!(fields(&body), vec!["salary"]);
}

#[test]
fn rejects_duplicate_member() {
    let body = SEED.replace("}", r#","emp_id":"99999"}"#);
    assert_eq!(fields(&body), vec!["emp_id"]);
}

#[test]
fn rejects_wrong_types_per_field() {
    let body = r#"{"emp_id":1,"emp_code":true,"emp_name":null,"emp_grade":7.1,"working_days":"24"}"#;
    assert_eq!(fields(body), vec!["emp_id", "emp_code", "emp_name", "emp_grade", "working_days"]);
}

#[test]
fn rejects_null_for_the_optional_pay_period() {
    let body = SEED.replace("}", r#","pay_period":null}"#);
    assert_eq!(fields(&body), vec!["pay_period"]);
    match SlipRequest::parse_strict(body.as_bytes()) {
        Err(RequestError::Invalid(errors)) => assert_eq!(errors[0].message, "must be a string, got null"),
        other => panic!("expected a validation failure, got {other:?}"),
    }
}

#[test]
fn rejects_null_for_a_required_member_as_a_type_error() {
    let body = SEED.replace(r#""emp_code":"ENG""#, r#""emp_code":null"#);
    match SlipRequest::parse_strict(body.as_bytes()) {
        Err(RequestError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(
                (errors[0].field.as_str(), errors[0].message.as_str()),
                ("emp_code", "must be a string, got null")
            );
        }
        other => panic!("expected a validation failure, got {other:?}"),
    }
}

#[test]
fn reports_missing_members() {
    assert_eq!(fields("{}"), vec!["emp_id", "emp_code", "emp_name", "emp_grade", "working_days"]);
}

#[test]
fn rejects_fractional_and_negative_days() {
    assert_eq!(fields(&SEED.replace("24", "2.5")), vec!["working_days"]);
    assert_eq!(fields(&SEED.replace("24", "-1")), vec!["working_days"]);
}

#[test]
fn accepts_names_in_any_script() {
    let body = SEED.replace("John Doe", "Ærø O'Brien-Łukasz Δημήτρης");
    assert!(SlipRequest::parse_strict(body.as_bytes()).is_ok());
}

#[test]
fn rejects_name_with_control_characters() {
    assert_eq!(fields(&SEED.replace("John Doe", "John\\u0000Doe")), vec!["emp_name"]);
}

#[test]
fn validates_pay_period_form() {
    let ok = SEED.replace("}", r#","pay_period":"2026-02"}"#);
    assert_eq!(SlipRequest::parse_strict(ok.as_bytes()).unwrap().pay_period.as_deref(), Some("2026-02"));
    assert_eq!(fields(&SEED.replace("}", r#","pay_period":"2026-13"}"#)), vec!["pay_period"]);
    assert_eq!(fields(&SEED.replace("}", r#","pay_period":"26-01"}"#)), vec!["pay_period"]);
}

#[test]
fn messages_do_not_echo_values() {
    let body = SEED.replace("John Doe", "Secret<script>");
    let err = SlipRequest::parse_strict(body.as_bytes()).unwrap_err();
    assert!(!format!("{err:?}").contains("Secret"));
}

proptest! {
    #[test]
    fn valid_requests_round_trip(
        emp_id in "[A-Za-z0-9_-]{1,32}",
        emp_code in "[A-Za-z0-9_-]{1,16}",
        emp_name in "[A-Za-z][A-Za-z .'-]{0,99}",
        working_days in 0u32..=31,
    ) {
        let request = SlipRequest {
            emp_id, emp_code, emp_name, emp_grade: "7.1".into(), working_days, pay_period: None,
        };
        let body = serde_json::to_vec(&request).unwrap();
        prop_assert_eq!(SlipRequest::parse_strict(&body).unwrap(), request);
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = SlipRequest::parse_strict(&body);
    }
}

#[test]
fn body_members_match_only_when_every_occurrence_is_the_string() {
    let body = SlipBody::parse(SEED.as_bytes()).unwrap();
    assert!(body.member_is("emp_id", "01234"));
    assert!(!body.member_is("emp_id", "1234"));
    assert!(!body.member_is("pay_period", "2026-01"), "absent");
    let typed = SlipBody::parse(br#"{"emp_id": 1234}"#).unwrap();
    assert!(!typed.member_is("emp_id", "1234"), "a number is not the string");
    let twice = SlipBody::parse(br#"{"emp_id": "01234", "emp_id": "01234"}"#).unwrap();
    assert!(twice.member_is("emp_id", "01234"));
    assert!(!SlipBody::parse(b"[\"01234\"]").unwrap().member_is("emp_id", "01234"));
}

#[test]
fn body_parse_refuses_only_malformed_json() {
    assert_eq!(SlipBody::parse(b"{\"a\":").unwrap_err().code(), ProblemCode::InvalidJson);
    assert!(SlipBody::parse(br#"{"anything": [1, {"x": null}]}"#).is_ok());
    assert!(SlipBody::parse(b"42").is_ok());
}

#[test]
fn check_member_applies_the_request_rules() {
    assert!(check_member("emp_code", "ENG").is_ok());
    assert!(check_member("emp_code", "ENG DEPT").is_err());
    assert!(check_member("emp_name", "Alice Example").is_ok());
    assert!(check_member("emp_name", "Alice<script>").is_err());
    assert!(check_member("emp_grade", "7.1").is_ok());
    assert!(check_member("emp_grade", "").is_err());
    assert!(check_member("emp_id", "01234").is_ok());
    assert!(check_member("salary", "1").is_err());
}
