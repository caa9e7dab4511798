-- pgTAP: elt_scd2_merge review findings (issue 18): source values converted
-- as INSERT converts them, corrected snapshots at the same as_of, up-front
-- checks (width, computed keys, rewrite privileges) and comparisons that no
-- setting changes.  (Locking before the privilege check: t_scd2_review.sh.)
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SELECT plan(63);
SET client_min_messages = warning;

-- SQLSTATE of a statement ('00000' when it succeeds)
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS
$$BEGIN EXECUTE q; RETURN '00000'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END$$;

-- One conversion case: a source column of type stype holding val, merged
-- into (and, for comparison, inserted with INSERT ... SELECT into) a target
-- column of type ttype; as a value (key k) or, with as_key, as the key.
-- The merge target holds a version already, which an error must leave alone.
-- Returns "insert-state merge-state same-stored-value target-untouched-on-error
-- second-merge-unchanged".
CREATE FUNCTION assign_case(ttype text, stype text, val text, as_key boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    ins text;
    mrg text;
    same boolean;
    untouched boolean := true;
    again text := '-';
    keys text := CASE WHEN as_key THEN '{x}' ELSE '{k}' END;
BEGIN
    DROP TABLE IF EXISTS a_src, a_ins, a_tgt;
    EXECUTE format('CREATE TABLE a_src (k int, x %s)', stype);
    EXECUTE format('CREATE TABLE a_ins (k int, x %s)', ttype);
    EXECUTE format('CREATE TABLE a_tgt (k int, x %s, valid_from timestamptz NOT NULL, valid_to timestamptz)', ttype);
    EXECUTE format('INSERT INTO a_src VALUES (1, CAST(%L AS %s))', val, stype);
    INSERT INTO a_tgt (k, valid_from) VALUES (0, '2023-01-01');
    ins := try('INSERT INTO a_ins SELECT k, x FROM a_src');
    mrg := try(format('SELECT elt_scd2_merge(''a_tgt'', ''a_src'', %L, ''2024-01-01'', NULL, ''ignore'')', keys));
    same := (SELECT x::text FROM a_ins) IS NOT DISTINCT FROM (SELECT x::text FROM a_tgt WHERE k = 1);
    IF mrg <> '00000' THEN
        untouched := (SELECT count(*) = 1 AND bool_and(k = 0 AND valid_to IS NULL) FROM a_tgt);
    ELSE
        SELECT format('%s,%s,%s,%s', inserted, updated, deleted, unchanged) INTO again
        FROM elt_scd2_merge('a_tgt', 'a_src', keys::text[], '2024-01-02', NULL, 'ignore');
    END IF;
    RETURN format('%s %s %s %s %s', ins, mrg, same, untouched, again);
END$$;

-- the two examples of the review: too long values are refused, not cut
CREATE TABLE s1 (id int, name text);
CREATE TABLE t1 (id int, name varchar(3), valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO s1 VALUES (1, 'abcdef');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t1', 's1', '{id}', '2024-01-01')$$,
    '22001', NULL, 'a value too long for varchar(3): 22001, not truncated');
SELECT is((SELECT count(*)::int FROM t1), 0, 'nothing written');
CREATE TABLE s1k (code text, v int);
CREATE TABLE t1k (code varchar(3), v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO s1k VALUES ('abc1', 1);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('t1k', 's1k', '{code}', '2024-01-01')$$,
    '22001', NULL, 'a key too long for varchar(3): 22001, so two keys never become one');
UPDATE s1k SET code = 'abc';
SELECT results_eq($$SELECT * FROM elt_scd2_merge('t1k', 's1k', '{code}', '2024-01-01')$$,
    $$VALUES (1::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'a key that fits is merged');

-- each case against a plain INSERT ... SELECT
CREATE DOMAIN short_txt AS text CHECK (length(VALUE) < 5);
SELECT is(assign_case('varchar(3)', 'text', 'abc'), '00000 00000 t t 0,0,0,1', 'varchar(3) <- text that fits');
SELECT is(assign_case('varchar(3)', 'text', 'abcd'), '22001 22001 t t -', 'varchar(3) <- too long text: 22001 like INSERT');
SELECT is(assign_case('varchar(3)', 'text', 'abc   '), '00000 00000 t t 0,0,0,1', 'varchar(3) <- text with trailing blanks: trimmed like INSERT');
SELECT is(assign_case('varchar(3)', 'varchar(10)', 'abcdefg', true), '22001 22001 t t -', 'varchar(3) key <- varchar(10): 22001');
SELECT is(assign_case('char(3)', 'text', 'ab'), '00000 00000 t t 0,0,0,1', 'char(3) <- short text: padded like INSERT');
SELECT is(assign_case('char(3)', 'text', 'abcd'), '22001 22001 t t -', 'char(3) <- too long text: 22001');
SELECT is(assign_case('char(3)', 'char(5)', 'abcde', true), '22001 22001 t t -', 'char(3) key <- char(5): 22001');
SELECT is(assign_case('bit(3)', 'bit(4)', '1011'), '22026 22026 t t -', 'bit(3) <- bit(4): 22026 like INSERT');
SELECT is(assign_case('bit(3)', 'varbit', '10'), '22026 22026 t t -', 'bit(3) <- shorter varbit: 22026');
SELECT is(assign_case('bit(3)', 'varbit', '101', true), '00000 00000 t t 0,0,0,1', 'bit(3) key <- varbit of the right length');
SELECT is(assign_case('varbit(3)', 'varbit', '1011'), '22001 22001 t t -', 'varbit(3) <- longer varbit: 22001');
SELECT is(assign_case('numeric(4,1)', 'numeric', '1.26'), '00000 00000 t t 0,0,0,1', 'numeric(4,1) <- 1.26: rounded to 1.3 like INSERT');
SELECT is(assign_case('numeric(4,1)', 'numeric', '1234.5'), '22003 22003 t t -', 'numeric(4,1) <- 1234.5: 22003');
SELECT is(assign_case('numeric(4,1)', 'numeric', '1.26', true), '00000 00000 t t 0,0,0,1', 'numeric(4,1) key <- 1.26: rounded');
SELECT is(assign_case('timestamp(0)', 'timestamp', '2024-01-01 10:00:00.6'), '00000 00000 t t 0,0,0,1', 'timestamp(0) <- timestamp: rounded like INSERT');
SELECT is(assign_case('int4', 'int8', '5', true), '00000 00000 t t 0,0,0,1', 'int4 key <- int8 that fits');
SELECT is(assign_case('int4', 'int8', '3000000000'), '22003 22003 t t -', 'int4 <- int8 out of range: 22003');
SELECT is(assign_case('short_txt', 'text', 'abcd'), '00000 00000 t t 0,0,0,1', 'domain with CHECK <- text that passes');
SELECT is(assign_case('short_txt', 'text', 'abcdef'), '23514 23514 t t -', 'domain with CHECK <- text that fails it: 23514');
SELECT is(assign_case('int4', 'text', '5'), '42804 42804 t t -', 'int4 <- text (no assignment cast): 42804');
SELECT is(assign_case('json', 'text', '{}'), '42804 42804 t t -', 'json <- text (no assignment cast): 42804');
SELECT is(assign_case('text', 'int4', '5'), '00000 00000 t t 0,0,0,1', 'text <- int4 (assignment via I/O): as INSERT');
SELECT is(assign_case('int4[]', 'int8[]', '{1,2}'), '00000 00000 t t 0,0,0,1', 'int4[] <- int8[]: element casts as INSERT');
SELECT is(assign_case('varchar(2)[]', 'text[]', '{ab,abc}'), '22001 22001 t t -', 'varchar(2)[] <- too long element: 22001');

-- the comparison sees the converted value: 1.31 is stored as 1.3, unchanged
CREATE TABLE rn_src (k int, n numeric);
CREATE TABLE rn_t (k int, n numeric(4,1), valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO rn_src VALUES (1, 1.26);
SELECT elt_scd2_merge('rn_t', 'rn_src', '{k}', '2024-01-01');
UPDATE rn_src SET n = 1.31;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('rn_t', 'rn_src', '{k}', '2024-01-02')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 1::bigint)$$, 'a change that rounds to the stored value is no change');
UPDATE rn_src SET n = 1.36;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('rn_t', 'rn_src', '{k}', '2024-01-03')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 0::bigint)$$, 'one that rounds to another value is');

-- no assignment cast: refused before the target is read or locked
CREATE TABLE nc_src (k int, x text);
CREATE TABLE nc_t (k int, x int, valid_from timestamptz NOT NULL, valid_to timestamptz);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('nc_t', 'nc_src', '{k}', '2024-01-01')$$,
    '42804', 'column "x" of target public.nc_t has type integer, but the source column has type text',
    'no assignment cast: 42804 with a clear message');

-- a corrected snapshot at the same as_of gives the history of a single run
CREATE TABLE cs_t (k int, v text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE UNIQUE INDEX ON cs_t (k) WHERE valid_to IS NULL;
CREATE TABLE cs_one (LIKE cs_t);
CREATE TABLE cs_s (k int, v text);
-- runs the snapshots (arrays of k:v pairs, NULL v as k:) at their as_of
-- into cs_t, and only the last snapshot of each as_of into cs_one
CREATE FUNCTION run_seq(snaps text[], days date[], mode text DEFAULT 'invalidate') RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    i int;
BEGIN
    TRUNCATE cs_t, cs_one;
    FOR i IN 1 .. array_length(snaps, 1) LOOP
        TRUNCATE cs_s;
        INSERT INTO cs_s SELECT split_part(p, ':', 1)::int, nullif(split_part(p, ':', 2), '')
            FROM unnest(string_to_array(snaps[i], ',')) p WHERE p <> '';
        PERFORM elt_scd2_merge('cs_t', 'cs_s', '{k}', days[i], NULL, mode);
        IF i = array_length(snaps, 1) OR days[i + 1] <> days[i] THEN
            PERFORM elt_scd2_merge('cs_one', 'cs_s', '{k}', days[i], NULL, mode);
        END IF;
    END LOOP;
    RETURN (SELECT count(*) FROM (SELECT * FROM cs_t EXCEPT ALL SELECT * FROM cs_one) d) = 0
       AND (SELECT count(*) FROM (SELECT * FROM cs_one EXCEPT ALL SELECT * FROM cs_t) d) = 0;
END$$;
SELECT ok(run_seq('{"1:a,2:b","1:WRONG","1:a,2:b"}', '{2024-01-01,2024-01-02,2024-01-02}'),
    'the review sequence: a wrong snapshot then the corrected one');
SELECT is((SELECT count(*)::int FROM cs_t WHERE valid_from = '2024-01-01' AND valid_to IS NULL), 2,
    'two rows [01-01, NULL)');
SELECT is((SELECT count(*)::int FROM cs_t), 2, 'and nothing else');
SELECT ok(run_seq('{"1:a","1:b","1:c","1:a"}', '{2024-01-01,2024-01-02,2024-01-02,2024-01-02}'),
    'two wrong rewrites, then the old value again');
SELECT ok(run_seq('{"1:a","1:b","1:a","1:b"}', '{2024-01-01,2024-01-02,2024-01-02,2024-01-02}'),
    'reopened, then changed again at the same as_of');
SELECT ok(run_seq('{"1:a,2:b","1:a","1:a,2:b"}', '{2024-01-01,2024-01-02,2024-01-02}'),
    'a key closed by a delete comes back with the same values');
SELECT ok(run_seq('{"1:a,2:b","1:a","1:a,2:c"}', '{2024-01-01,2024-01-02,2024-01-02}'),
    'a key closed by a delete comes back with other values');
SELECT ok(run_seq('{"1:a","1:a,3:c","1:a"}', '{2024-01-01,2024-01-02,2024-01-02}'),
    'a new key removed again');
SELECT ok(run_seq('{"1:","1:x","1:"}', '{2024-01-01,2024-01-02,2024-01-02}'),
    'NULL, a value, NULL again');
SELECT ok(run_seq('{"1:a,2:b","1:x","1:a"}', '{2024-01-01,2024-01-02,2024-01-02}', 'ignore'),
    'with hard_deletes ignore');
SELECT ok(run_seq('{"1:a","1:b","1:a","1:a","1:c","1:a"}',
                  '{2024-01-01,2024-01-02,2024-01-02,2024-01-03,2024-01-03,2024-01-03}'),
    'over several days');

-- a long random sequence, several snapshots per as_of
CREATE FUNCTION random_seq(seed float8, ndays int, per_day int, mode text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    snaps text[] := '{}';
    days date[] := '{}';
BEGIN
    PERFORM setseed(seed);
    FOR d IN 1 .. ndays LOOP
        FOR r IN 1 .. 1 + floor(random() * per_day)::int LOOP
            snaps := snaps || (SELECT coalesce(string_agg(k || ':' || coalesce(v, ''), ','), '')
                               FROM (SELECT k, (ARRAY['a', 'b', NULL])[1 + floor(random() * 3)::int] AS v
                                     FROM generate_series(1, 12) k) x
                               WHERE random() < 0.8);
            days := days || ('2024-01-01'::date + d);
        END LOOP;
    END LOOP;
    RETURN run_seq(snaps, days, mode);
END$$;
SELECT ok(random_seq(0.1, 25, 4, 'invalidate'), 'random snapshots, several per as_of: same history as single runs (invalidate)');
SELECT ok(random_seq(0.2, 25, 4, 'invalidate'), 'again, another seed');
SELECT ok(random_seq(0.3, 40, 3, 'invalidate'), 'and a third');

-- a reopen deletes the rewritten version before reopening the old one, so
-- the unique current-row index on cs_t is never violated
SELECT ok(run_seq('{"1:a","1:b","1:a"}', '{2024-01-01,2024-01-02,2024-01-02}'), 'reopen with the unique index');

-- (12a) too many shared columns: a short error up front
DO $$
BEGIN
    EXECUTE 'CREATE TABLE wide_s (k int, ' ||
        (SELECT string_agg(format('c%s int', i), ', ') FROM generate_series(1, 840) i) || ')';
    EXECUTE 'CREATE TABLE wide_t (k int, ' ||
        (SELECT string_agg(format('c%s int', i), ', ') FROM generate_series(1, 840) i) ||
        ', valid_from timestamptz NOT NULL, valid_to timestamptz)';
END$$;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('wide_t', 'wide_s', '{k}', '2024-01-01')$$,
    '54011', 'target public.wide_t shares too many columns with source public.wide_s',
    'too many shared columns: 54011 with a clear message');
SELECT lives_ok($$SELECT * FROM elt_scd2_merge('wide_t', 'wide_s', '{k}', '2024-01-01', '{c1,c2}')$$,
    'fine with fewer tracked columns');

-- (12b) computed key columns: refused up front
CREATE TABLE gk_s (k int, v int);
CREATE TABLE gk_t (k int GENERATED ALWAYS AS (v * 2) STORED, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE ik_t (k int GENERATED ALWAYS AS IDENTITY, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO gk_s VALUES (2, 1);
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('gk_t', 'gk_s', '{k}', '2024-01-01')$$,
    '428C9', 'key column "k" of target public.gk_t is computed by the database', 'generated key column: 428C9');
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('ik_t', 'gk_s', '{k}', '2024-01-01')$$,
    '428C9', 'key column "k" of target public.ik_t is computed by the database', 'identity ALWAYS key column: 428C9');

-- (12b) a merge at an as_of versions start at needs UPDATE on the copied
-- columns and DELETE: refused before the source is read
CREATE SEQUENCE src_reads;
CREATE TABLE pv_s (k int, v text);
CREATE TABLE pv_t (k int, v text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE VIEW pv_sv AS SELECT k, v FROM pv_s WHERE nextval('src_reads') > 0;
INSERT INTO pv_s VALUES (1, 'a'), (2, 'b');
SELECT elt_scd2_merge('pv_t', 'pv_sv', '{k}', '2024-01-01');
CREATE ROLE scd2r_closer;
GRANT SELECT ON pv_s, pv_sv TO scd2r_closer;
GRANT USAGE ON SEQUENCE src_reads TO scd2r_closer;
GRANT SELECT, INSERT ON pv_t TO scd2r_closer;
GRANT UPDATE (valid_to) ON pv_t TO scd2r_closer;
UPDATE pv_s SET v = 'c' WHERE k = 1;
SET ROLE scd2r_closer;
SELECT lives_ok($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_sv', '{k}', '2024-01-02')$$,
    'UPDATE (valid_to) is enough for a merge at a new as_of');
RESET ROLE;
UPDATE pv_s SET v = 'd' WHERE k = 1;
SELECT setval('src_reads', 1, false);
SET ROLE scd2r_closer;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_sv', '{k}', '2024-01-02')$$,
    '42501', 'permission denied for table public.pv_t', 'again at that as_of without UPDATE on the columns: 42501');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pv_t WHERE valid_to IS NULL AND v = 'c'), 1, 'nothing rewritten');
SELECT is((SELECT last_value::int * is_called::int FROM src_reads), 0, 'refused before the source was read');
GRANT UPDATE ON pv_t TO scd2r_closer;
SET ROLE scd2r_closer;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_sv', '{k}', '2024-01-02')$$,
    '42501', 'permission denied for table public.pv_t', 'and without DELETE: 42501');
RESET ROLE;
SELECT is((SELECT last_value::int * is_called::int FROM src_reads), 0, 'also before the source was read');
GRANT DELETE ON pv_t TO scd2r_closer;
SET ROLE scd2r_closer;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_sv', '{k}', '2024-01-02')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 1::bigint)$$, 'with both it rewrites the version');
RESET ROLE;

-- (8) the privileges on the columns used are all checked up front
CREATE ROLE scd2r_onecol;
GRANT SELECT ON pv_s, pv_sv TO scd2r_onecol;
GRANT INSERT (k) ON pv_t TO scd2r_onecol;
SET ROLE scd2r_onecol;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_s', '{k}', '2024-01-03')$$,
    '42501', 'permission denied for table public.pv_t', 'INSERT on one column only: 42501');
RESET ROLE;
CREATE ROLE scd2r_notracked;
GRANT SELECT ON pv_s TO scd2r_notracked;
GRANT SELECT (k, valid_from, valid_to), INSERT, UPDATE, DELETE ON pv_t TO scd2r_notracked;
SET ROLE scd2r_notracked;
SELECT throws_ok($$SELECT * FROM elt_scd2_merge('pv_t', 'pv_s', '{k}', '2024-01-03')$$,
    '42501', 'permission denied for table public.pv_t', 'no SELECT on a tracked column: 42501');
RESET ROLE;

-- (12c) types without an equality operator: compared by their binary form,
-- which extra_float_digits, DateStyle and IntervalStyle do not change
CREATE TYPE stamp_doc AS (at timestamptz, span interval, doc json);
CREATE TABLE ne_s (k int, p point, d stamp_doc);
CREATE TABLE ne_t (k int, p point, d stamp_doc, valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO ne_s VALUES (1, point(0.1, 0.2), ROW('2024-01-01 10:00:00.123456+00', '1 day 02:03:04.5', '{"a": 1.5}'));
SELECT elt_scd2_merge('ne_t', 'ne_s', '{k}', '2024-01-01');
SET extra_float_digits = -15;
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SELECT results_eq($$SELECT * FROM elt_scd2_merge('ne_t', 'ne_s', '{k}', '2024-01-02')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 1::bigint)$$, 'other output settings, same data: unchanged');
UPDATE ne_s SET p = point(0.1 + 1e-15, 0.2);
SELECT results_eq($$SELECT * FROM elt_scd2_merge('ne_t', 'ne_s', '{k}', '2024-01-03')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 0::bigint)$$,
    'a change hidden by extra_float_digits = -15 is still a change');
UPDATE ne_s SET d.at = (d).at + interval '1 microsecond';
SELECT results_eq($$SELECT * FROM elt_scd2_merge('ne_t', 'ne_s', '{k}', '2024-01-04')$$,
    $$VALUES (0::bigint, 1::bigint, 0::bigint, 0::bigint)$$, 'a microsecond inside a composite is a change');
RESET extra_float_digits;
RESET DateStyle;
RESET IntervalStyle;
SELECT results_eq($$SELECT * FROM elt_scd2_merge('ne_t', 'ne_s', '{k}', '2024-01-05')$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 1::bigint)$$, 'settings back: still unchanged');

SELECT * FROM finish();
ROLLBACK;
