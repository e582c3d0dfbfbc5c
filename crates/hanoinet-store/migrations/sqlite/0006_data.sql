-- Data given in answer to requests (Art. 36): each transfer carries its conditions; attachments
-- are stored in chunks with their SHA-256 and size. At the end of retention the receiving node
-- purges the content (results, chunks) and keeps the metadata and hashes.
CREATE TABLE data_transfers (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests (id),
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    conditions TEXT NOT NULL,
    results TEXT,
    retention_until TEXT NOT NULL,
    onward_transfer TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    purged_at BIGINT,
    forwarded_from TEXT
);
CREATE INDEX data_transfers_by_request ON data_transfers (request_id);
CREATE INDEX data_transfers_retention ON data_transfers (retention_until) WHERE purged_at IS NULL;

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    transfer_id TEXT,
    name TEXT NOT NULL,
    sha256 TEXT,
    size BIGINT NOT NULL DEFAULT 0,
    chunks BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_by_transfer ON attachments (transfer_id);

CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (attachment_id, idx)
);
