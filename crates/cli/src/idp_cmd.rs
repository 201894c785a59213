//! `slipgate idp`: serve the identity server, and administer its users,
//! clients, sessions and signing key directly in its database and key file
//! (SPEC §4). Administrative commands never create a database: they need
//! `--config` or `--database` naming an existing one (SPEC §6).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use slipgate_idp::config::DatabaseUrl;
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
    /// List and end users' login sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage the token-signing key.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// The database to administer: an existing one, named by the identity
/// server's configuration or directly.
#[derive(Debug, Clone, clap::Args)]
pub struct Database {
    /// The identity server's TOML configuration (its `idp.database`,
    /// `idp.database_file` and `idp.signing_key_file` are used).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `sqlite://FILE` or `postgres://USER@HOST/DB` (wins over --config's).
    #[arg(long, env = "SLIPGATE_IDP__DATABASE")]
    database: Option<String>,
}

/// `slipgate idp session …`.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List a user's live sessions: id, created, last used, expiry, client, bound key.
    ///
    /// Example: slipgate idp session list --config idp.toml --user carol
    List {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        user: String,
    },
    /// End one session of a user (--id) or all of them (--all); its access
    /// tokens introspect as inactive at once and its refresh token is refused.
    ///
    /// Example: slipgate idp session revoke --config idp.toml --user carol --all
    Revoke {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        user: String,
        /// The session id, as `session list` shows it.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every session of the user.
        #[arg(long)]
        all: bool,
    },
}

/// `slipgate idp keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Replace the token-signing key with a new one (new `kid`); the old public
    /// key stays in the JWKS until every token it signed has expired. Running
    /// servers pick the new key up within a few seconds.
    ///
    /// Example: slipgate idp keys rotate --config idp.toml
    Rotate {
        #[command(flatten)]
        db: Database,
        /// The key file (default: idp.signing_key_file, else signing-key.pem beside the SQLite file).
        #[arg(long, value_name = "FILE")]
        signing_key_file: Option<PathBuf>,
    },
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
    /// Enable a disabled user again (it logs in afresh: ended sessions stay ended).
    ///
    /// Example: slipgate idp user enable --config idp.toml --username bob
    Enable {
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
    /// secret is shown once, or written to --secret-file (mode 0600). With
    /// --public, a browser client without a secret for the authorization-code
    /// flow, with the redirect URIs it may use (matched exactly).
    ///
    /// Example: slipgate idp client add --client-id slipgate-api --secret-file api.secret
    /// Example: slipgate idp client add --public --client-id my-console --redirect-uri `https://api.example/console/callback`
    /// Example: slipgate idp client add --client-id payroll-batch --scope salaryslip:any --secret-file batch.secret
    #[command(verbatim_doc_comment)]
    Add {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        client_id: String,
        /// A human-readable name.
        #[arg(long, default_value = "")]
        name: String,
        /// Write the secret here (created 0600; an existing file is refused
        /// before anything is registered) instead of printing it.
        #[arg(long, value_name = "FILE", conflicts_with = "public")]
        secret_file: Option<PathBuf>,
        /// A public client (no secret), for the authorization-code flow; needs --redirect-uri.
        #[arg(long, requires = "redirect_uri")]
        public: bool,
        /// A redirect URI of the public client (repeatable), https:// or http://localhost.
        #[arg(long = "redirect-uri", value_name = "URI", requires = "public")]
        redirect_uri: Vec<String>,
        /// A scope it may obtain with `client_credentials` (repeatable):
        /// `salaryslip:any` for a service that generates slips, e.g. a payroll
        /// batch signing with a registry key. None: introspection and revocation only.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// Remove a client: its secret stops working, its client-credentials
    /// tokens introspect as inactive, and its sessions end.
    ///
    /// Example: slipgate idp client remove --config idp.toml --client-id old-batch
    Remove {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        client_id: String,
    },
    /// Give a confidential client a new secret (the old one stops working at
    /// once); shown once, or written to --secret-file (a new file, mode 0600).
    ///
    /// Example: slipgate idp client rotate-secret --config idp.toml --client-id slipgate-api --secret-file api.secret.new
    RotateSecret {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        client_id: String,
        /// Write the new secret here instead of printing it (must not exist).
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
        IdpCommand::Session(c) => session(c).await,
        IdpCommand::Keys(c) => keys(c).await,
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

/// The configuration the administrative commands act on: the file (not
/// checked for the server-only keys such as TLS), then `--database`.
fn admin_config(db: &Database) -> anyhow::Result<IdpConfig> {
    let mut config = match &db.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<IdpConfig>(&text).with_context(|| format!("in {}", path.display()))?
        }
        None if db.database.is_none() => bail!(
            "name the identity database with --config FILE or --database URL \
             (administrative commands never create one)"
        ),
        None => IdpConfig::default(),
    };
    if let Some(url) = &db.database {
        config.idp.database = DatabaseUrl(url.clone());
        config.idp.database_file = None;
    }
    Ok(config)
}

async fn open(db: &Database) -> anyhow::Result<std::sync::Arc<dyn slipgate_idp::Store>> {
    let url = admin_config(db)?.database_url()?;
    slipgate_idp::open_existing_store(url.expose()).await.context("cannot open the identity database")
}

fn now() -> i64 {
    slipgate_proto::clock::Clock::unix_seconds(&slipgate_proto::clock::SystemClock)
}

/// Unix seconds as RFC 3339 UTC, to the second.
fn timestamp(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

async fn session(command: SessionCommand) -> anyhow::Result<()> {
    match command {
        SessionCommand::List { db, user } => {
            let sessions =
                slipgate_idp::sessions::session_list(open(&db).await?.as_ref(), &user, now()).await?;
            println!(
                "{:<24} {:<21} {:<21} {:<21} {:<20} KEY_THUMBPRINT",
                "SESSION", "CREATED", "LAST_USED", "EXPIRES", "CLIENT"
            );
            for s in &sessions {
                println!(
                    "{:<24} {:<21} {:<21} {:<21} {:<20} {}",
                    s.session_id,
                    timestamp(s.created_at),
                    timestamp(s.last_used_at),
                    timestamp(s.expires_at),
                    s.client_id,
                    s.key_thumbprint.as_deref().unwrap_or("-")
                );
            }
            eprintln!("{} live session(s) of {user}", sessions.len());
        }
        SessionCommand::Revoke { db, user, id, all } => {
            let store = open(&db).await?;
            match id {
                Some(id) if !all => {
                    slipgate_idp::sessions::session_revoke(store.as_ref(), &user, &id).await?;
                    eprintln!("ended session {id} of {user}");
                }
                _ => {
                    let n = slipgate_idp::sessions::session_revoke_all(store.as_ref(), &user).await?;
                    eprintln!("ended {n} session(s) of {user}");
                }
            }
        }
    }
    Ok(())
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { db, signing_key_file } => {
            let mut config = admin_config(&db)?;
            if signing_key_file.is_some() {
                config.idp.signing_key_file = signing_key_file;
            }
            let path = config.signing_key_path()?;
            let store = open(&db).await?;
            let rotation = slipgate_idp::keys::rotate(store.as_ref(), &path, now()).await?;
            eprintln!(
                "new signing key {} in {}; the old key {} stays published until its tokens expire \
                 (access_token_ttl); running servers switch within {} s",
                rotation.new_kid,
                path.display(),
                rotation.old_kid,
                slipgate_idp::keys::RELOAD_SECS
            );
        }
    }
    Ok(())
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
            let password = prompt::new_password(password_stdin)?;
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
            eprintln!("disabled {username}; all of its sessions are ended");
        }
        UserCommand::Enable { db, username } => {
            slipgate_idp::user_enable(open(&db).await?.as_ref(), &username).await?;
            eprintln!("enabled {username}; it may log in again");
        }
        UserCommand::Passwd { db, username, password_stdin } => {
            let password = prompt::new_password(password_stdin)?;
            slipgate_idp::user_passwd(open(&db).await?.as_ref(), &username, &password).await?;
            eprintln!("password of {username} changed; all of its sessions are ended");
        }
    }
    Ok(())
}

async fn client(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add { db, client_id, name, public: true, redirect_uri, .. } => {
            let name = if name.is_empty() { client_id.clone() } else { name };
            slipgate_idp::client_add_public(open(&db).await?.as_ref(), &client_id, &name, &redirect_uri)
                .await?;
            eprintln!("registered public client {client_id} with {} redirect URI(s)", redirect_uri.len());
        }
        ClientCommand::Add { db, client_id, name, secret_file, scopes, .. } => {
            let name = if name.is_empty() { client_id.clone() } else { name };
            let store = open(&db).await?;
            // The file is claimed before the client exists, so an existing file
            // (or a missing directory) stops the command with nothing registered.
            let (reserved, secret) = SecretFile::reserve_for(
                secret_file.as_deref(),
                slipgate_idp::admin::client_add_with_scopes(store.as_ref(), &client_id, &name, &scopes),
            )
            .await?;
            match reserved {
                Some(file) => {
                    let path = file.path.clone();
                    if let Err(e) = file.fill(&secret) {
                        // No lost secret: undo the registration.
                        slipgate_idp::client_remove(store.as_ref(), &client_id).await?;
                        return Err(e.context(format!("{client_id} was not registered")));
                    }
                    eprintln!("registered {client_id}; secret written to {}", path.display());
                }
                None => {
                    eprintln!("registered {client_id}; its secret follows and is not shown again:");
                    println!("{}", secret.expose());
                }
            }
        }
        ClientCommand::Remove { db, client_id } => {
            slipgate_idp::client_remove(open(&db).await?.as_ref(), &client_id).await?;
            eprintln!("removed {client_id}; its secret, tokens and sessions no longer work");
        }
        ClientCommand::RotateSecret { db, client_id, secret_file } => {
            let store = open(&db).await?;
            let (reserved, secret) = SecretFile::reserve_for(
                secret_file.as_deref(),
                slipgate_idp::client_rotate_secret(store.as_ref(), &client_id),
            )
            .await?;
            match reserved {
                Some(file) => {
                    let path = file.path.clone();
                    if let Err(e) = file.fill(&secret) {
                        // The old secret is already void: hand the new one over here.
                        eprintln!(
                            "error: {e:#}; the new secret of {client_id} follows and is not shown again:"
                        );
                        println!("{}", secret.expose());
                        bail!("the new secret could not be written to {}", path.display());
                    }
                    eprintln!(
                        "new secret of {client_id} written to {}; the old one no longer works",
                        path.display()
                    );
                }
                None => {
                    eprintln!(
                        "new secret of {client_id} follows and is not shown again; the old one no longer works:"
                    );
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

/// A secret file claimed before the secret exists: created empty with mode
/// 0600 and `O_EXCL`, so an existing file is never overwritten, then filled.
struct SecretFile {
    path: PathBuf,
    file: std::fs::File,
}

impl SecretFile {
    /// Claims `path` (when given) before `make` runs, so an existing file or a missing
    /// directory stops the command with nothing changed; the claim is dropped when `make` fails.
    async fn reserve_for<E: Into<anyhow::Error>>(
        path: Option<&std::path::Path>,
        make: impl std::future::Future<Output = Result<Secret, E>>,
    ) -> anyhow::Result<(Option<SecretFile>, Secret)> {
        let reserved = path.map(SecretFile::reserve).transpose()?;
        match make.await {
            Ok(secret) => Ok((reserved, secret)),
            Err(e) => {
                if let Some(file) = reserved {
                    file.abandon();
                }
                Err(e.into())
            }
        }
    }

    fn reserve(path: &std::path::Path) -> anyhow::Result<SecretFile> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(file) => Ok(SecretFile { path: path.to_owned(), file }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("{} exists; refusing to overwrite a secret (nothing was changed)", path.display())
            }
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("cannot create {} (nothing was changed)", path.display()))),
        }
    }

    fn fill(mut self, secret: &Secret) -> anyhow::Result<()> {
        use std::io::Write as _;
        let written = self
            .file
            .write_all(format!("{}\n", secret.expose()).as_bytes())
            .and_then(|()| self.file.sync_all());
        if let Err(e) = written {
            self.abandon();
            return Err(anyhow::Error::new(e).context("cannot write the secret file"));
        }
        Ok(())
    }

    /// Removes the (still empty or partial) file.
    fn abandon(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}
