/* Shape inference on a loaded graph: every value's shape for an input
 * shape (plans), the same with several lanes through the ops'
 * infer_lanes hooks, and the check that a plan's lanes stay apart. The
 * loader (graph.c) runs it once at load. */
#include "model/model.h"

/* lanes > 0: through the op's infer_lanes hook (b0 the load-time batch). */
static dmbp_status infer_node_as(const dmbp_node *n, dmbp_shape *shapes,
                                 int64_t b0, int64_t lanes)
{
    dmbp_shape in[DMBP_MAX_NODE_IO], out[DMBP_MAX_NODE_IO];
    if (n->n_in > DMBP_MAX_NODE_IO || n->n_out > DMBP_MAX_NODE_IO)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "more than %d "
                                "inputs or outputs", DMBP_MAX_NODE_IO);
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            in[k].ndim = -1;
        else
            in[k] = shapes[n->in[k]];
    }
    memset(out, 0, sizeof out);
    if (lanes > 0)
        TRY(n->op->infer_lanes(n, in, out, b0, lanes));
    else
        TRY(n->op->infer(n, in, out));
    for (int k = 0; k < n->n_out; k++) {
        int64_t numel;
        if (out[k].ndim < 0 || out[k].ndim > DMBP_MAX_DIMS)
            return dmbp__node_error(n, DMBP_ERR_INTERNAL, "output %d has "
                                    "rank %d", k, out[k].ndim);
        for (int d = 0; d < out[k].ndim; d++)
            if (out[k].dims[d] <= 0)
                return dmbp__node_error(n, DMBP_ERR_SHAPE, "output %d "
                                        "would have an empty dimension",
                                        k);
        /* The one place every inferred shape passes: no tensor larger than
         * DMBP_MAX_ELEMS reaches a plan, so later size arithmetic on shapes
         * cannot overflow. */
        if (!dmbp__numel_i64(out[k].dims, out[k].ndim, &numel)) {
            char buf[160];
            return dmbp__node_error(n, DMBP_ERR_SHAPE, "output %d would have "
                                    "shape %s, more than %lld elements", k,
                                    dmbp__shape_str(&out[k], buf, sizeof buf),
                                    (long long)DMBP_MAX_ELEMS);
        }
        shapes[n->out[k]] = out[k];
    }
    return DMBP_OK;
}

dmbp_status dmbp__graph_infer_node(const dmbp_node *n, dmbp_shape *shapes)
{
    return infer_node_as(n, shapes, 0, 0);
}

dmbp_status dmbp__graph_infer(const dmbp_model *m, dmbp_shape *shapes)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!m->nodes[i].dead)
            TRY(dmbp__graph_infer_node(&m->nodes[i], shapes));
    return DMBP_OK;
}

/* Did value v keep the load-time batch b0 as its axis 0? */
static bool kept_b0(const dmbp_model *m, int v, int64_t b0)
{
    return v >= 0 && m->values[v].shape.ndim >= 1 &&
           m->values[v].shape.dims[0] == b0;
}

/* Whether live node n reads a value computed from the model's input. */
static bool from_input(const dmbp_node *n, const bool *dep)
{
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && dep[n->in[k]])
            return true;
    return false;
}

/* dep[v]: value v is computed from the model's input (through live
 * nodes; node order is topological). The caller frees it; NULL: out of
 * memory. */
static bool *input_dependents(const dmbp_model *m)
{
    bool *dep = dmbp__calloc((size_t)m->n_values, sizeof *dep);
    if (!dep)
        return NULL;
    dep[m->input] = true;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        bool d = from_input(n, dep);
        for (int k = 0; k < n->n_out; k++)
            dep[n->out[k]] = d;
    }
    return dep;
}

dmbp_status dmbp__graph_infer_lanes(const dmbp_model *m, dmbp_shape *shapes)
{
    const dmbp_shape *ls = &m->values[m->input].shape;
    int64_t b0 = ls->ndim >= 1 ? ls->dims[0] : 0;
    int64_t lanes = shapes[m->input].ndim >= 1 ? shapes[m->input].dims[0] : 0;
    if (b0 <= 0 || lanes <= 0 || lanes == b0)
        return dmbp__graph_infer(m, shapes);
    bool *dep = input_dependents(m);
    if (!dep)
        return DMBP_ERR_NOMEM;
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < m->n_nodes && !st; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        bool hook = from_input(n, dep) && n->op->infer_lanes && n->n_in >= 1 &&
                    n->n_out >= 1 && n->in[0] >= 0 && dep[n->in[0]] &&
                    kept_b0(m, n->in[0], b0) && kept_b0(m, n->out[0], b0);
        st = infer_node_as(n, shapes, b0, hook ? lanes : 0);
    }
    free(dep);
    return st;
}

dmbp_status dmbp__graph_check_lanes(const dmbp_model *m,
                                    const dmbp_shape *shapes, int64_t lanes)
{
    /* Values computed from the input: every one must keep the batch as
     * its axis 0. A node whose output does not (Pad or Concat on axis 0,
     * a Reshape or Flatten that folds the batch, ...) mixes lanes. */
    bool *dep = input_dependents(m);
    if (!dep)
        return DMBP_ERR_NOMEM;
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < m->n_nodes && !st; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !from_input(n, dep))
            continue;
        for (int k = 0; k < n->n_out && !st; k++) {
            const dmbp_shape *s = &shapes[n->out[k]];
            if (s->ndim >= 1 && s->dims[0] == lanes)
                continue;
            char buf[160];
            st = dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "mixes the batch "
                                  "axis: output %d has shape %s for a batch "
                                  "of %lld; classifier plans need axis 0 to "
                                  "stay the batch (lanes are independent "
                                  "images)", k,
                                  dmbp__shape_str(s, buf, sizeof buf),
                                  (long long)lanes);
        }
    }
    free(dep);
    return st;
}
