//! Employee records (SPEC §3.4, §4): stored with the user, carried in the
//! access token and in introspection, changed by `idp user update`.

use slipgate_httpsig::jose::{self, Jwks};
use slipgate_idp::EmployeeUpdate;

use crate::support::TestIdp;

#[tokio::test]
async fn access_tokens_and_introspection_carry_the_employee_record() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let jwks: Jwks =
        idp.http.get(idp.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let claims: serde_json::Value = jose::verify_jwt(&access, &jwks).unwrap();
    let introspected = idp.introspect(&access).await;
    for answer in [&claims, &introspected] {
        assert_eq!(answer["emp_id"], "01234", "{answer}");
        assert_eq!(answer["emp_code"], "ENG", "{answer}");
        assert_eq!(answer["name"], "John Doe", "{answer}");
        assert_eq!(answer["emp_grade"], "7.1", "{answer}");
    }
    idp.stop().await;
}

#[tokio::test]
async fn an_updated_record_deactivates_tokens_carrying_the_old_one() {
    let idp = TestIdp::spawn().await;
    let tokens = idp.login_ok("alice").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(idp.introspect(access).await["active"], true);
    let promoted = EmployeeUpdate { emp_grade: Some("8.1".into()), ..EmployeeUpdate::default() };
    slipgate_idp::user_update(idp.store.as_ref(), "alice", &promoted).await.unwrap();
    assert_eq!(idp.introspect(access).await, serde_json::json!({"active": false}));
    // The refreshed token carries the new record and is active.
    let (status, _, refreshed) = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let answer = idp.introspect(refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!((answer["active"].as_bool(), answer["emp_grade"].as_str()), (Some(true), Some("8.1")));
    idp.stop().await;
}

#[tokio::test]
async fn user_update_refuses_values_the_api_would_refuse_and_unknown_users() {
    let idp = TestIdp::spawn().await;
    let store = idp.store.as_ref();
    for bad in [
        EmployeeUpdate { emp_code: Some("ENG DEPT".into()), ..EmployeeUpdate::default() },
        EmployeeUpdate { emp_name: Some("Alice<script>".into()), ..EmployeeUpdate::default() },
        EmployeeUpdate { emp_grade: Some(String::new()), ..EmployeeUpdate::default() },
        EmployeeUpdate::default(),
    ] {
        assert!(matches!(
            slipgate_idp::user_update(store, "alice", &bad).await,
            Err(slipgate_idp::AdminError::Invalid { .. })
        ));
    }
    let fine = EmployeeUpdate { emp_grade: Some("8.1".into()), ..EmployeeUpdate::default() };
    assert!(matches!(
        slipgate_idp::user_update(store, "nobody", &fine).await,
        Err(slipgate_idp::AdminError::NotFound(_))
    ));
    idp.stop().await;
}

#[tokio::test]
async fn dev_seed_holds_the_spec_demo_records_and_restores_them() {
    let (store, _dir) = crate::support::sqlite_store().await;
    slipgate_idp::seed_dev(store.as_ref()).await.unwrap();
    let changed = EmployeeUpdate { emp_name: Some("Alice Anything".into()), ..EmployeeUpdate::default() };
    slipgate_idp::user_update(store.as_ref(), "alice", &changed).await.unwrap();
    let json = slipgate_idp::seed_dev(store.as_ref()).await.unwrap().to_dev_json();
    let record = |i: usize| {
        let u = &json["users"][i];
        (u["emp_id"].clone(), u["emp_code"].clone(), u["emp_name"].clone(), u["emp_grade"].clone())
    };
    assert_eq!(record(0), ("01234".into(), "ENG".into(), "Alice Example".into(), "7.1".into()));
    assert_eq!(record(1), ("00001".into(), "HR".into(), "Paula Payroll".into(), "8.1".into()));
    let alice = store.user("alice").await.unwrap().unwrap();
    assert_eq!(alice.emp_name.as_deref(), Some("Alice Example"), "a second run restores the demo record");
}
