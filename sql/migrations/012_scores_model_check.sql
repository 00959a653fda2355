-- 012_scores_model_check.sql — vigil.scores.model_id is checked once per
-- scoring run instead of once per row. The foreign key to vigil.models ran
-- an SPI query per COPYed row that locked the model row (FOR KEY SHARE):
-- ~7 of the server's ~17 CPU-seconds of a million-row COPY, all of them for
-- the same model. Integrity now rests on two halves:
--  * `score` locks its model row FOR KEY SHARE inside its transaction and
--    stops when the row is gone (score/score.c), so no run can write scores
--    of a model deleted before it commits, and a model delete waits for the
--    runs scoring with it;
--  * the triggers below refuse to delete a model (or change its id) that
--    scores still use, checked once per statement after any wait for such a
--    run, with a fresh snapshot: so the rows of a run that committed while
--    the delete waited are seen.
DO $$
DECLARE c text;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'vigil.scores'::regclass AND contype = 'f'
               AND confrelid = 'vigil.models'::regclass
    LOOP
        EXECUTE format('ALTER TABLE vigil.scores DROP CONSTRAINT %I', c);
    END LOOP;
END
$$;

-- Refuses a statement that deleted or renumbered models scores still use.
CREATE OR REPLACE FUNCTION vigil.models_in_use() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    ids bigint[];
    m bigint;
    dates text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(o.model_id) INTO ids FROM gone o
        WHERE NOT EXISTS (SELECT 1 FROM kept n WHERE n.model_id = o.model_id);
    ELSE
        SELECT array_agg(model_id) INTO ids FROM gone;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;  -- no model went (a champion flag changed, say)
    END IF;
    -- A transaction snapshot (REPEATABLE READ, SERIALIZABLE) taken before a
    -- scoring run committed would not see that run's rows.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'delete or renumber vigil.models rows in a READ '
            'COMMITTED transaction (the default): a % one cannot see the '
            'scores of a run that committed meanwhile',
            current_setting('transaction_isolation')
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT s.model_id INTO m FROM vigil.scores s
    WHERE s.model_id = ANY (ids) LIMIT 1;
    IF m IS NOT NULL THEN
        SELECT string_agg(DISTINCT as_of::text, ', ') INTO dates
        FROM vigil.scores WHERE model_id = m;
        RAISE EXCEPTION 'model % has scored customers on %: undo those score '
            'runs first (`vigil runs list --job score`, then `vigil runs undo '
            'RUN_ID`)', m, dates
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$fn$;

-- TRUNCATE vigil.models, vigil.scores together stays allowed: the AFTER
-- trigger runs once both are empty.
CREATE OR REPLACE FUNCTION vigil.models_truncated() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM vigil.scores WHERE model_id IS NOT NULL) THEN
        RAISE EXCEPTION 'vigil.scores still uses the models: truncate '
            'vigil.models and vigil.scores together'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS models_deleted_in_use ON vigil.models;
CREATE TRIGGER models_deleted_in_use
    AFTER DELETE ON vigil.models REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION vigil.models_in_use();
DROP TRIGGER IF EXISTS models_renumbered_in_use ON vigil.models;
CREATE TRIGGER models_renumbered_in_use
    AFTER UPDATE ON vigil.models REFERENCING OLD TABLE AS gone NEW TABLE AS kept
    FOR EACH STATEMENT EXECUTE FUNCTION vigil.models_in_use();
DROP TRIGGER IF EXISTS models_truncated_in_use ON vigil.models;
CREATE TRIGGER models_truncated_in_use
    AFTER TRUNCATE ON vigil.models
    FOR EACH STATEMENT EXECUTE FUNCTION vigil.models_truncated();
