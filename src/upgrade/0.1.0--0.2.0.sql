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
