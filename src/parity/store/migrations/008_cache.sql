-- The response cache (docs/cache.md): one row per cached answer, keyed by the SHA-256 of the
-- tenant, the deployment and the normalised request; rows past expires_at are never served and
-- are deleted as new ones arrive. Each request row says whether the cache answered it and the
-- cost it saved. Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS response_cache (
    key TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    deployment TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    entry TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS response_cache_expires_at ON response_cache (expires_at);

ALTER TABLE requests ADD COLUMN cache TEXT;

ALTER TABLE requests ADD COLUMN cost_saved_usd DOUBLE PRECISION;
