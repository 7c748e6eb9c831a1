-- no-transaction
-- Centres of the network (issue 16): editions (their items, blocks, reminders and delivery
-- ledger follow the edition), subscribers (their subscriptions and bounce events follow the
-- subscriber), the suppression list, the click counters and the daemon's job book belong
-- to a centre. Every row of an older archive goes to the single-centre default '' and is
-- adopted by the first named centre, like the decisions (`store::centres`).
--
-- The keys gain the centre, and SQLite cannot change a key in place: the tables are rebuilt.
-- Other tables reference `editions` and `subscribers`: with foreign keys on, dropping the old
-- table would cascade to them (and the sent-edition triggers would refuse), so the rebuild
-- runs with foreign keys off, in its own transaction, and is checked before it commits.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- The triggers of the parts look the edition up by name: dropped while `editions` is
-- rebuilt, made again below, unchanged.
DROP TRIGGER edition_items_insert_sent;
DROP TRIGGER edition_items_update_sent;
DROP TRIGGER edition_items_delete_sent;
DROP TRIGGER edition_blocks_insert_sent;
DROP TRIGGER edition_blocks_update_sent;
DROP TRIGGER edition_blocks_delete_sent;

CREATE TABLE editions_centred (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    number        INTEGER NOT NULL CHECK (number >= 1),
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'ready', 'sent')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    rendered_at   TEXT,
    sent_at       TEXT,
    centre        TEXT NOT NULL DEFAULT '',
    UNIQUE (centre, kind, number)
);
INSERT INTO editions_centred (id, kind, number, period_start, period_end, status, created_at,
                              updated_at, rendered_at, sent_at, centre)
SELECT id, kind, number, period_start, period_end, status, created_at, updated_at,
       rendered_at, sent_at, '' FROM editions;
DROP TABLE editions;
ALTER TABLE editions_centred RENAME TO editions;

-- A sent edition stays immutable. Its owner may be set once, when the first named centre
-- adopts the archive's rows ('' → id): that changes who sends nothing, not what was sent.
CREATE TRIGGER editions_sent_immutable BEFORE UPDATE OF id, kind, number, period_start,
    period_end, status, created_at, updated_at, rendered_at, sent_at ON editions
WHEN OLD.status = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER editions_sent_owned BEFORE UPDATE OF centre ON editions
WHEN OLD.status = 'sent' AND OLD.centre <> ''
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER editions_sent_undeletable BEFORE DELETE ON editions
WHEN OLD.status = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_items_insert_sent BEFORE INSERT ON edition_items
WHEN (SELECT status FROM editions WHERE id = NEW.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_items_update_sent BEFORE UPDATE ON edition_items
WHEN (SELECT status FROM editions WHERE id = OLD.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_items_delete_sent BEFORE DELETE ON edition_items
WHEN (SELECT status FROM editions WHERE id = OLD.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_blocks_insert_sent BEFORE INSERT ON edition_blocks
WHEN (SELECT status FROM editions WHERE id = NEW.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_blocks_update_sent BEFORE UPDATE ON edition_blocks
WHEN (SELECT status FROM editions WHERE id = OLD.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;
CREATE TRIGGER edition_blocks_delete_sent BEFORE DELETE ON edition_blocks
WHEN (SELECT status FROM editions WHERE id = OLD.edition_id) = 'sent'
BEGIN SELECT RAISE(ABORT, 'édition envoyée : elle ne peut plus être modifiée'); END;

-- One address may be on the lists of two centres: two subscribers, each centre's own.
CREATE TABLE subscribers_centred (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,   -- lowercased
    name          TEXT,
    created_at    TEXT NOT NULL,
    bounces       INTEGER NOT NULL DEFAULT 0,
    first_name    TEXT,
    last_name     TEXT,
    organisation  TEXT,
    commune       TEXT,
    centre        TEXT NOT NULL DEFAULT '',
    UNIQUE (centre, email)
);
INSERT INTO subscribers_centred (id, email, name, created_at, bounces, first_name, last_name,
                                 organisation, commune, centre)
SELECT id, email, name, created_at, bounces, first_name, last_name, organisation, commune, ''
FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_centred RENAME TO subscribers;

-- An address one centre must never write to again may still be another centre's subscriber.
CREATE TABLE suppressions_centred (
    hash    TEXT NOT NULL,   -- HMAC-SHA256 of the lowercased address, hex
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL,
    centre  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, hash)
);
INSERT INTO suppressions_centred (hash, reason, at, centre)
SELECT hash, reason, at, '' FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_centred RENAME TO suppressions;

-- Click counters are named by the edition's kind and number, which each centre numbers.
CREATE TABLE edition_links_centred (
    kind      TEXT NOT NULL,
    number    INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    url       TEXT NOT NULL,
    clicks    INTEGER NOT NULL DEFAULT 0,
    centre    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, kind, number, position),
    UNIQUE (centre, kind, number, url)
);
INSERT INTO edition_links_centred (kind, number, position, url, clicks, centre)
SELECT kind, number, position, url, clicks, '' FROM edition_links;
DROP TABLE edition_links;
ALTER TABLE edition_links_centred RENAME TO edition_links;

-- Each centre's daemon keeps its own book of job runs (its panoramas, its drafts).
CREATE TABLE jobs_centred (
    name             TEXT NOT NULL,
    last_slot        TEXT,
    last_run         TEXT,
    last_status      TEXT CHECK (last_status IN ('ok', 'error')),
    last_error       TEXT,
    last_duration_ms INTEGER,
    runs             INTEGER NOT NULL DEFAULT 0,
    failures         INTEGER NOT NULL DEFAULT 0,
    centre           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (centre, name)
);
INSERT INTO jobs_centred (name, last_slot, last_run, last_status, last_error, last_duration_ms,
                          runs, failures, centre)
SELECT name, last_slot, last_run, last_status, last_error, last_duration_ms, runs, failures, ''
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_centred RENAME TO jobs;

COMMIT;
PRAGMA foreign_keys = ON;
