-- pg_cron integration.  pg_cron is a soft dependency: nothing here needs it
-- until elt_schedule() is called, and every reference to its schema goes
-- through dynamic SQL, so elt installs without it.
--
-- pg_cron keeps its jobs in one database (cron.database_name) and schedules
-- from there only; elt_schedule() therefore works in that database.

CREATE OR REPLACE FUNCTION @extschema@.elt__cron_check()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_crondb text := current_setting('cron.database_name', true);
BEGIN
    IF v_crondb IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not loaded in this server'
            USING ERRCODE = '55000',
                  HINT = 'Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' and cron.database_name = '''
                         || current_database() || ''' in postgresql.conf, restart, then CREATE EXTENSION pg_cron.';
    END IF;
    IF v_crondb <> current_database() THEN
        RAISE EXCEPTION 'pg_cron schedules jobs from database "%", not "%"', v_crondb, current_database()
            USING ERRCODE = '55000',
                  HINT = 'Set cron.database_name = ''' || current_database()
                         || ''' and restart, or install elt in database "' || v_crondb || '".';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'extension pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'CREATE EXTENSION pg_cron;';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__cron_check() IS
'Internal: raises 55000 with a hint unless pg_cron is loaded, schedules from this database and is installed here.';

CREATE OR REPLACE FUNCTION @extschema@.elt__cron_here()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT current_setting('cron.database_name', true) IS NOT DISTINCT FROM current_database()
       AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
$fn$;
COMMENT ON FUNCTION @extschema@.elt__cron_here() IS
'Internal: whether pg_cron is installed in, and schedules from, this database.';

-- The refresh job's command: refresh, or, once elt has been dropped, remove
-- elt's jobs (so that no job keeps calling functions that no longer exist).
-- The argument is typed: an untyped NULL would let an elt_refresh(text)
-- planted in the extension's schema win over ours, run by the job's owner.
CREATE OR REPLACE FUNCTION @extschema@.elt__job_command(days integer)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT format($cmd$DO $elt$ BEGIN IF pg_catalog.to_regprocedure('@extschema@.elt_refresh(integer)') IS NULL THEN PERFORM cron.unschedule(jobid) FROM cron.job WHERE jobname IN ('elt-refresh', 'elt-purge-job-details') AND database = pg_catalog.current_database(); ELSE PERFORM @extschema@.elt_refresh(%s::pg_catalog.int4); END IF; END $elt$$cmd$,
              COALESCE(days::text, 'NULL'))
$fn$;
COMMENT ON FUNCTION @extschema@.elt__job_command(integer) IS
'Internal: the SQL the elt-refresh pg_cron job runs.';

CREATE OR REPLACE FUNCTION @extschema@.elt_schedule(schedule text DEFAULT '0 * * * *', days integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_job bigint;
BEGIN
    IF schedule IS NULL OR btrim(schedule) = '' THEN
        RAISE EXCEPTION 'schedule must not be NULL or empty'
            USING ERRCODE = CASE WHEN schedule IS NULL THEN '22004' ELSE '22023' END, HINT = 'Use a cron expression such as ''*/5 * * * *''.';
    END IF;
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023', HINT = 'Pass NULL to catch up with current_date on every run.';
    END IF;
    PERFORM @extschema@.elt__cron_check();
    IF NOT EXISTS (SELECT 1 FROM elt.settings) THEN
        RAISE EXCEPTION 'nothing to refresh yet'
            USING ERRCODE = '55000', HINT = 'Run elt_generate() first.';
    END IF;

    -- cron.schedule(name, ...) creates the job or updates the one of that name
    BEGIN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)'
           INTO v_job
          USING 'elt-refresh', schedule, @extschema@.elt__job_command(days);
    EXCEPTION WHEN invalid_parameter_value OR internal_error OR syntax_error THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = '22023',
                  HINT = 'pg_cron takes a cron expression in GMT (minute hour day month weekday), e.g. ''0 * * * *'', or ''@hourly''.';
    END;
    -- pg_cron never purges its run history: keep a week of it
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
      USING 'elt-purge-job-details', '17 3 * * *',
            $cmd$DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days'$cmd$;
    RETURN v_job;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_schedule(text, integer) IS
'Creates or updates the pg_cron job "elt-refresh" that runs elt_refresh(days) on the given cron schedule (GMT) in this database, plus a daily job purging pg_cron run details older than 7 days. Returns the refresh job id. Needs pg_cron loaded with cron.database_name = this database (else 55000).';

CREATE OR REPLACE FUNCTION @extschema@.elt_unschedule()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_n integer;
BEGIN
    IF NOT @extschema@.elt__cron_here() THEN
        RETURN 0;       -- no pg_cron here: no jobs of ours either
    END IF;
    EXECUTE $q$SELECT count(cron.unschedule(jobid))::integer FROM cron.job
               WHERE jobname IN ('elt-refresh', 'elt-purge-job-details')
                 AND database = current_database()$q$
       INTO v_n;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_unschedule() IS
'Removes the pg_cron jobs elt_schedule created in this database; returns how many. Call it before DROP EXTENSION elt (jobs left behind remove themselves on their next run).';

CREATE OR REPLACE FUNCTION @extschema@.elt_status()
RETURNS TABLE (kind text, name text, status text, detail text, at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
        SELECT 'clock', 'simulated today', NULL::text,
               format('%s (population: %s users in the first year from %s, seed %s)',
                      s.clock, s.users, s.start_date, s.seed),
               coalesce(s.refreshed_at, s.generated_at)
        FROM elt.settings s;
    RETURN QUERY
        SELECT 'run', format('%s #%s', r.kind, r.run_id), r.status,
               concat_ws('; ',
                         format('clock %s -> %s', coalesce(r.clock_before::text, '-'), r.clock_after),
                         'rows ' || r.rows::text, r.error),
               coalesce(r.finished_at, r.started_at)
        FROM (SELECT * FROM elt.run_log ORDER BY run_id DESC LIMIT 5) r
        ORDER BY r.run_id DESC;
    IF @extschema@.elt__cron_here() THEN
        RETURN QUERY EXECUTE $q$
            SELECT 'job'::text, j.jobname::text,
                   coalesce(d.status, 'not run yet')::text,
                   format('schedule %s, %s, job %s%s', j.schedule,
                          CASE WHEN j.active THEN 'active' ELSE 'inactive' END, j.jobid,
                          ': ' || nullif(d.return_message, '')),
                   d.start_time
            FROM cron.job j
            LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details x WHERE x.jobid = j.jobid
                               ORDER BY x.start_time DESC NULLS LAST LIMIT 1) d ON true
            WHERE j.jobname IN ('elt-refresh', 'elt-purge-job-details')
              AND j.database = current_database()
            ORDER BY j.jobname$q$;
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_status() IS
'The simulated clock, the last five runs from elt.run_log, and elt''s pg_cron jobs with their schedule and last run status (when pg_cron is installed in this database).';

-- They create and remove jobs that run elt_refresh as their caller: not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_schedule(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_unschedule() FROM PUBLIC;
