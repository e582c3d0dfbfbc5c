-- The lifecycle: `seq` is the length of a request's history, the compare-and-swap token of every
-- status change (so concurrent changes, also from replicas, cannot interleave); events say which
-- side made them and carry their details (grounds, conditions, notes) as JSON.
ALTER TABLE requests ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE requests SET seq = (SELECT COUNT(*) FROM request_events e WHERE e.request_id = requests.id);
ALTER TABLE request_events ADD COLUMN by_side TEXT;
ALTER TABLE request_events ADD COLUMN details TEXT;

-- Messages about a request that are not status changes: status enquiries and their answers,
-- declined proposals.
CREATE TABLE request_messages (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests (id),
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    at BIGINT NOT NULL,
    in_reply_to TEXT
);
CREATE INDEX request_messages_by_request ON request_messages (request_id, at);
