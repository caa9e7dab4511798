/*
 * rng.c: keyed permutations and weighted picks.
 */
#include "rng.h"

/*
 * A 4-round Feistel network over 2*halfbits bits: a bijection, so distinct
 * inputs give distinct ids without any lookup or retry, at any scale.
 */
uint64_t
elt_permute(uint64_t x, int halfbits, uint64_t key)
{
	uint64_t	mask = (UINT64_C(1) << halfbits) - 1;
	uint64_t	l = (x >> halfbits) & mask;
	uint64_t	r = x & mask;

	for (int round = 0; round < 4; round++)
	{
		uint64_t	f = elt_mix64(r ^ key ^ ((uint64_t) round << 56)) & mask;
		uint64_t	nl = r;

		r = l ^ f;
		l = nl;
	}
	return (l << halfbits) | r;
}

/* Index drawn with the given percent weights (summing to 100). */
int
elt_pick(uint64_t h, const int *weights, int n)
{
	int			total = 0;
	int			u;

	for (int i = 0; i < n; i++)
		total += weights[i];
	u = elt_below(h, total > 0 ? total : 1);

	for (int i = 0; i < n - 1; i++)
	{
		if (u < weights[i])
			return i;
		u -= weights[i];
	}
	return n - 1;
}
