-- Centres of the network (issue 16): the messages of a centre's bounce mailbox are that
-- centre's, for its figures (`veille edition report`, health). A message (keyed by the hash
-- of its content) is still processed once; the events it carried follow their subscriber.
-- Rows of an older archive go to the single-centre default '' and are adopted by the first
-- named centre (`store::centres`).
ALTER TABLE bounce_messages ADD COLUMN centre TEXT NOT NULL DEFAULT '';
