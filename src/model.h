/*
 * model.h: the simulated SaaS, as plain C.  A user's whole life (signup,
 * subscriptions, renewals, plan changes, churn, attribute changes, usage) is
 * a pure function of the population (seed, users, start) and the user's
 * index; "horizon" is the simulated today, and nothing after it is revealed.
 */
#ifndef ELT_MODEL_H
#define ELT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "dates.h"

#define ELT_OPEN INT32_MAX		/* an end or valid_to that is not set */
#define ELT_MAX_SUBS_PER_USER 4096	/* ids hold 12 bits of subscription ordinal */

/* The population: independent of the simulated today. */
typedef struct EltPop
{
	uint64_t	seed;
	int32_t		users;			/* signups during the first 365 days */
	EltDay		start;			/* first day of the simulated window */
} EltPop;

typedef enum EltStatus
{
	ELT_ACTIVE = 0,
	ELT_EXPIRED,
	ELT_CANCELLED
} EltStatus;

extern const char *const elt_status_names[3];

/* One stretch of a user on one plan: a subscription. */
typedef struct EltSegment
{
	int			ordinal;		/* 0, 1, 2 ... within the user */
	int			plan_id;
	int			payment_method_id;
	EltDay		start;
	EltDay		end;			/* exclusive; ELT_OPEN for a running free plan */
	EltDay		cancel_day;		/* ELT_OPEN unless cancelled by the horizon */
	EltDay		expire_day;		/* ELT_OPEN unless replaced by the horizon */
	int			renewals;		/* renewals done by the horizon */
} EltSegment;

typedef struct EltUserVersion
{
	EltDay		valid_from;
	EltDay		valid_to;		/* ELT_OPEN: current */
	int			plan_id;
	int			region_id;
	int			email_version;
} EltUserVersion;

typedef struct EltSubVersion
{
	int			segment;		/* index into EltLife.segs */
	EltDay		valid_from;
	EltDay		valid_to;
	EltDay		end;
	EltStatus	status;
	int			renewals;
} EltSubVersion;

typedef struct EltUsage
{
	EltDay		day;
	int			segment;
	int			actions;
	int			storage_mb;
	int			api_calls;
	int			minutes;
} EltUsage;

/* Everything about one user up to a horizon.  Arrays grow as needed. */
typedef struct EltLife
{
	int64_t		index;			/* 1-based user index */
	EltDay		horizon;
	EltDay		signup;
	int			first_name;		/* into elt_first_names */
	int			last_name;
	int			referral_source_id;
	int			engagement;		/* 0 heavy, 1 moderate, 2 light */
	bool		overflow;		/* more than ELT_MAX_SUBS_PER_USER subscriptions */

	EltSegment *segs;
	int			nsegs,
				cap_segs;
	EltUserVersion *uvers;
	int			nuvers,
				cap_uvers;
	EltSubVersion *svers;
	int			nsvers,
				cap_svers;
	void	   *events;			/* scratch for building user versions */
	int			cap_events;

	/* allocator for the arrays: realloc, or a palloc-based one in the server */
	void	   *(*grow) (void *ptr, size_t size);
} EltLife;

extern EltDay elt_signup_day(const EltPop *pop, int64_t index);
extern int64_t elt_users_by(const EltPop *pop, EltDay day);
extern void elt_life(const EltPop *pop, int64_t index, EltDay horizon, EltLife *life);

extern uint64_t elt_user_id(const EltPop *pop, int64_t index);
extern uint64_t elt_subscription_id(const EltPop *pop, int64_t index, int ordinal);
extern uint64_t elt_usage_id(const EltPop *pop, int64_t index, EltDay day);
extern int	elt_email(const EltPop *pop, const EltLife *life, int email_version,
					  char *buf, int buflen);

/* Usage rows of days [from, to] (to <= horizon), in day order, via callback. */
typedef void (*EltUsageFn) (void *arg, const EltLife *life, const EltUsage *u);
extern void elt_life_usage(const EltPop *pop, const EltLife *life, EltDay from, EltDay to,
						   EltUsageFn fn, void *arg);

#endif
