/* LayerNormalization (opset 17): y = (x - mean) / sqrt(var + eps) * scale
 * + bias over the trailing dimensions from `axis` on (never the batch
 * axis). Plain tensors, one row per normalised group, rows in parallel.
 * Not linear in x: the reverse passes apply its Jacobian at the forward
 * pass's input (dmbp-method.md section 1), recomputing the row's mean and
 * deviation from the trace:
 *   backward: g = dy * scale, dx = (g - mean(g) - xh * mean(g xh)) / sd;
 *   tangent:  ty = scale * (t - mean(t) - xh * mean(t xh)) / sd,
 * with xh the normalised input; the two are transposes of each other. */
#include "nd.h"

typedef struct ln_params {
    int64_t axis;
    float eps;
} ln_params;

static dmbp_status ln_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"axis", "epsilon", "stash_type", NULL};
    TRY(dmbp__attr_only(n, ok));
    (void)m;
    if (n->n_in < 2 || !dmbp__has_in(n, 0) || !dmbp__has_in(n, 1) ||
        n->n_out < 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs inputs X and "
                                "Scale and an output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its input is a "
                                "constant");
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0 && n->model->values[n->out[k]].consumers > 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "output %d "
                                    "(mean or inverse deviation) is used",
                                    k);
    const dmbp__value *v;
    TRY(dmbp__need_const(n, 1, &v));
    if (dmbp__has_in(n, 2))
        TRY(dmbp__need_const(n, 2, &v));
    ln_params *lp = dmbp__calloc(1, sizeof *lp);
    if (!lp)
        return DMBP_ERR_NOMEM;
    n->priv = lp;
    int64_t stash;
    TRY(dmbp__attr_int(n, "axis", -1, &lp->axis));
    TRY(dmbp__attr_int(n, "stash_type", 1, &stash));
    TRY(dmbp__attr_float(n, "epsilon", 1e-5f, &lp->eps));
    if (stash != 1)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "attribute "
                                "stash_type %lld (float32 only)",
                                (long long)stash);
    if (!(lp->eps > 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute epsilon must "
                                "be positive");
    return DMBP_OK;
}

/* Rows and their length for input shape x. */
static dmbp_status ln_geom(const dmbp_node *n, const dmbp_shape *x,
                           int64_t *rows, int64_t *len)
{
    const ln_params *lp = n->priv;
    int a;
    TRY(dmbp__axis(n, lp->axis, x->ndim, &a));
    if (a == 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "attribute axis "
                                "normalises over the batch axis 0 (the "
                                "images of a batch must stay independent)");
    if (!dmbp__numel_i64(x->dims, a, rows) ||
        !dmbp__numel_i64(x->dims + a, x->ndim - a, len))
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "input too large");
    for (int i = 1; i < 3; i++) {
        if (!dmbp__has_in(n, i))
            continue;
        const dmbp__value *v = dmbp__const_in(n, i);
        if (dmbp_shape_numel(&v->shape) != *len)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d has "
                                    "%lld values for groups of %lld", i,
                                    (long long)dmbp_shape_numel(&v->shape),
                                    (long long)*len);
    }
    return DMBP_OK;
}

static dmbp_status ln_infer(const dmbp_node *n, const dmbp_shape *in,
                            dmbp_shape *out)
{
    int64_t rows, len;
    TRY(ln_geom(n, &in[0], &rows, &len));
    out[0] = in[0];
    for (int k = 1; k < n->n_out; k++) {
        /* Mean and InvStdDev: x's shape with 1 from axis on (unused). */
        const ln_params *lp = n->priv;
        int a;
        TRY(dmbp__axis(n, lp->axis, in[0].ndim, &a));
        out[k] = in[0];
        for (int d = a; d < in[0].ndim; d++)
            out[k].dims[d] = 1;
    }
    return DMBP_OK;
}

typedef struct ln_run {
    int64_t rows, len;
    float eps;
    bool bias;
} ln_run;

/* Mean and 1/sd of one row (two passes in double). */
static void row_stats(const float *x, int64_t len, float eps, double *mean,
                      double *rsd)
{
    double s = 0, v = 0;
    for (int64_t j = 0; j < len; j++)
        s += x[j];
    double mu = s / (double)len;
    for (int64_t j = 0; j < len; j++) {
        double d = x[j] - mu;
        v += d * d;
    }
    *mean = mu;
    *rsd = 1.0 / sqrt(v / (double)len + eps);
}

/* args: x, scale, [bias], y. */
static dmbp_status ln_fwd_fn(dmbp_plan *p, const dmbp__step *s)
{
    const ln_run *r = s->data;
    const float *x = dmbp__mem_ptr(s->args[0].memory);
    const float *g = dmbp__mem_ptr(s->args[1].memory);
    const float *bb = r->bias ? dmbp__mem_ptr(s->args[2].memory) : NULL;
    float *y = dmbp__mem_ptr(s->args[r->bias ? 3 : 2].memory);
#pragma omp parallel for
    for (int64_t i = 0; i < r->rows; i++) {
        const float *xi = x + i * r->len;
        float *yi = y + i * r->len;
        double mu, rsd;
        row_stats(xi, r->len, r->eps, &mu, &rsd);
        float m = (float)mu, k = (float)rsd;
        for (int64_t j = 0; j < r->len; j++)
            yi[j] = (xi[j] - m) * k * g[j] + (bb ? bb[j] : 0.f);
    }
    (void)p;
    return DMBP_OK;
}

/* args: x, scale, signal in, signal out; data->bias says which pass:
 * false = backward (scale first), true = tangent (scale last). */
static dmbp_status ln_lin_fn(dmbp_plan *p, const dmbp__step *s)
{
    const ln_run *r = s->data;
    bool tangent = r->bias;
    const float *x = dmbp__mem_ptr(s->args[0].memory);
    const float *g = dmbp__mem_ptr(s->args[1].memory);
    const float *in = dmbp__mem_ptr(s->args[2].memory);
    float *out = dmbp__mem_ptr(s->args[3].memory);
#pragma omp parallel for
    for (int64_t i = 0; i < r->rows; i++) {
        const float *xi = x + i * r->len, *ti = in + i * r->len;
        float *oi = out + i * r->len;
        double mu, rsd;
        row_stats(xi, r->len, r->eps, &mu, &rsd);
        double a = 0, c = 0;
        for (int64_t j = 0; j < r->len; j++) {
            double t = tangent ? ti[j] : (double)ti[j] * g[j];
            double xh = (xi[j] - mu) * rsd;
            a += t;
            c += t * xh;
        }
        a /= (double)r->len;
        c /= (double)r->len;
        for (int64_t j = 0; j < r->len; j++) {
            double t = tangent ? ti[j] : (double)ti[j] * g[j];
            double xh = (xi[j] - mu) * rsd;
            double v = (t - a - xh * c) * rsd;
            oi[j] = (float)(tangent ? v * g[j] : v);
        }
    }
    (void)p;
    return DMBP_OK;
}

static dmbp_status ln_run_new(const dmbp_node *n, const dmbp_shape *x,
                              bool flag, ln_run **out)
{
    ln_run *r = dmbp__malloc(sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    dmbp_status st = ln_geom(n, x, &r->rows, &r->len);
    if (st) {
        free(r);
        return st;
    }
    r->eps = ((const ln_params *)n->priv)->eps;
    r->bias = flag;
    *out = r;
    return DMBP_OK;
}

static dmbp_status const_mem(dmbp__builder *b, const dmbp_node *n, int i,
                             dnnl_memory_t *mem)
{
    dnnl_memory_desc_t md;
    int v = n->in[i];
    TRY(dmbp__md_plain(&n->model->values[v].shape, &md));
    return dmbp__plan_const(b, dmbp__const_f(b, v), &md, &md, mem);
}

static dmbp_status ln_plan(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_memory_desc_t xmd;
    dnnl_memory_t x, g, bb = NULL;
    TRY(dmbp__nd_plain_in(b, n->in[0], &xmd, &x));
    TRY(const_mem(b, n, 1, &g));
    bool bias = dmbp__has_in(n, 2);
    if (bias)
        TRY(const_mem(b, n, 2, &bb));
    TRY(dmbp__plan_output(b, n->out[0], &xmd));
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0) {
            /* Unused outputs (checked): give them a small buffer. */
            dnnl_memory_desc_t md;
            TRY(dmbp__md_plain(dmbp__val_shape(b, n->out[k]), &md));
            TRY(dmbp__plan_output(b, n->out[k], &md));
        }
    ln_run *r;
    TRY(ln_run_new(n, dmbp__val_shape(b, n->in[0]), bias, &r));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, g},
                               {DNNL_ARG_SHIFT, bb},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    if (!bias)
        args[2] = args[3];
    return dmbp__plan_fn(b, n, ln_fwd_fn, r, args, bias ? 4 : 3);
}

static dmbp_status ln_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t xmd;
    dnnl_memory_t x, g, dx;
    TRY(dmbp__nd_plain_in(b, n->in[0], &xmd, &x));
    TRY(const_mem(b, n, 1, &g));
    TRY(dmbp__diff_target(b, n->in[0], &xmd, &dx));
    ln_run *r;
    TRY(ln_run_new(n, &y->shape, false, &r));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, g},
                               {DNNL_ARG_DIFF_DST, y->diff},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_fn(b, n, ln_lin_fn, r, args, 4));
    return dmbp__diff_commit(b, n->in[0], &xmd, dx);
}

static dmbp_status ln_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_desc_t xmd;
    dnnl_memory_t x, g, t;
    TRY(dmbp__nd_plain_in(b, n->in[0], &xmd, &x));
    TRY(const_mem(b, n, 1, &g));
    TRY(dmbp__nd_plain_tan(b, n->in[0], &t));
    ln_run *r;
    TRY(ln_run_new(n, &y->shape, true, &r));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, g},
                               {DNNL_ARG_SRC_1, t}, {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_fn(b, n, ln_lin_fn, r, args, 4);
}

const dmbp__op_entry dmbp__op_layernorm = {
    .type = "LayerNormalization", .check = ln_check, .infer = ln_infer,
    .plan = ln_plan, .backward = ln_backward, .tangent = ln_tangent,
    .release = free};
