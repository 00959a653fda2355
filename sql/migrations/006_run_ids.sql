-- 006: which run wrote a row, so `vigil runs undo RUN_ID` can remove exactly
-- that run's results. A job sets the session setting vigil.run_id to its
-- vigil.job_runs row for as long as it runs; the defaults below pick it up,
-- so the stages that write these tables need not know about it. Rows written
-- outside a job (tasks closed by hand, older versions) have NULL.
ALTER TABLE vigil.scores
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;
ALTER TABLE vigil.models
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;
ALTER TABLE vigil.outreach_tasks
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint,
    -- the run that closed the task (auto-close), NULL when a person did
    ADD COLUMN IF NOT EXISTS closed_run_id bigint;
ALTER TABLE vigil.topic_models
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;
ALTER TABLE vigil.trend_alerts
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;
ALTER TABLE vigil.trend_alert_days
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;
ALTER TABLE vigil.ticket_topics
    ADD COLUMN IF NOT EXISTS run_id bigint
        DEFAULT nullif(current_setting('vigil.run_id', true), '')::bigint;

CREATE INDEX IF NOT EXISTS scores_run ON vigil.scores (run_id);
CREATE INDEX IF NOT EXISTS outreach_tasks_run ON vigil.outreach_tasks (run_id);

-- An UPDATE keeps no default: a trigger records the run that closes a task.
CREATE OR REPLACE FUNCTION vigil.outreach_tasks_closed_run() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.status IN ('done', 'dismissed') AND OLD.status IN ('open', 'assigned') THEN
        NEW.closed_run_id := nullif(current_setting('vigil.run_id', true), '')::bigint;
    ELSIF NEW.status IN ('open', 'assigned') THEN
        NEW.closed_run_id := NULL;
    END IF;
    RETURN NEW;
END
$fn$;
DROP TRIGGER IF EXISTS outreach_tasks_closed_run ON vigil.outreach_tasks;
CREATE TRIGGER outreach_tasks_closed_run
    BEFORE UPDATE OF status ON vigil.outreach_tasks
    FOR EACH ROW EXECUTE FUNCTION vigil.outreach_tasks_closed_run();

-- Where deliveries go, and from which task and alert on: a target
-- (webhook, rt) configured for the first time gets what is created from
-- then on, not the backlog already in the queue. Targets that already have
-- deliveries keep getting everything (cut-off 0).
CREATE TABLE IF NOT EXISTS vigil.delivery_targets (
    target              text PRIMARY KEY CHECK (target IN ('webhook', 'rt')),
    first_configured_at timestamptz NOT NULL DEFAULT now(),
    task_cutoff         bigint NOT NULL,  -- tasks with a higher id are sent
    alert_cutoff        bigint NOT NULL   -- alerts with a higher id are sent
);
INSERT INTO vigil.delivery_targets (target, task_cutoff, alert_cutoff)
SELECT DISTINCT target, 0, 0 FROM vigil.deliveries
ON CONFLICT (target) DO NOTHING;
