-- Delivery: who receives what, every attempt, retries and dead letters, and the webhook
-- endpoints organisations register.

-- This database's own name, drawn once: webhook ids and mail Message-IDs carry it, so a
-- receiver de-duplicating by them never mistakes a delivery of another database for one
-- it has seen.
CREATE TABLE store_identity (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL
);
INSERT INTO store_identity (id, name) VALUES (1, lower(hex(randomblob(6))));

-- Delivery batches may now go to the vendor (its webhook endpoints), and say which entries
-- are settled. SQLite cannot change a CHECK in place, so the table is made again.
CREATE TABLE delivery_batches_new (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages (seq),
    recipient   TEXT NOT NULL CHECK (recipient IN ('customer', 'partner', 'vendor')),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    deliveries  INTEGER NOT NULL CHECK (deliveries BETWEEN 1 AND 1024),
    body        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'settled')),
    due_at      INTEGER NOT NULL,
    lease_until INTEGER
);
INSERT INTO delivery_batches_new (id, message, recipient, channel, deliveries, body, status, due_at, lease_until)
SELECT id, message, recipient, channel, deliveries, body, status, due_at, lease_until FROM delivery_batches;
DROP TABLE delivery_batches;
ALTER TABLE delivery_batches_new RENAME TO delivery_batches;
CREATE INDEX delivery_batches_by_message ON delivery_batches (message);
-- The batches a worker may lease, soonest due first.
CREATE INDEX delivery_batches_due ON delivery_batches (due_at) WHERE status = 'pending';

-- Every attempt at a delivery (delivery `n` of batch `b` is `b * 1024 + n`): when, how
-- long it took, how it ended, the HTTP status or SMTP reply code and text, and the error.
-- `outcome` is `delivered`, `failed` (to be tried again), `gone` (the receiver answered
-- 410: its endpoint is disabled) or `refused` (it cannot succeed: an address Herald will
-- not send to, a permanent SMTP refusal).
CREATE TABLE delivery_attempts (
    delivery   INTEGER NOT NULL,
    attempt    INTEGER NOT NULL CHECK (attempt >= 1),
    at         INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gone', 'refused')),
    code       INTEGER,
    reply      TEXT,
    error      TEXT,
    PRIMARY KEY (delivery, attempt)
) WITHOUT ROWID;

-- The deliveries that did not succeed at their first attempt, one row each, leased one at
-- a time: `retrying` until `due_at`, then `delivered` or, once the schedule is spent,
-- `dead` (a person may replay it). A batch is settled once every entry either succeeded
-- or has a row here.
CREATE TABLE delivery_retries (
    delivery    INTEGER PRIMARY KEY,
    batch       INTEGER NOT NULL REFERENCES delivery_batches (id),
    status      TEXT NOT NULL CHECK (status IN ('retrying', 'delivered', 'dead')),
    attempts    INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    lease_until INTEGER,
    last_error  TEXT
);
CREATE INDEX delivery_retries_due ON delivery_retries (due_at) WHERE status = 'retrying';
CREATE INDEX delivery_retries_by_batch ON delivery_retries (batch);

-- Webhook endpoints: where an organisation wants its copies POSTed. The vendor's
-- (`owner` NULL) act in one cloud; a partner's or customer's in its cloud. `categories` is
-- a JSON array of the categories sent, NULL for all; `mode` says whether a partner gets
-- one event per message listing its customers (`aggregated`) or one per customer.
CREATE TABLE endpoints (
    id              TEXT PRIMARY KEY,
    cloud           TEXT NOT NULL,
    owner_kind      TEXT NOT NULL CHECK (owner_kind IN ('vendor', 'partner', 'customer')),
    owner           TEXT,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    categories      TEXT,
    mode            TEXT NOT NULL CHECK (mode IN ('aggregated', 'per_customer')),
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT,
    CHECK ((owner_kind = 'vendor') = (owner IS NULL))
) WITHOUT ROWID;
CREATE INDEX endpoints_by_owner ON endpoints (cloud, owner_kind, owner);
-- The endpoints a publish sends to: a cloud's enabled ones.
CREATE INDEX endpoints_enabled ON endpoints (cloud) WHERE disabled_at IS NULL;

-- An endpoint's signing secrets (`whsec_…`). Signing needs the secret itself, so it is
-- kept. The newest signs alone until it is rotated; then the old one goes on signing
-- beside the new one until `expires_at`.
CREATE TABLE endpoint_secrets (
    id         INTEGER PRIMARY KEY,
    endpoint   TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    secret     TEXT NOT NULL,
    expires_at INTEGER
);
CREATE INDEX endpoint_secrets_by_endpoint ON endpoint_secrets (endpoint, id);
