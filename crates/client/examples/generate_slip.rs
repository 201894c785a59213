//! Generates one salary slip with the SDK.
//!
//! Settings come from the environment (the defaults fit `slipgate dev` after
//! `slipgate login`: its device key and bound tokens; a service sets
//! `SLIPGATE_KEY_ID` and `SLIPGATE_KEY_FILE` to sign with a registry key and
//! `Bearer` tokens, from a login with `--key-id/--key-file`):
//!
//! | variable | meaning |
//! |---|---|
//! | `SLIPGATE_API_URL` | the API, e.g. `https://127.0.0.1:8443` (required) |
//! | `SLIPGATE_IDP_URL` | the identity server, e.g. `https://127.0.0.1:8444` (required) |
//! | `SLIPGATE_CA_FILE` | a PEM CA to trust (optional; system roots otherwise) |
//! | `SLIPGATE_KEY_ID`, `SLIPGATE_KEY_FILE` | a registry signing key (both; default: the device key) |
//! | `SLIPGATE_DEVICE_KEY` | the device key (default `~/.config/slipgate/keys/default.pem`, as `slipgate login` makes it) |
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

/// `$XDG_CONFIG_HOME/slipgate/<file>`, as the CLI keeps it.
fn config_file(file: &str) -> Result<PathBuf, Error> {
    let base = match env("XDG_CONFIG_HOME") {
        Some(xdg) => PathBuf::from(xdg),
        None => PathBuf::from(required("HOME")?).join(".config"),
    };
    Ok(base.join("slipgate").join(file))
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
        .token_file(
            env("SLIPGATE_TOKEN_FILE")
                .map_or_else(|| config_file("tokens/default.json"), |f| Ok(PathBuf::from(f)))?,
        );
    builder = match (env("SLIPGATE_KEY_ID"), env("SLIPGATE_KEY_FILE")) {
        (Some(id), Some(file)) => builder.signing_key_file(id, file),
        (None, None) => {
            let device = env("SLIPGATE_DEVICE_KEY")
                .map_or_else(|| config_file("keys/default.pem"), |f| Ok(PathBuf::from(f)))?;
            // Only a login makes a device key: a missing one means "log in first".
            slipgate_client::DeviceKey::load(&device).map_err(|e| format!("{e} (slipgate login)"))?;
            builder.device_key_file(device)
        }
        _ => return Err("set both SLIPGATE_KEY_ID and SLIPGATE_KEY_FILE, or neither".into()),
    };
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
