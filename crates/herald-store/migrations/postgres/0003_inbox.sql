-- What each partner or customer has marked read in its inbox: one row per organisation
-- and message, with when (Unix milliseconds). A message not here is unread.
CREATE TABLE inbox_reads (
    cloud       TEXT COLLATE "C" NOT NULL,
    reader_kind TEXT COLLATE "C" NOT NULL CHECK (reader_kind IN ('partner', 'customer')),
    reader      TEXT COLLATE "C" NOT NULL,
    message     BIGINT NOT NULL REFERENCES messages (seq),
    read_at     BIGINT NOT NULL,
    PRIMARY KEY (cloud, reader_kind, reader, message)
);
