-- ferrysync schema (SQLite). Every table is keyed by user id: users never see each other's rows.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Server settings, e.g. the generated token secret.
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The server-wide change sequence. Writers are serialized (one SQLite writer at a time), so
-- sequence numbers commit in order and a pull never skips one.
CREATE TABLE seq_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
INSERT INTO seq_counter (id, value) VALUES (1, 0);

-- The latest version of every record; `seq` is the sequence number of its latest write.
CREATE TABLE records (
    user_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    deleted BOOLEAN NOT NULL,
    hlc TEXT NOT NULL,
    device_id TEXT NOT NULL,
    run_base BIGINT NOT NULL,
    fields TEXT NOT NULL,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, collection, id)
);
CREATE UNIQUE INDEX records_by_seq ON records (user_id, seq);

-- Idempotency: the result of every processed changeId.
CREATE TABLE processed_changes (
    user_id TEXT NOT NULL,
    change_id TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (user_id, change_id)
);

-- The conflict log.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    record_id TEXT NOT NULL,
    strategy TEXT NOT NULL,
    winner TEXT NOT NULL,
    status TEXT NOT NULL,
    server_version BIGINT NOT NULL,
    server_data TEXT NOT NULL,
    client_change TEXT NOT NULL,
    resolution TEXT,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX conflicts_by_user ON conflicts (user_id, status, created_at);

CREATE TABLE devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_push BIGINT,
    last_pull BIGINT,
    last_cursor BIGINT,
    PRIMARY KEY (user_id, device_id)
);
