-- 005_topic_features.sql — each ticket's FIRST topic and the as-of date of the
-- run that gave it, so churn features for a date t can use topics computed
-- by runs for dates <= t only (later refits re-assign tickets with models
-- that saw later tickets; their topics would leak into earlier features).

ALTER TABLE vigil.ticket_topics
    ADD COLUMN IF NOT EXISTS first_topic_id bigint,
    ADD COLUMN IF NOT EXISTS first_assigned_on date;
UPDATE vigil.ticket_topics
   SET first_topic_id = topic_id, first_assigned_on = assigned_on
 WHERE first_assigned_on IS NULL;
