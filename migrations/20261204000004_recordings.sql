-- Call recordings (records.recording): one row per recorded leg, its Ogg Opus file's path. The
-- retention sweep deletes the file and then the row; no foreign keys, like the rest.
CREATE TABLE recordings (
    -- Random hex, named in the supervisors' API.
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    path TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    -- NULL while the leg is being recorded.
    ended_at BIGINT,
    bytes BIGINT NOT NULL
);
CREATE INDEX recordings_by_call ON recordings (call_id, started_at);
CREATE INDEX recordings_by_started_at ON recordings (started_at);
