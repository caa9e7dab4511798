-- elt_refresh(): advance the simulated source day by day and land only what
-- changed.  Users and subscriptions go through elt_scd2_merge with the
-- business day as as_of; usage is appended; marts are updated incrementally.

CREATE OR REPLACE FUNCTION @extschema@.elt_refresh(days integer DEFAULT NULL)
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
BEGIN
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023',
                  HINT = 'Pass NULL to catch up with current_date.';
    END IF;

    -- One generate or refresh at a time.  A refresh that finds another one
    -- running does nothing (pg_cron runs must not pile up).
    BEGIN
        LOCK TABLE elt.settings IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE NOTICE 'elt_refresh: another elt_generate or elt_refresh is running; nothing done';
        RETURN;
    END;

    SELECT * INTO s FROM elt.settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'elt_refresh: nothing to refresh'
            USING ERRCODE = '55000',
                  HINT = 'Run elt_generate() first: it creates the simulated population.';
    END IF;

    IF days > date '2999-12-31' - s.clock THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023';
    END IF;
    v_target := CASE WHEN days IS NULL THEN current_date ELSE s.clock + days END;
    IF v_target > date '2999-12-31' THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023';
    END IF;
    IF v_target <= s.clock THEN
        RAISE NOTICE 'elt_refresh: the clock (%) is already at or past %; nothing to do', s.clock, v_target;
        RETURN;
    END IF;

    BEGIN
        v_day := s.clock + 1;
        WHILE v_day <= v_target LOOP
            -- business time: midnight UTC of the simulated day, whatever TimeZone says
            v_asof := v_day::timestamp AT TIME ZONE 'UTC';

            -- the previous day's (or an earlier refresh's in this
            -- transaction: they are dropped on commit); checked first, so
            -- that no NOTICE is raised for tables that are not there
            IF pg_catalog.to_regclass('pg_temp.elt_refresh_users') IS NOT NULL THEN
                DROP TABLE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;
            END IF;
            CREATE TEMP TABLE elt_refresh_users ON COMMIT DROP AS
                SELECT * FROM @extschema@.elt_users(s.users, s.seed, v_day, s.start_date,
                                                    history => false, since => v_day);
            CREATE TEMP TABLE elt_refresh_subscriptions ON COMMIT DROP AS
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

            -- The day's usage is appended in bulk mode (superusers, and no
            -- trigger or rule of yours on the table: no per-row foreign key
            -- trigger, which cost more than generating the rows), then its
            -- keys are checked once, set-based, as the mart builders do.
            v_fast := @extschema@.elt__bulk_begin('elt_raw.usage'::pg_catalog.regclass);
            INSERT INTO elt_raw.usage
                SELECT * FROM @extschema@.elt_usage(s.users, s.seed, v_day, s.start_date, since => v_day);
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_usage := v_usage + v_n;
            PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_raw.usage'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, v_day);

            v_day := v_day + 1;
        END LOOP;
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
        -- The block's work is rolled back; keep a record of the failure.
        -- (Cancels and timeouts are not caught: they roll back everything.)
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, status, error)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, s.clock, 'failed',
                v_state || ': ' || v_msg);
        RAISE WARNING 'elt_refresh failed, nothing was changed: % (SQLSTATE %)', v_msg, v_state;
        RETURN QUERY SELECT 0, s.clock, s.clock, 0::bigint, 0::bigint, 0::bigint, 'failed'::text;
    END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_refresh(integer) IS
'Advances the simulated clock by days (NULL: up to current_date), landing each day''s new and changed users and subscriptions through elt_scd2_merge and appending its usage; updates elt_mart; logs the run in elt.run_log. A failure leaves the data unchanged, is logged as failed and raised as a WARNING.';
-- Writes every elt table (and pg_cron runs it as the job's owner): not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_refresh(integer) FROM PUBLIC;
