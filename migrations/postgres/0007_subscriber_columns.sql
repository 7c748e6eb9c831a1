-- PostgreSQL twin of migrations/0007: what the team's spreadsheets say about a subscriber.
ALTER TABLE subscribers ADD COLUMN first_name TEXT;
ALTER TABLE subscribers ADD COLUMN last_name TEXT;
ALTER TABLE subscribers ADD COLUMN organisation TEXT;
ALTER TABLE subscribers ADD COLUMN commune TEXT;
