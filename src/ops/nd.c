/* Plain row-major n-d sweeps (see nd.h): broadcasting maps split into
 * chunks of DMBP_SWEEP_CHUNK elements among the threads, reductions
 * parallel over their output elements. */
#include "nd.h"

dmbp_status dmbp__nd_check_unary(const dmbp_node *n)
{
    if (n->n_in < 1 || !dmbp__has_in(n, 0) || n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs one input and "
                                "one output");
    if (dmbp__const_in(n, 0))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its input is a "
                                "constant");
    return DMBP_OK;
}

dmbp_status dmbp__nd_check_binary(const dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    TRY(dmbp__attr_only(n, ok));
    if (n->n_in != 2 || !dmbp__has_in(n, 0) || !dmbp__has_in(n, 1) ||
        n->n_out != 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs two inputs and "
                                "one output");
    for (int i = 0; i < 2; i++) {
        const dmbp__value *v = dmbp__const_in(n, i);
        if (v && v->dtype != DT_FLOAT)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d "
                                    "('%s') is not float32", i, v->name);
    }
    if (dmbp__const_in(n, 0) && dmbp__const_in(n, 1))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "both inputs are "
                                "constants");
    return DMBP_OK;
}

dmbp_status dmbp__nd_broadcast(const dmbp_node *n, const dmbp_shape *a,
                         const dmbp_shape *b, dmbp_shape *out)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "shapes do not "
                                    "broadcast (dimension %d: %lld vs %lld)",
                                    i, (long long)da, (long long)db);
        out->dims[i] = da == 1 ? db : da;
    }
    return DMBP_OK;
}

dmbp_status dmbp__nd_keep_batch(const dmbp_node *n, const dmbp_shape *x,
                          const dmbp_shape *y, int input)
{
    if (y->ndim >= 1 && (x->ndim != y->ndim || x->dims[0] != y->dims[0]))
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d (a "
                                "computed tensor) would be broadcast along "
                                "the batch axis 0, which mixes the images of "
                                "a batch", input);
    return DMBP_OK;
}

dmbp_status dmbp__nd_map_make(const dmbp_node *n, const dmbp_shape *y,
                        const dmbp_shape *const *s, int nops, dmbp__nd_map *out)
{
    memset(out, 0, sizeof *out);
    int r = y->ndim > 0 ? y->ndim : 1;
    out->nops = nops;
    int64_t dims[DMBP_MAX_DIMS], st[ND_MAX_OPS][DMBP_MAX_DIMS];
    for (int d = 0; d < r; d++)
        dims[d] = y->ndim > 0 ? y->dims[d] : 1;
    for (int k = 0; k < nops; k++) {
        if (s[k]->ndim > r)
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "operand %d has a "
                                    "higher rank than the output", k);
        int64_t stride = 1;
        for (int d = r - 1; d >= 0; d--) {
            int id = d - (r - s[k]->ndim);
            int64_t od = id >= 0 ? s[k]->dims[id] : 1;
            if (od == dims[d]) {
                st[k][d] = od == 1 ? 0 : stride;
            } else if (od == 1) {
                st[k][d] = 0;
            } else {
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "operand %d does "
                                        "not broadcast to the output "
                                        "(dimension %d: %lld vs %lld)", k, d,
                                        (long long)od, (long long)dims[d]);
            }
            if (!dmbp__mul_i64(stride, od, &stride))
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "operand %d is "
                                        "too large", k);
        }
    }
    /* Collapse neighbours that every operand walks as one dimension. */
    int nd = 0;
    for (int d = 0; d < r; d++) {
        bool merge = nd > 0;
        for (int k = 0; k < nops && merge; k++)
            merge = out->st[k][nd - 1] == st[k][d] * dims[d];
        if (merge) {
            out->dims[nd - 1] *= dims[d];
            for (int k = 0; k < nops; k++)
                out->st[k][nd - 1] = st[k][d];
        } else {
            out->dims[nd] = dims[d];
            for (int k = 0; k < nops; k++)
                out->st[k][nd] = st[k][d];
            nd++;
        }
    }
    out->nd = nd;
    if (!dmbp__numel_i64(out->dims, nd, &out->total))
        return dmbp__node_error(n, DMBP_ERR_SHAPE, "output too large");
    return DMBP_OK;
}

static inline float nd_f(dmbp__nd_op op, float a, float b, float c, float k)
{
    switch (op) {
    case ND_COPY: return a;
    case ND_NEG: return -a;
    case ND_ADD: return a + b;
    case ND_SUB: return a - b;
    case ND_MUL: return a * b;
    case ND_DIV: return a / b;
    case ND_NEG_MULDIV: return -a * b / c;
    case ND_SCALE: return k * a;
    }
    return 0;
}

/* One run along the innermost dimension; the switch is hoisted out of the
 * loop by inlining with a constant op. */
static inline void nd_row(dmbp__nd_op op, bool acc, float k, float *y,
                          const float *p0,
                          const float *p1, const float *p2, int64_t s0,
                          int64_t s1, int64_t s2, int64_t len)
{
    if (acc)
        for (int64_t j = 0; j < len; j++)
            y[j] += nd_f(op, p0[j * s0], p1 ? p1[j * s1] : 0,
                         p2 ? p2[j * s2] : 0, k);
    else
        for (int64_t j = 0; j < len; j++)
            y[j] = nd_f(op, p0[j * s0], p1 ? p1[j * s1] : 0,
                        p2 ? p2[j * s2] : 0, k);
}

void dmbp__nd_run(const dmbp__nd_map *m, dmbp__nd_op op, bool acc, float k, float *y,
            const float *p0, const float *p1, const float *p2)
{
    const float *p[ND_MAX_OPS] = {p0, p1, p2};
    int nd = m->nd;
    float kc = k;
    int64_t inner = m->dims[nd - 1];
    int64_t chunks = (m->total + DMBP_SWEEP_CHUNK - 1) / DMBP_SWEEP_CHUNK;
#pragma omp parallel for
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i = c * DMBP_SWEEP_CHUNK;
        int64_t end = i + DMBP_SWEEP_CHUNK < m->total ? i + DMBP_SWEEP_CHUNK
                                                      : m->total;
        while (i < end) {
            /* Offsets of element i in each operand. */
            int64_t off[ND_MAX_OPS] = {0, 0, 0}, rest = i;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t id = rest % m->dims[d];
                rest /= m->dims[d];
                for (int o = 0; o < m->nops; o++)
                    off[o] += id * m->st[o][d];
            }
            int64_t j0 = i % inner;
            int64_t len = inner - j0 < end - i ? inner - j0 : end - i;
            const float *q[ND_MAX_OPS];
            for (int o = 0; o < ND_MAX_OPS; o++)
                q[o] = o < m->nops && p[o] ? p[o] + off[o] : NULL;
            int64_t s0 = m->st[0][nd - 1], s1 = m->st[1][nd - 1],
                    s2 = m->st[2][nd - 1];
            switch (op) {
            case ND_COPY: nd_row(ND_COPY, acc, kc, y + i, q[0], NULL, NULL, s0, 0, 0, len); break;
            case ND_NEG: nd_row(ND_NEG, acc, kc, y + i, q[0], NULL, NULL, s0, 0, 0, len); break;
            case ND_ADD: nd_row(ND_ADD, acc, kc, y + i, q[0], q[1], NULL, s0, s1, 0, len); break;
            case ND_SUB: nd_row(ND_SUB, acc, kc, y + i, q[0], q[1], NULL, s0, s1, 0, len); break;
            case ND_MUL: nd_row(ND_MUL, acc, kc, y + i, q[0], q[1], NULL, s0, s1, 0, len); break;
            case ND_DIV: nd_row(ND_DIV, acc, kc, y + i, q[0], q[1], NULL, s0, s1, 0, len); break;
            case ND_SCALE: nd_row(ND_SCALE, acc, kc, y + i, q[0], NULL, NULL, s0, 0, 0, len); break;
            case ND_NEG_MULDIV: nd_row(ND_NEG_MULDIV, acc, kc, y + i, q[0], q[1], q[2], s0, s1, s2, len); break;
            }
            i += len;
        }
    }
}

dmbp_status dmbp__nd_reduce_make(const dmbp_shape *src, const dmbp_shape *dst,
                           dmbp__nd_reduce **out)
{
    int r = src->ndim;
    if (dst->ndim > r)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "reduction to a higher rank");
    int64_t sd[DMBP_MAX_DIMS], dd[DMBP_MAX_DIMS], st[DMBP_MAX_DIMS];
    int64_t stride = 1;
    for (int d = r - 1; d >= 0; d--) {
        int id = d - (r - dst->ndim);
        sd[d] = src->dims[d];
        dd[d] = id >= 0 ? dst->dims[id] : 1;
        if (dd[d] != sd[d] && dd[d] != 1)
            return dmbp_set_error(DMBP_ERR_INTERNAL, "reduction shapes");
        st[d] = stride;
        stride *= sd[d]; /* bounded: src's numel was checked */
    }
    int64_t n_dst = 1, n_red = 1;
    for (int d = 0; d < r; d++) {
        if (dd[d] == sd[d])
            n_dst *= sd[d];
        else
            n_red *= sd[d];
    }
    /* One block (freed with free() as a step's data). */
    size_t bytes;
    if (!dmbp__mul_size((size_t)(n_dst + n_red), sizeof(int64_t), &bytes) ||
        !dmbp__add_size(bytes, sizeof(dmbp__nd_reduce), &bytes))
        return dmbp_set_error(DMBP_ERR_SHAPE, "reduction too large");
    dmbp__nd_reduce *rd = dmbp__malloc(bytes);
    if (!rd)
        return DMBP_ERR_NOMEM;
    rd->n_dst = n_dst;
    rd->n_red = n_red;
    rd->dst_base = (int64_t *)(rd + 1);
    rd->red_off = rd->dst_base + n_dst;
    /* Walk the kept dimensions (row-major) for the bases and the summed
     * ones for the offsets. */
    for (int pass = 0; pass < 2; pass++) {
        bool kept = pass == 0;
        int64_t cnt = kept ? n_dst : n_red;
        int64_t *dstv = kept ? rd->dst_base : rd->red_off;
        for (int64_t j = 0; j < cnt; j++) {
            int64_t rest = j, off = 0;
            for (int d = r - 1; d >= 0; d--) {
                if ((dd[d] == sd[d]) != kept)
                    continue;
                off += (rest % sd[d]) * st[d];
                rest /= sd[d];
            }
            dstv[j] = off;
        }
    }
    rd->scale = 1.f;
    rd->contiguous = true;
    for (int64_t k = 0; k < n_red && rd->contiguous; k++)
        rd->contiguous = rd->red_off[k] == k;
    *out = rd;
    return DMBP_OK;
}

void dmbp__nd_reduce_run(const dmbp__nd_reduce *r, const float *src, float *dst,
                   float scale)
{
#pragma omp parallel for
    for (int64_t j = 0; j < r->n_dst; j++) {
        const float *s = src + r->dst_base[j];
        double acc = 0;
        if (r->contiguous)
            for (int64_t k = 0; k < r->n_red; k++)
                acc += s[k];
        else
            for (int64_t k = 0; k < r->n_red; k++)
                acc += s[r->red_off[k]];
        dst[j] = (float)(acc * scale);
    }
}

dmbp_status dmbp__nd_plain_in(dmbp__builder *b, int v, dnnl_memory_desc_t *md,
                        dnnl_memory_t *mem)
{
    const dmbp__pvalue *x = dmbp__pval(b, v);
    if (!x)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "input not ready");
    TRY(dmbp__md_plain(&x->shape, md));
    return dmbp__plan_input_as(b, v, md, mem);
}

dmbp_status dmbp__nd_plain_tan(dmbp__builder *b, int v, dnnl_memory_t *mem)
{
    const dmbp__pvalue *x = dmbp__val(b, v);
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(&x->shape, &md));
    return dmbp__to_layout(b, x->tan, &x->md, &md, mem);
}

/* A step: args[0] = y, args[1..nops] the operands. */
typedef struct nd_step {
    dmbp__nd_map map;
    dmbp__nd_op op;
    bool acc;
    float c;
} nd_step;

static dmbp_status nd_step_fn(dmbp_plan *p, const dmbp__step *s)
{
    const nd_step *d = s->data;
    const float *q[ND_MAX_OPS] = {NULL, NULL, NULL};
    for (int k = 1; k < s->nargs; k++)
        q[k - 1] = dmbp__mem_ptr(s->args[k].memory);
    dmbp__nd_run(&d->map, d->op, d->acc, d->c, dmbp__mem_ptr(s->args[0].memory),
           q[0], q[1], q[2]);
    (void)p;
    return DMBP_OK;
}

dmbp_status dmbp__nd_add_step_s(dmbp__builder *b, const dmbp_node *n,
                          const dmbp_shape *ys, dmbp__nd_op op, bool acc, float c,
                          dnnl_memory_t y, const dmbp_shape *const *s,
                          const dnnl_memory_t *mems, int nops)
{
    nd_step *d = dmbp__calloc(1, sizeof *d);
    if (!d)
        return DMBP_ERR_NOMEM;
    dmbp_status st = dmbp__nd_map_make(n, ys, s, nops, &d->map);
    if (st) {
        free(d);
        return st;
    }
    d->op = op;
    d->acc = acc;
    d->c = c;
    dnnl_exec_arg_t args[1 + ND_MAX_OPS];
    args[0] = (dnnl_exec_arg_t){DNNL_ARG_DST, y};
    for (int k = 0; k < nops; k++)
        args[1 + k] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, mems[k]};
    return dmbp__plan_fn(b, n, nd_step_fn, d, args, 1 + nops);
}

dmbp_status dmbp__nd_add_step(dmbp__builder *b, const dmbp_node *n,
                        const dmbp_shape *ys, dmbp__nd_op op, bool acc, float c,
                        dnnl_memory_t y, const int *vals,
                        const dnnl_memory_t *mems, int nops)
{
    const dmbp_shape *s[ND_MAX_OPS] = {NULL, NULL, NULL};
    for (int k = 0; k < nops; k++)
        s[k] = n->model->values[vals[k]].is_const
                   ? &n->model->values[vals[k]].shape
                   : dmbp__val_shape(b, vals[k]);
    return dmbp__nd_add_step_s(b, n, ys, op, acc, c, y, s, mems, nops);
}

static dmbp_status reduce_fn(dmbp_plan *p, const dmbp__step *s)
{
    const dmbp__nd_reduce *r = s->data;
    dmbp__nd_reduce_run(r, dmbp__mem_ptr(s->args[1].memory),
                  dmbp__mem_ptr(s->args[0].memory), r->scale);
    (void)p;
    return DMBP_OK;
}

dmbp_status dmbp__nd_add_reduce(dmbp__builder *b, const dmbp_node *n, dmbp__nd_reduce *r,
                          float scale, dnnl_memory_t dst, dnnl_memory_t src)
{
    r->scale = scale;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DST, dst}, {DNNL_ARG_SRC, src}};
    return dmbp__plan_fn(b, n, reduce_fn, r, args, 2);
}

dmbp_status dmbp__nd_axes(const dmbp_node *n, const char *attr, int input,
                    int64_t *buf, int *count)
{
    TRY(dmbp__attr_ints(n, attr, buf, DMBP_MAX_DIMS, count));
    if (input < 0 || !dmbp__has_in(n, input))
        return DMBP_OK;
    if (*count >= 0)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "axes given both as an "
                                "attribute and an input");
    const dmbp__value *v = dmbp__const_in(n, input);
    if (!v || v->dtype != DT_INT64)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d (the "
                                "axes) must be a constant int64 tensor",
                                input);
    int64_t k = dmbp_shape_numel(&v->shape);
    if (v->shape.ndim > 1 || k > DMBP_MAX_DIMS)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d has %lld "
                                "axes (at most %d)", input, (long long)k,
                                DMBP_MAX_DIMS);
    memcpy(buf, v->i64, (size_t)k * sizeof(int64_t));
    *count = (int)k;
    return DMBP_OK;
}

dmbp_status dmbp__nd_axes_mask(const dmbp_node *n, const int64_t *axes, int count,
                         int rank, bool *mask)
{
    for (int d = 0; d < rank; d++)
        mask[d] = false;
    for (int i = 0; i < count; i++) {
        int a;
        TRY(dmbp__axis(n, axes[i], rank, &a));
        if (mask[a])
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "axis %lld is "
                                    "listed twice", (long long)axes[i]);
        if (a == 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "axes include "
                                    "the batch axis 0 (the images of a "
                                    "batch must stay independent)");
        mask[a] = true;
    }
    return DMBP_OK;
}
