/* After decoding: find each node's op, let it check its attributes, drop
 * pass-through nodes, fold BatchNormalization into the Conv before it,
 * infer shapes, and find the logits. */
#include "model/model.h"


/* A declared dynamic spatial size (dim_param) is taken as this at load,
 * only to check the graph; plans use the real size. */
#define DMBP_DYNAMIC_SPATIAL_DEFAULT 224

/* Point node n's inputs at the values that bypassed nodes' outputs stand
 * for (alias[v] >= 0). Each node is resolved once, when the pass reaches
 * it: its inputs' producers come earlier and are already final, so the
 * whole simplification stays linear in the node count. */
static void resolve_inputs(dmbp_model *m, dmbp_node *n, const int *alias,
                           int n_alias)
{
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        if (v < 0 || v >= n_alias || alias[v] < 0)
            continue;
        n->in[k] = alias[v];
        m->values[v].consumers--;
        m->values[alias[v]].consumers++;
    }
}

static bool is_passthrough(const dmbp_node *n)
{
    return n->op && (n->op->traits & DMBP_OP_PASSTHROUGH);
}

static dmbp_status bypass(dmbp_model *m, dmbp_node *n, int *alias,
                          int n_alias)
{
    for (int k = 1; k < n->n_out; k++)
        if (m->values[n->out[k]].consumers > 0)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "its output "
                                    "'%s' (the dropout mask) is used; "
                                    "inference graphs do not use it",
                                    m->values[n->out[k]].name);
    if (!dmbp__has_in(n, 0) || n->n_out < 1)
        return dmbp__node_error(n, DMBP_ERR_FORMAT, "needs one input and "
                                "one output");
    if (n->out[0] < n_alias)
        alias[n->out[0]] = n->in[0];
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
            m->values[n->in[k]].consumers--;
    n->dead = true;
    return DMBP_OK;
}

/* Conv -> BatchNormalization with nothing else reading the Conv output:
 * W'[o] = W[o] * scale[o], b'[o] = b[o] * scale[o] + shift[o]. The
 * network computes the same function and the reverse passes see one
 * linear layer, as dmbp-method.md section 1 asks. */
static dmbp_status fold_bn(dmbp_model *m, int bi)
{
    dmbp_node *bn = &m->nodes[bi];
    int x = bn->in[0];
    int ci = m->values[x].producer;
    if (ci < 0 || !bn->op->channel_affine ||
        !dmbp__op_is(&m->nodes[ci], DMBP_OP_FOLD_TARGET) ||
        m->values[x].consumers != 1 || x == m->output)
        return DMBP_OK;
    int bn_channels;
    const float *bn_scale, *bn_shift;
    bn->op->channel_affine(bn, &bn_channels, &bn_scale, &bn_shift);
    dmbp_node *c = &m->nodes[ci];
    const dmbp__value *w = &m->values[c->in[1]];
    int64_t oc = w->shape.dims[0];
    if (oc != bn_channels)
        return dmbp__node_error(bn, DMBP_ERR_SHAPE, "%d channels after a "
                                "%s with %lld outputs", bn_channels,
                                m->nodes[ci].op_type,
                                (long long)oc);
    int64_t per = dmbp_shape_numel(&w->shape) / (oc ? oc : 1);
    char nm[512];
    snprintf(nm, sizeof nm, "%s.folded_weight", c->name);
    int wi = dmbp__model_add_value(m, nm);
    if (wi < 0)
        return DMBP_ERR_NOMEM;
    snprintf(nm, sizeof nm, "%s.folded_bias", c->name);
    int bi2 = dmbp__model_add_value(m, nm);
    if (bi2 < 0)
        return DMBP_ERR_NOMEM;
    /* add_value may move the array: take pointers only now. */
    c = &m->nodes[ci];
    bn = &m->nodes[bi];
    w = &m->values[c->in[1]];
    dmbp__value *nw = &m->values[wi], *nb = &m->values[bi2];
    nw->is_const = nb->is_const = true;
    nw->dtype = nb->dtype = DT_FLOAT;
    nw->shape = w->shape;
    nb->shape.ndim = 1;
    nb->shape.dims[0] = oc;
    nw->f = dmbp__malloc((size_t)(oc * per) * sizeof(float));
    nb->f = dmbp__malloc((size_t)oc * sizeof(float));
    if (!nw->f || !nb->f)
        return DMBP_ERR_NOMEM;
    const float *ob = dmbp__has_in(c, 2) ? m->values[c->in[2]].f : NULL;
    for (int64_t o = 0; o < oc; o++) {
        for (int64_t j = 0; j < per; j++)
            nw->f[o * per + j] = w->f[o * per + j] * bn_scale[o];
        nb->f[o] = (ob ? ob[o] : 0.f) * bn_scale[o] + bn_shift[o];
    }
    m->values[c->in[1]].consumers--;
    c->in[1] = wi;
    nw->consumers = 1;
    if (dmbp__has_in(c, 2)) {
        m->values[c->in[2]].consumers--;
        c->in[2] = bi2;
    } else {
        if (c->n_in < 3) {
            int *ni = realloc(c->in, 3 * sizeof(int));
            if (!ni)
                return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
            c->in = ni;
            c->n_in = 3;
        }
        c->in[2] = bi2;
    }
    nb->consumers = 1;
    for (int k = 0; k < bn->n_in; k++)
        if (bn->in[k] >= 0)
            m->values[bn->in[k]].consumers--;
    int y = bn->out[0];
    c->out[0] = y;
    m->values[y].producer = ci;
    m->values[x].producer = -1;
    bn->dead = true;
    return DMBP_OK;
}

static dmbp_status check_finite(const dmbp_model *m)
{
    for (int i = 0; i < m->n_values; i++) {
        const dmbp__value *v = &m->values[i];
        if (!v->is_const || v->dtype != DT_FLOAT || !v->consumers)
            continue;
        int64_t n = dmbp_shape_numel(&v->shape);
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(v->f[k]))
                return dmbp_set_error(DMBP_ERR_NONFINITE, "%s: weight '%s' "
                                      "holds %s at element %lld", m->name,
                                      v->name, isnan(v->f[k]) ? "NaN"
                                                             : "infinity",
                                      (long long)k);
    }
    return DMBP_OK;
}

/* Load-time shapes: dynamic dimensions become 1 (batch) or a default
 * image size, only to check that the graph fits together. */
static dmbp_status load_shapes(const dmbp_model *m, dmbp_shape *shapes)
{
    for (int i = 0; i < m->n_values; i++)
        shapes[i] = m->values[i].shape;
    dmbp_shape s = m->input_decl;
    for (int d = 0; d < s.ndim; d++)
        if (s.dims[d] == 0)
            s.dims[d] = d >= 2 && s.ndim == 4 ? DMBP_DYNAMIC_SPATIAL_DEFAULT : 1;
    shapes[m->input] = s;
    int64_t in_numel;
    if (!dmbp__numel_i64(s.dims, s.ndim, &in_numel))
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: the declared input holds "
                              "more than %lld elements", m->name,
                              (long long)DMBP_MAX_ELEMS);
    return DMBP_OK;
}

/* In node order: fold shape subgraphs into constants (they need the
 * shapes of the values before them), find each other node's op, let it
 * check its attributes, drop pass-through nodes, infer shapes. */
static dmbp_status resolve_nodes(dmbp_model *m, dmbp_shape *shapes,
                                 uint64_t *marks, int *alias, int n_alias)
{
    TRY(load_shapes(m, shapes));
    for (int i = 0; i < m->n_nodes; i++) {
        dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        resolve_inputs(m, n, alias, n_alias);
        bool folded;
        TRY(dmbp__fold_node(m, n, shapes, marks, &folded));
        if (folded) {
            shapes[n->out[0]] = m->values[n->out[0]].shape;
            continue;
        }
        TRY(dmbp__fold_check_use(n, marks));
        n->op = dmbp__op_find(n->op_type);
        if (!n->op)
            return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: node '%s': op "
                                  "%s (opset %d) is not supported; "
                                  "supported ops: %s", m->name, n->name,
                                  n->op_type, m->opset, dmbp_op_list());
        if (n->op->check)
            TRY(n->op->check(m, n));
        if (is_passthrough(n)) {
            TRY(bypass(m, n, alias, n_alias));
            continue;
        }
        TRY(dmbp__graph_infer_node(n, shapes));
    }
    return DMBP_OK;
}

dmbp_status dmbp__graph_finish(dmbp_model *m)
{
    int n_alias = m->n_values;
    dmbp_shape *shapes = dmbp__calloc((size_t)m->n_values, sizeof *shapes);
    uint64_t *marks = dmbp__calloc((size_t)m->n_values, sizeof *marks);
    int *alias = dmbp__malloc((size_t)(n_alias ? n_alias : 1) * sizeof *alias);
    dmbp_status st = DMBP_ERR_NOMEM;
    if (shapes && marks && alias) {
        for (int v = 0; v < n_alias; v++)
            alias[v] = -1;
        st = resolve_nodes(m, shapes, marks, alias, n_alias);
    }
    if (!st && m->output < n_alias && alias[m->output] >= 0) {
        m->values[m->output].consumers--;
        m->output = alias[m->output];
        m->values[m->output].consumers++;
    }
    free(shapes);
    free(marks);
    free(alias);
    TRY(st);
    if (m->values[m->output].is_const)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the graph output "
                              "'%s' is a constant", m->name,
                              m->values[m->output].name);
    for (int i = 0; i < m->n_nodes; i++)
        if (dmbp__op_is(&m->nodes[i], DMBP_OP_CHANNEL_AFFINE))
            TRY(fold_bn(m, i));

    /* Again after folding BatchNormalization into convolutions. */
    shapes = dmbp__calloc((size_t)m->n_values, sizeof *shapes);
    if (!shapes)
        return DMBP_ERR_NOMEM;
    st = load_shapes(m, shapes);
    if (!st)
        st = dmbp__graph_infer(m, shapes);
    if (!st)
        for (int i = 0; i < m->n_values; i++)
            m->values[i].shape = shapes[i];
    free(shapes);
    TRY(st);

    m->logits = m->output;
    int p = m->values[m->output].producer;
    if (p >= 0 && dmbp__op_is(&m->nodes[p], DMBP_OP_OUTPUT_NORMALIZER))
        m->logits = m->nodes[p].in[0];
    /* Live nodes by public index, so that dmbp_model_node_* are O(1). */
    m->live = dmbp__malloc((size_t)(m->n_nodes ? m->n_nodes : 1) *
                           sizeof *m->live);
    if (!m->live)
        return DMBP_ERR_NOMEM;
    m->n_live = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (!m->nodes[i].dead)
            m->live[m->n_live++] = i;
    return check_finite(m);
}
