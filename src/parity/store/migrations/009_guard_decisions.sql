-- Safety-guard decisions (issue 14): one row per guard verdict on a request's input or output,
-- written in the same transaction as the request's row. Portable SQL: SQLite and PostgreSQL.
-- verdict: safe | unsafe | error; action: allow | flag | block | reroute | fail_open | fail_closed.
CREATE TABLE guard_decisions (
    request_id TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    route TEXT,
    guard TEXT NOT NULL,
    stage TEXT NOT NULL,
    verdict TEXT NOT NULL,
    categories TEXT NOT NULL,   -- JSON list of category codes, e.g. ["S1", "S10"]
    action TEXT NOT NULL,
    target TEXT,                -- the re-route target, when action is reroute
    latency_ms DOUBLE PRECISION NOT NULL,
    checks INTEGER NOT NULL,    -- guard calls made (a stream's answer is checked several times)
    error TEXT
);
CREATE INDEX guard_decisions_ts ON guard_decisions (ts);
CREATE INDEX guard_decisions_request ON guard_decisions (request_id);
