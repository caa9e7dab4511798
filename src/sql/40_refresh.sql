-- elt_refresh(): advance the simulated source day by day and land only what
-- changed.  Users and subscriptions go through elt_scd2_merge with the
-- business day as as_of; usage is appended; marts are updated incrementally.

CREATE FUNCTION @extschema@.elt_refresh(days integer DEFAULT NULL)
RETURNS TABLE (days_applied integer, clock_before date, clock_after date,
               users_rows bigint, subscriptions_rows bigint, usage_rows bigint,
               status text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s          elt.settings;
    v_target   date;
    v_day      date;
    v_asof     timestamptz;
    v_started  timestamptz := clock_timestamp();
    v_users    bigint := 0;
    v_subs     bigint := 0;
    v_usage    bigint := 0;
    v_n        bigint;
    v_fast     boolean;
    m          record;
    v_state    text;
    v_msg      text;
    v_detail   text;
    v_hint     text;
    v_timeout  text := pg_catalog.current_setting('lock_timeout');
    v_skip     text;
    v_found    boolean := false;
BEGIN
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023',
                  HINT = 'Pass NULL to catch up with current_date.';
    END IF;

    -- One generate or refresh at a time.  A refresh that finds another one
    -- running does nothing (pg_cron runs must not pile up) and says so in
    -- the run log.  The advisory lock tells a real generate or refresh from
    -- incidental lockers of elt.settings (autovacuum, SELECT ... FOR SHARE),
    -- which the refresh waits for, a few seconds at most.
    IF NOT @extschema@.elt__writer_lock(false) THEN
        v_skip := 'another elt_generate or elt_refresh is running';
    ELSE
        PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
        BEGIN
            LOCK TABLE elt.settings IN EXCLUSIVE MODE;
            -- FOR UPDATE reads the latest clock in READ COMMITTED, and fails
            -- with 40001 in REPEATABLE READ or SERIALIZABLE if it changed
            -- after the snapshot (a day would be applied twice otherwise)
            SELECT * INTO s FROM elt.settings FOR UPDATE;
            v_found := FOUND;
        EXCEPTION
            WHEN lock_not_available THEN
                v_skip := 'elt.settings stayed locked by another session for 5 s';
            WHEN serialization_failure THEN
                RAISE EXCEPTION 'elt_refresh: the simulated clock changed after this transaction''s snapshot was taken'
                    USING ERRCODE = '40001',
                          DETAIL = 'Another elt_generate or elt_refresh committed since this REPEATABLE READ or SERIALIZABLE transaction began; applying its days again would duplicate them.',
                          HINT = 'Retry the transaction, or call elt_refresh in a READ COMMITTED transaction.';
        END;
        PERFORM pg_catalog.set_config('lock_timeout', v_timeout, true);
    END IF;
    IF v_skip IS NOT NULL THEN
        SELECT * INTO s FROM elt.settings;    -- for the log only: not locked
        RAISE NOTICE 'elt_refresh: %; nothing done', v_skip;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, status, error)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, s.clock, 'skipped', v_skip);
        RETURN QUERY SELECT 0, s.clock, s.clock, 0::bigint, 0::bigint, 0::bigint, 'skipped'::text;
        RETURN;
    END IF;

    IF NOT v_found THEN
        RAISE EXCEPTION 'elt_refresh: nothing to refresh'
            USING ERRCODE = '55000',
                  HINT = 'Run elt_generate() first: it creates the simulated population.';
    END IF;

    IF days > date '2999-12-31' - s.clock THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023',
                  HINT = pg_catalog.format('The clock is at %s: days may be %s at most.', s.clock, date '2999-12-31' - s.clock);
    END IF;
    v_target := CASE WHEN days IS NULL THEN current_date ELSE s.clock + days END;
    IF v_target > date '2999-12-31' THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023', HINT = 'current_date is past 2999-12-31: pass days instead of NULL.';
    END IF;
    IF v_target <= s.clock THEN
        RAISE NOTICE 'elt_refresh: the clock (%) is already at or past %; nothing to do', s.clock, v_target;
        RETURN;
    END IF;

    BEGIN
        -- The day's change sets: created once per refresh and emptied every
        -- day, not created and dropped every day (their locks would be held
        -- until commit, some 30 a day: a long catch-up ran out of shared
        -- memory).  Created in this block's subtransaction, TRUNCATE empties
        -- them in place.  One left by an earlier refresh of this transaction
        -- (they are dropped on commit) is reused.
        IF pg_catalog.to_regclass('pg_temp.elt_refresh_users') IS NULL THEN
            CREATE TEMP TABLE elt_refresh_users ON COMMIT DROP AS
                SELECT * FROM @extschema@.elt_users(s.users, s.seed, s.clock, s.start_date,
                                                    history => false, since => s.clock)
                WITH NO DATA;
        END IF;
        IF pg_catalog.to_regclass('pg_temp.elt_refresh_subscriptions') IS NULL THEN
            CREATE TEMP TABLE elt_refresh_subscriptions ON COMMIT DROP AS
                SELECT * FROM @extschema@.elt_subscriptions(s.users, s.seed, s.clock, s.start_date,
                                                            history => false, since => s.clock)
                WITH NO DATA;
        END IF;

        v_day := s.clock + 1;
        WHILE v_day <= v_target LOOP
            -- business time: midnight UTC of the simulated day, whatever TimeZone says
            v_asof := v_day::timestamp AT TIME ZONE 'UTC';

            TRUNCATE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;
            INSERT INTO pg_temp.elt_refresh_users
                SELECT * FROM @extschema@.elt_users(s.users, s.seed, v_day, s.start_date,
                                                    history => false, since => v_day);
            INSERT INTO pg_temp.elt_refresh_subscriptions
                SELECT * FROM @extschema@.elt_subscriptions(s.users, s.seed, v_day, s.start_date,
                                                            history => false, since => v_day);

            -- every argument typed exactly: an overload planted in the
            -- extension's schema must not be a better match for literals
            SELECT * INTO m FROM @extschema@.elt_scd2_merge(
                'elt_raw.users'::pg_catalog.regclass, 'pg_temp.elt_refresh_users'::pg_catalog.regclass,
                ARRAY['user_id']::pg_catalog.text[], v_asof, NULL::pg_catalog.text[], 'ignore'::pg_catalog.text);
            v_users := v_users + m.inserted + m.updated;
            SELECT * INTO m FROM @extschema@.elt_scd2_merge(
                'elt_raw.subscriptions'::pg_catalog.regclass, 'pg_temp.elt_refresh_subscriptions'::pg_catalog.regclass,
                ARRAY['subscription_id']::pg_catalog.text[], v_asof, NULL::pg_catalog.text[], 'ignore'::pg_catalog.text);
            v_subs := v_subs + m.inserted + m.updated;

            v_day := v_day + 1;
        END LOOP;

        -- The days' usage is appended in bulk mode (superusers, and no
        -- trigger or rule of yours on the table: no per-row foreign key
        -- trigger, which cost more than generating the rows), then its
        -- keys are checked once, set-based, as the mart builders do.  One
        -- bulk window for all days, after the merges (usage does not depend
        -- on them): switching session_replication_role resets every cached
        -- plan, and a switch per day re-planned everything each day and
        -- kept growing the memory of PL/pgSQL's expressions until commit.
        v_fast := @extschema@.elt__bulk_begin('elt_raw.usage'::pg_catalog.regclass);
        v_day := s.clock + 1;
        WHILE v_day <= v_target LOOP
            INSERT INTO elt_raw.usage
                SELECT * FROM @extschema@.elt_usage(s.users, s.seed, v_day, s.start_date, since => v_day);
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_usage := v_usage + v_n;
            v_day := v_day + 1;
        END LOOP;
        PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_raw.usage'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, s.clock + 1);
        DROP TABLE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;

        -- the clock first: the mart builders read it
        UPDATE elt.settings SET clock = v_target, refreshed_at = now();
        IF s.marts_built THEN
            PERFORM @extschema@.elt_update_marts(s.clock + 1);
        END IF;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, rows, status)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, v_target,
                jsonb_build_object('elt_raw.users', v_users, 'elt_raw.subscriptions', v_subs,
                                   'elt_raw.usage', v_usage),
                'ok');
        RETURN QUERY SELECT (v_target - s.clock)::integer, s.clock, v_target,
                            v_users, v_subs, v_usage, 'ok'::text;
    EXCEPTION WHEN OTHERS THEN
        -- The block's work is rolled back; keep a record of the failure,
        -- with PostgreSQL's detail and hint (they often say what to do).
        -- (Cancels and timeouts are not caught: they roll back everything.)
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, status, error)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, s.clock, 'failed',
                concat_ws(E'\n', v_state || ': ' || v_msg,
                          'DETAIL: ' || nullif(v_detail, ''), 'HINT: ' || nullif(v_hint, '')));
        IF nullif(v_hint, '') IS NULL THEN
            RAISE WARNING 'elt_refresh failed, nothing was changed: % (SQLSTATE %)', v_msg, v_state;
        ELSE
            RAISE WARNING 'elt_refresh failed, nothing was changed: % (SQLSTATE %)', v_msg, v_state
                USING HINT = v_hint;
        END IF;
        RETURN QUERY SELECT 0, s.clock, s.clock, 0::bigint, 0::bigint, 0::bigint, 'failed'::text;
    END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_refresh(integer) IS
'Advances the simulated clock by days (NULL: up to current_date), landing each day''s new and changed users and subscriptions through elt_scd2_merge and appending its usage; updates elt_mart; logs the run in elt.run_log. A failure leaves the data unchanged, is logged as failed and raised as a WARNING. A refresh that finds another generate or refresh running does nothing, is logged as skipped and returns a skipped row.';
-- Writes every elt table (and pg_cron runs it as the job's owner): not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_refresh(integer) FROM PUBLIC;
