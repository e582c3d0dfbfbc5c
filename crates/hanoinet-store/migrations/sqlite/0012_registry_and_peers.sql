-- The signed registry a node serves, shared by every replica: a new one is installed only with a
-- higher serial (a registry cannot be rolled back, not even by restarting with an older file).
CREATE TABLE installed_registry (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    serial BIGINT NOT NULL,
    signed_file TEXT NOT NULL,
    installed_at BIGINT NOT NULL
);

-- Each peer's reachability as deliveries find it: failing_since is the first failure of the
-- current outage (NULL while the peer answers); alerted_at when its unreachable alert was raised.
CREATE TABLE peer_health (
    peer TEXT PRIMARY KEY,
    failing_since BIGINT,
    last_error TEXT,
    last_success BIGINT,
    alerted_at BIGINT
);
