-- Task names on requests, and feedback on answers (issue 12). Portable SQL: SQLite and PostgreSQL.
-- A task name comes from the body's metadata.task or the x-parity-task header; NULL: none given.
ALTER TABLE requests ADD COLUMN task TEXT;
CREATE INDEX requests_task_ts ON requests (task, ts);

-- Feedback on one request's answer, from POST /v1/feedback or `parity feedback`. A request may
-- have several; readers take the newest. score is 0-1, good a 0/1 boolean, label free text; at
-- least one of them is set. correction is the answer the request should have had.
CREATE TABLE feedback (
    feedback_id TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    ts          DOUBLE PRECISION NOT NULL,
    score       DOUBLE PRECISION,
    good        INTEGER,
    label       TEXT,
    correction  TEXT,
    source      TEXT NOT NULL,   -- who gave it: "user", "reviewer:alice", "judge:gpt-4o", ...
    key_id      TEXT             -- the API key that sent it (NULL: auth off or the CLI)
);
CREATE INDEX feedback_request ON feedback (request_id, ts);
