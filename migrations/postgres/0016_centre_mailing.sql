-- Centres of the network (issue 16): the twin of migrations/0016_centre_mailing.sql. Editions,
-- subscribers, the suppression list, the click counters and the job book belong to a centre;
-- the keys gain it. PostgreSQL changes the keys in place.
ALTER TABLE editions ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE editions DROP CONSTRAINT editions_kind_number_key;
ALTER TABLE editions ADD CONSTRAINT editions_centre_kind_number_key UNIQUE (centre, kind, number);

-- A sent edition stays immutable; its owner may be set once ('' → id), when the first named
-- centre adopts the archive's rows.
DROP TRIGGER editions_sent_immutable ON editions;
CREATE TRIGGER editions_sent_immutable BEFORE UPDATE OF id, kind, number, period_start,
    period_end, status, created_at, updated_at, rendered_at, sent_at ON editions
FOR EACH ROW WHEN (OLD.status = 'sent') EXECUTE FUNCTION edition_sent_refuse();
CREATE TRIGGER editions_sent_owned BEFORE UPDATE OF centre ON editions
FOR EACH ROW WHEN (OLD.status = 'sent' AND OLD.centre <> '') EXECUTE FUNCTION edition_sent_refuse();

ALTER TABLE subscribers ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers DROP CONSTRAINT subscribers_email_key;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_centre_email_key UNIQUE (centre, email);

ALTER TABLE suppressions ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE suppressions DROP CONSTRAINT suppressions_pkey;
ALTER TABLE suppressions ADD PRIMARY KEY (centre, hash);

ALTER TABLE edition_links ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE edition_links DROP CONSTRAINT edition_links_pkey;
ALTER TABLE edition_links DROP CONSTRAINT edition_links_kind_number_url_key;
ALTER TABLE edition_links ADD PRIMARY KEY (centre, kind, number, position);
ALTER TABLE edition_links ADD CONSTRAINT edition_links_centre_kind_number_url_key
    UNIQUE (centre, kind, number, url);

ALTER TABLE jobs ADD COLUMN centre TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs DROP CONSTRAINT jobs_pkey;
ALTER TABLE jobs ADD PRIMARY KEY (centre, name);
