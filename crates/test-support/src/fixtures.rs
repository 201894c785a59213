//! Dependency-free fixtures: the seed request, the test key material and
//! helpers to read answers. Available without the `spawn` feature, so a crate
//! low in the graph can use them without linking the servers.

/// The seed request of SPEC §3.1.
pub const SEED_BODY: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;

/// The HMAC key every test API trusts, as `test-hmac`.
pub const TEST_HMAC_SECRET: [u8; 32] = *b"slipgate-test-hmac-secret-32byte";
/// The key id of [`TEST_HMAC_SECRET`].
pub const TEST_HMAC_ID: &str = "test-hmac";
/// The key id of the Ed25519 key every test API trusts.
pub const TEST_ED25519_ID: &str = "test-ed25519";

/// A pdftotext run over `pdf`, panicking with install instructions when the
/// tool is missing (the README's test command installs poppler-utils).
pub fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slip.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext not found: install poppler-utils (scripts/test.sh does it for you)");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Parses a JSON body, panicking with the text when it is not JSON.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}
