/*
 * lookups.c: SQL-facing functions for the model's static facts: the lookups
 * (small set-returning functions, each materialising its rows into a
 * tuplestore) and the model version.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "catalog.h"
#include "model.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(elt_regions);
PG_FUNCTION_INFO_V1(elt_referral_sources);
PG_FUNCTION_INFO_V1(elt_payment_methods);
PG_FUNCTION_INFO_V1(elt_plans);
PG_FUNCTION_INFO_V1(elt_plan_features);
PG_FUNCTION_INFO_V1(elt_model_version);

/* elt_model_version returns the version of the model this library generates. */
Datum
elt_model_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ELT_MODEL_VERSION);
}

/* emit_lookup returns an (id, name) lookup table as a materialised set. */
static void
emit_lookup(FunctionCallInfo fcinfo, const EltLookup *tab, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int32GetDatum(tab[i].id);
		values[1] = CStringGetTextDatum(tab[i].name);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* elt_regions() returns the regions (lookup rows). */
Datum
elt_regions(PG_FUNCTION_ARGS)
{
	emit_lookup(fcinfo, elt_regions_tab, ELT_N_REGIONS);
	return (Datum) 0;
}

/* elt_referral_sources() returns the referral sources (lookup rows). */
Datum
elt_referral_sources(PG_FUNCTION_ARGS)
{
	emit_lookup(fcinfo, elt_referrals_tab, ELT_N_REFERRALS);
	return (Datum) 0;
}

/* elt_payment_methods() returns the payment methods (lookup rows). */
Datum
elt_payment_methods(PG_FUNCTION_ARGS)
{
	emit_lookup(fcinfo, elt_payments_tab, ELT_N_PAYMENTS);
	return (Datum) 0;
}

/* -1 in the catalog means unlimited: NULL. */
static void
put_limit(int v, Datum *value, bool *isnull)
{
	*isnull = (v < 0);
	*value = Int32GetDatum(v);
}

/* elt_plans() returns the plans with their price and limits (NULL: unlimited). */
Datum
elt_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < ELT_N_PLANS; i++)
	{
		const EltPlan *p = &elt_plans_tab[i];
		Datum		values[7];
		bool		nulls[7] = {false};

		values[0] = Int32GetDatum(p->id);
		values[1] = CStringGetTextDatum(p->name);
		values[2] = DirectFunctionCall1(int4_numeric, Int32GetDatum(p->monthly_price));
		put_limit(p->max_users, &values[3], &nulls[3]);
		put_limit(p->api_limit, &values[4], &nulls[4]);
		put_limit(p->storage_limit_mb, &values[5], &nulls[5]);
		put_limit(p->project_limit, &values[6], &nulls[6]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* elt_plan_features() returns the features of each plan. */
Datum
elt_plan_features(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < ELT_N_FEATURES; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int32GetDatum(elt_features_tab[i].id);
		values[1] = Int32GetDatum(elt_features_tab[i].plan_id);
		values[2] = CStringGetTextDatum(elt_features_tab[i].name);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
