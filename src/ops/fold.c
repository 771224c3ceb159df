/* Load-time folding of shape subgraphs: Shape, Gather, Slice, Concat,
 * Unsqueeze, Squeeze, Cast and integer Add/Sub/Mul/Div whose inputs are
 * constants (Shape: a value whose shape is known) become constants, so
 * that exports computing a reshape's target from x.size() (opset 9's
 * x.view(x.size(0), -1), ShuffleNet's channel shuffle) load.
 *
 * The batch size is not known at load: Shape's entry for axis 0 of a
 * runtime value becomes 0 and is marked. A marked entry may only reach
 * position 0 of a Reshape's shape, where 0 means "copy the input's
 * dimension", the batch; arithmetic on it or any other use is refused.
 * Spatial sizes that are dynamic in the model's input are refused too:
 * folding would bake in the load-time default. */
#include "ops/ops.h"

/* ONNX TensorProto data types. */
#define ONNX_FLOAT 1
#define ONNX_INT64 7

typedef struct cval {
    const dmbp__value *v;
    uint64_t mark;      /* bit k: entry k is the batch size */
} cval;

static bool is_int(const dmbp__value *v)
{
    return v && v->is_const && v->dtype == DT_INT64;
}

/* Replace node n's only output by an int64 constant (takes data). */
static dmbp_status set_int(dmbp_model *m, dmbp_node *n, int ndim,
                           const int64_t *dims, int64_t *data, uint64_t mark,
                           uint64_t *marks)
{
    dmbp__value *o = &m->values[n->out[0]];
    o->is_const = true;
    o->dtype = DT_INT64;
    o->shape.ndim = ndim;
    for (int d = 0; d < ndim; d++)
        o->shape.dims[d] = dims[d];
    o->i64 = data;
    o->producer = -1;
    marks[n->out[0]] = mark;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
            m->values[n->in[k]].consumers--;
    n->dead = true;
    return DMBP_OK;
}

static int64_t *copy_ints(const int64_t *src, int64_t count)
{
    int64_t *d = dmbp__malloc((size_t)(count ? count : 1) * sizeof *d);
    if (d && count)
        memcpy(d, src, (size_t)count * sizeof *d);
    return d;
}

static dmbp_status fold_shape(dmbp_model *m, dmbp_node *n,
                              const dmbp_shape *shapes, uint64_t *marks,
                              bool *done)
{
    const dmbp__value *x = &m->values[n->in[0]];
    const dmbp_shape *s = x->is_const ? &x->shape : &shapes[n->in[0]];
    int r = s->ndim;
    int64_t start, end;
    TRY(dmbp__attr_int(n, "start", 0, &start));
    TRY(dmbp__attr_int(n, "end", r, &end));
    if (start < 0)
        start = start < -r ? 0 : start + r;
    if (end < 0)
        end = end < -r ? 0 : end + r;
    start = start > r ? r : start;
    end = end > r ? r : end;
    int64_t k = end > start ? end - start : 0;
    int64_t *data = dmbp__malloc((size_t)(k ? k : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    uint64_t mark = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t d = start + i;
        data[i] = s->dims[d];
        if (x->is_const)
            continue;
        if (d == 0) {
            data[i] = 0;
            mark |= (uint64_t)1 << i;
        }
    }
    /* Without tracking sizes through the network, a dynamic input
     * dimension other than the batch makes every shape unknown. */
    for (int d = 1; d < m->input_decl.ndim; d++)
        if (!x->is_const && m->input_decl.dims[d] == 0) {
            free(data);
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "reads the "
                                    "shape of a tensor while the model's "
                                    "input has a dynamic dimension %d "
                                    "(export with a fixed image size)", d);
        }
    int64_t dims[1] = {k};
    *done = true;
    return set_int(m, n, 1, dims, data, mark, marks);
}

/* Gather along axis 0 of a 1-D int64 constant. */
static dmbp_status fold_gather(dmbp_model *m, dmbp_node *n, uint64_t *marks,
                               bool *done)
{
    const dmbp__value *d = dmbp__const_in(n, 0), *idx = dmbp__const_in(n, 1);
    int64_t axis;
    TRY(dmbp__attr_int(n, "axis", 0, &axis));
    if (!is_int(d) || !is_int(idx) || d->shape.ndim != 1 ||
        (axis != 0 && axis != -1) || idx->shape.ndim > 1)
        return DMBP_OK;
    int64_t len = d->shape.dims[0], k = dmbp_shape_numel(&idx->shape);
    int64_t *data = dmbp__malloc((size_t)(k ? k : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    uint64_t mark = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t j = idx->i64[i] < 0 ? idx->i64[i] + len : idx->i64[i];
        if (j < 0 || j >= len) {
            free(data);
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "index %lld out of "
                                    "range for %lld entries",
                                    (long long)idx->i64[i], (long long)len);
        }
        data[i] = d->i64[j];
        if (marks[n->in[0]] >> j & 1)
            mark |= (uint64_t)1 << i;
    }
    *done = true;
    return set_int(m, n, idx->shape.ndim, idx->shape.dims, data, mark, marks);
}

/* Slice of a 1-D int64 constant, positive steps. */
static dmbp_status fold_slice(dmbp_model *m, dmbp_node *n, uint64_t *marks,
                              bool *done)
{
    const dmbp__value *d = dmbp__const_in(n, 0);
    if (!is_int(d) || d->shape.ndim != 1 || m->opset < 10)
        return DMBP_OK;
    for (int i = 1; i < n->n_in; i++)
        if (dmbp__has_in(n, i) && !is_int(dmbp__const_in(n, i)))
            return DMBP_OK;
    const dmbp__value *st = dmbp__const_in(n, 1), *en = dmbp__const_in(n, 2);
    const dmbp__value *ax = dmbp__has_in(n, 3) ? dmbp__const_in(n, 3) : NULL;
    const dmbp__value *sp = dmbp__has_in(n, 4) ? dmbp__const_in(n, 4) : NULL;
    if (!st || !en || dmbp_shape_numel(&st->shape) != 1 ||
        dmbp_shape_numel(&en->shape) != 1 ||
        (ax && (dmbp_shape_numel(&ax->shape) != 1 ||
                (ax->i64[0] != 0 && ax->i64[0] != -1))) ||
        (sp && (dmbp_shape_numel(&sp->shape) != 1 || sp->i64[0] < 1)))
        return DMBP_OK;
    int64_t len = d->shape.dims[0], s = st->i64[0], e = en->i64[0];
    int64_t step = sp ? sp->i64[0] : 1;
    if (s < 0)
        s = s < -len ? 0 : s + len;
    if (e < 0)
        e = e < -len ? 0 : e + len;
    s = s > len ? len : s;
    e = e > len ? len : e;
    int64_t k = e > s ? (e - s + step - 1) / step : 0;
    int64_t *data = dmbp__malloc((size_t)(k ? k : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    uint64_t mark = 0;
    for (int64_t i = 0; i < k; i++) {
        data[i] = d->i64[s + i * step];
        if (marks[n->in[0]] >> (s + i * step) & 1)
            mark |= (uint64_t)1 << i;
    }
    int64_t dims[1] = {k};
    *done = true;
    return set_int(m, n, 1, dims, data, mark, marks);
}

/* Concat of 0-D/1-D int64 constants. */
static dmbp_status fold_concat(dmbp_model *m, dmbp_node *n, uint64_t *marks,
                               bool *done)
{
    int64_t total = 0;
    for (int i = 0; i < n->n_in; i++) {
        const dmbp__value *v = dmbp__const_in(n, i);
        if (!is_int(v) || v->shape.ndim > 1)
            return DMBP_OK;
        total += dmbp_shape_numel(&v->shape);
    }
    if (total > 64)
        return DMBP_OK; /* not a shape */
    int64_t *data = dmbp__malloc((size_t)(total ? total : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    uint64_t mark = 0;
    int64_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
        const dmbp__value *v = dmbp__const_in(n, i);
        int64_t c = dmbp_shape_numel(&v->shape);
        memcpy(data + at, v->i64, (size_t)c * sizeof *data);
        mark |= marks[n->in[i]] << at;
        at += c;
    }
    int64_t dims[1] = {total};
    *done = true;
    return set_int(m, n, 1, dims, data, mark, marks);
}

/* Unsqueeze / Squeeze of a 0-D or 1-D int64 constant: new dimensions of
 * size 1 around the same entries. */
static dmbp_status fold_unsqueeze(dmbp_model *m, dmbp_node *n, bool squeeze,
                                  uint64_t *marks, bool *done)
{
    const dmbp__value *d = dmbp__const_in(n, 0);
    if (!is_int(d) || d->shape.ndim > 1)
        return DMBP_OK;
    int64_t axes[DMBP_MAX_DIMS];
    int na;
    TRY(dmbp__attr_ints(n, "axes", axes, DMBP_MAX_DIMS, &na));
    if (na < 0 && dmbp__has_in(n, 1)) {
        const dmbp__value *a = dmbp__const_in(n, 1);
        if (!is_int(a) || dmbp_shape_numel(&a->shape) > DMBP_MAX_DIMS)
            return DMBP_OK;
        na = (int)dmbp_shape_numel(&a->shape);
        memcpy(axes, a->i64, (size_t)na * sizeof *axes);
    }
    int64_t c = dmbp_shape_numel(&d->shape);
    dmbp_shape s = d->shape;
    if (squeeze) {
        if (na < 0 || s.ndim != 1 || c != 1 || na != 1 ||
            (axes[0] != 0 && axes[0] != -1))
            return DMBP_OK;
        s.ndim = 0;
    } else {
        int r = s.ndim + (na > 0 ? na : 0);
        if (na <= 0 || r > 2)
            return DMBP_OK;
        /* A scalar to [1], or [k] to [1, k] / [k, 1]. */
        bool first = false;
        for (int i = 0; i < na; i++)
            first |= axes[i] == 0 || axes[i] == -r;
        s.ndim = r;
        if (r == 1)
            s.dims[0] = 1;
        else if (first)
            s.dims[0] = 1, s.dims[1] = c;
        else
            s.dims[0] = c, s.dims[1] = 1;
    }
    int64_t *data = copy_ints(d->i64, c);
    if (!data)
        return DMBP_ERR_NOMEM;
    *done = true;
    return set_int(m, n, s.ndim, s.dims, data, marks[n->in[0]], marks);
}

static dmbp_status fold_cast(dmbp_model *m, dmbp_node *n, uint64_t *marks,
                             bool *done)
{
    const dmbp__value *d = dmbp__const_in(n, 0);
    int64_t to;
    TRY(dmbp__attr_int(n, "to", 0, &to));
    if (!d || to != ONNX_INT64)
        return DMBP_OK;
    int64_t c = dmbp_shape_numel(&d->shape);
    int64_t *data = dmbp__malloc((size_t)(c ? c : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    for (int64_t i = 0; i < c; i++)
        data[i] = d->dtype == DT_INT64 ? d->i64[i] : (int64_t)d->f[i];
    *done = true;
    return set_int(m, n, d->shape.ndim, d->shape.dims, data,
                   marks[n->in[0]], marks);
}

/* Integer arithmetic on equal shapes or with a scalar side. */
static dmbp_status fold_arith(dmbp_model *m, dmbp_node *n, char op,
                              uint64_t *marks, bool *done)
{
    const dmbp__value *a = dmbp__const_in(n, 0), *b = dmbp__const_in(n, 1);
    if (n->n_in != 2 || !is_int(a) || !is_int(b))
        return DMBP_OK;
    int64_t ca = dmbp_shape_numel(&a->shape), cb = dmbp_shape_numel(&b->shape);
    if (ca != cb && ca != 1 && cb != 1)
        return DMBP_OK;
    if (marks[n->in[0]] || marks[n->in[1]])
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "computes with the "
                                "batch size (dynamic at load)");
    const dmbp__value *big = ca >= cb ? a : b;
    int64_t c = ca > cb ? ca : cb;
    int64_t *data = dmbp__malloc((size_t)(c ? c : 1) * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    for (int64_t i = 0; i < c; i++) {
        int64_t x = a->i64[ca == 1 ? 0 : i], y = b->i64[cb == 1 ? 0 : i], r;
        bool ok = true;
        switch (op) {
        case '+': ok = !__builtin_add_overflow(x, y, &r); break;
        case '-': ok = !__builtin_sub_overflow(x, y, &r); break;
        case '*': ok = !__builtin_mul_overflow(x, y, &r); break;
        default:
            ok = y != 0 && !(x == INT64_MIN && y == -1);
            r = ok ? x / y : 0;
            break;
        }
        if (!ok) {
            free(data);
            return dmbp__node_error(n, DMBP_ERR_FORMAT, "integer overflow or "
                                    "division by zero in a shape");
        }
        data[i] = r;
    }
    *done = true;
    return set_int(m, n, big->shape.ndim, big->shape.dims, data, 0, marks);
}

dmbp_status dmbp__fold_node(dmbp_model *m, dmbp_node *n,
                            const dmbp_shape *shapes, uint64_t *marks,
                            bool *done)
{
    *done = false;
    const char *t = n->op_type;
    if (n->n_out != 1 || n->n_in < 1 || !dmbp__has_in(n, 0))
        return DMBP_OK;
    if (!strcmp(t, "Shape"))
        return fold_shape(m, n, shapes, marks, done);
    if (!strcmp(t, "Gather"))
        return fold_gather(m, n, marks, done);
    if (!strcmp(t, "Slice"))
        return fold_slice(m, n, marks, done);
    if (!strcmp(t, "Concat"))
        return fold_concat(m, n, marks, done);
    if (!strcmp(t, "Unsqueeze") || !strcmp(t, "Squeeze"))
        return fold_unsqueeze(m, n, t[0] == 'S', marks, done);
    if (!strcmp(t, "Cast"))
        return fold_cast(m, n, marks, done);
    static const char *const ar[] = {"Add", "Sub", "Mul", "Div"};
    static const char ops[] = "+-*/";
    for (int i = 0; i < 4; i++)
        if (!strcmp(t, ar[i]))
            return fold_arith(m, n, ops[i], marks, done);
    return DMBP_OK;
}

dmbp_status dmbp__fold_check_use(const dmbp_node *n, const uint64_t *marks)
{
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0 || !marks[n->in[k]])
            continue;
        if (!strcmp(n->op_type, "Reshape") && k == 1 && marks[n->in[k]] == 1)
            continue;
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d holds the "
                                "batch size read by a Shape op; libdmbp "
                                "only takes it as the first entry of a "
                                "Reshape's shape", k);
    }
    return DMBP_OK;
}
