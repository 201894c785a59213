-- Identity-server schema, valid for both SQLite and PostgreSQL.
-- Times are unix seconds; flags are 0/1; hashes are base64url SHA-256.
CREATE TABLE IF NOT EXISTS idp_users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    emp_id        TEXT NOT NULL,
    roles         TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_clients (
    client_id   TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    parent_hash TEXT,
    username    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used        BIGINT NOT NULL DEFAULT 0,
    revoked     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idp_refresh_tokens_family ON idp_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS idp_refresh_tokens_expiry ON idp_refresh_tokens (expires_at);
CREATE TABLE IF NOT EXISTS idp_revoked_jti (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS idp_signing_keys (
    kid        TEXT PRIMARY KEY,
    pkcs8      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
