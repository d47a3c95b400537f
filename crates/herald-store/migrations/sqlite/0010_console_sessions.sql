-- Sessions of the web console: a browser signed in with an API key holds a random session
-- token in a cookie; only its SHA-256 is stored (`hash`), with the key it acts as, the
-- token its forms must carry (`csrf`, against cross-site requests) and when it ends. Every
-- server of a store reads the same sessions, so a browser may reach any of them. A session
-- ends when it expires, is signed out, or its key is revoked. Times are Unix milliseconds.
CREATE TABLE console_sessions (
    hash       BLOB PRIMARY KEY,
    key_id     TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
