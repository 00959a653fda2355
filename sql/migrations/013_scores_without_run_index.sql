-- 013_scores_without_run_index.sql — vigil.scores loses its index on run_id
-- (migration 006). Every COPYed score row paid an insert into it, and every
-- vacuum after a re-score a pass over it; its only reader was `vigil runs
-- undo`, and a run writes scores for one date only (vigil.job_runs.as_of),
-- so undo now finds a run's rows through the primary key's leading as_of
-- (service/cmd_runs.c) and filters them by run_id.
DROP INDEX IF EXISTS vigil.scores_run;
