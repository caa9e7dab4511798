-- pg_cron integration.  pg_cron is a soft dependency: nothing here needs it
-- until elt_schedule() is called, and every reference to its schema goes
-- through dynamic SQL, so elt installs without it.  The housekeeping job
-- exists because pg_cron never purges cron.job_run_details.
--
-- pg_cron keeps its jobs in one database (cron.database_name) and schedules
-- from there only; elt_schedule() therefore works in that database.

-- Internal: where pg_cron stands for the current role, without raising
-- (cron.database_name may only be read by superusers and members of
-- pg_read_all_settings, schema cron only used by those granted USAGE):
-- 'here' (installed in, and scheduling from, this database), 'not loaded',
-- 'elsewhere', 'not installed', 'no setting privilege', 'no cron privilege'.
CREATE OR REPLACE FUNCTION elt.elt__cron_state()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_crondb text;
BEGIN
    IF NOT pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') THEN
        RETURN 'no setting privilege';
    END IF;
    v_crondb := pg_catalog.current_setting('cron.database_name', true);
    IF v_crondb IS NULL THEN
        RETURN 'not loaded';
    ELSIF v_crondb <> pg_catalog.current_database() THEN
        RETURN 'elsewhere';
    ELSIF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RETURN 'not installed';
    ELSIF NOT pg_catalog.has_schema_privilege('cron', 'USAGE')
          OR NOT pg_catalog.has_table_privilege('cron.job', 'SELECT') THEN
        RETURN 'no cron privilege';
    END IF;
    RETURN 'here';
END
$fn$;
COMMENT ON FUNCTION elt.elt__cron_state() IS
'Internal: whether pg_cron is usable here by the current role: here, not loaded, elsewhere, not installed, no setting privilege, no cron privilege.';

CREATE OR REPLACE FUNCTION elt.elt__cron_check()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_state  text := elt.elt__cron_state();
    v_crondb text;
BEGIN
    IF v_state = 'no setting privilege' THEN
        RAISE EXCEPTION 'permission denied to read pg_cron''s setting cron.database_name'
            USING ERRCODE = '42501',
                  HINT = pg_catalog.format('Scheduling needs a superuser, or a role with the privileges of pg_read_all_settings and USAGE on schema cron: GRANT pg_read_all_settings TO %I; GRANT USAGE ON SCHEMA cron TO %I;',
                                           current_user, current_user);
    END IF;
    v_crondb := pg_catalog.current_setting('cron.database_name', true);
    IF v_state = 'not loaded' THEN
        RAISE EXCEPTION 'pg_cron is not loaded in this server'
            USING ERRCODE = '55000',
                  HINT = 'Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' and cron.database_name = '''
                         || current_database() || ''' in postgresql.conf, restart, then CREATE EXTENSION pg_cron.';
    END IF;
    IF v_state = 'elsewhere' THEN
        RAISE EXCEPTION 'pg_cron schedules jobs from database "%", not "%"', v_crondb, current_database()
            USING ERRCODE = '55000',
                  HINT = 'Set cron.database_name = ''' || current_database()
                         || ''' and restart, or install elt in database "' || v_crondb || '".';
    END IF;
    IF v_state = 'not installed' THEN
        RAISE EXCEPTION 'extension pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'CREATE EXTENSION pg_cron;';
    END IF;
    IF v_state = 'no cron privilege' THEN
        RAISE EXCEPTION 'permission denied for schema cron'
            USING ERRCODE = '42501',
                  HINT = pg_catalog.format('Scheduling needs a superuser, or a role with USAGE on schema cron: GRANT USAGE ON SCHEMA cron TO %I;', current_user);
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__cron_check() IS
'Internal: raises 55000 with a hint unless pg_cron is loaded, schedules from this database and is installed here, or 42501 with a hint if the current role may not read its setting or use schema cron.';

CREATE OR REPLACE FUNCTION elt.elt__cron_here()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT elt.elt__cron_state() = 'here'
$fn$;
COMMENT ON FUNCTION elt.elt__cron_here() IS
'Internal: whether pg_cron is installed in, and schedules from, this database, and the current role may use it.';

-- Internal: the names of elt's pg_cron jobs, the one list of them: the
-- refresh job, the job purging pg_cron's run history, and both (what
-- elt_unschedule, the drop guard and the refresh job itself remove, and
-- what elt_status shows).  Public: elt_status calls it.
CREATE OR REPLACE FUNCTION elt.elt__job_names(OUT refresh text, OUT purge text, OUT all_jobs text[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT j.refresh, j.purge, ARRAY[j.refresh, j.purge]
FROM (VALUES ('elt-refresh', 'elt-purge-job-details')) AS j(refresh, purge)
$fn$;
COMMENT ON FUNCTION elt.elt__job_names() IS
'Internal: the names of elt''s pg_cron jobs: the refresh job, the run-history purge job, and both as an array.';

-- The refresh job's command.  It runs as the job's owner (often a
-- superuser) with that role's search_path, so it trusts no name: it first
-- pins search_path, then looks up elt_refresh(integer) among the members
-- of extension elt (pg_depend) and calls it by its schema-qualified name
-- with a typed argument, which can only be that very function.  Without
-- extension elt (it was dropped and the drop guard could not remove the
-- jobs) it removes elt's jobs instead of calling anything.  The leading
-- comment is what elt_status shows.
CREATE OR REPLACE FUNCTION elt.elt__job_command(days integer)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT pg_catalog.format($cmd$/* elt_refresh(%1$s) */ DO $elt$
DECLARE
    f text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT format('%%I.%%I', n.nspname, p.proname) INTO f
      FROM pg_extension e
      JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                      AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
      JOIN pg_proc p ON p.oid = d.objid
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE e.extname = 'elt' AND p.proname = 'elt_refresh' AND p.proargtypes = '23'::oidvector;
    IF f IS NULL THEN
        PERFORM cron.unschedule(jobid) FROM cron.job
         WHERE jobname IN (%2$s) AND database = current_database();
    ELSE
        EXECUTE format('SELECT count(*) FROM %%s($1)', f) USING %1$s::int4;
    END IF;
END $elt$$cmd$,
              COALESCE(days::text, 'NULL'),
              (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(n.name), ', ' ORDER BY n.ord)
               FROM pg_catalog.unnest((elt.elt__job_names()).all_jobs) WITH ORDINALITY AS n(name, ord)))
$fn$;
COMMENT ON FUNCTION elt.elt__job_command(integer) IS
'Internal: the SQL the elt-refresh pg_cron job runs: elt_refresh(days), found among the members of extension elt; without elt, it removes elt''s jobs.';

-- Internal: removes elt's jobs in this database (what elt_unschedule and
-- the drop guard do); returns how many.
CREATE OR REPLACE FUNCTION elt.elt__drop_jobs()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_n integer;
BEGIN
    EXECUTE $q$SELECT count(cron.unschedule(jobid))::integer FROM cron.job
               WHERE jobname = ANY ($1)
                 AND database = current_database()$q$
       INTO v_n USING (elt.elt__job_names()).all_jobs;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION elt.elt__drop_jobs() IS
'Internal: removes the pg_cron jobs of elt in this database; returns how many.';

-- Internal: the drop guard's work: when a command is about to drop elt,
-- remove its jobs (a failure to do so is a WARNING, not a failed DROP:
-- the jobs then remove themselves on their next run, calling nothing).
CREATE OR REPLACE FUNCTION elt.elt__drop_guard_jobs()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_state text;
BEGIN
    -- pg_cron's setting is unreadable for some roles: ask pg_extension
    -- first, so that a database without pg_cron never gets that far
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    v_state := elt.elt__cron_state();
    IF v_state = 'here' THEN
        BEGIN
            PERFORM elt.elt__drop_jobs();
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            v_state := SQLERRM;
        END;
    END IF;
    IF v_state NOT IN ('not loaded', 'elsewhere', 'not installed') THEN
        RAISE WARNING 'elt''s pg_cron jobs could not be removed: %', v_state
            USING HINT = 'They remove themselves on their next run; or run elt_unschedule() as their owner before DROP EXTENSION elt.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__drop_guard_jobs() IS
'Internal: removes elt''s pg_cron jobs when elt is being dropped; a WARNING if it cannot.';

CREATE OR REPLACE FUNCTION elt.elt__drop_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'elt__drop_guard'
LANGUAGE c;
COMMENT ON FUNCTION elt.elt__drop_guard() IS
'Internal: event trigger function: before DROP EXTENSION elt, DROP SCHEMA ... CASCADE of one of its schemas or DROP OWNED BY its owner, removes elt''s pg_cron jobs.';

-- Internal: raises 22023 unless the schedule is five cron fields or one of
-- pg_cron's aliases (not @reboot: it would run once per server start).
CREATE OR REPLACE FUNCTION elt.elt__check_schedule(schedule text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_elem   constant text := '(\*|[0-9]{1,2}(-[0-9]{1,2})?|[a-z]{3}(-[a-z]{3})?)(/[0-9]{1,2})?';
    v_fields text[];
BEGIN
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL or empty'
            USING ERRCODE = '22004', HINT = 'Use a cron expression such as ''*/5 * * * *''.';
    END IF;
    IF lower(btrim(schedule)) IN ('@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly') THEN
        RETURN;
    END IF;
    v_fields := regexp_split_to_array(btrim(schedule), '\s+');
    IF btrim(schedule) = '' OR cardinality(v_fields) <> 5
       OR EXISTS (SELECT 1 FROM unnest(v_fields) f WHERE f !~* ('^' || v_elem || '(,' || v_elem || ')*$')) THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = '22023',
                  DETAIL = 'A schedule is five cron fields (minute hour day month weekday) of numbers, ranges, lists, steps, * and month or day names, or one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually.',
                  HINT = 'pg_cron takes a cron expression in GMT, e.g. ''0 * * * *'', or ''@hourly''.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__check_schedule(text) IS
'Internal: raises 22004 or 22023 with a hint unless the schedule is five cron fields or a pg_cron alias other than @reboot.';

CREATE OR REPLACE FUNCTION @extschema@.elt_schedule(schedule text DEFAULT '0 * * * *', days integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_job   bigint;
    v_clock date;
    v_names record := elt.elt__job_names();
BEGIN
    PERFORM elt.elt__check_schedule(schedule);
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023', HINT = 'Pass NULL to catch up with current_date on every run.';
    END IF;
    PERFORM elt.elt__cron_check();
    SELECT s.clock INTO v_clock FROM elt.settings s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nothing to refresh yet'
            USING ERRCODE = '55000', HINT = 'Run elt_generate() first.';
    END IF;
    IF days > date '2999-12-31' - v_clock THEN
        RAISE EXCEPTION 'days = % would move the clock past 2999-12-31 on the first run', days
            USING ERRCODE = '22023',
                  HINT = pg_catalog.format('The clock is at %s: days may be %s at most.',
                                           v_clock, date '2999-12-31' - v_clock);
    END IF;

    -- cron.schedule(name, ...) creates the job or updates the one of that name
    BEGIN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)'
           INTO v_job
          USING v_names.refresh, schedule, elt.elt__job_command(days);
    EXCEPTION WHEN invalid_parameter_value OR internal_error OR syntax_error THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = '22023',
                  HINT = 'pg_cron takes a cron expression in GMT (minute hour day month weekday), e.g. ''0 * * * *'', or ''@hourly''.';
    END;
    -- pg_cron never purges its run history: keep a week of it
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
      USING v_names.purge, '17 3 * * *',
            $cmd$/* purge cron.job_run_details older than 7 days */ DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days'$cmd$;
    RETURN v_job;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_schedule(text, integer) IS
'Creates or updates the pg_cron job "elt-refresh" that runs elt_refresh(days) on the given cron schedule (GMT) in this database, plus a daily job purging pg_cron run details older than 7 days. Returns the refresh job id. Needs pg_cron loaded with cron.database_name = this database (else 55000), and a role that may read that setting and use schema cron (else 42501). A bad schedule or days: 22023, nothing scheduled.';

CREATE OR REPLACE FUNCTION @extschema@.elt_unschedule()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- no pg_cron here: no jobs of ours either (asked first: the setting
    -- read below is not readable by every role)
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')
       OR elt.elt__cron_state() IN ('not loaded', 'elsewhere', 'not installed') THEN
        RETURN 0;
    END IF;
    PERFORM elt.elt__cron_check();    -- 42501 with a hint
    RETURN elt.elt__drop_jobs();
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_unschedule() IS
'Removes the pg_cron jobs elt_schedule created in this database; returns how many. DROP EXTENSION elt removes them too.';

CREATE OR REPLACE FUNCTION @extschema@.elt_status()
RETURNS TABLE (kind text, name text, status text, detail text, at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_cron text;
BEGIN
    -- what the caller may not read is shown as hidden, not raised
    IF NOT (pg_catalog.has_schema_privilege('elt', 'USAGE')
            AND pg_catalog.has_table_privilege('elt.settings', 'SELECT')
            AND pg_catalog.has_table_privilege('elt.run_log', 'SELECT')) THEN
        RETURN QUERY SELECT 'clock'::text, 'simulated today'::text, 'hidden'::text,
            pg_catalog.format('role %I may not read elt.settings and elt.run_log (elt_grant_reader gives it)', current_user),
            NULL::timestamptz;
    ELSE
        RETURN QUERY
            SELECT 'clock', 'simulated today', NULL::text,
                   format('%s (population: %s users in the first year from %s, seed %s)',
                          s.clock, s.users, s.start_date, s.seed),
                   coalesce(s.refreshed_at, s.generated_at)
            FROM elt.settings s;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'clock'::text, 'simulated today'::text, 'not generated yet'::text,
                'run elt_generate() first: it creates the simulated population'::text, NULL::timestamptz;
        END IF;
        RETURN QUERY
            SELECT 'run', format('%s #%s', r.kind, r.run_id), r.status,
                   -- one readable line: the clock, rows per schema and the
                   -- big tables, the time taken, then the error if any
                   concat_ws('; ',
                             CASE WHEN r.clock_before IS NULL THEN format('clock %s', r.clock_after)
                                  ELSE format('clock %s -> %s', r.clock_before, r.clock_after) END,
                             (SELECT format('%s rows in elt_raw (users %s, subscriptions %s, usage %s)%s',
                                            sum(v::bigint) FILTER (WHERE k LIKE 'elt\_raw.%'),
                                            coalesce(r.rows ->> 'elt_raw.users', '0'),
                                            coalesce(r.rows ->> 'elt_raw.subscriptions', '0'),
                                            coalesce(r.rows ->> 'elt_raw.usage', '0'),
                                            ', ' || sum(v::bigint) FILTER (WHERE k LIKE 'elt\_mart.%') || ' in elt_mart')
                              FROM jsonb_each_text(r.rows) AS e(k, v) HAVING count(*) > 0),
                             CASE WHEN r.finished_at IS NOT NULL
                                  THEN format('%s s', round(extract(epoch FROM r.finished_at - r.started_at), 1)) END,
                             r.error),
                   coalesce(r.finished_at, r.started_at)
            FROM (SELECT * FROM elt.run_log ORDER BY run_id DESC LIMIT 5) r
            ORDER BY r.run_id DESC;
    END IF;
    -- jobs: only where pg_cron is installed, and only what the role may see
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    v_cron := elt.elt__cron_state();
    IF v_cron IN ('no setting privilege', 'no cron privilege') THEN
        RETURN QUERY SELECT 'job'::text, (elt.elt__job_names()).refresh, 'unknown'::text,
            pg_catalog.format('hidden: role %I may not %s', current_user,
                              CASE v_cron WHEN 'no setting privilege'
                                   THEN 'read cron.database_name (needs pg_read_all_settings)'
                                   ELSE 'read pg_cron''s jobs (needs USAGE on schema cron)' END),
            NULL::timestamptz;
    ELSIF v_cron = 'here' THEN
        RETURN QUERY EXECUTE $q$
            SELECT 'job'::text, j.jobname::text,
                   coalesce(d.status, 'not run yet')::text,
                   format('%s on schedule %s, %s, job %s%s',
                          coalesce(substring(j.command from '^/\* (.*?) \*/'), j.command), j.schedule,
                          CASE WHEN j.active THEN 'active' ELSE 'inactive' END, j.jobid,
                          ': ' || nullif(d.return_message, '')),
                   d.start_time
            FROM cron.job j
            LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details x WHERE x.jobid = j.jobid
                               ORDER BY x.start_time DESC NULLS LAST LIMIT 1) d ON true
            WHERE j.jobname = ANY ($1)
              AND j.database = current_database()
            ORDER BY j.jobname$q$ USING (elt.elt__job_names()).all_jobs;
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_status() IS
'The simulated clock (or "not generated yet"), the last five runs from elt.run_log, and elt''s pg_cron jobs with the call they run, their schedule and last run status (when pg_cron is installed in this database). What the caller may not read is shown as hidden; it never raises for lack of privileges.';

-- They create and remove jobs that run elt_refresh as their caller: not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_schedule(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_unschedule() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__drop_jobs() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__drop_guard_jobs() FROM PUBLIC;
-- an event trigger's function is called whatever its EXECUTE privilege
REVOKE ALL ON FUNCTION elt.elt__drop_guard() FROM PUBLIC;
