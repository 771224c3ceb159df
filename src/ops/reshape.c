/* Flatten, Reshape, Squeeze and Unsqueeze: the same bytes under other
 * dimensions. The input is
 * brought to plain row-major layout (a reorder only if it was blocked) and
 * the output is a view of it: no copy. */
#include "nd.h"
#include "ops/lrp.h"

static dmbp_status flatten_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axis", NULL};
    (void)m;
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    return dmbp__attr_only(n, ok);
}

static dmbp_status flatten_infer(const dmbp_node *n, const dmbp_shape *in,
                                 dmbp_shape *out)
{
    int64_t axis;
    TRY(dmbp__attr_int(n, "axis", 1, &axis));
    int r = in[0].ndim;
    if (axis < -r || axis > r)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "axis %lld out of range for "
                                "rank %d", (long long)axis, r);
    if (axis < 0)
        axis += r;
    out->ndim = 2;
    out->dims[0] = out->dims[1] = 1;
    for (int i = 0; i < r; i++) {
        int64_t *d = &out->dims[i < axis ? 0 : 1];
        if (!dmbp__mul_i64(*d, in[0].dims[i], d) || *d > DMBP_MAX_ELEMS)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "the flattened size "
                                    "exceeds %lld elements",
                                    (long long)DMBP_MAX_ELEMS);
    }
    return DMBP_OK;
}

typedef struct reshape_params {
    int n;
    int64_t shape[DMBP_MAX_DIMS];
    bool allowzero;
} reshape_params;

static dmbp_status reshape_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok5[] = {"allowzero", NULL};
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    reshape_params *rp = dmbp__calloc(1, sizeof *rp);
    if (!rp)
        return DMBP_ERR_NOMEM;
    n->priv = rp;
    (void)m; /* opsets >= 5 (we read >= 6): the shape is an input */
    TRY(dmbp__attr_only(n, ok5));
    int64_t az;
    TRY(dmbp__attr_int(n, "allowzero", 0, &az));
    rp->allowzero = az != 0;
    const dmbp__value *s = dmbp__const_in(n, 1);
    if (!s || s->dtype != DT_INT64)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "the shape must be "
                                "a constant int64 tensor (computed shapes "
                                "are not supported)");
    int64_t cnt = dmbp_shape_numel(&s->shape);
    if (s->shape.ndim != 1 || cnt > DMBP_MAX_DIMS)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "shape must be 1-D "
                                "with at most %d entries", DMBP_MAX_DIMS);
    rp->n = (int)cnt;
    for (int i = 0; i < rp->n; i++) {
        rp->shape[i] = s->i64[i];
        if (rp->shape[i] < -1 || rp->shape[i] > DMBP_MAX_DIM)
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "shape[%d] = %lld "
                                    "(-1 to %lld)", i,
                                    (long long)rp->shape[i],
                                    (long long)DMBP_MAX_DIM);
    }
    return DMBP_OK;
}

/* The output shape for target shape[] (rp->n entries). */
static dmbp_status reshape_to(const dmbp_node *n, const int64_t *shape,
                              const dmbp_shape *in, dmbp_shape *out)
{
    const reshape_params *rp = n->priv;
    int64_t total = dmbp_shape_numel(&in[0]), known = 1;
    int infer_at = -1;
    out->ndim = rp->n;
    for (int i = 0; i < rp->n; i++) {
        int64_t d = shape[i];
        if (d == 0 && !rp->allowzero) {
            if (i >= in[0].ndim)
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "0 at position %d "
                                        "copies a dimension the input lacks",
                                        i);
            d = in[0].dims[i];
        } else if (d == 0) {
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "allowzero "
                                    "with a zero dimension (empty tensor)");
        } else if (d == -1) {
            if (infer_at >= 0)
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "more than one "
                                        "-1 in the shape");
            infer_at = i;
            d = 1;
        } else if (d < 0) {
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "dimension %lld",
                                    (long long)d);
        }
        out->dims[i] = d;
        if (!dmbp__mul_i64(known, d, &known) || known > DMBP_MAX_ELEMS)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "the shape holds "
                                    "more than %lld elements",
                                    (long long)DMBP_MAX_ELEMS);
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "cannot infer -1: "
                                    "%lld elements into blocks of %lld",
                                    (long long)total, (long long)known);
        out->dims[infer_at] = total / known;
        known = total;
    }
    if (known != total) {
        char a[128], c[128];
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "cannot reshape %s into "
                                "%s", dmbp__shape_str(&in[0], a, sizeof a),
                                dmbp__shape_str(out, c, sizeof c));
    }
    return DMBP_OK;
}

static dmbp_status reshape_infer(const dmbp_node *n, const dmbp_shape *in,
                                 dmbp_shape *out)
{
    const reshape_params *rp = n->priv;
    return reshape_to(n, rp->shape, in, out);
}

/* A target that writes the load-time batch b0 as its first entry (an
 * export with a static batch: view(batch, ...) with batch folded to 1)
 * means "the batch" when this node kept b0 as axis 0 at load (the graph
 * checks that before calling): each lane is reshaped as it would be
 * alone. Any other target is read as written. */
static dmbp_status reshape_infer_lanes(const dmbp_node *n,
                                       const dmbp_shape *in, dmbp_shape *out,
                                       int64_t b0, int64_t lanes)
{
    const reshape_params *rp = n->priv;
    if (rp->n < 1 || rp->shape[0] != b0 || in[0].ndim < 1 ||
        in[0].dims[0] != lanes)
        return reshape_to(n, rp->shape, in, out);
    int64_t shape[DMBP_MAX_DIMS];
    memcpy(shape, rp->shape, (size_t)rp->n * sizeof *shape);
    shape[0] = lanes;
    return reshape_to(n, shape, in, out);
}

static dmbp_status view_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    dnnl_memory_desc_t xplain, ymd;
    TRY(dmbp__md_plain(&x->shape, &xplain));
    TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[0]), &ymd));
    dnnl_memory_t src;
    TRY(dmbp__plan_input_as(b, n->in[0], &xplain, &src));
    return dmbp__plan_output_alias(b, n->out[0], &ymd, src);
}

/* Reverse passes move the same bytes back and forth under the other
 * dimensions: the output's buffers are plain in its shape. */
static dmbp_status view_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]);
    dnnl_memory_desc_t xplain;
    dnnl_memory_t view;
    TRY(dmbp__md_plain(&x->shape, &xplain));
    TRY(dmbp__plan_view(b, &xplain, y->diff, &view));
    dnnl_memory_t dx;
    TRY(dmbp__diff_target(b, n->in[0], &xplain, &dx));
    TRY(dmbp__reorder_step(b, view, &xplain, dx, &xplain));
    return dmbp__diff_commit(b, n->in[0], &xplain, dx);
}

static dmbp_status view_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]);
    dnnl_memory_desc_t xplain;
    dnnl_memory_t view;
    TRY(dmbp__md_plain(&x->shape, &xplain));
    TRY(dmbp__plan_view(b, &xplain, y->tan, &view));
    return dmbp__reorder_step(b, x->tan, &x->md, view, &xplain);
}

/* Squeeze and Unsqueeze: axes as an attribute (before opset 13) or a
 * constant input. Never axis 0: removing or inserting a leading axis
 * would move the batch. */
typedef struct squeeze_params {
    int n;
    int64_t axes[DMBP_MAX_DIMS];
} squeeze_params;

static dmbp_status squeeze_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axes", NULL};
    TRY(dmbp__attr_only(n, ok));
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    squeeze_params *sp = dmbp__calloc(1, sizeof *sp);
    if (!sp)
        return DMBP_ERR_NOMEM;
    n->priv = sp;
    TRY(dmbp__nd_axes(n, "axes", m->opset >= 13 ? 1 : -1, sp->axes, &sp->n));
    if (sp->n <= 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "no axes: every "
                                "dimension of size 1 would go, the batch "
                                "axis too when it is 1");
    return DMBP_OK;
}

static dmbp_status squeeze_infer(const dmbp_node *n, const dmbp_shape *in,
                                 dmbp_shape *out)
{
    const squeeze_params *sp = n->priv;
    bool mask[DMBP_MAX_DIMS];
    TRY(dmbp__nd_axes_mask(n, sp->axes, sp->n, in[0].ndim, mask));
    out->ndim = 0;
    for (int d = 0; d < in[0].ndim; d++) {
        if (!mask[d]) {
            out->dims[out->ndim++] = in[0].dims[d];
        } else if (in[0].dims[d] != 1) {
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "axis %d has size "
                                    "%lld, not 1", d,
                                    (long long)in[0].dims[d]);
        }
    }
    return DMBP_OK;
}

static dmbp_status unsqueeze_infer(const dmbp_node *n, const dmbp_shape *in,
                                   dmbp_shape *out)
{
    const squeeze_params *sp = n->priv;
    int r = in[0].ndim + sp->n;
    if (r > DMBP_MAX_DIMS)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "output rank %d "
                                "(at most %d)", r, DMBP_MAX_DIMS);
    bool mask[DMBP_MAX_DIMS];
    TRY(dmbp__nd_axes_mask(n, sp->axes, sp->n, r, mask));
    out->ndim = r;
    for (int d = 0, k = 0; d < r; d++)
        out->dims[d] = mask[d] ? 1 : in[0].dims[k++];
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_flatten = {
    .type = "Flatten", .check = flatten_check, .infer = flatten_infer,
    .plan = view_plan, .backward = view_backward, .tangent = view_tangent,
    .lrp = dmbp__lrp_pass,
    .traits = DMBP_OP_LAYOUT};
const dmbp__op_entry dmbp__op_reshape = {
    .type = "Reshape", .check = reshape_check, .infer = reshape_infer,
    .infer_lanes = reshape_infer_lanes, .plan = view_plan, .backward = view_backward, .tangent = view_tangent,
    .lrp = dmbp__lrp_pass,
    .release = free,
    .traits = DMBP_OP_LAYOUT};
const dmbp__op_entry dmbp__op_squeeze = {
    .type = "Squeeze", .check = squeeze_check, .infer = squeeze_infer,
    .plan = view_plan, .backward = view_backward, .tangent = view_tangent,
    .lrp = dmbp__lrp_pass,
    .release = free,
    .traits = DMBP_OP_LAYOUT};
const dmbp__op_entry dmbp__op_unsqueeze = {
    .type = "Unsqueeze", .check = squeeze_check, .infer = unsqueeze_infer,
    .plan = view_plan, .backward = view_backward, .tangent = view_tangent,
    .lrp = dmbp__lrp_pass,
    .release = free,
    .traits = DMBP_OP_LAYOUT};
