/* The reverse engine (dmbp-method.md sections 1-2): with the gates and
 * pooling choices of the last forward pass frozen, the network is a linear
 * map L_x. Two passes over it, built once per plan as step lists like the
 * forward pass:
 *   backward(seed, m): the masked vector-Jacobian product from a seed at
 *     the logits to the input; at each mask layer the arriving signal is
 *     kept (it stays in the layer output's diff) before the masks scale it;
 *   tangent(v, m): v pushed forward through L_x(.; m) without biases; at
 *     each mask layer it adds sum_p diff * z (z before the masks) to the
 *     mask gradient, which is dl/dm for V = v (section 2's identity).
 * Every tensor lives in the plan's arena in the forward value's layout. */
#include "plan/kernels.h"
#include "plan/plan_int.h"

dmbp_status dmbp__to_layout(dmbp__builder *b, dnnl_memory_t src,
                            const dnnl_memory_desc_t *src_md,
                            const dnnl_memory_desc_t *want,
                            dnnl_memory_t *out)
{
    if (dnnl_memory_desc_equal(src_md, want)) {
        *out = src;
        return DMBP_OK;
    }
    TRY(dmbp__plan_scratch_mem(b, want, out));
    return dmbp__reorder_step(b, src, src_md, *out, want);
}

dmbp_status dmbp__diff_target(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t *out)
{
    dmbp__pvalue *pv = &b->p->vals[v];
    if (!pv->diff)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "value '%s' has no diff",
                              b->p->m->values[v].name);
    if (!pv->diff_written && dnnl_memory_desc_equal(&pv->md, md)) {
        pv->diff_written = true;
        *out = pv->diff;
        return DMBP_OK;
    }
    return dmbp__plan_scratch_mem(b, md, out);
}

/* diff += src, element-wise over the whole buffer (same layout). */
static dmbp_status add_into_fn(dmbp_plan *p, const dmbp__step *s)
{
    float *dst = dmbp__mem_ptr(s->args[0].memory);
    const float *src = dmbp__mem_ptr(s->args[1].memory);
    int64_t n = *(const int64_t *)s->data;
    int64_t chunks = (n + DMBP_SWEEP_CHUNK - 1) / DMBP_SWEEP_CHUNK;
#pragma omp parallel for
    for (int64_t k = 0; k < chunks; k++) {
        int64_t i0 = k * DMBP_SWEEP_CHUNK;
        dmbp__k_add(dst + i0, src + i0,
                    n - i0 < DMBP_SWEEP_CHUNK ? n - i0 : DMBP_SWEEP_CHUNK);
    }
    (void)p;
    return DMBP_OK;
}

bool dmbp__diff_first(const dmbp__builder *b, int v)
{
    return !b->p->vals[v].diff_written;
}

dmbp_status dmbp__diff_commit(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t written)
{
    dmbp__pvalue *pv = &b->p->vals[v];
    if (written == pv->diff)
        return DMBP_OK;
    dnnl_memory_t same;
    TRY(dmbp__to_layout(b, written, md, &pv->md, &same));
    if (!pv->diff_written) {
        /* First writer in another layout: the reorder above could have
         * targeted diff directly; copy (rare: only at layout changes). */
        pv->diff_written = true;
        return dmbp__reorder_step(b, same, &pv->md, pv->diff, &pv->md);
    }
    int64_t *n = dmbp__malloc(sizeof *n);
    if (!n)
        return DMBP_ERR_NOMEM;
    *n = (int64_t)(dnnl_memory_desc_get_size(&pv->md) / sizeof(float));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DST, pv->diff},
                               {DNNL_ARG_SRC, same}};
    return dmbp__plan_fn(b, NULL, add_into_fn, n, args, 2);
}

const dmbp__mask_layer *dmbp__mask_of(const dmbp_plan *p, const dmbp_node *n)
{
    for (int i = 0; i < p->n_mask_layers; i++)
        if (p->masks[i].node == n)
            return &p->masks[i];
    return NULL;
}

const dmbp__mask_layer *dmbp__node_mask(dmbp__builder *b, const dmbp_node *n)
{
    return dmbp__mask_of(b->p, n);
}

typedef struct mask_run {
    dmbp__layout l;
    int64_t offset;
    int channels;
} mask_run;

static dmbp_status mask_run_new(const dmbp__mask_layer *ml,
                                const dnnl_memory_desc_t *md, mask_run **out)
{
    mask_run *r = dmbp__calloc(1, sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    /* Units on the last axis of a plain [N, ..., U] tensor (a MatMul on
     * channels-last activations): the same bytes seen as [N, U, rest] with
     * the units adjacent, which the sweeps take as one channel block. */
    dnnl_memory_desc_t last;
    if (ml->last_axis && md->ndims > 2) {
        dnnl_dims_t dims = {md->dims[0], md->dims[md->ndims - 1], 1};
        for (int d = 1; d < md->ndims - 1; d++)
            dims[2] *= md->dims[d];
        dnnl_dims_t strides = {dims[1] * dims[2], 1, dims[1]};
        if (dmbp__md_strided(3, dims, strides, &last)) {
            free(r);
            return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: no view of a "
                                  "mask layer's units");
        }
        md = &last;
    }
    dmbp_status st = dmbp__chan_layout(md, &r->l);
    if (st) {
        free(r);
        return st;
    }
    r->offset = ml->offset;
    r->channels = ml->channels;
    *out = r;
    return DMBP_OK;
}

/* The sweeps below run over (lane, channel block) in parallel and, inside,
 * over the spatial positions with the block's channels innermost: in
 * oneDNN's nChw16c that is memory order, 16 adjacent floats at a time. */
/* Largest channel block the fast sweeps take (channels-last tensors are
 * one block of all channels). */
#define MAX_BLOCK 8192

static dmbp_status mask_backward_fn(dmbp_plan *p, const dmbp__step *s)
{
    const mask_run *r = s->data;
    const float *diff = dmbp__mem_ptr(s->args[0].memory);
    float *out = dmbp__mem_ptr(s->args[1].memory);
    const dmbp__layout *l = &r->l;
    int64_t lanes = l->dims[0], C = r->channels, B = l->block;
    int64_t nb = (C + B - 1) / B;
    if (!l->sp_step || B > MAX_BLOCK) {
#pragma omp parallel for collapse(2)
        for (int64_t n = 0; n < lanes; n++)
            for (int64_t c = 0; c < C; c++) {
                float m = p->mask_val[n * p->n_masks + r->offset + c];
                for (int64_t sp = 0; sp < l->spatial; sp++) {
                    int64_t o = dmbp__chan_off(l, n, c, sp);
                    out[o] = diff[o] * m;
                }
            }
        return DMBP_OK;
    }
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < lanes; n++)
        for (int64_t cb = 0; cb < nb; cb++) {
            int64_t c0 = cb * B, cn = C - c0 < B ? C - c0 : B;
            const float *m = p->mask_val + n * p->n_masks + r->offset + c0;
            int64_t base = dmbp__chan_base(l, n, c0);
            /* The padding lanes of a last, partial block are written as 0:
             * oneDNN reads them, and out may be a reused buffer. */
            dmbp__k_scale_block(diff + base, out + base, m, cn, B,
                                l->spatial, l->sp_step);
        }
    return DMBP_OK;
}

static dmbp_status mask_tangent_fn(dmbp_plan *p, const dmbp__step *s)
{
    const mask_run *r = s->data;
    const float *diff = dmbp__mem_ptr(s->args[0].memory);
    float *z = dmbp__mem_ptr(s->args[1].memory);
    const dmbp__layout *l = &r->l;
    int64_t lanes = l->dims[0], C = r->channels, B = l->block;
    int64_t nb = (C + B - 1) / B;
    if (l->sp_step && B <= MAX_BLOCK) {
#pragma omp parallel for collapse(2)
        for (int64_t n = 0; n < lanes; n++)
            for (int64_t cb = 0; cb < nb; cb++) {
                int64_t c0 = cb * B, cn = C - c0 < B ? C - c0 : B;
                int64_t k0 = n * p->n_masks + r->offset + c0;
                const float *m = p->mask_val + k0;
                int64_t base = dmbp__chan_base(l, n, c0);
                double acc[cn];
                dmbp__k_mask_reduce(diff + base, z + base, m, cn, B,
                                    l->spatial, l->sp_step, acc);
                /* One (lane, block) per iteration: no two threads share
                 * a mask. */
                for (int64_t ci = 0; ci < cn; ci++)
                    p->mask_grad[k0 + ci] += (float)acc[ci];
            }
        return DMBP_OK;
    }
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < lanes; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t k = n * p->n_masks + r->offset + c;
            float m = p->mask_val[k];
            double acc = 0;
            for (int64_t sp = 0; sp < l->spatial; sp++) {
                int64_t o = dmbp__chan_off(l, n, c, sp);
                acc += (double)diff[o] * z[o];
                z[o] *= m;
            }
            /* One (lane, channel) per iteration: no two threads share k. */
            p->mask_grad[k] += (float)acc;
        }
    return DMBP_OK;
}

dmbp_status dmbp__mask_backward(dmbp__builder *b, const dmbp__mask_layer *ml,
                                dnnl_memory_t diff, dnnl_memory_t masked,
                                const dnnl_memory_desc_t *md)
{
    mask_run *r;
    TRY(mask_run_new(ml, md, &r));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, diff}, {DNNL_ARG_DST, masked}};
    return dmbp__plan_fn(b, ml->node, mask_backward_fn, r, args, 2);
}

dmbp_status dmbp__mask_tangent(dmbp__builder *b, const dmbp__mask_layer *ml,
                               dnnl_memory_t diff, dnnl_memory_t z,
                               const dnnl_memory_desc_t *md)
{
    mask_run *r;
    TRY(mask_run_new(ml, md, &r));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, diff}, {DNNL_ARG_DST, z}};
    return dmbp__plan_fn(b, ml->node, mask_tangent_fn, r, args, 2);
}

static bool is_linear_layer(const dmbp_node *n)
{
    return dmbp__op_is(n, DMBP_OP_WEIGHTS);
}

/* Mask layers: every op with weights (DMBP_OP_WEIGHTS): the feature-map
 * ones (Conv) on their channels (dim 1), the others (Gemm, MatMul) on
 * their units (last dim), except the last of those before the logits
 * (the classifier: masking it would only rescale classes). */
static dmbp_status assign_masks(dmbp_plan *p)
{
    const dmbp_model *m = p->m;
    int last_fc = -1;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (!n->dead && p->vals[n->out[0]].relevant &&
            is_linear_layer(n) && !dmbp__op_is(n, DMBP_OP_FEATURE_MAP))
            last_fc = i;
    }
    p->masks = dmbp__calloc((size_t)m->n_nodes, sizeof *p->masks);
    if (!p->masks)
        return DMBP_ERR_NOMEM;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !p->vals[n->out[0]].relevant || !is_linear_layer(n) ||
            i == last_fc)
            continue;
        const dmbp_shape *s = &p->vals[n->out[0]].shape;
        bool fmap = dmbp__op_is(n, DMBP_OP_FEATURE_MAP);
        if (!fmap && s->ndim < 2)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "masks on a "
                                    "%d-D %s output", s->ndim, n->op_type);
        if (!fmap && s->ndim > 2) {
            dnnl_memory_desc_t plain;
            TRY(dmbp__md_plain(s, &plain));
            if (!dnnl_memory_desc_equal(&plain, &p->vals[n->out[0]].md))
                return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "masks on "
                                        "a %d-D %s output that is not "
                                        "plain", s->ndim, n->op_type);
        }
        dmbp__mask_layer *ml = &p->masks[p->n_mask_layers++];
        ml->last_axis = !fmap && s->ndim > 2;
        ml->node = n;
        ml->value = n->out[0];
        ml->channels = (int)(fmap ? s->dims[1] : s->dims[s->ndim - 1]);
        ml->offset = p->n_masks;
        p->n_masks += ml->channels;
    }
    size_t total = (size_t)p->lanes * (size_t)(p->n_masks ? p->n_masks : 1);
    p->mask_val = dmbp__malloc(total * sizeof(float));
    p->mask_grad = dmbp__calloc(total, sizeof(float));
    if (!p->mask_val || !p->mask_grad)
        return DMBP_ERR_NOMEM;
    for (size_t i = 0; i < total; i++)
        p->mask_val[i] = 1.f;
    return DMBP_OK;
}

static void mark_relevant(dmbp_plan *p)
{
    const dmbp_model *m = p->m;
    p->vals[m->logits].relevant = true;
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        bool r = false;
        for (int k = 0; k < n->n_out; k++)
            r = r || p->vals[n->out[k]].relevant;
        if (!r)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !m->values[n->in[k]].is_const)
                p->vals[n->in[k]].relevant = true;
    }
}

static dmbp_status plain_buffer(dmbp_plan *p, const dmbp_shape *s,
                                dnnl_memory_t *out)
{
    dmbp__builder b = {p};
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(s, &md));
    return dmbp__plan_scratch_mem(&b, &md, out);
}

dmbp_status dmbp__reverse_build(dmbp_plan *p)
{
    const dmbp_model *m = p->m;
    dmbp__builder b = {p};
    p->reverse = true;
    mark_relevant(p);
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !p->vals[n->out[0]].relevant)
            continue;
        if (!n->op->backward || !n->op->tangent)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "this op has no "
                                    "reverse passes (attribution methods "
                                    "need them)");
    }
    for (int v = 0; v < m->n_values; v++) {
        dmbp__pvalue *pv = &p->vals[v];
        if (!pv->relevant)
            continue;
        TRY(dmbp__plan_scratch_mem(&b, &pv->md, &pv->diff));
        TRY(dmbp__plan_scratch_mem(&b, &pv->md, &pv->tan));
    }
    TRY(assign_masks(p));

    /* Backward: seed -> logits' diff, then the nodes in reverse order. */
    p->cur = &p->bwd;
    dmbp__pvalue *lg = &p->vals[m->logits];
    TRY(plain_buffer(p, &lg->shape, &p->seed_plain));
    {
        dnnl_memory_desc_t pmd;
        TRY(dmbp__md_plain(&lg->shape, &pmd));
        dnnl_memory_t d;
        TRY(dmbp__diff_target(&b, m->logits, &pmd, &d));
        dnnl_primitive_desc_t pd;
        TRY(dmbp__be_reorder(p, &pmd, &pmd, false, &pd));
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, p->seed_plain},
                                   {DNNL_ARG_DST, d}};
        TRY(dmbp__plan_prim(&b, NULL, pd, args, 2));
        TRY(dmbp__diff_commit(&b, m->logits, &pmd, d));
    }
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !p->vals[n->out[0]].relevant)
            continue;
        TRY(n->op->backward(&b, n));
    }
    for (int v = 0; v < m->n_values; v++)
        if (p->vals[v].relevant && !p->vals[v].diff_written)
            return dmbp_set_error(DMBP_ERR_INTERNAL, "reverse pass: value "
                                  "'%s' receives no gradient",
                                  m->values[v].name);

    /* Tangent: the nodes in forward order from the input's tan.
     *
     * The mask gradient needs only the prefix of this list that ends with
     * the last mask layer's steps (tan_mask_end). Proof: mask_grad is
     * written only by the mask-tangent steps (mask_tangent_fn), and such a
     * step of layer k reads only diff of k's output (fixed by the backward
     * pass before the tangent pass starts), tan of k's output (written by
     * k's own tangent steps, which precede it) and the masks. The tangent
     * steps of a node write only tan of its outputs (and temporaries), and
     * are built in forward (topological) order, so a step after the last
     * mask-tangent step belongs to a node that comes after every mask layer
     * and writes nothing any mask-tangent step reads. Skipping them leaves
     * every mask gradient bit for bit the same; only the tangent at the
     * logits (dmbp_plan_tangent's output) needs the whole list. */
    p->cur = &p->tan;
    p->tan_mask_end = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !p->vals[n->out[0]].relevant)
            continue;
        TRY(n->op->tangent(&b, n));
        if (dmbp__mask_of(p, n))
            p->tan_mask_end = p->tan.n;
    }
    {
        dnnl_memory_desc_t pmd;
        TRY(dmbp__md_plain(&lg->shape, &pmd));
        TRY(plain_buffer(p, &lg->shape, &p->tan_out_plain));
        dnnl_primitive_desc_t pd;
        TRY(dmbp__be_reorder(p, &lg->md, &pmd, false, &pd));
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, lg->tan},
                                   {DNNL_ARG_DST, p->tan_out_plain}};
        TRY(dmbp__plan_prim(&b, NULL, pd, args, 2));
    }
    p->cur = &p->fwd;
    return DMBP_OK;
}

/* ---- public calls ------------------------------------------------------ */

static dmbp_status need_reverse(const dmbp_plan *p, const char *fn)
{
    if (!p)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL plan", fn);
    if (!p->reverse)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: the plan was made without "
                              "reverse = 1", fn);
    if (!p->has_run)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: run dmbp_plan_forward first "
                              "(its gates are what the pass freezes)", fn);
    return DMBP_OK;
}

static dmbp_status set_masks(dmbp_plan *p, const float *masks)
{
    size_t total = (size_t)p->lanes * (size_t)p->n_masks;
    if (!masks) {
        for (size_t i = 0; i < total; i++)
            p->mask_val[i] = 1.f;
        return DMBP_OK;
    }
    for (size_t i = 0; i < total; i++)
        if (!isfinite(masks[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "mask %zu is not "
                                  "finite", i);
    memcpy(p->mask_val, masks, total * sizeof(float));
    return DMBP_OK;
}

static void *value_ptr(dnnl_memory_t m)
{
    return dmbp__mem_ptr(m);
}

int64_t dmbp_plan_num_masks(const dmbp_plan *p)
{
    return p && p->reverse ? p->n_masks : 0;
}

int dmbp_plan_num_mask_layers(const dmbp_plan *p)
{
    return p && p->reverse ? p->n_mask_layers : 0;
}

dmbp_status dmbp_plan_mask_layer(const dmbp_plan *p, int i, const char **name,
                                 int *channels, int64_t *offset)
{
    if (!p || !p->reverse || i < 0 || i >= p->n_mask_layers)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_mask_layer: no mask "
                              "layer %d", i);
    if (p->split)
        p = dmbp__split_inner(p);
    if (name)
        *name = p->masks[i].node->name;
    if (channels)
        *channels = p->masks[i].channels;
    if (offset)
        *offset = p->masks[i].offset;
    return DMBP_OK;
}

dmbp_status dmbp_plan_backward(dmbp_plan *p, const float *seed,
                               const float *masks, unsigned flags,
                               float *mapping)
{
    TRY(need_reverse(p, "dmbp_plan_backward"));
    if (!seed)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_backward: NULL seed");
    if (flags & ~(unsigned)DMBP_BACKWARD_GUIDED)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_backward: unknown "
                              "flags 0x%x", flags);
    if (p->split)
        return dmbp__split_backward(p, seed, masks, flags, mapping);
    TRY(set_masks(p, masks));
    const dmbp_model *m = p->m;
    int64_t ns = dmbp_shape_numel(&p->vals[m->logits].shape);
    for (int64_t i = 0; i < ns; i++)
        if (!isfinite(seed[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "seed element %lld is "
                                  "not finite", (long long)i);
    memcpy(value_ptr(p->seed_plain), seed, (size_t)ns * sizeof(float));
    p->guided = (flags & DMBP_BACKWARD_GUIDED) != 0;
    p->kept_valid = false;
    dmbp_status st = dmbp__run_steps(p, &p->bwd);
    p->guided = false;
    TRY(st);
    p->kept_valid = true;
    if (mapping) {
        int64_t n = dmbp_shape_numel(&p->vals[m->input].shape);
        memcpy(mapping, value_ptr(p->vals[m->input].diff),
               (size_t)n * sizeof(float));
    }
    return DMBP_OK;
}

/* whole: the full tangent pass (its output at the logits is wanted);
 * else only the prefix that the mask gradient depends on. */
static dmbp_status run_tangent(dmbp_plan *p, const float *v, bool whole)
{
    const dmbp_model *m = p->m;
    int64_t n = dmbp_shape_numel(&p->vals[m->input].shape);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "tangent input element "
                                  "%lld is not finite", (long long)i);
    memcpy(value_ptr(p->vals[m->input].tan), v, (size_t)n * sizeof(float));
    memset(p->mask_grad, 0,
           (size_t)p->lanes * (size_t)p->n_masks * sizeof(float));
    if (whole)
        return dmbp__run_steps(p, &p->tan);
    dmbp__step_list prefix = {p->tan_mask_end, p->tan_mask_end, p->tan.s};
    return dmbp__run_steps(p, &prefix);
}

dmbp_status dmbp_plan_tangent(dmbp_plan *p, const float *v,
                              const float *masks, float *out)
{
    TRY(need_reverse(p, "dmbp_plan_tangent"));
    if (!v)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_tangent: NULL input");
    if (p->split)
        return dmbp__split_tangent(p, v, masks, out);
    if (masks || p->kept_valid) {
        /* Other masks than the kept signals were computed with. */
        p->kept_valid = false;
    }
    TRY(set_masks(p, masks));
    TRY(run_tangent(p, v, true));
    if (out) {
        int64_t k = dmbp_shape_numel(&p->vals[p->m->logits].shape);
        memcpy(out, value_ptr(p->tan_out_plain), (size_t)k * sizeof(float));
    }
    return DMBP_OK;
}

dmbp_status dmbp_plan_mask_grad(dmbp_plan *p, const float *v, float *grad)
{
    TRY(need_reverse(p, "dmbp_plan_mask_grad"));
    if (!v || !grad)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_mask_grad: NULL "
                              "argument");
    if (p->split)
        return dmbp__split_mask_grad(p, v, grad);
    if (!p->kept_valid)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_mask_grad: run "
                              "dmbp_plan_backward (after the forward pass, "
                              "with the masks to differentiate) first");
    TRY(run_tangent(p, v, false));
    memcpy(grad, p->mask_grad,
           (size_t)p->lanes * (size_t)p->n_masks * sizeof(float));
    return DMBP_OK;
}
