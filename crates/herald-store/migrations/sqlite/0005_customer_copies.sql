-- A customer's inbox: the messages it heard directly, one row per customer and message, so
-- an inbox is read from its own rows rather than from every message of the cloud. Written
-- for a message that reaches at most 1,024 customers directly (one decision batch's worth).
-- A message that reaches more is a broadcast: it writes no rows here (a million-customer
-- incident would otherwise add a million rows to its publish), and a customer finds it in
-- the one decision batch that would hold its decision.
CREATE TABLE customer_copies (
    customer TEXT NOT NULL,
    message  INTEGER NOT NULL REFERENCES messages (seq),
    PRIMARY KEY (customer, message)
) WITHOUT ROWID;

ALTER TABLE messages ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0 CHECK (broadcast IN (0, 1));

-- A cloud's broadcasts, newest first.
CREATE INDEX messages_broadcast ON messages (cloud, seq) WHERE broadcast = 1;

-- Messages accepted before: the same split, read from their decision batches.
UPDATE messages SET broadcast = 1 WHERE customers_direct > 1024;
INSERT INTO customer_copies (customer, message)
SELECT entry.value ->> 0, b.message
FROM decision_batches b JOIN messages m ON m.seq = b.message, json_each(b.body) AS entry
WHERE m.broadcast = 0 AND entry.value ->> 1;
