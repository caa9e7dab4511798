# PGXS build for the elt extension.
EXTENSION  = elt
EXTVERSION = 0.1.0

MODULE_big = elt
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script is assembled from src/sql/*.sql, one file per concern,
# in name order (files are numbered).
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=.

# -ffp-contract=off: generation must give identical doubles on every
# platform, so no fused multiply-add contraction.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -ffp-contract=off -Isrc

# LLVM bitcode needs clang; JIT buys nothing for these functions.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard src/sql/*.sql))
	cat $^ > $@
