/* Pad, mode "constant" (zero or another constant), non-negative pads on
 * any axes: a hand-written copy on plain layout. */
#include "ops/ops.h"
#include "ops/lrp.h"

typedef struct pad_params {
    int n;                        /* 2 * rank entries as in ONNX */
    int64_t pads[2 * DMBP_MAX_DIMS];
    float value;
} pad_params;

typedef struct pad_run {
    dmbp_shape in, out;
    int64_t begin[DMBP_MAX_DIMS];
    float value;
} pad_run;

static dmbp_status pad_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok2[] = {"mode", "pads", "value", NULL};
    static const char *const ok11[] = {"mode", NULL};
    TRY(dmbp__attr_only(n, m->opset < 11 ? ok2 : ok11));
    if (!dmbp__has_in(n, 0) || n->n_out != 1 || dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs a runtime input "
                                "and one output");
    const dmbp__node_attr *mode = dmbp__attr(n, "mode");
    if (mode && (mode->type != ATTR_STRING || strcmp(mode->s, "constant")))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "mode '%s' (only "
                                "constant padding is supported)",
                                mode->type == ATTR_STRING ? mode->s : "?");
    pad_params *pp = dmbp__calloc(1, sizeof *pp);
    if (!pp)
        return DMBP_ERR_NOMEM;
    n->priv = pp;
    if (m->opset < 11) {
        TRY(dmbp__attr_ints(n, "pads", pp->pads, 2 * DMBP_MAX_DIMS, &pp->n));
        if (pp->n < 0)
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "pads is required");
        TRY(dmbp__attr_float(n, "value", 0.f, &pp->value));
    } else {
        if (n->n_in > 3)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "the axes input "
                                    "is not supported");
        const dmbp__value *pv = dmbp__const_in(n, 1);
        if (!pv || pv->dtype != DT_INT64)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "pads must be a "
                                    "constant int64 tensor");
        int64_t cnt = dmbp_shape_numel(&pv->shape);
        if (cnt > 2 * DMBP_MAX_DIMS)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "too many pads");
        pp->n = (int)cnt;
        memcpy(pp->pads, pv->i64, (size_t)cnt * sizeof(int64_t));
        if (dmbp__has_in(n, 2)) {
            const dmbp__value *cv;
            TRY(dmbp__need_const(n, 2, &cv));
            if (dmbp_shape_numel(&cv->shape) != 1)
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "constant_value "
                                        "must be a scalar");
            pp->value = cv->f[0];
        }
    }
    for (int i = 0; i < pp->n; i++) {
        if (pp->pads[i] < 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "negative pads "
                                    "(cropping) are not supported");
        if (!dmbp__dim_ok(pp->pads[i], 0))
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "pads[%d] = %lld is "
                                    "larger than any tensor (at most %lld)",
                                    i, (long long)pp->pads[i],
                                    (long long)DMBP_MAX_DIM);
    }
    if (!isfinite(pp->value))
        return dmbp__node_error(n, DMBP_ERR_NONFINITE, "the padding value "
                                "is not finite");
    return DMBP_OK;
}

static dmbp_status pad_infer(const dmbp_node *n, const dmbp_shape *in,
                             dmbp_shape *out)
{
    const pad_params *pp = n->priv;
    int r = in[0].ndim;
    if (pp->n != 2 * r)
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "%d pads for rank %d",
                                pp->n, r);
    *out = in[0];
    for (int i = 0; i < r; i++)
        if (!dmbp__add_i64(out->dims[i], pp->pads[i], &out->dims[i]) ||
            !dmbp__add_i64(out->dims[i], pp->pads[r + i], &out->dims[i]) ||
            out->dims[i] > DMBP_MAX_DIM)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "padding axis %d to "
                                    "more than %lld", i,
                                    (long long)DMBP_MAX_DIM);
    return DMBP_OK;
}

/* Copy every innermost row of the unpadded tensor between its place in
 * src and its place in the padded tensor: into the padding (pad) or out
 * of it (crop). */
static void copy_rows(const pad_run *pr, const float *src, float *dst,
                      bool pad)
{
    int r = pr->in.ndim;
    int64_t inner = r ? pr->in.dims[r - 1] : 1;
    int64_t rows = inner ? dmbp_shape_numel(&pr->in) / inner : 0;
    int64_t ostride[DMBP_MAX_DIMS];
    int64_t st = 1;
    for (int d = r - 1; d >= 0; d--) {
        ostride[d] = st;
        st *= pr->out.dims[d];
    }
#pragma omp parallel for
    for (int64_t row = 0; row < rows; row++) {
        /* Row index -> input coordinates of every dim but the last. */
        int64_t rem = row, off = 0;
        for (int d = r - 2; d >= 0; d--) {
            int64_t c = rem % pr->in.dims[d];
            rem /= pr->in.dims[d];
            off += (c + pr->begin[d]) * ostride[d];
        }
        if (r)
            off += pr->begin[r - 1];
        if (pad)
            memcpy(dst + off, src + row * inner, (size_t)inner * sizeof(float));
        else
            memcpy(dst + row * inner, src + off, (size_t)inner * sizeof(float));
    }
}

static dmbp_status pad_run_fn(dmbp_plan *p, const dmbp__step *s)
{
    const pad_run *pr = s->data;
    const float *src = dmbp__mem_ptr(s->args[0].memory);
    float *dst = dmbp__mem_ptr(s->args[1].memory);
    int64_t total = dmbp_shape_numel(&pr->out);
    for (int64_t i = 0; i < total; i++)
        dst[i] = pr->value;
    copy_rows(pr, src, dst, true);
    (void)p;
    return DMBP_OK;
}

static dmbp_status pad_plan(dmbp__builder *b, const dmbp_node *n)
{
    const pad_params *pp = n->priv;
    const dmbp__pvalue *x = dmbp__pval(b, n->in[0]);
    pad_run *pr = dmbp__calloc(1, sizeof *pr);
    if (!pr)
        return DMBP_ERR_NOMEM;
    pr->in = x->shape;
    pr->out = dmbp__val(b, n->out[0])->shape;
    for (int i = 0; i < x->shape.ndim; i++)
        pr->begin[i] = pp->pads[i];
    pr->value = pp->value;
    dnnl_memory_desc_t xmd, ymd;
    dnnl_memory_t src;
    dmbp_status st = dmbp__md_plain(&x->shape, &xmd);
    if (!st)
        st = dmbp__md_plain(&pr->out, &ymd);
    if (!st)
        st = dmbp__plan_input_as(b, n->in[0], &xmd, &src);
    if (!st)
        st = dmbp__plan_output(b, n->out[0], &ymd);
    if (st) {
        free(pr);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DST, dmbp__val_mem(b, n->out[0])}};
    return dmbp__plan_fn(b, n, pad_run_fn, pr, args, 2);
}

/* Backward: the diff of the output's interior. */
static dmbp_status crop_fn(dmbp_plan *p, const dmbp__step *s)
{
    const pad_run *pr = s->data;
    const float *src = dmbp__mem_ptr(s->args[0].memory); /* padded */
    float *dst = dmbp__mem_ptr(s->args[1].memory);
    copy_rows(pr, src, dst, false);
    (void)p;
    return DMBP_OK;
}

static dmbp_status pad_run_of(dmbp__builder *b, const dmbp_node *n,
                              float fill, pad_run **out)
{
    const pad_params *pp = n->priv;
    pad_run *pr = dmbp__calloc(1, sizeof *pr);
    if (!pr)
        return DMBP_ERR_NOMEM;
    pr->in = dmbp__val(b, n->in[0])->shape;
    pr->out = dmbp__val(b, n->out[0])->shape;
    for (int i = 0; i < pr->in.ndim; i++)
        pr->begin[i] = pp->pads[i];
    pr->value = fill;
    *out = pr;
    return DMBP_OK;
}

static dmbp_status pad_backward(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    pad_run *pr;
    TRY(pad_run_of(b, n, 0.f, &pr));
    dnnl_memory_desc_t xplain;
    dnnl_memory_t dx;
    dmbp_status st = dmbp__md_plain(&x->shape, &xplain);
    if (!st)
        st = dmbp__diff_target(b, n->in[0], &xplain, &dx);
    if (st) {
        free(pr);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, y->diff}, {DNNL_ARG_DST, dx}};
    TRY(dmbp__plan_fn(b, n, crop_fn, pr, args, 2));
    return dmbp__diff_commit(b, n->in[0], &xplain, dx);
}

/* Tangent: padding with zeros (the constant is a bias). */
static dmbp_status pad_tangent(dmbp__builder *b, const dmbp_node *n)
{
    const dmbp__pvalue *x = dmbp__val(b, n->in[0]), *y = dmbp__val(b, n->out[0]);
    pad_run *pr;
    TRY(pad_run_of(b, n, 0.f, &pr));
    dnnl_memory_desc_t xplain;
    dnnl_memory_t tx;
    dmbp_status st = dmbp__md_plain(&x->shape, &xplain);
    if (!st)
        st = dmbp__to_layout(b, x->tan, &x->md, &xplain, &tx);
    if (st) {
        free(pr);
        return st;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, tx}, {DNNL_ARG_DST, y->tan}};
    return dmbp__plan_fn(b, n, pad_run_fn, pr, args, 2);
}

/* LRP: each input element gets the relevance of where it lies in the
 * output; the padding's (a constant's) is dropped. */
static dmbp_status pad_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const pad_params *pp = n->priv;
    const dmbp_shape *x = &io->in_shapes[0], *y = &io->out_shapes[0];
    if (pp->n != 2 * x->ndim)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: pads for "
                                "another rank");
    int64_t count = dmbp_shape_numel(x);
    for (int64_t i = 0; io->rin[0] && i < count; i++)
        io->rin[0][i] =
            io->rout[0][dmbp__lrp_place(y, x, pp->pads, NULL, i)];
    return DMBP_OK;
}

const dmbp__op_entry dmbp__op_pad = {
    .type = "Pad", .check = pad_check, .infer = pad_infer,
    .plan = pad_plan, .backward = pad_backward, .tangent = pad_tangent,
    .lrp = pad_lrp, .release = free,
    .traits = DMBP_OP_LAYOUT};
