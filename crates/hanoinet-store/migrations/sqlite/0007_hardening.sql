-- Security hardening.

-- Received envelopes that carried data (a transfer or its chunks) name the transfer, so that
-- the purge at the end of retention can reduce them to header, hash and signature.
ALTER TABLE inbox ADD COLUMN transfer_id TEXT;
CREATE INDEX inbox_by_transfer ON inbox (transfer_id);

-- Each use of an onward-transfer authorization (Art. 36): at most its max_uses rows.
CREATE TABLE onward_uses (
    auth_sig TEXT NOT NULL,
    n BIGINT NOT NULL,
    transfer_id TEXT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (auth_sig, n)
);

-- Rejections of authenticated envelopes already written to the ledger, once each.
CREATE TABLE rejections_logged (
    signer TEXT NOT NULL,
    envelope_hash TEXT NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (signer, envelope_hash, error)
);

-- API tokens: expiry, revocation and last use.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN token_expires_at BIGINT;
ALTER TABLE users ADD COLUMN last_used_at BIGINT;

-- When a received chunk arrived, so that chunks whose transfer never comes are cleaned up.
ALTER TABLE attachment_chunks ADD COLUMN received_at BIGINT;
