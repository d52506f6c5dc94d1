-- The call record: one SQL text for SQLite and PostgreSQL (BIGINT Unix ms, TEXT ids, no foreign
-- keys: offers and ratings may be written before the call they belong to has ended).

-- One row per ended call, written when it ends.
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    -- ISO 639-1; NULL when never known.
    language TEXT,
    -- How the language was determined (chosen, browser, text, combined, operator, unknown).
    language_source TEXT NOT NULL,
    -- ended | abandoned
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT NOT NULL
);
CREATE INDEX calls_by_created_at ON calls (created_at);

-- Each participant's time in a call: a second stint of the same participant is a second leg.
CREATE TABLE legs (
    call_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    -- caller | operator | interpreter | supervisor
    role TEXT NOT NULL,
    interpreter_id TEXT,
    -- browser | phone | none (never had media)
    media TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    left_at BIGINT,
    PRIMARY KEY (call_id, participant, joined_at)
);
CREATE INDEX legs_by_interpreter ON legs (interpreter_id, joined_at);

-- Each ring of one interpreter for one call; outcome NULL while it rings.
CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    interpreter_id TEXT NOT NULL,
    language TEXT,
    offered_at BIGINT,
    -- accepted | declined | timeout | cancelled
    outcome TEXT,
    ended_at BIGINT
);
CREATE INDEX offers_by_call ON offers (call_id);
CREATE INDEX offers_by_interpreter ON offers (interpreter_id, offered_at);

-- The caller's 1-5 stars, at most one per call.
CREATE TABLE ratings (
    call_id TEXT PRIMARY KEY,
    stars BIGINT NOT NULL,
    rated_at BIGINT NOT NULL
);
