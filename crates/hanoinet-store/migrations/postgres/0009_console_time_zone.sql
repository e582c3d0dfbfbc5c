-- The console user's time zone (an IANA name); times are stored in UTC and shown in it.
ALTER TABLE console_credentials ADD COLUMN time_zone TEXT;

-- The last tree head this auditor verified from the console (JSON): the next verification must
-- be consistent with it, like `hanoinet ledger verify`'s state file.
ALTER TABLE console_credentials ADD COLUMN verified_head TEXT;
