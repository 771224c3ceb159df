/* Mul, Sub and Div with NumPy broadcasting: one operand constant (a
 * scale, an offset) or both computed (x * sigmoid(x), squeeze-excitation's
 * per-channel scale, a normalisation's division by its deviation). Plain
 * row-major tensors and hand-written sweeps (ops/nd.c).
 *
 * Reverse passes (dmbp-method.md section 1): a product of two computed
 * tensors is not linear in the input; like autograd, its reverse passes
 * use the local derivatives at the forward pass's operands, so
 * d(a b) = b da + a db and d(a / b) = da / b - (a / b^2) db with a and b
 * from the trace. A broadcast operand's gradient sums over the positions
 * it was repeated on. */
#include "nd.h"

typedef enum arith_kind { AR_MUL, AR_SUB, AR_DIV } arith_kind;

static const arith_kind kinds[] = {AR_MUL, AR_SUB, AR_DIV};

static dmbp_status arith_check(dmbp_model *m, dmbp_node *n, arith_kind k)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    (void)m;
    if (n->n_in != 2 || !dmbp__has_in(n, 0) || !dmbp__has_in(n, 1) ||
        n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs two inputs and "
                                "one output");
    for (int i = 0; i < 2; i++) {
        const value *v = dmbp__const_in(n, i);
        if (v && v->dtype != DT_FLOAT)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d "
                                    "('%s') is not float32", i, v->name);
    }
    if (dmbp__const_in(n, 0) && dmbp__const_in(n, 1))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "both inputs are "
                                "constants");
    n->priv = (void *)&kinds[k];
    return DMBP_OK;
}

static dmbp_status mul_check(dmbp_model *m, dmbp_node *n)
{
    return arith_check(m, n, AR_MUL);
}
static dmbp_status sub_check(dmbp_model *m, dmbp_node *n)
{
    return arith_check(m, n, AR_SUB);
}
static dmbp_status div_check(dmbp_model *m, dmbp_node *n)
{
    return arith_check(m, n, AR_DIV);
}

static dmbp_status arith_infer(const dmbp_node *n, const dmbp_shape *in,
                               dmbp_shape *out)
{
    TRY(nd_broadcast(n, &in[0], &in[1], out));
    int64_t total;
    if (!dmbp__numel_i64(out->dims, out->ndim, &total))
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "output too large");
    for (int i = 0; i < 2; i++)
        if (!dmbp__const_in(n, i))
            TRY(nd_keep_batch(n, &in[i], out, i));
    return DMBP_OK;
}

/* A step: args[0] = y, args[1..nops] the operands. */
typedef struct nd_step {
    nd_map map;
    nd_op op;
    bool acc;
} nd_step;

static dmbp_status nd_step_fn(dmbp_plan *p, const plan_step *s)
{
    const nd_step *d = s->data;
    const float *q[ND_MAX_OPS] = {NULL, NULL, NULL};
    for (int k = 1; k < s->nargs; k++)
        q[k - 1] = dmbp__mem_ptr(s->args[k].memory);
    nd_run(&d->map, d->op, d->acc, dmbp__mem_ptr(s->args[0].memory), q[0],
           q[1], q[2]);
    (void)p;
    return DMBP_OK;
}

static dmbp_status reduce_fn(dmbp_plan *p, const plan_step *s)
{
    nd_reduce_run(s->data, dmbp__mem_ptr(s->args[1].memory),
                  dmbp__mem_ptr(s->args[0].memory), 1.f);
    (void)p;
    return DMBP_OK;
}

/* Add the step y (op)= f(operands) over y's shape. */
static dmbp_status add_nd_step(plan_builder *b, const dmbp_node *n,
                               const dmbp_shape *ys, nd_op op, bool acc,
                               dnnl_memory_t y, const int *vals,
                               const dnnl_memory_t *mems, int nops)
{
    nd_step *d = dmbp__calloc(1, sizeof *d);
    if (!d)
        return DMBP_ERR_NOMEM;
    const dmbp_shape *s[ND_MAX_OPS];
    for (int k = 0; k < nops; k++)
        s[k] = n->model->values[vals[k]].is_const
                   ? &n->model->values[vals[k]].shape
                   : &b->p->vals[vals[k]].shape;
    dmbp_status st = nd_map_make(n, ys, s, nops, &d->map);
    if (st) {
        free(d);
        return st;
    }
    d->op = op;
    d->acc = acc;
    dnnl_exec_arg_t args[1 + ND_MAX_OPS];
    args[0] = (dnnl_exec_arg_t){DNNL_ARG_DST, y};
    for (int k = 0; k < nops; k++)
        args[1 + k] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, mems[k]};
    return dmbp__plan_fn(b, n, nd_step_fn, d, args, 1 + nops);
}

/* Input i as a plain memory (a constant: the plan's copy). */
static dmbp_status operand(plan_builder *b, const dmbp_node *n, int i,
                           dnnl_memory_t *mem)
{
    int v = n->in[i];
    dnnl_memory_desc_t md;
    if (dmbp__const_in(n, i)) {
        TRY(dmbp__md_plain(&n->model->values[v].shape, &md));
        return dmbp__plan_const(b, dmbp__const_f(b, v), &md, &md, mem);
    }
    return nd_plain_in(b, v, &md, mem);
}

static const nd_op fwd_op[] = {ND_MUL, ND_SUB, ND_DIV};

static dmbp_status arith_plan(plan_builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    const dmbp_shape *ys = &b->p->vals[n->out[0]].shape;
    dnnl_memory_desc_t ymd;
    TRY(dmbp__md_plain(ys, &ymd));
    TRY(dmbp__plan_output(b, n->out[0], &ymd));
    dnnl_memory_t mems[2] = {a, c};
    return add_nd_step(b, n, ys, fwd_op[k], false,
                       b->p->vals[n->out[0]].mem, n->in, mems, 2);
}

static dmbp_status arith_backward(plan_builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    const pvalue *y = &b->p->vals[n->out[0]];
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        int v = n->in[i];
        const dmbp_shape *xs = &b->p->vals[v].shape;
        dnnl_memory_desc_t xmd;
        TRY(dmbp__md_plain(xs, &xmd));
        dnnl_memory_t dx, g;
        TRY(dmbp__diff_target(b, v, &xmd, &dx));
        bool bc = !dmbp__shape_eq(xs, &y->shape);
        if (bc)
            TRY(dmbp__plan_scratch_mem(b, &y->md, &g));
        else
            g = dx;
        /* g = dy * d(y)/d(input i), over the output's shape. */
        int vals[3] = {n->out[0], n->in[0], n->in[1]};
        dnnl_memory_t mems[3] = {y->diff, a, c};
        if (k == AR_MUL) {
            vals[1] = n->in[1 - i];
            mems[1] = i ? a : c;
            TRY(add_nd_step(b, n, &y->shape, ND_MUL, false, g, vals, mems,
                            2));
        } else if (k == AR_SUB) {
            TRY(add_nd_step(b, n, &y->shape, i ? ND_NEG : ND_COPY, false, g,
                            vals, mems, 1));
        } else if (i == 0) {
            vals[1] = n->in[1];
            mems[1] = c;
            TRY(add_nd_step(b, n, &y->shape, ND_DIV, false, g, vals, mems,
                            2));
        } else {
            /* d(a/b)/db = -y / b */
            int v3[3] = {n->out[0], n->out[0], n->in[1]};
            dnnl_memory_t m3[3] = {y->diff, y->mem, c};
            TRY(add_nd_step(b, n, &y->shape, ND_NEG_MULDIV, false, g, v3, m3,
                            3));
        }
        if (bc) {
            nd_reduce *r;
            TRY(nd_reduce_make(&y->shape, xs, &r));
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_DST, dx},
                                       {DNNL_ARG_SRC, g}};
            TRY(dmbp__plan_fn(b, n, reduce_fn, r, args, 2));
        }
        TRY(dmbp__diff_commit(b, v, &xmd, dx));
    }
    return DMBP_OK;
}

/* Tangent: the sum over computed operands of (d y / d input) * tan. */
static dmbp_status arith_tangent(plan_builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    const pvalue *y = &b->p->vals[n->out[0]];
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    bool acc = false;
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        dnnl_memory_t t;
        TRY(nd_plain_tan(b, n->in[i], &t));
        int vals[3] = {n->in[i], n->in[1 - i], n->in[1]};
        dnnl_memory_t mems[3] = {t, i ? a : c, c};
        if (k == AR_MUL) {
            TRY(add_nd_step(b, n, &y->shape, ND_MUL, acc, y->tan, vals, mems,
                            2));
        } else if (k == AR_SUB) {
            TRY(add_nd_step(b, n, &y->shape, i ? ND_NEG : ND_COPY, acc,
                            y->tan, vals, mems, 1));
        } else if (i == 0) {
            TRY(add_nd_step(b, n, &y->shape, ND_DIV, acc, y->tan, vals, mems,
                            2));
        } else {
            int v3[3] = {n->in[1], n->out[0], n->in[1]};
            dnnl_memory_t m3[3] = {t, y->mem, c};
            TRY(add_nd_step(b, n, &y->shape, ND_NEG_MULDIV, acc, y->tan, v3,
                            m3, 3));
        }
        acc = true;
    }
    return DMBP_OK;
}

#define ARITH_ENTRY(var, name, chk)                                         \
    const op_entry var = {                                                  \
        .type = name, .check = chk, .infer = arith_infer,                   \
        .plan = arith_plan, .backward = arith_backward,                     \
        .tangent = arith_tangent}

ARITH_ENTRY(dmbp__op_mul, "Mul", mul_check);
ARITH_ENTRY(dmbp__op_sub, "Sub", sub_check);
ARITH_ENTRY(dmbp__op_div, "Div", div_check);
