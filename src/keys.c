/*
 * keys.c: the foreign keys of the facts elt_generate writes in its pass,
 * checked as each row is written against the dimension rows the same pass
 * wrote for the same user (and the window the calendar will hold), so that
 * no statement has to join millions of fact rows to the dimensions
 * afterwards.  A fact refers only to its own user's versions, so a short
 * list per user is all there is to search.  A failure is a bug in elt: the
 * keys and the dimension rows are made from the same versions.
 */
#include "postgres.h"

#include "elt.h"

/* keep appends key to a list, growing it in the context it was made in. */
static void
keep(int64 **keys, int *n, int *cap, int64 key)
{
	if (*n == *cap)
	{
		*cap = *cap ? *cap * 2 : 16;
		*keys = *keys ? repalloc(*keys, sizeof(int64) * *cap) : palloc(sizeof(int64) * *cap);
	}
	(*keys)[(*n)++] = key;
}

/* elt_keys_user_written notes a dim_user key written for the current user. */
void
elt_keys_user_written(EltDimKeys *k, int64 key)
{
	MemoryContext old = MemoryContextSwitchTo(k->cxt);

	keep(&k->user, &k->nuser, &k->capuser, key);
	MemoryContextSwitchTo(old);
}

/* elt_keys_sub_written notes a dim_subscription key written for the current user. */
void
elt_keys_sub_written(EltDimKeys *k, int64 key)
{
	MemoryContext old = MemoryContextSwitchTo(k->cxt);

	keep(&k->sub, &k->nsub, &k->capsub, key);
	MemoryContextSwitchTo(old);
}

/* elt_keys_next_user forgets the keys of the user done. */
void
elt_keys_next_user(EltDimKeys *k)
{
	k->nuser = k->nsub = 0;
}

/* dangling reports a key with no row to refer to. */
static void
dangling(const char *table, const char *column, int64 key, const char *dim)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("elt_generate made a row of elt_mart.%s whose %s %lld has no row in elt_mart.%s",
					table, column, (long long) key, dim),
			 errdetail("This is a bug in elt; nothing was written."),
			 errhint("elt_generate(..., build_marts => false) followed by elt_build_marts() builds the marts with the SQL builders.")));
}

/* found says whether key (or the Unknown member, -1) is in a list. */
static inline bool
found(const int64 *keys, int n, int64 key)
{
	if (key == -1)
		return true;
	for (int i = 0; i < n; i++)
		if (keys[i] == key)
			return true;
	return false;
}

/* elt_keys_check_user checks a user_key of a row of table. */
void
elt_keys_check_user(const EltDimKeys *k, const char *table, int64 key)
{
	if (!found(k->user, k->nuser, key))
		dangling(table, "user_key", key, "dim_user");
}

/* elt_keys_check_sub checks a subscription_key of a row of table. */
void
elt_keys_check_sub(const EltDimKeys *k, const char *table, int64 key)
{
	if (!found(k->sub, k->nsub, key))
		dangling(table, "subscription_key", key, "dim_subscription");
}

/* elt_keys_check_day checks the date_key of a day: a day of the window,
 * which dim_date holds. */
void
elt_keys_check_day(const EltDimKeys *k, const char *table, EltDay day)
{
	if (day < k->first_day || day > k->last_day)
		dangling(table, "date_key", elt_date_key(day), "dim_date");
}

/* elt_keys_check_plan checks a plan key (0: none, a NULL). */
void
elt_keys_check_plan(const char *table, int plan_id)
{
	if (plan_id != 0 && (plan_id < 1 || plan_id > ELT_N_PLANS))
		dangling(table, "plan_key", plan_id, "dim_plan");
}
