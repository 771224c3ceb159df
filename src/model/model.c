/* The model's graph: read-only queries, values as the loader adds them,
 * node attributes read and checked, and the node view plugins get. */
#include "model/model.h"
#include "io/io.h"

#include <stdarg.h>

dmbp_shape dmbp_model_input_shape(const dmbp_model *m)
{
    return m->input_decl;
}

const char *dmbp_model_input_name(const dmbp_model *m)
{
    return m->values[m->input].name;
}

const char *dmbp_model_output_name(const dmbp_model *m)
{
    return m->values[m->output].name;
}

int dmbp_model_num_classes(const dmbp_model *m)
{
    const dmbp_shape *s = &m->values[m->logits].shape;
    return s->ndim ? (int)s->dims[s->ndim - 1] : 1;
}

int dmbp_model_has_softmax(const dmbp_model *m)
{
    return m->logits != m->output;
}

int dmbp_model_opset(const dmbp_model *m)
{
    return m->opset;
}

const char *dmbp_model_producer(const dmbp_model *m)
{
    return m->producer;
}

int64_t dmbp_model_num_params(const dmbp_model *m)
{
    /* Count float constants that live nodes read: after BN folding the
     * folded statistics are no longer read and not counted. */
    int64_t total = 0;
    char *seen = calloc((size_t)m->n_values, 1);
    if (!seen)
        return -1;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && !seen[v] && m->values[v].is_const &&
                m->values[v].dtype == DT_FLOAT) {
                seen[v] = 1;
                total += dmbp_shape_numel(&m->values[v].shape);
            }
        }
    }
    free(seen);
    return total;
}

/* Live nodes are numbered 0.. in execution order for the public API. */
const dmbp_node *dmbp__live_node(const dmbp_model *m, int i)
{
    if (i < 0 || i >= m->n_live)
        return NULL;
    return &m->nodes[m->live[i]];
}

int dmbp_model_num_nodes(const dmbp_model *m)
{
    return m->n_live;
}

const char *dmbp_model_node_op(const dmbp_model *m, int i)
{
    const dmbp_node *n = dmbp__live_node(m, i);
    return n ? n->op_type : NULL;
}

const char *dmbp_model_node_name(const dmbp_model *m, int i)
{
    const dmbp_node *n = dmbp__live_node(m, i);
    return n ? n->name : NULL;
}

unsigned dmbp_model_node_traits(const dmbp_model *m, int i)
{
    const dmbp_node *n = dmbp__live_node(m, i);
    return n && n->op ? n->op->traits : 0;
}

int dmbp_model_num_metadata(const dmbp_model *m)
{
    return m->n_meta;
}

void dmbp_model_metadata(const dmbp_model *m, int i, const char **key,
                         const char **val)
{
    bool ok = i >= 0 && i < m->n_meta;
    if (key)
        *key = ok ? m->meta_key[i] : NULL;
    if (val)
        *val = ok ? m->meta_val[i] : NULL;
}

const char *dmbp_model_label(const dmbp_model *m, int cls)
{
    if (cls < 0 || cls >= m->n_labels)
        return NULL;
    return m->labels[cls];
}

static const char *meta(const dmbp_model *m, const char *key)
{
    for (int i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta_key[i], key))
            return m->meta_val[i];
    return NULL;
}

static dmbp_status meta_int(const dmbp_model *m, const char *key, int *out)
{
    const char *s = meta(m, key);
    if (!s)
        return DMBP_OK;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > (1 << 20))
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: metadata %s = '%s' is "
                              "not a size", m->name, key, s);
    *out = (int)v;
    return DMBP_OK;
}

/* "a,b,c" (or one value, used for every channel) into v[3]. */
static dmbp_status meta_floats(const dmbp_model *m, const char *key,
                               float *v)
{
    const char *s = meta(m, key);
    if (!s)
        return DMBP_OK;
    float tmp[3];
    int n = 0;
    const char *c = s;
    while (n < 3) {
        char *end;
        float x = strtof(c, &end);
        if (end == c || !isfinite(x))
            break;
        tmp[n++] = x;
        c = end;
        while (*c == ' ')
            c++;
        if (*c != ',')
            break;
        c++;
    }
    if (*c || (n != 1 && n != 3))
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: metadata %s = '%s' is "
                              "not 1 or 3 comma-separated numbers", m->name,
                              key, s);
    for (int i = 0; i < 3; i++)
        v[i] = tmp[n == 1 ? 0 : i];
    return DMBP_OK;
}

static dmbp_status fill_preprocess(const dmbp_model *m,
                                   dmbp_preprocess_options *o);

dmbp_status dmbp_model_preprocess_defaults_sized(const dmbp_model *m,
                                                 dmbp_preprocess_options *out,
                                                 size_t struct_size)
{
    if (!m || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_model_preprocess_defaults: "
                              "NULL argument");
    /* Worked on in the library's full struct, handed back as far as the
     * caller's struct_size reaches. */
    dmbp_preprocess_options_init_sized(out, struct_size);
    dmbp_preprocess_options full, *o = &full;
    dmbp_preprocess_options_init(o);
    TRY(fill_preprocess(m, o));
    return dmbp__preprocess_options_out(o, out);
}

static dmbp_status fill_preprocess(const dmbp_model *m,
                                   dmbp_preprocess_options *o)
{
    const dmbp_shape *s = &m->input_decl;
    if (s->ndim == 4 && (s->dims[1] == 1 || s->dims[1] == 3))
        o->channels = (int)s->dims[1];
    /* A model that declares a static square input takes only that size:
     * crop to it, and resize by ImageNet's ratio (resize/crop) scaled to
     * it, so that a 224 model keeps ImageNet's 256 -> 224 recipe. Dynamic
     * or non-square sizes keep ImageNet's defaults. Metadata, read next,
     * overrides either. */
    if (s->ndim == 4 && s->dims[2] > 0 && s->dims[2] == s->dims[3] &&
        s->dims[2] <= DMBP_IMAGE_MAX_SIDE) {
        int side = (int)s->dims[2];
        int64_t r = ((int64_t)side * o->resize + o->crop / 2) / o->crop;
        o->crop = side;
        o->resize = (int)(r < DMBP_IMAGE_MAX_SIDE ? r : DMBP_IMAGE_MAX_SIDE);
    }
    TRY(meta_int(m, DMBP_META_RESIZE, &o->resize));
    TRY(meta_int(m, DMBP_META_CROP, &o->crop));
    TRY(meta_floats(m, DMBP_META_MEAN, o->mean));
    TRY(meta_floats(m, DMBP_META_STD, o->std));
    for (int i = 0; i < 3; i++)
        if (o->std[i] == 0)
            return dmbp_set_error(DMBP_ERR_FORMAT, "%s: metadata %s has a "
                                  "zero standard deviation", m->name,
                                  DMBP_META_STD);
    return DMBP_OK;
}

/* ---- node view ---- */

int dmbp__model_add_value(dmbp_model *m, const char *name)
{
    if (m->n_values == m->cap_values) {
        int cap = m->cap_values ? 2 * m->cap_values : 64;
        dmbp__value *nv = realloc(m->values, (size_t)cap * sizeof *nv);
        if (!nv) {
            dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
            return -1;
        }
        m->values = nv;
        m->cap_values = cap;
    }
    dmbp__value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->producer = -1;
    v->name = dmbp__strdup(name ? name : "");
    if (!v->name)
        return -1;
    return m->n_values++;
}

const dmbp__node_attr *dmbp__attr(const dmbp_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

const char *dmbp__node_str(const dmbp_node *n, char *buf, size_t cap)
{
    snprintf(buf, cap, "node '%s' (%s)", n->name, n->op_type);
    return buf;
}

dmbp_status dmbp__node_error(const dmbp_node *n, dmbp_status st,
                             const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return dmbp_set_error(st, "%s: node '%s' (%s, opset %d): %s",
                          n->model->name, n->name, n->op_type,
                          n->model->opset, detail);
}

const dmbp__value *dmbp__const_in(const dmbp_node *n, int i)
{
    if (!dmbp__has_in(n, i))
        return NULL;
    const dmbp__value *v = &n->model->values[n->in[i]];
    return v->is_const ? v : NULL;
}

const char *dmbp_node_name(const dmbp_node *n)
{
    return n->name;
}

const char *dmbp_node_op(const dmbp_node *n)
{
    return n->op_type;
}

int dmbp_node_num_inputs(const dmbp_node *n)
{
    return n->n_in;
}

dmbp_status dmbp_node_attr_int(const dmbp_node *n, const char *name,
                               int64_t def, int64_t *out)
{
    return dmbp__attr_int(n, name, def, out);
}

dmbp_status dmbp_node_attr_float(const dmbp_node *n, const char *name,
                                 float def, float *out)
{
    return dmbp__attr_float(n, name, def, out);
}

dmbp_status dmbp_node_attr_ints(const dmbp_node *n, const char *name,
                                int64_t *buf, int cap, int *count)
{
    const dmbp__node_attr *a = dmbp__attr(n, name);
    if (!a) {
        *count = -1;
        return DMBP_OK;
    }
    if (a->type != ATTR_INTS)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute '%s' is not "
                                "a list of integers", name);
    for (int i = 0; i < a->n && i < cap; i++)
        buf[i] = a->ints[i];
    *count = a->n;
    return DMBP_OK;
}

const float *dmbp_node_const_input(const dmbp_node *n, int i)
{
    const dmbp__value *v = dmbp__const_in(n, i);
    if (!v || v->dtype != DT_FLOAT)
        return NULL;
    /* Valid as long as the model: a released weight is read again and
     * kept from now on (weights.c). */
    return dmbp__weight_keep(n->model, n->in[i]);
}

/* ---- attributes ---------------------------------------------------------- */

dmbp_status dmbp__attr_ints(const dmbp_node *n, const char *name,
                            int64_t *buf, int cap, int *count)
{
    const dmbp__node_attr *a = dmbp__attr(n, name);
    if (!a) {
        *count = -1;
        return DMBP_OK;
    }
    if (a->type != ATTR_INTS)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute '%s' should "
                                "be a list of integers", name);
    if (a->n > cap)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "attribute '%s' has "
                                "%d values (at most %d)", name, a->n, cap);
    memcpy(buf, a->ints, (size_t)a->n * sizeof(int64_t));
    *count = a->n;
    return DMBP_OK;
}

dmbp_status dmbp__attr_int(const dmbp_node *n, const char *name, int64_t def,
                           int64_t *out)
{
    const dmbp__node_attr *a = dmbp__attr(n, name);
    if (!a) {
        *out = def;
        return DMBP_OK;
    }
    if (a->type != ATTR_INT)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute '%s' should "
                                "be an integer", name);
    *out = a->i;
    return DMBP_OK;
}

dmbp_status dmbp__attr_float(const dmbp_node *n, const char *name, float def,
                             float *out)
{
    const dmbp__node_attr *a = dmbp__attr(n, name);
    if (!a) {
        *out = def;
        return DMBP_OK;
    }
    if (a->type != ATTR_FLOAT)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "attribute '%s' should "
                                "be a float", name);
    if (!isfinite(a->f))
        return dmbp__node_error(n, DMBP_ERR_NONFINITE, "attribute '%s' is "
                                "not finite", name);
    *out = a->f;
    return DMBP_OK;
}

dmbp_status dmbp__attr_only(const dmbp_node *n, const char *const *allowed)
{
    for (int i = 0; i < n->n_attr; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, n->attrs[i].name);
        if (!ok)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "attribute "
                                    "'%s' is not supported",
                                    n->attrs[i].name);
    }
    return DMBP_OK;
}

dmbp_status dmbp__need_const(const dmbp_node *n, int i, const dmbp__value **out)
{
    const dmbp__value *v = dmbp__const_in(n, i);
    if (!v)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d must be "
                                "a constant (initializer)", i);
    if (v->dtype != DT_FLOAT)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "input %d ('%s') "
                                "must hold float32 data", i, v->name);
    *out = v;
    return DMBP_OK;
}
