/*
 * emit.c: from the model's lives to rows.  Argument checks shared by every
 * generator function, and the one loop that turns users' lives into rows of
 * elt_raw.users, elt_raw.subscriptions and elt_raw.usage (and of
 * elt_mart's dimensions of users and subscriptions, fct_usage_daily,
 * fct_usage_period, fct_kpi_daily, fct_subscription_events,
 * fct_mrr_monthly, fct_cohort_retention and fct_saas_metrics_monthly, with
 * the KPI builder's state in elt.mart_last_active, for elt_generate) for
 * any sink.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "elt.h"
#include "names.h"

/* The window must keep day numbers within 20 bits (see elt_usage_id). */
#define MIN_DAY 0				/* 2000-01-01 */
#define MAX_DAY 365242			/* 2999-12-31 */

/* date_arg reads a date argument, refusing NULL and days outside the window. */
static EltDay
date_arg(FunctionCallInfo fcinfo, int arg, const char *name)
{
	DateADT		d;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	d = PG_GETARG_DATEADT(arg);
	if (DATE_NOT_FINITE(d) || d < MIN_DAY || d > MAX_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must lie between 2000-01-01 and 2999-12-31", name)));
	return (EltDay) d;
}

/*
 * users, seed, as_of, start_date (NULL: the year ending at as_of, so that
 * exactly "users" users exist at as_of) and the business parameters.
 */
void
elt_parse_population(FunctionCallInfo fcinfo, int users_arg, int seed_arg,
					 int as_of_arg, int start_arg, int params_arg, EltGen *gen)
{
	int32		users;
	double		years;
	double		g;

	if (PG_ARGISNULL(users_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("users must not be NULL")));
	users = PG_GETARG_INT32(users_arg);
	if (users <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("users must be positive, not %d", users),
				 errhint("users is the number of signups during the first year of the simulated window.")));
	if (PG_ARGISNULL(seed_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed must not be NULL")));
	gen->pop.seed = (uint64) PG_GETARG_INT64(seed_arg);
	gen->pop.users = users;
	gen->as_of = date_arg(fcinfo, as_of_arg, "as_of");
	if (PG_ARGISNULL(start_arg))
		gen->pop.start = gen->as_of - 364 < MIN_DAY ? MIN_DAY : gen->as_of - 364;
	else
		gen->pop.start = date_arg(fcinfo, start_arg, "start_date");
	if (gen->as_of < gen->pop.start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of is before the simulation window"),
				 errdetail("The window starts on start_date; as_of must not be earlier.")));

	/*
	 * The definitions of an older version of the extension may call this
	 * library between its installation and ALTER EXTENSION UPDATE: without
	 * the argument, the defaults.
	 */
	if (params_arg >= PG_NARGS())
		elt_params_init(&gen->pop.params, 0);
	else if (PG_ARGISNULL(params_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("params must not be NULL"),
				 errhint("Use '{}' for the defaults.")));
	else
		elt_params_from_jsonb(PG_GETARG_JSONB_P(params_arg), &gen->pop.params);

	/*
	 * Signups keep growing after the first year: keep indexes in int range.
	 * The rate grows by signup_growth a year, so y years hold users * (y +
	 * g y^2 / 2) / (1 + g / 2) signups, seasons aside (hence the margin).
	 */
	years = (double) (gen->as_of - gen->pop.start + 1) / 365.0;
	g = gen->pop.params.signup_growth;
	if (1.3 * (double) users * (years + g * years * years / 2.0) / (1.0 + g / 2.0) > (double) PG_INT32_MAX - 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("population too large: more than %d users would have signed up by as_of",
						PG_INT32_MAX),
				 errhint("Use fewer users or a shorter window.")));

	gen->first_user = 1;
	gen->last_user = elt_users_by(&gen->pop, gen->as_of);
	gen->since = gen->pop.start;
	gen->history = true;
	gen->hash_filter = false;
}

/* Optional 1-based user index range; clipped to the users that exist. */
void
elt_parse_user_range(FunctionCallInfo fcinfo, int first_arg, int last_arg, EltGen *gen)
{
	int64		exist = gen->last_user;

	if (!PG_ARGISNULL(first_arg))
		gen->first_user = PG_GETARG_INT32(first_arg);
	if (!PG_ARGISNULL(last_arg))
		gen->last_user = PG_GETARG_INT32(last_arg);
	if (gen->first_user < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_user must be at least 1")));
	/* without last_user the range runs to the last user there is */
	if (PG_ARGISNULL(last_arg) && gen->first_user > exist)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_user %lld is beyond the population", (long long) gen->first_user),
				 errdetail("Only %lld users have signed up by as_of.", (long long) exist)));
	if (gen->last_user < gen->first_user)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("last_user must not be less than first_user")));
	if (gen->last_user > exist)
		gen->last_user = exist;
}

/* grow_in_context is the model's allocator: palloc, in the current context. */
static void *
grow_in_context(void *ptr, size_t size)
{
	return ptr ? repalloc(ptr, size) : palloc(size);
}

/* set_day_or_null stores a day as date or timestamptz, or NULL when open. */
static inline void
set_day_or_null(Datum *v, bool *n, EltDay day, bool timestamp)
{
	*n = (day == ELT_OPEN);
	if (!*n)
		*v = timestamp ? TimestampTzGetDatum(elt_day_timestamp(day)) : DateADTGetDatum(day);
}

typedef struct UsageCtx
{
	const EltGen *gen;
	EltSink    *sink;
	Datum		user_id;
} UsageCtx;

/* put_usage turns one usage day of the model into a row of the usage sink. */
static void
put_usage(void *arg, const EltLife *life, const EltUsage *u)
{
	UsageCtx   *c = arg;
	const EltSegment *s = &life->segs[u->segment];
	Datum		values[ELT_USAGE_NATTS];
	bool		nulls[ELT_USAGE_NATTS] = {false};

	values[0] = Int64GetDatum((int64) elt_usage_id(&c->gen->pop, life->index, u->day));
	values[1] = c->user_id;
	values[2] = Int32GetDatum(s->plan_id);
	values[3] = Int64GetDatum((int64) elt_subscription_id(&c->gen->pop, life->index, s->ordinal));
	values[4] = DateADTGetDatum(u->day);
	values[5] = Int32GetDatum(u->actions);
	values[6] = Int32GetDatum(u->storage_mb);
	values[7] = Int32GetDatum(u->api_calls);
	values[8] = Int32GetDatum(u->minutes);
	c->sink->put(c->sink, values, nulls);
}

/* The columns of elt_mart.fct_usage_daily, in table order. */
#define FACT_NATTS 17

typedef struct FactCtx
{
	UsageCtx	usage;			/* the raw row, when that sink is wanted too */
	EltSink    *sink;			/* fct_usage_daily, or NULL */
	EltSink    *periods;		/* fct_usage_period, or NULL */
	EltKpi	   *kpi;			/* the KPIs being added up, or NULL */
	EltMetrics *metrics;		/* the monthly metrics being added up, or NULL */
	const EltDimKeys *keys;		/* the keys its rows must refer to, or NULL */
	EltTotals  *totals;			/* elt.mart_usage_totals's candidates, or NULL */
	int64		user_id;
	EltDay		last_day;		/* the user's last usage day so far */
} FactCtx;

/* The columns of elt_mart.fct_usage_period, in table order. */
#define PERIOD_NATTS 19

/* pct gives round(100.0 * part / whole, 2) as a numeric, or NULL
 * for no whole (unlimited): rounded half away from zero, as numeric's
 * round() does (part is never negative). */
static inline void
pct(int64 part, int whole, Datum *v, bool *n)
{
	*n = whole <= 0;
	if (!*n)
		*v = NumericGetDatum(int64_div_fast_to_numeric((20000 * part + whole) / (2 * (int64) whole), 2));
}

/* put_fact turns one usage day into a row of elt_mart.fct_usage_daily (and
 * of elt_raw.usage when that sink is wanted too); keys as the dimensions
 * make them, id * 65536 + version ordinal (-1: unknown). */
static void
put_fact(void *arg, const EltLife *life, const EltUsageFact *f)
{
	FactCtx    *c = arg;
	const EltUsage *u = f->usage;
	const EltSegment *s = &life->segs[u->segment];
	const EltPlan *plan = elt_plan(s->plan_id);
	int64		sub_id = (int64) elt_subscription_id(&c->usage.gen->pop, life->index, s->ordinal);
	Datum		values[FACT_NATTS];
	bool		nulls[FACT_NATTS] = {false};

	if (c->usage.sink)
		put_usage(&c->usage, life, u);
	if (c->kpi)
		elt_kpi_usage(c->kpi, u);
	if (c->metrics && u->day != c->last_day)
		elt_metrics_usage(c->metrics, u->day);
	c->last_day = u->day;
	if (c->sink == NULL)
		return;
	values[0] = DateADTGetDatum(u->day);
	values[1] = Int64GetDatum(sub_id);
	values[2] = Int32GetDatum(elt_date_key(u->day));
	values[3] = Int64GetDatum(f->user_version < 0 ? -1 : c->user_id * 65536 + f->user_version);
	values[4] = Int64GetDatum(f->sub_version < 0 ? -1 : sub_id * 65536 + f->sub_version);
	values[5] = Int32GetDatum(s->plan_id);
	values[6] = Int64GetDatum(c->user_id);
	values[7] = Int64GetDatum((int64) elt_usage_id(&c->usage.gen->pop, life->index, u->day));
	values[8] = Int32GetDatum(u->actions);
	values[9] = Int32GetDatum(u->storage_mb);
	values[10] = Int32GetDatum(u->api_calls);
	values[11] = Int32GetDatum(u->minutes);
	nulls[12] = nulls[13] = nulls[14] = nulls[15] = (f->period_start == ELT_OPEN);
	if (!nulls[12])
	{
		values[12] = DateADTGetDatum(f->period_start);
		values[13] = Int64GetDatum(f->period_api_calls);
		values[14] = Int64GetDatum(f->period_storage_peak_mb);
		pct(f->period_api_calls, plan->api_limit, &values[15], &nulls[15]);
	}
	pct(u->storage_mb, plan->storage_limit_mb, &values[16], &nulls[16]);
	if (c->keys)
	{
		elt_keys_check_day(c->keys, "fct_usage_daily", u->day);
		elt_keys_check_user(c->keys, "fct_usage_daily", DatumGetInt64(values[3]));
		elt_keys_check_sub(c->keys, "fct_usage_daily", DatumGetInt64(values[4]));
		elt_keys_check_plan("fct_usage_daily", s->plan_id);
	}
	c->sink->put(c->sink, values, nulls);
}

/* set_limit stores a plan limit, NULL when unlimited (-1). */
static inline void
set_limit(int limit, Datum *v, bool *n)
{
	*n = limit < 0;
	*v = Int32GetDatum(limit);
}

/* put_period turns one quota period with usage into a row of
 * elt_mart.fct_usage_period, with the keys of its first day with usage. */
static void
put_period(void *arg, const EltLife *life, const EltUsagePeriod *p)
{
	FactCtx    *c = arg;
	const EltGen *gen = c->usage.gen;
	const EltSegment *s = &life->segs[p->segment];
	const EltPlan *plan = elt_plan(s->plan_id);
	int64		sub_id = (int64) elt_subscription_id(&gen->pop, life->index, s->ordinal);
	EltDay		end = elt_add_months(p->period_start, 1);
	Datum		values[PERIOD_NATTS];
	bool		nulls[PERIOD_NATTS] = {false};

	values[0] = Int64GetDatum(sub_id);
	values[1] = DateADTGetDatum(p->period_start);
	values[2] = DateADTGetDatum(end);
	/* the calendar holds the window's days only */
	values[3] = Int32GetDatum(p->period_start < gen->pop.start || p->period_start > gen->as_of
							  ? -1 : elt_date_key(p->period_start));
	values[4] = Int64GetDatum(c->user_id);
	values[5] = Int64GetDatum(p->first.user_version < 0 ? -1 : c->user_id * 65536 + p->first.user_version);
	values[6] = Int64GetDatum(p->first.sub_version < 0 ? -1 : sub_id * 65536 + p->first.sub_version);
	values[7] = Int32GetDatum(s->plan_id);
	values[8] = Int32GetDatum(p->active_days);
	values[9] = DateADTGetDatum(p->last_day);
	values[10] = Int64GetDatum(p->api_calls);
	set_limit(plan->api_limit, &values[11], &nulls[11]);
	pct(p->api_calls, plan->api_limit, &values[12], &nulls[12]);
	values[13] = Int64GetDatum(p->storage_peak_mb);
	set_limit(plan->storage_limit_mb, &values[14], &nulls[14]);
	pct(p->storage_peak_mb, plan->storage_limit_mb, &values[15], &nulls[15]);
	set_day_or_null(&values[16], &nulls[16], p->api_exhausted_on, false);
	set_day_or_null(&values[17], &nulls[17], p->storage_exhausted_on, false);
	values[18] = BoolGetDatum(end <= gen->as_of + 1);
	if (c->totals)
		elt_totals_keep(c->totals, sub_id, p);
	if (c->keys)
	{
		if (DatumGetInt32(values[3]) != -1)
			elt_keys_check_day(c->keys, "fct_usage_period", p->period_start);
		elt_keys_check_user(c->keys, "fct_usage_period", DatumGetInt64(values[5]));
		elt_keys_check_sub(c->keys, "fct_usage_period", DatumGetInt64(values[6]));
		elt_keys_check_plan("fct_usage_period", s->plan_id);
	}
	c->periods->put(c->periods, values, nulls);
}

/* put_kpi turns one day's KPIs into a row of elt_mart.fct_kpi_daily. */
static void
put_kpi(void *arg, const EltKpiDay *k)
{
	EltSink    *sink = arg;
	Datum		values[19];
	bool		nulls[19] = {false};

	values[0] = Int32GetDatum(elt_date_key(k->day));
	values[1] = DateADTGetDatum(k->day);
	values[2] = Int32GetDatum((int32) k->signups);
	values[3] = Int32GetDatum((int32) k->active_users);
	values[4] = Int32GetDatum((int32) k->paying_users);
	values[5] = Int32GetDatum((int32) k->churned_users);
	values[6] = elt_cents(k->mrr_cents);
	values[7] = elt_cents(12 * k->mrr_cents);
	values[8] = Int64GetDatum(k->actions);
	values[9] = Int64GetDatum(k->api_calls);
	values[10] = Int64GetDatum(k->storage_mb);
	values[11] = Int64GetDatum(k->minutes);
	values[12] = Int32GetDatum((int32) k->free_users);
	values[13] = Int32GetDatum((int32) k->trials_started);
	values[14] = Int32GetDatum((int32) k->trial_conversions);
	values[15] = Int32GetDatum((int32) k->new_paying);
	values[16] = Int32GetDatum((int32) k->reactivations);
	values[17] = Int32GetDatum((int32) k->wau);
	values[18] = Int32GetDatum((int32) k->mau);
	sink->put(sink, values, nulls);
}

/* put_last_active writes a row of elt.mart_last_active: a user's last usage
 * day (user_id -1: the day the table is through). */
static void
put_last_active(EltSink *sink, int64 user_id, EltDay day)
{
	Datum		values[3] = {Int64GetDatum(user_id), DateADTGetDatum(day), (Datum) 0};
	bool		nulls[3] = {false, false, true};

	sink->put(sink, values, nulls);
}

typedef struct EventCtx
{
	const EltGen *gen;
	EltSink    *sink;
	const EltDimKeys *keys;		/* or NULL */
	int64		user_id;
	const Datum *type_text;		/* the event types as text */
} EventCtx;

/* put_event turns one subscription event into a row of
 * elt_mart.fct_subscription_events. */
static void
put_event(void *arg, const EltLife *life, const EltEvent *e)
{
	EventCtx   *c = arg;
	int64		sub_id = (int64) elt_subscription_id(&c->gen->pop, life->index, life->segs[e->segment].ordinal);
	Datum		values[12];
	bool		nulls[12] = {false};

	values[0] = DateADTGetDatum(e->day);
	values[1] = Int64GetDatum(sub_id);
	values[2] = c->type_text[e->type];
	values[3] = Int32GetDatum(elt_date_key(e->day));
	values[4] = Int64GetDatum(c->user_id);
	values[5] = Int64GetDatum(e->user_version < 0 ? -1 : c->user_id * 65536 + e->user_version);
	values[6] = Int64GetDatum(e->sub_version < 0 ? -1 : sub_id * 65536 + e->sub_version);
	nulls[7] = e->from_plan == 0;
	values[7] = Int32GetDatum(e->from_plan);
	nulls[8] = e->to_plan == 0;
	values[8] = Int32GetDatum(e->to_plan);
	values[9] = elt_cents(e->mrr_before_cents);
	values[10] = elt_cents(e->mrr_after_cents);
	values[11] = elt_cents(e->mrr_after_cents - e->mrr_before_cents);
	if (c->keys)
	{
		elt_keys_check_day(c->keys, "fct_subscription_events", e->day);
		elt_keys_check_user(c->keys, "fct_subscription_events", DatumGetInt64(values[5]));
		elt_keys_check_sub(c->keys, "fct_subscription_events", DatumGetInt64(values[6]));
		elt_keys_check_plan("fct_subscription_events", e->from_plan);
		elt_keys_check_plan("fct_subscription_events", e->to_plan);
	}
	c->sink->put(c->sink, values, nulls);
}

typedef struct MrrCtx
{
	const EltGen *gen;
	EltSink    *sink;			/* or NULL */
	EltMetrics *metrics;		/* or NULL */
	const EltDimKeys *keys;		/* or NULL */
	int64		user_id;
	const Datum *movement_text;
	const Datum *churn_text;
} MrrCtx;

/* put_mrr_month turns one month of a user into a row of
 * elt_mart.fct_mrr_monthly. */
static void
put_mrr_month(void *arg, const EltLife *life, const EltMrrMonth *r)
{
	MrrCtx	   *c = arg;
	int64		change = r->mrr_cents - r->prev_cents;
	EltDay		keyday = r->month > c->gen->pop.start ? r->month : c->gen->pop.start;
	Datum		values[15];
	bool		nulls[15] = {false};

	if (c->metrics)
		elt_metrics_mrr_month(c->metrics, life, r);
	if (c->sink == NULL)
		return;
	values[0] = DateADTGetDatum(r->month);
	values[1] = Int64GetDatum(c->user_id);
	values[2] = Int32GetDatum(elt_date_key(keyday));
	values[3] = Int64GetDatum(r->user_version < 0 ? -1 : c->user_id * 65536 + r->user_version);
	values[4] = Int32GetDatum(r->plan_id);
	values[5] = elt_cents(r->mrr_cents);
	values[6] = elt_cents(r->prev_cents);
	values[7] = elt_cents(change);
	values[8] = c->movement_text[r->movement];
	values[9] = elt_cents(r->movement == ELT_MV_NEW ? r->mrr_cents : 0);
	values[10] = elt_cents(r->movement == ELT_MV_EXPANSION ? change : 0);
	values[11] = elt_cents(r->movement == ELT_MV_CONTRACTION ? change : 0);
	values[12] = elt_cents(r->movement == ELT_MV_CHURN ? -r->prev_cents : 0);
	values[13] = elt_cents(r->movement == ELT_MV_REACTIVATION ? r->mrr_cents : 0);
	nulls[14] = r->churn_type < 0;
	if (!nulls[14])
		values[14] = c->churn_text[r->churn_type];
	if (c->keys)
	{
		elt_keys_check_day(c->keys, "fct_mrr_monthly", keyday);
		elt_keys_check_user(c->keys, "fct_mrr_monthly", DatumGetInt64(values[3]));
		elt_keys_check_plan("fct_mrr_monthly", r->plan_id);
	}
	c->sink->put(c->sink, values, nulls);
}

/*
 * A few MRR amounts recur over and over (prices, their yearly and
 * discounted forms): their numerics are made once per call, in the
 * context that outlives the per-user one.
 */
#define MRR_CACHE 64

typedef struct MrrCache
{
	MemoryContext cxt;
	int64		cents[MRR_CACHE];
	Datum		value[MRR_CACHE];
} MrrCache;

/* mrr_numeric returns cents as a numeric with two decimals. */
static Datum
mrr_numeric(MrrCache *c, int64 cents)
{
	int			slot = (int) ((uint64) cents * UINT64CONST(0x9e3779b97f4a7c15) >> 58);
	MemoryContext old;
	char		buf[32];

	if (c->cents[slot] == cents && c->value[slot] != (Datum) 0)
		return c->value[slot];
	snprintf(buf, sizeof(buf), "%lld.%02lld", (long long) (cents / 100), (long long) (cents % 100));
	old = MemoryContextSwitchTo(c->cxt);
	c->value[slot] = DirectFunctionCall3(numeric_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid),
										 Int32GetDatum(-1));
	MemoryContextSwitchTo(old);
	c->cents[slot] = cents;
	return c->value[slot];
}

/* Is this version wanted: current only, or from "since" on? */
static inline bool
wanted(const EltGen *gen, EltDay valid_from, EltDay valid_to)
{
	if (!gen->history && valid_to != ELT_OPEN)
		return false;
	return valid_from >= gen->since;
}

/*
 * elt_emit runs the model for every user of the range and hands the rows to
 * the sinks (any may be NULL), so the SRFs, the bulk loader and the estimate
 * share one path.  The usage facts, periods and KPIs of elt_mart need
 * gen->since to be the window's first day (their totals count from it).
 * When the dimensions are written too, the facts' keys are checked against
 * the user's dimension rows as they are written (keys.c); with the periods,
 * the usage fact builder's state can be written too (totals.c).  Each user's
 * rows live in a context reset after the user, so memory stays flat.
 */
void
elt_emit(const EltGen *gen, const EltSinks *sinks, EltProgressFn progress, void *progress_arg)
{
	EltSink    *users = sinks->users;
	EltSink    *subs = sinks->subs;
	EltSink    *usage = sinks->usage;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "elt rows",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	EltLife		life = {0};
	Datum		status_text[ELT_N_STATUS];
	Datum		interval_text[2];
	char		email[ELT_EMAIL_MAX];
	MrrCache	mrr = {CurrentMemoryContext};
	EltKpi		kpi;
	EltMetrics	metrics;
	bool		want_metrics = sinks->cohorts || sinks->saas;
	EltDimKeys	keys = {CurrentMemoryContext, gen->pop.start, gen->as_of};
	EltTotals	totals = {sinks->totals, CurrentMemoryContext, ELT_OPEN};
	const EltDimKeys *check = sinks->dim_user && sinks->dim_sub ? &keys : NULL;
	Datum		event_text[ELT_N_EVENTS];
	Datum		movement_text[ELT_N_MOVEMENTS];
	Datum		churn_text[ELT_N_CHURN_TYPES];

	life.grow = grow_in_context;
	if (sinks->kpi)
		elt_kpi_init(&kpi, gen->since, gen->as_of, grow_in_context);
	if (want_metrics)
	{
		if (elt_metrics_months(gen->pop.start, gen->as_of) > ELT_METRICS_MAX_MONTHS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("elt_generate writes the marts of windows of at most %d months",
							ELT_METRICS_MAX_MONTHS),
					 errhint("Use a shorter window, or build_marts => false and then elt_build_marts().")));
		elt_metrics_init(&metrics, &gen->pop, gen->as_of, grow_in_context);
	}
	for (int s = 0; s < ELT_N_STATUS; s++)
		status_text[s] = CStringGetTextDatum(elt_status_names[s]);
	interval_text[0] = CStringGetTextDatum("month");
	interval_text[1] = CStringGetTextDatum("year");
	for (int t = 0; t < ELT_N_EVENTS; t++)
		event_text[t] = CStringGetTextDatum(elt_event_names[t]);
	for (int t = 0; t < ELT_N_MOVEMENTS; t++)
		movement_text[t] = CStringGetTextDatum(elt_movement_names[t]);
	for (int t = 0; t < ELT_N_CHURN_TYPES; t++)
		churn_text[t] = CStringGetTextDatum(elt_churn_type_names[t]);

	for (int64 i = gen->first_user; i <= gen->last_user; i++)
	{
		Datum		user_id;
		EltDay		first_paid = ELT_OPEN;
		EltSubOrigin *origins = NULL;

		CHECK_FOR_INTERRUPTS();
		if (gen->hash_filter)
		{
			/* another shard's user: its id is cheap, its life is not */
			int32		h = DatumGetInt32(DirectFunctionCall1(hashint8,
															  Int64GetDatum((int64) elt_user_id(&gen->pop, i))));

			if (h < gen->hash_lo || h > gen->hash_hi)
				continue;
		}
		elt_life(&gen->pop, i, gen->as_of, &life);
		if (life.overflow)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("user %lld has more than %d subscriptions", (long long) i,
							ELT_MAX_SUBS_PER_USER)));
		if (life.signup > gen->as_of)
			continue;
		old = MemoryContextSwitchTo(rowcxt);
		elt_keys_next_user(&keys);
		user_id = Int64GetDatum((int64) elt_user_id(&gen->pop, i));
		if (sinks->dim_user)
			first_paid = elt_first_paid_day(&life);
		if (sinks->dim_sub)
		{
			origins = palloc(sizeof(EltSubOrigin) * Max(life.nsegs, 1));
			elt_sub_origins(&gen->pop, &life, origins);
		}

		for (int v = 0; users && v < life.nuvers; v++)
		{
			const EltUserVersion *uv = &life.uvers[v];
			Datum		values[ELT_USER_NATTS];
			bool		nulls[ELT_USER_NATTS] = {false};

			if (!wanted(gen, uv->valid_from, uv->valid_to))
				continue;
			elt_email(&gen->pop, &life, uv->email_version, email, sizeof(email));
			values[0] = user_id;
			values[1] = CStringGetTextDatum(elt_first_names[life.first_name]);
			values[2] = CStringGetTextDatum(elt_last_names[life.last_name]);
			values[3] = CStringGetTextDatum(email);
			values[4] = DateADTGetDatum(life.signup);
			values[5] = Int32GetDatum(uv->plan_id);
			values[6] = Int32GetDatum(uv->region_id);
			values[7] = Int32GetDatum(life.referral_source_id);
			values[8] = TimestampTzGetDatum(elt_day_timestamp(uv->valid_from));
			set_day_or_null(&values[9], &nulls[9], uv->valid_to, true);
			users->put(users, values, nulls);
			if (sinks->dim_user)
				elt_keys_user_written(&keys, elt_put_dim_user(sinks->dim_user, &life, v, values, nulls,
															  gen->as_of, first_paid));
		}

		for (int v = 0; subs && v < life.nsvers; v++)
		{
			const EltSubVersion *sv = &life.svers[v];
			const EltSegment *seg = &life.segs[sv->segment];
			Datum		values[ELT_SUB_NATTS];
			bool		nulls[ELT_SUB_NATTS] = {false};

			if (!wanted(gen, sv->valid_from, sv->valid_to))
				continue;
			values[0] = Int64GetDatum((int64) elt_subscription_id(&gen->pop, i, seg->ordinal));
			values[1] = user_id;
			values[2] = Int32GetDatum(seg->plan_id);
			values[3] = DateADTGetDatum(seg->start);
			set_day_or_null(&values[4], &nulls[4], sv->end, false);
			values[5] = Int32GetDatum(seg->payment_method_id);
			values[6] = status_text[sv->status];
			values[7] = Int32GetDatum(sv->renewals);
			values[8] = TimestampTzGetDatum(elt_day_timestamp(sv->valid_from));
			set_day_or_null(&values[9], &nulls[9], sv->valid_to, true);
			values[10] = interval_text[seg->annual ? 1 : 0];
			values[11] = Int32GetDatum(sv->seats);
			values[12] = Int32GetDatum(sv->discount_pct);
			set_day_or_null(&values[13], &nulls[13], seg->trial_end, false);
			values[14] = mrr_numeric(&mrr, sv->mrr_cents);
			subs->put(subs, values, nulls);
			if (sinks->dim_sub)
				elt_keys_sub_written(&keys, elt_put_dim_subscription(sinks->dim_sub, &life, v, values, nulls,
																	 origins));
		}

		if (sinks->facts || sinks->periods || sinks->kpi || want_metrics)
		{
			FactCtx		c = {{gen, usage, user_id}, sinks->facts, sinks->periods,
				sinks->kpi ? &kpi : NULL, want_metrics ? &metrics : NULL, check,
				sinks->totals && sinks->periods ? &totals : NULL, DatumGetInt64(user_id), ELT_OPEN};

			elt_life_usage_facts(&gen->pop, &life, gen->since, gen->as_of, put_fact,
								 sinks->periods ? put_period : NULL, &c);
			if (sinks->kpi)
				elt_kpi_user(&kpi, &life);
			if (sinks->last_active && c.last_day != ELT_OPEN)
				put_last_active(sinks->last_active, c.user_id, c.last_day);
			elt_totals_user_done(&totals, c.last_day);
		}
		if (sinks->events)
		{
			EventCtx	c = {gen, sinks->events, check, DatumGetInt64(user_id), event_text};

			elt_life_events(&gen->pop, &life, gen->as_of, put_event, &c);
		}
		if (sinks->mrr || want_metrics)
		{
			MrrCtx		c = {gen, sinks->mrr, want_metrics ? &metrics : NULL, check, DatumGetInt64(user_id),
			movement_text, churn_text};

			elt_life_mrr_months(&life, gen->pop.start, gen->as_of, put_mrr_month, &c);
		}
		if (want_metrics)
			elt_metrics_user(&metrics, &life);
		if (usage && !(sinks->facts || sinks->periods || sinks->kpi || want_metrics))
		{
			UsageCtx	c = {gen, usage, user_id};

			elt_life_usage(&gen->pop, &life, gen->since, gen->as_of, put_usage, &c);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		if (progress)
			progress(progress_arg, i - gen->first_user + 1);
	}
	MemoryContextDelete(rowcxt);
	if (sinks->kpi)
		elt_kpi_rows(&kpi, put_kpi, sinks->kpi);
	if (want_metrics)
		elt_put_metrics(sinks->cohorts, sinks->saas, &metrics);
	if (sinks->totals)
		elt_totals_put(&totals);
	if (sinks->last_active)
		put_last_active(sinks->last_active, -1, gen->as_of);
	/* the life's arrays were reused for every user; one call's worth */
	if (life.segs)
		pfree(life.segs);
	if (life.uvers)
		pfree(life.uvers);
	if (life.svers)
		pfree(life.svers);
	if (life.events)
		pfree(life.events);
	if (keys.user)
		pfree(keys.user);
	if (keys.sub)
		pfree(keys.sub);
}
