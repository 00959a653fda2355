-- 003_outreach.sql — the outreach queue's working columns, the delivery
-- outbox (webhook, Request Tracker) and the view a helpdesk reads.
-- Contract columns of vigil.outreach_tasks are unchanged; these are additions.
ALTER TABLE vigil.outreach_tasks
    ADD COLUMN IF NOT EXISTS title        text,
    ADD COLUMN IF NOT EXISTS body         text,
    -- the as-of date of the run that created the task, and the latest as-of
    -- date whose run found its trigger still holding (auto-close reads it)
    ADD COLUMN IF NOT EXISTS as_of        date,
    ADD COLUMN IF NOT EXISTS last_as_of   date,
    ADD COLUMN IF NOT EXISTS updated_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS assigned_at  timestamptz,
    ADD COLUMN IF NOT EXISTS closed_at    timestamptz,
    ADD COLUMN IF NOT EXISTS outcome_note text,
    -- revenue at stake when the task was last refreshed, for outcome reports
    ADD COLUMN IF NOT EXISTS mrr          numeric,
    ADD COLUMN IF NOT EXISTS churn_risk   double precision,
    ADD COLUMN IF NOT EXISTS rt_ticket_id bigint;

-- A closed task always says how it ended; an open one never has an outcome.
ALTER TABLE vigil.outreach_tasks DROP CONSTRAINT IF EXISTS outreach_tasks_outcome_chk;
ALTER TABLE vigil.outreach_tasks ADD CONSTRAINT outreach_tasks_outcome_chk
    CHECK ((status IN ('done', 'dismissed')) = (outcome IS NOT NULL));
-- 'assigned' means somebody holds it; 'open' means nobody does.
ALTER TABLE vigil.outreach_tasks DROP CONSTRAINT IF EXISTS outreach_tasks_assignee_chk;
ALTER TABLE vigil.outreach_tasks ADD CONSTRAINT outreach_tasks_assignee_chk
    CHECK (status <> 'assigned' OR assignee IS NOT NULL);

-- Cooldown looks up the latest closed task per key; reports group by playbook.
CREATE INDEX IF NOT EXISTS outreach_tasks_key_closed
    ON vigil.outreach_tasks (dedupe_key, closed_at DESC) WHERE status IN ('done', 'dismissed');
CREATE INDEX IF NOT EXISTS outreach_tasks_open_prio
    ON vigil.outreach_tasks (priority DESC, task_id) WHERE status IN ('open', 'assigned');
CREATE UNIQUE INDEX IF NOT EXISTS outreach_tasks_rt_ticket
    ON vigil.outreach_tasks (rt_ticket_id) WHERE rt_ticket_id IS NOT NULL;

-- The outbox: one row per (target, event). Filled in the transaction that
-- creates the task, so a committed task is never without its delivery and a
-- rolled-back one never has one. The idempotency key is what receivers see.
CREATE TABLE IF NOT EXISTS vigil.deliveries (
    delivery_id     bigserial PRIMARY KEY,
    target          text NOT NULL CHECK (target IN ('webhook', 'rt')),
    kind            text NOT NULL CHECK (kind IN ('task', 'alert')),
    ref_id          bigint NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    gave_up_at      timestamptz,
    last_status     int,
    last_error      text,
    external_id     text  -- e.g. the RT ticket id
);
CREATE INDEX IF NOT EXISTS deliveries_due
    ON vigil.deliveries (next_attempt_at, delivery_id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- What a helpdesk (or a person with psql) reads: the live queue, most
-- valuable first, with the customer's name and the reason in words.
CREATE OR REPLACE VIEW vigil.outreach_queue AS
SELECT t.task_id, t.status, t.assignee, t.priority, t.due_at, t.playbook,
       t.customer_id, t.title, t.body, t.created_at, t.as_of, t.last_as_of,
       t.mrr, t.churn_risk, t.reason->>'unassigned' AS unassigned_reason,
       t.reason, t.rt_ticket_id
  FROM vigil.outreach_tasks t
 WHERE t.status IN ('open', 'assigned')
 ORDER BY t.priority DESC NULLS LAST, t.task_id;
