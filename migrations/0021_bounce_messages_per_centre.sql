-- no-transaction
-- Two centres may read one bounce mailbox: a message is then processed once by EACH centre,
-- which applies it to its own subscribers. `bounce_messages` was keyed by the message's hash
-- alone (0008; 0019 added the centre beside it), so the first centre to read a message kept
-- it from the others: the key becomes (centre, message_key).
--
-- SQLite cannot change a key in place: the table is rebuilt. `bounce_events` referenced
-- `bounce_messages(message_key)`, which is no longer unique on its own: it is rebuilt without
-- that reference (an event is written in the same transaction as its message, and follows
-- its subscriber, who belongs to one centre). Like 0016, the rebuild runs with foreign keys
-- off, in its own transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE bounce_messages_centred (
    message_key TEXT NOT NULL,        -- SHA-256 of the message (line ends made LF), hex
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,        -- hard, soft, complaint, auto-reply, delivered, none
    outcome     TEXT NOT NULL,        -- applied, forged, unknown, ignored
    detail      TEXT,
    centre      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, message_key)
);
INSERT INTO bounce_messages_centred (message_key, at, kind, outcome, detail, centre)
SELECT message_key, at, kind, outcome, detail, centre FROM bounce_messages;
DROP TABLE bounce_messages;
ALTER TABLE bounce_messages_centred RENAME TO bounce_messages;

CREATE TABLE bounce_events_centred (
    id              INTEGER PRIMARY KEY,
    message_key     TEXT NOT NULL,
    at              TEXT NOT NULL,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    edition_id      INTEGER REFERENCES editions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'auto-reply', 'delivered')),
    status          TEXT,
    reason          TEXT,
    effect          TEXT NOT NULL,    -- bounced, complained, counted, ignored
    UNIQUE (message_key, subscriber_id)
);
INSERT INTO bounce_events_centred (id, message_key, at, subscriber_id, edition_id, kind, status,
                                   reason, effect)
SELECT id, message_key, at, subscriber_id, edition_id, kind, status, reason, effect
FROM bounce_events;
DROP TABLE bounce_events;
ALTER TABLE bounce_events_centred RENAME TO bounce_events;
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, at);
CREATE INDEX bounce_events_edition ON bounce_events (edition_id, kind);

COMMIT;
PRAGMA foreign_keys = ON;
