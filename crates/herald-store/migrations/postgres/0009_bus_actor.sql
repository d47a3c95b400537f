-- A message read from the message bus (NATS JetStream) is published by the bus: its
-- audit entry names `principal` 'bus', the cloud its subject publishes in
-- (`principal_cloud`) and the subject (`subject`), and no key, as the operator's entries
-- name none.
ALTER TABLE audit DROP CONSTRAINT audit_check;
ALTER TABLE audit ADD CONSTRAINT audit_check CHECK ((principal IN ('operator', 'bus')) = (key_id IS NULL));
