-- A message read from the message bus (NATS JetStream) is published by the bus: its
-- audit entry names `principal` 'bus', the cloud its subject publishes in
-- (`principal_cloud`) and the subject (`subject`), and no key, as the operator's entries
-- name none. SQLite changes a CHECK only by building the table again.
CREATE TABLE audit_with_bus (
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
    CHECK ((principal IN ('operator', 'bus')) = (key_id IS NULL))
);
INSERT INTO audit_with_bus SELECT * FROM audit;
DROP TABLE audit;
ALTER TABLE audit_with_bus RENAME TO audit;
CREATE INDEX audit_by_cloud ON audit (cloud, seq);
