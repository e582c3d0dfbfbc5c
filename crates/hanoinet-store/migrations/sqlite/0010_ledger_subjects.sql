-- Which integrated ledger entries are about which request ("request:<id>"), so that a request's
-- page lists its entries with their inclusion proofs without reading the log. The integrator
-- fills it as it integrates; the entries integrated before this step (below subjects_from) are
-- indexed once at start-up, subjects_backfilled recording how far that got.
CREATE TABLE ledger_subjects (
    subject TEXT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (subject, idx)
);
ALTER TABLE ledger_state ADD COLUMN subjects_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_state ADD COLUMN subjects_backfilled BIGINT NOT NULL DEFAULT 0;
UPDATE ledger_state SET subjects_from = size;

-- The 24/7 inbox reads incoming requests awaiting acknowledgement by deadline.
CREATE INDEX requests_inbox ON requests (direction, status, ack_due_at);
