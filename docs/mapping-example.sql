-- mapping-example.sql — the worked example of docs/MAPPING.md, runnable.
--
-- A typical company keeps its product analytics in one schema (`app`:
-- accounts, subscriptions, users, events) and its helpdesk in another
-- (`helpdesk`: organizations, tickets, satisfaction ratings). vigil reads
-- neither directly: the views in schema `crm` at the end map them onto the
-- three relations of docs/CONTRACT.md, and the config says
-- {"source": {"schema": "crm"}}.
--
-- Part 1 builds the company's own tables with a small deterministic data
-- set (replace it with your real tables); part 2 is the mapping you would
-- write. `psql -v ON_ERROR_STOP=1 -f docs/mapping-example.sql` runs both; the
-- test suite runs it and then `vigil check` on the result.

-- ---- part 1: the company's own schema (an example) -------------------------
DROP SCHEMA IF EXISTS crm CASCADE;
DROP SCHEMA IF EXISTS helpdesk CASCADE;
DROP SCHEMA IF EXISTS app CASCADE;
CREATE SCHEMA app;
CREATE SCHEMA helpdesk;

CREATE TABLE app.accounts (
    id            bigint PRIMARY KEY,
    company_name  text NOT NULL,
    signed_up_at  timestamp NOT NULL,   -- the product stores UTC without a zone
    country       text,
    industry      text,
    employee_band text,
    locale        text                  -- 'de_DE', 'en_US', ...
);
CREATE TABLE app.subscriptions (
    account_id    bigint REFERENCES app.accounts,
    plan_code     text NOT NULL,
    monthly_cents integer NOT NULL,     -- price in cents
    seat_count    integer,
    started_at    timestamp NOT NULL,
    ended_at      timestamp             -- null while it runs
);
CREATE TABLE app.users (
    id         bigint PRIMARY KEY,
    account_id bigint REFERENCES app.accounts,
    email      text
);
CREATE TABLE app.events (
    id         bigserial PRIMARY KEY,
    user_id    bigint REFERENCES app.users,
    name       text NOT NULL,           -- 'login', 'report.run', 'api.call'
    ts         timestamp NOT NULL,
    count      integer                  -- batched API calls; null = 1
);
CREATE TABLE helpdesk.organizations (
    id          bigint PRIMARY KEY,
    external_id text                    -- the product's account id, as text
);
CREATE TABLE helpdesk.tickets (
    id                bigint PRIMARY KEY,
    organization_id   bigint REFERENCES helpdesk.organizations,
    created           timestamptz NOT NULL,
    first_reply       timestamptz,
    solved            timestamptz,
    state             text,             -- 'new', 'open', 'pending', 'solved', 'closed'
    urgency           text,             -- 'Low', 'Normal', 'High', 'Urgent'
    via               text,
    title             text,
    description       text,
    reopened_count    integer,
    escalation_level  integer           -- 0 none, 1+ escalated
);
CREATE TABLE helpdesk.satisfaction_ratings (
    ticket_id bigint REFERENCES helpdesk.tickets,
    score     text,                     -- 'good' | 'bad'
    rated_at  timestamptz
);

-- 400 accounts over two years; every fifth one cancels, spread over the last
-- 300 days; usage thins out before a cancellation; tickets every few days.
INSERT INTO app.accounts
SELECT i, 'Company ' || i,
       timestamp '2025-01-01' + (i % 365) * interval '1 day',
       (ARRAY['DE', 'US', 'FR', 'ES'])[1 + i % 4],
       (ARRAY['Retail', 'Software', 'Health', 'Finance', 'Media'])[1 + i % 5],
       (ARRAY['1-10', '11-50', '51-200', '201+'])[1 + i % 4],
       (ARRAY['de_DE', 'en_US', 'fr_FR', 'es_ES'])[1 + i % 4]
  FROM generate_series(1, 400) i;
INSERT INTO app.subscriptions
SELECT a.id, (ARRAY['starter', 'team', 'business'])[1 + a.id % 3],
       (ARRAY[4900, 19900, 79900])[1 + a.id % 3], 3 + a.id % 40,
       a.signed_up_at,
       CASE WHEN a.id % 5 = 0
            THEN greatest(a.signed_up_at + interval '40 days',
                          timestamp '2026-06-01' - (a.id % 300) * interval '1 day')
                 + interval '9 hours' END
  FROM app.accounts a;
INSERT INTO app.users
SELECT a.id * 10 + u, a.id, 'user' || u || '@company' || a.id || '.example'
  FROM app.accounts a, generate_series(0, 2) u;
INSERT INTO app.events (user_id, name, ts, count)
SELECT u.id, (ARRAY['login', 'report.run', 'api.call'])[1 + (d + u.id) % 3],
       timestamp '2025-06-01' + d * interval '1 day'
           + ((u.id * 7 + d) % 20) * interval '1 hour',
       CASE WHEN (d + u.id) % 3 = 2 THEN 1 + u.id % 5 END
  FROM app.users u
  JOIN app.subscriptions s ON s.account_id = u.account_id
  CROSS JOIN generate_series(0, 364) d
 WHERE timestamp '2025-06-01' + d * interval '1 day' >= s.started_at
   AND (s.ended_at IS NULL
        OR timestamp '2025-06-01' + d * interval '1 day' < s.ended_at
           - CASE WHEN u.id % 10 = 0 THEN interval '0 days'
                  ELSE interval '20 days' END)
   AND (d + u.id) % 2 = 0;
INSERT INTO helpdesk.organizations
SELECT 1000 + id, id::text FROM app.accounts;
INSERT INTO helpdesk.tickets
SELECT t, 1000 + 1 + t % 400,
       timestamptz '2025-06-01 08:00+00' + (t % 365) * interval '1 day'
           + (t % 9) * interval '1 hour',
       timestamptz '2025-06-01 08:00+00' + (t % 365) * interval '1 day'
           + (t % 9) * interval '1 hour' + (1 + t % 7) * interval '1 hour',
       CASE WHEN t % 11 <> 0
            THEN timestamptz '2025-06-01 08:00+00' + (t % 365) * interval '1 day'
                 + (t % 9 + 20) * interval '1 hour' END,
       CASE WHEN t % 11 <> 0 THEN 'solved' ELSE 'open' END,
       (ARRAY['Low', 'Normal', 'High', 'Urgent'])[1 + t % 4],
       (ARRAY['email', 'chat', 'phone'])[1 + t % 3],
       (ARRAY['Cannot export report', 'Invoice question', 'Login fails',
              'API rate limit', 'How to add seats'])[1 + t % 5],
       'Hello, ' || (ARRAY['the export to CSV times out since yesterday',
                           'we were charged twice this month',
                           'SSO login fails with an error page',
                           'our integration hits the API limit',
                           'how do we add three more seats'])[1 + t % 5],
       t % 13 / 12, t % 17 / 16
  FROM generate_series(1, 3000) t;
INSERT INTO helpdesk.satisfaction_ratings
SELECT id, CASE WHEN id % 4 = 0 THEN 'bad' ELSE 'good' END, solved
  FROM helpdesk.tickets WHERE solved IS NOT NULL AND id % 2 = 0;

-- ---- part 2: the mapping (what you write) ----------------------------------
CREATE SCHEMA crm;

-- customers: one row per paying account. The subscription carries the plan,
-- the price and the end date; an account whose latest subscription ended is
-- canceled at that moment. Other columns (country, industry, employee_band)
-- become customer attribute features by themselves.
CREATE VIEW crm.customers AS
SELECT a.id::text                              AS customer_id,
       a.company_name                          AS name,
       a.signed_up_at AT TIME ZONE 'UTC'       AS created_at,
       s.ended_at AT TIME ZONE 'UTC'           AS canceled_at,
       s.plan_code                             AS plan,
       s.monthly_cents / 100.0                 AS mrr,
       s.seat_count                            AS seats,
       split_part(a.locale, '_', 1)            AS language,
       -- extra columns become attribute features; a date column can also
       -- drive a playbook (docs/vigil.sample.json's "renewal")
       (s.started_at + interval '1 year' * (1 + floor(extract(epoch FROM
           now()::timestamp - s.started_at) / (365.25 * 86400))))::date
                                               AS renewal_date,
       a.country, a.industry, a.employee_band
  FROM app.accounts a
  JOIN LATERAL (SELECT * FROM app.subscriptions s
                 WHERE s.account_id = a.id
                 ORDER BY s.started_at DESC LIMIT 1) s ON true;

-- usage_events: events belong to users; the account comes through them.
CREATE VIEW crm.usage_events AS
SELECT u.account_id::text               AS customer_id,
       e.ts AT TIME ZONE 'UTC'          AS occurred_at,
       e.name                           AS event_type,
       e.user_id::text                  AS user_id,
       e.count::double precision        AS quantity
  FROM app.events e
  JOIN app.users u ON u.id = e.user_id;

-- tickets: the helpdesk knows organizations; their external_id is the
-- product's account id. Ratings live in their own table ('good'/'bad' become
-- 5 and 1 on the contract's 1..5 scale); escalation is a level, not a flag.
CREATE VIEW crm.tickets AS
SELECT t.id::text                        AS ticket_id,
       o.external_id                     AS customer_id,
       t.created                         AS created_at,
       t.first_reply                     AS first_response_at,
       t.solved                          AS resolved_at,
       CASE t.state WHEN 'new' THEN 'open' ELSE t.state END AS status,
       lower(t.urgency)                  AS priority,
       t.via                             AS channel,
       t.title                           AS subject,
       t.description                     AS body,
       (CASE r.score WHEN 'good' THEN 5 WHEN 'bad' THEN 1 END)::smallint AS csat,
       t.reopened_count                  AS reopens,
       t.escalation_level > 0            AS escalated
  FROM helpdesk.tickets t
  LEFT JOIN helpdesk.organizations o ON o.id = t.organization_id
  LEFT JOIN helpdesk.satisfaction_ratings r ON r.ticket_id = t.id;
