-- 010_alert_day_topic.sql — the lead topic of a topic alert as of each day.
-- A resolved alert whose lead topic left the model (a re-clustering) is
-- opened again led by the topic its issue rose in (topics/alerts.c, "one
-- alert per issue"); re-running an earlier date must give it back its lead
-- of that day.
ALTER TABLE vigil.trend_alert_days ADD COLUMN IF NOT EXISTS topic_id bigint;
