-- Table of the usage fact builder's state (run once; the builder is in
-- 33_mart_facts.sql).

-- Internal state of the usage fact builder (not part of the star schema):
-- per subscription and quota period seen in the last 31 days of usage
-- facts, the running totals of its last fact row.  A one-day update adds
-- these to the new day's usage instead of reading a month of facts back.
-- The builder uses it only when it is in step with the facts (its last day
-- is the facts' last day) and rebuilds it otherwise.  Each day updates a
-- third of its rows, never the key: room left in every page lets those be
-- HOT updates (no new index entry), which halves the day's upsert.
CREATE TABLE elt.mart_usage_totals (
    subscription_id bigint NOT NULL,
    period_start    date   NOT NULL,
    through         date   NOT NULL,
    api_calls       bigint NOT NULL,
    storage_used_mb bigint NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
) WITH (fillfactor = 70);
COMMENT ON TABLE elt.mart_usage_totals IS
'Internal: running API call totals and storage peaks per subscription and quota period through the last fact row of elt_mart.fct_usage_daily (last 31 days only), so that incremental builds need not read a month of facts.';
SELECT pg_catalog.pg_extension_config_dump('elt.mart_usage_totals', '');
