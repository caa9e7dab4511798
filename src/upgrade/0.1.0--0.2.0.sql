-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION elt UPDATE TO '0.2.0'" to load this file. \quit

-- Upgrade from 0.1.0 to 0.2.0: the schema changes, in the order they were
-- made.  The Makefile appends every function file of src/sql after this, so
-- functions end up exactly as in a fresh install (CREATE OR REPLACE keeps
-- the grants users gave on them).  A function that moves or changes its
-- arguments is moved (ALTER FUNCTION ... SET SCHEMA keeps its grants) or
-- dropped here first.  scripts/test.sh checks that the result equals a fresh
-- install, catalog for catalog.

-- elt.settings records the model version; data of 0.1.0 is model 1.
ALTER TABLE elt.settings ADD COLUMN model_version integer;
UPDATE elt.settings SET model_version = 1;
COMMENT ON COLUMN elt.settings.model_version IS 'Version of the simulation model that generated the data (elt.elt__model_version()), NULL for a source loaded by other means; elt_refresh continues only data of the same version.';

-- A refresh that finds another generate or refresh running logs a skipped run.
ALTER TABLE elt.run_log DROP CONSTRAINT run_log_status_check,
    ADD CONSTRAINT run_log_status_check CHECK (status IN ('running', 'ok', 'failed', 'skipped'));
COMMENT ON TABLE elt.run_log IS 'One row per elt_generate or elt_refresh run: times, clock before and after, rows per table, status (ok, failed, or skipped: another generate or refresh was running) and error (SQLSTATE, message, detail and hint).';

-- The event trigger that removes elt's pg_cron jobs when elt is dropped; its
-- function is created here first (the function files define it again).
CREATE FUNCTION @extschema@.elt__drop_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'elt__drop_guard'
LANGUAGE c;
CREATE EVENT TRIGGER elt_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@.elt__drop_guard();
