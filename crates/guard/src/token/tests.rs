use super::*;
use slipgate_proto::{ProblemCode, SlipBody};

fn claims(scope: &str, emp_id: Option<&str>) -> TokenClaims {
    TokenClaims {
        sub: "u".into(),
        scope: scope.into(),
        emp_id: emp_id.map(Into::into),
        exp: 10,
        client_id: None,
        ..TokenClaims::default()
    }
}

fn alice() -> TokenClaims {
    TokenClaims {
        emp_code: Some("ENG".into()),
        emp_name: Some("Alice Example".into()),
        emp_grade: Some("7.1".into()),
        ..claims("salaryslip:self", Some("01234"))
    }
}

const ALICE_BODY: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"Alice Example","emp_grade":"7.1","working_days":24}"#;

fn body(text: &str) -> SlipBody {
    SlipBody::parse(text.as_bytes()).unwrap()
}

#[test]
fn bearer_requires_the_bearer_scheme_and_a_token() {
    assert_eq!(bearer("bearer t"), Some("t"));
    assert_eq!(bearer("Bearer "), None);
    assert_eq!(bearer("Bearer"), None);
    assert_eq!(bearer("Token t"), None);
}

#[test]
fn invalid_token_maps_to_token_invalid_with_challenge() {
    let r = validity::check(Presentation::Bearer, false, Err(TokenError::Invalid("x"))).unwrap_err();
    assert_eq!((r.code, r.challenge()), (ProblemCode::TokenInvalid, Some("Bearer error=\"invalid_token\"")));
}

#[test]
fn unreachable_identity_server_fails_closed() {
    let r = validity::check(Presentation::Bearer, false, Err(TokenError::Unavailable("down".into())))
        .unwrap_err();
    assert_eq!(r.code, ProblemCode::AuthUnavailable);
}

#[test]
fn token_without_salary_scope_is_insufficient_scope() {
    let claims = validity::check(Presentation::Bearer, false, Ok(claims("profile", Some("1")))).unwrap();
    let r = scope::check(&claims, Presentation::Bearer).unwrap_err();
    let challenge = "Bearer error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"";
    assert_eq!((r.code, r.challenge()), (ProblemCode::InsufficientScope, Some(challenge)));
}

#[test]
fn self_scope_reaches_only_its_own_slip() {
    assert!(employee::check(&alice(), &body(ALICE_BODY)).is_ok());
    let other = ALICE_BODY.replace("01234", "01235");
    assert_eq!(employee::check(&alice(), &body(&other)).unwrap_err().code, ProblemCode::Forbidden);
}

#[test]
fn self_scope_refuses_its_own_emp_id_with_another_name_grade_or_code() {
    for (from, to) in [("Alice Example", "Alice Anything"), ("\"7.1\"", "\"8.1\""), ("ENG", "HR")] {
        let forged = ALICE_BODY.replace(from, to);
        assert_eq!(
            employee::check(&alice(), &body(&forged)).unwrap_err().code,
            ProblemCode::Forbidden,
            "{to}"
        );
    }
}

#[test]
fn self_scope_refuses_absent_or_mistyped_record_members() {
    let absent = ALICE_BODY.replace(r#""emp_grade":"7.1","#, "");
    let number = ALICE_BODY.replace(r#""emp_grade":"7.1""#, r#""emp_grade":7.1"#);
    let duplicated = ALICE_BODY.replace("}", r#","emp_name":"Alice Anything"}"#);
    for forged in [absent, number, duplicated, "[]".to_owned()] {
        assert_eq!(
            employee::check(&alice(), &body(&forged)).unwrap_err().code,
            ProblemCode::Forbidden,
            "{forged}"
        );
    }
}

#[test]
fn self_scope_without_a_complete_record_is_refused() {
    let no_grade = TokenClaims { emp_grade: None, ..alice() };
    assert_eq!(employee::check(&no_grade, &body(ALICE_BODY)).unwrap_err().code, ProblemCode::Forbidden);
    let no_emp = claims("salaryslip:self", None);
    assert_eq!(employee::check(&no_emp, &body(ALICE_BODY)).unwrap_err().code, ProblemCode::Forbidden);
}

#[test]
fn any_scope_reaches_every_slip() {
    let stranger = ALICE_BODY.replace("01234", "99999").replace("Alice Example", "Somebody Else");
    assert!(employee::check(&claims("openid salaryslip:any", None), &body(&stranger)).is_ok());
}

#[test]
fn claims_read_the_record_from_jwt_and_introspection_names() {
    let c: TokenClaims = serde_json::from_str(
        r#"{"sub":"alice","exp":1,"emp_id":"01234","emp_code":"ENG","name":"Alice Example","emp_grade":"7.1"}"#,
    )
    .unwrap();
    assert_eq!(c.emp_name.as_deref(), Some("Alice Example"));
    assert_eq!(c.emp_code.as_deref(), Some("ENG"));
    assert_eq!(c.emp_grade.as_deref(), Some("7.1"));
}

#[test]
fn cache_never_serves_past_its_deadline() {
    let cache = TokenCache::new(10).unwrap();
    let key = cache.key_of("tok");
    assert_ne!(key, cache.key_of("tok2"));
    cache.put(key, Ok(claims("salaryslip:any", None)), 100, 0);
    assert!(cache.get(&key, 99).is_some());
    assert!(cache.get(&key, 100).is_none());
}

#[test]
fn cache_stays_within_its_bound() {
    let cache = TokenCache::new(100).unwrap();
    for i in 0..1000 {
        cache.put(cache.key_of(&format!("t{i}")), Err(TokenError::Invalid("x")), 1_000, 0);
    }
    assert!(cache.len() <= 100, "{}", cache.len());
}
