/* Softmax, normally the graph's last op: the logits are its input
 * (graph.c), the attribution methods start from them, and dmbp_plan_output
 * gives the probabilities it computes. Before opset 13 it
 * works on the input coerced to 2-D at `axis`; from 13 on one axis. */
#include "ops/ops.h"

static dmbp_status softmax_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axis", NULL};
    (void)m;
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    return dmbp__attr_only(n, ok);
}

static dmbp_status softmax_infer(const dmbp_node *n, const dmbp_shape *in,
                                 dmbp_shape *out)
{
    int64_t axis;
    int ax;
    TRY(dmbp__attr_int(n, "axis", n->model->opset < 13 ? 1 : -1, &axis));
    TRY(dmbp__axis(n, axis, in[0].ndim ? in[0].ndim : 1, &ax));
    *out = in[0];
    return DMBP_OK;
}

static dmbp_status softmax_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    int64_t axis;
    int ax, r = x->shape.ndim ? x->shape.ndim : 1;
    TRY(dmbp__attr_int(n, "axis", n->model->opset < 13 ? 1 : -1, &axis));
    TRY(dmbp__axis(n, axis, r, &ax));
    /* Axis 0 normalises across the images of a batch (before opset 13,
     * any axis 0 coerces the whole batch into one row). */
    if (ax == 0 && !dmbp__plan_whole_tensor(b))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "mixes the batch "
                                "axis: softmax over axis 0 of a batched "
                                "tensor");
    dnnl_memory_desc_t xplain, ymd, smd;
    TRY(dmbp__md_plain(&x->shape, &xplain));
    TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[0]), &ymd));
    dnnl_memory_t src, view, dst;
    TRY(dmbp__plan_input_as(b, n->in[0], &xplain, &src));
    int sax = ax;
    smd = xplain;
    view = src;
    if (n->model->opset < 13) {
        dmbp_shape s2 = {2, {1, 1}};
        for (int i = 0; i < x->shape.ndim; i++)
            s2.dims[i < ax ? 0 : 1] *= x->shape.dims[i];
        TRY(dmbp__md_plain(&s2, &smd));
        TRY(dmbp__plan_view(b, &smd, src, &view));
        sax = 1;
    }
    TRY(dmbp__plan_scratch_mem(b, &smd, &dst));
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_softmax(b, n, &smd, sax, &pd));
    dmbp_status st = dmbp__plan_output_alias(b, n->out[0], &ymd, dst);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, view}, {DNNL_ARG_DST, dst}};
    return dmbp__plan_prim(b, n, pd, args, 2);
}

const dmbp__op_entry dmbp__op_softmax = {
    .type = "Softmax", .check = softmax_check, .infer = softmax_infer,
    .plan = softmax_plan,
    .traits = DMBP_OP_OUTPUT_NORMALIZER};
