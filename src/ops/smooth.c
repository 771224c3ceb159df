/* Element-wise activations that are not piecewise linear: Sigmoid,
 * HardSigmoid, HardSwish, Tanh, Erf, Sqrt and Pow with a constant
 * exponent. The forward pass runs in the input's layout when it has no
 * padding (plain otherwise). The reverse passes multiply by the local
 * derivative f'(x) at the forward pass's input, which they read from the
 * trace: the derivative is frozen like a ReLU's gate (dmbp-method.md
 * section 1), so backward and tangent are the transposes of one linear
 * map and backward is exactly autograd's gradient. */
#include "ops/ops.h"
#include "ops/lrp.h"
#include "ops/nd.h"

#include <float.h>

typedef enum smooth_kind {
    SM_SIGMOID, SM_HARDSIGMOID, SM_HARDSWISH, SM_TANH, SM_ERF, SM_SQRT,
    SM_POW
} smooth_kind;

typedef struct smooth_params {
    smooth_kind kind;
    float alpha, beta;      /* HardSigmoid's slope and offset; Pow: p */
} smooth_params;

/* HardSwish is x * HardSigmoid(x) with ONNX's fixed slope and offset. */
#define HARDSWISH_ALPHA (1.f / 6.f)
#define HARDSWISH_BETA 0.5f
/* 2 / sqrt(pi), Erf's derivative at 0. */
#define TWO_OVER_SQRT_PI 1.12837916709551257390f

static dmbp_status smooth_new(dmbp_node *n, smooth_kind k, float alpha,
                              float beta)
{
    TRY(dmbp__nd_check_unary(n));
    smooth_params *sp = dmbp__calloc(1, sizeof *sp);
    if (!sp)
        return DMBP_ERR_NOMEM;
    sp->kind = k;
    sp->alpha = alpha;
    sp->beta = beta;
    n->priv = sp;
    return DMBP_OK;
}

static dmbp_status no_attr_check(dmbp_node *n, smooth_kind k)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    return smooth_new(n, k, 0.f, 0.f);
}

/* The checks of the attribute-free activations: one per op entry. */
#define NO_ATTR_CHECK(name, kind)                                            \
    static dmbp_status name(dmbp_model *m, dmbp_node *n)                     \
    {                                                                        \
        (void)m;                                                             \
        return no_attr_check(n, kind);                                       \
    }
NO_ATTR_CHECK(sigmoid_check, SM_SIGMOID)
NO_ATTR_CHECK(tanh_check, SM_TANH)
NO_ATTR_CHECK(erf_check, SM_ERF)
NO_ATTR_CHECK(sqrt_check, SM_SQRT)
NO_ATTR_CHECK(hardswish_check, SM_HARDSWISH)
#undef NO_ATTR_CHECK

static dmbp_status hardsigmoid_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"alpha", "beta", NULL};
    TRY(dmbp__attr_only(n, ok));
    float a, c;
    TRY(dmbp__attr_float(n, "alpha", 0.2f, &a));
    TRY(dmbp__attr_float(n, "beta", 0.5f, &c));
    if (!isfinite(a) || !isfinite(c))
        return dmbp__node_error(n, DMBP_ERR_NONFINITE, "attribute %s is not "
                                "finite", isfinite(a) ? "beta" : "alpha");
    (void)m;
    return smooth_new(n, SM_HARDSIGMOID, a, c);
}

static dmbp_status pow_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    if (n->n_in != 2 || !dmbp__has_in(n, 1))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs two inputs");
    const dmbp__value *e;
    TRY(dmbp__need_const(n, 1, &e));
    if (dmbp_shape_numel(&e->shape) != 1)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input 1 (the "
                                "exponent) must be a constant scalar");
    if (!isfinite(e->f[0]))
        return dmbp__node_error(n, DMBP_ERR_NONFINITE, "the exponent is not "
                                "finite");
    (void)m;
    return smooth_new(n, SM_POW, e->f[0], 0.f);
}

static dmbp_status same_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    (void)n;
    out[0] = in[0];
    return DMBP_OK;
}

static inline float sm_f(const smooth_params *p, float x)
{
    switch (p->kind) {
    case SM_SIGMOID: return 1.f / (1.f + expf(-x));
    case SM_HARDSIGMOID: return fmaxf(0.f, fminf(1.f, p->alpha * x + p->beta));
    case SM_HARDSWISH:
        return x * fmaxf(0.f, fminf(1.f, HARDSWISH_ALPHA * x + HARDSWISH_BETA));
    case SM_TANH: return tanhf(x);
    case SM_ERF: return erff(x);
    case SM_SQRT: return sqrtf(x);
    case SM_POW:
        return p->alpha == 2.f ? x * x : p->alpha == 1.f ? x : powf(x, p->alpha);
    }
    return 0;
}

/* f'(x), as PyTorch's backward functions compute it (HardSigmoid and
 * HardSwish: the open interval, their kinks take the outer side). */
static inline float sm_df(const smooth_params *p, float x)
{
    switch (p->kind) {
    case SM_SIGMOID: {
        float s = 1.f / (1.f + expf(-x));
        return s * (1.f - s);
    }
    case SM_HARDSIGMOID: {
        float u = p->alpha * x + p->beta;
        return u > 0.f && u < 1.f ? p->alpha : 0.f;
    }
    case SM_HARDSWISH: {
        /* torch: x < -3: 0, x <= 3: x/3 + 1/2, else 1 (ONNX's 1/6, 1/2). */
        float lo = -HARDSWISH_BETA / HARDSWISH_ALPHA;
        float hi = (1.f - HARDSWISH_BETA) / HARDSWISH_ALPHA;
        return x < lo ? 0.f : x <= hi ? 2.f * HARDSWISH_ALPHA * x +
                                            HARDSWISH_BETA : 1.f;
    }
    case SM_TANH: {
        float t = tanhf(x);
        return 1.f - t * t;
    }
    case SM_ERF: return TWO_OVER_SQRT_PI * expf(-x * x);
    case SM_SQRT: return 0.5f / sqrtf(x);
    case SM_POW:
        return p->alpha == 2.f ? 2.f * x : p->alpha == 1.f ? 1.f
               : p->alpha * powf(x, p->alpha - 1.f);
    }
    return 0;
}

typedef struct smooth_run {
    smooth_params p;
    int64_t n;              /* floats in the buffers */
} smooth_run;

#define SWEEP(body)                                                         \
    int64_t chunks = (r->n + DMBP_SWEEP_CHUNK - 1) / DMBP_SWEEP_CHUNK;      \
    _Pragma("omp parallel for")                                             \
    for (int64_t k = 0; k < chunks; k++) {                                  \
        int64_t i0 = k * DMBP_SWEEP_CHUNK;                                  \
        int64_t i1 = r->n - i0 < DMBP_SWEEP_CHUNK ? r->n : i0 +             \
                                                    DMBP_SWEEP_CHUNK;       \
        for (int64_t i = i0; i < i1; i++) {                                 \
            body;                                                           \
        }                                                                   \
    }

/* args: x, y. */
static dmbp_status smooth_fwd_fn(dmbp_plan *p, const dmbp__step *s)
{
    const smooth_run *r = s->data;
    const float *x = dmbp__mem_ptr(s->args[0].memory);
    float *y = dmbp__mem_ptr(s->args[1].memory);
    const smooth_params *sp = &r->p;
    SWEEP(y[i] = sm_f(sp, x[i]))
    (void)p;
    return DMBP_OK;
}

/* args: x (the trace), signal in, signal out. A zero signal stays zero
 * even where f' is infinite (Sqrt at 0). */
static dmbp_status smooth_lin_fn(dmbp_plan *p, const dmbp__step *s)
{
    const smooth_run *r = s->data;
    const float *x = dmbp__mem_ptr(s->args[0].memory);
    const float *in = dmbp__mem_ptr(s->args[1].memory);
    float *out = dmbp__mem_ptr(s->args[2].memory);
    const smooth_params *sp = &r->p;
    SWEEP(out[i] = in[i] == 0.f ? 0.f : in[i] * sm_df(sp, x[i]))
    (void)p;
    return DMBP_OK;
}

static dmbp_status run_new(const dmbp_node *n, const dnnl_memory_desc_t *md,
                           smooth_run **out)
{
    smooth_run *r = dmbp__malloc(sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    r->p = *(const smooth_params *)n->priv;
    r->n = (int64_t)(dmbp__md_size(md) / sizeof(float));
    *out = r;
    return DMBP_OK;
}

static dmbp_status smooth_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    if (!x)
        return dmbp__node_error(n, DMBP_ERR_INTERNAL, "input not ready");
    /* A padded layout (channel blocks) would put f(0) != 0 into the
     * padding that the next primitive expects to be zero. */
    dnnl_memory_desc_t md = x->md;
    dnnl_memory_t src = x->mem;
    if (dmbp__md_size(&md) !=
        (size_t)dmbp_shape_numel(&x->shape) * sizeof(float)) {
        TRY(dmbp__md_plain(&x->shape, &md));
        TRY(dmbp__plan_input_as(b, n->in[0], &md, &src));
    }
    TRY(dmbp__plan_output(b, n->out[0], &md));
    smooth_run *r;
    TRY(run_new(n, &md, &r));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    return dmbp__plan_fn(b, n, smooth_fwd_fn, r, args, 2);
}

/* The trace x in the output's layout (the forward pass may have read a
 * plain copy of it). */
static dmbp_status trace_x(dmbp__builder *b, const dmbp_node *n,
                           dnnl_memory_t *xm)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    return dmbp__to_layout(b, x->mem, &x->md, &y->md, xm);
}

static dmbp_status smooth_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t xm, dx;
    TRY(trace_x(b, n, &xm));
    TRY(dmbp__diff_target(b, n->in[0], &y->md, &dx));
    smooth_run *r;
    TRY(run_new(n, &y->md, &r));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, xm},
                               {DNNL_ARG_DIFF_DST, y->diff},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_fn(b, n, smooth_lin_fn, r, args, 3));
    return dmbp__diff_commit(b, n->in[0], &y->md, dx);
}

static dmbp_status smooth_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t xm, tx;
    TRY(trace_x(b, n, &xm));
    TRY(dmbp__to_layout(b, x->tan, &x->md, &y->md, &tx));
    smooth_run *r;
    TRY(run_new(n, &y->md, &r));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, xm},
                               {DNNL_ARG_SRC_1, tx},
                               {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_fn(b, n, smooth_lin_fn, r, args, 3);
}

/* LRP: activations pass relevance through (Zennit's Pass); Erf, Sqrt
 * and Pow are parts of normalisations and GELU, which have no rule. */
#define SMOOTH_ENTRY(var, name, chk, rule)                                  \
    const dmbp__op_entry var = {                                                  \
        .type = name, .check = chk, .infer = same_infer,                    \
        .plan = smooth_plan, .backward = smooth_backward,                   \
        .tangent = smooth_tangent, .lrp = rule, .release = free,            \
        .traits = DMBP_OP_GATE}

SMOOTH_ENTRY(dmbp__op_sigmoid, "Sigmoid", sigmoid_check, dmbp__lrp_pass);
SMOOTH_ENTRY(dmbp__op_hardsigmoid, "HardSigmoid", hardsigmoid_check,
             dmbp__lrp_pass);
SMOOTH_ENTRY(dmbp__op_hardswish, "HardSwish", hardswish_check,
             dmbp__lrp_pass);
SMOOTH_ENTRY(dmbp__op_tanh, "Tanh", tanh_check, dmbp__lrp_pass);
SMOOTH_ENTRY(dmbp__op_erf, "Erf", erf_check, NULL);
SMOOTH_ENTRY(dmbp__op_sqrt, "Sqrt", sqrt_check, NULL);
SMOOTH_ENTRY(dmbp__op_pow, "Pow", pow_check, NULL);
