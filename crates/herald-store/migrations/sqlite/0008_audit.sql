-- The audit log: one row per write a caller asked for (a directory import or record change,
-- a publish, a key made or revoked, an endpoint registered, rotated, disabled, enabled or
-- deleted, a delivery replayed), written in the same transaction as the write it records,
-- so it never names a change that did not happen nor misses one that did.
--
-- `seq` orders the log and is the cursor of its pages. `at` is Unix milliseconds. `cloud`
-- is the cloud the change concerns, NULL when it concerns every cloud (the shared product
-- catalog, a whole-world import). The actor is an API key (`key_id`, and the principal it
-- acted as: `principal`, `principal_cloud` and `subject` as in `api_keys`) or the operator
-- at the command line (`principal` 'operator', no key). `action` is a stable name such as
-- `directory.put`; `target` the id acted on; `detail` a JSON object saying what changed,
-- never a secret or a token.
CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    cloud           TEXT,
    principal       TEXT NOT NULL,
    principal_cloud TEXT,
    subject         TEXT,
    key_id          TEXT,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    detail          TEXT NOT NULL,
    CHECK ((principal = 'operator') = (key_id IS NULL))
);
-- A cloud's entries, newest first (the entries of every cloud under NULL).
CREATE INDEX audit_by_cloud ON audit (cloud, seq);
