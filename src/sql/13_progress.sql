-- Progress of long work: elt_refresh reports its days, elt_build_marts and
-- elt_update_marts their tables, as NOTICEs at most every
-- elt.progress_seconds (elt_generate's C loader reports its users itself),
-- and as the session's application_name, which other sessions see in
-- pg_stat_activity.

-- Internal: raises a progress NOTICE when elt.progress_seconds have passed
-- (read with a default: the setting is defined only once the library is
-- loaded, and a builder may run first in a session)
-- since the last one (at last_at; NULL: none yet) and returns when the
-- latest was raised.  The message says what is done of how many, the rate
-- since started_at and an estimate of the time left.
CREATE OR REPLACE FUNCTION elt.elt__progress(
    what text, done bigint, total bigint, unit text,
    started_at timestamptz, last_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_now  timestamptz := clock_timestamp();
    v_secs numeric := extract(epoch FROM v_now - started_at);
BEGIN
    IF v_now - coalesce(last_at, started_at)
         < coalesce(pg_catalog.current_setting('elt.progress_seconds', true), '5')::interval THEN
        RETURN last_at;
    END IF;
    RAISE NOTICE '%: % of % % done (%/s)%', what, done, total, unit,
        round(done / greatest(v_secs, 0.001), 1),
        CASE WHEN done > 0 AND done < total
             THEN format(', about %s s left', round(v_secs * (total - done) / done)) ELSE '' END;
    -- other sessions see it in pg_stat_activity.application_name, until
    -- the transaction ends (set locally: the caller's name comes back)
    PERFORM pg_catalog.set_config('application_name',
                                  pg_catalog.left(pg_catalog.format('elt %s/%s %s: %s', done, total, unit, what), 63), true);
    RETURN v_now;
END
$fn$;
COMMENT ON FUNCTION elt.elt__progress(text, bigint, bigint, text, timestamptz, timestamptz) IS
'Internal: raises a progress NOTICE (done of total, rate, time left) and shows it as the transaction''s application_name when elt.progress_seconds have passed since the last one; returns when the latest was raised.';
REVOKE ALL ON FUNCTION elt.elt__progress(text, bigint, bigint, text, timestamptz, timestamptz) FROM PUBLIC;
