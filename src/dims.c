/*
 * dims.c: rows of elt_mart.dim_user and dim_subscription, made from the
 * rows elt_emit writes to elt_raw.users and elt_raw.subscriptions and the
 * life they came from (model_dims.c), with the names of the lookups; keys
 * are the dimensions' formula, id * 65536 + version ordinal.  The same
 * columns as elt_build_dim_user and elt_build_dim_subscription give.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "elt.h"
#include "names.h"

/* lookup_name returns the name of id in a lookup table. */
static const char *
lookup_name(const EltLookup *tab, int n, int id)
{
	for (int i = 0; i < n; i++)
		if (tab[i].id == id)
			return tab[i].name;
	return "Unknown";
}

/*
 * elt_put_dim_user writes the row of user version v, whose elt_raw.users
 * row is raw (nulls: rawnulls); clock is the simulated today (the current
 * version's lifecycle is the user's on it), first_paid from
 * elt_first_paid_day.  Returns the row's key.
 */
int64
elt_put_dim_user(EltSink *sink, const EltLife *life, int v, const Datum *raw, const bool *rawnulls,
				 EltDay clock, EltDay first_paid)
{
	const EltUserVersion *uv = &life->uvers[v];
	Datum		values[ELT_DIM_USER_NATTS];
	bool		nulls[ELT_DIM_USER_NATTS] = {false};
	char		full[2 * NAMEDATALEN + 2];
	int			ord = elt_user_version_ordinal(life, v);
	int			lc;
	int			y,
				m,
				d;

	lc = elt_user_lifecycle(life, uv->valid_to == ELT_OPEN ? clock : uv->valid_to - 1);
	snprintf(full, sizeof(full), "%s %s", elt_first_names[life->first_name], elt_last_names[life->last_name]);
	elt_ymd_from_day(life->signup, &y, &m, &d);

	values[0] = Int64GetDatum(DatumGetInt64(raw[0]) * 65536 + ord);
	values[1] = raw[0];
	values[2] = Int32GetDatum(ord);
	values[3] = raw[1];
	values[4] = raw[2];
	values[5] = CStringGetTextDatum(full);
	values[6] = raw[3];
	values[7] = raw[4];
	values[8] = raw[5];
	values[9] = CStringGetTextDatum(elt_plan(uv->plan_id)->name);
	values[10] = raw[6];
	values[11] = CStringGetTextDatum(lookup_name(elt_regions_tab, ELT_N_REGIONS, uv->region_id));
	values[12] = raw[7];
	values[13] = CStringGetTextDatum(lookup_name(elt_referrals_tab, ELT_N_REFERRALS, life->referral_source_id));
	values[14] = raw[8];
	values[15] = raw[9];
	nulls[15] = rawnulls[9];
	values[16] = BoolGetDatum(uv->valid_to == ELT_OPEN);
	values[17] = DateADTGetDatum(elt_day_from_ymd(y, m, 1));
	values[18] = Int32GetDatum(elt_date_key(life->signup));
	values[19] = values[13];
	nulls[20] = first_paid == ELT_OPEN;
	values[20] = DateADTGetDatum(first_paid);
	values[21] = CStringGetTextDatum(elt_lifecycle_names[lc]);
	values[22] = BoolGetDatum(lc == ELT_LC_PAST_DUE || lc == ELT_LC_PAYING);
	values[23] = BoolGetDatum(false);
	sink->put(sink, values, nulls);
	return DatumGetInt64(values[0]);
}

/*
 * elt_put_dim_subscription writes the row of subscription version v, whose
 * elt_raw.subscriptions row is raw (nulls: rawnulls); origins from
 * elt_sub_origins.  Returns the row's key.
 */
int64
elt_put_dim_subscription(EltSink *sink, const EltLife *life, int v, const Datum *raw, const bool *rawnulls,
						 const EltSubOrigin *origins)
{
	const EltSubVersion *sv = &life->svers[v];
	const EltSegment *seg = &life->segs[sv->segment];
	const EltPlan *plan = elt_plan(seg->plan_id);
	const EltSubOrigin *o = &origins[sv->segment];
	Datum		values[ELT_DIM_SUB_NATTS];
	bool		nulls[ELT_DIM_SUB_NATTS] = {false};
	int			ord = elt_sub_version_ordinal(life, v);

	values[0] = Int64GetDatum(DatumGetInt64(raw[0]) * 65536 + ord);
	values[1] = raw[0];
	values[2] = Int32GetDatum(ord);
	values[3] = raw[1];
	values[4] = raw[2];
	values[5] = CStringGetTextDatum(plan->name);
	values[6] = elt_cents((int64) plan->monthly_price * 100);
	values[7] = BoolGetDatum(plan->monthly_price > 0);
	values[8] = raw[5];
	values[9] = CStringGetTextDatum(lookup_name(elt_payments_tab, ELT_N_PAYMENTS, seg->payment_method_id));
	values[10] = raw[6];
	values[11] = raw[3];
	values[12] = raw[4];
	nulls[12] = rawnulls[4];
	values[13] = raw[7];
	values[14] = raw[8];
	values[15] = raw[9];
	nulls[15] = rawnulls[9];
	values[16] = BoolGetDatum(sv->valid_to == ELT_OPEN);
	values[17] = raw[10];
	values[18] = raw[11];
	values[19] = raw[12];
	values[20] = raw[13];
	nulls[20] = rawnulls[13];
	values[21] = raw[14];
	nulls[22] = sv->status != ELT_CANCELLED;
	values[22] = DateADTGetDatum(sv->valid_from);
	nulls[23] = nulls[24] = o->previous_plan == 0;
	values[23] = Int32GetDatum(o->previous_plan);
	if (!nulls[24])
		values[24] = CStringGetTextDatum(elt_plan(o->previous_plan)->name);
	values[25] = CStringGetTextDatum(elt_change_type_names[o->change_type]);
	values[26] = BoolGetDatum(false);
	sink->put(sink, values, nulls);
	return DatumGetInt64(values[0]);
}
