/*
 * rng.h: counter-based randomness.  Every random value is a pure function of
 * (seed, entity, index, field) through splitmix64's finaliser, never of a
 * stream, so any chunking or order of generation gives the same values.
 * Also keyed Feistel permutations: ids unique by construction.
 */
#ifndef ELT_RNG_H
#define ELT_RNG_H

#include <stdint.h>

static inline uint64_t
elt_mix64(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
elt_hash(uint64_t seed, uint64_t entity, uint64_t index, uint64_t field)
{
	uint64_t	h = elt_mix64(seed ^ UINT64_C(0x5851f42d4c957f2d));

	h = elt_mix64(h ^ entity);
	h = elt_mix64(h ^ index);
	return elt_mix64(h ^ field);
}

/* Uniform in [0, 1) with 53 random bits: exact, no rounding differences. */
static inline double
elt_unit(uint64_t h)
{
	return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline int
elt_below(uint64_t h, int n)
{
	return (int) ((h >> 32) * (uint64_t) n >> 32);
}

extern uint64_t elt_permute(uint64_t x, int halfbits, uint64_t key);
extern int	elt_pick(uint64_t h, const int *weights, int n);

#endif
