#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::VecDeque;

use slipgate_proto::{Problem, ProblemCode};

use super::*;

fn problem(code: ProblemCode, retry_after: Option<u64>) -> ClientError {
    ClientError::Problem {
        status: code.status(),
        problem: Box::new(Problem::new(code, "test", "r-1")),
        retry_after: retry_after.map(Duration::from_secs),
    }
}

fn attempts(n: u32) -> RetryPolicy {
    RetryPolicy::default().with_max_attempts(NonZeroU32::new(n).unwrap())
}

#[test]
fn backoff_doubles_within_equal_jitter_bounds_and_is_capped() {
    let policy = attempts(10);
    let error = problem(ProblemCode::Overloaded, None);
    for attempt in 1..10 {
        let full = Duration::from_millis(250 * 2u64.pow(attempt - 1)).min(Duration::from_secs(8));
        let low = policy.delay(attempt, &error, 0.0).unwrap();
        let high = policy.delay(attempt, &error, 0.999_999).unwrap();
        assert_eq!(low, full / 2, "attempt {attempt}");
        assert!(high <= full && high > full.mul_f64(0.99), "attempt {attempt}: {high:?}");
    }
}

#[test]
fn rate_limited_waits_at_least_retry_after() {
    let policy = RetryPolicy::default();
    let error = problem(ProblemCode::RateLimited, Some(12));
    assert_eq!(policy.delay(1, &error, 0.0), Some(Duration::from_secs(12)));
    let most = policy.delay(1, &error, 0.999_999).unwrap();
    assert!(most >= Duration::from_secs(12) && most <= Duration::from_secs(13), "{most:?}");
}

#[test]
fn retry_after_is_capped() {
    let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(60));
    let error = problem(ProblemCode::RateLimited, Some(3600));
    assert_eq!(policy.delay(1, &error, 0.0), Some(Duration::from_secs(60)));
}

#[test]
fn rate_limited_without_retry_after_backs_off() {
    let error = problem(ProblemCode::RateLimited, None);
    assert_eq!(RetryPolicy::default().delay(1, &error, 0.0), Some(Duration::from_millis(125)));
}

#[test]
fn service_unavailable_and_transport_errors_are_retried() {
    let policy = RetryPolicy::default();
    assert!(policy.delay(1, &problem(ProblemCode::AuthUnavailable, None), 0.5).is_some());
    assert_eq!(
        policy.delay(1, &problem(ProblemCode::StoreUnavailable, Some(2)), 0.0),
        Some(Duration::from_secs(2))
    );
    assert!(policy.delay(1, &ClientError::Transport("cannot connect".into()), 0.5).is_some());
    assert!(policy.delay(1, &ClientError::Refused { addr: "127.0.0.1:9".into() }, 0.5).is_some());
}

#[test]
fn never_retries_an_unknown_host_or_a_refused_certificate() {
    let policy = attempts(10);
    let dns = ClientError::UnknownHost { host: "nonexistent.invalid".into(), detail: "no such name".into() };
    assert_eq!(policy.delay(1, &dns, 0.5), None);
    let tls = ClientError::TlsVerification {
        addr: "127.0.0.1:8443".into(),
        reason: "its issuer is not a trusted CA".into(),
        issuer: Some("CN=Other CA".into()),
        subject: None,
        trusted: "the CA file ca.pem".into(),
    };
    assert_eq!(policy.delay(1, &tls, 0.5), None);
    let url = ClientError::InvalidUrl { service: "API", url: "http://h/".into(), why: "http".into() };
    assert_eq!(policy.delay(1, &url, 0.5), None);
}

#[test]
fn never_retries_other_client_errors() {
    let policy = attempts(10);
    for code in ProblemCode::ALL {
        let status = code.status();
        if (400..500).contains(&status) && status != 429 {
            assert_eq!(policy.delay(1, &problem(*code, Some(1)), 0.5), None, "{code}");
        }
    }
    assert_eq!(policy.delay(1, &problem(ProblemCode::Internal, None), 0.5), None);
    assert_eq!(policy.delay(1, &ClientError::LoginRequired("x".into()), 0.5), None);
    assert_eq!(policy.delay(1, &ClientError::InvalidResponse("x".into()), 0.5), None);
}

#[test]
fn attempts_are_bounded() {
    let error = problem(ProblemCode::Overloaded, None);
    let policy = attempts(4);
    assert!(policy.delay(3, &error, 0.0).is_some());
    assert_eq!(policy.delay(4, &error, 0.0), None);
    assert_eq!(RetryPolicy::never().delay(1, &error, 0.0), None);
}

#[test]
fn jitter_is_a_unit_fraction() {
    for _ in 0..1000 {
        let j = jitter();
        assert!((0.0..1.0).contains(&j), "{j}");
    }
}

/// Drives `run` with scripted outcomes; returns the result, the number of
/// attempts and the waits it asked for.
async fn drive(
    policy: RetryPolicy,
    script: Vec<Result<u8, ClientError>>,
) -> (Result<u8, ClientError>, usize, Vec<Duration>) {
    let script = RefCell::new(VecDeque::from(script));
    let calls = RefCell::new(0usize);
    let waits = RefCell::new(Vec::new());
    let result = run(
        &policy,
        |d| {
            waits.borrow_mut().push(d);
            std::future::ready(())
        },
        || {
            *calls.borrow_mut() += 1;
            std::future::ready(script.borrow_mut().pop_front().unwrap())
        },
    )
    .await;
    (result, calls.into_inner(), waits.into_inner())
}

#[tokio::test]
async fn run_honours_retry_after_then_succeeds() {
    let (result, calls, waits) =
        drive(RetryPolicy::default(), vec![Err(problem(ProblemCode::RateLimited, Some(12))), Ok(7)]).await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(calls, 2);
    assert_eq!(waits.len(), 1);
    assert!(waits[0] >= Duration::from_secs(12) && waits[0] <= Duration::from_secs(13), "{waits:?}");
}

#[tokio::test]
async fn run_returns_a_validation_failure_without_retrying() {
    let (result, calls, waits) =
        drive(attempts(5), vec![Err(problem(ProblemCode::ValidationFailed, None)), Ok(1)]).await;
    assert_eq!(result.unwrap_err().code(), Some(ProblemCode::ValidationFailed));
    assert_eq!((calls, waits.len()), (1, 0));
}

#[tokio::test]
async fn run_gives_up_after_max_attempts() {
    let script = (0..10).map(|_| Err(problem(ProblemCode::Overloaded, None))).collect();
    let (result, calls, waits) = drive(attempts(4), script).await;
    assert_eq!(result.unwrap_err().code(), Some(ProblemCode::Overloaded));
    assert_eq!((calls, waits.len()), (4, 3));
}

/// With tokio's paused clock, the real client sleep (`tokio::time::sleep`)
/// advances virtual time only: the wait is observable and costs nothing.
#[tokio::test(start_paused = true)]
async fn run_with_tokio_sleep_waits_in_virtual_time() {
    let start = tokio::time::Instant::now();
    let mut script = VecDeque::from(vec![Err(problem(ProblemCode::RateLimited, Some(30))), Ok(3)]);
    let result = run(&RetryPolicy::default(), tokio::time::sleep, || {
        std::future::ready(script.pop_front().unwrap_or(Ok(0)))
    })
    .await;
    assert_eq!(result.unwrap(), 3);
    assert!(start.elapsed() >= Duration::from_secs(30), "{:?}", start.elapsed());
}

#[tokio::test]
async fn rate_limit_budget_waits_out_429s_without_spending_attempts() {
    let policy = attempts(2).with_rate_limit_budget(Duration::from_secs(60));
    let mut script: Vec<_> = (0..5).map(|_| Err(problem(ProblemCode::RateLimited, Some(2)))).collect();
    script.push(Ok(9));
    let (result, calls, waits) = drive(policy, script).await;
    assert_eq!(result.unwrap(), 9);
    assert_eq!((calls, waits.len()), (6, 5));
}

#[tokio::test]
async fn rate_limit_budget_is_bounded() {
    let policy = attempts(2).with_rate_limit_budget(Duration::from_secs(5));
    let script = (0..20).map(|_| Err(problem(ProblemCode::RateLimited, Some(2)))).collect();
    let (result, calls, waits) = drive(policy, script).await;
    assert_eq!(result.unwrap_err().code(), Some(ProblemCode::RateLimited));
    // Three free waits (≥ 2 s each) pass 5 s, then one counted retry is left.
    assert_eq!((calls, waits.len()), (5, 4));
}
