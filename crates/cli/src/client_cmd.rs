//! The client commands: `login`, `logout`, `generate` and `keys pin` (SPEC §5).
//!
//! A profile without a registry key signs with its device key: `login`
//! creates it (`keys/<profile>.pem`, 0600) and asks for a token bound to it;
//! `generate`, `batch` and `bench` then sign as `HTTPSig`; `logout` revokes
//! the session and deletes the key and the tokens.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use slipgate_client::{
    Client, ClientError, DeviceKey, Format, Generated, IdpClient, PromptReason, RequestSigner, Revocation,
    TokenFile, TokenManager,
};
use slipgate_proto::SlipRequest;

use crate::profile::{ClientArgs, Resolved, Signing};
use crate::prompt;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The signer of `resolved` and the device key it uses, if any. Only a login
/// creates a device key (`create`); other commands need one already.
pub fn signer(resolved: &Resolved, create: bool) -> anyhow::Result<(RequestSigner, Option<DeviceKey>)> {
    Ok(match &resolved.signing {
        Signing::Registry { key_id, key_file } => {
            (RequestSigner::new(key_id.clone(), slipgate_client::load_signing_key(key_file)?), None)
        }
        Signing::Device { key_file } => {
            let key = if create { DeviceKey::load_or_create(key_file) } else { DeviceKey::load(key_file) }
                .map_err(explain)?;
            (RequestSigner::bound(&key), Some(key))
        }
    })
}

/// The identity server client of `resolved`, signing with `device` when given.
pub fn idp_client(resolved: &Resolved, http: &reqwest::Client, device: Option<DeviceKey>) -> IdpClient {
    let idp = IdpClient::new(http.clone(), &resolved.idp_url);
    match device {
        Some(key) => idp.with_device_key(key),
        None => idp,
    }
}

/// The token manager for `resolved`, prompting on a terminal when allowed.
fn tokens(
    resolved: &Resolved,
    http: &reqwest::Client,
    device: Option<DeviceKey>,
) -> anyhow::Result<TokenManager> {
    let idp = idp_client(resolved, http, device);
    let manager = TokenManager::new(idp, Some(TokenFile::new(&resolved.token_file)))?;
    let profile = resolved.profile.clone();
    Ok(if prompt::interactive() {
        manager.with_prompt(Arc::new(move |reason, username| {
            match reason {
                PromptReason::NotLoggedIn => {
                    eprintln!("Not logged in (profile {profile}); log in, or run `slipgate login` first.")
                }
                PromptReason::WrongTokenType => {
                    eprintln!("The stored tokens do not fit this profile's signing key; log in again.")
                }
                _ => eprintln!("Your session has expired; log in again."),
            }
            match prompt::credentials(username) {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    None
                }
            }
        }))
    } else {
        manager
    })
}

/// A signing client from the flags and profile.
pub fn client(args: &ClientArgs) -> anyhow::Result<Client> {
    let resolved = args.resolve()?;
    let http = crate::profile::ClientArgs::https(&resolved, TIMEOUT)?;
    let (signer, device) = signer(&resolved, false)?;
    let manager = Arc::new(tokens(&resolved, &http, device)?);
    Ok(Client::new(http, &resolved.api_url, signer, manager)?
        .with_server_keys(resolved.trust.server_keys()?)?)
}

/// `slipgate keys pin`: trusts the API's current response keys for the profile.
pub async fn pin(args: &ClientArgs) -> anyhow::Result<()> {
    let target = args.resolve_pin_target()?;
    if let Some(file) = &target.trust.server_keys {
        bail!(
            "the profile {} names its server keys outright (server_keys = {}): they are trusted as given and \
             never pinned; replace that file with the API's new key set, or remove server_keys from the \
             profile to pin on first use",
            target.trust.profile_file.display(),
            file.display()
        );
    }
    let http = crate::profile::https_for(target.ca_file.as_deref(), target.identity.as_ref(), TIMEOUT)?;
    let store = slipgate_client::PinStore::file(&target.trust.pin_file);
    let (before, now) = store.repin(&http, &target.api_url).await.map_err(explain)?;
    let now_kids = slipgate_client::pins::describe(&now);
    match before {
        Some(before) if slipgate_client::pins::same_keys(&before, &now) => eprintln!(
            "the response keys of {} are unchanged ({now_kids}); pinned in {}",
            target.api_url,
            target.trust.pin_file.display()
        ),
        Some(before) => eprintln!(
            "pinned the new response keys of {} in {}: {now_kids} (replacing {})",
            target.api_url,
            target.trust.pin_file.display(),
            slipgate_client::pins::describe(&before)
        ),
        None => eprintln!(
            "pinned the response keys of {} in {}: {now_kids}",
            target.api_url,
            target.trust.pin_file.display()
        ),
    }
    println!("{now_kids}");
    Ok(())
}

/// `slipgate login`.
pub async fn login(args: &ClientArgs, username: Option<String>, password_stdin: bool) -> anyhow::Result<()> {
    let resolved = args.resolve()?;
    let http = crate::profile::ClientArgs::https(&resolved, TIMEOUT)?;
    let (_, device) = signer(&resolved, true)?;
    let key_note = match &device {
        Some(key) => format!(
            "; requests are signed with the device key {} (thumbprint {})",
            key.path().map(|p| p.display().to_string()).unwrap_or_default(),
            key.thumbprint()
        ),
        None => String::new(),
    };
    let manager = tokens(&resolved, &http, device)?;
    let credentials = if password_stdin {
        let Some(username) = username else { bail!("--password-stdin needs --username") };
        slipgate_client::Credentials { username, password: prompt::password_from_stdin()? }
    } else if prompt::interactive() {
        prompt::credentials(username.as_deref())?
    } else {
        bail!("no terminal to prompt on: pass --username and --password-stdin");
    };
    let set = manager.login(&credentials).await.map_err(explain)?;
    eprintln!(
        "logged in as {} (scope: {}); {} tokens saved in {}{key_note}",
        credentials.username,
        set.scope,
        if set.token_type == slipgate_proto::oauth::TokenType::Httpsig { "key-bound" } else { "bearer" },
        resolved.token_file.display()
    );
    Ok(())
}

/// `slipgate logout`: revokes the session (RFC 7009), deletes the stored
/// tokens and the profile's device key (never a registry key file). The
/// local part is done even when the identity server cannot be reached; the
/// command then fails, saying the session lives until it expires.
pub async fn logout(args: &ClientArgs) -> anyhow::Result<()> {
    let resolved = args.resolve()?;
    let http = crate::profile::ClientArgs::https(&resolved, TIMEOUT)?;
    let device = match &resolved.signing {
        Signing::Device { key_file } => match DeviceKey::load(key_file) {
            Ok(key) => Some(key),
            // Without a usable key the tokens are refused anyway; still delete it.
            Err(_) => {
                DeviceKey::remove(key_file)?;
                None
            }
        },
        Signing::Registry { .. } => None,
    };
    let manager =
        TokenManager::new(idp_client(&resolved, &http, device), Some(TokenFile::new(&resolved.token_file)));
    let manager = match manager {
        Ok(manager) => manager,
        Err(e) => {
            // An unreadable token file revokes nothing; remove it so a new login starts clean.
            TokenFile::new(&resolved.token_file).remove()?;
            return Err(explain(e).context("the stored tokens were unreadable and are deleted"));
        }
    };
    let done = manager.logout().await.map_err(explain)?;
    let mut removed = Vec::new();
    if done.removed_tokens {
        removed.push(format!("the tokens {}", resolved.token_file.display()));
    }
    if let (true, Signing::Device { key_file }) = (done.removed_device_key, &resolved.signing) {
        removed.push(format!("the device key {}", key_file.display()));
    }
    let removed = if removed.is_empty() {
        "nothing to delete".to_owned()
    } else {
        format!("deleted {}", removed.join(" and "))
    };
    match done.revocation {
        Revocation::Revoked => {
            eprintln!("logged out: the session is revoked; {removed}");
            Ok(())
        }
        Revocation::NotLoggedIn => {
            eprintln!("not logged in; {removed}");
            Ok(())
        }
        Revocation::Failed(e) => Err(explain(e).context(format!(
            "{removed}, but the identity server did not revoke the session: it stays valid until it \
             expires{}",
            if matches!(resolved.signing, Signing::Device { .. }) {
                " (its tokens are useless without the deleted device key)"
            } else {
                ""
            }
        ))),
        _ => Ok(()),
    }
}

/// The arguments of `slipgate generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[arg(long)]
    pub emp_id: String,
    #[arg(long)]
    pub emp_code: String,
    #[arg(long)]
    pub emp_name: String,
    /// A grade of the pay scale, e.g. 7.1.
    #[arg(long)]
    pub grade: String,
    #[arg(long)]
    pub working_days: u32,
    /// YYYY-MM (default: the current month, UTC).
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    /// json (to stdout unless --out) or pdf (to --out, default EMP_ID-PERIOD.pdf).
    #[arg(long, value_enum, default_value = "json")]
    pub format: OutputFormat,
    /// Where to write the slip.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The representation to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Pdf,
}

/// `slipgate generate`.
pub async fn generate(args: &ClientArgs, g: GenerateArgs) -> anyhow::Result<()> {
    let client = client(args)?;
    let request = SlipRequest {
        emp_id: g.emp_id.clone(),
        emp_code: g.emp_code,
        emp_name: g.emp_name,
        emp_grade: g.grade,
        working_days: g.working_days,
        pay_period: g.period.clone(),
    };
    let format = match g.format {
        OutputFormat::Json => Format::Json,
        OutputFormat::Pdf => Format::Pdf,
    };
    let generated = client.generate(&request, format).await.map_err(explain)?;
    match generated {
        Generated::Json(slip, bytes) => {
            match &g.out {
                Some(path) => write(path, &bytes)?,
                None => println!("{}", String::from_utf8_lossy(&bytes)),
            }
            eprintln!(
                "slip {} for {} ({}), {} of {} days{}",
                slip.slip_id,
                slip.employee.emp_id,
                slip.period.month,
                slip.period.working_days,
                slip.period.basis_days,
                g.out.as_ref().map(|p| format!(", written to {}", p.display())).unwrap_or_default()
            );
        }
        Generated::Pdf(bytes) => {
            let period = g.period.unwrap_or_else(current_month);
            let path = g.out.unwrap_or_else(|| PathBuf::from(format!("{}-{period}.pdf", g.emp_id)));
            write(&path, &bytes)?;
            eprintln!(
                "PDF slip for {} ({period}) written to {} ({} bytes)",
                g.emp_id,
                path.display(),
                bytes.len()
            );
        }
    }
    Ok(())
}

fn write(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    // Salary slips are personal data: private by default.
    slipgate_proto::files::write_atomic(path, bytes, true)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn current_month() -> String {
    let now =
        time::OffsetDateTime::from(slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock));
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

/// Turns client errors into messages that say what to do.
pub fn explain(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::LoginRequired(why) => anyhow::anyhow!("not logged in: {why}"),
        ClientError::Problem { status, problem, .. } if !problem.errors.is_empty() => {
            // Each field on its own line, as a form would show it.
            let mut text = format!("{status} {}: {}", problem.code, problem.detail);
            for field in &problem.errors {
                text.push_str(&format!("\n  - {}: {}", field.field, field.message));
            }
            anyhow::anyhow!(text)
        }
        e @ ClientError::TlsVerification { .. } => {
            anyhow::anyhow!("{e} (--ca or the profile's ca_file names the CA file to trust)")
        }
        e @ ClientError::WrongService { .. } => {
            anyhow::anyhow!("{e} (--api takes the API's URL, --idp the identity server's)")
        }
        ClientError::Grant { error, retry_after: Some(wait), .. } => {
            anyhow::anyhow!(
                "the identity server refused ({error}); too many attempts, retry in {} s",
                wait.as_secs()
            )
        }
        ClientError::Grant { error, .. } if error == "invalid_grant" => {
            anyhow::anyhow!("wrong username or password (invalid_grant)")
        }
        other => anyhow::Error::new(other),
    }
}
