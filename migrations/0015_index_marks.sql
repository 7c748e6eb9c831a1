-- What each machine's search index holds (issue 16): one tantivy index per archive folder,
-- all fed from the shared store, so "indexed" is per index, not per article. A row says
-- that index `index_id` (the token in its folder's `veille-index-id`) holds the article as
-- it was at `indexed_at`.
CREATE TABLE index_marks (
    index_id TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    indexed_at TEXT NOT NULL,
    PRIMARY KEY (index_id, article_id)
);
CREATE INDEX index_marks_article ON index_marks (article_id);

-- The one index an archive had until now: its marks go under a placeholder id that the
-- first existing index folder to open claims, so a single machine does not reindex all.
INSERT INTO index_marks (index_id, article_id, indexed_at)
SELECT 'avant-0015', id, indexed_at FROM articles WHERE indexed_at IS NOT NULL;

-- Every statement that asks for reindexing sets `articles.indexed_at = NULL` (new feed
-- text, new body, retag, story move): that now invalidates the article for every index,
-- including statements written before this table existed.
CREATE TRIGGER articles_reindex AFTER UPDATE OF indexed_at ON articles
FOR EACH ROW WHEN NEW.indexed_at IS NULL
BEGIN
    DELETE FROM index_marks WHERE article_id = NEW.id;
END;
