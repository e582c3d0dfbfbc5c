-- The console user's time zone (an IANA name); times are stored in UTC and shown in it.
ALTER TABLE console_credentials ADD COLUMN time_zone TEXT;
