-- Tags belong to a centre (issue 16): the twin of migrations/0017_centre_tags.sql.
ALTER TABLE tags ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
ALTER TABLE tags ADD PRIMARY KEY (centre, article_id, dossier);
DROP INDEX tags_dossier;
CREATE INDEX tags_dossier ON tags (centre, dossier);
CREATE INDEX tags_article ON tags (article_id);

ALTER TABLE to_check ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE to_check DROP CONSTRAINT to_check_pkey;
ALTER TABLE to_check ADD PRIMARY KEY (centre, story, dossier);
DROP INDEX to_check_dossier;
CREATE INDEX to_check_dossier ON to_check (centre, dossier, probability);
CREATE INDEX to_check_story ON to_check (story);

CREATE TABLE tag_marks (
    centre      TEXT NOT NULL,
    article_id  BIGINT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (centre, article_id)
);
CREATE INDEX tag_marks_article ON tag_marks (article_id);
INSERT INTO tag_marks (centre, article_id) SELECT '', id FROM articles;
