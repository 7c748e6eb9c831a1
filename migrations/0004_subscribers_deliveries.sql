-- Subscribers, their lists (with the consent record), the suppression list (keyed hashes:
-- an erased address leaves no personal data) and the per-recipient delivery ledger.
CREATE TABLE subscribers (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,   -- lowercased
    name        TEXT,
    created_at  TEXT NOT NULL,
    bounces     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subscriptions (
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    list            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')),
    consent_at      TEXT NOT NULL,
    consent_how     TEXT NOT NULL,   -- 'import', 'formulaire', …
    consent_source  TEXT NOT NULL,   -- file name, IP address, …
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, list)
);
CREATE INDEX subscriptions_list ON subscriptions (list, status);

CREATE TABLE suppressions (
    hash    TEXT PRIMARY KEY,        -- HMAC-SHA256 of the lowercased address, hex
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL
);

CREATE TABLE deliveries (
    edition_id      INTEGER NOT NULL REFERENCES editions(id),
    subscriber_id   INTEGER,         -- NULL once the subscriber is erased
    email           TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed_temp', 'failed_perm', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_reply      TEXT,
    message_id      TEXT NOT NULL,
    next_attempt    TEXT,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT,
    PRIMARY KEY (edition_id, email)
);
CREATE INDEX deliveries_state ON deliveries (edition_id, state);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
