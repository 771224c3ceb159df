/* Transpose and Slice: data movement by oneDNN reorders between plain
 * tensors and views of them. Transpose writes the input into the output's
 * bytes through a description of the input's dimensions with the output's
 * strides permuted; Slice reads a sub-memory of the plain input. Neither
 * may touch the batch axis 0 (its images must stay independent). Both
 * are linear: backward is the inverse movement (Slice: into zeros). */
#include "nd.h"
#include "ops/lrp.h"

/* ---- Transpose ---------------------------------------------------------- */

typedef struct transpose_params {
    int n;                          /* -1: reverse the axes */
    int64_t perm[DMBP_MAX_DIMS];
} transpose_params;

static dmbp_status transpose_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"perm", NULL};
    TRY(dmbp__attr_only(n, ok));
    (void)m;
    if (!dmbp__has_in(n, 0) || n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs one input and "
                                "one output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its input is a "
                                "constant");
    transpose_params *tp = dmbp__calloc(1, sizeof *tp);
    if (!tp)
        return DMBP_ERR_NOMEM;
    n->priv = tp;
    return dmbp__attr_ints(n, "perm", tp->perm, DMBP_MAX_DIMS, &tp->n);
}

/* perm for rank r, validated. */
static dmbp_status get_perm(const dmbp_node *n, int r, int *perm)
{
    const transpose_params *tp = n->priv;
    if (tp->n >= 0 && tp->n != r)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "attribute perm has %d "
                                "entries for rank %d", tp->n, r);
    bool seen[DMBP_MAX_DIMS] = {false};
    for (int j = 0; j < r; j++) {
        int64_t a = tp->n >= 0 ? tp->perm[j] : r - 1 - j;
        if (a < 0 || a >= r || seen[a])
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute perm is "
                                    "not a permutation of 0..%d", r - 1);
        seen[a] = true;
        perm[j] = (int)a;
    }
    if (r > 1 && perm[0] != 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "attribute perm "
                                "moves the batch axis 0 (the images of a "
                                "batch must stay independent)");
    return DMBP_OK;
}

static dmbp_status transpose_infer(const dmbp_node *n, const dmbp_shape *in,
                                   dmbp_shape *out)
{
    int perm[DMBP_MAX_DIMS];
    TRY(get_perm(n, in[0].ndim, perm));
    out->ndim = in[0].ndim;
    for (int j = 0; j < in[0].ndim; j++)
        out->dims[j] = in[0].dims[perm[j]];
    return DMBP_OK;
}

/* The output's plain bytes described with the input's dimensions. */
static dmbp_status permuted_md(const dmbp_node *n, const dmbp_shape *x,
                               dnnl_memory_desc_t *md)
{
    int perm[DMBP_MAX_DIMS];
    TRY(get_perm(n, x->ndim, perm));
    int r = x->ndim > 0 ? x->ndim : 1;
    dnnl_dims_t dims, strides;
    int64_t ystride = 1;
    for (int j = r - 1; j >= 0; j--) {
        int a = x->ndim > 0 ? perm[j] : 0;
        dims[a] = x->ndim > 0 ? x->dims[a] : 1;
        strides[a] = ystride;
        ystride *= dims[a]; /* bounded by the checked numel */
    }
    return dmbp__md_strided(r, dims, strides, md);
}

static dmbp_status transpose_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    dnnl_memory_desc_t ymd, pmd;
    TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[0]), &ymd));
    TRY(permuted_md(n, &x->shape, &pmd));
    dnnl_memory_t src = x->mem, view;
    dnnl_memory_desc_t xmd = x->md;
    TRY(dmbp__plan_output(b, n->out[0], &ymd));
    TRY(dmbp__plan_view(b, &pmd, dmbp__val_mem(b, n->out[0]), &view));
    return dmbp__reorder_step(b, src, &xmd, view, &pmd);
}

static dmbp_status transpose_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t xmd, pmd;
    TRY(dmbp__md_plain(&x->shape, &xmd));
    TRY(permuted_md(n, &x->shape, &pmd));
    dnnl_memory_t view, dx;
    TRY(dmbp__plan_view(b, &pmd, y->diff, &view));
    TRY(dmbp__diff_target(b, n->in[0], &xmd, &dx));
    TRY(dmbp__reorder_step(b, view, &pmd, dx, &xmd));
    return dmbp__diff_commit(b, n->in[0], &xmd, dx);
}

static dmbp_status transpose_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t pmd;
    TRY(permuted_md(n, &x->shape, &pmd));
    dnnl_memory_t view;
    TRY(dmbp__plan_view(b, &pmd, y->tan, &view));
    return dmbp__reorder_step(b, x->tan, &x->md, view, &pmd);
}

/* LRP: relevance goes back to where each element came from. */
static dmbp_status transpose_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    int perm[DMBP_MAX_DIMS];
    const dmbp_shape *x = &io->in_shapes[0], *y = &io->out_shapes[0];
    TRY(get_perm(n, x->ndim, perm));
    int64_t count = dmbp_shape_numel(y);
    for (int64_t j = 0; io->rin[0] && j < count; j++)
        io->rin[0][dmbp__lrp_place(x, y, NULL, perm, j)] = io->rout[0][j];
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_transpose = {
    .type = "Transpose", .check = transpose_check, .infer = transpose_infer,
    .plan = transpose_plan, .backward = transpose_backward,
    .tangent = transpose_tangent, .lrp = transpose_lrp, .release = free,
    .traits = DMBP_OP_LAYOUT};

/* ---- Slice --------------------------------------------------------------- */

typedef struct slice_params {
    int n;                          /* axes listed */
    int64_t starts[DMBP_MAX_DIMS], ends[DMBP_MAX_DIMS];
    int64_t axes[DMBP_MAX_DIMS];    /* as given (may be negative) */
    bool have_axes;
} slice_params;

/* Constant int64 list from input i (opset >= 10) or attribute name. */
static dmbp_status slice_list(dmbp_model *m, dmbp_node *n, int i,
                              const char *name, int64_t *buf, int *count)
{
    if (m->opset < 10)
        return dmbp__attr_ints(n, name, buf, DMBP_MAX_DIMS, count);
    *count = -1;
    if (!dmbp__has_in(n, i))
        return DMBP_OK;
    const dmbp__value *v = dmbp__const_in(n, i);
    if (!v || v->dtype != DT_INT64)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d (%s) "
                                "must be a constant int64 tensor", i, name);
    int64_t k = dmbp_shape_numel(&v->shape);
    if (v->shape.ndim != 1 || k > DMBP_MAX_DIMS)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d (%s) "
                                "must be 1-D with at most %d entries", i,
                                name, DMBP_MAX_DIMS);
    memcpy(buf, v->i64, (size_t)k * sizeof(int64_t));
    *count = (int)k;
    return DMBP_OK;
}

static dmbp_status slice_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok9[] = {"starts", "ends", "axes", NULL};
    static const char *const ok10[] = {NULL};
    TRY(dmbp__attr_only(n, m->opset < 10 ? ok9 : ok10));
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    slice_params *sp = dmbp__calloc(1, sizeof *sp);
    if (!sp)
        return DMBP_ERR_NOMEM;
    n->priv = sp;
    int ns, ne, na, nst;
    int64_t steps[DMBP_MAX_DIMS];
    TRY(slice_list(m, n, 1, "starts", sp->starts, &ns));
    TRY(slice_list(m, n, 2, "ends", sp->ends, &ne));
    TRY(slice_list(m, n, 3, "axes", sp->axes, &na));
    TRY(slice_list(m, n, 4, "steps", steps, &nst));
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) ||
        (nst >= 0 && nst != ns))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "starts, ends, axes and "
                                "steps must have the same length");
    for (int i = 0; i < nst; i++)
        if (steps[i] != 1)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "step %lld "
                                    "(only 1)", (long long)steps[i]);
    sp->n = ns;
    sp->have_axes = na >= 0;
    return DMBP_OK;
}

/* Output dims and offsets into the input for input shape x. */
static dmbp_status slice_geom(const dmbp_node *n, const dmbp_shape *x,
                              dmbp_shape *y, dnnl_dims_t offs)
{
    const slice_params *sp = n->priv;
    *y = *x;
    for (int d = 0; d < x->ndim; d++)
        offs[d] = 0;
    bool seen[DMBP_MAX_DIMS] = {false};
    for (int i = 0; i < sp->n; i++) {
        int a;
        TRY(dmbp__axis(n, sp->have_axes ? sp->axes[i] : i, x->ndim, &a));
        if (seen[a])
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "axis %d is sliced "
                                    "twice", a);
        seen[a] = true;
        if (a == 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "slices the "
                                    "batch axis 0 (the images of a batch "
                                    "must stay independent)");
        int64_t dim = x->dims[a], s = sp->starts[i], e = sp->ends[i];
        /* ONNX: negative counts from the end, then clamp to [0, dim]. */
        if (s < 0)
            s = s < -dim ? 0 : s + dim;
        if (e < 0)
            e = e < -dim ? 0 : e + dim;
        s = s > dim ? dim : s;
        e = e > dim ? dim : e;
        if (e <= s)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "empty slice "
                                    "of axis %d (empty tensors)", a);
        y->dims[a] = e - s;
        offs[a] = s;
    }
    return DMBP_OK;
}

static dmbp_status slice_infer(const dmbp_node *n, const dmbp_shape *in,
                               dmbp_shape *out)
{
    dnnl_dims_t offs;
    return slice_geom(n, &in[0], out, offs);
}

/* The sub-memory description of the slice within plain x. */
static dmbp_status slice_md(const dmbp_node *n, const dmbp_shape *x,
                            const dnnl_memory_desc_t *xmd,
                            dnnl_memory_desc_t *sub)
{
    dmbp_shape y;
    dnnl_dims_t offs;
    TRY(slice_geom(n, x, &y, offs));
    dnnl_dims_t dims;
    for (int d = 0; d < y.ndim; d++)
        dims[d] = y.dims[d];
    return dmbp__md_sub(xmd, dims, offs, sub);
}

static dmbp_status slice_plan(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_memory_desc_t xmd, ymd, sub;
    dnnl_memory_t x, view;
    TRY(dmbp__nd_plain_in(b, n->in[0], &xmd, &x));
    TRY(slice_md(n, dmbp__val_shape(b, n->in[0]), &xmd, &sub));
    TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[0]), &ymd));
    TRY(dmbp__plan_output(b, n->out[0], &ymd));
    TRY(dmbp__plan_view(b, &sub, x, &view));
    return dmbp__reorder_step(b, view, &sub, dmbp__val_mem(b, n->out[0]),
                              &ymd);
}

static dmbp_status zero_fn(dmbp_plan *p, const dmbp__step *s)
{
    memset(dmbp__mem_ptr(s->args[0].memory), 0, *(const size_t *)s->data);
    (void)p;
    return DMBP_OK;
}

static dmbp_status slice_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t xmd, sub;
    TRY(dmbp__md_plain(&x->shape, &xmd));
    TRY(slice_md(n, &x->shape, &xmd, &sub));
    dnnl_memory_t dx, view;
    TRY(dmbp__diff_target(b, n->in[0], &xmd, &dx));
    size_t *bytes = dmbp__malloc(sizeof *bytes);
    if (!bytes)
        return DMBP_ERR_NOMEM;
    *bytes = dmbp__md_size(&xmd);
    dnnl_exec_arg_t args[1] = {{DNNL_ARG_DST, dx}};
    TRY(dmbp__plan_fn(b, n, zero_fn, bytes, args, 1));
    TRY(dmbp__plan_view(b, &sub, dx, &view));
    TRY(dmbp__reorder_step(b, y->diff, &y->md, view, &sub));
    return dmbp__diff_commit(b, n->in[0], &xmd, dx);
}

static dmbp_status slice_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t xmd, sub;
    TRY(dmbp__md_plain(&x->shape, &xmd));
    TRY(slice_md(n, &x->shape, &xmd, &sub));
    dnnl_memory_t t, view;
    TRY(dmbp__nd_plain_tan(b, n->in[0], &t));
    TRY(dmbp__plan_view(b, &sub, t, &view));
    return dmbp__reorder_step(b, view, &sub, y->tan, &y->md);
}

/* LRP: the sliced elements get the output's relevance, the others none. */
static dmbp_status slice_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const dmbp_shape *x = &io->in_shapes[0];
    dmbp_shape y;
    dnnl_dims_t offs;
    TRY(slice_geom(n, x, &y, offs));
    if (!io->rin[0])
        return DMBP_OK;
    memset(io->rin[0], 0, (size_t)dmbp_shape_numel(x) * sizeof(float));
    int64_t o64[DMBP_MAX_DIMS], count = dmbp_shape_numel(&y);
    for (int d = 0; d < y.ndim; d++)
        o64[d] = offs[d];
    for (int64_t j = 0; j < count; j++)
        io->rin[0][dmbp__lrp_place(x, &y, o64, NULL, j)] = io->rout[0][j];
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_slice = {
    .type = "Slice", .check = slice_check, .infer = slice_infer,
    .plan = slice_plan, .backward = slice_backward,
    .tangent = slice_tangent, .lrp = slice_lrp, .release = free,
    .traits = DMBP_OP_LAYOUT};
