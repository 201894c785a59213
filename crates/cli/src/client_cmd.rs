//! The client commands: `login`, `generate` and `keys pin` (SPEC §5).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use slipgate_client::{Client, ClientError, Format, Generated, IdpClient, TokenFile, TokenManager};
use slipgate_proto::SlipRequest;

use crate::profile::{ClientArgs, Resolved};
use crate::prompt;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The token manager for `resolved`, prompting on a terminal when allowed.
fn tokens(resolved: &Resolved, http: &reqwest::Client) -> anyhow::Result<TokenManager> {
    let idp = IdpClient::new(http.clone(), &resolved.idp_url);
    let manager = TokenManager::new(idp, Some(TokenFile::new(&resolved.token_file)))?;
    Ok(if prompt::interactive() {
        manager.with_prompt(Arc::new(|username| {
            eprintln!("Your session has expired; log in again.");
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
    let key = slipgate_client::load_signing_key(&resolved.key_file)?;
    let signer = slipgate_client::RequestSigner::new(resolved.key_id.clone(), key);
    let manager = Arc::new(tokens(&resolved, &http)?);
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
    let manager = tokens(&resolved, &http)?;
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
        "logged in as {} (scope: {}); tokens saved in {}",
        credentials.username,
        set.scope,
        resolved.token_file.display()
    );
    Ok(())
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
        ClientError::LoginRequired(why) => anyhow::anyhow!("{why}"),
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
