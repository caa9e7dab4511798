/*
 * load.c: elt__load_raw(), the C half of elt_generate(): one pass over the
 * population writes elt_raw.users, elt_raw.subscriptions and elt_raw.usage
 * through the bulk loader, reporting progress every few seconds;
 * elt__load_warehouse(), the same pass writing most of elt_mart too;
 * and elt__load_day(), the same pass for one day of elt_refresh.  The
 * foreign keys of these tables to the lookups hold by construction (the ids
 * come from the same C tables that filled the lookups in the same
 * transaction); they are declared so that BI tools see them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "bulk.h"

#include "elt.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(elt__load_raw);


typedef struct Progress
{
	instr_time	started;
	double		last;
	int64		total;
	EltBulk    *usage;
} Progress;

/* report gives a NOTICE every few seconds (because loads can take minutes) */
static void
report(void *arg, int64 done)
{
	Progress   *p = arg;
	instr_time	now;
	double		secs;
	char		name[NAMEDATALEN];

	if ((done & 255) != 0 && done != p->total)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->started);
	secs = INSTR_TIME_GET_DOUBLE(now);
	if (secs - p->last < elt_progress_seconds)
		return;
	p->last = secs;
	ereport(NOTICE,
			(errmsg("elt_generate: %lld of %lld users, %lld usage rows (%.0f rows/s)",
					(long long) done, (long long) p->total, (long long) p->usage->rows,
					p->usage->rows / secs)));
	/* what other sessions see in pg_stat_activity, until the transaction ends */
	snprintf(name, sizeof(name), "elt %lld/%lld users: elt_generate (loading elt_raw)",
			 (long long) done, (long long) p->total);
	(void) set_config_option("application_name", name, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/* The columns elt_emit produces, in its order (see 10_schema.sql). */
static const EltColumn user_cols[ELT_USER_NATTS] = {
	{"user_id", INT8OID, -1, false}, {"first_name", TEXTOID, -1, false}, {"last_name", TEXTOID, -1, false},
	{"email", TEXTOID, -1, false}, {"signup_date", DATEOID, -1, false}, {"plan_id", INT4OID, -1, false},
	{"region_id", INT4OID, -1, false}, {"referral_source_id", INT4OID, -1, false},
	{"valid_from", TIMESTAMPTZOID, -1, false}, {"valid_to", TIMESTAMPTZOID, -1, true}};
static const EltColumn sub_cols[ELT_SUB_NATTS] = {
	{"subscription_id", INT8OID, -1, false}, {"user_id", INT8OID, -1, false}, {"plan_id", INT4OID, -1, false},
	{"start_date", DATEOID, -1, false}, {"end_date", DATEOID, -1, true}, {"payment_method_id", INT4OID, -1, false},
	{"status", TEXTOID, -1, false}, {"renewal_count", INT4OID, -1, false},
	{"valid_from", TIMESTAMPTZOID, -1, false}, {"valid_to", TIMESTAMPTZOID, -1, true},
	{"billing_interval", TEXTOID, -1, false}, {"seats", INT4OID, -1, false},
	{"discount_pct", INT4OID, -1, false}, {"trial_end", DATEOID, -1, true},
	{"mrr", NUMERICOID, ((10 << 16) | 2) + VARHDRSZ, false}};
static const EltColumn usage_cols[ELT_USAGE_NATTS] = {
	{"usage_id", INT8OID, -1, false}, {"user_id", INT8OID, -1, false}, {"plan_id", INT4OID, -1, false},
	{"subscription_id", INT8OID, -1, false}, {"usage_date", DATEOID, -1, false},
	{"actions_performed", INT4OID, -1, false}, {"storage_used_mb", INT4OID, -1, false},
	{"api_calls", INT4OID, -1, false}, {"active_minutes", INT4OID, -1, false}};

/* elt's own keys to the lookups, which the generated ids satisfy */
static const EltForeignKey user_fkeys[] = {
	{"plan_id", "plans"}, {"region_id", "regions"}, {"referral_source_id", "referral_sources"}};
static const EltForeignKey sub_fkeys[] = {{"plan_id", "plans"}, {"payment_method_id", "payment_methods"}};
static const EltForeignKey usage_fkeys[] = {{"plan_id", "plans"}};

/* elt's own CHECK constraints, which the generated rows satisfy */
static const char *const user_checks[] = {"CHECK ((valid_to > valid_from))"};
static const char *const sub_checks[] = {
	"CHECK ((end_date > start_date))", "CHECK ((renewal_count >= 0))",
	"CHECK ((status = ANY (ARRAY['active'::text, 'expired'::text, 'cancelled'::text, 'trialing'::text, 'past_due'::text])))",
	"CHECK ((valid_to > valid_from))",
	"CHECK ((billing_interval = ANY (ARRAY['month'::text, 'year'::text])))",
	"CHECK ((seats >= 1))", "CHECK (((discount_pct >= 0) AND (discount_pct <= 100)))",
	"CHECK ((mrr >= (0)::numeric))"};
static const char *const usage_checks[] = {
	"CHECK ((actions_performed >= 0))", "CHECK ((active_minutes >= 0))",
	"CHECK ((api_calls >= 0))", "CHECK ((storage_used_mb >= 0))"};

/*
 * elt_mart.fct_usage_daily, which elt__load_warehouse writes in the same
 * pass (and fct_usage_period, below, with the same keys).  Its keys to the
 * dimensions are the dimensions' own formula (id * 65536 + version
 * ordinal); the bulk loader does not check them: elt_emit does, against
 * the dimension rows the same pass writes (keys.c).
 */
static const EltColumn fact_cols[] = {
	{"usage_date", DATEOID, -1, false}, {"subscription_id", INT8OID, -1, false},
	{"date_key", INT4OID, -1, false}, {"user_key", INT8OID, -1, false},
	{"subscription_key", INT8OID, -1, false}, {"plan_key", INT4OID, -1, false},
	{"user_id", INT8OID, -1, false}, {"usage_id", INT8OID, -1, false},
	{"actions_performed", INT4OID, -1, false}, {"storage_used_mb", INT4OID, -1, false},
	{"api_calls", INT4OID, -1, false}, {"active_minutes", INT4OID, -1, false},
	{"period_start", DATEOID, -1, true}, {"period_api_calls", INT8OID, -1, true},
	{"period_storage_used_mb", INT8OID, -1, true},
	{"api_quota_used_pct", NUMERICOID, ((9 << 16) | 2) + VARHDRSZ, true},
	{"storage_quota_used_pct", NUMERICOID, ((9 << 16) | 2) + VARHDRSZ, true}};
static const EltForeignKey fact_fkeys[] = {
	{"date_key", "dim_date"}, {"user_key", "dim_user"}, {"subscription_key", "dim_subscription"},
	{"plan_key", "dim_plan"}};
static const char *const fact_checks[] = {
	"CHECK ((actions_performed >= 0))", "CHECK ((active_minutes >= 0))", "CHECK ((api_calls >= 0))",
	"CHECK ((api_quota_used_pct >= (0)::numeric))", "CHECK ((period_api_calls >= 0))",
	"CHECK ((period_storage_used_mb >= 0))", "CHECK ((storage_quota_used_pct >= (0)::numeric))",
	"CHECK ((storage_used_mb >= 0))"};

/* elt_mart.fct_usage_period, written in the same pass too */
static const EltColumn period_cols[] = {
	{"subscription_id", INT8OID, -1, false}, {"period_start", DATEOID, -1, false},
	{"period_end", DATEOID, -1, false}, {"date_key", INT4OID, -1, false},
	{"user_id", INT8OID, -1, false}, {"user_key", INT8OID, -1, false},
	{"subscription_key", INT8OID, -1, false}, {"plan_key", INT4OID, -1, false},
	{"active_days", INT4OID, -1, false}, {"last_usage_date", DATEOID, -1, false},
	{"api_calls", INT8OID, -1, false}, {"api_limit", INT4OID, -1, true},
	{"api_used_pct", NUMERICOID, ((9 << 16) | 2) + VARHDRSZ, true},
	{"storage_used_mb", INT8OID, -1, false}, {"storage_limit_mb", INT4OID, -1, true},
	{"storage_used_pct", NUMERICOID, ((9 << 16) | 2) + VARHDRSZ, true},
	{"api_exhausted_on", DATEOID, -1, true}, {"storage_exhausted_on", DATEOID, -1, true},
	{"is_complete", BOOLOID, -1, false}};
static const char *const period_checks[] = {
	"CHECK ((active_days > 0))", "CHECK ((api_calls >= 0))", "CHECK ((api_used_pct >= (0)::numeric))",
	"CHECK ((period_end > period_start))", "CHECK ((storage_used_mb >= 0))",
	"CHECK ((storage_used_pct >= (0)::numeric))"};

/* elt_mart.fct_kpi_daily (a few hundred rows: its constraints are checked
 * row by row) and the KPI builder's state, elt.mart_last_active */
static const EltColumn kpi_cols[] = {
	{"date_key", INT4OID, -1, false}, {"date", DATEOID, -1, false},
	{"signups", INT4OID, -1, false}, {"active_users", INT4OID, -1, false},
	{"paying_users", INT4OID, -1, false}, {"churned_users", INT4OID, -1, false},
	{"mrr", NUMERICOID, ((14 << 16) | 2) + VARHDRSZ, false},
	{"arr", NUMERICOID, ((15 << 16) | 2) + VARHDRSZ, false},
	{"actions_performed", INT8OID, -1, false}, {"api_calls", INT8OID, -1, false},
	{"storage_used_mb", INT8OID, -1, false}, {"active_minutes", INT8OID, -1, false},
	{"free_users", INT4OID, -1, false}, {"trials_started", INT4OID, -1, false},
	{"trial_conversions", INT4OID, -1, false}, {"new_paying_users", INT4OID, -1, false},
	{"reactivations", INT4OID, -1, false}, {"weekly_active_users", INT4OID, -1, false},
	{"monthly_active_users", INT4OID, -1, false}};
static const EltForeignKey kpi_fkeys[] = {{"date_key", "dim_date"}};
static const EltColumn last_active_cols[] = {
	{"user_id", INT8OID, -1, false}, {"last_active", DATEOID, -1, false},
	{"prev_active", DATEOID, -1, true}};

/* elt_mart.fct_subscription_events (its constraints are checked row by row:
 * a few rows per user) */
static const EltColumn event_cols[] = {
	{"event_date", DATEOID, -1, false}, {"subscription_id", INT8OID, -1, false},
	{"event_type", TEXTOID, -1, false}, {"date_key", INT4OID, -1, false},
	{"user_id", INT8OID, -1, false}, {"user_key", INT8OID, -1, false},
	{"subscription_key", INT8OID, -1, false}, {"from_plan_key", INT4OID, -1, true},
	{"to_plan_key", INT4OID, -1, true},
	{"mrr_before", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"mrr_after", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"mrr_change", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false}};
static const EltForeignKey event_fkeys[] = {
	{"date_key", "dim_date"}, {"user_key", "dim_user"}, {"subscription_key", "dim_subscription"},
	{"from_plan_key", "dim_plan", "plan_key"}, {"to_plan_key", "dim_plan", "plan_key"}};

/* elt_mart.dim_user and dim_subscription (their constraints are checked
 * row by row) */
static const EltColumn dim_user_cols[ELT_DIM_USER_NATTS] = {
	{"user_key", INT8OID, -1, false}, {"user_id", INT8OID, -1, false},
	{"version_ordinal", INT4OID, -1, false}, {"first_name", TEXTOID, -1, false},
	{"last_name", TEXTOID, -1, false}, {"full_name", TEXTOID, -1, false},
	{"email", TEXTOID, -1, false}, {"signup_date", DATEOID, -1, false},
	{"plan_id", INT4OID, -1, false}, {"plan_name", TEXTOID, -1, false},
	{"region_id", INT4OID, -1, false}, {"region_name", TEXTOID, -1, false},
	{"referral_source_id", INT4OID, -1, false}, {"referral_source_name", TEXTOID, -1, false},
	{"valid_from", TIMESTAMPTZOID, -1, false}, {"valid_to", TIMESTAMPTZOID, -1, true},
	{"is_current", BOOLOID, -1, false}, {"cohort_month", DATEOID, -1, false},
	{"signup_date_key", INT4OID, -1, false}, {"acquisition_channel", TEXTOID, -1, false},
	{"first_paid_date", DATEOID, -1, true}, {"lifecycle_status", TEXTOID, -1, false},
	{"is_paying", BOOLOID, -1, false}, {"is_unknown", BOOLOID, -1, false}};
static const EltColumn dim_sub_cols[ELT_DIM_SUB_NATTS] = {
	{"subscription_key", INT8OID, -1, false}, {"subscription_id", INT8OID, -1, false},
	{"version_ordinal", INT4OID, -1, false}, {"user_id", INT8OID, -1, false},
	{"plan_id", INT4OID, -1, false}, {"plan_name", TEXTOID, -1, false},
	{"monthly_price", NUMERICOID, ((10 << 16) | 2) + VARHDRSZ, false}, {"is_paid", BOOLOID, -1, false},
	{"payment_method_id", INT4OID, -1, false}, {"payment_method_name", TEXTOID, -1, false},
	{"status", TEXTOID, -1, false}, {"start_date", DATEOID, -1, false},
	{"end_date", DATEOID, -1, true}, {"renewal_count", INT4OID, -1, false},
	{"valid_from", TIMESTAMPTZOID, -1, false}, {"valid_to", TIMESTAMPTZOID, -1, true},
	{"is_current", BOOLOID, -1, false}, {"billing_interval", TEXTOID, -1, false},
	{"seats", INT4OID, -1, false}, {"discount_pct", INT4OID, -1, false},
	{"trial_end", DATEOID, -1, true}, {"mrr", NUMERICOID, ((10 << 16) | 2) + VARHDRSZ, false},
	{"cancel_date", DATEOID, -1, true}, {"previous_plan_id", INT4OID, -1, true},
	{"previous_plan_name", TEXTOID, -1, true}, {"change_type", TEXTOID, -1, false},
	{"is_unknown", BOOLOID, -1, false}};

/* elt_mart.fct_mrr_monthly (its constraints are checked row by row) */
static const EltColumn mrr_cols[] = {
	{"month_start", DATEOID, -1, false}, {"user_id", INT8OID, -1, false},
	{"date_key", INT4OID, -1, false}, {"user_key", INT8OID, -1, false},
	{"plan_key", INT4OID, -1, false},
	{"mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"previous_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"mrr_change", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"movement", TEXTOID, -1, false},
	{"new_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"expansion_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"contraction_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"churned_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"reactivation_mrr", NUMERICOID, ((12 << 16) | 2) + VARHDRSZ, false},
	{"churn_type", TEXTOID, -1, true}};
static const EltForeignKey mrr_fkeys[] = {
	{"date_key", "dim_date"}, {"user_key", "dim_user"}, {"plan_key", "dim_plan"}};

/* elt_mart.fct_cohort_retention and fct_saas_metrics_monthly (a few
 * hundred rows: their constraints are checked row by row) */
static const EltColumn cohort_cols[] = {
	{"cohort_kind", TEXTOID, -1, false}, {"cohort_month", DATEOID, -1, false},
	{"months_since", INT4OID, -1, false}, {"month_start", DATEOID, -1, false},
	{"cohort_date_key", INT4OID, -1, false}, {"date_key", INT4OID, -1, false},
	{"accounts_start", INT4OID, -1, false}, {"accounts_retained", INT4OID, -1, false},
	{"accounts_paying", INT4OID, -1, false},
	{"starting_mrr", NUMERICOID, ((14 << 16) | 2) + VARHDRSZ, false},
	{"mrr", NUMERICOID, ((14 << 16) | 2) + VARHDRSZ, false},
	{"retained_mrr_gross", NUMERICOID, ((14 << 16) | 2) + VARHDRSZ, false},
	{"logo_retention", NUMERICOID, ((9 << 16) | 6) + VARHDRSZ, true},
	{"gross_mrr_retention", NUMERICOID, ((12 << 16) | 6) + VARHDRSZ, true},
	{"net_mrr_retention", NUMERICOID, ((12 << 16) | 6) + VARHDRSZ, true}};
static const EltForeignKey cohort_fkeys[] = {
	{"cohort_date_key", "dim_date", "date_key"}, {"date_key", "dim_date"}};
#define MONEY(name, p) {name, NUMERICOID, ((p << 16) | 2) + VARHDRSZ, false}
#define RATE(name, p, s) {name, NUMERICOID, ((p << 16) | s) + VARHDRSZ, true}
#define COUNT(name) {name, INT4OID, -1, false}
static const EltColumn saas_cols[] = {
	{"month_start", DATEOID, -1, false}, {"date_key", INT4OID, -1, false},
	MONEY("mrr", 14), MONEY("arr", 15), MONEY("starting_mrr", 14), MONEY("new_mrr", 14),
	MONEY("expansion_mrr", 14), MONEY("contraction_mrr", 14), MONEY("churned_mrr", 14),
	MONEY("churned_voluntary_mrr", 14), MONEY("churned_involuntary_mrr", 14),
	MONEY("reactivation_mrr", 14), MONEY("net_new_mrr", 14),
	COUNT("customers_start"), COUNT("customers_end"), COUNT("new_customers"),
	COUNT("reactivated_customers"), COUNT("churned_customers"), COUNT("churned_involuntary_customers"),
	RATE("customer_churn_rate", 12, 6), RATE("gross_mrr_churn_rate", 12, 6),
	RATE("net_mrr_churn_rate", 12, 6), RATE("nrr", 12, 6), RATE("grr", 12, 6),
	RATE("arpa", 14, 2), RATE("ltv", 16, 2), RATE("quick_ratio", 12, 4),
	COUNT("trials_started"), COUNT("trials_ended"), COUNT("trials_converted"),
	RATE("trial_to_paid_rate", 9, 6),
	COUNT("free_users_start"), COUNT("free_to_paid"), RATE("free_to_paid_rate", 9, 6)};
static const EltForeignKey saas_fkeys[] = {{"date_key", "dim_date"}};
#undef MONEY
#undef RATE
#undef COUNT

/* the usage fact builder's state, elt.mart_usage_totals */
static const EltColumn totals_cols[] = {
	{"subscription_id", INT8OID, -1, false}, {"period_start", DATEOID, -1, false},
	{"through", DATEOID, -1, false}, {"api_calls", INT8OID, -1, false},
	{"storage_used_mb", INT8OID, -1, false}};

/* elt_raw's three tables, then the marts' tables the same pass writes */
#define RAW_TABLES 3
#define WAREHOUSE_TABLES 14
static const EltTableSpec raw_specs[WAREHOUSE_TABLES] = {
	{"elt_raw", "users", user_cols, ELT_USER_NATTS, user_fkeys, lengthof(user_fkeys),
	user_checks, lengthof(user_checks)},
	{"elt_raw", "subscriptions", sub_cols, ELT_SUB_NATTS, sub_fkeys, lengthof(sub_fkeys),
	sub_checks, lengthof(sub_checks)},
	{"elt_raw", "usage", usage_cols, ELT_USAGE_NATTS, usage_fkeys, lengthof(usage_fkeys),
	usage_checks, lengthof(usage_checks)},
	{"elt_mart", "fct_usage_daily", fact_cols, lengthof(fact_cols), fact_fkeys, lengthof(fact_fkeys),
	fact_checks, lengthof(fact_checks)},
	{"elt_mart", "fct_usage_period", period_cols, lengthof(period_cols), fact_fkeys, lengthof(fact_fkeys),
	period_checks, lengthof(period_checks)},
	{"elt_mart", "fct_kpi_daily", kpi_cols, lengthof(kpi_cols), kpi_fkeys, lengthof(kpi_fkeys), NULL, 0},
	{"elt", "mart_last_active", last_active_cols, lengthof(last_active_cols), NULL, 0, NULL, 0},
	{"elt_mart", "fct_subscription_events", event_cols, lengthof(event_cols), event_fkeys, lengthof(event_fkeys),
	NULL, 0},
	{"elt_mart", "dim_user", dim_user_cols, ELT_DIM_USER_NATTS, NULL, 0, NULL, 0},
	{"elt_mart", "dim_subscription", dim_sub_cols, ELT_DIM_SUB_NATTS, NULL, 0, NULL, 0},
	{"elt_mart", "fct_mrr_monthly", mrr_cols, lengthof(mrr_cols), mrr_fkeys, lengthof(mrr_fkeys), NULL, 0},
	{"elt_mart", "fct_cohort_retention", cohort_cols, lengthof(cohort_cols), cohort_fkeys, lengthof(cohort_fkeys),
	NULL, 0},
	{"elt_mart", "fct_saas_metrics_monthly", saas_cols, lengthof(saas_cols), saas_fkeys, lengthof(saas_fkeys),
	NULL, 0},
	{"elt", "mart_usage_totals", totals_cols, lengthof(totals_cols), NULL, 0, NULL, 0}};

/*
 * load writes the users of gen into the tables of specs (users,
 * subscriptions, usage, and the marts when ntables is WAREHOUSE_TABLES)
 * in one pass
 * (because each user's life is computed once for all of them) and returns
 * the rows per table as the function's result row (because the entry
 * points differ only in the tables and the users they take).
 */
static Datum
load(FunctionCallInfo fcinfo, EltGen *gen, const EltTableSpec *specs, int ntables, bool report_progress)
{
	EltBulk    *bulk[WAREHOUSE_TABLES] = {NULL};
	EltSinks	sinks = {NULL};
	Progress	progress = {0};
	TupleDesc	tupdesc;
	Datum		values[WAREHOUSE_TABLES];
	bool		nulls[WAREHOUSE_TABLES] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE || tupdesc->natts != ntables)
		elog(ERROR, "return type must be a row of %d counts", ntables);

	for (int t = 0; t < ntables; t++)
		bulk[t] = elt_bulk_open(&specs[t]);
	sinks.users = &bulk[0]->sink;
	sinks.subs = &bulk[1]->sink;
	sinks.usage = &bulk[2]->sink;
	if (ntables == WAREHOUSE_TABLES)
	{
		sinks.facts = &bulk[3]->sink;
		sinks.periods = &bulk[4]->sink;
		sinks.kpi = &bulk[5]->sink;
		sinks.last_active = &bulk[6]->sink;
		sinks.events = &bulk[7]->sink;
		sinks.dim_user = &bulk[8]->sink;
		sinks.dim_sub = &bulk[9]->sink;
		sinks.mrr = &bulk[10]->sink;
		sinks.cohorts = &bulk[11]->sink;
		sinks.saas = &bulk[12]->sink;
		sinks.totals = &bulk[13]->sink;
	}

	INSTR_TIME_SET_CURRENT(progress.started);
	progress.total = gen->last_user;
	progress.usage = bulk[2];
	elt_emit(gen, &sinks, report_progress ? report : NULL, &progress);
	if (progress.last > 0)
		ereport(NOTICE,
				(errmsg("elt_generate: %lld users, %lld usage rows written; building indexes",
						(long long) gen->last_user, (long long) bulk[2]->rows)));

	for (int t = 0; t < ntables; t++)
		values[t] = Int64GetDatum(elt_bulk_close(bulk[t]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* elt__load_raw(users, seed, as_of, start_date, params) loads the whole population into elt_raw. */
Datum
elt__load_raw(PG_FUNCTION_ARGS)
{
	EltGen		gen;

	elt_parse_population(fcinfo, 0, 1, 2, 3, 4, &gen);
	return load(fcinfo, &gen, raw_specs, RAW_TABLES, true);
}

PG_FUNCTION_INFO_V1(elt__load_warehouse);

/*
 * elt__load_warehouse(users, seed, as_of, start_date, params) loads the
 * whole population into elt_raw and into elt_mart.dim_user,
 * dim_subscription, fct_usage_daily, fct_usage_period, fct_kpi_daily (with
 * elt.mart_last_active), fct_subscription_events, fct_mrr_monthly,
 * fct_cohort_retention and fct_saas_metrics_monthly (with the usage fact
 * builder's state, elt.mart_usage_totals), all emptied by the caller, in
 * one pass: the model knows each user's versions,
 * quota periods and events, which the SQL builders join and sort millions
 * of rows to find.
 */
Datum
elt__load_warehouse(PG_FUNCTION_ARGS)
{
	EltGen		gen;

	elt_parse_population(fcinfo, 0, 1, 2, 3, 4, &gen);
	return load(fcinfo, &gen, raw_specs, WAREHOUSE_TABLES, true);
}

PG_FUNCTION_INFO_V1(elt__load_shard);

/*
 * elt__load_shard(users, seed, as_of, start_date, hash_lo, hash_hi,
 * users_shard, subscriptions_shard, usage_shard, params) loads the users whose
 * user_id hashes into [hash_lo, hash_hi] into the named shards (tables of
 * schema elt_raw) of one Citus shard group, which the caller emptied.  It
 * runs on the worker holding them, as a task of a query over a colocated
 * driver table (see 60_distribute.sql), so no row leaves its worker.
 */
Datum
elt__load_shard(PG_FUNCTION_ARGS)
{
	EltGen		gen;
	EltTableSpec specs[RAW_TABLES];

	elt_parse_population(fcinfo, 0, 1, 2, 3, 9, &gen);
	for (int a = 4; a <= 8; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("elt__load_shard: arguments must not be NULL")));
	gen.hash_filter = true;
	gen.hash_lo = PG_GETARG_INT32(4);
	gen.hash_hi = PG_GETARG_INT32(5);
	for (int i = 0; i < RAW_TABLES; i++)
	{
		specs[i] = raw_specs[i];
		specs[i].table = text_to_cstring(PG_GETARG_TEXT_PP(6 + i));
		specs[i].fkeys_by_column = true;
	}
	return load(fcinfo, &gen, specs, RAW_TABLES, false);
}

PG_FUNCTION_INFO_V1(elt__load_day);

/* a refreshed day's rows: elt_refresh's temporary tables */
static const char *const day_tables[3] = {
	"elt_refresh_users", "elt_refresh_subscriptions", "elt_refresh_usage"};

/*
 * elt__load_day(users, seed, day, start_date, params) writes what day adds
 * to the population in one pass (because each user's life is computed once
 * for all three): the versions starting on day that are current on it into
 * pg_temp.elt_refresh_users and pg_temp.elt_refresh_subscriptions, which
 * the caller emptied, and the day's usage appended to
 * pg_temp.elt_refresh_usage.  The same rows as elt_users and
 * elt_subscriptions (history => false, since => day) and elt_usage (since
 * => day) at as_of day.
 */
Datum
elt__load_day(PG_FUNCTION_ARGS)
{
	EltGen		gen;
	EltTableSpec specs[RAW_TABLES];
	EltColumn	subs[ELT_SUB_NATTS];

	elt_parse_population(fcinfo, 0, 1, 2, 3, 4, &gen);
	gen.since = gen.as_of;
	gen.history = false;
	/* the tables have the SRFs' result columns, which have no typmods */
	memcpy(subs, sub_cols, sizeof(subs));
	for (int c = 0; c < ELT_SUB_NATTS; c++)
		subs[c].typmod = -1;
	for (int i = 0; i < RAW_TABLES; i++)
	{
		specs[i] = raw_specs[i];
		specs[i].schema = "pg_temp";
		specs[i].table = day_tables[i];
	}
	specs[1].cols = subs;
	return load(fcinfo, &gen, specs, RAW_TABLES, false);
}

PG_FUNCTION_INFO_V1(elt__check_raw_tables);

/*
 * elt__check_raw_tables(): errors only.  elt_generate calls it before it
 * truncates anything, so that a table the loader would refuse is reported
 * before a row is written (the loader checks again, under its own lock).
 */
Datum
elt__check_raw_tables(PG_FUNCTION_ARGS)
{
	for (int i = 0; i < RAW_TABLES; i++)
		elt_bulk_check(&raw_specs[i], AccessShareLock);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(elt__check_population);

/* elt__check_population(users, seed, as_of, start_date, params): errors only. */
Datum
elt__check_population(PG_FUNCTION_ARGS)
{
	EltGen		gen;

	elt_parse_population(fcinfo, 0, 1, 2, 3, 4, &gen);
	PG_RETURN_VOID();
}
