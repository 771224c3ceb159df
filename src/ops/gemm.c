/* Gemm and MatMul with constant weights: oneDNN matmul. Gemm's alpha is
 * folded into the weights and beta into the bias at load, so the plan
 * holds one weight matrix [K, N] in the primitive's layout. */
#include "ops/ops.h"

typedef struct gemm_params {
    int64_t k, n;
    float *w;          /* [K, N] row-major, alpha folded; owned */
    float *c;          /* bias, beta folded, c_rows x N (c_rows 1 or M) */
    int64_t c_rows;
    bool matmul;       /* MatMul: B may carry batch dims */
    dmbp_shape b_shape;
    /* How w and c were folded, to fold other weights the same way (a plan
     * may override a model's weights: the randomisation check). */
    float alpha, beta;
    bool trans_b;
    int64_t b_cols, c_cols;  /* B's stored columns; C's last dimension */
} gemm_params;

/* w = alpha * (B or B^T) as [K, N]. */
static void fold_w(const gemm_params *g, const float *B, float *w)
{
    for (int64_t i = 0; i < g->k; i++)
        for (int64_t j = 0; j < g->n; j++)
            w[i * g->n + j] = g->alpha * (g->trans_b ? B[j * g->b_cols + i]
                                                     : B[i * g->b_cols + j]);
}

/* c = beta * C broadcast to c_rows x N (zeros without C). */
static void fold_c(const gemm_params *g, const float *C, float *c)
{
    for (int64_t i = 0; i < g->c_rows; i++)
        for (int64_t j = 0; j < g->n; j++)
            c[i * g->n + j] =
                C ? g->beta * C[i * g->c_cols + (g->c_cols == 1 ? 0 : j)] : 0;
}

static void gemm_release(void *priv)
{
    gemm_params *g = priv;
    free(g->w);
    free(g->c);
    free(g);
}

static dmbp_status gemm_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"alpha", "beta", "transA", "transB",
                                     "broadcast", NULL};
    TRY(dmbp__attr_only(n, ok));
    if (n->n_in < 2 || n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs inputs A and B "
                                "and one output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "a constant A (only "
                                "B may be a constant)");
    float alpha, beta;
    int64_t ta, tb;
    TRY(dmbp__attr_float(n, "alpha", 1.f, &alpha));
    TRY(dmbp__attr_float(n, "beta", 1.f, &beta));
    TRY(dmbp__attr_int(n, "transA", 0, &ta));
    TRY(dmbp__attr_int(n, "transB", 0, &tb));
    if (ta)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "transA=1 (the "
                                "batch would be the inner dimension)");
    const value *bv;
    TRY(dmbp__need_const(n, 1, &bv));
    if (bv->shape.ndim != 2)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "B must be 2-D");
    gemm_params *g = dmbp__calloc(1, sizeof *g);
    if (!g)
        return DMBP_ERR_NOMEM;
    n->priv = g;
    int64_t r = bv->shape.dims[0], c = bv->shape.dims[1];
    g->k = tb ? c : r;
    g->n = tb ? r : c;
    g->alpha = alpha;
    g->beta = beta;
    g->trans_b = tb != 0;
    g->b_cols = c;
    g->c_cols = 1;
    g->w = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
    if (!g->w)
        return DMBP_ERR_NOMEM;
    fold_w(g, bv->f, g->w);
    g->c_rows = 1;
    g->c = dmbp__calloc((size_t)g->n, sizeof(float));
    if (!g->c)
        return DMBP_ERR_NOMEM;
    if (dmbp__has_in(n, 2)) {
        const value *cv;
        TRY(dmbp__need_const(n, 2, &cv));
        const dmbp_shape *cs = &cv->shape;
        /* C broadcasts to [M, N]: a scalar, [N], [1, N] or [1, 1] fold into
         * a bias row; [M, N] and [M, 1] keep one row per batch row. */
        int64_t cr = cs->ndim == 2 ? cs->dims[0] : 1;
        int64_t cc = cs->ndim >= 1 ? cs->dims[cs->ndim - 1] : 1;
        if (cs->ndim > 2 || (cc != 1 && cc != g->n))
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "C does not broadcast "
                                    "to [M, %lld]", (long long)g->n);
        if (cr != 1) {
            free(g->c);
            g->c = dmbp__malloc((size_t)(cr * g->n) * sizeof(float));
            if (!g->c)
                return DMBP_ERR_NOMEM;
            g->c_rows = cr;
        }
        g->c_cols = cc;
        fold_c(g, cv->f, g->c);
    }
    (void)m;
    return DMBP_OK;
}

static dmbp_status gemm_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    const gemm_params *g = n->priv;
    const dmbp_shape *a = &in[0];
    if (g->matmul) {
        const dmbp_shape *b = &g->b_shape;
        if (a->ndim < 2 || a->dims[a->ndim - 1] != b->dims[b->ndim - 2])
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "A's last dimension "
                                    "does not match B");
        if (b->ndim > 2) {
            if (b->ndim != a->ndim)
                return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "batched B "
                                        "must have A's rank");
            for (int i = 0; i < a->ndim - 2; i++)
                if (b->dims[i] != a->dims[i] && b->dims[i] != 1)
                    return dmbp__node_error(n, DMBP_ERR_SHAPE, "batch "
                                            "dimensions of A and B do not "
                                            "broadcast");
        }
        *out = *a;
        out->dims[a->ndim - 1] = b->dims[b->ndim - 1];
        return DMBP_OK;
    }
    /* Gemm: ONNX says A is 2-D; older exporters relied on broadcast of
     * [N, K] only. */
    if (a->ndim != 2 || a->dims[1] != g->k)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "A must be [M, %lld]",
                                (long long)g->k);
    if (g->c_rows != 1 && g->c_rows != a->dims[0])
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "C has %lld rows for "
                                "M = %lld", (long long)g->c_rows,
                                (long long)a->dims[0]);
    out->ndim = 2;
    out->dims[0] = a->dims[0];
    out->dims[1] = g->n;
    return DMBP_OK;
}

static dmbp_status matmul_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    if (n->n_in != 2 || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "needs a runtime A "
                                "and a constant B");
    const value *bv;
    TRY(dmbp__need_const(n, 1, &bv));
    if (bv->shape.ndim < 2)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "1-D B");
    gemm_params *g = dmbp__calloc(1, sizeof *g);
    if (!g)
        return DMBP_ERR_NOMEM;
    n->priv = g;
    g->matmul = true;
    g->b_shape = bv->shape;
    g->k = bv->shape.dims[bv->shape.ndim - 2];
    g->n = bv->shape.dims[bv->shape.ndim - 1];
    (void)m;
    return DMBP_OK;
}

static dmbp_status gemm_plan(plan_builder *b, const dmbp_node *n)
{
    const gemm_params *g = n->priv;
    const pvalue *a = dmbp__pval(b, n->in[0]);
    const dmbp_shape *ys = &b->p->vals[n->out[0]].shape;
    int r = a->shape.ndim;
    dmbp_shape ws, cs = *ys;
    const float *wdata = g->w, *cdata = g->c;
    float *wown = NULL, *cown = NULL;
    if (!g->matmul && (dmbp__plan_override(b, n->in[1]) ||
                       (dmbp__has_in(n, 2) &&
                        dmbp__plan_override(b, n->in[2])))) {
        wown = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
        cown = dmbp__malloc((size_t)(g->c_rows * g->n) * sizeof(float));
        if (!wown || !cown) {
            free(wown);
            free(cown);
            return DMBP_ERR_NOMEM;
        }
        fold_w(g, dmbp__const_f(b, n->in[1]), wown);
        fold_c(g, dmbp__has_in(n, 2) ? dmbp__const_f(b, n->in[2]) : NULL,
               cown);
        wdata = wown;
        cdata = cown;
    }
    if (g->matmul) {
        /* B gets A's rank with leading ones, as matmul broadcasting wants. */
        ws.ndim = r;
        int off = r - g->b_shape.ndim;
        for (int i = 0; i < r; i++)
            ws.dims[i] = i < off ? 1 : g->b_shape.dims[i - off];
        wdata = dmbp__const_f(b, n->in[1]);
    } else {
        ws.ndim = 2;
        ws.dims[0] = g->k;
        ws.dims[1] = g->n;
        cs.dims[0] = g->c_rows;
    }
    dnnl_memory_desc_t a_md, w_plain, w_any, c_md, y_md;
    dnnl_primitive_desc_t pd = NULL;
    dmbp_status st = dmbp__md_plain(&a->shape, &a_md);
    if (!st)
        st = dmbp__md_plain(&ws, &w_plain);
    if (!st)
        st = dmbp__md_any(&ws, &w_any);
    if (!st)
        st = dmbp__md_plain(&cs, &c_md);
    if (!st)
        st = dmbp__md_plain(ys, &y_md);
    /* bf16 plans: A and the weights in bf16, bias and output f32. */
    a_md = dmbp__md_dt(&a_md, dmbp__plan_in_dt(b));
    w_any = dmbp__md_dt(&w_any, dmbp__plan_in_dt(b));
    dnnl_matmul_desc_t md;
    if (!st && dnnl_matmul_desc_init(&md, &a_md, &w_any,
                                     g->matmul ? NULL : &c_md, &y_md))
        st = dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN matmul desc");
    dnnl_primitive_attr_t attr;
    if (!st)
        st = dmbp__plan_attr(&attr);
    if (!st) {
        dnnl_status_t s = dnnl_primitive_desc_create(&pd, &md, attr,
                                                     b->p->eng, NULL);
        dnnl_primitive_attr_destroy(attr);
        if (s != dnnl_success)
            st = dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no matmul "
                                  "for this shape (%s)", dnnl__status_str(s));
    }
    if (st) {
        free(wown);
        free(cown);
        return st;
    }
    const dnnl_memory_desc_t *w_md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t a_mem, w_mem, c_mem = NULL;
    st = dmbp__plan_input_as(b, n->in[0], &a_md, &a_mem);
    if (!st)
        st = (wown ? dmbp__plan_const_tmp : dmbp__plan_const)(
            b, wdata, &w_plain, w_md, &w_mem);
    if (!st && !g->matmul)
        st = (cown ? dmbp__plan_const_tmp : dmbp__plan_const)(
            b, cdata, &c_md, &c_md, &c_mem);
    free(wown);
    free(cown);
    if (!st)
        st = dmbp__plan_output(b, n->out[0], &y_md);
    if (st) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, a_mem},
                               {DNNL_ARG_WEIGHTS, w_mem},
                               {DNNL_ARG_DST, b->p->vals[n->out[0]].mem},
                               {DNNL_ARG_BIAS, c_mem}};
    return dmbp__plan_prim(b, n, pd, args, g->matmul ? 3 : 4);
}

/* The weights [K, N] (alpha folded) of a Gemm, or of a MatMul with a 2-D
 * B; batched B has no reverse passes. */
static dmbp_status weights_2d(plan_builder *b, const dmbp_node *n,
                              const float **w, float **owned)
{
    const gemm_params *g = n->priv;
    *owned = NULL;
    if (!g->matmul) {
        *w = g->w;
        if (dmbp__plan_override(b, n->in[1])) {
            *owned = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
            if (!*owned)
                return DMBP_ERR_NOMEM;
            fold_w(g, dmbp__const_f(b, n->in[1]), *owned);
            *w = *owned;
        }
        return DMBP_OK;
    }
    if (g->b_shape.ndim != 2)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "reverse passes "
                                "through a MatMul with a batched B");
    *w = dmbp__const_f(b, n->in[1]);
    return DMBP_OK;
}

/* src [.., M, r] x weights [r, c] -> dst [.., M, c], all plain, weights
 * given as plain data (rows x cols). */
static dmbp_status matmul_step(plan_builder *b, const dmbp_node *n,
                               const dmbp_shape *src_shape, dnnl_memory_t src,
                               const float *w, bool w_tmp, int64_t rows,
                               int64_t cols, dnnl_memory_t dst)
{
    int r = src_shape->ndim;
    dmbp_shape ws, ds = *src_shape;
    ws.ndim = r;
    for (int i = 0; i < r - 2; i++)
        ws.dims[i] = 1;
    ws.dims[r - 2] = rows;
    ws.dims[r - 1] = cols;
    ds.dims[r - 1] = cols;
    dnnl_memory_desc_t s_md, w_plain, w_any, d_md;
    TRY(dmbp__md_plain(src_shape, &s_md));
    TRY(dmbp__md_plain(&ws, &w_plain));
    TRY(dmbp__md_any(&ws, &w_any));
    TRY(dmbp__md_plain(&ds, &d_md));
    /* bf16 plans: the source converted to bf16 first, weights bf16. */
    dnnl_memory_desc_t s_in = dmbp__md_dt(&s_md, dmbp__plan_in_dt(b));
    w_any = dmbp__md_dt(&w_any, dmbp__plan_in_dt(b));
    TRY(dmbp__to_layout(b, src, &s_md, &s_in, &src));
    dnnl_matmul_desc_t md;
    DNNL_TRY(dnnl_matmul_desc_init(&md, &s_in, &w_any, NULL, &d_md));
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_desc_create(&pd, &md, attr, b->p->eng,
                                                 NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no matmul "
                                "for this shape (%s)", dnnl__status_str(s));
    dnnl_memory_t wm;
    dmbp_status st = (w_tmp ? dmbp__plan_const_tmp : dmbp__plan_const)(
        b, w, &w_plain,
        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &wm);
    if (st) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DST, dst}};
    return dmbp__plan_prim(b, n, pd, args, 3);
}

/* Backward: dA = (masked dY) W^T. */
static dmbp_status gemm_backward(plan_builder *b, const dmbp_node *n)
{
    const gemm_params *g = n->priv;
    dmbp_plan *p = b->p;
    const pvalue *a = &p->vals[n->in[0]], *y = &p->vals[n->out[0]];
    const float *w;
    float *owned;
    TRY(weights_2d(b, n, &w, &owned));
    float *wt = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
    if (!wt) {
        free(owned);
        return DMBP_ERR_NOMEM;
    }
    for (int64_t i = 0; i < g->k; i++)
        for (int64_t j = 0; j < g->n; j++)
            wt[j * g->k + i] = w[i * g->n + j];
    free(owned);
    const mask_layer *ml = dmbp__mask_of(p, n);
    dnnl_memory_t dy = y->diff, da;
    dnnl_memory_desc_t a_plain;
    dmbp_status st = dmbp__md_plain(&a->shape, &a_plain);
    if (!st && ml) {
        st = dmbp__plan_scratch_mem(b, &y->md, &dy);
        if (!st)
            st = dmbp__mask_backward(b, ml, y->diff, dy, &y->md);
    }
    if (!st)
        st = dmbp__diff_target(b, n->in[0], &a_plain, &da);
    if (!st)
        st = matmul_step(b, n, &y->shape, dy, wt, true, g->n, g->k, da);
    free(wt);
    TRY(st);
    return dmbp__diff_commit(b, n->in[0], &a_plain, da);
}

/* Tangent: Z = T(A) W without the bias, then the mask layer. */
static dmbp_status gemm_tangent(plan_builder *b, const dmbp_node *n)
{
    const gemm_params *g = n->priv;
    dmbp_plan *p = b->p;
    const pvalue *a = &p->vals[n->in[0]], *y = &p->vals[n->out[0]];
    const float *w;
    float *owned;
    TRY(weights_2d(b, n, &w, &owned));
    dnnl_memory_desc_t a_plain;
    dnnl_memory_t ta;
    dmbp_status st = dmbp__md_plain(&a->shape, &a_plain);
    if (!st)
        st = dmbp__to_layout(b, a->tan, &a->md, &a_plain, &ta);
    if (!st)
        st = matmul_step(b, n, &a->shape, ta, w, owned != NULL, g->k, g->n,
                         y->tan);
    free(owned);
    TRY(st);
    const mask_layer *ml = dmbp__mask_of(p, n);
    if (ml)
        TRY(dmbp__mask_tangent(b, ml, y->diff, y->tan, &y->md));
    return DMBP_OK;
}

const op_entry dmbp__op_gemm = {
    .type = "Gemm", .check = gemm_check, .infer = gemm_infer,
    .plan = gemm_plan, .backward = gemm_backward, .tangent = gemm_tangent,
    .release = gemm_release,
    .traits = DMBP_OP_WEIGHTS};
const op_entry dmbp__op_matmul = {
    .type = "MatMul", .check = matmul_check, .infer = gemm_infer,
    .plan = gemm_plan, .backward = gemm_backward, .tangent = gemm_tangent,
    .release = gemm_release,
    .traits = DMBP_OP_WEIGHTS};
