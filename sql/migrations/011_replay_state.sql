-- 011_replay_state.sql — what `vigil topics --replay` of an earlier date must
-- put back to see that date as its run saw it. A re-clustering re-assigns
-- every ticket of the window and relabels the topics it keeps; rewinding
-- used to send a ticket back to its *first* topic (often a topic of an
-- older model, no longer counted) and left the later labels in place, so a
-- replayed day counted its topics differently from the day's own run and
-- raised alerts that run never raised.

-- A ticket's assignments that a later re-clustering replaced: valid from
-- assigned_on until replaced_on.
CREATE TABLE IF NOT EXISTS vigil.ticket_topic_history (
    ticket_id   text NOT NULL,
    topic_id    bigint,
    similarity  real,
    model_id    bigint,
    assigned_on date NOT NULL,
    replaced_on date NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_topic_history_replaced
    ON vigil.ticket_topic_history (replaced_on);
-- Restoring joins it to vigil.ticket_topics by ticket.
CREATE INDEX IF NOT EXISTS ticket_topic_history_ticket
    ON vigil.ticket_topic_history (ticket_id);

-- Each model's labels of its topics (vigil.topics holds the latest).
ALTER TABLE vigil.topic_centroids
    ADD COLUMN IF NOT EXISTS label text,
    ADD COLUMN IF NOT EXISTS terms text[],
    ADD COLUMN IF NOT EXISTS surface_terms text[],
    ADD COLUMN IF NOT EXISTS sample_ticket_ids text[];

-- Rewinding finds the assignments made on or after a date.
CREATE INDEX IF NOT EXISTS ticket_topics_assigned_on
    ON vigil.ticket_topics (assigned_on);
