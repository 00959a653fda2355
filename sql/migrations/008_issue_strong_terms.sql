-- 008_issue_strong_terms.sql — the words that define an issue alert. An
-- issue's tickets are those with one of its strong words (hardly used
-- before the issue began); the words strong on any day of the alert stay
-- its members' test on later days, when the issue's own earlier tickets
-- have become the baseline and only its ordinary words ("csv", "export")
-- would be left to pick tickets with.

ALTER TABLE vigil.trend_alerts
    ADD COLUMN IF NOT EXISTS strong_terms text[];

ALTER TABLE vigil.trend_alert_days
    ADD COLUMN IF NOT EXISTS strong_terms text[];
