-- One row per request the gateway handled. Portable SQL: runs on SQLite and PostgreSQL.
-- Booleans are stored as 0/1 integers and lists/objects as JSON text, so one reader serves both.
CREATE TABLE requests (
    request_id      TEXT PRIMARY KEY,
    ts              DOUBLE PRECISION NOT NULL,  -- start, Unix seconds
    day             TEXT NOT NULL,              -- UTC date (YYYY-MM-DD) for grouping
    key_id          TEXT,
    tenant          TEXT,
    model_requested TEXT NOT NULL,
    model_answered  TEXT,
    route           TEXT,
    route_reason    TEXT,
    status          INTEGER NOT NULL,
    error_type      TEXT,
    error_message   TEXT,
    stream          INTEGER NOT NULL DEFAULT 0,
    ttfb_ms         DOUBLE PRECISION,
    total_ms        DOUBLE PRECISION NOT NULL,
    input_tokens    INTEGER,
    output_tokens   INTEGER,
    usage_estimated INTEGER NOT NULL DEFAULT 0,
    cost_usd        DOUBLE PRECISION,
    residency       TEXT,
    attempts        INTEGER NOT NULL DEFAULT 1,
    data_classes    TEXT NOT NULL DEFAULT '[]',
    sent_to         TEXT NOT NULL DEFAULT '[]',
    trace           TEXT,
    request_body    TEXT,
    response_text   TEXT
);
CREATE INDEX requests_ts ON requests (ts);
CREATE INDEX requests_key_ts ON requests (key_id, ts);
CREATE INDEX requests_tenant_ts ON requests (tenant, ts);
CREATE INDEX requests_day_model ON requests (day, model_answered);
