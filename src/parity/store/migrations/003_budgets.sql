-- Budget enforcement shared by replicas: settled spend per budget period, and open holds.
-- Portable SQL: runs on SQLite and PostgreSQL.

-- USD settled against one budget period: scope 'key' or 'tenant', period 'day' or 'month',
-- period_start the Unix time the UTC day or month began. A new row is seeded from the ledger.
CREATE TABLE budget_spend (
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start DOUBLE PRECISION NOT NULL,
    spent_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, name, period, period_start)
);

-- The worst-case cost of a request in flight, held against its key's or tenant's budgets until
-- the request settles; a hold past expires_at (a crashed replica's) no longer counts.
CREATE TABLE budget_holds (
    request_id  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    name        TEXT NOT NULL,
    day_start   DOUBLE PRECISION NOT NULL,
    month_start DOUBLE PRECISION NOT NULL,
    amount_usd  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (request_id, scope)
);
CREATE INDEX budget_holds_day ON budget_holds (scope, name, day_start);
CREATE INDEX budget_holds_month ON budget_holds (scope, name, month_start);
CREATE INDEX budget_holds_expiry ON budget_holds (expires_at);
