/*
 * model_versions.c: a user's SCD2 versions.  Plan changes come from the
 * subscriptions; email and region changes are drawn per bucket of days
 * (at most one in each, at a drawn day), so that whether a change happened
 * by a day never depends on how far ahead anybody looked.  Plain C.
 */
#include <stdlib.h>

#include "model_priv.h"

#define uh elt_uh
#define sub_field elt_sub_field

#define EMAIL_BUCKET_DAYS 91
#define EMAIL_CHANGE_PER_BUCKET 0.012
#define REGION_BUCKET_DAYS 365
#define REGION_CHANGE_PER_BUCKET 0.02

/* A change of the user's attributes on one day. */
typedef struct UserEvent
{
	EltDay		day;
	int			kind;			/* 0 plan, 1 email, 2 region */
	int			value;
} UserEvent;

/*
 * add_user_version starts a user version on day with the given state,
 * closing the previous one; no-op when nothing changed, merged when the day
 * already has one.
 */
static void
add_user_version(EltLife *life, EltDay day, const EltUserVersion *state)
{
	EltUserVersion *last = life->nuvers ? &life->uvers[life->nuvers - 1] : NULL;

	if (last && last->plan_id == state->plan_id && last->region_id == state->region_id &&
		last->email_version == state->email_version)
		return;
	if (last && last->valid_from == day)
	{
		/* several events on one day make one version */
		*last = *state;
		last->valid_from = day;
		last->valid_to = ELT_OPEN;
		/* and it may fold back into the version before it */
		if (life->nuvers > 1)
		{
			EltUserVersion *prev = &life->uvers[life->nuvers - 2];

			if (prev->plan_id == last->plan_id && prev->region_id == last->region_id &&
				prev->email_version == last->email_version)
			{
				life->nuvers--;
				prev->valid_to = ELT_OPEN;
			}
		}
		return;
	}
	if (last)
		last->valid_to = day;
	ELT_GROW(life, uvers, nuvers, cap_uvers);
	last = &life->uvers[life->nuvers++];
	*last = *state;
	last->valid_from = day;
	last->valid_to = ELT_OPEN;
}

/* cmp_event orders user events by day, then by kind (qsort comparator). */
static int
cmp_event(const void *a, const void *b)
{
	const UserEvent *x = a,
			   *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->kind - y->kind;
}

/* elt_build_user_versions turns plan, email and region changes into user versions. */
void
elt_build_user_versions(const EltPop *pop, EltLife *life, int region_id)
{
	/* the scratch array lives in life and is reused for every user, so
	 * that a long life costs its events once, not once per user */
	UserEvent  *ev = life->events;
	int			nev = 0,
				cap = life->cap_events;
	EltUserVersion state;
	EltDay		h = life->horizon;

#define ADD_EVENT(d, k, v) \
	do { \
		if (nev == cap) \
		{ \
			cap = cap ? cap * 2 : 64; \
			ev = life->grow(ev, sizeof(UserEvent) * cap); \
			life->events = ev; \
			life->cap_events = cap; \
		} \
		ev[nev].day = (d); ev[nev].kind = (k); ev[nev].value = (v); nev++; \
	} while (0)

	for (int k = 1; k < life->nsegs; k++)
		ADD_EVENT(life->segs[k].start, 0, life->segs[k].plan_id);
	for (int b = 0;; b++)
	{
		EltDay		d0 = life->signup + 1 + b * EMAIL_BUCKET_DAYS;
		EltDay		d;

		if (d0 > h)
			break;
		if (elt_unit(uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_EVENT, 0, b))) >= EMAIL_CHANGE_PER_BUCKET)
			continue;
		d = d0 + elt_below(uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_DAY, 0, b)), EMAIL_BUCKET_DAYS);
		if (d <= h)
			ADD_EVENT(d, 1, 0);
	}
	for (int b = 0;; b++)
	{
		EltDay		d0 = life->signup + 1 + b * REGION_BUCKET_DAYS;
		EltDay		d;
		int			w[ELT_N_REGIONS];

		if (d0 > h)
			break;
		if (elt_unit(uh(pop, E_REGION, life->index, sub_field(F_REGION_EVENT, 0, b))) >= REGION_CHANGE_PER_BUCKET)
			continue;
		d = d0 + elt_below(uh(pop, E_REGION, life->index, sub_field(F_REGION_DAY, 0, b)), REGION_BUCKET_DAYS);
		for (int r = 0; r < ELT_N_REGIONS; r++)
			w[r] = pop->params.region_mix[r];
		if (d <= h)
			ADD_EVENT(d, 2, 1 + elt_pick(uh(pop, E_REGION, life->index, sub_field(F_REGION_NEW, 0, b)),
										 w, ELT_N_REGIONS));
	}
	if (nev > 1)
		qsort(ev, nev, sizeof(UserEvent), cmp_event);

	state.plan_id = life->segs[0].plan_id;
	state.region_id = region_id;
	state.email_version = 0;
	add_user_version(life, life->signup, &state);
	for (int e = 0; e < nev; e++)
	{
		if (ev[e].kind == 0)
			state.plan_id = ev[e].value;
		else if (ev[e].kind == 1)
			state.email_version++;
		else
			state.region_id = ev[e].value;
		add_user_version(life, ev[e].day, &state);
	}
#undef ADD_EVENT
}

