/* What the rest of the library asks of plans beyond dmbp.h (no oneDNN:
 * the plan's insides are plan_int.h, the ops' view builder.h). */
#ifndef DMBP_PLAN_H
#define DMBP_PLAN_H

#include "base.h"

/* ---- plans (plan.c) ---------------------------------------------------- */

/* dmbp_plan_create with some weights replaced: over has one entry per
 * model value, NULL to keep the model's data (read, not copied: it must
 * outlive plan creation only). */
dmbp_status dmbp__plan_create_with(const dmbp_model *m,
                                   const dmbp_plan_options *o,
                                   const float *const *over, bool keep_diffs,
                                   dmbp_plan **out);
/* IG's lanes (its steps run together) fit in max_memory when the caller
 * set it, else in this percent of the physical memory. */
#define DMBP__IG_MEMORY_PERCENT 10
/* IG's memory budget for its lanes when the caller set no max_memory:
 * DMBP__IG_MEMORY_PERCENT of the physical memory. */
size_t dmbp__ig_default_budget(void);
/* A plan's arena bytes (they grow with its lanes) and all the bytes it
 * holds (arena, weights, scratchpad), for callers that size lanes
 * without seeing the plan's insides. */
void dmbp__plan_sizes(const dmbp_plan *p, size_t *arena, size_t *used);

/* Traces: a plan holds n traces of its passes and runs on one at a time.
 * A trace is what a forward pass records and later passes read (every
 * value's activation and pooling choices, the signals kept at mask layers,
 * the input's gradient and tangent, the mask values and gradients and
 * whether a forward and a backward have run): the persistent part of the
 * arena (plan.c's place_buffers). Weights, primitives and the transient
 * buffers are the plan's, once. So n inputs of the plan's shape each keep
 * their forward between calls at the cost of n persistent parts, not of n
 * plans. dmbp__plan_set_traces(p, n) makes traces 1..n-1 (zeroed, nothing
 * run; 1 frees them) and binds trace 0, the plan's own; charged to the
 * plan's memory budget. dmbp__plan_use_trace binds trace t: the passes
 * and reads that follow use it. dmbp_plan_output reads the last forward's
 * output, whichever trace ran it. DMBP_ERR_UNSUPPORTED for a plan that
 * runs its lanes one at a time (it already binds an arena per lane). */
dmbp_status dmbp__plan_set_traces(dmbp_plan *p, int n);
/* Whether p can hold several traces (not a plan of lanes one at a time). */
bool dmbp__plan_can_trace(const dmbp_plan *p);
dmbp_status dmbp__plan_use_trace(dmbp_plan *p, int t);

/* Value v's tensor (diff: its gradient) after a pass, plain row-major in
 * out (its shape's element count). */
dmbp_status dmbp__plan_read(dmbp_plan *p, int v, int diff, float *out);
/* Value v's shape in plan p; *relevant: the logits depend on it. */
const dmbp_shape *dmbp__plan_value_shape(const dmbp_plan *p, int v,
                                         bool *relevant);

/* ---- plan caches (session.c) -------------------------------------------- */

/* Plans kept across calls: a dmbp_session's, which dmbp_explain and the
 * metrics use. A plan is found again by
 * everything that went into making it: its options, the weight overrides
 * and keep_diffs. Past DMBP_PLAN_CACHE_SLOTS plans the least recently used
 * is freed: one call uses at most three plans (first pass, the method's,
 * a metric's), so a plan in use is never the one evicted. Not
 * thread-safe: one thread at a time uses a cache. */
#define DMBP_PLAN_CACHE_SLOTS DMBP_SESSION_MAX_PLANS
typedef struct dmbp__plan_slot {
    dmbp_plan_options po;
    const float *const *over;
    bool keep;
    dmbp_plan *p;     /* NULL: free slot */
    uint64_t used;    /* the cache's clock at the last use */
} dmbp__plan_slot;
typedef struct dmbp__plan_cache {
    const dmbp_model *m;
    dmbp__plan_slot slot[DMBP_PLAN_CACHE_SLOTS];
    uint64_t clock;
    int64_t created;  /* plans made so far (misses) */
} dmbp__plan_cache;
/* The plan of (po, over, keep) from c, made on a miss. The plan stays c's:
 * give it back with dmbp__plan_release. With c NULL: a new plan that
 * dmbp__plan_release frees. */
dmbp_status dmbp__cache_plan(dmbp__plan_cache *c, const dmbp_model *m,
                             const dmbp_plan_options *po,
                             const float *const *over, bool keep,
                             dmbp_plan **out);
/* Free p unless it is one of c's plans (c may be NULL). */
void dmbp__plan_release(const dmbp__plan_cache *c, dmbp_plan *p);
/* DMBP_OK for a session, else DMBP_ERR_ARG "who: NULL session" or "who:
 * not a dmbp_session" (a pointer of another type, e.g. a 0.1 program's
 * model). */
dmbp_status dmbp__session_valid(const dmbp_session *s, const char *who);
/* The cache of a session (NULL for NULL). */
dmbp__plan_cache *dmbp__session_cache(dmbp_session *s);
/* Free every plan of c (the cache stays usable). */
void dmbp__cache_clear(dmbp__plan_cache *c);

#endif /* DMBP_PLAN_H */
