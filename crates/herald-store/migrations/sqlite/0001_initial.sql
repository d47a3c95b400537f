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

-- Accepted messages. `request` is the message as published, to recognise a repeat. A
-- message id is the publisher's idempotency key within its cloud: clouds never share one,
-- so no cloud can learn from an id what another cloud published.
CREATE TABLE messages (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT NOT NULL,
    cloud              TEXT NOT NULL,
    category           TEXT NOT NULL,
    policy_version     TEXT NOT NULL,
    scope_rule         TEXT NOT NULL,
    request            TEXT NOT NULL,
    accepted_at        INTEGER NOT NULL,
    customers_in_scope INTEGER NOT NULL,
    customers_direct   INTEGER NOT NULL,
    partners_told      INTEGER NOT NULL,
    deliveries         INTEGER NOT NULL,
    UNIQUE (cloud, id)
);

-- The decisions of up to 1,024 consecutive in-scope customers (in id order) per row, so a
-- million-customer incident is a thousand rows. `body` is a JSON array with one entry per
-- customer: [customer, direct, partners, subscriptions, copy, customer rule, partners rule],
-- where `copy` lists the subscriptions the customer's own copy names, or is null.
CREATE TABLE decision_batches (
    id             INTEGER PRIMARY KEY,
    message        INTEGER NOT NULL REFERENCES messages (seq),
    first_customer TEXT NOT NULL,
    customers      INTEGER NOT NULL CHECK (customers BETWEEN 1 AND 1024),
    body           TEXT NOT NULL,
    UNIQUE (message, first_customer)
);

-- One copy per partner told: only its own customers and subscriptions, as JSON arrays of
-- ids. A large incident gives a partner a long list, so the rows live in a rowid table
-- (long rows do not suit a table clustered on its key).
CREATE TABLE partner_copies (
    id            INTEGER PRIMARY KEY,
    message       INTEGER NOT NULL REFERENCES messages (seq),
    partner       TEXT NOT NULL,
    customers     TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    UNIQUE (message, partner)
);

-- A partner's copies, newest first, for its own view of the messages.
CREATE INDEX partner_copies_by_partner ON partner_copies (partner, message);

-- Up to 1,024 deliveries of one message to one kind of recipient on one channel per row.
-- `body` is a JSON array with one entry per delivery: [organisation, contact, address,
-- locale]. Entry `n` of batch `id` is delivery `id * 1024 + n`. Workers lease whole
-- batches; a batch is pending until each of its deliveries is settled.
CREATE TABLE delivery_batches (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages (seq),
    recipient   TEXT NOT NULL CHECK (recipient IN ('customer', 'partner')),
    channel     TEXT NOT NULL,
    deliveries  INTEGER NOT NULL CHECK (deliveries BETWEEN 1 AND 1024),
    body        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    due_at      INTEGER NOT NULL,
    lease_until INTEGER
);

CREATE INDEX delivery_batches_by_message ON delivery_batches (message);
