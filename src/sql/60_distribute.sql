-- Scaling out on Citus: elt_distribute() turns the warehouse of a Citus
-- coordinator into distributed tables (by user_id, colocated) and reference
-- tables; elt_generate then generates each shard group's users on the
-- worker holding it, and elt_scd2_merge (so elt_refresh) writes into
-- distributed tables through a local copy.  Every mart builder runs on
-- Citus (the monthly and daily aggregates over copies of their sources on
-- the coordinator, elt__source), so elt_build_marts, elt_update_marts,
-- elt_generate with build_marts and elt_refresh's mart updates do too.
--
-- The tables stay members of the extension: CREATE EXTENSION elt (which
-- Citus propagates) creates them on every node, and Citus neither creates
-- shell tables for extension members on the workers nor marks them as
-- distributed objects, so the extension keeps owning them everywhere.
-- What changes is only what Citus requires of a distributed table: a
-- primary key or unique index contains the distribution column, and foreign
-- keys between distributed tables contain it too (those that cannot are
-- dropped: their rows are built to satisfy them, see elt_distribute).  The
-- copies of reference tables Citus keeps on the coordinator are not the
-- extension's when Citus creates them: elt_distribute makes them members
-- (elt__adopt_placements), so a plain DROP EXTENSION elt drops everything.
--
-- Without Citus nothing here runs: elt_distribute refuses, and every other
-- function takes its single-node path (elt.elt__distributed() is false).

-- Internal: the elt_raw tables, the one list of them (with
-- elt.elt__mart_tables for elt_mart): name and grain.  Grain 'user' tables
-- have a user_id column and are distributed by it; 'lookup' tables are
-- small and static: reference tables, a copy on every node.
CREATE OR REPLACE FUNCTION elt.elt__raw_tables()
RETURNS TABLE (ord integer, tab text, name text, grain text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT r.ord, 'elt_raw.' || r.name, r.name, r.grain
FROM (VALUES (1, 'regions',          'lookup'),
             (2, 'referral_sources', 'lookup'),
             (3, 'payment_methods',  'lookup'),
             (4, 'plans',            'lookup'),
             (5, 'plan_features',    'lookup'),
             (6, 'users',            'user'),
             (7, 'subscriptions',    'user'),
             (8, 'usage',            'user'))
     AS r(ord, name, grain)
ORDER BY r.ord
$fn$;
COMMENT ON FUNCTION elt.elt__raw_tables() IS
'Internal: the one list of the elt_raw tables: order, qualified and short name, grain (lookup: small static table; user: one or more rows per user, with a user_id column).';

-- Internal: the tables elt_distribute places, in the order it places them
-- (referenced tables first): reference tables, then the user-grain tables
-- distributed by user_id.  A mart table is user-grain when it has a user_id
-- column (read from the catalog, so new mart tables are placed too).
CREATE OR REPLACE FUNCTION elt.elt__citus_tables()
RETURNS TABLE (ord integer, tab regclass, placement text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT (row_number() OVER (ORDER BY t.placement = 'distributed', t.src, t.ord))::integer,
       t.tab, t.placement
FROM (SELECT r.tab::regclass AS tab, 1 AS src, r.ord,
             CASE r.grain WHEN 'user' THEN 'distributed' ELSE 'reference' END AS placement
      FROM elt.elt__raw_tables() r
      UNION ALL
      SELECT m.tab::regclass, 2, m.ord,
             CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = m.tab::regclass AND a.attname = 'user_id'
                                 AND NOT a.attisdropped)
                  THEN 'distributed' ELSE 'reference' END
      FROM elt.elt__mart_tables() m) t
$fn$;
COMMENT ON FUNCTION elt.elt__citus_tables() IS
'Internal: the tables elt_distribute places on Citus, in order: reference tables (lookups, dimensions and facts without a user_id column) first, then the tables with a user_id column, distributed by it.';

-- Internal: is this database a Citus coordinator whose elt_raw.users is
-- distributed?  Every function with a distributed path asks this; without
-- Citus (no pg_dist_partition) it is false and costs one catalog probe.
CREATE OR REPLACE FUNCTION elt.elt__distributed()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v boolean;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                            WHERE p.logicalrelid = ''elt_raw.users''::pg_catalog.regclass AND p.partmethod = ''h'')'
        INTO v;
    RETURN v;
END
$fn$;
COMMENT ON FUNCTION elt.elt__distributed() IS
'Internal: whether elt_raw.users is a Citus distributed table here (false without Citus).';

-- Internal: loads one shard group's users into its shards (tables of
-- elt_raw, named users_<shardid> etc.), on the worker holding them: the
-- users whose user_id hashes into [hash_lo, hash_hi], in one pass over the
-- population with the bulk loader; the caller emptied the shards.
CREATE OR REPLACE FUNCTION elt.elt__load_shard(
    users integer, seed bigint, as_of date, start_date date,
    hash_lo integer, hash_hi integer,
    users_shard text, subscriptions_shard text, usage_shard text, params jsonb,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
AS 'MODULE_PATHNAME', 'elt__load_shard'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION elt.elt__load_shard(integer, bigint, date, date, integer, integer, text, text, text, jsonb) IS
'Internal: bulk-loads the users whose user_id hashes into [hash_lo, hash_hi] into the given (empty) shards of elt_raw.users, subscriptions and usage.';

-- Internal: one task of elt_generate on Citus, run on the worker holding
-- the shard group of elt_raw.users, subscriptions and usage that user_id
-- key hashes into: looks the shards up in the worker's copy of Citus's
-- catalog, empties them (by the connection that loads them: the bulk
-- loader writes frozen rows into a table truncated in its own
-- transaction), loads their users and analyzes them (in parallel on
-- every worker; ANALYZE of a distributed table from the coordinator
-- visits the shards one by one), with a statistics target shared out
-- among the shard groups.  Returns the rows and the group's hash
-- range (its lower bound), so the caller can see that every group ran.
CREATE OR REPLACE FUNCTION elt.elt__fill_shard(
    users integer, seed bigint, as_of date, start_date date, key bigint, params jsonb,
    OUT hash_lo integer, OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_hash   integer := pg_catalog.worker_hash(key);
    v_hi     integer;
    v_shards text[];
    v_groups bigint;
    v_target text := pg_catalog.current_setting('default_statistics_target');
BEGIN
    SELECT min(s.shardminvalue::integer), min(s.shardmaxvalue::integer),
           array_agg(c.relname || '_' || s.shardid ORDER BY c.ord)
      INTO hash_lo, v_hi, v_shards
    FROM (VALUES (1, 'users'), (2, 'subscriptions'), (3, 'usage')) c(ord, relname)
    JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid = ('elt_raw.' || c.relname)::pg_catalog.regclass
    WHERE v_hash BETWEEN s.shardminvalue::integer AND s.shardmaxvalue::integer;
    IF pg_catalog.cardinality(v_shards) IS DISTINCT FROM 3 THEN
        RAISE EXCEPTION 'elt_generate: no single shard of elt_raw.users, subscriptions and usage holds user_id %', key
            USING ERRCODE = '55000',
                  HINT = 'The three tables must stay colocated, as elt_distribute made them.';
    END IF;
    EXECUTE pg_catalog.format('TRUNCATE elt_raw.%I, elt_raw.%I, elt_raw.%I', v_shards[3], v_shards[2], v_shards[1]);
    SELECT * INTO users_rows, subscriptions_rows, usage_rows
    FROM elt.elt__load_shard(users, seed, as_of, start_date, hash_lo, v_hi, v_shards[1], v_shards[2], v_shards[3], params);
    -- ANALYZE samples 300 x default_statistics_target rows whatever the
    -- table's size, so analyzing every shard with the target of a single
    -- node would cost the shard count times a single node's ANALYZE (with
    -- 4 shards about a sixth of a task's time): the target is divided by
    -- the number of shard groups (at least 10), so that the samples of all
    -- shards together are a single node's.  Only for this ANALYZE.
    SELECT pg_catalog.count(*) INTO v_groups
    FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid = 'elt_raw.users'::pg_catalog.regclass;
    PERFORM pg_catalog.set_config('default_statistics_target',
                                  GREATEST(10, v_target::integer / GREATEST(v_groups, 1))::text, true);
    EXECUTE pg_catalog.format('ANALYZE elt_raw.%I, elt_raw.%I, elt_raw.%I', v_shards[1], v_shards[2], v_shards[3]);
    PERFORM pg_catalog.set_config('default_statistics_target', v_target, true);
END
$fn$;
COMMENT ON FUNCTION elt.elt__fill_shard(integer, bigint, date, date, bigint, jsonb) IS
'Internal (Citus, on a worker): empties, loads (elt__load_shard) and analyzes the shard group of elt_raw.users, subscriptions and usage that key hashes into; returns its lower hash bound and the rows.';

-- Internal: one user_id per shard group of elt_raw.users (the first id
-- hashing into it): the rows of elt.shard_groups.  Candidates are put into
-- their group by a binary search of the sorted lower bounds
-- (width_bucket); 64 per group miss none in practice, and a group without
-- a key is refused where it matters (elt__load_distributed).
CREATE OR REPLACE FUNCTION elt.elt__shard_group_keys()
RETURNS TABLE (user_id bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
WITH b AS (
    SELECT pg_catalog.array_agg(u.shardminvalue::integer ORDER BY u.shardminvalue::integer) AS los, count(*) AS n
    FROM pg_catalog.pg_dist_shard u
    WHERE u.logicalrelid = 'elt_raw.users'::pg_catalog.regclass)
SELECT DISTINCT ON (c.bucket) c.id
FROM (SELECT i AS id, pg_catalog.width_bucket(pg_catalog.worker_hash(i), b.los) AS bucket
      FROM b, pg_catalog.generate_series(1::bigint, 64 * b.n) i) c
ORDER BY c.bucket, c.id
$fn$;
COMMENT ON FUNCTION elt.elt__shard_group_keys() IS
'Internal (Citus): the first user_id hashing into each shard group of elt_raw.users: the rows of elt.shard_groups.';

-- Internal: elt_generate's load on a distributed warehouse.  One query
-- over the driver table elt.shard_groups (colocated with elt_raw.users,
-- one user_id per shard group, filled by elt_distribute) runs
-- elt__fill_shard as one task per shard group, on the worker holding it:
-- every worker generates exactly its users and writes them locally.  The
-- driver is not read or written before in this transaction: a shard read
-- or written in a transaction is then used through the same connection.
--
-- per_worker = false: one connection per task, all tasks in parallel.  The
-- loaded rows are visible only to the connection that wrote them, until
-- commit, so the rest of the transaction must reach each shard group
-- through its task's connection; a later write to a reference table
-- (which Citus sends over one connection per worker, and through which it
-- then reads every reference table there) makes any query joining a
-- reference table with that worker's shards need two connections: Citus
-- refuses ("cannot perform query with placements that were modified over
-- multiple connections") or deadlocks on the truncated shards.  So the
-- mart builders cannot follow in the same transaction.
-- per_worker = true (elt_generate with build_marts): one connection per
-- worker for the rest of the transaction (citus.max_adaptive_executor_pool_size
-- = 1), each worker loading its shard groups one after another; every
-- later query of the transaction then reaches a worker's shards and
-- reference tables through that one connection, so the builders can run.
--
-- Atomicity: to Citus the load is a read-only query, which outside an
-- explicit transaction block gets no remote transaction (every task would
-- commit on its own, and a later error or cancel of elt_generate would
-- leave the new rows).  LOCK TABLE of a distributed table starts Citus's
-- coordinated transaction (the lock goes to every node), so the tasks run
-- in it; ACCESS EXCLUSIVE, as the TRUNCATE of a single node.  After the
-- load, a write of the driver's rows over the load's connections makes
-- Citus count them as writers: they take part in its two-phase commit,
-- and every later query of the transaction must reach a shard group
-- through its load's connection (the only one that sees the new rows).
--
-- Afterwards: every shard group must have run (shards split since
-- elt_distribute would leave new groups without a driver row).
CREATE OR REPLACE FUNCTION elt.elt__load_distributed(
    users integer, seed bigint, as_of date, start_date date, params jsonb, per_worker boolean,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ran     integer[];
    v_missing bigint;
    v_par     text := pg_catalog.current_setting('citus.force_max_query_parallelization');
BEGIN
    IF per_worker THEN
        -- to the end of the transaction (is_local): the builders that follow
        -- must not open a second connection to a worker
        PERFORM pg_catalog.set_config('citus.max_adaptive_executor_pool_size', '1', true);
    ELSE
        -- one connection per task, not Citus's slow start from one per
        -- worker (every task is long)
        PERFORM pg_catalog.set_config('citus.force_max_query_parallelization', 'on', true);
    END IF;
    LOCK TABLE elt_raw.users, elt_raw.subscriptions, elt_raw.usage IN ACCESS EXCLUSIVE MODE;
    SELECT sum(r.users_rows), sum(r.subscriptions_rows), sum(r.usage_rows), array_agg(r.hash_lo)
      INTO users_rows, subscriptions_rows, usage_rows, v_ran
    FROM elt.shard_groups d
    CROSS JOIN LATERAL elt.elt__fill_shard(elt__load_distributed.users, seed, as_of, start_date, d.user_id, params) r;
    UPDATE elt.shard_groups d SET user_id = d.user_id;
    PERFORM pg_catalog.set_config('citus.force_max_query_parallelization', v_par, true);
    SELECT count(*) INTO v_missing
    FROM pg_catalog.pg_dist_shard u
    WHERE u.logicalrelid = 'elt_raw.users'::pg_catalog.regclass
      AND u.shardminvalue::integer <> ALL (COALESCE(v_ran, '{}'));
    IF v_missing > 0 THEN
        RAISE EXCEPTION 'elt_generate: % shards of elt_raw.users have no row in elt.shard_groups', v_missing
            USING ERRCODE = '55000',
                  HINT = 'Shards were split or added after elt_distribute: run SELECT elt_distribute() again, then elt_generate.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__load_distributed(integer, bigint, date, date, jsonb, boolean) IS
'Internal: elt_generate''s load of elt_raw.users, subscriptions and usage when they are Citus distributed tables: every shard group generated and loaded on its worker through a colocated driver table, all in parallel (per_worker false) or one connection per worker for the rest of the transaction, so that the mart builders can follow (per_worker true).';

-- Internal: runs a DDL command on this node and on every worker's copy of
-- the extension's tables (the tables are not Citus tables yet, so Citus
-- would not propagate it, and the copies must match what Citus will
-- propagate later).  The workers run it in their own transactions, so the
-- commands are idempotent (IF EXISTS): a failed elt_distribute can simply
-- run again.
CREATE OR REPLACE FUNCTION elt.elt__ddl_everywhere(cmd text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
BEGIN
    EXECUTE cmd;
    FOR r IN EXECUTE 'SELECT w.nodename, w.nodeport, w.success, w.result FROM pg_catalog.run_command_on_workers($1) w'
             USING cmd LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION 'elt_distribute: % failed on worker %:%: %', cmd, r.nodename, r.nodeport, r.result
                USING ERRCODE = '55000',
                      HINT = 'Fix the worker and run elt_distribute() again: what it did there is kept and done again harmlessly.';
        END IF;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION elt.elt__ddl_everywhere(text) IS
'Internal: runs an idempotent DDL command here and on every Citus worker (elt_distribute, before the tables are Citus tables).';

-- Internal: where a mart builder reads a source relation (src, a table or
-- view of elt_raw, elt or elt_mart) from, keeping the rows matching cond (an
-- expression on the alias r, built by the caller with format()).  On a
-- single node src itself (cond is the builder's own business: its
-- statement filters).  On Citus a temp table on the coordinator holding
-- those rows, dropped at commit: the statements of the monthly and daily
-- aggregate builders (movement per user and month, running sums per day)
-- join their user-grain parts with series of months and days, reference
-- tables and each other in ways Citus cannot push down to the shards, so
-- they run on the coordinator over these copies, with the same text as
-- on a single node.  Correct, not fast: the copies go through the
-- coordinator.
CREATE OR REPLACE FUNCTION elt.elt__source(src text, cond text DEFAULT 'true')
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := 'elt_citus_' || pg_catalog.replace(src, '.', '_');
BEGIN
    IF NOT elt.elt__distributed() THEN
        RETURN src;
    END IF;
    IF pg_catalog.to_regclass('pg_temp.' || v_name) IS NOT NULL THEN
        EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', v_name);
    END IF;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT * FROM %s r WHERE %s',
                              v_name, src, cond);
    EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', v_name);
    RETURN pg_catalog.format('pg_temp.%I', v_name);
END
$fn$;
COMMENT ON FUNCTION elt.elt__source(text, text) IS
'Internal: the relation a mart builder reads src from: src on a single node; on Citus a temp copy on the coordinator (dropped at commit) of its rows matching cond (alias r).';

-- Internal: elt_scd2_merge into a Citus table (elt_scd2_merge calls it
-- after its checks, holding the target's lock).  The merge engine addresses
-- versions by ctid, which Citus cannot route, so the versions of the keys
-- the merge can touch are copied into a local temp table, merged there by
-- elt_scd2_merge itself, and written back: those keys' versions deleted
-- and inserted again.  The keys it can touch are those of the source with
-- hard_deletes = 'ignore' (elt_refresh), every key with 'invalidate' (the
-- whole target is copied: correct, not fast).  Counts as elt_scd2_merge.
CREATE OR REPLACE FUNCTION elt.elt__scd2_merge_citus(
    target regclass, source regclass, keys text[], as_of timestamptz,
    tracked text[], hard_deletes text)
RETURNS TABLE (inserted bigint, updated bigint, deleted bigint, unchanged bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_tk   text := (SELECT string_agg(pg_catalog.format('t.%I', k), ', ' ORDER BY o) FROM unnest(keys) WITH ORDINALITY u(k, o));
    v_sk   text := (SELECT string_agg(pg_catalog.format('s.%I', k), ', ' ORDER BY o) FROM unnest(keys) WITH ORDINALITY u(k, o));
    v_lk   text := (SELECT string_agg(pg_catalog.format('l.%I', k), ', ' ORDER BY o) FROM unnest(keys) WITH ORDINALITY u(k, o));
    r      record;
BEGIN
    IF pg_catalog.to_regclass('pg_temp.elt_scd2_citus') IS NOT NULL THEN
        DROP TABLE pg_temp.elt_scd2_citus;
    END IF;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE elt_scd2_citus ON COMMIT DROP AS SELECT * FROM %s t WHERE %s',
                              target,
                              CASE WHEN hard_deletes = 'ignore'
                                   THEN pg_catalog.format('(%s) IN (SELECT %s FROM %s s)', v_tk, v_sk, source)
                                   ELSE 'true' END);
    SELECT * INTO r FROM @extschema@.elt_scd2_merge('pg_temp.elt_scd2_citus'::pg_catalog.regclass, source, keys,
                                                    as_of, tracked, hard_deletes);
    IF r.inserted + r.updated + r.deleted > 0 THEN
        EXECUTE pg_catalog.format('DELETE FROM %s t WHERE (%s) IN (SELECT %s FROM pg_temp.elt_scd2_citus l)',
                                  target, v_tk, v_lk);
        EXECUTE pg_catalog.format('INSERT INTO %s SELECT * FROM pg_temp.elt_scd2_citus', target);
    END IF;
    DROP TABLE pg_temp.elt_scd2_citus;
    RETURN QUERY SELECT r.inserted, r.updated, r.deleted, r.unchanged;
END
$fn$;
COMMENT ON FUNCTION elt.elt__scd2_merge_citus(regclass, regclass, text[], timestamptz, text[], text) IS
'Internal: elt_scd2_merge into a Citus table: the versions of the keys it can touch merged in a local copy and written back.';
-- For PUBLIC, as elt_scd2_merge is: it runs with the caller's privileges
-- and does nothing the caller may not do (elt_scd2_merge checked them).

-- Internal: makes the tables Citus keeps on this node for elt's Citus
-- tables (the coordinator's copies of the reference tables, named
-- <table>_<shardid>, in elt's schemas) members of the extension, so that a
-- plain DROP EXTENSION elt drops them with the rest (Citus then removes
-- the workers' shards through its drop trigger) instead of refusing
-- because they sit in elt's schemas; pg_dump skips members, as it skips
-- Citus's shards anyway.  Citus does not propagate ALTER EXTENSION ...
-- ADD (its notice is silenced): the workers' shards stay Citus's, and
-- Citus drops them.  Idempotent: copies already members are skipped.
CREATE OR REPLACE FUNCTION elt.elt__adopt_placements()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $fn$
DECLARE
    r      record;
    v_n    integer := 0;
BEGIN
    FOR r IN
        SELECT pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) AS shard
        FROM pg_catalog.pg_dist_shard s
        JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid
        WHERE p.groupid = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)
          AND (s.logicalrelid IN (SELECT c.tab FROM elt.elt__citus_tables() c)
               OR s.logicalrelid = 'elt.shard_groups'::pg_catalog.regclass)
        ORDER BY s.shardid
    LOOP
        CONTINUE WHEN r.shard IS NULL
            OR EXISTS (SELECT FROM pg_catalog.pg_depend d
                       JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'elt'
                       WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = r.shard
                         AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e');
        EXECUTE pg_catalog.format('ALTER EXTENSION elt ADD TABLE %s', r.shard);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION elt.elt__adopt_placements() IS
'Internal (Citus): makes this node''s copies of elt''s Citus tables (the coordinator''s reference-table placements) members of extension elt, so that DROP EXTENSION elt drops them; returns how many it added.';

-- elt_distribute(): see the comment at the top of this file.
CREATE OR REPLACE FUNCTION @extschema@.elt_distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, placement text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t      record;
    k      record;
    v_cols text;
    v_first regclass;
BEGIN
    IF shard_count IS NOT NULL AND shard_count NOT BETWEEN 1 AND 64000 THEN
        RAISE EXCEPTION 'shard_count must be between 1 and 64000, not %', shard_count
            USING ERRCODE = '22023',
                  HINT = 'Pass NULL (the default) for citus.shard_count; a small multiple of the workers'' cores suits elt_generate.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
        RAISE EXCEPTION 'elt_distribute needs Citus, and extension citus is not installed in this database'
            USING ERRCODE = '0A000',
                  HINT = 'Install Citus from its packages (https://docs.citusdata.com), put citus first in shared_preload_libraries on the coordinator and every worker, run CREATE EXTENSION citus before CREATE EXTENSION elt, and add the workers with citus_add_node.';
    END IF;
    IF NOT (SELECT c FROM pg_catalog.citus_is_coordinator() c) THEN
        RAISE EXCEPTION 'elt_distribute runs on the Citus coordinator'
            USING ERRCODE = '55000',
                  HINT = 'Connect to the coordinator; if this node is meant to be one, run SELECT citus_set_coordinator_host(''<its host>'') first.';
    END IF;
    -- keys to reference tables are added in the same transaction as the
    -- tables are placed: Citus needs one connection per node for that
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- one generate or refresh at a time, and none while tables move
    PERFORM elt.elt__writer_lock(true);
    LOCK TABLE elt.settings IN EXCLUSIVE MODE;

    -- Foreign keys among these tables are taken off while the tables are
    -- placed (a reference table with a local table's key pointing at it
    -- would make Citus convert that table, which fails for tables the
    -- extension created on every node) and put back after, except those
    -- Citus cannot keep: between two distributed tables without the
    -- distribution column (the facts' user_key and subscription_key: the
    -- Unknown member -1 has user_id -1, so a key with user_id could not
    -- point at it), from a reference table to a distributed one, and to
    -- the reference tables of elt_mart (dim_date, dim_plan: the facts'
    -- date_key and plan_key; Citus refuses to write a reference table that
    -- any table references after a parallel query in the same
    -- transaction, and elt_generate and elt_refresh build the marts after
    -- their parallel work on elt_raw).
    -- Their rows are built from lookups that fall back to the Unknown
    -- member, so they hold without the constraint.
    CREATE TEMP TABLE elt_distribute_fkeys ON COMMIT DROP AS
    SELECT c.conrelid::regclass AS tab, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def,
           (NOT (d.placement = 'reference'
                 AND (SELECT r.relnamespace FROM pg_catalog.pg_class r WHERE r.oid = d.tab)
                     = 'elt_mart'::pg_catalog.regnamespace)
            AND (NOT d.placement = 'distributed'
                 OR (s.placement = 'distributed'
                AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'user_id'
                              AND a.attnum = ANY (c.conkey))))) AS keep
    FROM pg_catalog.pg_constraint c
    JOIN elt.elt__citus_tables() s ON s.tab = c.conrelid
    JOIN elt.elt__citus_tables() d ON d.tab = c.confrelid
    WHERE c.contype = 'f'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = c.conrelid);
    FOR k IN SELECT * FROM pg_temp.elt_distribute_fkeys f ORDER BY f.tab::text, f.conname LOOP
        PERFORM elt.elt__ddl_everywhere(pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', k.tab, k.conname));
    END LOOP;

    -- Primary keys and unique indexes of the distributed tables get user_id
    -- as their last column where they lack it: Citus enforces uniqueness
    -- per shard only.  Every id elt generates belongs to one user, so the
    -- key is as unique as before.
    FOR t IN SELECT * FROM elt.elt__citus_tables() c
             WHERE c.placement = 'distributed'
               AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = c.tab)
             ORDER BY c.ord LOOP
        FOR k IN
            SELECT i.indexrelid::regclass AS idx, ic.relname AS idxname, i.indisprimary,
                   co.conname, pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred,
                   (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY x.n)
                    FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY x(attnum, n)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.attnum) AS cols
            FROM pg_catalog.pg_index i
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
            LEFT JOIN pg_catalog.pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid
            WHERE i.indrelid = t.tab AND i.indisunique
              AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                              WHERE a.attrelid = i.indrelid AND a.attname = 'user_id'
                                AND a.attnum = ANY (i.indkey::int2[]))
            ORDER BY ic.relname
        LOOP
            v_cols := k.cols || ', user_id';
            IF k.conname IS NOT NULL THEN
                PERFORM elt.elt__ddl_everywhere(pg_catalog.format(
                    'ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I, ADD CONSTRAINT %I %s (%s)',
                    t.tab, k.conname, k.conname,
                    CASE WHEN k.indisprimary THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, v_cols));
            ELSE
                PERFORM elt.elt__ddl_everywhere(pg_catalog.format('DROP INDEX IF EXISTS %s', k.idx));
                PERFORM elt.elt__ddl_everywhere(pg_catalog.format(
                    'CREATE UNIQUE INDEX %I ON %s (%s)%s', k.idxname, t.tab, v_cols,
                    CASE WHEN k.pred IS NULL THEN '' ELSE ' WHERE ' || k.pred END));
            END IF;
        END LOOP;
    END LOOP;

    -- Reference tables first (distributed tables have keys to them), then
    -- the distributed ones, all colocated with the first.  Rows already
    -- there move to the shards and are removed from the coordinator's table.
    FOR t IN SELECT * FROM elt.elt__citus_tables() c ORDER BY c.ord LOOP
        table_name := t.tab::text;
        placement := t.placement;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = t.tab) THEN
            IF t.placement = 'reference' THEN
                PERFORM pg_catalog.create_reference_table(t.tab);
            ELSE
                IF v_first IS NULL THEN
                    -- the first table starts elt's own colocation group
                    PERFORM pg_catalog.create_distributed_table(t.tab, 'user_id', colocate_with => 'none',
                        shard_count => COALESCE(elt_distribute.shard_count,
                                                pg_catalog.current_setting('citus.shard_count')::integer));
                ELSE
                    PERFORM pg_catalog.create_distributed_table(t.tab, 'user_id', colocate_with => v_first::text);
                END IF;
            END IF;
            PERFORM pg_catalog.truncate_local_data_after_distributing_table(t.tab);
        END IF;
        IF t.placement = 'distributed' THEN
            v_first := COALESCE(v_first, t.tab);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- the driver of elt_generate (elt__load_distributed), with the rest
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                   WHERE p.logicalrelid = 'elt.shard_groups'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('elt.shard_groups', 'user_id', colocate_with => v_first::text);
    END IF;
    DELETE FROM elt.shard_groups;
    INSERT INTO elt.shard_groups (user_id) SELECT g.user_id FROM elt.elt__shard_group_keys() g;
    FOR k IN SELECT * FROM pg_temp.elt_distribute_fkeys f WHERE f.keep ORDER BY f.tab::text, f.conname LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.tab, k.conname, k.def);
    END LOOP;
    DROP TABLE pg_temp.elt_distribute_fkeys;
    -- the lookups now, so that elt_generate finds them as they should be
    -- and writes no reference table before it loads the shards
    PERFORM elt.elt__sync_lookups();
    -- the coordinator's copies of the reference tables become elt's, so
    -- that DROP EXTENSION elt (without CASCADE) drops them
    PERFORM elt.elt__adopt_placements();
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_distribute(integer) IS
'On a Citus coordinator: makes the elt tables with a user_id column (elt_raw.users, subscriptions, usage and the user-grain marts) distributed tables by user_id, colocated, and the other elt_raw and elt_mart tables reference tables; adds user_id to their primary keys and unique indexes and drops the foreign keys Citus cannot keep. shard_count: shards per distributed table (NULL: citus.shard_count). Idempotent. Without Citus it raises 0A000. Returns each table with its placement.';
REVOKE ALL ON FUNCTION @extschema@.elt_distribute(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__raw_tables() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__source(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__citus_tables() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__distributed() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__adopt_placements() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__shard_group_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__ddl_everywhere(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__load_shard(integer, bigint, date, date, integer, integer, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__fill_shard(integer, bigint, date, date, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__load_distributed(integer, bigint, date, date, jsonb, boolean) FROM PUBLIC;
