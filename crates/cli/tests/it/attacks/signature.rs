//! Attacks on one field one line, plain covered components, the digest the signature covers, the authority, strict bodies, response signing.
