/* Add: residual sums of two activations, or an activation plus a constant
 * broadcast along leading dimensions (numpy rules; the bigger operand
 * must have the output's shape). oneDNN binary in the layout of the
 * first operand. */
#include "ops/ops.h"
#include "ops/lrp.h"
#include "ops/nd.h"

static dmbp_status add_check(dmbp_model *m, dmbp_node *n)
{
    TRY(dmbp__nd_check_binary(n));
    (void)m;
    return DMBP_OK;
}

static dmbp_status add_infer(const dmbp_node *n, const dmbp_shape *in,
                             dmbp_shape *out)
{
    TRY(dmbp__nd_broadcast(n, &in[0], &in[1], out));
    if (!dmbp__shape_eq(out, &in[0]) && !dmbp__shape_eq(out, &in[1]))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "neither input has "
                                "the output's shape (two-sided broadcast)");
    return DMBP_OK;
}

static dmbp_status add_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp_shape *ys = dmbp__val_shape(b, n->out[0]);
    /* The full-shaped operand is src0 (a constant one is read plainly). */
    int i0 = 0, i1 = 1;
    if (!dmbp__shape_eq(dmbp__val_shape(b, n->in[0]), ys) ||
        (dmbp__const_in(n, 0) &&
         dmbp__shape_eq(dmbp__val_shape(b, n->in[1]), ys))) {
        i0 = 1;
        i1 = 0;
    }
    const dmbp__pvalue *x0 = dmbp__pval(b, n->in[i0]);
    const dmbp__pvalue *x1 = dmbp__pval(b, n->in[i1]);
    if (!x0 || !x1)
        return dmbp__node_error(n, DMBP_ERR_INTERNAL, "input not ready");
    dnnl_memory_desc_t md0 = x0->md, md1;
    dnnl_memory_t m0 = x0->mem, m1;
    if (dmbp__shape_eq(&x1->shape, ys)) {
        md1 = md0; /* same shape: read it in src0's layout */
        TRY(dmbp__plan_input_as(b, n->in[i1], &md1, &m1));
    } else {
        /* Broadcast operand: plain, at the output's rank with leading 1s
         * (the same bytes as its own plain layout). */
        dmbp_shape s1;
        s1.ndim = ys->ndim;
        int off = ys->ndim - x1->shape.ndim;
        for (int i = 0; i < ys->ndim; i++)
            s1.dims[i] = i < off ? 1 : x1->shape.dims[i - off];
        TRY(dmbp__md_plain(&s1, &md1));
        if (dmbp__const_in(n, i1)) {
            TRY(dmbp__plan_const(b, n->model->values[n->in[i1]].f, &md1,
                                 &md1, &m1));
        } else {
            dnnl_memory_desc_t p1;
            dnnl_memory_t plain1;
            TRY(dmbp__md_plain(&x1->shape, &p1));
            TRY(dmbp__plan_input_as(b, n->in[i1], &p1, &plain1));
            TRY(dmbp__plan_view(b, &md1, plain1, &m1));
        }
    }
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_add(b, n, &md0, &md1, &md0, &pd));
    dmbp_status st = dmbp__plan_output(b, n->out[0], &md0);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, m0},
                               {DNNL_ARG_SRC_1, m1},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    return dmbp__plan_prim(b, n, pd, args, 3);
}

/* Backward: each runtime operand receives the output's diff (a constant
 * operand is a bias: nothing to pass). */
static dmbp_status add_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        if (!dmbp__shape_eq(&x->shape, &y->shape))
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "reverse passes "
                                    "through a broadcast activation");
        /* dmbp__diff_commit adds into a diff already written (the
         * shortcut of a residual block, reached again) straight from
         * y's diff; only a first write needs a copy of its own. */
        dnnl_memory_t dx = y->diff;
        if (dmbp__diff_first(b, n->in[i])) {
            TRY(dmbp__diff_target(b, n->in[i], &y->md, &dx));
            TRY(dmbp__reorder_step(b, y->diff, &y->md, dx, &y->md));
        }
        TRY(dmbp__diff_commit(b, n->in[i], &y->md, dx));
    }
    return DMBP_OK;
}

/* Tangent: the sum of the runtime operands' tangents; constants drop. */
static dmbp_status add_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t t[2];
    int k = 0;
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        TRY(dmbp__to_layout(b, x->tan, &x->md, &y->md, &t[k]));
        k++;
    }
    if (k == 1)
        return dmbp__reorder_step(b, t[0], &y->md, y->tan, &y->md);
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_add(b, n, &y->md, &y->md, &y->md, &pd));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, t[0]},
                               {DNNL_ARG_SRC_1, t[1]},
                               {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_prim(b, n, pd, args, 3);
}

const dmbp__op_entry dmbp__op_add = {
    .type = "Add", .check = add_check, .infer = add_infer,
    .plan = add_plan, .backward = add_backward, .tangent = add_tangent,
    .lrp = dmbp__lrp_sum};
