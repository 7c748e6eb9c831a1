-- PostgreSQL twin of migrations/0010: the last alert state of each source, and whether an
-- article's page was tried for its body.
CREATE TABLE source_alerts (
    source_id  BIGINT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('ok', 'erring', 'failing', 'empty', 'silent')),
    since      TEXT NOT NULL,   -- when this state began
    detail     TEXT             -- the error or the date of the last article, as mailed
);

ALTER TABLE articles ADD COLUMN body_status TEXT;
CREATE INDEX articles_body_pending ON articles (source_id) WHERE body_status IS NULL;
