-- Generic SCD2 merge engine (src/scd2.c).

CREATE OR REPLACE FUNCTION @extschema@.elt_scd2_merge(
    target regclass,
    source regclass,
    keys text[],
    as_of timestamptz DEFAULT pg_catalog.now(),
    tracked text[] DEFAULT NULL,
    hard_deletes text DEFAULT 'invalidate')
RETURNS TABLE (inserted bigint, updated bigint, deleted bigint, unchanged bigint)
AS 'MODULE_PATHNAME', 'elt_scd2_merge'
LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION @extschema@.elt_scd2_merge(regclass, regclass, text[], timestamptz, text[], text) IS
'SCD2 merge of the snapshot in source into the history table target (valid_from, valid_to; NULL valid_to = current), matching rows on keys. '
'A change in a tracked column (default: every non-key column both share) closes the current version at as_of and opens a new one; '
'new keys open a version; keys missing from source are closed at as_of when hard_deletes = ''invalidate'' and stay current when ''ignore''. '
'Source values are converted to the target column types as INSERT converts them (errors where INSERT errs). '
'A merge at the same as_of as the newest version replaces that version in place, or reopens the version closed at as_of when the corrected values equal it. '
'Checks the caller''s privileges, then locks the target in SHARE ROW EXCLUSIVE mode; runs with the caller''s privileges. Returns (inserted, updated, deleted, unchanged).';
