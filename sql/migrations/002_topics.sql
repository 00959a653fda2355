-- 002_topics.sql — what the topic engine keeps between runs: each day's
-- fitted model (vocabulary + centroids) so ids stay stable and new tickets are
-- assigned incrementally, identity links, and each alert's day-by-day history
-- so a replay can rewind to any date.

ALTER TABLE vigil.topics
    ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'merged', 'gone')),
    ADD COLUMN IF NOT EXISTS first_seen date,
    ADD COLUMN IF NOT EXISTS last_seen date,
    ADD COLUMN IF NOT EXISTS merged_into bigint,
    ADD COLUMN IF NOT EXISTS surface_terms text[],
    ADD COLUMN IF NOT EXISTS sample_ticket_ids text[];

-- One row per full re-clustering; as_of is the date it was fitted for.
CREATE TABLE IF NOT EXISTS vigil.topic_models (
    model_id   bigserial PRIMARY KEY,
    as_of      date NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    n_docs     int NOT NULL,
    threshold  double precision NOT NULL,
    params     jsonb,
    stats      jsonb
);

-- The model's vocabulary: column col is the term's rank in byte order.
CREATE TABLE IF NOT EXISTS vigil.topic_vocab (
    model_id bigint NOT NULL REFERENCES vigil.topic_models ON DELETE CASCADE,
    col      int NOT NULL,
    term     text NOT NULL,
    surface  text NOT NULL,
    df       int NOT NULL,
    PRIMARY KEY (model_id, col)
);

-- Unit-length centroids, sparse: weights vals at vocabulary columns cols.
CREATE TABLE IF NOT EXISTS vigil.topic_centroids (
    model_id bigint NOT NULL REFERENCES vigil.topic_models ON DELETE CASCADE,
    topic_id bigint NOT NULL REFERENCES vigil.topics,
    size     int NOT NULL,
    cols     int[] NOT NULL,
    vals     real[] NOT NULL,
    PRIMARY KEY (model_id, topic_id)
);

-- How each refit's topics relate to the previous model's: merges and splits
-- are recorded here, never silently renumbered.
CREATE TABLE IF NOT EXISTS vigil.topic_links (
    model_id     bigint NOT NULL REFERENCES vigil.topic_models ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('match', 'split', 'merge', 'new', 'gone')),
    old_topic_id bigint,
    new_topic_id bigint,
    similarity   real
);

ALTER TABLE vigil.ticket_topics
    ADD COLUMN IF NOT EXISTS model_id bigint,
    ADD COLUMN IF NOT EXISTS assigned_on date;
CREATE INDEX IF NOT EXISTS ticket_topics_topic ON vigil.ticket_topics (topic_id);

ALTER TABLE vigil.trend_alerts
    ADD COLUMN IF NOT EXISTS kind text CHECK (kind IN ('new', 'emerging', 'spike')),
    ADD COLUMN IF NOT EXISTS label text,
    ADD COLUMN IF NOT EXISTS terms text[],
    ADD COLUMN IF NOT EXISTS updated_on date,
    ADD COLUMN IF NOT EXISTS resolved_on date,
    ADD COLUMN IF NOT EXISTS details jsonb;
-- One open alert per topic: an ongoing event is updated, not raised again.
CREATE UNIQUE INDEX IF NOT EXISTS trend_alerts_one_open
    ON vigil.trend_alerts (topic_id) WHERE status = 'open';

-- Every run's view of every alert it touched, so re-running a past date
-- (vigil topics --replay) can restore what the alert looked like before it.
CREATE TABLE IF NOT EXISTS vigil.trend_alert_days (
    alert_id  bigint NOT NULL REFERENCES vigil.trend_alerts ON DELETE CASCADE,
    as_of     date NOT NULL,
    kind      text,
    status    text NOT NULL,
    window_start date,
    window_end   date,
    observed  int,
    expected  double precision,
    p_value   double precision,
    customers int,
    mrr_at_risk numeric,
    sample_ticket_ids text[],
    PRIMARY KEY (alert_id, as_of)
);
