-- PostgreSQL twin of migrations/0012: the denormalised inbox, one row per story and dossier
-- (plus '' for all dossiers), kept by `store::inbox` in the transaction of each write.
CREATE TABLE inbox (
    story       BIGINT NOT NULL,
    dossier     TEXT NOT NULL,
    -- The strongest decision in this dossier ('' : in any): 3 starred, 2 kept, 1 rejected,
    -- 0 none or new.
    rank        BIGINT NOT NULL,
    -- The best tag score of the story's articles in this dossier ('' : in any), else 0.
    score       DOUBLE PRECISION NOT NULL,
    -- The lead article's date (published, else first seen).
    at          TEXT NOT NULL,
    -- The newest edited title of the story's decisions, else the lead article's title.
    title       TEXT NOT NULL,
    -- Distinct sources among the story's articles.
    sources     BIGINT NOT NULL,
    territories TEXT NOT NULL,
    PRIMARY KEY (story, dossier)
);
CREATE INDEX inbox_view ON inbox (dossier, rank, score DESC, at DESC, story DESC);
-- Whether a story already has an article of a source, without reading all its articles (an
-- article joining a story updates the story's rows in place).
CREATE INDEX articles_story_source ON articles (story, source_id);

-- An existing archive upgrades in place: the same rows `store::inbox` computes (kept equal by
-- its tests).
INSERT INTO inbox (story, dossier, rank, score, at, title, sources, territories)
SELECT a.id, v.dossier,
       COALESCE((SELECT MAX(CASE d.state WHEN 'starred' THEN 3 WHEN 'kept' THEN 2
                                         WHEN 'rejected' THEN 1 ELSE 0 END)
                 FROM decisions d WHERE d.story = a.id AND (v.dossier = '' OR d.dossier = v.dossier)), 0),
       COALESCE((SELECT MAX(t.score) FROM tags t JOIN articles b ON b.id = t.article_id
                 WHERE (b.id = a.id OR b.story = a.id) AND (v.dossier = '' OR t.dossier = v.dossier)), 0.0),
       COALESCE(a.published, a.first_seen),
       COALESCE((SELECT d.title FROM decisions d WHERE d.story = a.id AND d.title IS NOT NULL
                 ORDER BY d.decided_at DESC LIMIT 1), a.title),
       (SELECT COUNT(DISTINCT b.source_id) FROM articles b WHERE b.id = a.id OR b.story = a.id),
       a.territories
FROM articles a
JOIN (SELECT s.id AS story, ''::TEXT AS dossier FROM articles s
      UNION
      SELECT COALESCE(b.story, b.id) AS story, t.dossier FROM tags t JOIN articles b ON b.id = t.article_id) v
  ON v.story = a.id
WHERE a.story IS NULL OR a.story = a.id;
