-- The behaviour canary (parity canary): one row per deployment per run, and the upstream's own
-- version signals on every request (the response's model and system_fingerprint), so that a
-- silent model update shows in the ledger. Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS canary_results (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    prompt_set TEXT NOT NULL,
    source TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    paired INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    baseline_mean DOUBLE PRECISION,
    mean_score DOUBLE PRECISION,
    score_change DOUBLE PRECISION,
    worse_low DOUBLE PRECISION,
    worse_high DOUBLE PRECISION,
    version_change TEXT,
    summary TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS canary_results_model_ts ON canary_results (model, ts);

ALTER TABLE requests ADD COLUMN upstream_model TEXT;

ALTER TABLE requests ADD COLUMN system_fingerprint TEXT;
