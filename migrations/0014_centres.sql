-- Centres of the network (issue 16): decisions, their log and the inbox's decision rank
-- belong to a centre; sources, articles, tags and stories stay shared. The single-centre
-- default is the centre '' (every row of an older archive); an archive that then configures
-- `[centre] id` adopts those rows once (`store::centres`). A store registers its centre when
-- it opens (none here: a freshly migrated database stays empty for `store copy`).
CREATE TABLE centres (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    region  TEXT NOT NULL
);

-- The key gains the centre: two centres decide on one story each on their own. SQLite
-- cannot change a primary key in place; the table is rebuilt, the centre last (as
-- PostgreSQL's ADD COLUMN puts it).
CREATE TABLE decisions_centred (
    story       INTEGER NOT NULL,
    dossier     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('new', 'kept', 'rejected', 'starred')),
    curator     TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    title       TEXT,
    lede        TEXT,
    section     TEXT,
    centre      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, story, dossier)
);
INSERT INTO decisions_centred (story, dossier, state, curator, decided_at, title, lede, section, centre)
SELECT story, dossier, state, curator, decided_at, title, lede, section, '' FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_centred RENAME TO decisions;
-- What the other centres decided on a story (the detail pane, the collective panorama).
CREATE INDEX decisions_story ON decisions (story);

ALTER TABLE decision_log ADD COLUMN centre TEXT NOT NULL DEFAULT '';

-- One inbox per centre: the rank and edited title come from the centre's own decisions.
CREATE TABLE inbox_centred (
    story       INTEGER NOT NULL,
    dossier     TEXT NOT NULL,
    rank        INTEGER NOT NULL,
    score       REAL NOT NULL,
    at          TEXT NOT NULL,
    title       TEXT NOT NULL,
    sources     INTEGER NOT NULL,
    territories TEXT NOT NULL,
    centre      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, story, dossier)
);
INSERT INTO inbox_centred (story, dossier, rank, score, at, title, sources, territories, centre)
SELECT story, dossier, rank, score, at, title, sources, territories, '' FROM inbox;
DROP INDEX inbox_view;
DROP TABLE inbox;
ALTER TABLE inbox_centred RENAME TO inbox;
CREATE INDEX inbox_view ON inbox (centre, dossier, rank, score DESC, at DESC, story DESC);
CREATE INDEX inbox_story ON inbox (story);
