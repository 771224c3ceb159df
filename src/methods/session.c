/* Plans kept across calls (issue #13 item 6): the plan cache, and the
 * public dmbp_session that holds one for every job on its model
 * (dmbp_explain in explain.c, the metrics in metrics.c, the
 * randomisation check in randomize.c).
 *
 * Reuse must give the bits of a fresh plan: a plan's outputs may depend
 * only on what it was made from (options, weights) and on the call's
 * inputs, never on an earlier call. The methods already rely on it within
 * one call (chunks of images, DMBP's iterations run one plan many times);
 * tests/test_session checks it across calls, for every method, against
 * fresh sessions. */
#include "base.h"
#include "plan/plan.h"

#include "methods/methods.h"

/* The first member of every session: a pointer of another type passed as
 * a session (a dmbp_model from a program written for 0.1, whose jobs took
 * the model) is refused, not read. */
#define SESSION_MAGIC 0x6e6f69737365735fULL /* "_session" */

struct dmbp_session {
    uint64_t magic;
    dmbp__plan_cache cache;
    bool one_shot; /* dmbp_session_keep_plans(s, 0): no cache */
};

/* The options structs come from dmbp_plan_options_init (memset, then
 * fields), and are stored with memcpy, so that their padding is zero in
 * both and memcmp compares every field, including ones added later. */
static bool same_plan(const dmbp__plan_slot *s, const dmbp_plan_options *po,
                      const float *const *over, bool keep)
{
    return s->p && s->over == over && s->keep == keep &&
           !memcmp(&s->po, po, sizeof *po);
}

dmbp_status dmbp__cache_plan(dmbp__plan_cache *c, const dmbp_model *m,
                             const dmbp_plan_options *po,
                             const float *const *over, bool keep,
                             dmbp_plan **out)
{
    if (!c)
        return dmbp__plan_create_with(m, po, over, keep, out);
    if (c->m != m)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "a plan cache of %s asked "
                              "for a plan of %s", c->m->name, m->name);
    c->clock++;
    int lru = 0;
    for (int i = 0; i < DMBP_PLAN_CACHE_SLOTS; i++) {
        dmbp__plan_slot *s = &c->slot[i];
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
    dmbp__plan_slot *s = &c->slot[lru];
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

void dmbp__plan_release(const dmbp__plan_cache *c, dmbp_plan *p)
{
    for (int i = 0; c && p && i < DMBP_PLAN_CACHE_SLOTS; i++)
        if (c->slot[i].p == p)
            return;
    dmbp_plan_free(p);
}

void dmbp__cache_clear(dmbp__plan_cache *c)
{
    for (int i = 0; c && i < DMBP_PLAN_CACHE_SLOTS; i++) {
        dmbp_plan_free(c->slot[i].p);
        memset(&c->slot[i], 0, sizeof c->slot[i]);
    }
}

dmbp_status dmbp_session_create(const dmbp_model *m, dmbp_session **out)
{
    if (out)
        *out = NULL;
    if (!m || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_session_create: NULL "
                              "%s", !m ? "model" : "out");
    dmbp_session *s = dmbp__calloc(1, sizeof *s);
    if (!s)
        return DMBP_ERR_NOMEM;
    s->magic = SESSION_MAGIC;
    s->cache.m = m;
    *out = s;
    return DMBP_OK;
}

dmbp_status dmbp__session_valid(const dmbp_session *s, const char *who)
{
    if (!s || s->magic != SESSION_MAGIC)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s", who, !s
                              ? "NULL session"
                              : "not a dmbp_session (since libdmbp 0.2 "
                                "jobs run on a session of the model)");
    return DMBP_OK;
}

dmbp__plan_cache *dmbp__session_cache(dmbp_session *s)
{
    return s && s->magic == SESSION_MAGIC && !s->one_shot ? &s->cache
                                                          : NULL;
}

void dmbp_session_keep_plans(dmbp_session *s, int keep)
{
    if (!s || s->magic != SESSION_MAGIC)
        return;
    s->one_shot = !keep;
    if (s->one_shot)
        dmbp__cache_clear(&s->cache);
}

const dmbp_model *dmbp_session_model(const dmbp_session *s)
{
    return s && s->magic == SESSION_MAGIC ? s->cache.m : NULL;
}

int64_t dmbp_session_plans_created(const dmbp_session *s)
{
    return s && s->magic == SESSION_MAGIC ? s->cache.created : 0;
}

void dmbp_session_free(dmbp_session *s)
{
    if (!s || s->magic != SESSION_MAGIC)
        return;
    s->magic = 0;
    dmbp__cache_clear(&s->cache);
    free(s);
}
