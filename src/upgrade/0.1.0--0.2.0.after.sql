
-- After the function files: what needs the functions of 0.2.0.

-- The event trigger that removes elt's pg_cron jobs when elt is dropped.
CREATE EVENT TRIGGER elt_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION elt.elt__drop_guard();

-- A refresh job scheduled by 0.1.0 runs its old command, which called any
-- function named elt_refresh(integer): give it the command of 0.2.0, with
-- the same days.
DO $upgrade$
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL
       AND pg_catalog.has_table_privilege('cron.job', 'SELECT') THEN
        PERFORM cron.alter_job(j.jobid, command => elt.elt__job_command(
                    pg_catalog.substring(j.command, 'elt_refresh\(([0-9]+)::pg_catalog\.int4\)')::integer))
          FROM cron.job j
         WHERE j.jobname = (elt.elt__job_names()).refresh AND j.database = pg_catalog.current_database();
    END IF;
END
$upgrade$;
