-- The directory: one row per record, its body in the world format.
CREATE TABLE products (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE partners (
    id    TEXT PRIMARY KEY,
    cloud TEXT NOT NULL,
    body  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE customers (
    id    TEXT PRIMARY KEY,
    cloud TEXT NOT NULL,
    body  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE subscriptions (
    id       TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    body     TEXT NOT NULL
) WITHOUT ROWID;

-- Which directory is stored: every import counts one up, so a publish routed against an
-- older directory is refused rather than stored against a newer one.
CREATE TABLE directory_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO directory_state (id, generation) VALUES (1, 0);

-- Accepted messages. `request` is the message as published, to recognise a repeat.
CREATE TABLE messages (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    cloud              TEXT NOT NULL,
    category           TEXT NOT NULL,
    policy_version     TEXT NOT NULL,
    request            TEXT NOT NULL,
    accepted_at        INTEGER NOT NULL,
    customers_in_scope INTEGER NOT NULL,
    customers_direct   INTEGER NOT NULL,
    partners_told      INTEGER NOT NULL,
    deliveries         INTEGER NOT NULL
);

-- One decision per in-scope customer, with the rules that made it.
CREATE TABLE decisions (
    message       INTEGER NOT NULL REFERENCES messages (seq),
    customer      TEXT NOT NULL,
    direct        INTEGER NOT NULL,
    partners      TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    copy          TEXT,
    scope_rule    TEXT NOT NULL,
    customer_rule TEXT NOT NULL,
    partners_rule TEXT NOT NULL,
    PRIMARY KEY (message, customer)
) WITHOUT ROWID;

-- One copy per partner told: only its own customers and subscriptions.
CREATE TABLE partner_copies (
    message       INTEGER NOT NULL REFERENCES messages (seq),
    partner       TEXT NOT NULL,
    customers     TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    PRIMARY KEY (message, partner)
) WITHOUT ROWID;

-- One delivery per reader and channel; workers lease the pending ones.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages (seq),
    recipient   TEXT NOT NULL CHECK (recipient IN ('customer', 'partner')),
    org         TEXT NOT NULL,
    contact     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    address     TEXT NOT NULL,
    locale      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    lease_until INTEGER
);

CREATE INDEX deliveries_by_message ON deliveries (message);
