//! `slipgate`: the one binary. It parses arguments and configuration, sets up
//! logging, binds, and hands over to a library `run`.

mod dev;
mod logging;

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
