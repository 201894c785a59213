//! The served OpenAPI document: valid OpenAPI 3.1 by an independent validator
//! (`openapi-spec-validator`, pinned in `scripts/openapi-requirements.txt`),
//! and saying what the guard really enforces (SPEC §3.9).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use slipgate_test_support::{TestApi, json};

/// The validator: `$SLIPGATE_OPENAPI_VALIDATOR`, else the venv `scripts/test.sh`
/// makes under the target directory, else `openapi-spec-validator` on `PATH`.
fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("SLIPGATE_OPENAPI_VALIDATOR") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let venv = target.join("openapi-venv/bin/openapi-spec-validator");
    if venv.exists() { venv } else { PathBuf::from("openapi-spec-validator") }
}

/// Runs the validator on `doc`; (success, output).
fn validate(doc: &Value) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let tool = validator();
    let out = Command::new(&tool).args(["--schema", "3.1"]).arg(&path).output().unwrap_or_else(|e| {
        panic!(
            "{} is required for this test ({e}); scripts/test.sh installs it, or: python3 -m venv \
             target/openapi-venv && target/openapi-venv/bin/pip install -r scripts/openapi-requirements.txt",
            tool.display()
        )
    });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn served_document() -> Value {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().get(api.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc = json(&response.bytes().await.unwrap());
    api.stop().await;
    doc
}

#[tokio::test]
async fn served_document_passes_an_openapi_3_1_validator() {
    let doc = served_document().await;
    let (ok, output) = validate(&doc);
    assert!(ok && output.contains(": OK"), "{output}");

    // The validator is real: a broken document fails it.
    let mut broken = doc.clone();
    broken["components"]["securitySchemes"]["httpSigAuth"]["type"] = "signature".into();
    let (ok, output) = validate(&broken);
    assert!(!ok, "an unknown security scheme type passed:\n{output}");
    let mut broken = doc;
    broken["paths"]["/generate/salaryslip"]["post"]["responses"]["400"] = serde_json::json!({"content": {}});
    let (ok, output) = validate(&broken);
    assert!(!ok, "a response without a description passed:\n{output}");
}

#[tokio::test]
async fn security_schemes_name_the_components_the_guard_requires() {
    let doc = served_document().await;
    let schemes = &doc["components"]["securitySchemes"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
    };

    let registry = &schemes["httpSignature"];
    assert_eq!(registry["type"], "apiKey");
    assert_eq!(registry["in"], "header");
    assert_eq!(registry["name"], "Signature");
    let x = &registry["x-slipgate-signature"];
    assert_eq!(strings(&x["required-components"]), slipgate_guard::signature::DEFAULT_REQUIRED);
    assert_eq!(strings(&x["required-parameters"]), ["created", "keyid", "nonce"]);
    assert_eq!(strings(&x["algorithms"]), ["hmac-sha256", "ecdsa-p256-sha256", "ed25519"]);
    assert_eq!(x["max-skew-seconds"], 300);

    let bound = &schemes["httpSigAuth"];
    assert_eq!(bound["type"], "http");
    assert_eq!(bound["scheme"], "HTTPSig");
    let x = &bound["x-slipgate-httpsig"];
    assert_eq!(strings(&x["required-components"]), slipgate_guard::signature::BOUND_REQUIRED);
    assert_eq!(x["tag"], slipgate_httpsig::binding::BOUND_REQUEST_TAG);
    assert_eq!(x["token-request-tag"], slipgate_httpsig::binding::TOKEN_REQUEST_TAG);
    assert_eq!(strings(&x["forbidden-parameters"]), ["keyid", "alg", "pub"]);
    assert_eq!(strings(&x["algorithms"]), ["ed25519", "ecdsa-p256-sha256"]);

    // The slip endpoint: Bearer only together with a registry signature, or HTTPSig alone.
    let security = doc["paths"]["/generate/salaryslip"]["post"]["security"].as_array().unwrap();
    let mut alternatives: Vec<Vec<String>> = security
        .iter()
        .map(|req| {
            let mut names: Vec<String> = req.as_object().unwrap().keys().cloned().collect();
            names.sort();
            names
        })
        .collect();
    alternatives.dedup();
    assert_eq!(alternatives, [vec!["bearerAuth", "httpSignature"], vec!["httpSigAuth"]]);
    for req in security {
        for scopes in req.as_object().unwrap().values().filter(|s| !s.as_array().unwrap().is_empty()) {
            let scope = strings(scopes);
            assert!(scope == ["salaryslip:self"] || scope == ["salaryslip:any"], "{scope:?}");
        }
    }
}

#[tokio::test]
async fn every_route_declares_the_400_bad_request() {
    let doc = served_document().await;
    let responses = &doc["components"]["responses"];
    let mut routes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            routes += 1;
            let reference = op["responses"]["400"]["$ref"].as_str();
            let name = reference.and_then(|r| r.strip_prefix("#/components/responses/"));
            let name = name.unwrap_or_else(|| panic!("{method} {path} declares no 400"));
            let schema = &responses[name]["content"]["application/problem+json"]["schema"];
            let codes = &schema["allOf"][1]["properties"]["code"]["enum"];
            assert!(
                codes.as_array().unwrap().iter().any(|c| c == "bad_request"),
                "{method} {path}: 400 without bad_request: {codes}"
            );
            assert_eq!(schema["allOf"][1]["properties"]["status"]["const"], 400);
        }
    }
    assert_eq!(routes, 3, "POST /generate/salaryslip, GET /openapi.json, GET /.well-known/slipgate-keys");
}
