-- A customer's inbox: the messages it heard directly, one row per customer and message, so
-- an inbox is read from its own rows rather than from every message of the cloud. Written
-- for a message that reaches at most 1,024 customers directly (one decision batch's worth).
-- A message that reaches more is a broadcast: it writes no rows here (a million-customer
-- incident would otherwise add a million rows to its publish), and a customer finds it in
-- the one decision batch that would hold its decision.
CREATE TABLE customer_copies (
    customer TEXT COLLATE "C" NOT NULL,
    message  BIGINT NOT NULL REFERENCES messages (seq),
    PRIMARY KEY (customer, message)
);

-- A flag: SQLite's INTEGER 0/1 with CHECK (broadcast IN (0, 1)) is a BOOLEAN here.
ALTER TABLE messages ADD COLUMN broadcast BOOLEAN NOT NULL DEFAULT FALSE;

-- A cloud's broadcasts, newest first.
CREATE INDEX messages_broadcast ON messages (cloud, seq) WHERE broadcast;

-- Messages accepted before: the same split, read from their decision batches (entry
-- element 1 is `direct`, JSON true or false).
UPDATE messages SET broadcast = TRUE WHERE customers_direct > 1024;
INSERT INTO customer_copies (customer, message)
SELECT entry.value ->> 0, b.message
FROM decision_batches b
JOIN messages m ON m.seq = b.message
CROSS JOIN LATERAL jsonb_array_elements(b.body::jsonb) AS entry (value)
WHERE NOT m.broadcast AND entry.value -> 1 = 'true'::jsonb;
