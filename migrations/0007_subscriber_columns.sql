-- What the team's spreadsheets say about a subscriber, beyond the address and the display
-- name: kept by the import, shown by `subscribers list/export`, offered to the templates
-- ("Bonjour Hélène,") at send time.
ALTER TABLE subscribers ADD COLUMN first_name TEXT;
ALTER TABLE subscribers ADD COLUMN last_name TEXT;
ALTER TABLE subscribers ADD COLUMN organisation TEXT;
ALTER TABLE subscribers ADD COLUMN commune TEXT;
