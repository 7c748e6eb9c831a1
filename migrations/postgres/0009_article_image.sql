-- PostgreSQL twin of migrations/0009: the item's image as its feed gave it.
ALTER TABLE articles ADD COLUMN image TEXT;
