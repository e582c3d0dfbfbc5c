-- The national response centre: citizens' reports, the indicators they name (one row per
-- distinct canonical value, so that grouping reports by shared indicators costs what the values
-- cost, not what pairs of reports would), analysts' notes, screenshots and public warnings.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    -- The reference the reporter is given (and types back); unique.
    code TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the secret the reporter was given once; the secret itself is not kept.
    secret_sha256 TEXT NOT NULL,
    category TEXT NOT NULL,
    -- 1: child sexual abuse material; only the csam_analyst role opens it.
    restricted BIGINT NOT NULL,
    description TEXT NOT NULL,
    occurred_at BIGINT,
    loss_minor BIGINT,
    loss_currency TEXT,
    payment_method TEXT,
    -- Kept only with the reporter's consent.
    contact TEXT,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The cooperation request drafted from it: a report linked to a case outlives the retention.
    request_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- When an analyst first took it up (time to triage).
    triaged_at BIGINT,
    closed_at BIGINT
);
CREATE INDEX reports_queue ON reports (restricted, status, created_at);
CREATE INDEX reports_by_time ON reports (created_at);

CREATE TABLE indicators (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    canonical TEXT NOT NULL,
    -- 1 while every report naming it is restricted.
    restricted BIGINT NOT NULL,
    status TEXT NOT NULL,
    tlp TEXT,
    expires_at BIGINT,
    decided_by TEXT,
    decided_at BIGINT,
    reports BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX indicators_by_status ON indicators (status, reports);

CREATE TABLE report_indicators (
    report_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (report_id, hash)
);
CREATE INDEX report_indicators_by_hash ON report_indicators (hash, report_id);

CREATE TABLE report_notes (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX report_notes_by_report ON report_notes (report_id, created_at);

-- Screenshots, re-written without their metadata before they are stored.
CREATE TABLE report_files (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX report_files_by_report ON report_files (report_id);

-- Warnings analysts write for the public pages and feeds.
CREATE TABLE warnings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT,
    language TEXT NOT NULL,
    author_id TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    withdrawn_at BIGINT
);
CREATE INDEX warnings_by_time ON warnings (published_at);
