//! `slipgate dev`: the whole system on localhost for a first run (SPEC §5).
//!
//! In one process: the identity server (SQLite and its signing key in the data
//! directory, which is 0700; demo users with fresh random passwords, an
//! introspection client) and the API
//! over TLS with a generated CA, plus three demo signing keys. Once every
//! listener is bound it writes `DIR/dev.json` (mode 0600, the only place the
//! credentials appear) and the `default` client profile, prints how to call
//! it — never a password, secret or token — and serves until Ctrl-C.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use slipgate_api::devpki::{self, DevPki};
use slipgate_api::{ConfigLoader, Listeners};
use slipgate_idp::IdpConfig;
use slipgate_idp::config::DatabaseUrl;

use crate::keys::NewKey;
use crate::profile::{Profile, profile_path};

/// Arguments of `slipgate dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Where certificates, keys, the identity database and dev.json live.
    #[arg(long, value_name = "DIR", default_value = ".slipgate-dev")]
    data_dir: PathBuf,
    /// Optional TOML with the API's sections plus `[idp]`, over the dev defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override one key (repeatable), e.g. `--set server.listen=127.0.0.1:0`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
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
fn demo_keys(dir: &Path) -> anyhow::Result<Vec<NewKey>> {
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

fn dev_keys(keys: &[NewKey]) -> anyhow::Result<Vec<DevKey>> {
    keys.iter()
        .map(|k| {
            Ok(DevKey {
                keyid: k.id.clone(),
                alg: k.alg.as_str(),
                secret_b64: k.secret_b64()?,
                private_key_file: k.public_file.as_ref().map(|_| k.private_file.clone()),
            })
        })
        .collect()
}

/// Layers dev's own settings (a typed [`slipgate_api::Config`] beneath
/// everything else), the file, the environment and the flags, then splits the
/// `[idp]` section off for the identity server.
fn layered(
    args: &DevArgs,
    dir: &Path,
    pki: &DevPki,
    keys: &[NewKey],
) -> anyhow::Result<(ConfigLoader, ConfigLoader)> {
    let response_key = crate::keys::ensure(slipgate_httpsig::Algorithm::Ed25519, "response-key", dir)?;
    let mut defaults = slipgate_api::Config::default();
    defaults.signature.keys = keys.iter().map(NewKey::key_config).collect();
    // A response key that survives restarts, so the profile's server_keys stay right.
    defaults.signature.response_key_file = Some(response_key.private_file);
    defaults.tls.cert = Some(pki.server_cert.clone());
    defaults.tls.key = Some(pki.server_key.clone());
    let mut loader = ConfigLoader::new().layer(&defaults)?;
    if let Some(file) = &args.config {
        loader = loader.file(file)?;
    }
    loader = loader.env()?;
    for o in &args.overrides {
        loader = loader.set_override(o)?;
    }
    let idp = loader.take_section("idp");
    Ok((loader, idp))
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    // 0700 from creation: it holds the identity database, the signing key and
    // dev.json. An existing one open to others is refused (with the chmod).
    slipgate_idp::files::create_private_dir(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    slipgate_idp::files::check_private_dir(&args.data_dir)?;
    let dir = std::fs::canonicalize(&args.data_dir)?;
    let pki = DevPki::ensure(&dir)?;
    let keys = demo_keys(&dir)?;
    let (api_loader, idp_loader) = layered(&args, &dir, &pki, &keys)?;

    // The identity server first: the API's configuration needs its address.
    let database = format!("sqlite://{}", dir.join("idp.db").display());
    // Dev's own last layer: its database and certificate, over the user's.
    let mut idp_config: IdpConfig = idp_loader.load_with(|c: &mut IdpConfig| {
        c.idp.database = DatabaseUrl(database.clone());
        c.tls.cert = Some(pki.server_cert.clone());
        c.tls.key = Some(pki.server_key.clone());
    })?;
    let idp_listener = slipgate_idp::bind(&idp_config).await?;
    let idp_admin = slipgate_idp::bind_admin(&idp_config).await?;
    let idp_url = format!("https://{}", idp_listener.local_addr()?);
    let idp_admin_url = format!("http://{}", idp_admin.local_addr()?);
    idp_config.idp.issuer.clone_from(&idp_url);
    let store = slipgate_idp::open_store(&database).await?;
    let seed = slipgate_idp::seed_dev(store.as_ref()).await?;
    let secret_file = dir.join("introspection.secret");
    devpki::write_file(&secret_file, seed.introspection_client.1.expose().as_bytes(), true)?;

    // The identity server just bound: its address, CA and client, over the user's.
    let config: slipgate_api::Config = api_loader.load_with(|c: &mut slipgate_api::Config| {
        c.auth.idp_url = Some(idp_url.clone());
        c.auth.issuer = Some(idp_url.clone());
        c.auth.ca = Some(pki.ca_cert.clone());
        c.auth.client_id = Some(seed.introspection_client.0.clone());
        c.auth.client_secret_file = Some(secret_file.clone());
    })?;
    let _log = crate::logging::init(&config.log);
    let listeners = Listeners::bind(&config).await?;
    let api_url = format!("https://{}", listeners.api.local_addr()?);
    let admin_url = format!("http://{}", listeners.admin.local_addr()?);
    // The web console (SPEC §8): its public client, whose one redirect URI is
    // on the API's origin, and CORS for that origin at the identity server.
    register_console(store.as_ref(), &api_url).await?;
    if !idp_config.idp.allowed_origins.contains(&api_url) {
        idp_config.idp.allowed_origins.push(api_url.clone());
    }

    let mut dev = serde_json::json!({
        "api_url": api_url,
        "idp_url": idp_url,
        "admin_url": admin_url,
        "idp_admin_url": idp_admin_url,
        "ca_file": pki.ca_cert,
        "keys": dev_keys(&keys)?,
    });
    if let (Some(dev), serde_json::Value::Object(seeded)) = (dev.as_object_mut(), seed.to_dev_json()) {
        dev.extend(seeded);
    }
    let server_keys = write_server_keys(&dir, &config)?;
    let profile = Profile {
        server_keys: Some(server_keys),
        api_url: Some(api_url.clone()),
        idp_url: Some(idp_url.clone()),
        ca_file: Some(pki.ca_cert.clone()),
        // No registry key: `slipgate login` makes the profile's device key and
        // a token bound to it (SPEC §5); dev.json lists the demo keys for others.
        key_id: None,
        key_file: None,
        cert_file: None,
        cert_key_file: None,
    };
    let profile_file = write_profile(&profile)?;
    // Last: dev.json is the sign that everything is in place (scripts and
    // tests wait for it, then use the profile).
    let dev_json = dir.join("dev.json");
    devpki::write_file(&dev_json, &serde_json::to_vec_pretty(&dev)?, true)?;
    print_summary(&[&api_url, &idp_url, &admin_url, &idp_admin_url], &pki.ca_cert, &dev_json, &profile_file);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let idp = tokio::spawn(slipgate_idp::run_with_admin(
        idp_config,
        idp_listener,
        Some(idp_admin),
        stopped(stop_rx.clone()),
    ));
    let api = slipgate_api::run(config, listeners, stopped(stop_rx));
    let trigger = async move {
        crate::shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let (api, ()) = tokio::join!(api, trigger);
    api?;
    idp.await??;
    Ok(())
}

/// Registers (or re-points) the public client `slipgate-console` with the one
/// redirect URI `<api_url>/console/callback`.
async fn register_console(store: &dyn slipgate_idp::Store, api_url: &str) -> anyhow::Result<()> {
    let id = slipgate_proto::oauth::CONSOLE_CLIENT;
    let redirect = vec![format!("{api_url}/console/callback")];
    if store.client(id).await?.is_some() {
        slipgate_idp::client_set_redirect_uris(store, id, &redirect).await?;
    } else {
        slipgate_idp::client_add_public(store, id, "Slipgate web console", &redirect).await?;
    }
    Ok(())
}

/// Writes the API's response keys as a JWKS, `DIR/server-keys.json`, for the
/// profile's `server_keys`: dev clients then trust exactly them (no first-use pin).
fn write_server_keys(dir: &Path, config: &slipgate_api::Config) -> anyhow::Result<PathBuf> {
    let Some(key) = &config.signature.response_key_file else {
        anyhow::bail!("slipgate dev needs signature.response_key_file");
    };
    let signer = slipgate_api::middleware::response_sig::ResponseSigner::from_pem_file(key)?;
    let path = dir.join("server-keys.json");
    devpki::write_file(&path, &serde_json::to_vec_pretty(signer.jwks())?, false)?;
    Ok(path)
}

/// Writes the `default` profile, keeping a copy of one that pointed elsewhere.
fn write_profile(profile: &Profile) -> anyhow::Result<PathBuf> {
    let path = profile_path("default")?;
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let ours = existing.contains("127.0.0.1") || existing.contains("localhost");
        if !ours {
            let backup = path.with_extension("toml.bak");
            std::fs::copy(&path, &backup)?;
            eprintln!("note: your default profile pointed elsewhere; saved it as {}", backup.display());
        }
    }
    profile.save(&path)?;
    Ok(path)
}

fn print_summary([api, idp, admin, idp_admin]: &[&str; 4], ca: &Path, dev_json: &Path, profile: &Path) {
    println!(
        "\nSlipgate dev is running.\n\n  API        {api}\n  identity   {idp}\n  admin      {admin}\n  \
         idp admin  {idp_admin}\n  CA         {ca}\n  \
         credentials and keys  {json} (mode 0600)\n  client profile        {profile}\n\n\
         Demo users: alice (employee 01234, ENG, Alice Example, grade 7.1: only her own slip, as on record)\n\
         and paula (payroll 00001, HR, Paula Payroll, grade 8.1: any slip); their passwords are in dev.json.\n\n\
         Try it (in another terminal):\n  slipgate login --username alice\n  \
         slipgate generate --emp-id 01234 --emp-code ENG --emp-name 'Alice Example' --grade 7.1 --working-days 24\n\n\
         Ctrl-C stops.\n",
        ca = ca.display(),
        json = dev_json.display(),
        profile = profile.display(),
    );
}
