-- Anonymous click counts (`[mail] count_clicks`, off by default): the links each sent edition
-- carried, numbered per edition, and how many times each was followed. No recipient, no
-- address, no time: a counter per link, nothing else.
CREATE TABLE edition_links (
    kind TEXT NOT NULL,
    number INTEGER NOT NULL,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    clicks INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, number, position),
    UNIQUE (kind, number, url)
);
