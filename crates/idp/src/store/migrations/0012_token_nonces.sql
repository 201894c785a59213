-- Nonces of signed token requests (SPEC §4, draft-richer-oauth-httpsig-03 §2.3): each
-- (RFC 7638 thumbprint of the request's key, nonce) is accepted once on every instance that
-- shares the database. A row is written only after the signature and the credentials were
-- checked, and is kept until `created + 60 s`, after which the request is stale anyway; expired
-- rows are deleted when a nonce is recorded and by the periodic purge.
CREATE TABLE IF NOT EXISTS idp_token_nonces (
    thumbprint TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (thumbprint, nonce)
);
CREATE INDEX IF NOT EXISTS idp_token_nonces_expiry ON idp_token_nonces (expires_at);
