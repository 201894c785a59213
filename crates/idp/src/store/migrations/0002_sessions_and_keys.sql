-- Sessions and retired signing keys (issue 13), valid for SQLite and PostgreSQL
-- and idempotent (CREATE … IF NOT EXISTS, ON CONFLICT DO NOTHING).
--
-- A session is one login: its refresh tokens form one rotation family, and its
-- access tokens carry its id as `sid`. A user token is active only while its
-- session row is live, so an unknown `sid` is never "not revoked".
CREATE TABLE IF NOT EXISTS idp_sessions (
    session_id     TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked        BIGINT NOT NULL DEFAULT 0,
    key_thumbprint TEXT
);
CREATE INDEX IF NOT EXISTS idp_sessions_user ON idp_sessions (username);
CREATE INDEX IF NOT EXISTS idp_sessions_expiry ON idp_sessions (expires_at);
CREATE INDEX IF NOT EXISTS idp_refresh_tokens_user ON idp_refresh_tokens (username);
-- Sessions begun before this version: one per refresh family, as it stands.
INSERT INTO idp_sessions (session_id, username, client_id, created_at, last_used_at, expires_at, revoked)
SELECT family_id, MIN(username), MIN(client_id), MIN(issued_at), MAX(issued_at), MAX(expires_at), MAX(revoked)
FROM idp_refresh_tokens WHERE TRUE GROUP BY family_id
ON CONFLICT (session_id) DO NOTHING;
-- Public halves of rotated-out signing keys, published until their last token
-- has expired. The private keys live in `idp.signing_key_file`, never here;
-- keys found in idp_signing_keys are moved there at start and deleted.
CREATE TABLE IF NOT EXISTS idp_retired_keys (
    kid        TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    retired_at BIGINT NOT NULL
);
