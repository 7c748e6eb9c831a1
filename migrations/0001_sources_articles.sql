-- Sources as configured, with their fetch state; articles as read from them.
CREATE TABLE sources (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    dossiers            TEXT NOT NULL DEFAULT '[]',
    enabled             INTEGER NOT NULL DEFAULT 1,
    etag                TEXT,
    last_modified       TEXT,
    last_fetch          TEXT,
    last_success        TEXT,
    last_status         INTEGER,
    consecutive_errors  INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    next_fetch          TEXT
);

CREATE TABLE articles (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES sources(id),
    guid            TEXT,
    canonical_url   TEXT NOT NULL,
    url             TEXT NOT NULL,
    title           TEXT NOT NULL,
    summary_html    TEXT NOT NULL DEFAULT '',
    summary_text    TEXT NOT NULL DEFAULT '',
    content         TEXT,
    author          TEXT,
    published       TEXT,
    date_flag       TEXT,
    first_seen      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    language        TEXT,
    fingerprint     TEXT,
    story           INTEGER
);

CREATE UNIQUE INDEX articles_source_guid ON articles (source_id, guid) WHERE guid IS NOT NULL;
CREATE INDEX articles_canonical_url ON articles (canonical_url);
CREATE INDEX articles_published ON articles (published);
CREATE INDEX articles_source ON articles (source_id);
