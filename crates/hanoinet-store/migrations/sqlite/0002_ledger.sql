-- The tamper-evident log. Events append to ledger_queue in their own transaction; the integrator
-- moves queued entries into the tree (ledger_entries + ledger_nodes) in index order.
CREATE TABLE ledger_queue (
    seq INTEGER PRIMARY KEY,
    entry BLOB NOT NULL
);

CREATE TABLE ledger_entries (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL
);

-- Hashes of complete, aligned subtrees; id = level << 56 | index. INTEGER PRIMARY KEY makes the
-- id the rowid in SQLite: one B-tree, clustered by (level, index).
CREATE TABLE ledger_nodes (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

CREATE TABLE ledger_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

-- Signed tree heads this node issued (JSON).
CREATE TABLE ledger_heads (
    tree_size BIGINT PRIMARY KEY,
    head TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Signed tree heads seen from peers; checked = 1 once consistent with the peer's earlier heads.
CREATE TABLE peer_heads (
    peer TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    root_hash BLOB NOT NULL,
    head TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    checked BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (peer, tree_size, root_hash)
);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
