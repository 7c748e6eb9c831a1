-- The item's image as its feed gave it (RSS enclosure, Media RSS content or thumbnail), an
-- absolute URL; panoramas show it, emails only when their kind asks for it.
ALTER TABLE articles ADD COLUMN image TEXT;
