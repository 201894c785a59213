//! Attacks on the identity server: its files and keys, forged tokens, sessions after a password change, client authentication.
