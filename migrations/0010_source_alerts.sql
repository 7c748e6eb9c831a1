-- Alerts about sources (`[alerts]`): the last state the curators were told of, so each change
-- of state is mailed once, and when a source started erring (for `alert_after_hours`).
CREATE TABLE source_alerts (
    source_id  INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('ok', 'erring', 'failing', 'empty', 'silent')),
    since      TEXT NOT NULL,   -- when this state began
    detail     TEXT             -- the error or the date of the last article, as mailed
);
