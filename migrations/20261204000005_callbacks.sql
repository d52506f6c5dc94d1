-- Callback requests: a caller who waited long for an operator left a number to be called back
-- (one SQL text for SQLite and PostgreSQL, like the call record: BIGINT Unix ms, TEXT ids).

CREATE TABLE callbacks (
    -- The call the request was left on; a call leaves one at most.
    call_id TEXT PRIMARY KEY,
    -- As the caller typed it (digits, + and single spaces); personal data.
    number TEXT NOT NULL,
    -- ISO 639-1; NULL when never known.
    language TEXT,
    description TEXT NOT NULL,
    -- open | done
    status TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    done_at BIGINT,
    -- The operator's account name.
    done_by TEXT
);
CREATE INDEX callbacks_by_status ON callbacks (status, requested_at);
