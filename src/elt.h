/*
 * elt.h: what the SQL-facing glue files share: population arguments, row
 * builders, and the sinks rows go to (a tuplestore for the SRFs, the bulk
 * loader for elt_generate), so that both paths run the same code.
 */
#ifndef ELT_H
#define ELT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "model.h"

/* Columns of the generated tables, in table order. */
#define ELT_USER_NATTS 10
#define ELT_SUB_NATTS 15
#define ELT_USAGE_NATTS 9
#define ELT_DIM_USER_NATTS 24
#define ELT_DIM_SUB_NATTS 27

typedef struct EltSink
{
	void		(*put) (struct EltSink *sink, Datum *values, bool *nulls);
} EltSink;

/* What to generate: a population, a user range, a horizon and filters. */
typedef struct EltGen
{
	EltPop		pop;
	EltDay		as_of;			/* horizon: the simulated today */
	int64		first_user;
	int64		last_user;		/* clipped to the users signed up by as_of */
	EltDay		since;			/* users/subscriptions: versions from this day;
								 * usage: rows from this day */
	bool		history;		/* all versions, or only the current one */
	/* Only users whose user_id hashes (hashint8, the hash Citus shards a
	 * bigint column by) into [hash_lo, hash_hi]: one shard's users. */
	bool		hash_filter;
	int32		hash_lo;
	int32		hash_hi;
} EltGen;

extern void elt_parse_population(FunctionCallInfo fcinfo, int users_arg, int seed_arg,
								 int as_of_arg, int start_arg, int params_arg, EltGen *gen);
extern int	elt_params_from_jsonb(Jsonb *jb, EltParams *p);
extern void elt_parse_user_range(FunctionCallInfo fcinfo, int first_arg, int last_arg, EltGen *gen);

/* Called every user, so long runs can report progress. */
typedef void (*EltProgressFn) (void *arg, int64 users_done);

/* Where elt_emit sends rows, one sink per table (NULL: not wanted). */
typedef struct EltSinks
{
	EltSink    *users;
	EltSink    *subs;
	EltSink    *usage;
	EltSink    *facts;			/* elt_mart.fct_usage_daily */
	EltSink    *periods;		/* elt_mart.fct_usage_period */
	EltSink    *kpi;			/* elt_mart.fct_kpi_daily */
	EltSink    *last_active;	/* elt.mart_last_active */
	EltSink    *events;			/* elt_mart.fct_subscription_events */
	EltSink    *dim_user;		/* elt_mart.dim_user */
	EltSink    *dim_sub;		/* elt_mart.dim_subscription */
	EltSink    *mrr;			/* elt_mart.fct_mrr_monthly */
	EltSink    *cohorts;		/* elt_mart.fct_cohort_retention */
	EltSink    *saas;			/* elt_mart.fct_saas_metrics_monthly */
	EltSink    *totals;			/* elt.mart_usage_totals (needs periods) */
} EltSinks;

extern void elt_emit(const EltGen *gen, const EltSinks *sinks,
					 EltProgressFn progress, void *progress_arg);

/* dims.c: rows of the dimensions from the rows of elt_raw and the life */
extern int64 elt_put_dim_user(EltSink *sink, const EltLife *life, int v, const Datum *raw,
							 const bool *rawnulls, EltDay clock, EltDay first_paid);
extern int64 elt_put_dim_subscription(EltSink *sink, const EltLife *life, int v, const Datum *raw,
									 const bool *rawnulls, const EltSubOrigin *origins);

/* keys.c: the dimension keys a pass wrote for the current user, against
 * which the keys of the facts it writes are checked */
typedef struct EltDimKeys
{
	MemoryContext cxt;			/* where the lists live */
	EltDay		first_day;		/* the window, which dim_date holds */
	EltDay		last_day;
	int64	   *user;
	int			nuser,
				capuser;
	int64	   *sub;
	int			nsub,
				capsub;
} EltDimKeys;

extern void elt_keys_user_written(EltDimKeys *k, int64 key);
extern void elt_keys_sub_written(EltDimKeys *k, int64 key);
extern void elt_keys_next_user(EltDimKeys *k);
extern void elt_keys_check_user(const EltDimKeys *k, const char *table, int64 key);
extern void elt_keys_check_sub(const EltDimKeys *k, const char *table, int64 key);
extern void elt_keys_check_day(const EltDimKeys *k, const char *table, EltDay day);
extern void elt_keys_check_plan(const char *table, int plan_id);

/* totals.c: the rows of elt.mart_usage_totals, kept during the pass */
typedef struct EltTotal
{
	int64		sub_id;
	EltDay		period_start;
	EltDay		through;
	int64		api_calls;
	int64		storage_mb;
} EltTotal;

typedef struct EltTotals
{
	EltSink    *sink;
	MemoryContext cxt;			/* where the candidates live */
	EltDay		last_usage;		/* the facts' last day so far; ELT_OPEN: none */
	EltTotal   *rows;
	int			n,
				cap;
} EltTotals;

extern void elt_totals_keep(EltTotals *t, int64 sub_id, const EltUsagePeriod *p);
extern void elt_totals_user_done(EltTotals *t, EltDay last_day);
extern void elt_totals_put(EltTotals *t);

/* metrics.c: rows of the monthly metrics marts from model_metrics.c's sums */
extern void elt_put_metrics(EltSink *cohorts, EltSink *months, const EltMetrics *m);

/* elt_cents gives an amount in cents as a numeric with two decimals. */
static inline Datum
elt_cents(int64 amount)
{
	return NumericGetDatum(int64_div_fast_to_numeric(amount, 2));
}

static inline TimestampTz
elt_day_timestamp(EltDay day)
{
	return (TimestampTz) day * USECS_PER_DAY;
}

#endif
