-- The open holds' total kept on each budget counter row, so that admitting a request is one
-- conditional UPDATE of that row instead of a locked read, a SUM over the holds and an insert.
-- Portable SQL: runs on SQLite and PostgreSQL. Replicas recount it from budget_holds every
-- minute (dropping lapsed holds), so a total left wrong by an older replica heals by itself.
ALTER TABLE budget_spend ADD COLUMN held_usd DOUBLE PRECISION NOT NULL DEFAULT 0;

UPDATE budget_spend SET held_usd = COALESCE((
    SELECT SUM(h.amount_usd) FROM budget_holds h
    WHERE h.scope = budget_spend.scope AND h.name = budget_spend.name
      AND (CASE budget_spend.period WHEN 'day' THEN h.day_start ELSE h.month_start END)
          = budget_spend.period_start
), 0);
