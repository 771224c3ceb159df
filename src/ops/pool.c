/* MaxPool, AveragePool, GlobalAveragePool: oneDNN pooling in the layout of
 * the input. Max pooling runs in training mode so that oneDNN records
 * which input each output took (its workspace): the reverse passes use
 * those choices. */
#include "ops/ops.h"
#include "ops/lrp.h"

typedef struct pool_params {
    dmbp__window w;
    dmbp__be_pool_alg alg;
    bool global;
} pool_params;

static dmbp_status pool_new(dmbp_node *n, pool_params **out)
{
    if (!dmbp__has_in(n, 0) || n->n_out < 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs one input and an "
                                "output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its input is a "
                                "constant");
    pool_params *pp = dmbp__calloc(1, sizeof *pp);
    if (!pp)
        return DMBP_ERR_NOMEM;
    n->priv = pp;
    *out = pp;
    return DMBP_OK;
}

static int kernel_rank(const dmbp_node *n)
{
    const dmbp__node_attr *a = dmbp__attr(n, "kernel_shape");
    return a && a->type == ATTR_INTS ? a->n : 0;
}

static dmbp_status maxpool_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"auto_pad", "ceil_mode", "dilations",
                                     "kernel_shape", "pads", "storage_order",
                                     "strides", NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    pp->alg = DMBP__BE_POOL_MAX;
    TRY(dmbp__window_parse(n, kernel_rank(n), NULL, true, true, &pp->w));
    if (n->n_out > 1 && m->values[n->out[1]].consumers > 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "the Indices output "
                                "is not supported");
    return DMBP_OK;
}

static dmbp_status averagepool_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"auto_pad", "ceil_mode",
                                     "count_include_pad", "kernel_shape",
                                     "pads", "strides", NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    int64_t cip;
    TRY(dmbp__attr_int(n, "count_include_pad", 0, &cip));
    pp->alg = cip ? DMBP__BE_POOL_AVG_PAD : DMBP__BE_POOL_AVG;
    (void)m;
    return dmbp__window_parse(n, kernel_rank(n), NULL, true, false, &pp->w);
}

static dmbp_status gap_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    pp->alg = DMBP__BE_POOL_AVG;
    pp->global = true;
    (void)m;
    return DMBP_OK;
}

/* The window for an input shape (global pooling covers all of it). */
static dmbp_status pool_window(const dmbp_node *n, const dmbp_shape *x,
                               dmbp__window *w)
{
    const pool_params *pp = n->priv;
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > DMBP_MAX_SPATIAL)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input with %d "
                                "dimensions (3 to %d are supported)", x->ndim,
                                DMBP_MAX_SPATIAL + 2);
    if (pp->global) {
        memset(w, 0, sizeof *w);
        w->nsp = nsp;
        for (int i = 0; i < nsp; i++) {
            w->kernel[i] = x->dims[2 + i];
            w->stride[i] = w->dilation[i] = 1;
        }
        return DMBP_OK;
    }
    if (pp->w.nsp != nsp)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "kernel has %d dimensions "
                                "for an input with %d spatial dimensions",
                                pp->w.nsp, nsp);
    *w = pp->w;
    return DMBP_OK;
}

static dmbp_status pool_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    dmbp__window w;
    TRY(pool_window(n, &in[0], &w));
    int64_t pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    out[0] = in[0];
    TRY(dmbp__window_out(n, &w, in[0].dims + 2, out[0].dims + 2, pb, pe));
    const pool_params *pp = n->priv;
    /* oneDNN would count ceil mode's overhang as padding where PyTorch and
     * ONNX count only the declared pads. */
    if (pp->alg == DMBP__BE_POOL_AVG_PAD)
        for (int i = 0; i < w.nsp; i++)
            if (pe[i] > w.pad_end[i] && w.auto_pad == WINDOW_PAD_NOTSET)
                return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED,
                                        "count_include_pad with a ceil_mode "
                                        "window that overhangs the padding");
    if (n->n_out > 1)
        out[1] = out[0];
    return DMBP_OK;
}

/* Max pooling's choices for the reverse passes: for every output, the
 * flat spatial index of the input it took, the first maximum in scan order
 * as PyTorch takes it. Computed by hand on a plain copy of the input, so
 * the rule and the layout are ours, not oneDNN's workspace format. */
typedef struct pool_run {
    dmbp__window w;
    int64_t pb[DMBP_MAX_SPATIAL];
    dmbp_shape x, y;
    int32_t *choice;     /* numel(y), owned by the plan (arena) */
} pool_run;

static dmbp_status pool_run_new(dmbp__builder *b, const dmbp_node *n,
                                pool_run **out)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]);
    pool_run *r = dmbp__calloc(1, sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    int64_t o[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    dmbp_status st = pool_window(n, &x->shape, &r->w);
    if (!st)
        st = dmbp__window_out(n, &r->w, x->shape.dims + 2, o, r->pb, pe);
    if (st) {
        free(r);
        return st;
    }
    r->x = x->shape;
    r->y = dmbp__val(b, n->out[0])->shape;
    *out = r;
    return DMBP_OK;
}

/* Input plane offset of window element k (row-major over the kernel) of
 * output position oy (flat), or -1 when it falls in the padding. */
static int64_t window_at(const pool_run *r, int64_t oy, int64_t k)
{
    int nsp = r->w.nsp;
    int64_t idx = 0;
    int64_t oc[DMBP_MAX_SPATIAL], kc[DMBP_MAX_SPATIAL];
    for (int d = nsp - 1; d >= 0; d--) {
        oc[d] = oy % r->y.dims[2 + d];
        oy /= r->y.dims[2 + d];
        kc[d] = k % r->w.kernel[d];
        k /= r->w.kernel[d];
    }
    for (int d = 0; d < nsp; d++) {
        int64_t i = oc[d] * r->w.stride[d] - r->pb[d] + kc[d] * r->w.dilation[d];
        if (i < 0 || i >= r->x.dims[2 + d])
            return -1;
        idx = idx * r->x.dims[2 + d] + i;
    }
    return idx;
}

static int64_t spatial(const dmbp_shape *s)
{
    int64_t n = 1;
    for (int d = 2; d < s->ndim; d++)
        n *= s->dims[d];
    return n;
}

static int64_t kernel_size(const dmbp__window *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->nsp; d++)
        n *= w->kernel[d];
    return n;
}

static dmbp_status choices_fn(dmbp_plan *p, const dmbp__step *s)
{
    const pool_run *r = s->data;
    const float *x = dmbp__mem_ptr(s->args[0].memory);
    int32_t *ch = dmbp__mem_ptr(s->args[1].memory);
    int64_t planes = r->x.dims[0] * r->x.dims[1];
    int64_t xs = spatial(&r->x), ys = spatial(&r->y), ks = kernel_size(&r->w);
#pragma omp parallel for
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t o = 0; o < ys; o++) {
            int32_t best = -1;
            float bv = 0;
            for (int64_t k = 0; k < ks; k++) {
                int64_t i = window_at(r, o, k);
                if (i >= 0 && (best < 0 || x[pl * xs + i] > bv)) {
                    best = (int32_t)i;
                    bv = x[pl * xs + i];
                }
            }
            ch[pl * ys + o] = best;
        }
    (void)p;
    return DMBP_OK;
}

/* Scatter-add: overlapping windows may choose the same input. */
static dmbp_status scatter_fn(dmbp_plan *p, const dmbp__step *s)
{
    const pool_run *r = s->data;
    const int32_t *ch = dmbp__mem_ptr(s->args[0].memory);
    const float *dy = dmbp__mem_ptr(s->args[1].memory);
    float *dx = dmbp__mem_ptr(s->args[2].memory);
    int64_t planes = r->x.dims[0] * r->x.dims[1];
    int64_t xs = spatial(&r->x), ys = spatial(&r->y);
#pragma omp parallel for
    for (int64_t pl = 0; pl < planes; pl++) {
        float *d = dx + pl * xs;
        memset(d, 0, (size_t)xs * sizeof(float));
        for (int64_t o = 0; o < ys; o++)
            if (ch[pl * ys + o] >= 0)
                d[ch[pl * ys + o]] += dy[pl * ys + o];
    }
    (void)p;
    return DMBP_OK;
}

static dmbp_status gather_fn(dmbp_plan *p, const dmbp__step *s)
{
    const pool_run *r = s->data;
    const int32_t *ch = dmbp__mem_ptr(s->args[0].memory);
    const float *tx = dmbp__mem_ptr(s->args[1].memory);
    float *ty = dmbp__mem_ptr(s->args[2].memory);
    int64_t planes = r->x.dims[0] * r->x.dims[1];
    int64_t xs = spatial(&r->x), ys = spatial(&r->y);
#pragma omp parallel for
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t o = 0; o < ys; o++) {
            int32_t c = ch[pl * ys + o];
            ty[pl * ys + o] = c >= 0 ? tx[pl * xs + c] : 0.f;
        }
    (void)p;
    return DMBP_OK;
}

/* The choices buffer of node n (made by choices_plan): the plan keeps one
 * per max-pooling node, found again by the reverse hooks. */
static dmbp_status choices_md(const dmbp_shape *y, dnnl_memory_desc_t *md)
{
    return dmbp__md_vector(dmbp_shape_numel(y), dnnl_s32, md);
}

static dmbp_status choices_plan(dmbp__builder *b, const dmbp_node *n)
{
    pool_run *r;
    TRY(pool_run_new(b, n, &r));
    dnnl_memory_desc_t xplain, cmd;
    dnnl_memory_t xm, cm;
    dmbp_status st = dmbp__md_plain(&r->x, &xplain);
    if (!st)
        st = dmbp__plan_input_as(b, n->in[0], &xplain, &xm);
    if (!st)
        st = choices_md(&r->y, &cmd);
    if (!st)
        st = dmbp__plan_scratch_mem(b, &cmd, &cm);
    if (st) {
        free(r);
        return st;
    }
    /* The reverse hooks find the choices as this step's output. */
    dmbp__val_set_choice(b, n->out[0], cm);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, cm}};
    return dmbp__plan_fn(b, n, choices_fn, r, args, 2);
}

static dmbp_status maxpool_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    pool_run *r;
    TRY(pool_run_new(b, n, &r));
    dnnl_memory_desc_t xplain, yplain;
    dnnl_memory_t dy, dx;
    dmbp_status st = dmbp__md_plain(&r->x, &xplain);
    if (!st)
        st = dmbp__md_plain(&r->y, &yplain);
    if (!st)
        st = dmbp__to_layout(b, y->diff, &y->md, &yplain, &dy);
    if (!st)
        st = dmbp__diff_target(b, n->in[0], &xplain, &dx);
    if (st) {
        free(r);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_WORKSPACE, y->choice},
                               {DNNL_ARG_DIFF_DST, dy},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_fn(b, n, scatter_fn, r, args, 3));
    (void)x;
    return dmbp__diff_commit(b, n->in[0], &xplain, dx);
}

static dmbp_status maxpool_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    pool_run *r;
    TRY(pool_run_new(b, n, &r));
    dnnl_memory_desc_t xplain, yplain;
    dnnl_memory_t tx, ty;
    dmbp_status st = dmbp__md_plain(&r->x, &xplain);
    if (!st)
        st = dmbp__md_plain(&r->y, &yplain);
    if (!st)
        st = dmbp__to_layout(b, x->tan, &x->md, &xplain, &tx);
    ty = y->tan;
    if (!st && !dmbp__md_equal(&yplain, &y->md))
        st = dmbp__plan_scratch_mem(b, &yplain, &ty);
    if (st) {
        free(r);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_WORKSPACE, y->choice},
                               {DNNL_ARG_SRC, tx},
                               {DNNL_ARG_DST, ty}};
    TRY(dmbp__plan_fn(b, n, gather_fn, r, args, 3));
    if (ty != y->tan)
        TRY(dmbp__reorder_step(b, ty, &yplain, y->tan, &y->md));
    return DMBP_OK;
}

/* Average pooling is linear: oneDNN's backward pass, and its forward pass
 * again for the tangent. */
static dmbp_status avg_pd(dmbp__builder *b, const dmbp_node *n, bool bwd,
                          dnnl_primitive_desc_t *out)
{
    const pool_params *pp = n->priv;
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dmbp__window w;
    TRY(pool_window(n, &x->shape, &w));
    int64_t o[DMBP_MAX_SPATIAL], pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(dmbp__window_out(n, &w, x->shape.dims + 2, o, pb, pe));
    dmbp__be_geom g;
    for (int i = 0; i < w.nsp; i++) {
        g.strides[i] = w.stride[i];
        g.kernel[i] = w.kernel[i];
        g.dil[i] = w.dilation[i] - 1;
        g.pl[i] = pb[i];
        g.pr[i] = pe[i];
    }
    return dmbp__be_pool_pass(b, n, bwd, pp->alg, &x->md, &y->md, &g, out);
}

static dmbp_status avgpool_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_primitive_desc_t pd;
    TRY(avg_pd(b, n, true, &pd));
    dnnl_memory_t dx;
    dmbp_status st = dmbp__diff_target(b, n->in[0], &x->md, &dx);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DIFF_DST, y->diff},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_prim(b, n, pd, args, 2));
    return dmbp__diff_commit(b, n->in[0], &x->md, dx);
}

static dmbp_status avgpool_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_primitive_desc_t pd;
    TRY(avg_pd(b, n, false, &pd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, x->tan}, {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_prim(b, n, pd, args, 2);
}

static dmbp_status pool_plan(dmbp__builder *b, const dmbp_node *n)
{
    const pool_params *pp = n->priv;
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    dmbp__window w;
    TRY(pool_window(n, &x->shape, &w));
    int64_t o[DMBP_MAX_SPATIAL], pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(dmbp__window_out(n, &w, x->shape.dims + 2, o, pb, pe));
    dmbp__be_geom g;
    for (int i = 0; i < w.nsp; i++) {
        g.strides[i] = w.stride[i];
        g.kernel[i] = w.kernel[i];
        g.dil[i] = w.dilation[i] - 1;
        g.pl[i] = pb[i];
        g.pr[i] = pe[i];
    }
    const dmbp_shape *ys = dmbp__val_shape(b, n->out[0]);
    dnnl_memory_desc_t dst_any;
    TRY(dmbp__md_any(ys, &dst_any));
    bool max = pp->alg == DMBP__BE_POOL_MAX;
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_pool_fwd(b, n, max, pp->alg, &x->md, &dst_any, &g,
                          "pooling", &pd));
    const dnnl_memory_desc_t *dst_md = dmbp__be_pd_md(pd, DMBP__BE_DST);
    const dnnl_memory_desc_t *ws_md = dmbp__be_pd_md(pd, DMBP__BE_WORKSPACE);
    dnnl_memory_t ws = NULL;
    dnnl_memory_t src = x->mem;
    dmbp_status st = dmbp__plan_output(b, n->out[0], dst_md);
    if (!st && ws_md && dmbp__md_size(ws_md))
        st = dmbp__plan_scratch_mem(b, ws_md, &ws);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])},
                               {DNNL_ARG_WORKSPACE, ws}};
    TRY(dmbp__plan_prim(b, n, pd, args, ws ? 3 : 2));
    if (max && dmbp__plan_reverse(b))
        TRY(choices_plan(b, n));
    return DMBP_OK;
}

/* LRP: max pooling gives each output's relevance to the input it took
 * (the first maximum, as its gradient); average pooling to each input in
 * proportion to its share x_i / count of the output: R_i = sum over the
 * windows on i of x_i / count R / stab(y). */
static dmbp_status pool_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const pool_params *pp = n->priv;
    pool_run r;
    memset(&r, 0, sizeof r);
    int64_t o[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(pool_window(n, &io->in_shapes[0], &r.w));
    TRY(dmbp__window_out(n, &r.w, io->in_shapes[0].dims + 2, o, r.pb, pe));
    r.x = io->in_shapes[0];
    r.y = io->out_shapes[0];
    int64_t planes = r.x.dims[0] * r.x.dims[1];
    int64_t xs = spatial(&r.x), ys = spatial(&r.y), ks = kernel_size(&r.w);
    const float *x = io->in[0], *R = io->rout[0], *y = io->out[0];
    float *rin = io->rin[0];
    if (!rin)
        return DMBP_OK;
#pragma omp parallel for
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * xs;
        float *rp = rin + pl * xs;
        memset(rp, 0, (size_t)xs * sizeof(float));
        for (int64_t oy = 0; oy < ys; oy++) {
            float ro = R[pl * ys + oy];
            if (pp->alg == DMBP__BE_POOL_MAX) {
                int64_t best = -1;
                for (int64_t k = 0; k < ks; k++) {
                    int64_t i = window_at(&r, oy, k);
                    if (i >= 0 && (best < 0 || xp[i] > xp[best]))
                        best = i;
                }
                if (best >= 0)
                    rp[best] += ro;
                continue;
            }
            int64_t count = 0;
            for (int64_t k = 0; k < ks; k++)
                count += window_at(&r, oy, k) >= 0;
            if (pp->alg == DMBP__BE_POOL_AVG_PAD)
                count = ks;
            if (!count)
                continue;
            float s = ro / dmbp__lrp_stab(y[pl * ys + oy], io->rule->epsilon) /
                      (float)count;
            for (int64_t k = 0; k < ks; k++) {
                int64_t i = window_at(&r, oy, k);
                if (i >= 0)
                    rp[i] += xp[i] * s;
            }
        }
    }
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_maxpool = {
    .type = "MaxPool", .check = maxpool_check, .infer = pool_infer,
    .plan = pool_plan, .backward = maxpool_backward,
    .tangent = maxpool_tangent, .lrp = pool_lrp, .release = free,
    .traits = DMBP_OP_POOL};
const dmbp__op_entry dmbp__op_averagepool = {
    .type = "AveragePool", .check = averagepool_check, .infer = pool_infer,
    .plan = pool_plan, .backward = avgpool_backward,
    .tangent = avgpool_tangent, .lrp = pool_lrp, .release = free,
    .traits = DMBP_OP_POOL};
const dmbp__op_entry dmbp__op_globalaveragepool = {
    .type = "GlobalAveragePool", .check = gap_check, .infer = pool_infer,
    .plan = pool_plan, .backward = avgpool_backward,
    .tangent = avgpool_tangent, .lrp = pool_lrp, .release = free,
    .traits = DMBP_OP_POOL};
