-- PostgreSQL twin of migrations/0019: the messages of a centre's bounce mailbox are that
-- centre's, for its figures; a message is still processed once.
ALTER TABLE bounce_messages ADD COLUMN centre TEXT NOT NULL DEFAULT '';
