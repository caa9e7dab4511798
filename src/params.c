/*
 * params.c: the business parameters as SQL sees them.  A jsonb object (a
 * preset and any parameters to override) becomes the model's EltParams,
 * with a 22023 error naming the key and its range for anything else; and
 * elt__params() lists every parameter, its value in force, default, range
 * and description (model_params.c describes them).
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "lib/stringinfo.h"

#include "elt.h"
#include "model_params.h"

PG_FUNCTION_INFO_V1(elt__params);

/* jsonb_key copies a jsonb string value into a NUL-terminated string. */
static char *
jsonb_key(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* range_text describes the values a parameter allows, for errors and elt_params(). */
static char *
range_text(const EltParamDesc *d)
{
	StringInfoData s;

	initStringInfo(&s);
	switch (d->kind)
	{
		case ELT_PARAM_PRESET:
			for (int i = 0; i < ELT_N_PRESETS; i++)
				appendStringInfo(&s, "%s%s", i ? ", " : "", elt_preset_names[i]);
			break;
		case ELT_PARAM_NUMBER:
		case ELT_PARAM_INTEGER:
			appendStringInfo(&s, "%s %g .. %g", d->kind == ELT_PARAM_INTEGER ? "an integer" : "a number",
							 d->min, d->max);
			break;
		case ELT_PARAM_MIX:
			appendStringInfo(&s, "an object of weights %g .. %g (not all 0) by name:", d->min, d->max);
			for (int i = 0; i < elt_mix_size(d->mix); i++)
				appendStringInfo(&s, "%s \"%s\"", i ? "," : "", elt_mix_name(d->mix, i));
			break;
	}
	return s.data;
}

/* bad_value raises 22023 for parameter d, naming what it allows. */
static void
bad_value(const EltParamDesc *d, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\": %s", d->name, what),
			 errdetail("\"%s\" takes %s.", d->name, range_text(d)),
			 errhint("SELECT * FROM elt_params() lists every parameter with its range.")));
}

/* number_value reads a jsonb number within d's range. */
static double
number_value(const EltParamDesc *d, const JsonbValue *v)
{
	double		x;

	if (v->type != jbvNumeric)
		bad_value(d, "not a number");
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!(x >= d->min && x <= d->max))
		bad_value(d, "out of range");
	if (d->kind == ELT_PARAM_INTEGER && x != (double) (int) x)
		bad_value(d, "not an integer");
	return x;
}

/* find_desc returns the description of parameter key, or raises 22023. */
static const EltParamDesc *
find_desc(const char *key)
{
	StringInfoData names;

	for (int i = 0; i < ELT_N_PARAMS; i++)
		if (strcmp(elt_param_descs[i].name, key) == 0)
			return &elt_param_descs[i];
	initStringInfo(&names);
	for (int i = 0; i < ELT_N_PARAMS; i++)
		appendStringInfo(&names, "%s%s", i ? ", " : "", elt_param_descs[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown parameter \"%s\"", key),
			 errdetail("The parameters are: %s.", names.data),
			 errhint("SELECT * FROM elt_params() lists every parameter with its range.")));
	return NULL;
}

/* apply_mix sets the weights of a mix from a jsonb object of name: weight. */
static void
apply_mix(const EltParamDesc *d, const JsonbValue *v, int *weights)
{
	JsonbIterator *it;
	JsonbValue	k,
				w;
	JsonbIteratorToken tok;
	int			n = elt_mix_size(d->mix);
	int			total = 0;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_value(d, "not an object");
	for (int i = 0; i < n; i++)
		weights[i] = 0;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *name;
		int			i;

		if (tok != WJB_KEY)
			continue;
		name = jsonb_key(&k);
		for (i = 0; i < n; i++)
			if (strcmp(elt_mix_name(d->mix, i), name) == 0)
				break;
		if (i == n)
			bad_value(d, psprintf("unknown name \"%s\"", name));
		JsonbIteratorNext(&it, &w, true);
		if (w.type != jbvNumeric)
			bad_value(d, psprintf("the weight of \"%s\" is not a number", name));
		{
			double		x = number_value(d, &w);

			if (x != (double) (int) x)
				bad_value(d, psprintf("the weight of \"%s\" is not a whole number", name));
			weights[i] = (int) x;
		}
		total += weights[i];
	}
	if (total <= 0)
		bad_value(d, "all weights are 0");
}

/*
 * elt_params_from_jsonb fills p from a jsonb object: the preset first (b2b
 * when absent), then every other key over it.  Any unknown key, a value of
 * the wrong type or out of range raises 22023.  Returns the preset.
 */
int
elt_params_from_jsonb(Jsonb *jb, EltParams *p)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	int			preset = 0;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a JSON object"),
				 errhint("For example '{\"preset\": \"freemium\", \"monthly_churn\": 0.03}'.")));
	/* the preset first, wherever it is: the other keys override it */
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = jsonb_key(&k);
		JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "preset") == 0)
		{
			char	   *name;

			if (v.type != jbvString)
				bad_value(&elt_param_descs[0], "not a string");
			name = jsonb_key(&v);
			for (preset = 0; preset < ELT_N_PRESETS; preset++)
				if (strcmp(elt_preset_names[preset], name) == 0)
					break;
			if (preset == ELT_N_PRESETS)
				bad_value(&elt_param_descs[0], psprintf("unknown preset \"%s\"", name));
		}
	}
	elt_params_init(p, preset);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		const EltParamDesc *d;
		char	   *field;

		if (tok != WJB_KEY)
			continue;
		d = find_desc(jsonb_key(&k));
		JsonbIteratorNext(&it, &v, true);
		field = (char *) p + d->offset;
		switch (d->kind)
		{
			case ELT_PARAM_PRESET:
				break;
			case ELT_PARAM_NUMBER:
				*(double *) field = number_value(d, &v);
				break;
			case ELT_PARAM_INTEGER:
				*(int *) field = (int) number_value(d, &v);
				break;
			case ELT_PARAM_MIX:
				apply_mix(d, &v, (int *) field);
				break;
		}
	}
	return preset;
}

/* value_json writes the value of parameter d in p as JSON text. */
static char *
value_json(const EltParamDesc *d, const EltParams *p, int preset)
{
	const char *field = (const char *) p + d->offset;
	StringInfoData s;

	initStringInfo(&s);
	switch (d->kind)
	{
		case ELT_PARAM_PRESET:
			appendStringInfo(&s, "\"%s\"", elt_preset_names[preset]);
			break;
		case ELT_PARAM_NUMBER:
			/* float8out: the shortest text that reads back exactly */
			appendStringInfoString(&s, DatumGetCString(DirectFunctionCall1(float8out,
																		   Float8GetDatum(*(const double *) field))));
			break;
		case ELT_PARAM_INTEGER:
			appendStringInfo(&s, "%d", *(const int *) field);
			break;
		case ELT_PARAM_MIX:
			appendStringInfoChar(&s, '{');
			for (int i = 0; i < elt_mix_size(d->mix); i++)
				appendStringInfo(&s, "%s\"%s\": %d", i ? ", " : "", elt_mix_name(d->mix, i),
								 ((const int *) field)[i]);
			appendStringInfoChar(&s, '}');
			break;
	}
	return s.data;
}

/*
 * elt__params(params jsonb) -> (name, value, default_value, allowed,
 * description): every parameter with the value params give it and its
 * default (the b2b preset).
 */
Datum
elt__params(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EltParams	given,
				dflt;
	int			preset;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("params must not be NULL"),
				 errhint("Use '{}' for the defaults.")));
	preset = elt_params_from_jsonb(PG_GETARG_JSONB_P(0), &given);
	elt_params_init(&dflt, 0);
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < ELT_N_PARAMS; i++)
	{
		const EltParamDesc *d = &elt_param_descs[i];
		Datum		values[5];
		bool		nulls[5] = {false};

		values[0] = CStringGetTextDatum(d->name);
		values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(value_json(d, &given, preset)));
		values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(value_json(d, &dflt, 0)));
		values[3] = CStringGetTextDatum(range_text(d));
		values[4] = CStringGetTextDatum(d->description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
