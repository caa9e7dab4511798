-- The driver table of elt_generate on Citus (see 60_distribute.sql).  It is
-- created by the extension on every node (Citus creates no copy of an
-- extension's table on the workers, so an extension's table must exist on
-- each of them), stays empty without Citus, and is distributed by
-- elt_distribute, colocated with elt_raw.users, and filled from Citus's
-- catalog by it.  Not dumped: elt_distribute fills it after a restore.
CREATE TABLE elt.shard_groups (
    user_id bigint NOT NULL
);
COMMENT ON TABLE elt.shard_groups IS
'Internal (Citus only): one user_id per shard group of elt_raw.users, subscriptions and usage, distributed and colocated with them by elt_distribute; elt_generate runs one load task per row, on the worker holding that shard group. Empty without Citus.';
