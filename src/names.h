/*
 * names.h: names and e-mail domains of simulated users (plain C, a leaf
 * header).  Names follow the user's region and a Zipf-like popularity; every
 * draw is a pure function of one 64-bit hash.
 */
#ifndef ELT_NAMES_H
#define ELT_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* a region's first / last name drawn from one 64-bit hash; returns an index into elt_first_names / elt_last_names */
extern int	elt_name_first(int region_id, uint64_t h);
extern int	elt_name_last(int region_id, uint64_t h);

/* true for a full name that would point at one well-known person: draw the last name again */
extern bool elt_name_blocked(int first, int last);

/* deduplicated global arrays, sorted by strcmp */
extern const char *const elt_first_names[];
extern const char *const elt_last_names[];
extern const int elt_n_first_names,
			elt_n_last_names;

/*
 * email domain for one email version: writes the domain into buf
 * (NUL-terminated), returns its length.  company: true for accounts of
 * business plans (the caller decides); h: a 64-bit hash for the draw.
 * Domains are all reserved (RFC 2606 / 6761): *.example, example.com/.org/.net.
 */
extern int	elt_email_domain(bool company, uint64_t h, char *buf, int buflen);

/* consistency of the name lists: 0, or the number of problems found (for tests) */
extern int	elt_names_check(void);

#endif
