//! `slipgate dev`: the whole system on localhost for a first run (SPEC §5).
//!
//! It creates (or reuses) a development CA and server certificate in the data
//! directory, binds the listeners, writes `DIR/dev.json` (mode 0600) once both
//! are bound, prints how to call the API, and serves until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use slipgate_api::config::LogFormat;
use slipgate_api::devpki::{self, DevPki};
use slipgate_api::{ConfigLoader, Listeners};

/// Arguments of `slipgate dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Where certificates and dev.json live (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".slipgate-dev")]
    data_dir: PathBuf,
    /// Optional TOML with the API's sections, layered over the dev defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override one key (repeatable), e.g. `--set server.listen=127.0.0.1:0`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
}

/// The machine-readable summary written to `DIR/dev.json`.
#[derive(Debug, Serialize)]
struct DevJson {
    api_url: String,
    admin_url: String,
    ca_file: PathBuf,
    keys: Vec<DevKey>,
}

/// One demo signing key in `dev.json`.
#[derive(Debug, Serialize)]
struct DevKey {
    keyid: String,
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_b64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key_file: Option<PathBuf>,
}

/// The three demo keys of SPEC §5, created on first run.
fn demo_keys(dir: &Path) -> anyhow::Result<Vec<crate::keys::NewKey>> {
    use slipgate_httpsig::Algorithm;
    [
        (Algorithm::HmacSha256, "dev-hmac"),
        (Algorithm::Ed25519, "dev-ed25519"),
        (Algorithm::EcdsaP256Sha256, "dev-p256"),
    ]
    .into_iter()
    .map(|(alg, id)| crate::keys::ensure(alg, id, dir))
    .collect()
}

fn keys_override(keys: &[crate::keys::NewKey]) -> String {
    let entries: Vec<String> = keys
        .iter()
        .map(|k| match &k.public_file {
            Some(public) => format!(
                "{{id={}, alg=\"{}\", public_key_file={}}}",
                toml_quote(&k.id),
                k.alg.as_str(),
                toml_string(public)
            ),
            None => format!(
                "{{id={}, alg=\"{}\", secret_file={}}}",
                toml_quote(&k.id),
                k.alg.as_str(),
                toml_string(&k.private_file)
            ),
        })
        .collect();
    format!("signature.keys=[{}]", entries.join(", "))
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let pki = DevPki::ensure(&data_dir)?;
    let keys = demo_keys(&data_dir)?;

    let mut loader = ConfigLoader::new()
        .set_override(&keys_override(&keys))?
        .set_override(&format!("tls.cert={}", toml_string(&pki.server_cert)))?
        .set_override(&format!("tls.key={}", toml_string(&pki.server_key)))?
        .set_override("log.format=pretty")?;
    if let Some(file) = &args.config {
        loader = loader.file(file)?;
    }
    loader = loader.env()?;
    for o in &args.overrides {
        loader = loader.set_override(o)?;
    }
    let config: slipgate_api::Config = loader.load()?;
    crate::logging::init(if args.config.is_some() { config.log.format } else { LogFormat::Pretty });

    let listeners = Listeners::bind(&config).await?;
    let api = listeners.api.local_addr()?;
    let admin = listeners.admin.local_addr()?;
    let keys = keys
        .iter()
        .map(|k| {
            Ok(DevKey {
                keyid: k.id.clone(),
                alg: k.alg.as_str(),
                secret_b64: k.secret_b64()?,
                private_key_file: k.public_file.as_ref().map(|_| k.private_file.clone()),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dev = DevJson {
        api_url: https_url(api),
        admin_url: format!("http://{admin}"),
        ca_file: pki.ca_cert.clone(),
        keys,
    };
    let dev_json = data_dir.join("dev.json");
    devpki::write_file(&dev_json, &serde_json::to_vec_pretty(&dev)?, true)?;
    print_summary(&dev, &dev_json);
    slipgate_api::run(config, listeners, crate::shutdown_signal()).await?;
    Ok(())
}

fn https_url(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

/// A path as a TOML string literal, so overrides survive any characters.
fn toml_string(path: &Path) -> String {
    toml_quote(&path.to_string_lossy())
}

fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn print_summary(dev: &DevJson, dev_json: &Path) {
    let ca = dev.ca_file.display();
    println!(
        "\nSlipgate dev is running.\n\n  API    {api}\n  admin  {admin}\n  CA     {ca}\n  state  {json}\n\n\
         Try it:\n  curl --cacert {ca} -H 'Content-Type: application/json' \\\n    \
         -d '{{\"emp_id\":\"01234\",\"emp_code\":\"ENG\",\"emp_name\":\"John Doe\",\"emp_grade\":\"7.1\",\"working_days\":24}}' \\\n    \
         {api}/generate/salaryslip\n\nAdd -H 'Accept: application/pdf' -o slip.pdf for a PDF. Ctrl-C stops.\n",
        api = dev.api_url,
        admin = dev.admin_url,
        json = dev_json.display(),
    );
}
