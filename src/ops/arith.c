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
    (void)m;
    TRY(dmbp__nd_check_binary(n));
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
    TRY(dmbp__nd_broadcast(n, &in[0], &in[1], out));
    int64_t total;
    if (!dmbp__numel_i64(out->dims, out->ndim, &total))
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "output too large");
    for (int i = 0; i < 2; i++)
        if (!dmbp__const_in(n, i))
            TRY(dmbp__nd_keep_batch(n, &in[i], out, i));
    return DMBP_OK;
}

/* Input i as a plain memory (a constant: the plan's copy). */
static dmbp_status operand(dmbp__builder *b, const dmbp_node *n, int i,
                           dnnl_memory_t *mem)
{
    int v = n->in[i];
    dnnl_memory_desc_t md;
    if (dmbp__const_in(n, i)) {
        TRY(dmbp__md_plain(&n->model->values[v].shape, &md));
        return dmbp__plan_const(b, dmbp__const_f(b, v), &md, &md, mem);
    }
    return dmbp__nd_plain_in(b, v, &md, mem);
}

static const dmbp__nd_op fwd_op[] = {ND_MUL, ND_SUB, ND_DIV};

static dmbp_status arith_plan(dmbp__builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    const dmbp_shape *ys = dmbp__val_shape(b, n->out[0]);
    dnnl_memory_desc_t ymd;
    TRY(dmbp__md_plain(ys, &ymd));
    TRY(dmbp__plan_output(b, n->out[0], &ymd));
    dnnl_memory_t mems[2] = {a, c};
    return dmbp__nd_add_step(b, n, ys, fwd_op[k], false, 0.f,
                       dmbp__val_mem(b, n->out[0]), n->in, mems, 2);
}

static dmbp_status arith_backward(dmbp__builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        int v = n->in[i];
        const dmbp_shape *xs = dmbp__val_shape(b, v);
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
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_MUL, false, 0.f, g, vals, mems,
                            2));
        } else if (k == AR_SUB) {
            TRY(dmbp__nd_add_step(b, n, &y->shape, i ? ND_NEG : ND_COPY, false, 0.f, g,
                            vals, mems, 1));
        } else if (i == 0) {
            vals[1] = n->in[1];
            mems[1] = c;
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_DIV, false, 0.f, g, vals, mems,
                            2));
        } else {
            /* d(a/b)/db = -y / b */
            int v3[3] = {n->out[0], n->out[0], n->in[1]};
            dnnl_memory_t m3[3] = {y->diff, y->mem, c};
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_NEG_MULDIV, false, 0.f, g, v3, m3,
                            3));
        }
        if (bc) {
            dmbp__nd_reduce *r;
            TRY(dmbp__nd_reduce_make(&y->shape, xs, &r));
            TRY(dmbp__nd_add_reduce(b, n, r, 1.f, dx, g));
        }
        TRY(dmbp__diff_commit(b, v, &xmd, dx));
    }
    return DMBP_OK;
}

/* Tangent: the sum over computed operands of (d y / d input) * tan. */
static dmbp_status arith_tangent(dmbp__builder *b, const dmbp_node *n)
{
    arith_kind k = *(const arith_kind *)n->priv;
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t a, c;
    TRY(operand(b, n, 0, &a));
    TRY(operand(b, n, 1, &c));
    bool acc = false;
    for (int i = 0; i < 2; i++) {
        if (dmbp__const_in(n, i))
            continue;
        dnnl_memory_t t;
        TRY(dmbp__nd_plain_tan(b, n->in[i], &t));
        int vals[3] = {n->in[i], n->in[1 - i], n->in[1]};
        dnnl_memory_t mems[3] = {t, i ? a : c, c};
        if (k == AR_MUL) {
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_MUL, acc, 0.f, y->tan, vals, mems,
                            2));
        } else if (k == AR_SUB) {
            TRY(dmbp__nd_add_step(b, n, &y->shape, i ? ND_NEG : ND_COPY, acc,
                            0.f, y->tan, vals, mems, 1));
        } else if (i == 0) {
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_DIV, acc, 0.f, y->tan, vals, mems,
                            2));
        } else {
            int v3[3] = {n->in[1], n->out[0], n->in[1]};
            dnnl_memory_t m3[3] = {t, y->mem, c};
            TRY(dmbp__nd_add_step(b, n, &y->shape, ND_NEG_MULDIV, acc, 0.f, y->tan, v3,
                            m3, 3));
        }
        acc = true;
    }
    return DMBP_OK;
}

#define ARITH_ENTRY(var, name, chk)                                         \
    const dmbp__op_entry var = {                                                  \
        .type = name, .check = chk, .infer = arith_infer,                   \
        .plan = arith_plan, .backward = arith_backward,                     \
        .tangent = arith_tangent}

ARITH_ENTRY(dmbp__op_mul, "Mul", mul_check);
ARITH_ENTRY(dmbp__op_sub, "Sub", sub_check);
ARITH_ENTRY(dmbp__op_div, "Div", div_check);
