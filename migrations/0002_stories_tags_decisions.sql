-- Tags (dossier × article, with the reasons), territories, search-index bookkeeping,
-- curators' decisions on stories and their log.
ALTER TABLE articles ADD COLUMN territories TEXT NOT NULL DEFAULT '[]';
-- NULL until the article is in the search index; reset when the article changes.
ALTER TABLE articles ADD COLUMN indexed_at TEXT;
CREATE INDEX articles_story ON articles (story);
CREATE INDEX articles_unindexed ON articles (id) WHERE indexed_at IS NULL;

CREATE TABLE tags (
    article_id  INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    dossier     TEXT NOT NULL,
    score       REAL NOT NULL,
    why         TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (article_id, dossier)
);
CREATE INDEX tags_dossier ON tags (dossier);

-- One row per story and dossier ('' when the story has no dossier).
CREATE TABLE decisions (
    story       INTEGER NOT NULL,
    dossier     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('new', 'kept', 'rejected', 'starred')),
    curator     TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    title       TEXT,
    lede        TEXT,
    section     TEXT,
    PRIMARY KEY (story, dossier)
);

CREATE TABLE decision_log (
    id              INTEGER PRIMARY KEY,
    story           INTEGER NOT NULL,
    dossier         TEXT NOT NULL,
    curator         TEXT NOT NULL,
    at              TEXT NOT NULL,
    before_state    TEXT,
    after_state     TEXT NOT NULL,
    before_title    TEXT,
    after_title     TEXT,
    before_lede     TEXT,
    after_lede      TEXT
);
CREATE INDEX decision_log_story ON decision_log (story);
