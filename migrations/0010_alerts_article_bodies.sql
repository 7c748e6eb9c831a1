-- Alerts about sources (`[alerts]`) and article bodies (`full_text`). Alerts: the last state
-- the curators were told of, so each change
-- of state is mailed once, and when a source started erring (for `alert_after_hours`).
CREATE TABLE source_alerts (
    source_id  INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('ok', 'erring', 'failing', 'empty', 'silent')),
    since      TEXT NOT NULL,   -- when this state began
    detail     TEXT             -- the error or the date of the last article, as mailed
);

-- Article bodies fetched after the feed pass (`full_text`): the text goes in `content`
-- (0001); `body_status` says the page was tried ('ok', 'feed' when the feed's own text was
-- long enough, or the French error), so a page that failed is not fetched at every pass.
ALTER TABLE articles ADD COLUMN body_status TEXT;
CREATE INDEX articles_body_pending ON articles (source_id) WHERE body_status IS NULL;
