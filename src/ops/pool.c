/* MaxPool, AveragePool, GlobalAveragePool: oneDNN pooling in the layout of
 * the input. Max pooling runs in training mode so that oneDNN records
 * which input each output took (its workspace): the reverse passes use
 * those choices. */
#include "internal.h"

typedef struct pool_params {
    window w;
    dnnl_alg_kind_t alg;
    bool global;
} pool_params;

static dmbp_status pool_new(dmbp_node *n, pool_params **out)
{
    if (!dmbp__has_in(n, 0) || n->n_out < 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs one input and an "
                                "output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its input is a "
                                "constant");
    pool_params *pp = dmbp__calloc(1, sizeof *pp);
    if (!pp)
        return DMBP_ERR_NOMEM;
    n->priv = pp;
    *out = pp;
    return DMBP_OK;
}

static int kernel_rank(const dmbp_node *n)
{
    const node_attr *a = dmbp__attr(n, "kernel_shape");
    return a && a->type == ATTR_INTS ? a->n : 0;
}

static dmbp_status maxpool_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"auto_pad", "ceil_mode", "dilations",
                                     "kernel_shape", "pads", "storage_order",
                                     "strides", NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    pp->alg = dnnl_pooling_max;
    TRY(dmbp__window_parse(n, kernel_rank(n), NULL, true, true, &pp->w));
    if (n->n_out > 1 && m->values[n->out[1]].consumers > 0)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "the Indices output "
                                "is not supported");
    return DMBP_OK;
}

static dmbp_status averagepool_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"auto_pad", "ceil_mode",
                                     "count_include_pad", "kernel_shape",
                                     "pads", "strides", NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    int64_t cip;
    TRY(dmbp__attr_int(n, "count_include_pad", 0, &cip));
    pp->alg = cip ? dnnl_pooling_avg_include_padding
                  : dnnl_pooling_avg_exclude_padding;
    (void)m;
    return dmbp__window_parse(n, kernel_rank(n), NULL, true, false, &pp->w);
}

static dmbp_status gap_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    pool_params *pp;
    TRY(pool_new(n, &pp));
    pp->alg = dnnl_pooling_avg_exclude_padding;
    pp->global = true;
    (void)m;
    return DMBP_OK;
}

/* The window for an input shape (global pooling covers all of it). */
static dmbp_status pool_window(const dmbp_node *n, const dmbp_shape *x,
                               window *w)
{
    const pool_params *pp = n->priv;
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > DMBP_MAX_SPATIAL)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input with %d "
                                "dimensions (3 to %d are supported)", x->ndim,
                                DMBP_MAX_SPATIAL + 2);
    if (pp->global) {
        memset(w, 0, sizeof *w);
        w->nsp = nsp;
        for (int i = 0; i < nsp; i++) {
            w->kernel[i] = x->dims[2 + i];
            w->stride[i] = w->dilation[i] = 1;
        }
        return DMBP_OK;
    }
    if (pp->w.nsp != nsp)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "kernel has %d dimensions "
                                "for an input with %d spatial dimensions",
                                pp->w.nsp, nsp);
    *w = pp->w;
    return DMBP_OK;
}

static dmbp_status pool_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    window w;
    TRY(pool_window(n, &in[0], &w));
    int64_t pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    out[0] = in[0];
    TRY(dmbp__window_out(n, &w, in[0].dims + 2, out[0].dims + 2, pb, pe));
    const pool_params *pp = n->priv;
    /* oneDNN would count ceil mode's overhang as padding where PyTorch and
     * ONNX count only the declared pads. */
    if (pp->alg == dnnl_pooling_avg_include_padding)
        for (int i = 0; i < w.nsp; i++)
            if (pe[i] > w.pad_end[i] && w.auto_pad == WINDOW_PAD_NOTSET)
                return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED,
                                        "count_include_pad with a ceil_mode "
                                        "window that overhangs the padding");
    if (n->n_out > 1)
        out[1] = out[0];
    return DMBP_OK;
}

static dmbp_status pool_plan(plan_builder *b, const dmbp_node *n)
{
    const pool_params *pp = n->priv;
    const pvalue *x = dmbp__pval(b, n->in[0]);
    window w;
    TRY(pool_window(n, &x->shape, &w));
    int64_t o[DMBP_MAX_SPATIAL], pb[DMBP_MAX_SPATIAL], pe[DMBP_MAX_SPATIAL];
    TRY(dmbp__window_out(n, &w, x->shape.dims + 2, o, pb, pe));
    dnnl_dims_t strides, kernel, dil, pl, pr;
    for (int i = 0; i < w.nsp; i++) {
        strides[i] = w.stride[i];
        kernel[i] = w.kernel[i];
        dil[i] = w.dilation[i] - 1;
        pl[i] = pb[i];
        pr[i] = pe[i];
    }
    const dmbp_shape *ys = &b->p->vals[n->out[0]].shape;
    dnnl_memory_desc_t dst_any;
    TRY(dmbp__md_any(ys, &dst_any));
    bool max = pp->alg == dnnl_pooling_max;
    dnnl_pooling_v2_desc_t pdsc;
    DNNL_TRY(dnnl_pooling_v2_forward_desc_init(
        &pdsc, max ? dnnl_forward_training : dnnl_forward_inference, pp->alg,
        &x->md, &dst_any, strides, kernel, dil, pl, pr));
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_desc_create(&pd, &pdsc, attr, b->p->eng,
                                                 NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no pooling "
                                "for this shape (%s)", dnnl__status_str(s));
    const dnnl_memory_desc_t *dst_md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *ws_md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
    dnnl_memory_t ws = NULL;
    dnnl_memory_t src = x->mem;
    dmbp_status st = dmbp__plan_output(b, n->out[0], dst_md);
    if (!st && ws_md && dnnl_memory_desc_get_size(ws_md))
        st = dmbp__plan_scratch_mem(b, ws_md, &ws);
    if (st) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DST, b->p->vals[n->out[0]].mem},
                               {DNNL_ARG_WORKSPACE, ws}};
    return dmbp__plan_prim(b, n, pd, args, ws ? 3 : 2);
}

const op_entry dmbp__op_maxpool = {
    .type = "MaxPool", .check = maxpool_check, .infer = pool_infer,
    .plan = pool_plan, .release = free};
const op_entry dmbp__op_averagepool = {
    .type = "AveragePool", .check = averagepool_check, .infer = pool_infer,
    .plan = pool_plan, .release = free};
const op_entry dmbp__op_globalaveragepool = {
    .type = "GlobalAveragePool", .check = gap_check, .infer = pool_infer,
    .plan = pool_plan, .release = free};
