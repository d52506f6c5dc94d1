-- Reports: each call's figures kept on its row when it is written (when its language was known,
-- when and which interpreter joined first, whether it asked for one), so a report over a year
-- reads one table; and indexes for the report queries.

-- When the language was known: created_at, or answered_at when the operator set it.
ALTER TABLE calls ADD COLUMN language_known_at BIGINT;
-- The first interpreter's leg: when it joined and whose it was.
ALTER TABLE calls ADD COLUMN interpreter_joined_at BIGINT;
ALTER TABLE calls ADD COLUMN interpreter_id TEXT;
-- 1 when an offer was made for the call or an interpreter joined (offers written after the call
-- set it too).
ALTER TABLE calls ADD COLUMN asked BIGINT NOT NULL DEFAULT 0;

UPDATE calls SET
    language_known_at = CASE WHEN language_source IN ('operator', 'unknown')
        THEN COALESCE(answered_at, created_at) ELSE created_at END,
    interpreter_joined_at = (SELECT MIN(l.joined_at) FROM legs l
        WHERE l.call_id = calls.id AND l.role = 'interpreter'),
    interpreter_id = (SELECT l.interpreter_id FROM legs l
        WHERE l.call_id = calls.id AND l.role = 'interpreter'
        ORDER BY l.joined_at, l.participant LIMIT 1);
UPDATE calls SET asked = 1
    WHERE interpreter_joined_at IS NOT NULL
       OR EXISTS (SELECT 1 FROM offers o WHERE o.call_id = calls.id);

-- Every waiting report reads these columns of the calls in a range, from the index alone.
CREATE INDEX calls_for_reports ON calls (created_at, language, outcome, asked,
    language_known_at, interpreter_joined_at, interpreter_id, ended_at);
-- Interpreter minutes: interpreters' legs in a range.
CREATE INDEX legs_by_role_joined_at ON legs (role, joined_at, interpreter_id, left_at, call_id);
