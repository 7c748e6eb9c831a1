-- PostgreSQL twin of migrations/0021: two centres may read one bounce mailbox, and each
-- processes a message once for its own subscribers, so the key of `bounce_messages` becomes
-- (centre, message_key). The events' reference to `bounce_messages(message_key)`, no longer
-- unique on its own, goes with the old key (CASCADE drops that constraint only).
ALTER TABLE bounce_messages DROP CONSTRAINT bounce_messages_pkey CASCADE;
ALTER TABLE bounce_messages ADD PRIMARY KEY (centre, message_key);
