-- The indicator lookup (banks, telcos, browsers, citizens): every change to what lookup serves
-- takes the next version of one counter, in the transaction of the change. A writer waits on the
-- counter's row until the one before it commits, so versions follow commit order and a serving
-- process that has applied every change up to version V never misses a later one.
CREATE TABLE lookup_counter (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO lookup_counter (id, version) VALUES (1, 0);

-- The version of an indicator's last change that lookup sees (0: never served).
ALTER TABLE indicators ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX indicators_by_version ON indicators (version);

-- Indicators confirmed before this migration: served from version 1.
UPDATE lookup_counter SET version = 1 WHERE EXISTS (SELECT 1 FROM indicators WHERE status = 'confirmed');
UPDATE indicators SET version = 1 WHERE status = 'confirmed';
