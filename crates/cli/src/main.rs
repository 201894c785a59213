//! `slipgate`: the one binary. It parses arguments and configuration, sets up
//! logging, binds, and hands over to a library `run`.

mod batch;
mod bench;
mod client_cmd;
mod config_example;
mod dev;
mod idp_cmd;
mod keys;
mod logging;
mod profile;
mod prompt;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
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
    /// Unless the profile or --key-id/--key-file name a registry key, this
    /// creates the profile's device key ($XDG_CONFIG_HOME/slipgate/keys/PROFILE.pem,
    /// 0600) and asks for tokens bound to it; other commands then sign with it.
    ///
    /// Example: slipgate login --username alice
    /// Example: printf '%s\n' "$PASSWORD" | slipgate login --username alice --password-stdin
    #[command(verbatim_doc_comment)]
    Login {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke the session and delete the stored tokens and the profile's device key.
    ///
    /// Example: slipgate logout
    /// Example: slipgate logout --profile staging
    #[command(verbatim_doc_comment)]
    Logout {
        #[command(flatten)]
        client: profile::ClientArgs,
    },
    /// Generate one salary slip, signed, as JSON (stdout) or PDF (a file).
    ///
    /// Example: slipgate generate --emp-id 01234 --emp-code ENG --emp-name 'Alice Example' --grade 7.1 --working-days 24
    /// Example: slipgate generate ... --format pdf --out slip.pdf
    #[command(verbatim_doc_comment)]
    Generate {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[command(flatten)]
        args: client_cmd::GenerateArgs,
    },
    /// Generate one slip per CSV row into a directory; resumable.
    ///
    /// The CSV's header names the columns:
    /// `emp_id,emp_code,emp_name,emp_grade,working_days[,pay_period]` (an empty
    /// pay_period means the current month). Each row becomes
    /// `DIR/<emp_id>-<YYYY-MM>.pdf` (or `.json`), written atomically; rows whose
    /// file exists are skipped, so after an interruption the same command
    /// finishes the rest. Rate limits are waited out (Retry-After). Rows the API
    /// refuses go to DIR/failed.csv with their `code` and `detail`; fix them
    /// there and pass that file back in. Exits non-zero if any row failed.
    ///
    /// Example: slipgate batch march.csv --out-dir slips/2025-03
    /// Example: slipgate batch march.csv --out-dir slips --format json --concurrency 8
    /// Example: slipgate batch slips/failed.csv --out-dir slips
    #[command(verbatim_doc_comment)]
    Batch {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[command(flatten)]
        args: batch::BatchArgs,
    },
    /// Load-test an API you run: signed requests, throughput and latency percentiles.
    ///
    /// Every request is signed (fresh nonce) with the profile's key and sent with
    /// the profile's logged-in token, asking for the seed slip (emp_id 01234, so
    /// an employee token such as alice's works). It prints the target first.
    /// Without --rate, each connection sends back to back; with --rate the load
    /// is open-loop and latency counts from when each request was due. Answers
    /// such as 429 are counted, not retried. Limits: --duration 1h, --connections 1024.
    ///
    /// Example: slipgate bench
    /// Example: slipgate bench --duration 30s --connections 32
    /// Example: slipgate bench --rate 200/s --duration 1m --warmup 5s --json
    #[command(verbatim_doc_comment)]
    Bench {
        #[command(flatten)]
        client: profile::ClientArgs,
        #[command(flatten)]
        args: bench::BenchArgs,
    },
    /// Print an annotated configuration file to start from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script.
    ///
    /// Example: slipgate completions bash > ~/.local/share/bash-completion/completions/slipgate
    /// Example: slipgate completions zsh > `"${fpath[1]}/_slipgate"`
    /// Example: slipgate completions fish > ~/.config/fish/completions/slipgate.fish
    #[command(verbatim_doc_comment)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print an annotated configuration (every key, its default and range) that loads as is.
    ///
    /// Example: slipgate config example api > /etc/slipgate/api.toml
    /// Example: slipgate config example idp > /etc/slipgate/idp.toml
    #[command(verbatim_doc_comment)]
    Example {
        /// api (slipgate serve) or idp (slipgate idp serve).
        #[arg(value_enum, default_value = "api")]
        which: config_example::Which,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a signing key and print its `[[signature.keys]]` entry.
    ///
    /// HMAC writes DIR/ID.secret (base64 of 32 random bytes); ed25519 and
    /// ecdsa-p256-sha256 write DIR/ID.pem (PKCS#8) and DIR/ID.pub.pem
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
    /// Trust the API's current response keys for a profile (after an announced rotation).
    ///
    /// The first client command of a profile pins the keys the API publishes at
    /// `/.well-known/slipgate-keys` (in `$XDG_CONFIG_HOME/slipgate/pins/<profile>.json`);
    /// an answer signed by other keys is refused from then on, since that is what a
    /// man in the middle would send. When the API's operators announce new keys, run
    /// this over a network you trust and compare the key ids it prints with theirs.
    /// A profile with `server_keys` trusts that file instead and is never pinned.
    ///
    /// Example: slipgate keys pin
    /// Example: slipgate keys pin --profile staging
    #[command(verbatim_doc_comment)]
    Pin {
        #[command(flatten)]
        client: profile::ClientArgs,
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
        Command::Logout { client } => client_cmd::logout(&client).await,
        Command::Generate { client, args } => client_cmd::generate(&client, args).await,
        Command::Batch { client, args } => batch::run(&client, args).await,
        Command::Bench { client, args } => bench::run(&client, args).await,
        Command::Completions { shell } => {
            // Into a buffer: clap_complete panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "slipgate", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Config(ConfigCommand::Example { which }) => {
            match std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                config_example::text(which).as_bytes(),
            ) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Keys(KeysCommand::Pin { client }) => client_cmd::pin(&client).await,
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
            print!("{}", key.config_entry()?);
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
