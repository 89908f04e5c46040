-- API keys made with `parity keys create` or POST /admin/keys. Portable SQL (SQLite, PostgreSQL).
-- The secret is never stored: only its SHA-256 hex digest and a short display prefix.
-- Lists are JSON text (NULL: no restriction); booleans are 0/1; times are Unix seconds.
CREATE TABLE api_keys (
    name               TEXT PRIMARY KEY,          -- the key_id of the ledger rows it makes
    digest             TEXT NOT NULL UNIQUE,      -- hex SHA-256 of the secret
    prefix             TEXT NOT NULL,             -- e.g. pk-Xf3kQ9aB, for people to tell keys apart
    tenant             TEXT NOT NULL,
    models             TEXT,                      -- deployment ids that may serve the key
    routes             TEXT,                      -- route aliases the key may ask for
    daily_usd          DOUBLE PRECISION,
    monthly_usd        DOUBLE PRECISION,
    rpm                INTEGER,
    tpm                INTEGER,
    can_override_route INTEGER NOT NULL DEFAULT 0,
    admin              INTEGER NOT NULL DEFAULT 0,
    created_at         DOUBLE PRECISION NOT NULL,
    expires_at         DOUBLE PRECISION,
    revoked_at         DOUBLE PRECISION
);
