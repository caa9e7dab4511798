/*
 * names_check.c: a standalone check of the name and domain draws (built by
 * nothing else; run by hand after editing src/names_data.c):
 *   cc -O2 -Wall -Isrc test/names_check.c src/names.c src/names_data.c src/rng.c -o /tmp/names_check && /tmp/names_check
 * Draws 1,000,000 users with the region mix 35/28/20/8/4/5 and prints the
 * shares the model promises; exits non-zero when one is off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "rng.h"

#define USERS 1000000

/* ends_with tells whether s ends with suffix. */
static int
ends_with(const char *s, const char *suffix)
{
	size_t		a = strlen(s),
				b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* main draws the users, prints the measures and checks the bounds. */
int
main(void)
{
	static const int rw[6] = {35, 28, 20, 8, 4, 5};
	int		   *nf = calloc(elt_n_first_names, sizeof(int));
	int		   *nl = calloc(elt_n_last_names, sizeof(int));
	int		   *full = calloc((size_t) elt_n_first_names * elt_n_last_names, sizeof(int));
	int			topf[7] = {0}, topf_i[7] = {0};
	int			bad = 0, distinct_f = 0, distinct_l = 0, top_f = 0, top_l = 0, top_full = 0, top_full_i = 0;
	int			regf[7][1024];
	int			regl[7][1024];
	int			topl[7] = {0}, topl_i[7] = {0};
	long		sink = 0;
	clock_t		t0;
	double		secs;
	char		dom[64];
	int			bad_dom = 0, personal_top2 = 0;

	memset(regf, 0, sizeof(regf));
	memset(regl, 0, sizeof(regl));
	if (elt_names_check() != 0)
	{
		printf("not ok - name lists inconsistent: %d problems\n", elt_names_check());
		bad++;
	}
	for (int i = 0; i < USERS; i++)
	{
		int			region = 1 + elt_pick(elt_hash(42, 1, i, 1), rw, 6);
		int			f = elt_name_first(region, elt_hash(42, 1, i, 2));
		uint64_t	lh = elt_hash(42, 1, i, 3);
		int			l = elt_name_last(region, lh);

		while (elt_name_blocked(f, l))
			l = elt_name_last(region, lh = elt_mix64(lh));
		nf[f]++;
		nl[l]++;
		full[(size_t) f * elt_n_last_names + l]++;
		regf[region][f]++;
		regl[region][l]++;
	}
	for (int i = 0; i < elt_n_first_names; i++)
	{
		distinct_f += nf[i] > 0;
		if (nf[i] > top_f)
			top_f = nf[i];
		for (int r = 1; r <= 6; r++)
			if (regf[r][i] > topf[r])
				topf[r] = regf[r][i], topf_i[r] = i;
	}
	for (int i = 0; i < elt_n_last_names; i++)
	{
		distinct_l += nl[i] > 0;
		if (nl[i] > top_l)
			top_l = nl[i];
		for (int r = 1; r <= 6; r++)
			if (regl[r][i] > topl[r])
				topl[r] = regl[r][i], topl_i[r] = i;
	}
	for (size_t i = 0; i < (size_t) elt_n_first_names * elt_n_last_names; i++)
		if (full[i] > top_full)
			top_full = full[i], top_full_i = (int) i;
	printf("lists: %d first names, %d last names\n", elt_n_first_names, elt_n_last_names);
	printf("distinct first names used %d, last names %d\n", distinct_f, distinct_l);
	printf("top first name %.3f %%, top last name %.3f %%, top full name %.4f %% (%s %s)\n",
		   100.0 * top_f / USERS, 100.0 * top_l / USERS, 100.0 * top_full / USERS,
		   elt_first_names[top_full_i / elt_n_last_names], elt_last_names[top_full_i % elt_n_last_names]);
	for (int r = 1; r <= 6; r++)
	{
		int			n = 0;

		for (int i = 0; i < elt_n_first_names; i++)
			n += regf[r][i];
		printf("region %d: top first name %s %.2f %%, top last name %s %.2f %% of the region\n", r,
			   elt_first_names[topf_i[r]], 100.0 * topf[r] / n, elt_last_names[topl_i[r]], 100.0 * topl[r] / n);
	}
	if (distinct_f < 400 || distinct_l < 400 || 100.0 * top_full / USERS > 0.05)
		bad++;

	t0 = clock();
	for (int i = 0; i < 10 * USERS; i++)
	{
		int			region = 1 + (i % 6);

		sink += elt_name_first(region, elt_hash(7, 1, i, 2)) + elt_name_last(region, elt_hash(7, 1, i, 3));
	}
	secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
	printf("speed: %.1f million users (first + last, hashes included) per second (%ld)\n",
		   10.0 * USERS / secs / 1e6, sink % 2);

	{
		int			ndist = 0, cap = 1 << 20;
		char	  **seen = calloc(cap, sizeof(char *));

		for (int i = 0; i < USERS; i++)
		{
			uint64_t	h = elt_hash(42, 9, i, 0);
			uint64_t	k = 1469598103934665603u;
			int			len = elt_email_domain(true, h, dom, sizeof(dom));

			if (!ends_with(dom, ".example") || (int) strlen(dom) != len)
				bad_dom++;
			for (char *p = dom; *p; p++)
				if (!((*p >= 'a' && *p <= 'z') || *p == '-' || *p == '.'))
					bad_dom++;
			for (char *p = dom; *p; p++)
				k = (k ^ (unsigned char) *p) * 1099511628211u;
			for (size_t j = k & (cap - 1);; j = (j + 1) & (cap - 1))
			{
				if (!seen[j])
				{
					seen[j] = strdup(dom);
					ndist++;
					break;
				}
				if (strcmp(seen[j], dom) == 0)
					break;
			}
			elt_email_domain(false, h, dom, sizeof(dom));
			if (!ends_with(dom, ".example") && strcmp(dom, "example.com") && strcmp(dom, "example.org") &&
				strcmp(dom, "example.net"))
				bad_dom++;
			personal_top2 += strcmp(dom, "gmail.example") == 0 || strcmp(dom, "outlook.example") == 0;
		}
		printf("company domains: %d distinct in %d draws; personal on the top two providers %.1f %%; bad %d\n",
			   ndist, USERS, 100.0 * personal_top2 / USERS, bad_dom);
		if (ndist < 3000 || bad_dom > 0)
			bad++;
	}
	printf("%s\n", bad ? "FAILED" : "ok");
	return bad != 0;
}
