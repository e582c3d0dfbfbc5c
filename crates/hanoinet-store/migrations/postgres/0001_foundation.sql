-- Timestamps are integer microseconds since the Unix epoch; ids are UUID text.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    request_type TEXT NOT NULL,
    from_node TEXT NOT NULL,
    to_node TEXT NOT NULL,
    status TEXT NOT NULL,
    fields TEXT NOT NULL,
    envelope_id TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    preserved_until BIGINT,
    decision TEXT,
    decided_at BIGINT,
    receipt TEXT,
    response_receipt TEXT
);
CREATE INDEX requests_by_direction ON requests (direction, created_at);

CREATE TABLE request_events (
    request_id TEXT NOT NULL REFERENCES requests (id),
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT,
    PRIMARY KEY (request_id, seq)
);

CREATE TABLE outbox (
    envelope_id TEXT PRIMARY KEY,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    envelope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT,
    receipt TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

CREATE TABLE inbox (
    envelope_id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    envelope TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    receipt TEXT NOT NULL
);
