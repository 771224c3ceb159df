/* Concat along any axis (SqueezeNet's fire modules and DenseNet's blocks
 * along channels): oneDNN concat, inputs in whatever layouts they have. */
#include "ops/ops.h"
#include "ops/lrp.h"

#define CONCAT_MAX_INPUTS DMBP_MAX_NODE_IO

static dmbp_status concat_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axis", NULL};
    TRY(dmbp__attr_only(n, ok));
    if (!dmbp__attr(n, "axis"))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "the axis attribute is "
                                "required");
    if (n->n_in < 1 || n->n_in > CONCAT_MAX_INPUTS || n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "1 to %d inputs",
                                CONCAT_MAX_INPUTS);
    for (int i = 0; i < n->n_in; i++) {
        if (!dmbp__has_in(n, i))
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "empty input name");
        const dmbp__value *v = dmbp__const_in(n, i);
        if (v && v->dtype != DT_FLOAT)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d is "
                                    "not float32", i);
    }
    (void)m;
    return DMBP_OK;
}

static dmbp_status concat_infer(const dmbp_node *n, const dmbp_shape *in,
                                dmbp_shape *out)
{
    int64_t axis;
    int ax;
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    TRY(dmbp__axis(n, axis, in[0].ndim, &ax));
    *out = in[0];
    for (int i = 1; i < n->n_in; i++) {
        if (in[i].ndim != in[0].ndim)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "input %d has rank "
                                    "%d, input 0 rank %d", i, in[i].ndim,
                                    in[0].ndim);
        for (int d = 0; d < in[0].ndim; d++)
            if (d != ax && in[i].dims[d] != in[0].dims[d])
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "input %d "
                                        "differs in dimension %d", i, d);
        if (!dmbp__add_i64(out->dims[ax], in[i].dims[ax], &out->dims[ax]) ||
            out->dims[ax] > DMBP_MAX_DIM)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "axis %d would "
                                    "exceed %lld", ax,
                                    (long long)DMBP_MAX_DIM);
    }
    return DMBP_OK;
}

static dmbp_status concat_plan(dmbp__builder *b, const dmbp_node *n)
{
    int64_t axis;
    int ax;
    const dmbp__pvalue *x0 = dmbp__pval(b, n->in[0]);
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    TRY(dmbp__axis(n, axis, x0->shape.ndim, &ax));
    dnnl_memory_desc_t mds[CONCAT_MAX_INPUTS];
    dnnl_exec_arg_t args[CONCAT_MAX_INPUTS + 1];
    for (int i = 0; i < n->n_in; i++) {
        const dmbp__pvalue *x = dmbp__pval(b, n->in[i]);
        if (!x)
            return dmbp__node_error(n, DMBP_ERR_INTERNAL, "input not ready");
        mds[i] = x->md;
        args[i].arg = DNNL_ARG_MULTIPLE_SRC + i;
        args[i].memory = x->mem;
    }
    dnnl_primitive_desc_t pd;
    /* NULL destination: oneDNN picks the layout that suits the inputs. */
    TRY(dmbp__be_concat(b, n, NULL, n->n_in, ax, mds, &pd));
    const dnnl_memory_desc_t *dst_md = dmbp__be_pd_md(pd, DMBP__BE_DST);
    dmbp_status st = dmbp__plan_output(b, n->out[0], dst_md);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    args[n->n_in].arg = DNNL_ARG_DST;
    args[n->n_in].memory = dmbp__val_mem(b, n->out[0]);
    return dmbp__plan_prim(b, n, pd, args, n->n_in + 1);
}

/* Backward: each input's diff is its slice of the output's diff, cut from a
 * plain copy (blocked layouts cannot be sliced at channel offsets that are
 * not multiples of the block). */
static dmbp_status concat_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    int64_t axis;
    int ax;
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    TRY(dmbp__axis(n, axis, y->shape.ndim, &ax));
    dnnl_memory_desc_t yplain;
    dnnl_memory_t dyp;
    TRY(dmbp__md_plain(&y->shape, &yplain));
    TRY(dmbp__to_layout(b, y->diff, &y->md, &yplain, &dyp));
    int64_t dims[DMBP_MAX_DIMS], offs[DMBP_MAX_DIMS] = {0};
    int64_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        for (int d = 0; d < x->shape.ndim; d++)
            dims[d] = x->shape.dims[d];
        offs[ax] = at;
        at += x->shape.dims[ax];
        if (dmbp__const_in(n, i))
            continue;
        dnnl_memory_desc_t sub;
        TRY(dmbp__md_sub(&yplain, dims, offs, &sub));
        dnnl_memory_t view, dx;
        TRY(dmbp__plan_view(b, &sub, dyp, &view));
        TRY(dmbp__diff_target(b, n->in[i], &x->md, &dx));
        TRY(dmbp__reorder_step(b, view, &sub, dx, &x->md));
        TRY(dmbp__diff_commit(b, n->in[i], &x->md, dx));
    }
    return DMBP_OK;
}

/* A constant input's tangent: zeros (the tangent pass drops what does not
 * depend on the input, as it drops biases). */
static dmbp_status zero_tangent(dmbp__builder *b, const dmbp_shape *s,
                                dnnl_memory_desc_t *md, dnnl_memory_t *out)
{
    TRY(dmbp__md_plain(s, md));
    float *zeros = dmbp__calloc((size_t)dmbp_shape_numel(s), sizeof *zeros);
    if (!zeros)
        return DMBP_ERR_NOMEM;
    dmbp_status st = dmbp__plan_const_tmp(b, zeros, md, md, out);
    free(zeros);
    return st;
}

static dmbp_status concat_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    int64_t axis;
    int ax;
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    TRY(dmbp__axis(n, axis, y->shape.ndim, &ax));
    dnnl_memory_desc_t mds[CONCAT_MAX_INPUTS];
    dnnl_exec_arg_t args[CONCAT_MAX_INPUTS + 1];
    for (int i = 0; i < n->n_in; i++) {
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        args[i].arg = DNNL_ARG_MULTIPLE_SRC + i;
        if (dmbp__const_in(n, i)) {
            TRY(zero_tangent(b, &x->shape, &mds[i], &args[i].memory));
            continue;
        }
        mds[i] = x->md;
        args[i].memory = x->tan;
    }
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_concat(b, n, &y->md, n->n_in, ax, mds, &pd));
    args[n->n_in].arg = DNNL_ARG_DST;
    args[n->n_in].memory = y->tan;
    return dmbp__plan_prim(b, n, pd, args, n->n_in + 1);
}

/* LRP: each input gets its part of the output's relevance. */
static dmbp_status concat_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    int64_t axis;
    int ax;
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    TRY(dmbp__axis(n, axis, io->out_shapes[0].ndim, &ax));
    int64_t outer = 1, total = 1;
    for (int d = 0; d < ax; d++)
        outer *= io->out_shapes[0].dims[d];
    for (int d = ax; d < io->out_shapes[0].ndim; d++)
        total *= io->out_shapes[0].dims[d];
    int64_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t inner = 1;
        for (int d = ax; d < io->in_shapes[i].ndim; d++)
            inner *= io->in_shapes[i].dims[d];
        for (int64_t o = 0; io->rin[i] && o < outer; o++)
            memcpy(io->rin[i] + o * inner, io->rout[0] + o * total + at,
                   (size_t)inner * sizeof(float));
        at += inner;
    }
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_concat = {
    .type = "Concat", .check = concat_check, .infer = concat_infer,
    .plan = concat_plan, .backward = concat_backward,
    .tangent = concat_tangent, .lrp = concat_lrp,
    .traits = DMBP_OP_LAYOUT};
