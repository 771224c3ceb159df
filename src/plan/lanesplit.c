/* Lanes one at a time: the plan of a model whose graph cannot take several
 * images together (docs/model-support.md, "Lanes and a batch written into
 * the graph"). Such a plan holds one batch-1 plan and one arena per lane;
 * each call runs the batch-1 plan once per lane with that lane's arena
 * bound, so every lane keeps its own trace (activations, pooling choices,
 * kept signals) between calls and the results are those of batch-1 plans,
 * computed one lane after the other. The weights are held once. */
#include "plan/plan_int.h"

struct dmbp__lane_split {
    dmbp_plan *inner;           /* the batch-1 plan */
    int lanes;
    int cur;                    /* lane whose arena is bound */
    char **arena;               /* lanes; [0] is the inner plan's own */
    float *mask_val, *mask_grad; /* lanes x n_masks */
    float *own_val, *own_grad;  /* the inner plan's, put back before free */
    bool *has_run, *kept;       /* per lane: the inner plan's flags */
    float *logits;              /* lanes x classes of the last forward */
    int64_t per_in, per_logits, per_out;
};

static dmbp_status use_lane(dmbp__lane_split *s, int l)
{
    dmbp_plan *q = s->inner;
    if (s->cur != l) {
        for (int i = 0; i < q->n_binds; i++)
            DNNL_TRY(dnnl_memory_set_data_handle(
                q->bind_mem[i], s->arena[l] + q->buf_off[q->bind_buf[i]]));
        s->cur = l;
    }
    if (q->reverse) {
        q->mask_val = s->mask_val + (size_t)l * (size_t)q->n_masks;
        q->mask_grad = s->mask_grad + (size_t)l * (size_t)q->n_masks;
    }
    q->has_run = s->has_run[l];
    q->kept_valid = s->kept[l];
    return DMBP_OK;
}

static void done_lane(dmbp__lane_split *s, int l)
{
    s->has_run[l] = s->inner->has_run;
    s->kept[l] = s->inner->kept_valid;
}

void dmbp__split_free(dmbp_plan *p)
{
    dmbp__lane_split *s = p->split;
    if (s) {
        dmbp_plan *q = s->inner;
        if (q) {
            (void)use_lane(s, 0); /* its own arena back */
            q->mask_val = s->own_val;
            q->mask_grad = s->own_grad;
        }
        for (int l = 1; s->arena && l < s->lanes; l++)
            free(s->arena[l]);
        free(s->arena);
        free(s->mask_val);
        free(s->mask_grad);
        free(s->has_run);
        free(s->kept);
        free(s->logits);
        dmbp_plan_free(q);
        free(s);
    }
    free(p->vals);
    free(p);
}

dmbp_plan *dmbp__split_inner(const dmbp_plan *p)
{
    return p->split->inner;
}

/* The lanes' shapes: values computed from the input carry the lanes on
 * axis 0 (a batch-1 classifier plan keeps the batch there). */
static dmbp_status outer_values(dmbp_plan *p, const dmbp_plan *q, int lanes)
{
    const dmbp_model *m = p->m;
    p->vals = dmbp__calloc((size_t)m->n_values, sizeof *p->vals);
    if (!p->vals)
        return DMBP_ERR_NOMEM;
    bool *dep = dmbp__calloc((size_t)m->n_values, sizeof *dep);
    if (!dep)
        return DMBP_ERR_NOMEM;
    dep[m->input] = true;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        bool d = false;
        for (int k = 0; !n->dead && k < n->n_in; k++)
            d = d || (n->in[k] >= 0 && dep[n->in[k]]);
        for (int k = 0; d && k < n->n_out; k++)
            dep[n->out[k]] = true;
    }
    for (int v = 0; v < m->n_values; v++) {
        p->vals[v].shape = q->vals[v].shape;
        p->vals[v].relevant = q->vals[v].relevant;
        if (dep[v] && p->vals[v].shape.ndim >= 1)
            p->vals[v].shape.dims[0] = lanes;
    }
    free(dep);
    return DMBP_OK;
}

static dmbp_status split_setup(dmbp_plan *p, dmbp__lane_split *s)
{
    dmbp_plan *q = s->inner;
    const dmbp_model *m = p->m;
    int L = s->lanes;
    size_t extra;
    if (!dmbp__mul_size((size_t)(L - 1), q->arena_size, &extra))
        extra = SIZE_MAX;
    TRY(dmbp__plan_charge(q, extra, "the arenas of lanes run one at a time"));
    s->arena = dmbp__calloc((size_t)L, sizeof *s->arena);
    s->has_run = dmbp__calloc((size_t)L, sizeof *s->has_run);
    s->kept = dmbp__calloc((size_t)L, sizeof *s->kept);
    s->per_in = dmbp_shape_numel(&q->vals[m->input].shape);
    s->per_logits = dmbp_shape_numel(&q->vals[m->logits].shape);
    s->per_out = dmbp_shape_numel(&q->vals[m->output].shape);
    s->logits = dmbp__calloc((size_t)L * (size_t)s->per_logits,
                             sizeof *s->logits);
    if (!s->arena || !s->has_run || !s->kept || !s->logits)
        return DMBP_ERR_NOMEM;
    s->arena[0] = q->arena;
    for (int l = 1; l < L; l++) {
        size_t sz = (q->arena_size + DMBP__ARENA_ALIGN - 1) /
                    DMBP__ARENA_ALIGN * DMBP__ARENA_ALIGN;
        sz = sz ? sz : DMBP__ARENA_ALIGN;
        s->arena[l] = aligned_alloc(DMBP__ARENA_ALIGN, sz);
        if (!s->arena[l])
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (arena of "
                                  "%zu bytes)", sz);
        /* As the plan's own: padding lanes of blocked layouts hold 0. */
        memset(s->arena[l], 0, sz);
    }
    s->own_val = q->mask_val;
    s->own_grad = q->mask_grad;
    if (q->reverse) {
        size_t nm = (size_t)L * (size_t)q->n_masks;
        s->mask_val = dmbp__calloc(nm ? nm : 1, sizeof(float));
        s->mask_grad = dmbp__calloc(nm ? nm : 1, sizeof(float));
        if (!s->mask_val || !s->mask_grad)
            return DMBP_ERR_NOMEM;
    }
    TRY(outer_values(p, q, L));
    p->lanes = L;
    p->reverse = q->reverse;
    p->n_mask_layers = q->n_mask_layers;
    p->n_masks = q->n_masks;
    p->max_memory = q->max_memory;
    p->whole_tensor = false;
    return DMBP_OK;
}

dmbp_status dmbp__split_create(const dmbp_model *m, const dmbp_plan_options *o,
                               const float *const *over, bool keep_diffs,
                               int lanes, dmbp_plan **out)
{
    dmbp_plan_options one = *o;
    if (one.shape.ndim > 0)
        one.shape.dims[0] = 1;
    else
        one.batch = 1;
    dmbp_plan *q;
    TRY(dmbp__plan_create_with(m, &one, over, keep_diffs, &q));
    dmbp_plan *p = dmbp__calloc(1, sizeof *p);
    dmbp__lane_split *s = dmbp__calloc(1, sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        dmbp_plan_free(q);
        return DMBP_ERR_NOMEM;
    }
    p->m = m;
    p->split = s;
    s->inner = q;
    s->lanes = lanes;
    dmbp_status st = split_setup(p, s);
    if (st) {
        dmbp__split_free(p);
        return st;
    }
    *out = p;
    return DMBP_OK;
}

dmbp_status dmbp__split_forward(dmbp_plan *p, const float *input,
                                float *logits)
{
    dmbp__lane_split *s = p->split;
    p->has_run = false;
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        dmbp_status st = dmbp_plan_forward(
            s->inner, input + (size_t)l * (size_t)s->per_in,
            s->logits + (size_t)l * (size_t)s->per_logits);
        done_lane(s, l);
        TRY(st);
    }
    p->has_run = true;
    if (logits)
        memcpy(logits, s->logits,
               (size_t)s->lanes * (size_t)s->per_logits * sizeof(float));
    return DMBP_OK;
}

dmbp_status dmbp__split_output(dmbp_plan *p, float *out)
{
    dmbp__lane_split *s = p->split;
    const dmbp_model *m = p->m;
    if (m->output == m->logits) {
        memcpy(out, s->logits,
               (size_t)s->lanes * (size_t)s->per_logits * sizeof(float));
        return DMBP_OK;
    }
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        TRY(dmbp_plan_output(s->inner, out + (size_t)l * (size_t)s->per_out));
    }
    return DMBP_OK;
}

/* Lane l's slice of an optional per-lane array of `per` floats. */
static const float *slice_c(const float *a, int l, int64_t per)
{
    return a ? a + (size_t)l * (size_t)per : NULL;
}

static float *slice(float *a, int l, int64_t per)
{
    return a ? a + (size_t)l * (size_t)per : NULL;
}

dmbp_status dmbp__split_backward(dmbp_plan *p, const float *seed,
                                 const float *masks, unsigned flags,
                                 float *mapping)
{
    dmbp__lane_split *s = p->split;
    int64_t nm = s->inner->n_masks;
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        dmbp_status st = dmbp_plan_backward(
            s->inner, slice_c(seed, l, s->per_logits), slice_c(masks, l, nm),
            flags, slice(mapping, l, s->per_in));
        done_lane(s, l);
        TRY(st);
    }
    return DMBP_OK;
}

dmbp_status dmbp__split_tangent(dmbp_plan *p, const float *v,
                                const float *masks, float *out)
{
    dmbp__lane_split *s = p->split;
    int64_t nm = s->inner->n_masks;
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        dmbp_status st = dmbp_plan_tangent(
            s->inner, slice_c(v, l, s->per_in), slice_c(masks, l, nm),
            slice(out, l, s->per_logits));
        done_lane(s, l);
        TRY(st);
    }
    return DMBP_OK;
}

dmbp_status dmbp__split_mask_grad(dmbp_plan *p, const float *v, float *grad)
{
    dmbp__lane_split *s = p->split;
    int64_t nm = s->inner->n_masks;
    /* Every lane's kept signals first: a refusal leaves no lane changed. */
    for (int l = 0; l < s->lanes; l++)
        if (!s->kept[l])
            return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_mask_grad: run "
                                  "dmbp_plan_backward (after the forward "
                                  "pass, with the masks to differentiate) "
                                  "first");
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        dmbp_status st = dmbp_plan_mask_grad(s->inner, slice_c(v, l, s->per_in),
                                             slice(grad, l, nm));
        done_lane(s, l);
        TRY(st);
    }
    return DMBP_OK;
}

dmbp_status dmbp__split_read(dmbp_plan *p, int v, int diff, float *out)
{
    dmbp__lane_split *s = p->split;
    int64_t per = dmbp_shape_numel(&s->inner->vals[v].shape);
    for (int l = 0; l < s->lanes; l++) {
        TRY(use_lane(s, l));
        TRY(dmbp__plan_read(s->inner, v, diff, slice(out, l, per)));
    }
    return DMBP_OK;
}

void dmbp__split_sizes(const dmbp_plan *p, size_t *arena, size_t *used)
{
    const dmbp__lane_split *s = p->split;
    *arena = s->inner->arena_size * (size_t)s->lanes;
    *used = s->inner->mem_used;
}
