/* Gemm and MatMul with constant weights: oneDNN matmul. The weights are
 * read where the model holds them, through strides: B or its transpose
 * as [K, N] in the forward and tangent passes, as [N, K] in backward, so
 * a float32 plan adds no copy of them (fully connected layers hold most
 * of VGG's weights). Gemm's beta is folded into the bias at load, alpha
 * (when not 1) into a copy of the weights in the plan.
 *
 * A single row (one lane through a 2-D layer, e.g. `dmbp predict` of one
 * image) is a matrix-vector product: there oneDNN's matmul copies
 * strided weights into its blocked layout on every call (VGG16's first
 * fully connected layer: 14.5 against 7 ms), while its inner product
 * reads them in place with a GEMV that gives each output to one thread
 * (so the result does not depend on the thread count, unlike its GEMM
 * for several rows, which may split the reduction). float32 plans use
 * the inner product there (`one_row`), the matmul otherwise. */
#include "ops/ops.h"
#include "ops/lrp.h"

typedef struct gemm_params {
    int64_t k, n;
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
    const dmbp__value *bv;
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
    g->c_rows = 1;
    g->c = dmbp__calloc((size_t)g->n, sizeof(float));
    if (!g->c)
        return DMBP_ERR_NOMEM;
    if (dmbp__has_in(n, 2)) {
        const dmbp__value *cv;
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
    const dmbp__value *bv;
    TRY(dmbp__need_const(n, 1, &bv));
    if (bv->shape.ndim < 2)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "1-D B");
    gemm_params *g = dmbp__calloc(1, sizeof *g);
    if (!g)
        return DMBP_ERR_NOMEM;
    n->priv = g;
    g->matmul = true;
    g->alpha = 1.f;
    g->b_shape = bv->shape;
    g->k = bv->shape.dims[bv->shape.ndim - 2];
    g->n = bv->shape.dims[bv->shape.ndim - 1];
    (void)m;
    return DMBP_OK;
}

/* The weights as the right operand of a matmul of rank `rank`: [K, N]
 * (forward, tangent) or [N, K] (backward: W^T), leading dimensions 1.
 * For a 2-D B the model's array (or the plan's override of it) is read
 * in place through strides; *owned is a copy the caller frees when
 * Gemm's alpha is not 1 (alpha folded) or B is batched (plain copy not
 * needed: *owned stays NULL, the data is read as it is). */
static dmbp_status weight_operand(dmbp__builder *b, const dmbp_node *n,
                                  bool transposed, int rank,
                                  const float **data, float **owned,
                                  dnnl_memory_desc_t *md)
{
    const gemm_params *g = n->priv;
    *owned = NULL;
    const float *B = dmbp__const_f(b, n->in[1]);
    /* Stored row-major: Gemm's B is [N, K] with transB, else [K, N];
     * a 2-D MatMul B is [K, N]. */
    bool bt = !g->matmul && g->trans_b;
    int64_t row = g->matmul ? g->n : g->b_cols;
    if (!g->matmul && g->alpha != 1.f) {
        *owned = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
        if (!*owned)
            return DMBP_ERR_NOMEM;
        fold_w(g, B, *owned);
        B = *owned;
        bt = false;
        row = g->n;
    }
    /* Element (k, j) of [K, N] sits at k * sk + j * sj. */
    int64_t sk = bt ? 1 : row, sj = bt ? row : 1;
    dnnl_dims_t dims, strides;
    for (int i = 0; i < rank - 2; i++) {
        dims[i] = 1;
        strides[i] = g->k * g->n;
    }
    dims[rank - 2] = transposed ? g->n : g->k;
    dims[rank - 1] = transposed ? g->k : g->n;
    strides[rank - 2] = transposed ? sj : sk;
    strides[rank - 1] = transposed ? sk : sj;
    *data = B;
    if (dmbp__md_strided(rank, dims, strides, md)) {
        free(*owned);
        *owned = NULL;
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN weights desc");
    }
    return DMBP_OK;
}

/* The weights md to ask the primitive for: the stored layout itself in
 * float32 plans (no copy), any bf16 layout in bf16 plans. */
static dnnl_memory_desc_t weight_want(dmbp__builder *b,
                                      const dnnl_memory_desc_t *view)
{
    if (dmbp__plan_in_dt(b) == dnnl_f32)
        return *view;
    dnnl_memory_desc_t any;
    if (dmbp__md_any_like(view, dmbp__plan_in_dt(b), &any))
        return *view;
    return any;
}

/* Whether a float32 plan takes `one_row`'s inner product for a product
 * whose left operand has this shape: 2-D with one row, 2-D weights. */
static bool one_row(dmbp__builder *b, const dmbp_node *n,
                    const dmbp_shape *src)
{
    const gemm_params *g = n->priv;
    return dmbp__plan_in_dt(b) == dnnl_f32 && src->ndim == 2 &&
           src->dims[0] == 1 && !(g->matmul && g->b_shape.ndim != 2);
}

/* The inner product [1, in] x view -> [1, out] (+ bias [out]) on the
 * matmul view of the weights ([in, out], any strides): oneDNN's inner
 * product wants them as [out, in], so the view's two axes are swapped
 * into *w (same bytes, no copy). */
static dmbp_status one_row_pd(dmbp__builder *b, const dmbp_node *n,
                              const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *view,
                              const dnnl_memory_desc_t *bias,
                              const dnnl_memory_desc_t *dst,
                              dnnl_memory_desc_t *w,
                              dnnl_primitive_desc_t *pd)
{
    if (dmbp__md_swap2(view, w))
        return dmbp__node_error(n, DMBP_ERR_BACKEND,
                                "oneDNN inner product desc");
    return dmbp__be_inner_product(b, n, src, w, bias, dst, pd);
}

/* The matmul primitive descriptor src x weights (+ bias) -> dst, with the
 * plan's attributes; a shape oneDNN cannot do is the node's error. */
static dmbp_status matmul_pd(dmbp__builder *b, const dmbp_node *n,
                             const dnnl_memory_desc_t *src,
                             const dnnl_memory_desc_t *w,
                             const dnnl_memory_desc_t *bias,
                             const dnnl_memory_desc_t *dst,
                             dnnl_primitive_desc_t *pd)
{
    return dmbp__be_matmul(b, n, src, w, bias, dst, pd);
}

/* The product src (shape) x weights -> dst, for every pass: `one_row`'s
 * inner product on the stored weights, else the matmul with w_want.
 * *view (the weights' matmul view) and *bias (NULL: none) become the mds
 * the chosen primitive reads them through. */
static dmbp_status product_pd(dmbp__builder *b, const dmbp_node *n,
                              const dmbp_shape *shape,
                              const dnnl_memory_desc_t *src,
                              dnnl_memory_desc_t *view,
                              const dnnl_memory_desc_t *w_want,
                              dnnl_memory_desc_t *bias,
                              const dnnl_memory_desc_t *dst,
                              dnnl_primitive_desc_t *pd)
{
    if (!one_row(b, n, shape))
        return matmul_pd(b, n, src, w_want, bias, dst, pd);
    const gemm_params *g = n->priv;
    /* The bias as [N]: one row means C has one row too. */
    if (bias && dmbp__md_vector(g->n, dnnl_f32, bias))
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN bias desc");
    return one_row_pd(b, n, src, view, bias, dst, view, pd);
}

static dmbp_status gemm_plan(dmbp__builder *b, const dmbp_node *n)
{
    const gemm_params *g = n->priv;
    const dmbp__pvalue *a = dmbp__pval(b, n->in[0]);
    const dmbp_shape *ys = dmbp__val_shape(b, n->out[0]);
    int r = a->shape.ndim;
    dmbp_shape cs = *ys;
    const float *wdata = NULL, *cdata = g->c;
    float *wown = NULL, *cown = NULL;
    dnnl_memory_desc_t w_view;
    dmbp_status st = DMBP_OK;
    if (!g->matmul && dmbp__has_in(n, 2) && dmbp__plan_override(b, n->in[2])) {
        cown = dmbp__malloc((size_t)(g->c_rows * g->n) * sizeof(float));
        if (!cown)
            return DMBP_ERR_NOMEM;
        fold_c(g, dmbp__const_f(b, n->in[2]), cown);
        cdata = cown;
    }
    if (g->matmul && g->b_shape.ndim > 2) {
        /* Batched B: read as it is stored, B given A's rank. */
        dmbp_shape ws;
        ws.ndim = r;
        int off = r - g->b_shape.ndim;
        for (int i = 0; i < r; i++)
            ws.dims[i] = i < off ? 1 : g->b_shape.dims[i - off];
        wdata = dmbp__const_f(b, n->in[1]);
        st = dmbp__md_plain(&ws, &w_view);
    } else {
        st = weight_operand(b, n, false, r, &wdata, &wown, &w_view);
    }
    if (!g->matmul)
        cs.dims[0] = g->c_rows;
    dnnl_memory_desc_t a_md, c_md, y_md, w_want = w_view;
    dnnl_primitive_desc_t pd = NULL;
    if (!st)
        st = dmbp__md_plain(&a->shape, &a_md);
    if (!st)
        st = dmbp__md_plain(&cs, &c_md);
    if (!st)
        st = dmbp__md_plain(ys, &y_md);
    /* bf16 plans: A and the weights in bf16, bias and output f32. */
    if (!st) {
        a_md = dmbp__md_dt(&a_md, dmbp__plan_in_dt(b));
        w_want = weight_want(b, &w_view);
    }
    if (!st)
        st = product_pd(b, n, &a->shape, &a_md, &w_view, &w_want,
                        g->matmul ? NULL : &c_md, &y_md, &pd);
    if (st) {
        free(wown);
        free(cown);
        return st;
    }
    const dnnl_memory_desc_t *w_md =
        dmbp__be_pd_md(pd, DMBP__BE_WEIGHTS);
    dnnl_memory_t a_mem, w_mem, c_mem = NULL;
    st = dmbp__plan_input_as(b, n->in[0], &a_md, &a_mem);
    if (!st)
        st = (wown ? dmbp__plan_const_tmp : dmbp__plan_const)(
            b, wdata, &w_view, w_md, &w_mem);
    if (!st && !g->matmul)
        st = (cown ? dmbp__plan_const_tmp : dmbp__plan_const)(
            b, cdata, &c_md, &c_md, &c_mem);
    free(wown);
    free(cown);
    if (!st)
        st = dmbp__plan_output(b, n->out[0], &y_md);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, a_mem},
                               {DNNL_ARG_WEIGHTS, w_mem},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])},
                               {DNNL_ARG_BIAS, c_mem}};
    return dmbp__plan_prim(b, n, pd, args, g->matmul ? 3 : 4);
}

/* src [.., M, K or N] x the weights (or their transpose) -> dst, all
 * plain; batched B has no reverse passes. */
static dmbp_status matmul_step(dmbp__builder *b, const dmbp_node *n,
                               const dmbp_shape *src_shape, dnnl_memory_t src,
                               bool transposed, dnnl_memory_t dst)
{
    const gemm_params *g = n->priv;
    if (g->matmul && g->b_shape.ndim != 2)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "reverse passes "
                                "through a MatMul with a batched B");
    int r = src_shape->ndim;
    const float *w;
    float *owned;
    dnnl_memory_desc_t w_view;
    TRY(weight_operand(b, n, transposed, r, &w, &owned, &w_view));
    dmbp_shape ds = *src_shape;
    ds.dims[r - 1] = transposed ? g->k : g->n;
    dnnl_memory_desc_t s_md, d_md;
    dmbp_status st = dmbp__md_plain(src_shape, &s_md);
    if (!st)
        st = dmbp__md_plain(&ds, &d_md);
    /* bf16 plans: the source converted to bf16 first, weights bf16. */
    dnnl_memory_desc_t s_in = dmbp__md_dt(&s_md, dmbp__plan_in_dt(b));
    dnnl_memory_desc_t w_want = weight_want(b, &w_view);
    if (!st)
        st = dmbp__to_layout(b, src, &s_md, &s_in, &src);
    dnnl_primitive_desc_t pd = NULL;
    if (!st)
        st = product_pd(b, n, src_shape, &s_in, &w_view, &w_want, NULL,
                        &d_md, &pd);
    dnnl_memory_t wm;
    if (!st)
        st = (owned ? dmbp__plan_const_tmp : dmbp__plan_const)(
            b, w, &w_view,
            dmbp__be_pd_md(pd, DMBP__BE_WEIGHTS), &wm);
    free(owned);
    if (st) {
        if (pd)
            dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DST, dst}};
    return dmbp__plan_prim(b, n, pd, args, 3);
}

/* Backward: dA = (masked dY) W^T. */
static dmbp_status gemm_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *a = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    const dmbp__mask_layer *ml = dmbp__node_mask(b, n);
    dnnl_memory_t dy = y->diff, da;
    dnnl_memory_desc_t a_plain;
    TRY(dmbp__md_plain(&a->shape, &a_plain));
    if (ml) {
        TRY(dmbp__plan_scratch_mem(b, &y->md, &dy));
        TRY(dmbp__mask_backward(b, ml, y->diff, dy, &y->md));
    }
    TRY(dmbp__diff_target(b, n->in[0], &a_plain, &da));
    TRY(matmul_step(b, n, &y->shape, dy, true, da));
    return dmbp__diff_commit(b, n->in[0], &a_plain, da);
}

/* Tangent: Z = T(A) W without the bias, then the mask layer. */
static dmbp_status gemm_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *a = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t a_plain;
    dnnl_memory_t ta;
    TRY(dmbp__md_plain(&a->shape, &a_plain));
    TRY(dmbp__to_layout(b, a->tan, &a->md, &a_plain, &ta));
    TRY(matmul_step(b, n, &a->shape, ta, false, y->tan));
    const dmbp__mask_layer *ml = dmbp__node_mask(b, n);
    if (ml)
        TRY(dmbp__mask_tangent(b, ml, y->diff, y->tan, &y->md));
    return DMBP_OK;
}

/* LRP: rows x [K] times w [K, N] on plain tensors, and its transpose. */
typedef struct gemm_geo {
    int64_t rows, k, n;
} gemm_geo;

/* Columns of y per task of the forward: its sums stay in L1 while the
 * task walks its strip of w row by row (w is [k, n], row-major). */
#define GEMM_LRP_COLS 256

static dmbp_status gemm_map_fwd(const void *ctx, const float *w, int part,
                                const float *x, float *y)
{
    const gemm_geo *g = ctx;
    int64_t strips = (g->n + GEMM_LRP_COLS - 1) / GEMM_LRP_COLS;
    for (int64_t r = 0; r < g->rows; r++)
#pragma omp parallel for schedule(dynamic)
        for (int64_t s = 0; s < strips; s++) {
            double acc[GEMM_LRP_COLS] = {0};
            int64_t j0 = s * GEMM_LRP_COLS;
            int64_t nj = g->n - j0 < GEMM_LRP_COLS ? g->n - j0 : GEMM_LRP_COLS;
            for (int64_t i = 0; i < g->k; i++) {
                double xv = x[r * g->k + i];
                const float *wr = w + i * g->n + j0;
                for (int64_t j = 0; j < nj; j++)
                    acc[j] += xv * dmbp__lrp_wpart(wr[j], part);
            }
            for (int64_t j = 0; j < nj; j++)
                y[r * g->n + j0 + j] = (float)acc[j];
        }
    return DMBP_OK;
}

static dmbp_status gemm_map_bwd(const void *ctx, const float *w, int part,
                                const float *dy, float *dx)
{
    const gemm_geo *g = ctx;
    for (int64_t r = 0; r < g->rows; r++)
#pragma omp parallel for
        for (int64_t i = 0; i < g->k; i++) {
            const float *wr = w + i * g->n, *yr = dy + r * g->n;
            double acc = 0;
            for (int64_t j = 0; j < g->n; j++)
                acc += (double)dmbp__lrp_wpart(wr[j], part) * yr[j];
            dx[r * g->k + i] = (float)acc;
        }
    return DMBP_OK;
}

static dmbp_status gemm_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const gemm_params *g = n->priv;
    if (g->matmul && g->b_shape.ndim != 2)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: a batched B");
    gemm_geo geo = {dmbp_shape_numel(&io->in_shapes[0]) / g->k, g->k, g->n};
    bool pin_b = false;
    const float *B = dmbp__lrp_weight(n, io, 1, &pin_b);
    float *w = dmbp__malloc((size_t)(g->k * g->n) * sizeof(float));
    float *c = NULL;
    dmbp_status st = w ? DMBP_OK : DMBP_ERR_NOMEM;
    if (!st && !B)
        st = dmbp__node_error(n, DMBP_ERR_IO, "LRP: cannot read the weights");
    if (!st) {
        if (g->matmul)
            memcpy(w, B, (size_t)(g->k * g->n) * sizeof(float));
        else
            fold_w(g, B, w);
    }
    /* Gemm's bias: beta C folded at load, again for an override of C. */
    bool over_c = !g->matmul && dmbp__has_in(n, 2) && io->over &&
                  io->over[n->in[2]];
    if (!st && over_c) {
        c = dmbp__malloc((size_t)(g->c_rows * g->n) * sizeof(float));
        if (c)
            fold_c(g, io->over[n->in[2]], c);
        else
            st = DMBP_ERR_NOMEM;
    }
    if (!st) {
        dmbp__lrp_linear L = {
            .ctx = &geo, .n_in = geo.rows * g->k, .n_out = geo.rows * g->n,
            .n_w = g->k * g->n, .w = w, .fwd = gemm_map_fwd,
            .bwd = gemm_map_bwd, .bias = g->matmul ? NULL : c ? c : g->c,
            .bias_len = g->c_rows * g->n, .bias_inner = 1, .z = io->out[0]};
        st = dmbp__lrp_linear_rule(&L, io->rule, io->in[0], io->rout[0],
                                   io->rin[0]);
    }
    if (B)
        dmbp__lrp_weight_done(n, 1, pin_b);
    free(w);
    free(c);
    return st;
}

const dmbp__op_entry dmbp__op_gemm = {
    .type = "Gemm", .check = gemm_check, .infer = gemm_infer,
    .plan = gemm_plan, .backward = gemm_backward, .tangent = gemm_tangent,
    .lrp = gemm_lrp, .release = gemm_release,
    .traits = DMBP_OP_WEIGHTS};
const dmbp__op_entry dmbp__op_matmul = {
    .type = "MatMul", .check = matmul_check, .infer = gemm_infer,
    .plan = gemm_plan, .backward = gemm_backward, .tangent = gemm_tangent,
    .lrp = gemm_lrp, .release = gemm_release,
    .traits = DMBP_OP_WEIGHTS};
