-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION elt UPDATE TO '0.2.0'" to load this file. \quit

-- Upgrade from 0.1.0 to 0.2.0: the schema changes, in the order they were
-- made.  The Makefile appends every function file of src/sql after this, so
-- functions end up exactly as in a fresh install (CREATE OR REPLACE keeps
-- the grants users gave on them).  A function that moves or changes its
-- arguments is moved (ALTER FUNCTION ... SET SCHEMA keeps its grants) or
-- dropped here first.  test/scripted/t_upgrade.sh checks that the result equals a fresh
-- install, catalog for catalog.

-- elt.settings records the model version; data of 0.1.0 is model 1.
ALTER TABLE elt.settings ADD COLUMN model_version integer;
UPDATE elt.settings SET model_version = 1;
COMMENT ON COLUMN elt.settings.model_version IS 'Version of the simulation model that generated the data (elt.elt__model_version()), NULL for a source loaded by other means; elt_refresh continues only data of the same version.';

-- A refresh that finds another generate or refresh running logs a skipped run.
ALTER TABLE elt.run_log DROP CONSTRAINT run_log_status_check,
    ADD CONSTRAINT run_log_status_check CHECK (status IN ('running', 'ok', 'failed', 'skipped'));
COMMENT ON TABLE elt.run_log IS 'One row per elt_generate or elt_refresh run: times, clock before and after, rows per table, status (ok, failed, or skipped: another generate or refresh was running) and error (SQLSTATE, message, detail and hint).';

-- Internal functions move from the extension's schema to schema elt (SET
-- SCHEMA keeps the grants given on them); the function files then define
-- them there.  PUBLIC may look them up, as elt_status needs; which ones it may
-- run is decided function by function, as before.
GRANT USAGE ON SCHEMA elt TO PUBLIC;
ALTER FUNCTION @extschema@.elt__build(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__bulk_begin(regclass) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__bulk_end(boolean, regclass, name, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__changed_ids(regclass, name, timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__check_grant(name, text, text) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__check_population(integer, bigint, date, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__check_versions(regclass, name, timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__cron_check() SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__cron_here() SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__day_ts(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__job_command(integer) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__load_raw(integer, bigint, date, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__mart_begin(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__may_analyze(regclass) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__purge_dim(text, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__subscription_key_at(bigint, timestamptz) SET SCHEMA elt;
DROP FUNCTION elt.elt__subscription_key_at(bigint, timestamptz);   -- replaced by elt.elt__key_at(text, bigint, timestamptz)
ALTER FUNCTION @extschema@.elt__ts_day(timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__user_key_at(bigint, timestamptz) SET SCHEMA elt;
DROP FUNCTION elt.elt__user_key_at(bigint, timestamptz);   -- replaced by elt.elt__key_at(text, bigint, timestamptz)
COMMENT ON SCHEMA elt IS 'elt extension state (settings of the simulated source, the run log) and its internal functions.';

-- The driver table of elt_generate on Citus (src/sql/61_distribute_schema.sql).
CREATE TABLE elt.shard_groups (
    user_id bigint NOT NULL
);
COMMENT ON TABLE elt.shard_groups IS
'Internal (Citus only): one user_id per shard group of elt_raw.users, subscriptions and usage, distributed and colocated with them by elt_distribute; elt_generate runs one load task per row, on the worker holding that shard group. Empty without Citus.';
