//! `slipgate idp`: serve the identity server, and administer its users and
//! clients directly in its database (SPEC §4).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use slipgate_idp::{ConfigLoader, EmployeeRecord, EmployeeUpdate, IdpConfig, Role, Secret};

use crate::prompt;

/// `slipgate idp …`.
#[derive(Debug, Subcommand)]
pub enum IdpCommand {
    /// Run the identity server (HTTPS only).
    ///
    /// Example: slipgate idp serve --config idp.toml
    Serve {
        /// The identity server's TOML configuration.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Override one key (repeatable).
        #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
}

/// The database to administer.
#[derive(Debug, Clone, clap::Args)]
pub struct Database {
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SLIPGATE_IDP__DATABASE", default_value = "sqlite://slipgate-idp.db")]
    database: String,
}

/// `slipgate idp user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is prompted for (or read with --password-stdin).
    ///
    /// Example: slipgate idp user add --username alice --emp-id 01234 --emp-code ENG
    /// --emp-name 'Alice Example' --emp-grade 7.1 --role employee
    Add {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        username: String,
        /// The employee id the user may see with `salaryslip:self`.
        #[arg(long)]
        emp_id: String,
        /// The employee's department code (a `salaryslip:self` request must repeat it).
        #[arg(long)]
        emp_code: Option<String>,
        /// The employee's name as on the slip (a `salaryslip:self` request must repeat it).
        #[arg(long)]
        emp_name: Option<String>,
        /// The employee's pay grade (a `salaryslip:self` request must repeat it).
        #[arg(long)]
        emp_grade: Option<String>,
        /// `employee` (salaryslip:self) or `payroll` (salaryslip:any); repeatable.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's employee record; members not given keep their value.
    ///
    /// Example: slipgate idp user update --username alice --emp-grade 8.1
    Update {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        username: String,
        #[arg(long)]
        emp_id: Option<String>,
        #[arg(long)]
        emp_code: Option<String>,
        #[arg(long)]
        emp_name: Option<String>,
        #[arg(long)]
        emp_grade: Option<String>,
    },
    /// List users (never their password hashes).
    List {
        #[command(flatten)]
        db: Database,
    },
    /// Disable a user: logins fail and its tokens introspect as inactive.
    Disable {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        username: String,
    },
    /// Set a new password.
    Passwd {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `slipgate idp client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a confidential client (e.g. the API, for introspection); its
    /// secret is shown once, or written to --secret-file (mode 0600).
    ///
    /// Example: slipgate idp client add --client-id slipgate-api --secret-file api.secret
    Add {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        client_id: String,
        /// A human-readable name.
        #[arg(long, default_value = "")]
        name: String,
        /// Write the secret here instead of printing it.
        #[arg(long, value_name = "FILE")]
        secret_file: Option<PathBuf>,
    },
    /// List registered clients (never their secrets).
    List {
        #[command(flatten)]
        db: Database,
    },
}

pub async fn run(command: IdpCommand) -> anyhow::Result<()> {
    match command {
        IdpCommand::Serve { config, overrides } => serve(config, overrides).await,
        IdpCommand::User(c) => user(c).await,
        IdpCommand::Client(c) => client(c).await,
    }
}

async fn serve(path: PathBuf, overrides: Vec<String>) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new().file(&path)?.env()?;
    for o in &overrides {
        loader = loader.set_override(o)?;
    }
    let config: IdpConfig = loader.load().with_context(|| format!("in {}", path.display()))?;
    crate::logging::init(config.log.format);
    let listener = slipgate_idp::bind(&config).await?;
    slipgate_idp::run(config, listener, crate::shutdown_signal()).await?;
    Ok(())
}

async fn open(db: &Database) -> anyhow::Result<std::sync::Arc<dyn slipgate_idp::Store>> {
    slipgate_idp::open_store(&db.database).await.context("cannot open the identity database")
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { db, username, emp_id, emp_code, emp_name, emp_grade, roles, password_stdin } => {
            let roles = roles
                .iter()
                .map(|r| {
                    r.parse::<Role>()
                        .map_err(|_| anyhow::anyhow!("unknown role `{r}`: use employee or payroll"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let record = EmployeeRecord { emp_id, emp_code, emp_name, emp_grade };
            let password = Secret::new(prompt::new_password(password_stdin)?);
            slipgate_idp::user_add(open(&db).await?.as_ref(), &username, &password, &record, &roles).await?;
            eprintln!("added user {username}");
            if !record.is_complete() {
                eprintln!(
                    "note: {username}'s employee record lacks --emp-code, --emp-name or --emp-grade; \
                     the API refuses their salaryslip:self requests (403 forbidden) until \
                     `slipgate idp user update` completes it"
                );
            }
        }
        UserCommand::Update { db, username, emp_id, emp_code, emp_name, emp_grade } => {
            let update = EmployeeUpdate { emp_id, emp_code, emp_name, emp_grade };
            slipgate_idp::user_update(open(&db).await?.as_ref(), &username, &update).await?;
            eprintln!("updated {username}'s employee record; tokens issued before carry the old one");
        }
        UserCommand::List { db } => {
            println!(
                "{:<24} {:<12} {:<10} {:<24} {:<8} {:<20} STATUS",
                "USERNAME", "EMP_ID", "EMP_CODE", "EMP_NAME", "GRADE", "ROLES"
            );
            for u in slipgate_idp::user_list(open(&db).await?.as_ref()).await? {
                let roles = u.roles.join(",");
                let status = if u.disabled { "disabled" } else { "active" };
                let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                println!(
                    "{:<24} {:<12} {:<10} {:<24} {:<8} {:<20} {status}",
                    u.username,
                    u.emp_id,
                    or_dash(&u.emp_code),
                    or_dash(&u.emp_name),
                    or_dash(&u.emp_grade),
                    roles
                );
            }
        }
        UserCommand::Disable { db, username } => {
            slipgate_idp::user_disable(open(&db).await?.as_ref(), &username).await?;
            eprintln!("disabled {username}");
        }
        UserCommand::Passwd { db, username, password_stdin } => {
            let password = Secret::new(prompt::new_password(password_stdin)?);
            slipgate_idp::user_passwd(open(&db).await?.as_ref(), &username, &password).await?;
            eprintln!("password of {username} changed");
        }
    }
    Ok(())
}

async fn client(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add { db, client_id, name, secret_file } => {
            let name = if name.is_empty() { client_id.clone() } else { name };
            let secret = slipgate_idp::client_add(open(&db).await?.as_ref(), &client_id, &name).await?;
            match secret_file {
                Some(file) => {
                    if file.exists() {
                        bail!("{} exists; refusing to overwrite a secret", file.display());
                    }
                    slipgate_proto::files::write_atomic(
                        &file,
                        format!("{}\n", secret.expose()).as_bytes(),
                        true,
                    )?;
                    eprintln!("registered {client_id}; secret written to {}", file.display());
                }
                None => {
                    eprintln!("registered {client_id}; its secret follows and is not shown again:");
                    println!("{}", secret.expose());
                }
            }
        }
        ClientCommand::List { db } => {
            println!("{:<24} {:<32} SCOPES", "CLIENT_ID", "NAME");
            for c in slipgate_idp::client_list(open(&db).await?.as_ref()).await? {
                println!("{:<24} {:<32} {}", c.client_id, c.name, c.scopes.join(" "));
            }
        }
    }
    Ok(())
}
