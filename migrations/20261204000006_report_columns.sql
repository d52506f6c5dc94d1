-- Reports over a year read one index: each call's row also keeps its time to interpreter (so the
-- percentiles sort a column, not an expression) and its rating's stars (so satisfaction reads no
-- join). The writer fills both; the index covering the report queries is rebuilt with them.

-- ms from the language being known to the first interpreter joining; NULL when none joined.
ALTER TABLE calls ADD COLUMN wait_ms BIGINT;
-- The caller's rating, 1-5; NULL when not rated (the ratings table stays the record of it).
ALTER TABLE calls ADD COLUMN stars BIGINT;

UPDATE calls SET wait_ms = CASE WHEN interpreter_joined_at IS NULL THEN NULL
    WHEN interpreter_joined_at > language_known_at
    THEN interpreter_joined_at - language_known_at ELSE 0 END;
UPDATE calls SET stars = (SELECT r.stars FROM ratings r WHERE r.call_id = calls.id);

DROP INDEX calls_for_reports;
CREATE INDEX calls_for_reports ON calls (created_at, language, outcome, asked, wait_ms,
    interpreter_id, stars, language_known_at, interpreter_joined_at, ended_at);
