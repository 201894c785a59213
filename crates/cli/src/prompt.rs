//! Asking a person for credentials: on the terminal only, password unechoed.
//! Passwords never come from the command line (SPEC §5).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context as _, bail};
use slipgate_client::{Credentials, ExposeSecret as _, Password};

/// Whether stdin and stderr are a terminal a person can answer on.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Prompts for a username (unless given) and a password.
pub fn credentials(username: Option<&str>) -> anyhow::Result<Credentials> {
    let username = match username {
        Some(u) => u.to_owned(),
        None => {
            eprint!("Username: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_owned()
        }
    };
    if username.is_empty() {
        bail!("no username given");
    }
    let password = rpassword::prompt_password(format!("Password for {username}: "))
        .context("cannot read the password")?;
    Ok(Credentials { username, password: Password::from(password) })
}

/// The first line of stdin, for `--password-stdin`.
pub fn password_from_stdin() -> anyhow::Result<Password> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("--password-stdin: stdin held no password");
    }
    Ok(Password::from(password))
}

/// A new password: from stdin, or typed twice on the terminal; either way
/// held to the identity server's one rule ([`slipgate_idp::check_password`]).
pub fn new_password(from_stdin: bool) -> anyhow::Result<slipgate_idp::Secret> {
    let password = if from_stdin {
        slipgate_idp::Secret::new(expose(password_from_stdin()?))
    } else {
        if !interactive() {
            bail!("no terminal to prompt on: pass --password-stdin");
        }
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the passwords differ");
        }
        slipgate_idp::Secret::new(first)
    };
    slipgate_idp::check_password(&password)?;
    Ok(password)
}

fn expose(password: Password) -> String {
    password.expose_secret().to_owned()
}
