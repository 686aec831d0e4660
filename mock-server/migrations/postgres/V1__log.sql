-- The sandbox a store holds: created once, by the first instance to start on the store.
CREATE TABLE sandbox (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seed          BYTEA    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    random_keys   BOOLEAN NOT NULL,
    fixtures      TEXT,
    head          BIGINT NOT NULL DEFAULT 0
);

-- Every change to the sandbox, in the order it was made: the state is the result of applying them.
CREATE TABLE log (
    seq     BIGINT PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    seed    BYTEA    NOT NULL,
    version TEXT    NOT NULL,
    command TEXT    NOT NULL
);

-- Which instance sends each webhook delivery attempt (the first to insert its key).
CREATE TABLE webhook_claims (
    send_key   TEXT    PRIMARY KEY,
    instance   TEXT    NOT NULL,
    claimed_ms BIGINT NOT NULL
);

-- Idempotency keys: one answer per key, whichever instance is asked. created_ms is on the
-- server's (virtual) clock, as retention is; claimed_real_ms in real time, to find abandoned claims.
CREATE TABLE idempotency (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_ms  BIGINT NOT NULL,
    claimed_real_ms BIGINT NOT NULL,
    answer      BYTEA,
    PRIMARY KEY (scope, key)
);
