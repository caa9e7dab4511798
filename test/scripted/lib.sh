# lib.sh: what the scripted tests (test/scripted/t_*.sh) share; sourced, not
# run.  Each test prints one "ok N - what" or "not ok N - what" line per
# check, which scripts/test.sh counts.  Expects PGHOST/PGPORT/PGUSER (a
# superuser); sets nothing global but the counters, and reads $db (the
# test's database, set by the test before it calls q).

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
# check GOT WANT WHAT: ok when GOT equals WANT.
check() { if [ "$1" = "$2" ]; then ok "$3"; else notok "$3 (got '$1', want '$2')"; fi; }
# q ARGS...: psql on $db, unaligned, quiet, stopping at the first error.
q() { psql -qAtX -d "$db" -v ON_ERROR_STOP=1 "$@"; }

# full_writes: the mart tables a full build would write rows to now, with
# their counts (empty: the marts are as a full build leaves them); the
# build is rolled back, so the marts stay as they were
full_writes() {
    q -c "BEGIN" -c "SELECT string_agg(format('%s=%s', table_name, rows_written), ' ' ORDER BY table_name)
                    FROM elt.elt__build(NULL) WHERE rows_written <> 0" -c "ROLLBACK" 2>/dev/null
}

# Per-table checksums of every table of schemas elt, elt_raw and elt_mart
# (and rel_bi, the bad-input test's own tables, if it exists):
# "schema.table rows sum-of-64-bit-row-hashes", one line per table, sorted.
# With sequences => true, sequences are listed too (last_value, is_called).
# With stable => true, the wall-clock columns of elt.settings and
# elt.run_log are left out (to compare two databases that ran the same
# steps at different times).
install_checksums() {
    psql -qAtX -d "${1:-$db}" -v ON_ERROR_STOP=1 <<'SQL'
CREATE FUNCTION public.rel_checksums(sequences boolean DEFAULT false, stable boolean DEFAULT false)
RETURNS TABLE (tab text, nrows bigint, hash numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    v_row text;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind, n.nspname, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart', 'rel_bi')
          AND (c.relkind IN ('r', 'p') OR (sequences AND c.relkind = 'S'))
        ORDER BY n.nspname, c.relname
    LOOP
        tab := r.rel::text;
        IF r.relkind = 'S' THEN
            EXECUTE format('SELECT 1::bigint, hashtextextended(last_value::text || is_called::text, 0)::numeric FROM %s', r.rel)
                INTO nrows, hash;
        ELSE
            v_row := 't';
            IF stable AND r.rel = 'elt.settings'::regclass THEN
                v_row := 'ROW(t.seed, t.users, t.start_date, t.clock, t.marts_built)';
            ELSIF stable AND r.rel = 'elt.run_log'::regclass THEN
                v_row := 'ROW(t.run_id, t.kind, t.clock_before, t.clock_after, t.rows, t.status, t.error)';
            END IF;
            EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(%s::text, 0)), 0) FROM %s t', v_row, r.rel)
                INTO nrows, hash;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
SQL
}

# The checksums as text; $1 = database, $2/$3 = sequences/stable flags.
sums() {
    psql -qAtX -d "${1:-$db}" -v ON_ERROR_STOP=1 \
        -c "SELECT string_agg(format('%s %s %s', tab, nrows, hash), E'\n' ORDER BY tab) FROM public.rel_checksums(${2:-false}, ${3:-false})"
}

# same_sums BEFORE AFTER LABEL: ok if equal, else not ok and the differing lines.
same_sums() {
    if [ -n "$1" ] && [ "$1" = "$2" ]; then
        ok "$3"
    else
        notok "$3"
        diff <(echo "$1") <(echo "$2") | sed 's/^/#   /'
    fi
}

# Waits until the server accepts queries again (after a crash and recovery).
wait_ready() {
    for _ in $(seq 1 240); do
        if pg_isready -q -d postgres && psql -qAtX -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

# Seconds since the epoch, with fractions.
now() { date +%s.%N; }
