/*
 * names.c: draws of names and e-mail domains for simulated users.
 *
 * A region's names are weighted by rank r (0 = most common) as 1/(r + q):
 * with q = 16 the most common first name has 2.6-2.8 % of a region's users,
 * with q = 40 the most common last name 1.6-1.8 %, so the most common full
 * name stays near 0.04 % of a region.  The weights are integers computed
 * once (integer division only, so identical everywhere) into cumulative
 * tables; a draw is a binary search.  Emails also carry a token derived from
 * a keyed permutation of the user (model.c), so they are unique by
 * construction however often names repeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names_priv.h"
#include "rng.h"

#define MAX_POOL 256
#define FIRST_Q 16
#define LAST_Q 40
#define WEIGHT_SCALE (UINT32_C(1) << 24)

/* One ranked list resolved: global indices and cumulative weights. */
typedef struct Ranked
{
	int			n;
	uint16_t	idx[MAX_POOL];
	uint32_t	cum[MAX_POOL];
} Ranked;

static Ranked first_tab[ELT_NAME_REGIONS];
static Ranked last_tab[ELT_NAME_REGIONS];
static uint64_t *blocked_keys;
static int	n_blocked_keys;
static bool ready;
static int	problems;

/* find_name returns the index of name in a sorted global list, or -1. */
static int
find_name(const char *const *list, int n, const char *name)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(list[mid], name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * build_ranked resolves one region list into t (because draws must not
 * search strings); a name missing from the global list counts as a problem
 * and maps to index 0.
 */
static void
build_ranked(Ranked *t, const char *const *names, int n, int q,
			 const char *const *global, int nglobal)
{
	uint32_t	sum = 0;

	if (n > MAX_POOL)
	{
		problems++;
		n = MAX_POOL;
	}
	t->n = n;
	for (int r = 0; r < n; r++)
	{
		int			g = find_name(global, nglobal, names[r]);

		if (g < 0)
		{
			problems++;
			g = 0;
		}
		t->idx[r] = (uint16_t) g;
		sum += WEIGHT_SCALE / (uint32_t) (r + q);
		t->cum[r] = sum;
	}
}

/* cmp_u64 orders blocked-name keys for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return (x > y) - (x < y);
}

/* blocked_key packs a (first, last) pair into one sortable key. */
static inline uint64_t
blocked_key(int first, int last)
{
	return ((uint64_t) (uint32_t) first << 32) | (uint32_t) last;
}

/*
 * names_init builds every table on first use (because static initialisers
 * cannot resolve strings); the result depends on the lists alone.
 */
static void
names_init(void)
{
	static uint64_t keys[256];

	problems = 0;
	for (int i = 1; i < elt_n_first_names; i++)
		if (strcmp(elt_first_names[i - 1], elt_first_names[i]) >= 0)
			problems++;
	for (int i = 1; i < elt_n_last_names; i++)
		if (strcmp(elt_last_names[i - 1], elt_last_names[i]) >= 0)
			problems++;
	for (int r = 0; r < ELT_NAME_REGIONS; r++)
	{
		const EltNamePool *p = &elt_name_pools[r];

		build_ranked(&first_tab[r], p->first, p->nfirst, FIRST_Q, elt_first_names, elt_n_first_names);
		build_ranked(&last_tab[r], p->last, p->nlast, LAST_Q, elt_last_names, elt_n_last_names);
	}
	n_blocked_keys = 0;
	for (int i = 0; i < elt_n_blocked_names && n_blocked_keys < 256; i++)
	{
		int			f = find_name(elt_first_names, elt_n_first_names, elt_blocked_names[i].first);
		int			l = find_name(elt_last_names, elt_n_last_names, elt_blocked_names[i].last);

		if (f < 0 || l < 0)
			problems++;
		else
			keys[n_blocked_keys++] = blocked_key(f, l);
	}
	qsort(keys, n_blocked_keys, sizeof(uint64_t), cmp_u64);
	blocked_keys = keys;
	ready = true;
}

/* draw_ranked picks a rank with the table's weights and returns its global index. */
static inline int
draw_ranked(const Ranked *t, uint64_t h)
{
	uint32_t	u = (uint32_t) (((h >> 32) * (uint64_t) t->cum[t->n - 1]) >> 32);
	int			lo = 0,
				hi = t->n - 1;

	/* the first rank whose cumulative weight exceeds u */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (t->cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return t->idx[lo];
}

/* region_slot maps a region id to its pool; unknown ids use region 1. */
static inline int
region_slot(int region_id)
{
	return (region_id >= 1 && region_id <= ELT_NAME_REGIONS) ? region_id - 1 : 0;
}

/* elt_name_first draws a first name of the region (index into elt_first_names). */
int
elt_name_first(int region_id, uint64_t h)
{
	if (!ready)
		names_init();
	return draw_ranked(&first_tab[region_slot(region_id)], h);
}

/* elt_name_last draws a last name of the region (index into elt_last_names). */
int
elt_name_last(int region_id, uint64_t h)
{
	if (!ready)
		names_init();
	return draw_ranked(&last_tab[region_slot(region_id)], h);
}

/* elt_name_blocked tells whether a full name is one a well-known person has. */
bool
elt_name_blocked(int first, int last)
{
	uint64_t	k = blocked_key(first, last);

	if (!ready)
		names_init();
	return bsearch(&k, blocked_keys, n_blocked_keys, sizeof(uint64_t), cmp_u64) != NULL;
}

/* elt_names_check reports inconsistent lists (for tests): 0 when all is well. */
int
elt_names_check(void)
{
	if (!ready)
		names_init();
	return problems;
}

/*
 * Personal mail: a few big providers under reserved names, most users on the
 * first two (weights in per mille).
 */
static const char *const personal_domains[] = {
	"gmail.example", "outlook.example", "yahoo.example", "icloud.example",
	"proton.example", "hotmail.example", "example.com", "example.org", "example.net",
};
static const int personal_weights[] = {420, 230, 110, 90, 40, 30, 40, 20, 20};

/* Company domains are built from two word parts under .example. */
static const char *const company_heads[] = {
	"north", "south", "east", "west", "blue", "red", "green", "silver", "golden", "bright",
	"clear", "swift", "true", "prime", "summit", "peak", "river", "lake", "harbor", "stone",
	"iron", "cedar", "oak", "pine", "maple", "willow", "birch", "aspen", "falcon", "eagle",
	"hawk", "fox", "wolf", "bear", "lion", "orbit", "nova", "vertex", "apex", "quantum",
	"pixel", "data", "cloud", "signal", "vector", "atlas", "nimbus", "zenith", "horizon",
	"meridian", "coastal", "alpine", "urban", "metro", "global", "pioneer", "frontier",
	"beacon", "lumen", "solar", "polar", "crystal", "copper", "granite", "harvest",
	"sterling", "evergreen", "ember", "sage", "indigo", "cobalt", "amber", "coral", "delta",
	"sigma", "kinetic", "rapid", "bold", "quiet", "wild", "open", "keystone", "anchor",
	"compass", "lantern", "bridge", "tower", "northwind", "brook", "meadow", "canyon",
	"island", "harbour", "sun", "moon", "star", "sky", "ocean", "tide",
};
static const char *const company_tails[] = {
	"analytics", "labs", "systems", "works", "solutions", "partners", "group", "logistics",
	"health", "capital", "ventures", "studio", "digital", "tech", "networks", "consulting",
	"foods", "energy", "motors", "media", "retail", "software", "dynamics", "industries",
	"holdings", "supply", "design", "robotics", "finance", "insights", "security", "legal",
	"learning", "travel", "builders", "foundry", "collective", "hq", "logic", "forge",
	"craft", "bio", "pharma", "textiles", "outdoors", "markets", "commerce", "freight",
	"engineering", "research", "creative", "wellness", "realty", "farms", "apparel",
	"games", "audio", "point", "line", "field", "gate", "peak", "bay", "ridge", "path",
};

#define N_HEADS ((int) (sizeof(company_heads) / sizeof(company_heads[0])))
#define N_TAILS ((int) (sizeof(company_tails) / sizeof(company_tails[0])))

/*
 * elt_email_domain writes the domain of one email version into buf: a
 * company domain (head-tail, headtail, headhead or head alone) for business
 * accounts, a personal-mail provider otherwise.  Returns its length.
 */
int
elt_email_domain(bool company, uint64_t h, char *buf, int buflen)
{
	int			len;

	if (buflen <= 0)
		return 0;
	if (!company)
	{
		int			u = (int) (((h >> 32) * 1000) >> 32);
		int			i = 0;

		while (i < (int) (sizeof(personal_weights) / sizeof(personal_weights[0])) - 1 &&
			   u >= personal_weights[i])
			u -= personal_weights[i++];
		len = (int) strlen(personal_domains[i]);
		if (len > buflen - 1)
			len = buflen - 1;
		memcpy(buf, personal_domains[i], len);
		buf[len] = '\0';
	}
	else
	{
		uint64_t	h2 = elt_mix64(h);
		const char *head = company_heads[elt_below(h, N_HEADS)];
		int			style = elt_below(h2, 100);

		if (style < 50)
			len = snprintf(buf, buflen, "%s-%s.example", head, company_tails[(int) ((uint32_t) h2 * (uint64_t) N_TAILS >> 32)]);
		else if (style < 80)
			len = snprintf(buf, buflen, "%s%s.example", head, company_tails[(int) ((uint32_t) h2 * (uint64_t) N_TAILS >> 32)]);
		else if (style < 95)
			len = snprintf(buf, buflen, "%s%s.example", head, company_heads[(int) ((uint32_t) h2 * (uint64_t) N_HEADS >> 32)]);
		else
			len = snprintf(buf, buflen, "%s.example", head);
	}
	return len < buflen ? len : buflen - 1;
}
