/* Conv: oneDNN convolution with weights reordered once per plan into the
 * primitive's preferred (blocked) layout. 1-D to 3-D, groups (depthwise
 * included), dilations, strides, pads, auto_pad. */
#include "ops/ops.h"
#include "ops/lrp.h"
#include "ops/convmap.h"

typedef struct conv_params {
    dmbp__window w;
    int64_t group;
} conv_params;

static dmbp_status conv_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"auto_pad", "dilations", "group",
                                     "kernel_shape", "pads", "strides", NULL};
    TRY(dmbp__attr_only(n, ok));
    if (n->n_in < 2 || n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs inputs X, W and "
                                "one output");
    const dmbp__value *w, *b;
    TRY(dmbp__need_const(n, 1, &w));
    if (dmbp__has_in(n, 2)) {
        TRY(dmbp__need_const(n, 2, &b));
        if (b->shape.ndim != 1 || b->shape.dims[0] != w->shape.dims[0])
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "bias must have one "
                                    "value per output channel");
    }
    if (w->shape.ndim < 3)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "weights '%s' have %d "
                                "dimensions, expected 3 to 5", w->name,
                                w->shape.ndim);
    conv_params *cp = dmbp__calloc(1, sizeof *cp);
    if (!cp)
        return DMBP_ERR_NOMEM;
    n->priv = cp;
    TRY(dmbp__window_parse(n, w->shape.ndim - 2, w->shape.dims + 2, false,
                           true, &cp->w));
    TRY(dmbp__attr_int(n, "group", 1, &cp->group));
    if (cp->group < 1 || w->shape.dims[0] % cp->group)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "group %lld does not "
                                "divide %lld output channels",
                                (long long)cp->group,
                                (long long)w->shape.dims[0]);
    (void)m;
    return DMBP_OK;
}

static dmbp_status conv_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    const conv_params *cp = n->priv;
    const dmbp_shape *x = &in[0], *w = &in[1];
    if (x->ndim != cp->w.nsp + 2)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "input has %d dimensions, "
                                "expected %d", x->ndim, cp->w.nsp + 2);
    int64_t want_c;
    if (!dmbp__mul_i64(w->dims[1], cp->group, &want_c) ||
        x->dims[1] != want_c)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "input has %lld channels, "
                                "weights expect %lld x group %lld",
                                (long long)x->dims[1], (long long)w->dims[1],
                                (long long)cp->group);
    int64_t pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    out->ndim = x->ndim;
    out->dims[0] = x->dims[0];
    out->dims[1] = w->dims[0];
    return dmbp__window_out(n, &cp->w, x->dims + 2, out->dims + 2, pb, pe);
}

static dmbp_status conv_plan(dmbp__builder *b, const dmbp_node *n)
{
    const conv_params *cp = n->priv;
    const dmbp_model *m = n->model;
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    const dmbp__value *wv = &m->values[n->in[1]];
    const dmbp_shape *ys = dmbp__val_shape(b, n->out[0]);
    int nsp = cp->w.nsp;
    int64_t o[DMBP_MAX_SPATIAL];
    dmbp__be_geom g;
    {
        int64_t pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
        TRY(dmbp__window_out(n, &cp->w, x->shape.dims + 2, o, pb, pe));
        for (int i = 0; i < nsp; i++) {
            g.strides[i] = cp->w.stride[i];
            g.dil[i] = cp->w.dilation[i] - 1; /* oneDNN counts extra gaps */
            g.pl[i] = pb[i];
            g.pr[i] = pe[i];
        }
    }
    /* Weights: [OC, IC/g, k...] in ONNX; oneDNN's grouped layout
     * [g, OC/g, IC/g, k...] has the same bytes in row-major order. */
    dmbp_shape ws = wv->shape;
    if (cp->group > 1) {
        ws.ndim = wv->shape.ndim + 1;
        ws.dims[0] = cp->group;
        ws.dims[1] = wv->shape.dims[0] / cp->group;
        for (int i = 1; i < wv->shape.ndim; i++)
            ws.dims[i + 1] = wv->shape.dims[i];
    }
    dnnl_memory_desc_t src_any, w_any, w_plain, dst_any, bias_md;
    TRY(dmbp__md_any(&x->shape, &src_any));
    TRY(dmbp__md_any(&ws, &w_any));
    TRY(dmbp__md_plain(&ws, &w_plain));
    TRY(dmbp__md_any(ys, &dst_any));
    /* bf16 plans: source and weights in bf16 (the source reordered by
     * dmbp__plan_input_as), destination and bias f32. */
    src_any = dmbp__md_dt(&src_any, dmbp__plan_in_dt(b));
    w_any = dmbp__md_dt(&w_any, dmbp__plan_in_dt(b));
    bool has_bias = dmbp__has_in(n, 2);
    if (has_bias)
        TRY(dmbp__md_plain(&m->values[n->in[2]].shape, &bias_md));
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_conv_fwd(b, n, false, &src_any, &w_any,
                          has_bias ? &bias_md : NULL, &dst_any, &g,
                          "convolution", &pd));
    const dnnl_memory_desc_t *src_md = dmbp__be_pd_md(pd, DMBP__BE_SRC);
    const dnnl_memory_desc_t *w_md = dmbp__be_pd_md(pd, DMBP__BE_WEIGHTS);
    const dnnl_memory_desc_t *dst_md = dmbp__be_pd_md(pd, DMBP__BE_DST);
    dnnl_memory_t src_mem, w_mem, bias_mem = NULL;
    dmbp_status st = dmbp__plan_input_as(b, n->in[0], src_md, &src_mem);
    if (!st)
        st = dmbp__plan_const(b, dmbp__const_f(b, n->in[1]), &w_plain, w_md, &w_mem);
    if (!st && has_bias)
        st = dmbp__plan_const(b, dmbp__const_f(b, n->in[2]), &bias_md, &bias_md,
                              &bias_mem);
    if (!st)
        st = dmbp__plan_output(b, n->out[0], dst_md);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src_mem},
                               {DNNL_ARG_WEIGHTS, w_mem},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])},
                               {DNNL_ARG_BIAS, bias_mem}};
    return dmbp__plan_prim(b, n, pd, args, has_bias ? 4 : 3);
}

/* Strides, dilations and pads of n for input x, in oneDNN's terms. */
static dmbp_status conv_geometry(const dmbp_node *n, const dmbp_shape *x,
                                 dmbp__be_geom *g)
{
    const conv_params *cp = n->priv;
    int64_t o[DMBP_MAX_SPATIAL], pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(dmbp__window_out(n, &cp->w, x->dims + 2, o, pb, pe));
    for (int i = 0; i < cp->w.nsp; i++) {
        g->strides[i] = cp->w.stride[i];
        g->dil[i] = cp->w.dilation[i] - 1;
        g->pl[i] = pb[i];
        g->pr[i] = pe[i];
    }
    return DMBP_OK;
}

static void grouped_shape(const dmbp_node *n, dmbp_shape *ws)
{
    const conv_params *cp = n->priv;
    const dmbp__value *wv = &n->model->values[n->in[1]];
    *ws = wv->shape;
    if (cp->group > 1) {
        ws->ndim = wv->shape.ndim + 1;
        ws->dims[0] = cp->group;
        ws->dims[1] = wv->shape.dims[0] / cp->group;
        for (int i = 1; i < wv->shape.ndim; i++)
            ws->dims[i + 1] = wv->shape.dims[i];
    }
}

/* Backward: masked diff of the output, then convolution backward-data. */
static dmbp_status conv_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dmbp__be_geom g;
    TRY(conv_geometry(n, &x->shape, &g));
    dmbp_shape ws;
    grouped_shape(n, &ws);
    dnnl_memory_desc_t x_any, w_any, w_plain, y_any;
    TRY(dmbp__md_any(&x->shape, &x_any));
    TRY(dmbp__md_any(&ws, &w_any));
    TRY(dmbp__md_plain(&ws, &w_plain));
    TRY(dmbp__md_any(&y->shape, &y_any));
    /* bf16 plans: weights and the arriving signal in bf16, the gradient
     * written in f32. */
    dnnl_data_type_t in_dt = dmbp__plan_in_dt(b);
    w_any = dmbp__md_dt(&w_any, in_dt);
    dnnl_primitive_desc_t pd = NULL;
    dmbp_status st = DMBP_OK;
    /* First in the forward pass's layouts, so that the signal flows with
     * no reorder; then in whatever oneDNN prefers. */
    for (int attempt = 0; attempt < 2 && !pd; attempt++) {
        const dnnl_memory_desc_t *xm = attempt ? &x_any : &x->md;
        dnnl_memory_desc_t ym = dmbp__md_dt(attempt ? &y_any : &y->md,
                                            in_dt);
        dnnl_memory_desc_t xm_in = dmbp__md_dt(xm, in_dt);
        pd = dmbp__be_conv_bwd_data(b, &xm_in, xm, &w_any, &ym, &g,
                                    !attempt);
    }
    if (!pd)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no "
                                "convolution backward pass for this shape");
    const dnnl_memory_desc_t *dx_md = dmbp__be_pd_md(pd, DMBP__BE_DIFF_SRC);
    const dnnl_memory_desc_t *w_md = dmbp__be_pd_md(pd, DMBP__BE_WEIGHTS);
    const dnnl_memory_desc_t *dy_md = dmbp__be_pd_md(pd, DMBP__BE_DIFF_DST);
    const dmbp__mask_layer *ml = dmbp__node_mask(b, n);
    dnnl_memory_t dy = y->diff, w, dyc, dx;
    if (!st && ml) {
        st = dmbp__plan_scratch_mem(b, &y->md, &dy);
        if (!st)
            st = dmbp__mask_backward(b, ml, y->diff, dy, &y->md);
    }
    if (!st)
        st = dmbp__to_layout(b, dy, &y->md, dy_md, &dyc);
    if (!st)
        st = dmbp__plan_const(b, dmbp__const_f(b, n->in[1]), &w_plain, w_md, &w);
    if (!st)
        st = dmbp__diff_target(b, n->in[0], dx_md, &dx);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_memory_desc_t dx_copy = *dx_md;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dyc},
                               {DNNL_ARG_WEIGHTS, w},
                               {DNNL_ARG_DIFF_SRC, dx}};
    TRY(dmbp__plan_prim(b, n, pd, args, 3));
    return dmbp__diff_commit(b, n->in[0], &dx_copy, dx);
}

/* Tangent: the convolution without its bias, then the mask layer. */
static dmbp_status conv_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    dmbp__be_geom g;
    TRY(conv_geometry(n, &x->shape, &g));
    dmbp_shape ws;
    grouped_shape(n, &ws);
    dnnl_memory_desc_t x_any, w_any, w_plain;
    TRY(dmbp__md_any(&x->shape, &x_any));
    TRY(dmbp__md_any(&ws, &w_any));
    TRY(dmbp__md_plain(&ws, &w_plain));
    x_any = dmbp__md_dt(&x_any, dmbp__plan_in_dt(b));
    w_any = dmbp__md_dt(&w_any, dmbp__plan_in_dt(b));
    /* The output in the forward layout, so the mask sweep reads diff and
     * tan alike. */
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_conv_fwd(b, n, false, &x_any, &w_any, NULL, &y->md, &g,
                          "convolution pass", &pd));
    const dnnl_memory_desc_t *x_md = dmbp__be_pd_md(pd, DMBP__BE_SRC);
    const dnnl_memory_desc_t *w_md = dmbp__be_pd_md(pd, DMBP__BE_WEIGHTS);
    dnnl_memory_t tx, w;
    dmbp_status st = dmbp__to_layout(b, x->tan, &x->md, x_md, &tx);
    if (!st)
        st = dmbp__plan_const(b, dmbp__const_f(b, n->in[1]), &w_plain, w_md, &w);
    if (st) {
        dmbp__be_pd_free(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, tx},
                               {DNNL_ARG_WEIGHTS, w},
                               {DNNL_ARG_DST, y->tan}};
    TRY(dmbp__plan_prim(b, n, pd, args, 3));
    const dmbp__mask_layer *ml = dmbp__node_mask(b, n);
    if (ml)
        TRY(dmbp__mask_tangent(b, ml, y->diff, y->tan, &y->md));
    return DMBP_OK;
}

static dmbp_status conv_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const conv_params *cp = n->priv;
    const dmbp_shape *x = &io->in_shapes[0], *y = &io->out_shapes[0];
    if (cp->w.nsp > 2 || x->dims[0] != 1)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: only 1-D and "
                                "2-D convolutions of one image");
    int64_t o[DMBP_MAX_SPATIAL], pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(dmbp__window_out(n, &cp->w, x->dims + 2, o, pb, pe));
    bool two = cp->w.nsp == 2;
    const dmbp__value *wv = &n->model->values[n->in[1]];
    dmbp__conv_geo g = {
        .C = x->dims[1], .H = two ? x->dims[2] : 1,
        .W = x->dims[two ? 3 : 2], .OC = y->dims[1],
        .OH = two ? y->dims[2] : 1, .OW = y->dims[two ? 3 : 2],
        .KH = two ? cp->w.kernel[0] : 1, .KW = cp->w.kernel[two ? 1 : 0],
        .sh = two ? cp->w.stride[0] : 1, .sw = cp->w.stride[two ? 1 : 0],
        .dh = two ? cp->w.dilation[0] : 1,
        .dw = cp->w.dilation[two ? 1 : 0], .ph = two ? pb[0] : 0,
        .pw = pb[two ? 1 : 0], .group = cp->group};
    bool pin_w = false, pin_b = false;
    const float *w = dmbp__lrp_weight(n, io, 1, &pin_w);
    const float *bias = dmbp__has_in(n, 2) ? dmbp__lrp_weight(n, io, 2, &pin_b)
                                           : NULL;
    dmbp_status st = DMBP_OK;
    if (!w || (dmbp__has_in(n, 2) && !bias))
        st = dmbp__node_error(n, DMBP_ERR_IO, "LRP: cannot read the weights");
    if (!st) {
        dmbp__lrp_linear L = {
            .ctx = &g, .n_in = dmbp_shape_numel(x), .n_out =
            dmbp_shape_numel(y), .n_w = dmbp_shape_numel(&wv->shape),
            .w = w, .fwd = dmbp__conv_map_fwd,
            .bwd = dmbp__conv_map_bwd, .bias = bias,
            .bias_len = g.OC, .bias_inner = g.OH * g.OW, .z = io->out[0]};
        st = dmbp__lrp_linear_rule(&L, io->rule, io->in[0], io->rout[0],
                                   io->rin[0]);
    }
    if (w)
        dmbp__lrp_weight_done(n, 1, pin_w);
    if (bias)
        dmbp__lrp_weight_done(n, 2, pin_b);
    return st;
}

const dmbp__op_entry dmbp__op_conv = {
    .type = "Conv",
    .check = conv_check,
    .infer = conv_infer,
    .plan = conv_plan,
    .backward = conv_backward,
    .tangent = conv_tangent,
    .lrp = conv_lrp,
    .release = free,
    .traits = DMBP_OP_WEIGHTS | DMBP_OP_FEATURE_MAP | DMBP_OP_FOLD_TARGET};
