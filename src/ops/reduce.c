/* ReduceMean over some axes (never the batch axis), keepdims or not. Plain
 * row-major tensors: the mean is one n-d reduction (ops/nd.c). Linear, so
 * the tangent is the forward pass without biases and the backward pass
 * spreads each output's diff evenly over the positions it averaged. */
#include "nd.h"
#include "ops/lrp.h"

typedef struct reduce_params {
    int n_axes;                    /* -1: all axes (refused at infer) */
    int64_t axes[DMBP_MAX_DIMS];
    bool keepdims;
} reduce_params;

static dmbp_status reducemean_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axes", "keepdims",
                                     "noop_with_empty_axes", NULL};
    TRY(dmbp__attr_only(n, ok));
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    reduce_params *rp = dmbp__calloc(1, sizeof *rp);
    if (!rp)
        return DMBP_ERR_NOMEM;
    n->priv = rp;
    int64_t kd, noop;
    TRY(dmbp__attr_int(n, "keepdims", 1, &kd));
    TRY(dmbp__attr_int(n, "noop_with_empty_axes", 0, &noop));
    if ((kd != 0 && kd != 1) || (noop != 0 && noop != 1))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute %s must be 0 "
                                "or 1", kd != 0 && kd != 1 ? "keepdims"
                                : "noop_with_empty_axes");
    rp->keepdims = kd != 0;
    /* Opset 18 moved axes to input 1. */
    TRY(dmbp__nd_axes(n, "axes", m->opset >= 18 ? 1 : -1, rp->axes, &rp->n_axes));
    if (rp->n_axes <= 0 && noop)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "no axes with "
                                "noop_with_empty_axes (an identity)");
    return DMBP_OK;
}

/* The reduced shape with kept (size-1) dimensions. */
static dmbp_status kept_shape(const dmbp_node *n, const dmbp_shape *x,
                              dmbp_shape *k, int64_t *count)
{
    const reduce_params *rp = n->priv;
    if (rp->n_axes <= 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "reduces over all "
                                "axes, including the batch axis 0 (the "
                                "images of a batch must stay independent)");
    bool mask[DMBP_MAX_DIMS];
    TRY(dmbp__nd_axes_mask(n, rp->axes, rp->n_axes, x->ndim, mask));
    *k = *x;
    *count = 1;
    for (int d = 0; d < x->ndim; d++)
        if (mask[d]) {
            *count *= x->dims[d]; /* bounded by x's checked numel */
            k->dims[d] = 1;
        }
    return DMBP_OK;
}

static dmbp_status reducemean_infer(const dmbp_node *n, const dmbp_shape *in,
                                    dmbp_shape *out)
{
    const reduce_params *rp = n->priv;
    dmbp_shape k;
    int64_t count;
    TRY(kept_shape(n, &in[0], &k, &count));
    if (rp->keepdims) {
        *out = k;
        return DMBP_OK;
    }
    bool mask[DMBP_MAX_DIMS];
    TRY(dmbp__nd_axes_mask(n, rp->axes, rp->n_axes, in[0].ndim, mask));
    out->ndim = 0;
    for (int d = 0; d < in[0].ndim; d++)
        if (!mask[d])
            out->dims[out->ndim++] = in[0].dims[d];
    return DMBP_OK;
}

/* dst = mean of src (plain, x's shape) into the kept shape's bytes. */
static dmbp_status mean_step(dmbp__builder *b, const dmbp_node *n,
                             dnnl_memory_t src, dnnl_memory_t dst)
{
    const dmbp_shape *xs = dmbp__val_shape(b, n->in[0]);
    dmbp_shape k;
    int64_t count;
    TRY(kept_shape(n, xs, &k, &count));
    dmbp__nd_reduce *r;
    TRY(dmbp__nd_reduce_make(xs, &k, &r));
    return dmbp__nd_add_reduce(b, n, r, 1.f / (float)count, dst, src);
}

static dmbp_status reducemean_plan(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_memory_desc_t xmd, ymd;
    dnnl_memory_t x;
    TRY(dmbp__nd_plain_in(b, n->in[0], &xmd, &x));
    TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[0]), &ymd));
    TRY(dmbp__plan_output(b, n->out[0], &ymd));
    return mean_step(b, n, x, dmbp__val_mem(b, n->out[0]));
}

static dmbp_status reducemean_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dmbp_shape k;
    int64_t count;
    TRY(kept_shape(n, &x->shape, &k, &count));
    dnnl_memory_desc_t xmd, kmd;
    TRY(dmbp__md_plain(&x->shape, &xmd));
    TRY(dmbp__md_plain(&k, &kmd));
    dnnl_memory_t dy, dx;
    TRY(dmbp__plan_view(b, &kmd, y->diff, &dy));
    TRY(dmbp__diff_target(b, n->in[0], &xmd, &dx));
    /* The kept shape broadcasts over x's. */
    const dmbp_shape *ks[1] = {&k};
    TRY(dmbp__nd_add_step_s(b, n, &x->shape, ND_SCALE, false, 1.f / (float)count,
                      dx, ks, &dy, 1));
    return dmbp__diff_commit(b, n->in[0], &xmd, dx);
}

static dmbp_status reducemean_tangent(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_memory_t t;
    TRY(dmbp__nd_plain_tan(b, n->in[0], &t));
    return mean_step(b, n, t, dmbp__val_tan(b, n->out[0]));
}

/* LRP: as average pooling, input i gets x_i / count R / stab(y) of the
 * mean it enters. */
static dmbp_status reducemean_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const reduce_params *rp = n->priv;
    const dmbp_shape *x = &io->in_shapes[0];
    dmbp_shape k;
    int64_t count;
    TRY(kept_shape(n, x, &k, &count));
    bool mask[DMBP_MAX_DIMS];
    TRY(dmbp__nd_axes_mask(n, rp->axes, rp->n_axes, x->ndim, mask));
    int64_t total = dmbp_shape_numel(x);
    for (int64_t i = 0; io->rin[0] && i < total; i++) {
        /* The kept output this element averages into. */
        int64_t rest = i, o = 0, stride = 1;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t c = rest % x->dims[d];
            rest /= x->dims[d];
            if (!mask[d])
                o += c * stride;
            stride *= k.dims[d];
        }
        io->rin[0][i] = io->in[0][i] / (float)count * io->rout[0][o] /
                        dmbp__lrp_stab(io->out[0][o], io->rule->epsilon);
    }
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_reducemean = {
    .type = "ReduceMean", .check = reducemean_check,
    .infer = reducemean_infer, .plan = reducemean_plan,
    .backward = reducemean_backward, .tangent = reducemean_tangent,
    .lrp = reducemean_lrp, .release = free};
