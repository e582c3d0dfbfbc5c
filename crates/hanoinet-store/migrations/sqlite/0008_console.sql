-- The web console: each user's sign-in credentials and the sessions they open.

-- Password (an Argon2id PHC string) and TOTP secret (RFC 6238; raw bytes). last_totp_step is the
-- time step of the last code accepted, so that a code is accepted once. failed_attempts counts
-- failures since the last success; locked_until is when the next attempt may be made.
CREATE TABLE console_credentials (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    password_hash TEXT NOT NULL,
    totp_secret BLOB NOT NULL,
    last_totp_step BIGINT NOT NULL DEFAULT 0,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    language TEXT,
    updated_at BIGINT NOT NULL
);

-- A session is known by the SHA-256 of its cookie, never by the cookie itself.
CREATE TABLE console_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
