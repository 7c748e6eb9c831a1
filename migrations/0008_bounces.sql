-- The bounce mailbox read back (issue 13): each message of the mailbox processed once, and
-- the events it carried (a hard or soft bounce, a complaint, an auto-reply, a success notice)
-- with the policy's effect. A message is recorded in the same transaction as its effect, so
-- a crash before the mailbox is updated reprocesses it without counting it twice.
CREATE TABLE bounce_messages (
    message_key TEXT PRIMARY KEY,     -- SHA-256 of the message (line ends made LF), hex
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,        -- hard, soft, complaint, auto-reply, delivered, none
    outcome     TEXT NOT NULL,        -- applied, forged, unknown, ignored
    detail      TEXT
);

CREATE TABLE bounce_events (
    id              INTEGER PRIMARY KEY,
    message_key     TEXT NOT NULL REFERENCES bounce_messages(message_key),
    at              TEXT NOT NULL,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    edition_id      INTEGER REFERENCES editions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'auto-reply', 'delivered')),
    status          TEXT,
    reason          TEXT,
    effect          TEXT NOT NULL,    -- bounced, complained, counted, ignored
    UNIQUE (message_key, subscriber_id)
);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, at);
CREATE INDEX bounce_events_edition ON bounce_events (edition_id, kind);
