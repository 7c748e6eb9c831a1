-- Running stories and learned tagging (issue 11).
-- A story that continues an earlier one ("suite de"): linked, not merged. Stories are ids of
-- their first article, as in `articles.story`.
CREATE TABLE story_links (
    story       INTEGER PRIMARY KEY,
    previous    INTEGER NOT NULL,
    similarity  REAL NOT NULL
);
CREATE INDEX story_links_previous ON story_links (previous);

-- The "to check" band of each dossier: stories its rules did not tag that the scorer learned
-- from the curators' decisions ranks high, with the learned words behind the score. Replaced
-- as a whole each time the scorer is retrained.
CREATE TABLE to_check (
    story        INTEGER NOT NULL,
    dossier      TEXT NOT NULL,
    probability  REAL NOT NULL,
    why          TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (story, dossier)
);
CREATE INDEX to_check_dossier ON to_check (dossier, probability);
