-- Addresses each user logged in from successfully (SPEC §4 brute force): past
-- idp.login_max_failures_global failures, only these may still try. `ip` is the throttle's key
-- (IPv4 as is, IPv6 as its /64); rows older than 30 days are deleted at the user's next login.
CREATE TABLE IF NOT EXISTS idp_login_ips (
    username     TEXT NOT NULL,
    ip           TEXT NOT NULL,
    last_success BIGINT NOT NULL,
    PRIMARY KEY (username, ip)
);
