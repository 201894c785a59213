-- Authorization codes (SPEC §4, RFC 6749 §4.1 with RFC 7636) and the redirect URIs of public
-- clients. A code is stored only as its SHA-256 (base64url), lives 60 s, and is spent by one
-- conditional update; `session_id` names the session its exchange started, so a second
-- presentation can revoke what the first issued. A redirect URI is compared byte for byte.
CREATE TABLE IF NOT EXISTS idp_client_redirect_uris (
    client_id    TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    PRIMARY KEY (client_id, redirect_uri)
);
CREATE TABLE IF NOT EXISTS idp_authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    username       TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used           BIGINT NOT NULL DEFAULT 0,
    session_id     TEXT
);
CREATE INDEX IF NOT EXISTS idp_authorization_codes_expiry ON idp_authorization_codes (expires_at);
