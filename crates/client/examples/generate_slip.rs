//! Generates one salary slip with the SDK, the way a service would.
//!
//! Settings come from the environment (the defaults fit `slipgate dev` in
//! `.slipgate-dev` after `slipgate login`):
//!
//! | variable | meaning |
//! |---|---|
//! | `SLIPGATE_API_URL` | the API, e.g. `https://127.0.0.1:8443` (required) |
//! | `SLIPGATE_IDP_URL` | the identity server, e.g. `https://127.0.0.1:8444` (required) |
//! | `SLIPGATE_CA_FILE` | a PEM CA to trust (optional; system roots otherwise) |
//! | `SLIPGATE_KEY_ID`, `SLIPGATE_KEY_FILE` | the signing key (default `dev-ed25519`, `.slipgate-dev/dev-ed25519.pem`) |
//! | `SLIPGATE_TOKEN_FILE` | tokens as `slipgate login` stores them (default `~/.config/slipgate/tokens/default.json`) |
//!
//! Arguments: `[EMP_ID EMP_CODE EMP_NAME GRADE WORKING_DAYS [YYYY-MM]]`, the
//! seed employee when omitted. The JSON slip goes to stdout.
//!
//! ```text
//! export SLIPGATE_API_URL=https://127.0.0.1:8443 SLIPGATE_IDP_URL=https://127.0.0.1:8444 \
//!        SLIPGATE_CA_FILE=.slipgate-dev/ca.pem
//! cargo run -p slipgate-client --example generate_slip -- 01234 ENG "John Doe" 7.1 24 2025-01
//! ```
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use slipgate_client::{Client, ClientError, Format, Generated};
use slipgate_proto::SlipRequest;

type Error = Box<dyn std::error::Error>;

#[allow(clippy::disallowed_methods, reason = "the example is configured by its environment")]
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, Error> {
    env(name).ok_or_else(|| format!("set {name}").into())
}

fn default_token_file() -> Result<PathBuf, Error> {
    let base = match env("XDG_CONFIG_HOME") {
        Some(xdg) => PathBuf::from(xdg),
        None => PathBuf::from(required("HOME")?).join(".config"),
    };
    Ok(base.join("slipgate/tokens/default.json"))
}

fn request_from_args() -> Result<SlipRequest, Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return Ok(SlipRequest {
            emp_id: "01234".into(),
            emp_code: "ENG".into(),
            emp_name: "John Doe".into(),
            emp_grade: "7.1".into(),
            working_days: 24,
            pay_period: None,
        });
    }
    let [emp_id, emp_code, emp_name, grade, days, rest @ ..] = args.as_slice() else {
        return Err("usage: generate_slip [EMP_ID EMP_CODE EMP_NAME GRADE WORKING_DAYS [YYYY-MM]]".into());
    };
    Ok(SlipRequest {
        emp_id: emp_id.clone(),
        emp_code: emp_code.clone(),
        emp_name: emp_name.clone(),
        emp_grade: grade.clone(),
        working_days: days.parse().map_err(|_| format!("WORKING_DAYS `{days}` is not a whole number"))?,
        pay_period: rest.first().cloned(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let request = request_from_args()?;
    let mut builder = Client::builder()
        .api_url(required("SLIPGATE_API_URL")?)
        .idp_url(required("SLIPGATE_IDP_URL")?)
        .signing_key_file(
            env("SLIPGATE_KEY_ID").unwrap_or_else(|| "dev-ed25519".into()),
            env("SLIPGATE_KEY_FILE").unwrap_or_else(|| ".slipgate-dev/dev-ed25519.pem".into()),
        )
        .token_file(env("SLIPGATE_TOKEN_FILE").map_or_else(default_token_file, |f| Ok(PathBuf::from(f)))?);
    if let Some(ca) = env("SLIPGATE_CA_FILE") {
        builder = builder.ca_file(ca);
    }
    let client = builder.build()?;
    match client.generate(&request, Format::Json).await {
        Ok(Generated::Json(slip, bytes)) => {
            eprintln!("slip {} for {} ({})", slip.slip_id, slip.employee.emp_id, slip.period.month);
            println!("{}", String::from_utf8_lossy(&bytes));
            Ok(())
        }
        Ok(Generated::Pdf(_)) => Err("asked for JSON, got a PDF".into()),
        Err(ClientError::Problem { problem, .. }) if !problem.errors.is_empty() => {
            for e in &problem.errors {
                eprintln!("{}: {}", e.field, e.message);
            }
            Err(format!("{}: {}", problem.code, problem.detail).into())
        }
        Err(ClientError::LoginRequired(why)) => Err(format!("{why} (slipgate login)").into()),
        Err(e) => Err(e.into()),
    }
}
