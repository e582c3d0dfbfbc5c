-- Clocks: the acknowledgement deadline of every incoming request (node policy) and when a missed
-- one was escalated; notifications to escalation contacts, delivered with retries like envelopes.
ALTER TABLE requests ADD COLUMN ack_due_at BIGINT;
ALTER TABLE requests ADD COLUMN escalated_at BIGINT;
CREATE INDEX requests_ack_due ON requests (ack_due_at)
    WHERE ack_due_at IS NOT NULL AND escalated_at IS NULL;

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE sent_at IS NULL;
