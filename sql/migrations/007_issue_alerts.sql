-- 006_issue_alerts.sql — alerts about an issue rather than one topic: a new
-- issue found from its bursting words (source 'terms', topic_id NULL) and
-- sibling topics merged into it. key_terms identify the issue from day to
-- day; ticket_ids are its tickets in the latest window; languages and
-- topic_ids what it spans.

ALTER TABLE vigil.trend_alerts
    ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'topic'
        CHECK (source IN ('topic', 'terms')),
    ADD COLUMN IF NOT EXISTS key_terms text[],
    ADD COLUMN IF NOT EXISTS languages text[],
    ADD COLUMN IF NOT EXISTS topic_ids bigint[],
    ADD COLUMN IF NOT EXISTS ticket_ids text[];

ALTER TABLE vigil.trend_alert_days
    ADD COLUMN IF NOT EXISTS label text,
    ADD COLUMN IF NOT EXISTS key_terms text[],
    ADD COLUMN IF NOT EXISTS languages text[],
    ADD COLUMN IF NOT EXISTS topic_ids bigint[],
    ADD COLUMN IF NOT EXISTS ticket_ids text[];
