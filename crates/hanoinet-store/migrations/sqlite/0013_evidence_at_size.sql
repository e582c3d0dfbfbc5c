-- Evidence at real size. A transfer's chunks are queued as references (attachment, index) and
-- sealed when they are first sent, so that queueing a transfer of gigabytes holds neither its
-- sealed envelopes in memory nor a second copy of it on disk; once delivered, a chunk's envelope
-- is kept reduced (header, hash, signature). Bulk envelopes (bulk = 1) give way to everything
-- else a node sends.
ALTER TABLE outbox ADD COLUMN chunk_attachment TEXT;
ALTER TABLE outbox ADD COLUMN chunk_transfer TEXT;
ALTER TABLE outbox ADD COLUMN chunk_idx BIGINT;
ALTER TABLE outbox ADD COLUMN bulk BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_due_by_class ON outbox (bulk, next_attempt_at) WHERE delivered_at IS NULL;

-- Resumable uploads: the chunks received so far are staged under the upload's id, which becomes
-- the attachment's id when the last byte is in and the hash checks.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT,
    bytes_received BIGINT NOT NULL DEFAULT 0,
    chunks BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX uploads_by_request ON uploads (request_id);
