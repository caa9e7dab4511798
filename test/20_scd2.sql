-- pgTAP: elt_scd2_merge semantics, errors, privileges, time zones and the
-- SCD2 invariants over a long seeded random sequence of merges.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SELECT plan(78);
SET client_min_messages = warning;

SELECT has_function('elt_scd2_merge',
    ARRAY['regclass', 'regclass', 'text[]', 'timestamp with time zone', 'text[]', 'text']);
SELECT is((SELECT prosecdef FROM pg_proc WHERE proname = 'elt_scd2_merge'), false,
          'elt_scd2_merge is not SECURITY DEFINER');
SELECT isnt(obj_description('elt_scd2_merge(regclass, regclass, text[], timestamptz, text[], text)'::regprocedure, 'pg_proc'),
            NULL, 'elt_scd2_merge has a comment');

-- A target whose writes bump a sequence: sequences ignore rollback, so a
-- failed merge that wrote anything before failing would show.
CREATE SEQUENCE writes;
CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM nextval('writes'); RETURN NULL; END$$;
CREATE TABLE t (k int, k2 text, v text, w int,
                valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE UNIQUE INDEX t_current ON t (k, k2) WHERE valid_to IS NULL;
CREATE TRIGGER t_writes AFTER INSERT OR UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION count_write();
CREATE TABLE s (k int, k2 text, v text, w int);
INSERT INTO s VALUES (1, 'a', 'one', 1), (2, 'a', NULL, 2), (3, 'b', 'three', NULL);

SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-01 00:00+00')$$,
    $$VALUES (3::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'first load inserts every key');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-01 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 3::bigint)$$, 'same source and as_of again: (0,0,0,n)');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-02 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 3::bigint)$$, 'same source later: nothing changes');
SELECT is((SELECT count(*)::int FROM t), 3, 'still three versions');

-- NULL semantics
UPDATE s SET v = 'two' WHERE k = 2;          -- NULL -> value
UPDATE s SET v = NULL WHERE k = 1;           -- value -> NULL
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-03 00:00+00')$$,
    $$VALUES (0::bigint, 2::bigint, 0::bigint, 1::bigint)$$, 'NULL->value and value->NULL are changes, NULL->NULL is not');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-04 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 3::bigint)$$, 'a change is detected exactly once');
SELECT results_eq($$SELECT v, valid_from, valid_to FROM t WHERE k = 1 ORDER BY valid_from$$,
    $$VALUES ('one'::text, '2024-01-01 00:00+00'::timestamptz, '2024-01-03 00:00+00'::timestamptz),
             (NULL, '2024-01-03 00:00+00', NULL)$$, 'old version closed at as_of, new one opened at as_of');

-- delete, then reinstate
DELETE FROM s WHERE k = 3;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-05 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 1::bigint, 2::bigint)$$, 'missing key is closed');
INSERT INTO s VALUES (3, 'b', 'three', NULL);
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-06 00:00+00')$$,
    $$VALUES (1::bigint, 0::bigint, 0::bigint, 2::bigint)$$, 'reinstated key counts as inserted');
SELECT results_eq($$SELECT valid_from, valid_to FROM t WHERE k = 3 ORDER BY valid_from$$,
    $$VALUES ('2024-01-01 00:00+00'::timestamptz, '2024-01-05 00:00+00'::timestamptz),
             ('2024-01-06 00:00+00', NULL)$$, 'reinstated key: one new current version after the gap');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-06 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 3::bigint)$$, 'reinstating twice at the same as_of: still one current row');

-- hard_deletes => 'ignore'
DELETE FROM s WHERE k = 3;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-07 00:00+00', hard_deletes => 'ignore')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 2::bigint)$$, 'ignore: missing key is not counted');
SELECT is((SELECT count(*)::int FROM t WHERE k = 3 AND valid_to IS NULL), 1, 'ignore: missing key stays current');

-- as_of equal to the newest valid_from: replace in place
UPDATE s SET w = 20 WHERE k = 2;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-08 00:00+00', hard_deletes => 'ignore')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 1::bigint)$$, 'change at 01-08');
UPDATE s SET w = 21 WHERE k = 2;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-08 00:00+00', hard_deletes => 'ignore')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 1::bigint)$$, 'corrected snapshot at the same as_of: counted as updated');
SELECT results_eq($$SELECT w, valid_from, valid_to FROM t WHERE k = 2 ORDER BY valid_from$$,
    $$VALUES (2, '2024-01-01 00:00+00'::timestamptz, '2024-01-03 00:00+00'::timestamptz),
             (2, '2024-01-03 00:00+00', '2024-01-08 00:00+00'),
             (21, '2024-01-08 00:00+00', NULL)$$,
    'equal as_of replaces the version starting at as_of: no [t,t) interval, one current row');
DELETE FROM s WHERE k = 2;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-08 00:00+00')$$,
    $$VALUES (0::bigint, 0::bigint, 2::bigint, 1::bigint)$$, 'equal as_of, key gone: its version from as_of is removed');
SELECT results_eq($$SELECT valid_from, valid_to FROM t WHERE k = 2 ORDER BY valid_from$$,
    $$VALUES ('2024-01-01 00:00+00'::timestamptz, '2024-01-03 00:00+00'::timestamptz),
             ('2024-01-03 00:00+00', '2024-01-08 00:00+00')$$, '... leaving the previous version closed at as_of');
SELECT is_empty($$SELECT 1 FROM t WHERE valid_to <= valid_from$$, 'no empty or negative intervals');

-- errors, all before anything is written
DO $$BEGIN PERFORM setval('writes', 1); END$$;
INSERT INTO s VALUES (1, 'a', 'dup', 1);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01 00:00+00')$$,
    '21000', NULL, 'duplicate key matching a current version: 21000');
DELETE FROM s WHERE v = 'dup';
INSERT INTO s VALUES (9, 'z', 'dup', 1), (9, 'z', 'dup2', 1);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01 00:00+00')$$,
    '21000', NULL, 'duplicate new key: 21000');
DELETE FROM s WHERE k = 9;
INSERT INTO s VALUES (NULL, 'a', 'nokey', 1);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01 00:00+00')$$,
    '23502', NULL, 'NULL in a key column: 23502');
UPDATE s SET k = 10, k2 = NULL WHERE v = 'nokey';
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01 00:00+00')$$,
    '23502', NULL, 'NULL in one part of a composite key: 23502');
DELETE FROM s WHERE v = 'nokey';
UPDATE s SET w = 100;   -- a real change, so a write would happen if checks passed late
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-01-07 00:00+00')$$,
    '22023', NULL, 'as_of before the newest valid_from: 22023');
-- boundaries after as_of are found wherever they are: in a closed version of
-- a key that is no longer current, in a current version when missing keys
-- are ignored
CREATE TABLE late (k int, v text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE late_src (k int, v text);
INSERT INTO late VALUES (1, 'a', '2024-01-01', '2024-03-01'), (2, 'b', '2024-01-01', NULL);
INSERT INTO late_src VALUES (2, 'b');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-01 00:00:00+00 in target public.late',
    'as_of before the valid_to of a key no longer current: 22023');
UPDATE late SET valid_to = '2024-01-15' WHERE k = 1;
UPDATE late SET valid_from = '2024-03-02' WHERE k = 2;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01', hard_deletes => 'ignore')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-02 00:00:00+00 in target public.late',
    'as_of before a current valid_from, missing keys ignored: 22023');
DELETE FROM late_src;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-02 00:00:00+00 in target public.late',
    'as_of before the valid_from of a current key missing from the source: 22023');
-- the same checks answered by an index probe: BRIN on both bounds, as elt_raw has
CREATE INDEX late_validity ON late USING brin (valid_from, valid_to);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01', hard_deletes => 'ignore')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-02 00:00:00+00 in target public.late',
    'indexed bounds: as_of before a current valid_from: 22023');
UPDATE late SET valid_from = '2024-01-02' WHERE k = 2;
UPDATE late SET valid_to = '2024-03-01' WHERE k = 1;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-01 00:00:00+00 in target public.late',
    'indexed bounds: as_of before the valid_to of a key no longer current: 22023');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-03-01', hard_deletes => 'ignore')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'indexed bounds: as_of at the newest boundary is accepted');
-- a btree on valid_from alone cannot answer for valid_to: the table is scanned
DROP INDEX late_validity;
CREATE INDEX late_from ON late (valid_from);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('late', 'late_src', '{k}', '2024-02-01', hard_deletes => 'ignore')$$,
    '22023', 'as_of 2024-02-01 00:00:00+00 is earlier than the newest version boundary 2024-03-01 00:00:00+00 in target public.late',
    'btree on valid_from only: as_of before a valid_to still found: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01', hard_deletes => 'sometimes')$$,
    '22023', 'invalid hard_deletes value "sometimes"', 'unknown hard_deletes: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{}', '2024-02-01')$$,
    '22023', 'keys must name at least one column', 'empty keys: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge(NULL, 's', '{k}', '2024-02-01')$$, '22004', NULL, 'NULL target: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', NULL, '{k}', '2024-02-01')$$, '22004', NULL, 'NULL source: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', NULL, '2024-02-01')$$, '22004', NULL, 'NULL keys: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k}', NULL)$$, '22004', NULL, 'NULL as_of: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,NULL}', '2024-02-01')$$, '22004', NULL, 'NULL key name: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k}', '2024-02-01', hard_deletes => NULL)$$, '22004', NULL, 'NULL hard_deletes: 22004');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k}', 'infinity')$$, '22023', NULL, 'infinite as_of: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k}', '2024-02-01')$$, '22023', NULL, 'key listed twice: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{nope}', '2024-02-01')$$, '42703', NULL, 'unknown key column: 42703');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k}', '2024-02-01', tracked => '{nope}')$$, '42703', NULL, 'unknown tracked column: 42703');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k}', '2024-02-01', tracked => '{k}')$$, '22023', NULL, 'key as tracked column: 22023');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{valid_from}', '2024-02-01')$$, '22023', NULL, 'validity column as key: 22023');
CREATE TABLE no_validity (k int, v text, valid_from timestamptz);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('no_validity', 's', '{k}', '2024-02-01')$$, '42703', NULL, 'target without valid_to: 42703');
CREATE TABLE wrong_validity (k int, v text, valid_from date, valid_to date);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('wrong_validity', 's', '{k}', '2024-02-01')$$, '42804', NULL, 'validity columns of the wrong type: 42804');
CREATE VIEW t_view AS SELECT * FROM t;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t_view', 's', '{k}', '2024-02-01')$$, '42809', NULL, 'target must be a table: 42809');
CREATE TABLE parted (k int, valid_from timestamptz NOT NULL, valid_to timestamptz) PARTITION BY RANGE (k);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('parted', 's', '{k}', '2024-02-01')$$, '0A000', NULL, 'partitioned target: 0A000');
SELECT is(currval('writes'), 1::bigint, 'no failed merge wrote a row');

-- identifiers that need quoting cannot inject SQL
CREATE TABLE "x""; drop table t; --" ("key""; drop table t; --" int, "Val ue" text,
                                      valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE "src""; drop table t; --" ("key""; drop table t; --" int, "Val ue" text);
INSERT INTO "src""; drop table t; --" VALUES (1, 'a'), (2, 'b');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('"x""; drop table t; --"', '"src""; drop table t; --"', '{"key\"; drop table t; --"}', '2024-02-01')$$,
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'quoted identifiers are handled');
SELECT has_table('t', 'and nothing was injected');

-- the source may be a view; key and column types are converted to the target's
CREATE TABLE conv (id bigint, name varchar(10), amount numeric(8,2), valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE VIEW conv_src AS SELECT i::int AS id, 'n' || i AS name, (i * 1.005)::numeric AS amount FROM generate_series(1, 5) i;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('conv', 'conv_src', '{id}', '2024-02-01')$$,
    $$VALUES (5::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'view source, int key into bigint');
SELECT results_eq($$SELECT * FROM elt_scd2_merge('conv', 'conv_src', '{id}', '2024-02-02')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 5::bigint)$$, 'values are compared as the target stores them (numeric(8,2))');

-- keys and values of another collation are compared in the target's
CREATE TABLE coll (name text COLLATE "C", note text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE coll_src (name text COLLATE "POSIX", note text COLLATE "POSIX");
INSERT INTO coll_src VALUES ('a', 'x'), ('B', NULL);
SELECT results_eq($$SELECT * FROM elt_scd2_merge('coll', 'coll_src', '{name}', '2024-02-01')$$,
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'key columns of different collations');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-02-01', tracked => '{k2}')$$,
    '22023', 'column "k2" is both a key and a tracked column', 'a key cannot be tracked');

-- types without an equality operator are compared by their text
CREATE TABLE j (id int, doc json, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE j_src (id int, doc json);
INSERT INTO j_src VALUES (1, '{"a": 1}'), (2, NULL);
SELECT lives_ok($$SELECT * FROM elt_scd2_merge('j', 'j_src', '{id}', '2024-02-01')$$, 'json column (no equality operator)');
UPDATE j_src SET doc = '{"a": 2}' WHERE id = 1;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('j', 'j_src', '{id}', '2024-02-02')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 1::bigint)$$, 'json change detected');

-- values equal by their type's equality but stored differently are unchanged
-- (numeric scale, signed zero, case in a case-insensitive collation, a long
-- value compressed on one side only); a change at the end of a long value is
-- a change
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE eqv (id int, n numeric, f float8, t text COLLATE ci, big text,
                  valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE eqv_src (id int, n numeric, f float8, t text, big text);
ALTER TABLE eqv_src ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO eqv_src VALUES (1, 1.0, 0, 'Abc', repeat('x', 100000)), (2, 2, 1, 'b', NULL);
SELECT results_eq($$SELECT * FROM elt_scd2_merge('eqv', 'eqv_src', '{id}', '2024-02-01')$$,
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'equal values: first load');
UPDATE eqv_src SET n = 1.00, f = '-0', t = 'aBC' WHERE id = 1;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('eqv', 'eqv_src', '{id}', '2024-02-02')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 2::bigint)$$, 'equal by the type''s equality, not byte for byte: unchanged');
UPDATE eqv_src SET big = repeat('x', 99999) || 'y' WHERE id = 1;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('eqv', 'eqv_src', '{id}', '2024-02-03')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 1::bigint)$$, 'a change at the end of a long value: updated');
SELECT is((SELECT big FROM eqv WHERE id = 1 AND valid_to IS NULL), repeat('x', 99999) || 'y', 'the new version has the new long value');

-- results do not depend on the session TimeZone
CREATE TABLE tz_a (id int, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE tz_b (LIKE tz_a);
CREATE TABLE tz_src (id int, v int);
CREATE FUNCTION tz_run(target regclass, zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('TimeZone', zone, true);
    TRUNCATE tz_src;
    INSERT INTO tz_src VALUES (1, 1), (2, 2);
    PERFORM elt_scd2_merge(target, 'tz_src', '{id}', '2024-03-10 01:30:00-05');   -- around a DST switch
    UPDATE tz_src SET v = 3 WHERE id = 1;
    DELETE FROM tz_src WHERE id = 2;
    PERFORM elt_scd2_merge(target, 'tz_src', '{id}', '2024-03-10 03:30:00-04');
END$$;
DO $$BEGIN PERFORM tz_run('tz_a', 'America/New_York'); PERFORM tz_run('tz_b', 'Asia/Kathmandu'); END$$;
SET TimeZone = 'UTC';
SELECT set_eq('SELECT * FROM tz_a', 'SELECT * FROM tz_b', 'same versions whatever the session TimeZone');

-- privileges: the caller's own, checked up front
CREATE ROLE scd2_reader;
CREATE ROLE scd2_writer;
GRANT SELECT ON s TO scd2_reader, scd2_writer;
GRANT SELECT, INSERT, UPDATE ON t TO scd2_writer;
GRANT SELECT ON t TO scd2_reader;
GRANT USAGE ON SEQUENCE writes TO scd2_writer;
SET ROLE scd2_reader;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-03-01 00:00+00')$$,
    '42501', 'permission denied for table public.t', 'no INSERT on the target: 42501');
RESET ROLE;
REVOKE SELECT ON s FROM scd2_writer;
SET ROLE scd2_writer;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-03-01 00:00+00')$$,
    '42501', 'permission denied for table public.s', 'no SELECT on the source: 42501');
RESET ROLE;
GRANT SELECT ON s TO scd2_writer;
REVOKE UPDATE ON t FROM scd2_writer;
GRANT UPDATE (valid_to) ON t TO scd2_writer;
SET ROLE scd2_writer;
SELECT lives_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-03-01 00:00+00')$$,
    'column-level UPDATE (valid_to) is enough to close versions');
RESET ROLE;
REVOKE UPDATE ON t FROM scd2_writer;
SET ROLE scd2_writer;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t', 's', '{k,k2}', '2024-03-02 00:00+00')$$,
    '42501', 'permission denied for table public.t', 'no UPDATE on the target: 42501');
RESET ROLE;

-- under row-level security the caller's policies decide which versions the
-- as_of check sees too: a hidden version neither blocks the merge nor shows
-- its boundary
CREATE TABLE rls_t (k int, v text, valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO rls_t VALUES (1, 'a', '2024-01-01', NULL), (2, 'hidden', '2024-01-01', '2024-05-01');
ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY rls_t_visible ON rls_t USING (v IS DISTINCT FROM 'hidden');
CREATE TABLE rls_s (k int, v text);
INSERT INTO rls_s VALUES (1, 'a');
GRANT SELECT, INSERT, UPDATE ON rls_t TO scd2_writer;
GRANT SELECT ON rls_s TO scd2_writer;
SET ROLE scd2_writer;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('rls_t', 'rls_s', '{k}', '2024-02-01')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 1::bigint)$$, 'row-level security: hidden versions are not checked against as_of');
RESET ROLE;

-- invariants over a long seeded random sequence of merges, including
-- repeated as_of values, deletes, reinstatements and NULL flips
CREATE TABLE inv (id int, a int, b text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE inv_src (id int, a int, b text);
CREATE TABLE inv_snap (step int, as_of timestamptz, id int, a int, b text);
DO $$
DECLARE
    t timestamptz := '2024-01-01 00:00+00';
BEGIN
    PERFORM setseed(0.42);
    FOR step IN 1..60 LOOP
        -- about a third of steps reuse the previous as_of (a corrected snapshot)
        IF step = 1 OR random() > 0.3 THEN
            t := t + (1 + floor(random() * 48)) * interval '1 hour';
        END IF;
        DELETE FROM inv_src WHERE random() < 0.08;
        UPDATE inv_src SET a = CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 4)::int END
            WHERE random() < 0.15;
        UPDATE inv_src SET b = CASE WHEN b IS NULL THEN 'x' ELSE NULL END WHERE random() < 0.05;
        INSERT INTO inv_src
            SELECT i, floor(random() * 4)::int, CASE WHEN random() < 0.5 THEN 'y' END
            FROM generate_series(1, 120) i
            WHERE random() < 0.1 AND NOT EXISTS (SELECT 1 FROM inv_src WHERE id = i);
        PERFORM elt_scd2_merge('inv', 'inv_src', '{id}', t,
                               hard_deletes => CASE WHEN step % 7 = 0 THEN 'ignore' ELSE 'invalidate' END);
        -- the last merge at an as_of defines the history at that as_of;
        -- an 'ignore' merge keeps missing keys, so only check invalidating ones
        DELETE FROM inv_snap WHERE as_of = t;
        IF step % 7 <> 0 THEN
            INSERT INTO inv_snap SELECT step, t, * FROM inv_src;
        END IF;
    END LOOP;
END$$;
SELECT is_empty($$SELECT id FROM inv WHERE valid_to IS NULL GROUP BY id HAVING count(*) > 1$$,
    'invariant: at most one current row per key');
SELECT is_empty($$SELECT 1 FROM inv x JOIN inv y ON x.id = y.id AND x.ctid <> y.ctid
                  AND tstzrange(x.valid_from, x.valid_to) && tstzrange(y.valid_from, y.valid_to)$$,
    'invariant: versions of a key never overlap');
SELECT is_empty($$SELECT 1 FROM inv WHERE valid_to <= valid_from$$, 'invariant: no empty intervals');
SELECT is_empty($$SELECT 1 FROM (SELECT id, valid_from, valid_to, b,
                       lead(valid_from) OVER (PARTITION BY id ORDER BY valid_from) AS next_from,
                       lead(b) OVER (PARTITION BY id ORDER BY valid_from) AS next_b
                  FROM inv) x
                  WHERE next_from IS NOT NULL AND valid_to IS NULL$$,
    'invariant: only the last version of a key is current');
SELECT is_empty($$SELECT s.as_of, s.id FROM inv_snap s
                  WHERE s.as_of = (SELECT max(as_of) FROM inv_snap)
                  AND NOT EXISTS (SELECT 1 FROM inv v WHERE v.id = s.id AND v.valid_to IS NULL
                                  AND v.a IS NOT DISTINCT FROM s.a AND v.b IS NOT DISTINCT FROM s.b)$$,
    'current versions match the last invalidating snapshot');
SELECT is_empty($$
    WITH pit AS (
        SELECT DISTINCT as_of FROM inv_snap)
    (SELECT p.as_of, v.id, v.a, v.b FROM pit p JOIN inv v
       ON v.valid_from <= p.as_of AND (v.valid_to IS NULL OR v.valid_to > p.as_of)
     WHERE v.id IN (SELECT id FROM inv_snap s WHERE s.as_of = p.as_of)
     EXCEPT
     SELECT as_of, id, a, b FROM inv_snap)
    UNION ALL
    (SELECT as_of, id, a, b FROM inv_snap
     EXCEPT
     SELECT p.as_of, v.id, v.a, v.b FROM pit p JOIN inv v
       ON v.valid_from <= p.as_of AND (v.valid_to IS NULL OR v.valid_to > p.as_of))$$,
    'history as of every merge reproduces its snapshot');
SELECT cmp_ok((SELECT count(*)::int FROM inv WHERE valid_to IS NOT NULL), '>', 50,
              'the random sequence closed plenty of versions');

SELECT * FROM finish();
ROLLBACK;
