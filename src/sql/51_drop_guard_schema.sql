-- The event trigger that removes elt's pg_cron jobs when elt is dropped.
-- A member of the extension, so dropped with it; it fires at the start of
-- the command, while it still exists (a sql_drop trigger would not: it is
-- gone before sql_drop fires).
CREATE EVENT TRIGGER elt_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION elt.elt__drop_guard();
