/* Piecewise-linear activations: Relu, LeakyRelu, Clip. oneDNN eltwise in
 * the layout of the input (no reorder). Their gates are what the reverse
 * passes freeze (dmbp-method.md section 1). */
#include "ops/ops.h"
#include "ops/lrp.h"
#include "ops/nd.h"

#include <float.h>

typedef struct eltwise_params {
    dmbp__be_eltwise_alg alg;
    float alpha, beta;
} eltwise_params;

static dmbp_status eltwise_new(dmbp_node *n, dmbp__be_eltwise_alg alg,
                               float alpha, float beta)
{
    TRY(dmbp__nd_check_unary(n));
    eltwise_params *ep = dmbp__calloc(1, sizeof *ep);
    if (!ep)
        return DMBP_ERR_NOMEM;
    ep->alg = alg;
    ep->alpha = alpha;
    ep->beta = beta;
    n->priv = ep;
    return DMBP_OK;
}

static dmbp_status relu_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    (void)m;
    return eltwise_new(n, DMBP__BE_RELU, 0.f, 0.f);
}

static dmbp_status leakyrelu_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"alpha", NULL};
    TRY(dmbp__attr_only(n, ok));
    float alpha;
    TRY(dmbp__attr_float(n, "alpha", 0.01f, &alpha));
    (void)m;
    /* oneDNN's relu with a negative slope is LeakyRelu. */
    return eltwise_new(n, DMBP__BE_RELU, alpha, 0.f);
}

/* Clip bound: attribute before opset 11, optional constant input after. */
static dmbp_status clip_bound(dmbp_model *m, dmbp_node *n, int idx,
                              const char *name, float def, float *out)
{
    if (m->opset < 11)
        return dmbp__attr_float(n, name, def, out);
    *out = def;
    if (!dmbp__has_in(n, idx))
        return DMBP_OK;
    const dmbp__value *v;
    TRY(dmbp__need_const(n, idx, &v));
    if (dmbp_shape_numel(&v->shape) != 1)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "%s must be a scalar",
                                name);
    if (isnan(v->f[0]))
        return dmbp__node_error(n, DMBP_ERR_NONFINITE, "%s is NaN", name);
    *out = v->f[0];
    return DMBP_OK;
}

static dmbp_status clip_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok9[] = {"min", "max", NULL};
    static const char *const ok11[] = {NULL};
    TRY(dmbp__attr_only(n, m->opset < 11 ? ok9 : ok11));
    float lo, hi;
    TRY(clip_bound(m, n, 1, "min", -FLT_MAX, &lo));
    TRY(clip_bound(m, n, 2, "max", FLT_MAX, &hi));
    /* ONNX: min(max(x, lo), hi), so hi wins when lo > hi; clip_v2 is the
     * same expression. */
    return eltwise_new(n, DMBP__BE_CLIP, lo, hi);
}

static dmbp_status same_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    out[0] = in[0];
    return DMBP_OK;
}

static dmbp_status eltwise_plan(dmbp__builder *b, const dmbp_node *n)
{
    const eltwise_params *ep = n->priv;
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_eltwise(b, n, ep->alg, &x->md, ep->alpha, ep->beta, &pd));
    dnnl_memory_t src = x->mem;
    dmbp_status st = dmbp__plan_output(b, n->out[0], &x->md);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    return dmbp__plan_prim(b, n, pd, args, 2);
}

/* The gate of the activation at its input u (dmbp-method.md section 1):
 * ReLU 1[u>0], LeakyReLU 1 or its slope, Clip 1[lo<u<hi]. The same rules
 * as PyTorch's backward functions, so ties at the kinks agree. */
typedef struct gate_run {
    eltwise_params e;
    int64_t n;           /* elements in the buffers (with padding) */
} gate_run;


/* args: u (the forward input), signal in, signal out. */
static dmbp_status gate_backward_fn(dmbp_plan *p, const dmbp__step *s)
{
    const gate_run *g = s->data;
    const float *u = dmbp__mem_ptr(s->args[0].memory);
    const float *dy = dmbp__mem_ptr(s->args[1].memory);
    float *dx = dmbp__mem_ptr(s->args[2].memory);
    int guided = dmbp__plan_guided(p);
    int clip = g->e.alg == DMBP__BE_CLIP;
    int64_t chunks = (g->n + DMBP_SWEEP_CHUNK - 1) / DMBP_SWEEP_CHUNK;
#pragma omp parallel for
    for (int64_t k = 0; k < chunks; k++) {
        int64_t i0 = k * DMBP_SWEEP_CHUNK;
        int64_t len = g->n - i0 < DMBP_SWEEP_CHUNK ? g->n - i0
                                                   : DMBP_SWEEP_CHUNK;
        dmbp__k_gate(u + i0, dy + i0, dx + i0, len, clip, g->e.alpha,
                     g->e.beta, guided);
    }
    return DMBP_OK;
}

static dmbp_status gate_tangent_fn(dmbp_plan *p, const dmbp__step *s)
{
    const gate_run *g = s->data;
    const float *u = dmbp__mem_ptr(s->args[0].memory);
    const float *tx = dmbp__mem_ptr(s->args[1].memory);
    float *ty = dmbp__mem_ptr(s->args[2].memory);
    int clip = g->e.alg == DMBP__BE_CLIP;
    int64_t chunks = (g->n + DMBP_SWEEP_CHUNK - 1) / DMBP_SWEEP_CHUNK;
#pragma omp parallel for
    for (int64_t k = 0; k < chunks; k++) {
        int64_t i0 = k * DMBP_SWEEP_CHUNK;
        int64_t len = g->n - i0 < DMBP_SWEEP_CHUNK ? g->n - i0
                                                   : DMBP_SWEEP_CHUNK;
        dmbp__k_gate(u + i0, tx + i0, ty + i0, len, clip, g->e.alpha,
                     g->e.beta, 0);
    }
    (void)p;
    return DMBP_OK;
}

static dmbp_status gate_new(const dmbp_node *n, const dmbp__pvalue *x,
                            gate_run **out)
{
    gate_run *g = dmbp__malloc(sizeof *g);
    if (!g)
        return DMBP_ERR_NOMEM;
    g->e = *(const eltwise_params *)n->priv;
    g->n = (int64_t)(dmbp__md_size(&x->md) / sizeof(float));
    *out = g;
    return DMBP_OK;
}

static dmbp_status eltwise_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    gate_run *g;
    TRY(gate_new(n, x, &g));
    dnnl_memory_t dx;
    dmbp_status st = dmbp__diff_target(b, n->in[0], &x->md, &dx);
    if (st) {
        free(g);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x->mem},
                               {DNNL_ARG_DIFF_DST, y->diff},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_fn(b, n, gate_backward_fn, g, args, 3));
    return dmbp__diff_commit(b, n->in[0], &x->md, dx);
}

static dmbp_status eltwise_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    gate_run *g;
    TRY(gate_new(n, x, &g));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x->mem},
                               {DNNL_ARG_SRC_1, x->tan},
                               {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_fn(b, n, gate_tangent_fn, g, args, 3);
}

const dmbp__op_entry dmbp__op_relu = {
    .type = "Relu", .check = relu_check, .infer = same_infer,
    .plan = eltwise_plan, .backward = eltwise_backward,
    .tangent = eltwise_tangent, .lrp = dmbp__lrp_pass, .release = free,
    .traits = DMBP_OP_GATE};
const dmbp__op_entry dmbp__op_leakyrelu = {
    .type = "LeakyRelu", .check = leakyrelu_check, .infer = same_infer,
    .plan = eltwise_plan, .backward = eltwise_backward,
    .tangent = eltwise_tangent, .lrp = dmbp__lrp_pass, .release = free,
    .traits = DMBP_OP_GATE};
const dmbp__op_entry dmbp__op_clip = {
    .type = "Clip", .check = clip_check, .infer = same_infer,
    .plan = eltwise_plan, .backward = eltwise_backward,
    .tangent = eltwise_tangent, .lrp = dmbp__lrp_pass, .release = free,
    .traits = DMBP_OP_GATE};
