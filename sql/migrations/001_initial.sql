-- 001_initial.sql — schema vigil as in CONTRACT.md section 3.
-- Applied by `vigil init` inside one transaction; never edit after release,
-- add a new numbered file instead.
CREATE TABLE IF NOT EXISTS vigil.models (
    model_id     bigserial PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    as_of        date NOT NULL,
    horizon_days int NOT NULL,
    features     jsonb NOT NULL,
    params       jsonb NOT NULL,
    metrics      jsonb NOT NULL,
    booster      bytea NOT NULL,
    is_champion  boolean NOT NULL DEFAULT false
);
-- At most one champion per horizon.
CREATE UNIQUE INDEX IF NOT EXISTS models_one_champion
    ON vigil.models (horizon_days) WHERE is_champion;

CREATE TABLE IF NOT EXISTS vigil.scores (
    as_of       date NOT NULL,
    customer_id text NOT NULL,
    model_id    bigint REFERENCES vigil.models (model_id),
    churn_risk  double precision NOT NULL CHECK (churn_risk >= 0 AND churn_risk <= 1),
    health      smallint NOT NULL CHECK (health BETWEEN 0 AND 100),
    tier        text NOT NULL CHECK (tier IN ('healthy', 'watch', 'at_risk', 'critical')),
    drivers     jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (as_of, customer_id)
);

CREATE TABLE IF NOT EXISTS vigil.topics (
    topic_id   bigserial PRIMARY KEY,
    label      text,
    terms      text[],
    size       int,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vigil.ticket_topics (
    ticket_id  text PRIMARY KEY,
    topic_id   bigint REFERENCES vigil.topics (topic_id),
    similarity real
);

CREATE TABLE IF NOT EXISTS vigil.trend_alerts (
    alert_id          bigserial PRIMARY KEY,
    topic_id          bigint REFERENCES vigil.topics (topic_id),
    detected_at       timestamptz NOT NULL,
    window_start      date,
    window_end        date,
    observed          int,
    expected          double precision,
    p_value           double precision,
    customers         int,
    mrr_at_risk       numeric,
    sample_ticket_ids text[],
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved'))
);

CREATE TABLE IF NOT EXISTS vigil.specialists (
    specialist_id  text PRIMARY KEY,
    name           text,
    email          text,
    languages      text[] NOT NULL DEFAULT '{}',
    skills         text[] NOT NULL DEFAULT '{}',
    daily_capacity int NOT NULL DEFAULT 10,
    active         boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS vigil.outreach_tasks (
    task_id     bigserial PRIMARY KEY,
    customer_id text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    due_at      timestamptz,
    priority    double precision,
    playbook    text NOT NULL,
    reason      jsonb,
    assignee    text,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'done', 'dismissed')),
    dedupe_key  text NOT NULL,
    outcome     text
);
-- One open (or assigned) task per dedupe key, enforced by the database.
CREATE UNIQUE INDEX IF NOT EXISTS outreach_tasks_one_open
    ON vigil.outreach_tasks (dedupe_key) WHERE status IN ('open', 'assigned');

CREATE TABLE IF NOT EXISTS vigil.job_runs (
    run_id        bigserial PRIMARY KEY,
    job           text NOT NULL,
    as_of         date,
    scheduled_for timestamptz,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'canceled')),
    stats         jsonb,
    error         text
);
CREATE INDEX IF NOT EXISTS job_runs_job_started ON vigil.job_runs (job, started_at DESC);
