-- Tags belong to a centre (issue 16): articles are shared, but each centre tags them by its
-- own rules. The single-centre default is the centre '' (every row of an older archive),
-- adopted by the first named centre like the decisions (`store::centres`). A centre named
-- before this migration finds no mark of its own and tags every article again at its next
-- catch-up (`retagging::catch_up`).
CREATE TABLE tags_centred (
    article_id  INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    dossier     TEXT NOT NULL,
    score       REAL NOT NULL,
    why         TEXT NOT NULL DEFAULT '[]',
    centre      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, article_id, dossier)
);
INSERT INTO tags_centred (article_id, dossier, score, why, centre)
SELECT article_id, dossier, score, why, '' FROM tags;
DROP INDEX tags_dossier;
DROP TABLE tags;
ALTER TABLE tags_centred RENAME TO tags;
CREATE INDEX tags_dossier ON tags (centre, dossier);
CREATE INDEX tags_article ON tags (article_id);

-- The "to check" band is learned from the centre's own decisions: one band per centre.
CREATE TABLE to_check_centred (
    story        INTEGER NOT NULL,
    dossier      TEXT NOT NULL,
    probability  REAL NOT NULL,
    why          TEXT NOT NULL DEFAULT '[]',
    centre       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, story, dossier)
);
INSERT INTO to_check_centred (story, dossier, probability, why, centre)
SELECT story, dossier, probability, why, '' FROM to_check;
DROP INDEX to_check_dossier;
DROP TABLE to_check;
ALTER TABLE to_check_centred RENAME TO to_check;
CREATE INDEX to_check_dossier ON to_check (centre, dossier, probability);
CREATE INDEX to_check_story ON to_check (story);

-- Which centre has tagged which article as it now reads (an article with no dossier has no
-- tags, hence a mark apart). A change of the article's text (feed, body) drops every
-- centre's mark; the writer marks its own centre again in the same transaction.
CREATE TABLE tag_marks (
    centre      TEXT NOT NULL,
    article_id  INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (centre, article_id)
);
CREATE INDEX tag_marks_article ON tag_marks (article_id);
INSERT INTO tag_marks (centre, article_id) SELECT '', id FROM articles;
