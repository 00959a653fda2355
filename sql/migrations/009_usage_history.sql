-- 009_usage_history.sql — family lifetime's summary of the usage events
-- before a cut date, per customer, so that scoring and training read the
-- old history once a week instead of on every run (features/build.c,
-- "history"). One row per (source schema, cut, customer): the usable
-- rows, their quantity, the last one and the quantity per type. Only
-- events strictly before `cut` are in it, and a run uses a cut at or before
-- its first window boundary, so nothing on or after an as-of date is.
-- A cache: deleting any of it is safe (it is rebuilt on the next run).

CREATE TABLE IF NOT EXISTS vigil.usage_history_cuts (
    source_schema text NOT NULL,
    cut date NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_schema, cut)
);

CREATE TABLE IF NOT EXISTS vigil.usage_history (
    source_schema text NOT NULL,
    cut date NOT NULL,
    customer_id text NOT NULL,
    event_rows bigint NOT NULL,     -- usable rows before the cut
    quantity float8 NOT NULL,       -- their quantity (null counts 1)
    last_day float8 NOT NULL,       -- the last one, epoch days
    event_types text[] NOT NULL,    -- quantity per event type
    quantities float8[] NOT NULL,
    PRIMARY KEY (source_schema, cut, customer_id),
    FOREIGN KEY (source_schema, cut)
        REFERENCES vigil.usage_history_cuts ON DELETE CASCADE
);
