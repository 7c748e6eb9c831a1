-- Editions (Flash Info, Lettre Pauvreté, network letters): numbered per kind, with a period,
-- a status, ordered items (stories, optionally retitled) and free Markdown blocks.
CREATE TABLE editions (
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
    UNIQUE (kind, number)
);

CREATE TABLE edition_items (
    edition_id  INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    story       INTEGER NOT NULL,
    section     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    title       TEXT,
    lede        TEXT,
    PRIMARY KEY (edition_id, story)
);

CREATE TABLE edition_blocks (
    id          INTEGER PRIMARY KEY,
    edition_id  INTEGER NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('intro', 'agenda', 'news', 'text')),
    position    INTEGER NOT NULL,
    title       TEXT,
    body        TEXT NOT NULL,
    event_date  TEXT,
    place       TEXT
);

-- A sent edition is immutable: the database itself refuses any change to it, whoever asks.
CREATE TRIGGER editions_sent_immutable BEFORE UPDATE ON editions
WHEN OLD.status = 'sent'
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
