/* Axis and window arithmetic shared by the ops. */
#include "ops/ops.h"

dmbp_status dmbp__axis(const dmbp_node *n, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "axis %lld is out of range "
                                "for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return DMBP_OK;
}

dmbp_status dmbp__window_parse(const dmbp_node *n, int nsp,
                               const int64_t *kernel, bool allow_ceil,
                               bool allow_dilation, dmbp__window *w)
{
    memset(w, 0, sizeof *w);
    if (nsp < 1 || nsp > DMBP_MAX_SPATIAL)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "%d spatial "
                                "dimensions (1 to %d are supported)", nsp,
                                DMBP_MAX_SPATIAL);
    w->nsp = nsp;
    int c;
    int64_t tmp[2 * DMBP_MAX_SPATIAL];
    TRY(dmbp__attr_ints(n, "kernel_shape", tmp, DMBP_MAX_SPATIAL, &c));
    if (c >= 0) {
        if (c != nsp)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "kernel_shape has %d "
                                    "values for %d spatial dimensions", c,
                                    nsp);
        for (int i = 0; i < nsp; i++)
            if (kernel && tmp[i] != kernel[i])
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "kernel_shape "
                                        "does not match the weights");
        memcpy(w->kernel, tmp, (size_t)nsp * sizeof(int64_t));
    } else if (kernel) {
        memcpy(w->kernel, kernel, (size_t)nsp * sizeof(int64_t));
    } else {
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "kernel_shape is "
                                "required");
    }
    for (int i = 0; i < nsp; i++) {
        w->stride[i] = 1;
        w->dilation[i] = 1;
        if (!dmbp__dim_ok(w->kernel[i], 1))
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "kernel_shape[%d] = "
                                    "%lld (1 to %lld)", i,
                                    (long long)w->kernel[i],
                                    (long long)DMBP_MAX_DIM);
    }
    TRY(dmbp__attr_ints(n, "strides", tmp, DMBP_MAX_SPATIAL, &c));
    if (c >= 0) {
        if (c != nsp)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "strides has %d "
                                    "values for %d spatial dimensions", c,
                                    nsp);
        memcpy(w->stride, tmp, (size_t)nsp * sizeof(int64_t));
    }
    TRY(dmbp__attr_ints(n, "dilations", tmp, DMBP_MAX_SPATIAL, &c));
    if (c >= 0) {
        if (c != nsp)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "dilations has %d "
                                    "values for %d spatial dimensions", c,
                                    nsp);
        memcpy(w->dilation, tmp, (size_t)nsp * sizeof(int64_t));
    }
    TRY(dmbp__attr_ints(n, "pads", tmp, 2 * DMBP_MAX_SPATIAL, &c));
    if (c >= 0) {
        if (c != 2 * nsp)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "pads has %d values "
                                    "for %d spatial dimensions", c, nsp);
        for (int i = 0; i < nsp; i++) {
            w->pad_begin[i] = tmp[i];
            w->pad_end[i] = tmp[nsp + i];
        }
    }
    for (int i = 0; i < nsp; i++) {
        struct {
            const char *name;
            int64_t v, lo;
        } chk[4] = {{"strides", w->stride[i], 1},
                    {"dilations", w->dilation[i], 1},
                    {"pads", w->pad_begin[i], 0},
                    {"pads", w->pad_end[i], 0}};
        for (int k = 0; k < 4; k++)
            if (!dmbp__dim_ok(chk[k].v, chk[k].lo))
                return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute '%s' "
                                        "holds %lld (%lld to %lld)",
                                        chk[k].name, (long long)chk[k].v,
                                        (long long)chk[k].lo,
                                        (long long)DMBP_MAX_DIM);
        if (!allow_dilation && w->dilation[i] != 1)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "dilations are "
                                    "not supported for this op");
    }
    const dmbp__node_attr *ap = dmbp__attr(n, "auto_pad");
    if (ap) {
        if (ap->type != ATTR_STRING)
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "auto_pad should be "
                                    "a string");
        if (!strcmp(ap->s, "NOTSET"))
            w->auto_pad = WINDOW_PAD_NOTSET;
        else if (!strcmp(ap->s, "VALID"))
            w->auto_pad = WINDOW_PAD_VALID;
        else if (!strcmp(ap->s, "SAME_UPPER"))
            w->auto_pad = WINDOW_PAD_SAME_UPPER;
        else if (!strcmp(ap->s, "SAME_LOWER"))
            w->auto_pad = WINDOW_PAD_SAME_LOWER;
        else
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "auto_pad '%s' is "
                                    "not an ONNX value", ap->s);
    }
    int64_t ceil_v = 0;
    TRY(dmbp__attr_int(n, "ceil_mode", 0, &ceil_v));
    if (ceil_v && !allow_ceil)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "ceil_mode is not "
                                "supported for this op");
    w->ceil_mode = ceil_v != 0;
    return DMBP_OK;
}

dmbp_status dmbp__window_out(const dmbp_node *n, const dmbp__window *w,
                             const int64_t *in, int64_t *out,
                             int64_t *pad_begin, int64_t *pad_end)
{
    for (int i = 0; i < w->nsp; i++) {
        /* Every operand is at most DMBP_MAX_DIM (checked at load and by
         * shape inference), but products of two can still exceed int64:
         * the checked helpers say so instead of wrapping. */
        int64_t ek, s = w->stride[i], pb = w->pad_begin[i],
                    pe = w->pad_end[i];
        int64_t o, span;
        if (!dmbp__muladd_i64(w->kernel[i] - 1, w->dilation[i], 1, &ek) ||
            ek > DMBP_MAX_DIM || !dmbp__add_i64(in[i], pb, &span) ||
            !dmbp__add_i64(span, pe, &span))
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "window or padding "
                                    "too large for input size %lld",
                                    (long long)in[i]);
        switch (w->auto_pad) {
        case WINDOW_PAD_VALID:
            pb = pe = 0;
            o = in[i] >= ek ? (in[i] - ek) / s + 1 : 0;
            break;
        case WINDOW_PAD_SAME_UPPER:
        case WINDOW_PAD_SAME_LOWER: {
            o = in[i] / s + (in[i] % s != 0);
            /* (o - 1) * s <= in - 1: no overflow. */
            int64_t total = (o - 1) * s + ek - in[i];
            if (total < 0)
                total = 0;
            pb = w->auto_pad == WINDOW_PAD_SAME_UPPER ? total / 2
                                                      : total - total / 2;
            pe = total - pb;
            break;
        }
        default: {
            span -= ek;
            if (span < 0) {
                o = 0;
                break;
            }
            o = (w->ceil_mode ? span / s + (span % s != 0) : span / s) + 1;
            /* PyTorch's (and ONNX's) rule: the last window must start
             * inside the input or the leading padding. */
            if (w->ceil_mode && (o - 1) * s >= in[i] + pb)
                o--;
            break;
        }
        }
        if (o < 1)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "window %lld (with "
                                    "padding) does not fit in input size "
                                    "%lld", (long long)ek, (long long)in[i]);
        /* oneDNN wants dst = (in + pb + pe - ek) / s + 1 exactly with floor
         * division: ceil mode's overhang becomes extra end padding. */
        int64_t need = (o - 1) * s + ek - in[i] - pb;
        out[i] = o;
        pad_begin[i] = pb;
        pad_end[i] = need > pe ? need : pe;
    }
    return DMBP_OK;
}
