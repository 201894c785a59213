//! Mutual TLS (`tls.client_ca`): clients without a certificate from that CA
//! are refused at the handshake.

use slipgate_api::devpki::client_pki;
use slipgate_test_support::{SEED_BODY, TestApi, client_tls_with_identity, https_client};

async fn signed_post(api: &TestApi, client: &reqwest::Client) -> Result<reqwest::Response, reqwest::Error> {
    let url = reqwest::Url::parse(&api.url("/generate/salaryslip")).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", api.bearer().parse().unwrap());
    api.signer().sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
    client.post(url).headers(headers).body(SEED_BODY).send().await
}

#[tokio::test]
async fn mutual_tls_accepts_a_certificate_from_the_client_ca_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let (client_ca, cert, key) = client_pki(dir.path(), "payroll-batch").unwrap();
    let api = TestApi::spawn(&[&format!("tls.client_ca=\"{}\"", client_ca.display())]).await;

    let with_cert = reqwest::Client::builder()
        .tls_backend_preconfigured(client_tls_with_identity(&api.ca, &cert, &key))
        .build()
        .unwrap();
    assert_eq!(signed_post(&api, &with_cert).await.unwrap().status(), 200);

    let without = https_client(&api.ca, &[&rustls::version::TLS13, &rustls::version::TLS12], &[]);
    assert!(signed_post(&api, &without).await.is_err(), "a client without a certificate must be refused");

    let other = tempfile::tempdir().unwrap();
    let (_, foreign_cert, foreign_key) = client_pki(other.path(), "intruder").unwrap();
    let foreign = reqwest::Client::builder()
        .tls_backend_preconfigured(client_tls_with_identity(&api.ca, &foreign_cert, &foreign_key))
        .build()
        .unwrap();
    assert!(signed_post(&api, &foreign).await.is_err(), "a certificate from another CA must be refused");
    api.stop().await;
}
