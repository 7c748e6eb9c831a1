-- PostgreSQL twin of migrations/0011: anonymous click counts, a counter per link of each
-- sent edition.
CREATE TABLE edition_links (
    kind TEXT NOT NULL,
    number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    url TEXT NOT NULL,
    clicks BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, number, position),
    UNIQUE (kind, number, url)
);
