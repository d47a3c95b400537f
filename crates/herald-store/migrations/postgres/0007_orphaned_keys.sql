-- A key dies with its organisation: the keys of partners and customers the directory no
-- longer holds in the key's cloud are revoked, and their webhook endpoints deleted (with
-- their secrets). Every change to the directory does this in its own transaction; this
-- does it once for what changes made before left behind. The time is Unix milliseconds,
-- truncated, as SQLite's CAST(unixepoch('subsec') * 1000 AS INTEGER).
UPDATE api_keys
SET revoked_at = floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint
WHERE revoked_at IS NULL
  AND ((principal = 'partner' AND NOT EXISTS
          (SELECT 1 FROM partners o WHERE o.id = api_keys.subject AND o.cloud = api_keys.cloud))
    OR (principal = 'customer' AND NOT EXISTS
          (SELECT 1 FROM customers o WHERE o.id = api_keys.subject AND o.cloud = api_keys.cloud)));
DELETE FROM endpoints
WHERE (owner_kind = 'partner' AND NOT EXISTS
        (SELECT 1 FROM partners o WHERE o.id = endpoints.owner AND o.cloud = endpoints.cloud))
   OR (owner_kind = 'customer' AND NOT EXISTS
        (SELECT 1 FROM customers o WHERE o.id = endpoints.owner AND o.cloud = endpoints.cloud));
