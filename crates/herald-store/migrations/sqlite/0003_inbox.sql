-- What each partner or customer has marked read in its inbox: one row per organisation
-- and message, with when (Unix milliseconds). A message not here is unread.
CREATE TABLE inbox_reads (
    cloud       TEXT NOT NULL,
    reader_kind TEXT NOT NULL CHECK (reader_kind IN ('partner', 'customer')),
    reader      TEXT NOT NULL,
    message     INTEGER NOT NULL REFERENCES messages (seq),
    read_at     INTEGER NOT NULL,
    PRIMARY KEY (cloud, reader_kind, reader, message)
) WITHOUT ROWID;
