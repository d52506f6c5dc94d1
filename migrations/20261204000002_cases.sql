-- Cases: the hotline's record of each caller's matter, opened when an operator takes a call and
-- kept after it (one SQL text for SQLite and PostgreSQL, like the call record: BIGINT Unix ms,
-- TEXT ids, no foreign keys).

-- Each day's last case sequence, per day of the hotline's time zone (YYMMDD): a case number is
-- the day and the next sequence, taken by an upsert in the transaction that opens the case, so
-- nodes sharing one PostgreSQL never hand out the same number.
CREATE TABLE case_days (
    day TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE cases (
    -- YYMMDD-NNNN, told to the caller.
    number TEXT PRIMARY KEY,
    -- The call that opened it.
    call_id TEXT NOT NULL UNIQUE,
    -- ISO 639-1; NULL when never known.
    language TEXT,
    -- The operator's account name.
    operator TEXT NOT NULL,
    notes TEXT NOT NULL,
    category TEXT NOT NULL,
    department TEXT NOT NULL,
    -- open | passed_on | resolved (only forward)
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX cases_by_created_at ON cases (created_at);
CREATE INDEX cases_by_status ON cases (status, updated_at);

-- What was done after the call, in order.
CREATE TABLE case_follow_ups (
    id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX case_follow_ups_by_case ON case_follow_ups (case_number, at);

-- Every call of a case: the one that opened it and each later call whose caller gave its number;
-- a call belongs to one case at most.
CREATE TABLE case_calls (
    call_id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    opened BIGINT NOT NULL,
    linked_at BIGINT NOT NULL
);
CREATE INDEX case_calls_by_case ON case_calls (case_number, linked_at);
