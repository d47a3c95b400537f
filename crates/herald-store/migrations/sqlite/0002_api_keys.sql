-- API keys: who a bearer token `hk_<id>_<secret>` acts as. `id` is the public part of the
-- token; `hash` is the SHA-256 of its secret part, which is shown once and never stored.
-- A vendor key acts in `cloud`; a partner or customer key as `subject` (a partner or
-- customer id, NULL for a vendor), in the cloud that record belonged to when the key was
-- made. Times are Unix milliseconds; a key with `revoked_at` set no longer authenticates.
-- A rowid table, so keys made in the same millisecond still list in the order made.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    hash       BLOB NOT NULL,
    principal  TEXT NOT NULL CHECK (principal IN ('vendor', 'partner', 'customer')),
    cloud      TEXT NOT NULL,
    subject    TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CHECK ((principal = 'vendor') = (subject IS NULL))
);
