-- The daemon (`veille run`): the last run of each scheduled job (for catch-up after a
-- downtime), fetch counters per source (for /metrics and `veille status`), and the drafts it
-- created that curators still have to prepare.
CREATE TABLE jobs (
    name             TEXT PRIMARY KEY,
    last_slot        TEXT,              -- the scheduled time the last run stood for
    last_run         TEXT,              -- when it ran (NULL: a baseline, never run)
    last_status      TEXT CHECK (last_status IN ('ok', 'error')),
    last_error       TEXT,
    last_duration_ms INTEGER,
    runs             INTEGER NOT NULL DEFAULT 0,
    failures         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE source_stats (
    source_id     INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    fetches       INTEGER NOT NULL DEFAULT 0,
    errors        INTEGER NOT NULL DEFAULT 0,
    new_articles  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE edition_reminders (
    edition_id  INTEGER PRIMARY KEY REFERENCES editions(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);
