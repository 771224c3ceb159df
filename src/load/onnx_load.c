/* ONNX file -> dmbp_model: decode the protobuf (proto/onnx.proto), turn
 * initializers and Constant nodes into constant values, nodes into graph
 * nodes; graph.c then checks and simplifies. */
#include "model/model.h"

#include "proto/onnx.pb-c.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opsets of the default domain we know the op semantics of. */
#define DMBP_OPSET_MIN 6
#define DMBP_OPSET_MAX 17


typedef struct loader {
    dmbp_model *m;
    const char *base_dir;
    /* Value names -> indices: an open-addressing hash table over
     * m->values[0..n_indexed), the later of two equal names winning, so
     * that loading stays linear in the node count. */
    int *index;
    size_t index_cap;   /* a power of two, or 0 */
    int n_indexed;
    /* Initializer payloads left out of the skeleton (onnx_file.c), in
     * initializer order, read from fd; cur: the tensor being decoded. */
    const dmbp__payload *pl;
    size_t n_pl, next_pl;
    int fd;
    const dmbp__payload *cur;
} loader;

static const char *dtype_name(int t)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
        "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
        "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (t >= 0 && t < (int)(sizeof names / sizeof names[0]))
        return names[t];
    return "unknown";
}

/* Read an external-data slice (TensorProto.external_data) of want bytes
 * into a new allocation *dst, allocated only once the file is known to
 * hold that many bytes: a tensor's declared size is not trusted. */
static dmbp_status read_external(loader *L, const Onnx__TensorProto *t,
                                 const char *tname, size_t want, void **dst)
{
    const char *loc = NULL;
    long long off = 0, len = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value)
            continue;
        if (!strcmp(e->key, "location"))
            loc = e->value;
        else if (!strcmp(e->key, "offset"))
            off = atoll(e->value);
        else if (!strcmp(e->key, "length"))
            len = atoll(e->value);
    }
    if (!loc)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': external "
                              "data without a location", L->m->name, tname);
    if (!L->base_dir)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: tensor '%s' has external "
                              "data but no directory was given to find it",
                              L->m->name, tname);
    /* The location must stay beside the model: no absolute paths, no "..". */
    if (loc[0] == '/' || !strcmp(loc, "..") || !strncmp(loc, "../", 3) ||
        strstr(loc, "/../") ||
        (strlen(loc) >= 3 && !strcmp(loc + strlen(loc) - 3, "/..")))
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': external "
                              "data location '%s' leaves the model's "
                              "directory", L->m->name, tname, loc);
    if (off < 0)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': negative "
                              "external data offset %lld", L->m->name, tname,
                              off);
    if (len >= 0 && (unsigned long long)len != want)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': external "
                              "data length %lld, expected %zu bytes",
                              L->m->name, tname, len, want);
    size_t plen = strlen(L->base_dir) + strlen(loc) + 2;
    char *path = malloc(plen);
    if (!path)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    snprintf(path, plen, "%s/%s", L->base_dir, loc);
    FILE *f = fopen(path, "rb");
    if (!f) {
        dmbp_status st = dmbp_set_error(DMBP_ERR_IO, "%s: tensor '%s': "
                                        "cannot open external data %s: %s",
                                        L->m->name, tname, path,
                                        strerror(errno));
        free(path);
        return st;
    }
    dmbp_status st = DMBP_OK;
    struct stat sb;
    void *buf = NULL;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (unsigned long long)off > (unsigned long long)sb.st_size ||
        (unsigned long long)sb.st_size - (unsigned long long)off < want)
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': external data "
                            "%s is shorter than offset %lld + %zu bytes",
                            L->m->name, tname, path, off, want);
    else if (!(buf = dmbp__malloc(want ? want : 1)))
        st = DMBP_ERR_NOMEM;
    else if (fseeko(f, (off_t)off, SEEK_SET) != 0 ||
             (want && fread(buf, 1, want, f) != want))
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': external data "
                            "%s is shorter than offset %lld + %zu bytes",
                            L->m->name, tname, path, off, want);
    fclose(f);
    free(path);
    if (st) {
        free(buf);
        return st;
    }
    *dst = buf;
    return DMBP_OK;
}

/* Check that the data present holds n elements before anything of the
 * declared size is allocated (a few bytes must not ask for terabytes). */
static dmbp_status data_count(loader *L, const char *tname, size_t have,
                              size_t n, const char *what)
{
    if (have != n)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s': data for "
                              "%zu %s, its shape declares %zu", L->m->name,
                              tname, have, what, n);
    return DMBP_OK;
}

static dmbp_status decode_body(loader *L, const Onnx__TensorProto *t,
                               const char *tname, dmbp__value *v);

/* A payload left out of the skeleton, from the model file. */
static dmbp_status read_payload(loader *L, const char *tname,
                                const dmbp__payload *pl, void *buf)
{
    int e = dmbp__pread_all(L->fd, buf, (size_t)pl->len, pl->off);
    if (e)
        return dmbp_set_error(DMBP_ERR_IO, "%s: tensor '%s': read error: "
                              "%s", L->m->name, tname,
                              e < 0 ? "short file" : strerror(e));
    return DMBP_OK;
}

/* Decode a TensorProto into constant value v (float32 or int64 data). A
 * float32 payload left out of the skeleton is read straight into v->f
 * and remembered as v's source; others through a temporary copy. */
static dmbp_status decode_tensor(loader *L, const Onnx__TensorProto *t,
                                 const char *tname, dmbp__value *v)
{
    const dmbp__payload *pl = L->cur;
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    int dt = t->has_data_type ? t->data_type : 0;
    if (!pl || external || dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        dmbp_status st = decode_body(L, t, tname, v); /* reads L->cur */
        L->cur = NULL;
        return st;
    }
    L->cur = NULL;
    uint8_t *tmp = dmbp__malloc((size_t)pl->len);
    if (!tmp)
        return DMBP_ERR_NOMEM;
    dmbp_status st = read_payload(L, tname, pl, tmp);
    if (!st) {
        Onnx__TensorProto tc = *t;
        tc.has_raw_data = 1;
        tc.raw_data.data = tmp;
        tc.raw_data.len = (size_t)pl->len;
        st = decode_body(L, &tc, tname, v);
    }
    free(tmp);
    return st;
}

static dmbp_status decode_body(loader *L, const Onnx__TensorProto *t,
                               const char *tname, dmbp__value *v)
{
    if (t->n_dims > DMBP_MAX_DIMS)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: tensor '%s' has %zu "
                              "dimensions (at most %d)", L->m->name, tname,
                              t->n_dims, DMBP_MAX_DIMS);
    v->shape.ndim = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++)
        v->shape.dims[i] = t->dims[i];
    int64_t numel;
    if (!dmbp__numel_i64(v->shape.dims, v->shape.ndim, &numel)) {
        char buf[160];
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: tensor '%s' has invalid "
                              "dimensions %s (negative, or more than %lld "
                              "elements)", L->m->name, tname,
                              dmbp__shape_str(&v->shape, buf, sizeof buf),
                              (long long)DMBP_MAX_ELEMS);
    }
    v->is_const = true;
    int dt = t->has_data_type ? t->data_type : 0;
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* numel <= 2^40: byte counts below cannot overflow. */
    size_t n = (size_t)numel;
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        v->dtype = DT_FLOAT;
        if (external)
            return read_external(L, t, tname, n * sizeof(float),
                                 (void **)&v->f);
        if (L->cur) {
            const dmbp__payload *pl = L->cur;
            TRY(data_count(L, tname, pl->len / sizeof(float) +
                           (pl->len % sizeof(float) != 0), n, "floats"));
            v->f = dmbp__malloc(n ? n * sizeof(float) : 1);
            if (!v->f)
                return DMBP_ERR_NOMEM;
            TRY(read_payload(L, tname, pl, v->f));
            v->has_src = true;
            v->src_off = pl->off;
            v->src_hash = dmbp__weight_hash(v->f, n * sizeof(float));
            return DMBP_OK;
        }
        if (t->has_raw_data)
            TRY(data_count(L, tname, t->raw_data.len / sizeof(float) +
                           (t->raw_data.len % sizeof(float) != 0), n,
                           "floats"));
        else
            TRY(data_count(L, tname, t->n_float_data, n, "floats"));
        v->f = dmbp__malloc(n ? n * sizeof(float) : 1);
        if (!v->f)
            return DMBP_ERR_NOMEM;
        /* ONNX raw data is little-endian, as is every CPU we build for.
         * n == 0: the source may be NULL, which memcpy may not take. */
        if (n)
            memcpy(v->f, t->has_raw_data ? (const void *)t->raw_data.data
                                         : (const void *)t->float_data,
                   n * sizeof(float));
        return DMBP_OK;
    }
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL && !external) {
        /* Flags such as Dropout's training_mode: 0 or 1 as integers. */
        v->dtype = DT_INT64;
        TRY(data_count(L, tname, t->has_raw_data ? t->raw_data.len
                                                 : t->n_int32_data,
                       n, "booleans"));
        v->i64 = dmbp__malloc(n ? n * sizeof(int64_t) : 1);
        if (!v->i64)
            return DMBP_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            v->i64[i] = t->has_raw_data ? t->raw_data.data[i] != 0
                                        : t->int32_data[i] != 0;
        return DMBP_OK;
    }
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
        dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
        /* Integer tensors only feed shape-like inputs (Reshape's shape,
         * Pad's pads); ops that need floats reject them. */
        v->dtype = DT_INT64;
        size_t esz = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8 : 4;
        uint8_t *tmp = NULL;
        const uint8_t *src = NULL;
        if (external) {
            TRY(read_external(L, t, tname, n * esz, (void **)&tmp));
            src = tmp;
        } else if (t->has_raw_data) {
            TRY(data_count(L, tname, t->raw_data.len / esz +
                           (t->raw_data.len % esz != 0), n, "integers"));
            src = t->raw_data.data;
        } else {
            TRY(data_count(L, tname, esz == 8 ? t->n_int64_data
                                              : t->n_int32_data,
                           n, "integers"));
        }
        v->i64 = dmbp__malloc(n ? n * sizeof(int64_t) : 1);
        if (!v->i64) {
            free(tmp);
            return DMBP_ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            if (src && esz == 8) {
                int64_t x;
                memcpy(&x, src + 8 * i, 8);
                v->i64[i] = x;
            } else if (src) {
                int32_t x;
                memcpy(&x, src + 4 * i, 4);
                v->i64[i] = x;
            } else {
                v->i64[i] = esz == 8 ? t->int64_data[i] : t->int32_data[i];
            }
        }
        free(tmp);
        return DMBP_OK;
    }
    return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: tensor '%s' has data "
                          "type %s; libdmbp reads float32 weights (and "
                          "int64 shapes) only", L->m->name, tname,
                          dtype_name(dt));
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Slot of name in the table: its entry, or the empty slot to put it in. */
static size_t index_slot(const loader *L, const char *name)
{
    size_t mask = L->index_cap - 1, i = name_hash(name) & mask;
    while (L->index[i] >= 0 && strcmp(L->m->values[L->index[i]].name, name))
        i = (i + 1) & mask;
    return i;
}

/* Bring the table up to date with values added since the last lookup. */
static dmbp_status index_values(loader *L)
{
    const dmbp_model *m = L->m;
    if ((size_t)m->n_values * 2 >= L->index_cap) {
        size_t cap = L->index_cap ? L->index_cap : 256;
        while ((size_t)m->n_values * 2 >= cap)
            cap *= 2;
        int *t = malloc(cap * sizeof *t);
        if (!t)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        free(L->index);
        L->index = t;
        L->index_cap = cap;
        for (size_t i = 0; i < cap; i++)
            t[i] = -1;
        L->n_indexed = 0;
    }
    for (; L->n_indexed < m->n_values; L->n_indexed++)
        L->index[index_slot(L, m->values[L->n_indexed].name)] = L->n_indexed;
    return DMBP_OK;
}

/* Index of the value called name, -1 if none; -2 when out of memory. */
static int find_value(loader *L, const char *name)
{
    if (index_values(L))
        return -2;
    return L->index[index_slot(L, name)];
}

/* Constant node: its value attribute becomes a constant value. */
static dmbp_status load_constant(loader *L, const Onnx__NodeProto *np,
                                 int vi)
{
    dmbp__value *v = &L->m->values[vi];
    for (size_t a = 0; a < np->n_attribute; a++) {
        const Onnx__AttributeProto *ap = np->attribute[a];
        if (!ap->name)
            continue;
        if (!strcmp(ap->name, "value") && ap->t)
            return decode_tensor(L, ap->t, v->name, v);
        if (!strcmp(ap->name, "value_float") || !strcmp(ap->name, "value_floats")) {
            bool one = !strcmp(ap->name, "value_float");
            size_t n = one ? 1 : ap->n_floats;
            v->is_const = true;
            v->dtype = DT_FLOAT;
            v->shape.ndim = one ? 0 : 1;
            v->shape.dims[0] = (int64_t)n;
            v->f = dmbp__malloc(n ? n * sizeof(float) : 1);
            if (!v->f)
                return DMBP_ERR_NOMEM;
            if (one)
                v->f[0] = ap->f;
            else if (n)
                memcpy(v->f, ap->floats, n * sizeof(float));
            return DMBP_OK;
        }
        if (!strcmp(ap->name, "value_int") || !strcmp(ap->name, "value_ints")) {
            bool one = !strcmp(ap->name, "value_int");
            size_t n = one ? 1 : ap->n_ints;
            v->is_const = true;
            v->dtype = DT_INT64;
            v->shape.ndim = one ? 0 : 1;
            v->shape.dims[0] = (int64_t)n;
            v->i64 = dmbp__malloc(n ? n * sizeof(int64_t) : 1);
            if (!v->i64)
                return DMBP_ERR_NOMEM;
            if (one)
                v->i64[0] = ap->i;
            else if (n)
                memcpy(v->i64, ap->ints, n * sizeof(int64_t));
            return DMBP_OK;
        }
    }
    return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: Constant node '%s' has "
                          "no float or integer tensor value", L->m->name,
                          np->name ? np->name : "");
}

static dmbp_status load_attrs(loader *L, const Onnx__NodeProto *np,
                              dmbp_node *n)
{
    n->attrs = dmbp__calloc(np->n_attribute ? np->n_attribute : 1,
                            sizeof(dmbp__node_attr));
    if (!n->attrs)
        return DMBP_ERR_NOMEM;
    for (size_t a = 0; a < np->n_attribute; a++) {
        const Onnx__AttributeProto *ap = np->attribute[a];
        dmbp__node_attr *t = &n->attrs[n->n_attr++];
        t->name = dmbp__strdup(ap->name ? ap->name : "");
        t->tensor = -1;
        if (!t->name)
            return DMBP_ERR_NOMEM;
        switch (ap->type) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            t->type = ATTR_FLOAT;
            t->f = ap->f;
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            t->type = ATTR_INT;
            t->i = ap->i;
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            t->type = ATTR_STRING;
            t->s = dmbp__malloc(ap->s.len + 1);
            if (!t->s)
                return DMBP_ERR_NOMEM;
            if (ap->s.len)
                memcpy(t->s, ap->s.data, ap->s.len);
            t->s[ap->s.len] = 0;
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            t->type = ATTR_FLOATS;
            t->n = (int)ap->n_floats;
            t->floats = dmbp__malloc(ap->n_floats * sizeof(float) + 1);
            if (!t->floats)
                return DMBP_ERR_NOMEM;
            if (ap->n_floats)
                memcpy(t->floats, ap->floats, ap->n_floats * sizeof(float));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            t->type = ATTR_INTS;
            t->n = (int)ap->n_ints;
            t->ints = dmbp__malloc(ap->n_ints * sizeof(int64_t) + 1);
            if (!t->ints)
                return DMBP_ERR_NOMEM;
            if (ap->n_ints)
                memcpy(t->ints, ap->ints, ap->n_ints * sizeof(int64_t));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
            t->type = ATTR_TENSOR;
            if (!ap->t)
                return dmbp_set_error(DMBP_ERR_FORMAT, "%s: node '%s': "
                                      "tensor attribute '%s' has no tensor",
                                      L->m->name, n->name, t->name);
            int vi = dmbp__model_add_value(L->m, t->name);
            if (vi < 0)
                return DMBP_ERR_NOMEM;
            t->tensor = vi;
            TRY(decode_tensor(L, ap->t, t->name, &L->m->values[vi]));
            break;
        }
        default:
            t->type = ATTR_OTHER;
            break;
        }
    }
    return DMBP_OK;
}

static dmbp_status load_input_decl(loader *L, const Onnx__ValueInfoProto *vi,
                                   dmbp_shape *s)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !tp->tensor_type)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: input '%s' is not a "
                              "tensor", L->m->name, vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: input '%s' has type "
                              "%s; libdmbp takes float32 input",
                              L->m->name, vi->name, dtype_name(tt->elem_type));
    if (!tt->shape)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: input '%s' has no "
                              "declared shape", L->m->name, vi->name);
    if (tt->shape->n_dim > DMBP_MAX_DIMS)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: input '%s' has %zu "
                              "dimensions (at most %d)", L->m->name, vi->name,
                              tt->shape->n_dim, DMBP_MAX_DIMS);
    s->ndim = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        s->dims[i] = d->value_case ==
                             ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                         ? d->dim_value
                         : 0;
        if (s->dims[i] < 0 || s->dims[i] > DMBP_MAX_DIM)
            return dmbp_set_error(DMBP_ERR_FORMAT, "%s: input '%s' has "
                                  "dimension %lld (0 to %lld)", L->m->name,
                                  vi->name, (long long)s->dims[i],
                                  (long long)DMBP_MAX_DIM);
    }
    return DMBP_OK;
}

static dmbp_status load_graph(loader *L, const Onnx__ModelProto *mp)
{
    dmbp_model *m = L->m;
    const Onnx__GraphProto *g = mp->graph;
    if (!g)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not an ONNX model (no "
                              "graph; corrupt or truncated file?)", m->name);

    m->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
            m->opset = (int)o->version;
    }
    if (m->opset < 0 && mp->n_opset_import == 0)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: no opset_import (corrupt "
                              "or truncated file?)", m->name);
    if (m->opset < 0)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the model imports no "
                              "opset of the default ONNX domain", m->name);
    if (m->opset < DMBP_OPSET_MIN || m->opset > DMBP_OPSET_MAX)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: opset %d is not "
                              "supported (opsets %d to %d are)", m->name,
                              m->opset, DMBP_OPSET_MIN, DMBP_OPSET_MAX);
    char prod[256];
    snprintf(prod, sizeof prod, "%s%s%s", mp->producer_name ? mp->producer_name : "",
             mp->producer_version && mp->producer_version[0] ? " " : "",
             mp->producer_version ? mp->producer_version : "");
    m->producer = dmbp__strdup(prod);
    if (!m->producer)
        return DMBP_ERR_NOMEM;

    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        const char *nm = t->name ? t->name : "";
        int vi = dmbp__model_add_value(m, nm);
        if (vi < 0)
            return DMBP_ERR_NOMEM;
        L->cur = L->next_pl < L->n_pl && L->pl[L->next_pl].index == i
                     ? &L->pl[L->next_pl++] : NULL;
        TRY(decode_tensor(L, t, nm, &m->values[vi]));
    }

    m->input = -1;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vip = g->input[i];
        const char *nm = vip->name ? vip->name : "";
        int fv = find_value(L, nm);
        if (fv == -2)
            return DMBP_ERR_NOMEM;
        if (fv >= 0) /* an initializer also listed as input */
            continue;
        if (m->input >= 0)
            return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the graph has "
                                  "more than one runtime input ('%s', '%s'); "
                                  "libdmbp takes one image input", m->name,
                                  m->values[m->input].name, nm);
        int vi = dmbp__model_add_value(m, nm);
        if (vi < 0)
            return DMBP_ERR_NOMEM;
        TRY(load_input_decl(L, vip, &m->input_decl));
        m->input = vi;
    }
    if (m->input < 0)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the graph has no "
                              "runtime input", m->name);

    m->nodes = dmbp__calloc(g->n_node ? g->n_node : 1, sizeof(dmbp_node));
    if (!m->nodes)
        return DMBP_ERR_NOMEM;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *np = g->node[k];
        dmbp_node *n = &m->nodes[m->n_nodes++];
        n->model = m;
        const char *op = np->op_type ? np->op_type : "";
        char gen[64];
        snprintf(gen, sizeof gen, "%s_%zu", op, k);
        n->name = dmbp__strdup(np->name && np->name[0] ? np->name : gen);
        n->op_type = dmbp__strdup(op);
        if (!n->name || !n->op_type)
            return DMBP_ERR_NOMEM;
        if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx")) {
            if (!dmbp__op_find(op))
                return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: node '%s' "
                                      "(%s, domain %s): unsupported op "
                                      "domain", m->name, n->name, op,
                                      np->domain);
        }
        TRY(load_attrs(L, np, n));
        n->in = dmbp__malloc((np->n_input + 1) * sizeof(int));
        n->out = dmbp__malloc((np->n_output + 1) * sizeof(int));
        if (!n->in || !n->out)
            return DMBP_ERR_NOMEM;
        for (size_t i = 0; i < np->n_input; i++) {
            const char *nm = np->input[i];
            int vi = -1;
            if (nm && nm[0]) {
                vi = find_value(L, nm);
                if (vi == -2)
                    return DMBP_ERR_NOMEM;
                if (vi < 0)
                    return dmbp_set_error(DMBP_ERR_FORMAT, "%s: node '%s' "
                                          "(%s) reads '%s', which no earlier "
                                          "node produces (corrupt file, or "
                                          "nodes not in topological order)",
                                          m->name, n->name, op, nm);
                m->values[vi].consumers++;
            }
            n->in[n->n_in++] = vi;
        }
        for (size_t i = 0; i < np->n_output; i++) {
            const char *nm = np->output[i] ? np->output[i] : "";
            int fv = nm[0] ? find_value(L, nm) : -1;
            if (fv == -2)
                return DMBP_ERR_NOMEM;
            if (fv >= 0)
                return dmbp_set_error(DMBP_ERR_FORMAT, "%s: node '%s' (%s) "
                                      "writes '%s', which already exists",
                                      m->name, n->name, op, nm);
            int vi = dmbp__model_add_value(m, nm);
            if (vi < 0)
                return DMBP_ERR_NOMEM;
            m->values[vi].producer = (int)k;
            n->out[n->n_out++] = vi;
        }
        if (!strcmp(op, "Constant")) {
            if (n->n_out != 1)
                return dmbp_set_error(DMBP_ERR_FORMAT, "%s: Constant node "
                                      "'%s' must have one output", m->name,
                                      n->name);
            TRY(load_constant(L, np, n->out[0]));
            m->values[n->out[0]].producer = -1;
            n->dead = true;
        }
    }

    if (g->n_output != 1)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the graph has %zu "
                              "outputs; libdmbp takes classifiers with one "
                              "output", m->name, g->n_output);
    const char *on = g->output[0]->name ? g->output[0]->name : "";
    m->output = find_value(L, on);
    if (m->output == -2)
        return DMBP_ERR_NOMEM;
    if (m->output < 0)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: graph output '%s' is not "
                              "produced by any node", m->name, on);
    m->values[m->output].consumers++; /* the caller reads it */

    m->meta_key = dmbp__calloc(mp->n_metadata_props + 1, sizeof(char *));
    m->meta_val = dmbp__calloc(mp->n_metadata_props + 1, sizeof(char *));
    if (!m->meta_key || !m->meta_val)
        return DMBP_ERR_NOMEM;
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        m->meta_key[m->n_meta] = dmbp__strdup(e->key ? e->key : "");
        m->meta_val[m->n_meta] = dmbp__strdup(e->value ? e->value : "");
        if (!m->meta_key[m->n_meta] || !m->meta_val[m->n_meta])
            return DMBP_ERR_NOMEM;
        m->n_meta++;
    }
    return DMBP_OK;
}

static dmbp_status load_labels(dmbp_model *m)
{
    for (int i = 0; i < m->n_meta; i++) {
        if (strcmp(m->meta_key[i], DMBP_META_LABELS) || m->labels)
            continue; /* the first entry wins */
        const char *s = m->meta_val[i];
        int n = 1;
        for (const char *c = s; *c; c++)
            n += *c == '\n';
        m->labels = dmbp__calloc((size_t)n, sizeof(char *));
        if (!m->labels)
            return DMBP_ERR_NOMEM;
        const char *start = s;
        for (;;) {
            const char *end = strchr(start, '\n');
            size_t len = end ? (size_t)(end - start) : strlen(start);
            char *l = dmbp__malloc(len + 1);
            if (!l)
                return DMBP_ERR_NOMEM;
            memcpy(l, start, len);
            l[len] = 0;
            m->labels[m->n_labels++] = l;
            if (!end)
                break;
            start = end + 1;
        }
    }
    return DMBP_OK;
}

dmbp_status dmbp__load_decoded(const void *data, size_t size, const char *name,
                             const char *base_dir, const dmbp__payload *pl,
                             size_t n_pl, int fd, dmbp_model **out)
{
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not an ONNX model "
                              "(protobuf decoding failed: corrupt or "
                              "truncated file?)", name);
    dmbp_model *m = dmbp__calloc(1, sizeof *m);
    dmbp_status st = DMBP_ERR_NOMEM;
    if (m)
        st = dmbp__weights_init(m);
    if (!st) {
        m->name = dmbp__strdup(name);
        loader L = {m, base_dir, NULL, 0, 0, pl, n_pl, 0, fd, NULL};
        st = m->name ? load_graph(&L, mp) : DMBP_ERR_NOMEM;
        free(L.index);
        if (!st && L.next_pl != n_pl)
            st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: not an ONNX model "
                                "(initializers do not match the file)",
                                name);
        if (!st)
            st = load_labels(m);
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    if (!st)
        st = dmbp__graph_finish(m);
    if (st) {
        dmbp_model_free(m);
        return st;
    }
    *out = m;
    return DMBP_OK;
}

dmbp_status dmbp_model_load_memory(const void *data, size_t size,
                                   const char *name, const char *base_dir,
                                   dmbp_model **out)
{
    if (!out || (!data && size))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_model_load_memory: NULL "
                              "argument");
    *out = NULL;
    if (!name)
        name = "<memory>";
    TRY(dmbp__load_decoded(data, size, name, base_dir, NULL, 0, -1, out));
    dmbp__weights_finish(*out);
    return DMBP_OK;
}

void dmbp_model_free(dmbp_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_nodes; i++) {
        dmbp_node *n = &m->nodes[i];
        if (n->op && n->op->release && n->priv)
            n->op->release(n->priv);
        for (int a = 0; a < n->n_attr; a++) {
            free(n->attrs[a].name);
            free(n->attrs[a].s);
            free(n->attrs[a].floats);
            free(n->attrs[a].ints);
        }
        free(n->attrs);
        free(n->in);
        free(n->out);
        free(n->name);
        free(n->op_type);
    }
    free(m->nodes);
    free(m->live);
    for (int i = 0; i < m->n_values; i++) {
        free(m->values[i].name);
        free(m->values[i].f);
        free(m->values[i].i64);
    }
    free(m->values);
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta_key[i]);
        free(m->meta_val[i]);
    }
    free(m->meta_key);
    free(m->meta_val);
    for (int i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->producer);
    free(m->name);
    dmbp__weights_free(m);
    free(m);
}
