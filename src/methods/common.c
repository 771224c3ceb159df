/* Pieces several methods use: seeds, the noise generator, reading a
 * plan's tensors. */
#include "methods/methods.h"
#include "plan_dnnl.h"

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
double dmbp__rng_uniform(dmbp_rng *r)
{
    return (double)((splitmix64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

double dmbp__rng_normal(dmbp_rng *r)
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

dmbp_status dmbp__plan_read(dmbp_plan *p, int v, int diff, float *out)
{
    if (p->split)
        return dmbp__split_read(p, v, diff, out);
    pvalue *pv = &p->vals[v];
    dnnl_memory_t src = diff ? pv->diff : pv->mem;
    if (!src)
        return dmbp_set_error(DMBP_ERR_ARG, "value '%s' has no %s",
                              p->m->values[v].name,
                              diff ? "gradient (not before the logits?)"
                                   : "activation");
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(&pv->shape, &md));
    dnnl_memory_t dst;
    DNNL_TRY(dnnl_memory_create(&dst, &md, p->eng, out));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim = NULL;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, &pv->md, p->eng,
                                                         &md, p->eng, NULL);
    if (s == dnnl_success) {
        s = dnnl_primitive_create(&prim, pd);
        dnnl_primitive_desc_destroy(pd);
    }
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
        s = dnnl_primitive_execute(prim, p->strm, 2, args);
        if (s == dnnl_success)
            s = dnnl_stream_wait(p->strm);
    }
    if (prim)
        dnnl_primitive_destroy(prim);
    dnnl_memory_destroy(dst);
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: reading '%s' failed "
                              "(%s)", p->m->values[v].name,
                              dnnl__status_str(s));
    return DMBP_OK;
}

dmbp_status dmbp__budget_plan(const dmbp_explain_ctx *c, int least, int want,
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
