-- Incident threads. A message may update a thread, saying where its incident stands.
ALTER TABLE messages ADD COLUMN thread TEXT COLLATE "C";
ALTER TABLE messages ADD COLUMN status TEXT COLLATE "C"
    CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved'));
CREATE INDEX messages_by_thread ON messages (cloud, thread, seq) WHERE thread IS NOT NULL;

-- One row per thread of a cloud: its category, where it stands, and `head`, its latest
-- message, whose decisions are everyone the thread has reached so far (each update reaches
-- everyone earlier ones did). A publish that widened its audience from another head than
-- the stored one is refused and routed again, so no update misses an earlier one's reach.
CREATE TABLE threads (
    cloud      TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    category   TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL
        CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    opened_at  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    head       BIGINT NOT NULL REFERENCES messages (seq),
    updates    BIGINT NOT NULL,
    PRIMARY KEY (cloud, id)
);

-- The threads still open in a cloud, for partners' notices.
CREATE INDEX open_threads ON threads (cloud, updated_at) WHERE status <> 'resolved';
