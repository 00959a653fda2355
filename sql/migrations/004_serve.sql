-- 004_serve.sql — what `vigil serve` needs in vigil.job_runs: attempts per
-- scheduled time, and the database-enforced "one run per scheduled time".
--
-- A scheduled run may take several attempts (a retry after a transient
-- database error, a redo after the instance running it died); each attempt
-- is its own row, numbered from 1. Command-line runs keep attempt 1.
ALTER TABLE vigil.job_runs ADD COLUMN IF NOT EXISTS attempt int NOT NULL DEFAULT 1;

-- Two instances claiming the same attempt: one insert wins.
CREATE UNIQUE INDEX IF NOT EXISTS job_runs_scheduled_attempt
    ON vigil.job_runs (job, scheduled_for, attempt)
    WHERE scheduled_for IS NOT NULL;

-- Single flight: at most one attempt of a scheduled time is running or has
-- succeeded, whatever the instances do.
CREATE UNIQUE INDEX IF NOT EXISTS job_runs_scheduled_once
    ON vigil.job_runs (job, scheduled_for)
    WHERE scheduled_for IS NOT NULL AND status IN ('running', 'ok');

-- The sweep for abandoned runs reads only running rows.
CREATE INDEX IF NOT EXISTS job_runs_running
    ON vigil.job_runs (run_id) WHERE status = 'running';
