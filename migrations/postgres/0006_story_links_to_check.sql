-- PostgreSQL twin of migrations/0006: running stories ("suite de") and the learned "to check"
-- band of each dossier.
CREATE TABLE story_links (
    story       BIGINT PRIMARY KEY,
    previous    BIGINT NOT NULL,
    similarity  DOUBLE PRECISION NOT NULL
);
CREATE INDEX story_links_previous ON story_links (previous);

CREATE TABLE to_check (
    story        BIGINT NOT NULL,
    dossier      TEXT NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    why          TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (story, dossier)
);
CREATE INDEX to_check_dossier ON to_check (dossier, probability);
