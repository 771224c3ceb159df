/* Pieces several methods use: their plans (from the session's cache),
 * seeds, the noise generator. */
#include "methods/methods.h"

void dmbp__one_hot(float *seed, int lanes, int classes, const int *targets)
{
    memset(seed, 0, (size_t)lanes * classes * sizeof(float));
    for (int l = 0; l < lanes; l++)
        seed[(size_t)l * classes + targets[l]] = 1.f;
}

void dmbp__rng_init(dmbp__rng *r, uint64_t seed)
{
    r->state = seed;
    r->has_spare = false;
}

static uint64_t splitmix64(dmbp__rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* 53 random bits, shifted by one so that log() never sees 0. */
double dmbp__rng_uniform(dmbp__rng *r)
{
    return (double)((splitmix64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

double dmbp__rng_normal(dmbp__rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u1 = dmbp__rng_uniform(r), u2 = dmbp__rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
    r->spare = rad * sin(a);
    r->has_spare = true;
    return rad * cos(a);
}

void dmbp__noise(dmbp__rng *r, const float *x, int64_t count, float sigma,
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

static dmbp_status explain_plan(const dmbp__explain_ctx *ctx, int lanes,
                                bool reverse, bool keep, dmbp_plan **out);

dmbp_status dmbp__explain_plan(const dmbp__explain_ctx *ctx, int lanes,
                               bool reverse, dmbp_plan **out)
{
    return explain_plan(ctx, lanes, reverse, false, out);
}

dmbp_status dmbp__explain_plan_keep(const dmbp__explain_ctx *ctx, int lanes,
                                    dmbp_plan **out)
{
    return explain_plan(ctx, lanes, true, true, out);
}

static dmbp_status explain_plan(const dmbp__explain_ctx *ctx, int lanes,
                                bool reverse, bool keep, dmbp_plan **out)
{
    const dmbp_model *m = ctx->m;
    int c = ctx->c, h = ctx->h, w = ctx->w;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.shape.ndim = 4;
    po.shape.dims[0] = lanes;
    po.shape.dims[1] = c;
    po.shape.dims[2] = h;
    po.shape.dims[3] = w;
    po.reverse = reverse;
    po.fpmath = ctx->o->fpmath;
    po.max_memory = ctx->o->max_memory;
    const dmbp_shape *d = &m->input_decl;
    if (d->ndim != 4)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: attribution methods "
                              "take image models (a 4-D input)", m->name);
    if ((d->dims[1] && d->dims[1] != c) || (d->dims[2] && d->dims[2] != h) ||
        (d->dims[3] && d->dims[3] != w))
        return dmbp_set_error(DMBP_ERR_SHAPE, "%s: images of %dx%dx%d do not "
                              "fit the model's input [%lld, %lld, %lld]",
                              m->name, c, h, w, (long long)d->dims[1],
                              (long long)d->dims[2], (long long)d->dims[3]);
    return dmbp__cache_plan(ctx->cache, m, &po, ctx->over, keep, out);
}

void dmbp__explain_plan_done(const dmbp__explain_ctx *ctx, dmbp_plan *p)
{
    dmbp__plan_release(ctx->cache, p);
}

dmbp_status dmbp__budget_plan(const dmbp__explain_ctx *c, int least, int want,
                              bool reverse, dmbp_plan **out)
{
    dmbp_plan *p;
    TRY(dmbp__explain_plan(c, least, reverse, &p));
    if (want <= least) {
        *out = p;
        return DMBP_OK;
    }
    size_t budget = c->o->max_memory ? c->o->max_memory
                                     : dmbp__ig_default_budget();
    size_t arena, used;
    dmbp__plan_sizes(p, &arena, &used);
    size_t lane = arena / (size_t)least, fixed = used - arena;
    size_t fit = lane && budget > fixed ? (budget - fixed) / lane
                                        : (size_t)least;
    int lanes = fit < (size_t)want ? (int)fit : want;
    if (lanes <= least) {
        *out = p;
        return DMBP_OK;
    }
    dmbp__explain_plan_done(c, p);
    return dmbp__explain_plan(c, lanes, reverse, out);
}

void dmbp__progress(const dmbp__explain_ctx *c, int first, int n, int done,
                    int total)
{
    if (c->o->progress) /* only DMBP and RISE may be stopped */
        (void)c->o->progress(c->o->progress_user, first, n, done, total, NAN);
}
