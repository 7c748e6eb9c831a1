-- Leases of the daemon's polling (issue 16): at each slot one process fetches a source for
-- all the processes sharing the store, keyed by URL so that a source several centres list is
-- fetched once; a lease expires if its holder dies, and another process finishes the slot.
CREATE TABLE source_leases (
    url TEXT NOT NULL,
    slot TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (url, slot)
);
CREATE INDEX source_leases_slot ON source_leases (slot);
