# PGXS build for the elt extension.
EXTENSION  = elt
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = elt
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script is assembled from src/sql/*.sql, one file per concern,
# in name order (files are numbered).  Files named *_schema.sql hold what keeps
# data (schemas, tables, indexes); every other file only (re)defines functions
# with CREATE OR REPLACE, COMMENT and REVOKE, so it can run again on upgrade.
SQL_ALL    = $(sort $(wildcard src/sql/*.sql))
SQL_SCHEMA = $(filter %_schema.sql,$(SQL_ALL))
SQL_FUNCS  = $(filter-out $(SQL_SCHEMA),$(SQL_ALL))

# An upgrade script from the last release is its hand-written schema changes
# (src/upgrade/FROM--TO.sql: changes to tables the release had), the schema
# files added since (NEW_SCHEMA: their tables are new, so the same DDL
# serves both), every function file, so functions are always
# exactly those of a fresh install, and what needs those functions
# (src/upgrade/FROM--TO.after.sql: event triggers, jobs).  Released install scripts are kept
# frozen in src/upgrade/ (the upgrade test installs them).  When a version is
# released, freeze its upgrade script too (copy the built file into
# src/upgrade/ and list it in DATA) before starting the next one.
PREV_VERSION = 0.1.0
UPGRADE      = $(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql
NEW_SCHEMA   = src/sql/36_mart_events_schema.sql src/sql/36_mart_metrics_schema.sql src/sql/61_distribute_schema.sql

DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE)
DATA        = $(wildcard src/upgrade/$(EXTENSION)--*.sql)
EXTRA_CLEAN = $(EXTENSION)--*.sql

# `make installcheck` runs on a throwaway server of its own (pg_cron preloaded
# as the tests expect), so it passes on any machine with elt installed.  The
# server refuses to run as root: run it as an ordinary user.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --temp-instance=./tmp_check --temp-config=sql/regress.conf

# -ffp-contract=off: generation must give identical doubles on every
# platform, so no fused multiply-add contraction.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -ffp-contract=off -Isrc

# LLVM bitcode needs clang; JIT buys nothing for these functions.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on every header (there are few), so a changed struct
# never leaves a stale object behind
$(OBJS): $(wildcard src/*.h)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_ALL)
	cat $^ > $@

$(UPGRADE): src/upgrade/$(PREV_VERSION)--$(EXTVERSION).sql $(NEW_SCHEMA) $(SQL_FUNCS) \
            $(wildcard src/upgrade/$(PREV_VERSION)--$(EXTVERSION).after.sql)
	cat $^ > $@
