-- The sandboxes a store holds (one per tenant; `default` is the one served at the root): each
-- created once, by the first instance that needs it.
CREATE TABLE sandbox (
    tenant        TEXT    PRIMARY KEY,
    seed          BYTEA    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    random_keys   BOOLEAN NOT NULL,
    fixtures      TEXT,
    head          BIGINT NOT NULL DEFAULT 0
);

-- Every change to a sandbox, in the order it was made: its state is the result of applying them.
CREATE TABLE log (
    tenant  TEXT    NOT NULL,
    seq     BIGINT  NOT NULL,
    at_ms   BIGINT NOT NULL,
    seed    BYTEA    NOT NULL,
    version TEXT    NOT NULL,
    command TEXT    NOT NULL,
    PRIMARY KEY (tenant, seq)
);

-- Which instance sends each webhook delivery attempt (the first to insert its key; keys start
-- with the tenant).
CREATE TABLE webhook_claims (
    send_key   TEXT    PRIMARY KEY,
    instance   TEXT    NOT NULL,
    claimed_ms BIGINT NOT NULL
);

-- Idempotency keys: one answer per key, whichever instance is asked (scopes start with the tenant). created_ms is on the
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
