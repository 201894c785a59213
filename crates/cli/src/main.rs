//! `slipgate`: the one binary. It parses arguments and configuration, sets up
//! logging, binds, and hands over to a library `run`.

mod client_cmd;
mod dev;
mod idp_cmd;
mod keys;
mod logging;
mod profile;
mod prompt;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use slipgate_api::{ConfigLoader, Listeners};

/// Slipgate: a stateless salary-slip API secured in depth.
#[derive(Debug, Parser)]
#[command(name = "slipgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the salary-slip API (TLS) and its admin listener.
    ///
    /// Example: slipgate serve --config api.toml --set limits.max_body=32KiB
    Serve {
        /// The API's TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Override one key after the file and the environment (repeatable).
        #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Run the whole system on localhost for a first try: generates a CA and
    /// certificates in the data directory and writes DIR/dev.json once bound.
    ///
    /// Example: slipgate dev --data-dir .slipgate-dev
    Dev(dev::DevArgs),
    /// Manage request-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The identity server: serve it, manage its users and clients.
    #[command(subcommand)]
    Idp(idp_cmd::IdpCommand),
    /// Log in and store the tokens (prompts for what is missing).
    ///
    /// Example: slipgate login --username alice
    /// Example: printf '%s\n' "$PASSWORD" | slipgate login --username alice --password-stdin
    Login {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Generate one salary slip, signed, as JSON (stdout) or PDF (a file).
    ///
    /// Example: slipgate generate --emp-id 01234 --emp-code ENG --emp-name 'John Doe' --grade 7.1 --working-days 24
    /// Example: slipgate generate ... --format pdf --out slip.pdf
    Generate {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[command(flatten)]
        args: client_cmd::GenerateArgs,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a signing key and print its `[[signature.keys]]` entry.
    ///
    /// HMAC writes DIR/<id>.secret (base64 of 32 random bytes); ed25519 and
    /// ecdsa-p256-sha256 write DIR/<id>.pem (PKCS#8) and DIR/<id>.pub.pem
    /// (SPKI). Private files get mode 0600.
    ///
    /// Example: slipgate keys new --alg ed25519 --id client-7 --dir keys
    New {
        /// hmac-sha256, ecdsa-p256-sha256 or ed25519.
        #[arg(long)]
        alg: String,
        /// The key id clients will send as `keyid`.
        #[arg(long)]
        id: String,
        /// Where to write the files.
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, overrides } => serve(config, overrides).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Idp(command) => idp_cmd::run(command).await,
        Command::Login { client, username, password_stdin } => {
            client_cmd::login(&client, username, password_stdin).await
        }
        Command::Generate { client, args } => client_cmd::generate(&client, args).await,
        Command::Keys(KeysCommand::New { alg, id, dir }) => {
            let alg = alg.parse().map_err(|_| {
                anyhow::anyhow!("unknown --alg `{alg}`: use hmac-sha256, ecdsa-p256-sha256 or ed25519")
            })?;
            let key = keys::create(alg, &id, &dir)?;
            eprintln!("wrote {}", key.private_file.display());
            if let Some(public) = &key.public_file {
                eprintln!("wrote {}", public.display());
            }
            eprintln!("add this to the API's configuration:\n");
            print!("{}", key.config_entry());
            Ok(())
        }
    }
}

async fn serve(path: PathBuf, overrides: Vec<String>) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new().file(&path)?.env()?;
    for o in &overrides {
        loader = loader.set_override(o)?;
    }
    let config: slipgate_api::Config = loader.load().with_context(|| format!("in {}", path.display()))?;
    logging::init(config.log.format);
    let listeners = Listeners::bind(&config).await?;
    slipgate_api::run(config, listeners, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
