/* Plans kept across calls (issue #13 item 6): the plan cache that the
 * explainer and the metrics share, and the public dmbp_explainer.
 *
 * Reuse must give the bits of a fresh plan: a plan's outputs may depend
 * only on what it was made from (options, weights) and on the call's
 * inputs, never on an earlier call. The methods already rely on it within
 * one call (chunks of images, DMBP's iterations run one plan many times);
 * tests/test_explainer checks it across calls, for every method, against
 * fresh plans. */
#include "base.h"
#include "plan.h"

#include "methods/methods.h"

struct dmbp_explainer {
    dmbp_plan_cache cache;
};

/* The options structs come from dmbp_plan_options_init (memset, then
 * fields), and are stored with memcpy, so that their padding is zero in
 * both and memcmp compares every field, including ones added later. */
static bool same_plan(const dmbp_plan_slot *s, const dmbp_plan_options *po,
                      const float *const *over, bool keep)
{
    return s->p && s->over == over && s->keep == keep &&
           !memcmp(&s->po, po, sizeof *po);
}

dmbp_status dmbp__cache_plan(dmbp_plan_cache *c, const dmbp_model *m,
                             const dmbp_plan_options *po,
                             const float *const *over, bool keep,
                             dmbp_plan **out)
{
    if (!c)
        return dmbp__plan_create_with(m, po, over, keep, out);
    if (c->m != m)
        return dmbp_set_error(DMBP_ERR_ARG, "the explainer given belongs to "
                              "another model (%s, not %s)", c->m->name,
                              m->name);
    c->clock++;
    int lru = 0;
    for (int i = 0; i < DMBP_PLAN_CACHE_SLOTS; i++) {
        dmbp_plan_slot *s = &c->slot[i];
        if (same_plan(s, po, over, keep)) {
            s->used = c->clock;
            *out = s->p;
            return DMBP_OK;
        }
        /* A free slot (used 0) is the oldest of all. */
        if ((s->p ? s->used : 0) < (c->slot[lru].p ? c->slot[lru].used : 0))
            lru = i;
    }
    dmbp_plan *p;
    TRY(dmbp__plan_create_with(m, po, over, keep, &p));
    c->created++;
    dmbp_plan_slot *s = &c->slot[lru];
    dmbp_plan_free(s->p);
    memset(s, 0, sizeof *s);
    memcpy(&s->po, po, sizeof *po);
    s->over = over;
    s->keep = keep;
    s->p = p;
    s->used = c->clock;
    *out = p;
    return DMBP_OK;
}

void dmbp__plan_release(const dmbp_plan_cache *c, dmbp_plan *p)
{
    for (int i = 0; c && p && i < DMBP_PLAN_CACHE_SLOTS; i++)
        if (c->slot[i].p == p)
            return;
    dmbp_plan_free(p);
}

void dmbp__cache_clear(dmbp_plan_cache *c)
{
    for (int i = 0; c && i < DMBP_PLAN_CACHE_SLOTS; i++) {
        dmbp_plan_free(c->slot[i].p);
        memset(&c->slot[i], 0, sizeof c->slot[i]);
    }
}

dmbp_status dmbp_explainer_create(const dmbp_model *m, dmbp_explainer **out)
{
    if (out)
        *out = NULL;
    if (!m || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_explainer_create: NULL "
                              "%s", !m ? "model" : "out");
    dmbp_explainer *e = dmbp__calloc(1, sizeof *e);
    if (!e)
        return DMBP_ERR_NOMEM;
    e->cache.m = m;
    *out = e;
    return DMBP_OK;
}

dmbp_status dmbp_explainer_run(dmbp_explainer *e, const float *x, int n,
                               int channels, int height, int width,
                               const int *targets,
                               const dmbp_explain_options *o,
                               dmbp_result **out)
{
    if (out)
        *out = NULL;
    if (!e)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_explainer_run: NULL "
                              "explainer");
    dmbp__threads_apply();
    return dmbp__explain_cached(e->cache.m, NULL, &e->cache, x, n, channels,
                                height, width, targets, o, out);
}

dmbp_plan_cache *dmbp__explainer_cache(dmbp_explainer *e)
{
    return e ? &e->cache : NULL;
}

int64_t dmbp_explainer_plans_created(const dmbp_explainer *e)
{
    return e ? e->cache.created : 0;
}

void dmbp_explainer_free(dmbp_explainer *e)
{
    if (!e)
        return;
    dmbp__cache_clear(&e->cache);
    free(e);
}
