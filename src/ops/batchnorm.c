/* BatchNormalization (inference). Usually folded into the Conv before it
 * (graph.c); otherwise (e.g. DenseNet's BN before ReLU) a per-channel
 * y = scale * x + shift, run as oneDNN batch normalization with mean 0,
 * variance 1 and epsilon 0 so that scale and shift are applied exactly as
 * computed here. */
#include "ops/ops.h"

#include "ops/bn.h"
#include "ops/lrp.h"

static void bn_release(void *priv)
{
    dmbp__bn_params *bp = priv;
    free(bp->scale);
    free(bp->shift);
    free(bp);
}

static dmbp_status bn_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"epsilon", "is_test", "momentum", "spatial",
                                     "training_mode", NULL};
    TRY(dmbp__attr_only(n, ok));
    int64_t training, spatial;
    TRY(dmbp__attr_int(n, "training_mode", 0, &training));
    TRY(dmbp__attr_int(n, "spatial", 1, &spatial));
    if (training)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "training_mode=1: "
                                "export the model in eval mode");
    if (!spatial)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "spatial=0 is not "
                                "supported");
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0 && m->values[n->out[k]].consumers > 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "running "
                                    "statistics outputs are not supported "
                                    "(training graph?)");
    if (n->n_in != 5)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs 5 inputs, has %d",
                                n->n_in);
    const dmbp__value *g, *beta, *mean, *var;
    TRY(dmbp__need_const(n, 1, &g));
    TRY(dmbp__need_const(n, 2, &beta));
    TRY(dmbp__need_const(n, 3, &mean));
    TRY(dmbp__need_const(n, 4, &var));
    int64_t c = dmbp_shape_numel(&g->shape);
    if (dmbp_shape_numel(&beta->shape) != c ||
        dmbp_shape_numel(&mean->shape) != c ||
        dmbp_shape_numel(&var->shape) != c)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "scale, B, mean and var "
                                "must have one value per channel");
    float eps;
    TRY(dmbp__attr_float(n, "epsilon", 1e-5f, &eps));
    dmbp__bn_params *bp = dmbp__calloc(1, sizeof *bp);
    if (!bp)
        return DMBP_ERR_NOMEM;
    n->priv = bp;
    bp->channels = (int)c;
    bp->scale = dmbp__malloc((size_t)c * sizeof(float));
    bp->shift = dmbp__malloc((size_t)c * sizeof(float));
    if (!bp->scale || !bp->shift)
        return DMBP_ERR_NOMEM;
    for (int64_t i = 0; i < c; i++) {
        double v = (double)var->f[i] + eps;
        if (!(v > 0))
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "variance + epsilon "
                                    "is not positive for channel %lld",
                                    (long long)i);
        double s = g->f[i] / sqrt(v);
        bp->scale[i] = (float)s;
        bp->shift[i] = (float)(beta->f[i] - mean->f[i] * s);
    }
    return DMBP_OK;
}

static dmbp_status bn_infer(const dmbp_node *n, const dmbp_shape *in,
                            dmbp_shape *out)
{
    const dmbp__bn_params *bp = n->priv;
    if (in[0].ndim < 2 || in[0].dims[1] != bp->channels)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "input must be [N, %d, "
                                "...]", bp->channels);
    out[0] = in[0];
    return DMBP_OK;
}

static dmbp_status bn_plan(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__bn_params *bp = n->priv;
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_bnorm(b, n, &x->md, &pd));
    dmbp_shape cs = {1, {bp->channels}};
    dnnl_memory_desc_t cmd;
    float *zeros = calloc((size_t)bp->channels, sizeof(float));
    float *ones = malloc((size_t)bp->channels * sizeof(float));
    dnnl_memory_t mean = NULL, var = NULL, scale = NULL, shift = NULL;
    dmbp_status st = zeros && ones ? DMBP_OK
                                   : dmbp_set_error(DMBP_ERR_NOMEM,
                                                    "out of memory");
    for (int i = 0; !st && i < bp->channels; i++)
        ones[i] = 1.f;
    if (!st)
        st = dmbp__md_plain(&cs, &cmd);
    if (!st)
        st = dmbp__plan_const_tmp(b, zeros, &cmd, &cmd, &mean);
    if (!st)
        st = dmbp__plan_const_tmp(b, ones, &cmd, &cmd, &var);
    if (!st)
        st = dmbp__plan_const(b, bp->scale, &cmd, &cmd, &scale);
    if (!st)
        st = dmbp__plan_const(b, bp->shift, &cmd, &cmd, &shift);
    free(zeros);
    free(ones);
    dnnl_memory_t src = x->mem;
    if (!st)
        st = dmbp__plan_output(b, n->out[0], &x->md);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_MEAN, mean},
                               {DNNL_ARG_VARIANCE, var},
                               {DNNL_ARG_SCALE, scale},
                               {DNNL_ARG_SHIFT, shift},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    return dmbp__plan_prim(b, n, pd, args, 6);
}

/* Both reverse passes multiply channel c by scale[c] (the shift is a
 * bias: dropped). */
typedef struct bn_run {
    dmbp__layout l;
    const float *scale;
} bn_run;

static dmbp_status bn_scale_fn(dmbp_plan *p, const dmbp__step *s)
{
    const bn_run *r = s->data;
    const float *in = dmbp__mem_ptr(s->args[0].memory);
    float *out = dmbp__mem_ptr(s->args[1].memory);
    const dmbp__layout *l = &r->l;
    int64_t B = l->block, nb = (l->dims[1] + B - 1) / B;
    if (l->sp_step) {
#pragma omp parallel for collapse(2)
        for (int64_t n = 0; n < l->dims[0]; n++)
            for (int64_t cb = 0; cb < nb; cb++) {
                int64_t c0 = cb * B;
                int64_t cn = l->dims[1] - c0 < B ? l->dims[1] - c0 : B;
                int64_t base = dmbp__chan_base(l, n, c0);
                dmbp__k_scale_block(in + base, out + base, r->scale + c0, cn,
                                    B, l->spatial, l->sp_step);
            }
        (void)p;
        return DMBP_OK;
    }
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < l->dims[0]; n++)
        for (int64_t c = 0; c < l->dims[1]; c++)
            for (int64_t sp = 0; sp < l->spatial; sp++) {
                int64_t o = dmbp__chan_off(l, n, c, sp);
                out[o] = in[o] * r->scale[c];
            }
    (void)p;
    return DMBP_OK;
}

static dmbp_status bn_scale_step(dmbp__builder *b, const dmbp_node *n,
                                 const dnnl_memory_desc_t *md,
                                 dnnl_memory_t in, dnnl_memory_t out)
{
    const dmbp__bn_params *bp = n->priv;
    bn_run *r = dmbp__malloc(sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    dmbp_status st = dmbp__chan_layout(md, &r->l);
    if (st) {
        free(r);
        return st;
    }
    r->scale = bp->scale;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}};
    return dmbp__plan_fn(b, n, bn_scale_fn, r, args, 2);
}

static dmbp_status bn_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dnnl_memory_t dx;
    TRY(dmbp__diff_target(b, n->in[0], &x->md, &dx));
    TRY(bn_scale_step(b, n, &x->md, y->diff, dx));
    return dmbp__diff_commit(b, n->in[0], &x->md, dx);
}

static dmbp_status bn_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    return bn_scale_step(b, n, &x->md, x->tan, y->tan);
}

static void bn_affine(const dmbp_node *n, int *channels, const float **scale,
                      const float **shift)
{
    const dmbp__bn_params *bp = n->priv;
    *channels = bp->channels;
    *scale = bp->scale;
    *shift = bp->shift;
}

/* LRP of a BatchNormalization that follows no Conv (the others are
 * folded into it at load): a linear layer of its own, y = scale x +
 * shift per channel, under the rule it is given. */
typedef struct bn_geo {
    int64_t channels, inner;
} bn_geo;

static dmbp_status bn_map(const void *ctx, const float *w, int part,
                          const float *x, float *y)
{
    const bn_geo *g = ctx;
    for (int64_t c = 0; c < g->channels; c++) {
        float wc = dmbp__lrp_wpart(w[c], part);
        for (int64_t i = 0; i < g->inner; i++)
            y[c * g->inner + i] = wc * x[c * g->inner + i];
    }
    return DMBP_OK;
}

static dmbp_status bn_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const dmbp__bn_params *bp = n->priv;
    const dmbp_shape *x = &io->in_shapes[0];
    int64_t count = dmbp_shape_numel(x);
    if (x->ndim < 2 || x->dims[0] != 1 || x->dims[1] != bp->channels)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: not [1, C, "
                                "...] with the op's channels");
    bn_geo g = {bp->channels, count / bp->channels};
    dmbp__lrp_linear L = {.ctx = &g, .n_in = count, .n_out = count,
                          .n_w = bp->channels, .w = bp->scale, .fwd = bn_map,
                          .bwd = bn_map, .bias = bp->shift,
                          .bias_len = bp->channels, .bias_inner = g.inner, .z = io->out[0]};
    return dmbp__lrp_linear_rule(&L, io->rule, io->in[0], io->rout[0],
                                 io->rin[0]);
}

const dmbp__op_entry dmbp__op_batchnorm = {
    .type = "BatchNormalization", .check = bn_check, .infer = bn_infer,
    .plan = bn_plan, .backward = bn_backward, .tangent = bn_tangent,
    .lrp = bn_lrp, .release = bn_release,
    .traits = DMBP_OP_CHANNEL_AFFINE,
    .channel_affine = bn_affine};
