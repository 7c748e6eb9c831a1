-- PostgreSQL twin of migrations/0005: the daemon's last run of each scheduled job, fetch
-- counters per source, and the drafts it created that curators still have to prepare.
CREATE TABLE jobs (
    name             TEXT PRIMARY KEY,
    last_slot        TEXT,              -- the scheduled time the last run stood for
    last_run         TEXT,              -- when it ran (NULL: a baseline, never run)
    last_status      TEXT CHECK (last_status IN ('ok', 'error')),
    last_error       TEXT,
    last_duration_ms BIGINT,
    runs             BIGINT NOT NULL DEFAULT 0,
    failures         BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE source_stats (
    source_id     BIGINT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    fetches       BIGINT NOT NULL DEFAULT 0,
    errors        BIGINT NOT NULL DEFAULT 0,
    new_articles  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE edition_reminders (
    edition_id  BIGINT PRIMARY KEY REFERENCES editions(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);
