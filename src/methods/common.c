/* Pieces several methods use: seeds, the noise generator. */
#include "methods/methods.h"

void dmbp__one_hot(float *seed, int lanes, int classes, const int *targets)
{
    memset(seed, 0, (size_t)lanes * classes * sizeof(float));
    for (int l = 0; l < lanes; l++)
        seed[(size_t)l * classes + targets[l]] = 1.f;
}

void dmbp__rng_init(dmbp_rng *r, uint64_t seed)
{
    r->state = seed;
    r->has_spare = false;
}

static uint64_t splitmix64(dmbp_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* 53 random bits, shifted by one so that log() never sees 0. */
static double uniform(dmbp_rng *r)
{
    return (double)((splitmix64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

double dmbp__rng_normal(dmbp_rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u1 = uniform(r), u2 = uniform(r);
    double rad = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
    r->spare = rad * sin(a);
    r->has_spare = true;
    return rad * cos(a);
}

void dmbp__noise(dmbp_rng *r, const float *x, int64_t count, float sigma,
                 float *eps)
{
    float lo = x[0], hi = x[0];
    for (int64_t i = 1; i < count; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    double sd = (double)sigma * ((double)hi - (double)lo);
    for (int64_t i = 0; i < count; i++)
        eps[i] = (float)(dmbp__rng_normal(r) * sd);
}
