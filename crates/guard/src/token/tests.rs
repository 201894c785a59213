use super::*;
use slipgate_proto::ProblemCode;

fn claims(scope: &str, emp_id: Option<&str>) -> TokenClaims {
    TokenClaims {
        sub: "u".into(),
        scope: scope.into(),
        emp_id: emp_id.map(Into::into),
        exp: 10,
        client_id: None,
    }
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
    let r = decide(Err(TokenError::Invalid("x"))).unwrap_err();
    assert_eq!((r.code, r.challenge), (ProblemCode::TokenInvalid, Some(CHALLENGE_INVALID)));
}

#[test]
fn unreachable_identity_server_fails_closed() {
    let r = decide(Err(TokenError::Unavailable("down".into()))).unwrap_err();
    assert_eq!(r.code, ProblemCode::AuthUnavailable);
}

#[test]
fn token_without_salary_scope_is_insufficient_scope() {
    let r = decide(Ok(claims("profile", Some("1")))).unwrap_err();
    assert_eq!((r.code, r.challenge), (ProblemCode::InsufficientScope, Some(CHALLENGE_SCOPE)));
}

#[test]
fn self_scope_reaches_only_its_own_slip() {
    let c = claims("salaryslip:self", Some("01234"));
    assert!(authorize_employee(&c, "01234").is_ok());
    assert_eq!(authorize_employee(&c, "01235").unwrap_err().code, ProblemCode::Forbidden);
    let no_emp = claims("salaryslip:self", None);
    assert_eq!(authorize_employee(&no_emp, "01234").unwrap_err().code, ProblemCode::Forbidden);
}

#[test]
fn any_scope_reaches_every_slip() {
    assert!(authorize_employee(&claims("openid salaryslip:any", None), "99999").is_ok());
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
