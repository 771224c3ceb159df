/* Several traces of one plan (plan.h, dmbp__plan_set_traces): trace t's
 * persistent part of the arena, its mask values and gradients and its
 * flags; switching binds the memories of the persistent buffers to trace
 * t's bytes. The transient buffers stay where they are: each is used by
 * one pass only and written before it is read within it (place_buffers),
 * so the traces can share them. */
#include "plan/plan_int.h"

struct dmbp__traces {
    int n, cur;
    /* Each of n, in the same allocation as the struct (traces_new). */
    char **part;              /* persistent parts; [0] is the arena */
    float **mval, **mgrad;    /* lanes x n_masks each; [0] the plan's */
    bool *run, *kept;         /* has_run, kept_valid */
};

/* The struct and its five arrays of n, zeroed, in one allocation. */
static dmbp__traces *traces_new(int n)
{
    size_t each = sizeof(char *) + 2 * sizeof(float *) +
                  2 * sizeof(bool);
    dmbp__traces *t = dmbp__calloc(1, sizeof *t + (size_t)n * each);
    if (!t)
        return NULL;
    t->n = n;
    t->part = (char **)(t + 1);
    t->mval = (float **)(t->part + n);
    t->mgrad = t->mval + n;
    t->run = (bool *)(t->mgrad + n);
    t->kept = t->run + n;
    return t;
}

static void save(dmbp_plan *p)
{
    dmbp__traces *t = p->traces;
    t->run[t->cur] = p->has_run;
    t->kept[t->cur] = p->kept_valid;
    t->mval[t->cur] = p->mask_val;
    t->mgrad[t->cur] = p->mask_grad;
}

static dmbp_status bind(dmbp_plan *p, int k)
{
    dmbp__traces *t = p->traces;
    save(p);
    for (int i = 0; i < p->n_binds; i++) {
        size_t off = p->buf_off[p->bind_buf[i]];
        if (off < p->trace_size)
            DNNL_TRY(dnnl_memory_set_data_handle(p->bind_mem[i],
                                                 t->part[k] + off));
    }
    t->cur = k;
    p->has_run = t->run[k];
    p->kept_valid = t->kept[k];
    p->mask_val = t->mval[k];
    p->mask_grad = t->mgrad[k];
    return DMBP_OK;
}

void dmbp__traces_free(dmbp_plan *p)
{
    dmbp__traces *t = p->traces;
    if (!t)
        return;
    (void)bind(p, 0);
    for (int k = 1; k < t->n; k++) {
        free(t->part[k]);
        free(t->mval[k]);
        free(t->mgrad[k]);
    }
    free(t);
    p->traces = NULL;
    /* Give back what the extra parts were charged. */
    p->mem_used -= p->traces_charged;
    p->traces_charged = 0;
}

dmbp_status dmbp__plan_set_traces(dmbp_plan *p, int n)
{
    if (!p || n < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp__plan_set_traces: %s",
                              p ? "fewer than one trace" : "NULL plan");
    dmbp__traces_free(p);
    if (n == 1)
        return DMBP_OK;
    if (p->split)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: a plan that runs "
                              "its lanes one at a time has no traces",
                              p->m->name);
    size_t part = p->trace_size ? p->trace_size : DMBP__ARENA_ALIGN;
    size_t nm = p->reverse ? (size_t)p->lanes * (size_t)p->n_masks : 0;
    size_t bytes;
    if (!dmbp__mul_size(part + 2 * nm * sizeof(float), (size_t)(n - 1),
                        &bytes))
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: %d traces overflow",
                              p->m->name, n);
    TRY(dmbp__plan_charge(p, bytes, "its traces"));
    p->traces_charged = bytes;
    dmbp__traces *t = traces_new(n);
    if (!t) {
        p->mem_used -= bytes;
        p->traces_charged = 0;
        return DMBP_ERR_NOMEM;
    }
    p->traces = t;
    t->part[0] = p->arena;
    save(p);
    for (int k = 1; k < n; k++) {
        /* Zeroed as the arena is: padding of blocked layouts holds 0. */
        t->part[k] = aligned_alloc(DMBP__ARENA_ALIGN, part);
        t->mval[k] = dmbp__calloc(nm ? nm : 1, sizeof(float));
        t->mgrad[k] = dmbp__calloc(nm ? nm : 1, sizeof(float));
        if (!t->part[k] || !t->mval[k] || !t->mgrad[k]) {
            dmbp__traces_free(p); /* NULLs past k are freed as NULL */
            return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory (%d "
                                  "traces of %zu bytes)", p->m->name, n,
                                  part);
        }
        memset(t->part[k], 0, part);
    }
    return DMBP_OK;
}

bool dmbp__plan_can_trace(const dmbp_plan *p)
{
    return p && !p->split;
}

dmbp_status dmbp__plan_use_trace(dmbp_plan *p, int k)
{
    int n = p && p->traces ? p->traces->n : 1;
    if (!p || k < 0 || k >= n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp__plan_use_trace: no trace "
                              "%d of %d", k, n);
    if (!p->traces || p->traces->cur == k)
        return DMBP_OK;
    return bind(p, k);
}
