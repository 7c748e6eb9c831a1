-- Centres of the network (issue 16): the twin of migrations/0014_centres.sql.
CREATE TABLE centres (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    region  TEXT NOT NULL
);

ALTER TABLE decisions ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions DROP CONSTRAINT decisions_pkey;
ALTER TABLE decisions ADD PRIMARY KEY (centre, story, dossier);
CREATE INDEX decisions_story ON decisions (story);

ALTER TABLE decision_log ADD COLUMN centre TEXT NOT NULL DEFAULT '';

ALTER TABLE inbox ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (centre, story, dossier);
DROP INDEX inbox_view;
CREATE INDEX inbox_view ON inbox (centre, dossier, rank, score DESC, at DESC, story DESC);
CREATE INDEX inbox_story ON inbox (story);
