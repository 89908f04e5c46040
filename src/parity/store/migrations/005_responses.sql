-- Stored responses of the Responses API (POST /v1/responses with store: true): the response
-- object that GET /v1/responses/{id} answers, and the whole chat conversation up to and
-- including its answer, which a later request's previous_response_id replays. Each row keeps
-- the whole conversation, so deleting one response never breaks a later one built on it.
-- Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    key_id TEXT,
    tenant TEXT,
    model TEXT NOT NULL,
    previous_id TEXT,
    response TEXT NOT NULL,
    conversation TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at);
