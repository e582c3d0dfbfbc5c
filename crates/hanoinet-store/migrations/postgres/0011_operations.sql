-- Who holds a lease: a serving process releases its own at start (a SQLite database has one
-- serving process, so it releases all of them), instead of waiting for them to run out.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;

-- Idempotency-Key of the API's creating POSTs, per user, for 24 hours. A row is reserved before
-- the call runs (response NULL, reserved_until set); the answer is stored when it is known.
-- request_id is set in the transaction that creates a request, so that a crash between the
-- creation and the storing of the answer still answers a retry with that request.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    reserved_until BIGINT NOT NULL,
    status INTEGER,
    response TEXT,
    request_id TEXT,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Filtered, paginated lists of requests (newest first within each filter).
CREATE INDEX requests_by_status ON requests (status, created_at);
CREATE INDEX requests_by_type ON requests (request_type, created_at);
CREATE INDEX requests_by_to ON requests (to_node, created_at);
CREATE INDEX requests_by_from ON requests (from_node, created_at);
CREATE INDEX requests_by_urgency ON requests (urgency, created_at);

-- A peer that answers again gets its backlog at once; a failing peer is probed with its
-- earliest envelope.
CREATE INDEX outbox_by_peer ON outbox (peer, next_attempt_at) WHERE delivered_at IS NULL;
