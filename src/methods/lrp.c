/* Layer-wise relevance propagation (Bach et al. 2015; composites as in
 * Zennit, Anders et al. 2021): one forward pass per image, then the
 * relevance R = f_t(x) e_t at the logits walks the graph backwards
 * through each op's rule (the op table's `lrp` entries, src/ops/) on
 * plain copies of the forward pass's tensors. Which rule a layer gets
 * follows the composite (dmbp_methods.h). */
#include "methods/methods.h"
#include "model/model.h"

static const char *const map_names[] = {"map"};
static const char *const scalar_names[] = {"conservation"};

static const char *const composite_names[] = {
    "epsilon", "epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box",
    "epsilon-alpha2-beta1", "epsilon-alpha1-beta0"};
#define N_COMPOSITES                                                        \
    ((int)(sizeof composite_names / sizeof composite_names[0]))

const char *dmbp_lrp_composite_name(dmbp_lrp_composite c)
{
    return (int)c >= 0 && (int)c < N_COMPOSITES ? composite_names[c]
                                                : "unknown";
}

dmbp_status dmbp_lrp_composite_from_name(const char *name,
                                         dmbp_lrp_composite *out)
{
    if (!out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_lrp_composite_from_name: "
                              "NULL out");
    for (int i = 0; name && i < N_COMPOSITES; i++)
        if (!strcmp(name, composite_names[i])) {
            *out = (dmbp_lrp_composite)i;
            return DMBP_OK;
        }
    return dmbp_set_error(DMBP_ERR_ARG, "unknown LRP composite '%s' "
                          "(composites: epsilon, epsilon-plus, "
                          "epsilon-plus-flat, epsilon-gamma-box, "
                          "epsilon-alpha2-beta1, epsilon-alpha1-beta0)",
                          name ? name : "(null)");
}

dmbp_status dmbp__lrp_check(const dmbp_lrp_options *o)
{
    if ((int)o->composite < 0 || (int)o->composite >= N_COMPOSITES)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown LRP composite %d",
                              o->composite);
    if (!isfinite(o->epsilon) || !isfinite(o->gamma))
        return dmbp_set_error(DMBP_ERR_NONFINITE, "lrp.%s is not a finite "
                              "number", isfinite(o->epsilon) ? "gamma"
                                                             : "epsilon");
    if (!(o->epsilon > 0))
        return dmbp_set_error(DMBP_ERR_ARG, "lrp.epsilon %g: must be > 0",
                              o->epsilon);
    if (o->gamma < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "lrp.gamma %g: must be >= 0",
                              o->gamma);
    return DMBP_OK;
}

/* The rule of node n under the composite; first: the first layer with
 * weights. */
static void rule_for(const dmbp_lrp_options *o, const dmbp_node *n,
                     bool first, dmbp_lrp_rule *r)
{
    memset(r, 0, sizeof *r);
    r->kind = DMBP_LRP_EPSILON;
    r->epsilon = o->epsilon;
    r->gamma = o->gamma;
    if (!dmbp__op_is(n, DMBP_OP_WEIGHTS))
        return;
    dmbp_lrp_composite c = o->composite;
    if (first && c == DMBP_LRP_COMPOSITE_EPSILON_PLUS_FLAT) {
        r->kind = DMBP_LRP_FLAT;
        return;
    }
    if (first && c == DMBP_LRP_COMPOSITE_EPSILON_GAMMA_BOX) {
        r->kind = DMBP_LRP_ZBOX;
        return;
    }
    if (!dmbp__op_is(n, DMBP_OP_FEATURE_MAP))
        return; /* dense: epsilon */
    switch (c) {
    case DMBP_LRP_COMPOSITE_EPSILON_PLUS:
    case DMBP_LRP_COMPOSITE_EPSILON_PLUS_FLAT:
        r->kind = DMBP_LRP_ZPLUS;
        break;
    case DMBP_LRP_COMPOSITE_EPSILON_GAMMA_BOX:
        r->kind = DMBP_LRP_GAMMA;
        break;
    case DMBP_LRP_COMPOSITE_EPSILON_ALPHA2_BETA1:
    case DMBP_LRP_COMPOSITE_EPSILON_ALPHA1_BETA0:
        r->kind = DMBP_LRP_ALPHA_BETA;
        r->alpha = c == DMBP_LRP_COMPOSITE_EPSILON_ALPHA2_BETA1 ? 2.f : 1.f;
        r->beta = r->alpha - 1.f;
        break;
    default:
        break;
    }
}

/* The walk's state for one plan: relevance per value (NULL: none yet) and
 * the activations read from the plan, each once per image: a value is
 * needed as its producer's output and as every consumer's input. */
typedef struct lrp_walk {
    const dmbp__explain_ctx *c;
    dmbp_plan *p;
    float **R;
    int first;          /* node index of the first layer with weights */
    float *low, *high;  /* zbox bounds of the first layer's input */
    float **A;          /* activations read so far (NULL: not yet)      */
} lrp_walk;

static const dmbp_shape *vshape(dmbp_plan *p, int v)
{
    bool rel;
    return dmbp__plan_value_shape(p, v, &rel);
}

static bool relevant(dmbp_plan *p, int v)
{
    bool rel = false;
    (void)dmbp__plan_value_shape(p, v, &rel);
    return rel;
}

/* Every op the logits depend on has a rule; the first layer with
 * weights. */
static dmbp_status check_rules(lrp_walk *w)
{
    const dmbp_model *m = w->c->m;
    w->first = -1;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead || !relevant(w->p, n->out[0]) ||
            (m->output != m->logits && n->out[0] == m->output))
            continue;
        if (n->n_in > DMBP_MAX_NODE_IO || n->n_out > DMBP_MAX_NODE_IO)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: more "
                                    "than %d inputs or outputs",
                                    DMBP_MAX_NODE_IO);
        if (!n->op->lrp)
            return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: LRP has no rule "
                                  "for op %s (node '%s')", m->name,
                                  n->op_type, n->name);
        if (w->first < 0 && dmbp__op_is(n, DMBP_OP_WEIGHTS))
            w->first = i;
    }
    return DMBP_OK;
}

/* zbox's bounds: the image's 0 and 1 after normalisation, per channel of
 * the first layer's input. */
static dmbp_status box_bounds(lrp_walk *w)
{
    const dmbp__explain_ctx *c = w->c;
    const dmbp_node *n = &c->m->nodes[w->first];
    const dmbp_shape *s = vshape(w->p, n->in[0]);
    int64_t count = dmbp_shape_numel(s);
    if (s->ndim < 2 || s->dims[1] != c->c)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP zbox: the "
                                "first layer's input does not have the "
                                "image's %d channels", c->c);
    w->low = dmbp__malloc((size_t)count * sizeof(float));
    w->high = dmbp__malloc((size_t)count * sizeof(float));
    if (!w->low || !w->high)
        return DMBP_ERR_NOMEM;
    int64_t inner = count / s->dims[0] / s->dims[1];
    for (int64_t i = 0; i < count; i++) {
        int ch = (int)((i / inner) % c->c);
        w->low[i] = (0.f - c->pre->mean[ch]) / c->pre->std[ch];
        w->high[i] = (1.f - c->pre->mean[ch]) / c->pre->std[ch];
    }
    return DMBP_OK;
}

/* Value v's activation for this image, read from the plan on first use. */
static const float *act(lrp_walk *w, int v, dmbp_status *st)
{
    if (w->A[v])
        return w->A[v];
    const dmbp_shape *s = vshape(w->p, v);
    float *buf = dmbp__malloc((size_t)dmbp_shape_numel(s) * sizeof(float));
    if (!buf)
        *st = DMBP_ERR_NOMEM;
    else if ((*st = dmbp__plan_read(w->p, v, 0, buf)) != DMBP_OK) {
        free(buf);
        buf = NULL;
    }
    return w->A[v] = buf;
}

/* Node n's rule: its inputs' relevance added into w->R. */
static dmbp_status node_step(lrp_walk *w, const dmbp_node *n, int idx)
{
    const dmbp_model *m = w->c->m;
    const float *rout[DMBP_MAX_NODE_IO] = {0};
    bool any = false;
    for (int k = 0; k < n->n_out && k < DMBP_MAX_NODE_IO; k++)
        if (n->out[k] >= 0 && w->R[n->out[k]]) {
            rout[k] = w->R[n->out[k]];
            any = true;
        }
    if (!any)
        return DMBP_OK;
    dmbp_shape is[DMBP_MAX_NODE_IO], os[DMBP_MAX_NODE_IO];
    const float *in[DMBP_MAX_NODE_IO] = {0}, *out[DMBP_MAX_NODE_IO] = {0};
    float *rin[DMBP_MAX_NODE_IO] = {0};
    dmbp_status st = DMBP_OK;
    for (int i = 0; !st && i < n->n_in; i++) {
        is[i].ndim = -1;
        if (!dmbp__has_in(n, i) || m->values[n->in[i]].is_const)
            continue;
        is[i] = *vshape(w->p, n->in[i]);
        in[i] = act(w, n->in[i], &st);
        if (!st && !(rin[i] = dmbp__malloc((size_t)dmbp_shape_numel(&is[i]) *
                                           sizeof(float))))
            st = DMBP_ERR_NOMEM;
    }
    for (int k = 0; !st && k < n->n_out; k++) {
        os[k].ndim = -1;
        if (n->out[k] < 0 || !rout[k])
            continue;
        os[k] = *vshape(w->p, n->out[k]);
        out[k] = act(w, n->out[k], &st);
    }
    dmbp_lrp_rule rule;
    rule_for(&w->c->o->lrp, n, idx == w->first, &rule);
    rule.low = w->low;
    rule.high = w->high;
    if (!st) {
        dmbp__lrp_io io = {&rule, w->c->over, is, os, in, out, rout, rin};
        st = n->op->lrp(n, &io);
    }
    for (int i = 0; !st && i < n->n_in; i++) {
        if (!rin[i])
            continue;
        int v = n->in[i];
        int64_t cnt = dmbp_shape_numel(&is[i]);
        if (!w->R[v]) {
            w->R[v] = rin[i];
            rin[i] = NULL;
        } else {
            for (int64_t j = 0; j < cnt; j++)
                w->R[v][j] += rin[i][j];
        }
    }
    for (int i = 0; i < DMBP_MAX_NODE_IO; i++)
        free(rin[i]);
    return st;
}

/* One image (already forwarded): its map and conservation. */
static dmbp_status walk_image(lrp_walk *w, int target, float *map,
                              double *conservation)
{
    const dmbp__explain_ctx *c = w->c;
    const dmbp_model *m = c->m;
    dmbp_status st = DMBP_OK;
    const float *logits = act(w, m->logits, &st);
    if (st)
        return st;
    int k = dmbp_model_num_classes(m);
    w->R[m->logits] = dmbp__calloc((size_t)k, sizeof(float));
    if (!w->R[m->logits])
        st = DMBP_ERR_NOMEM;
    float f = st ? 0.f : logits[target];
    if (!st)
        w->R[m->logits][target] = f;
    for (int i = m->n_nodes - 1; !st && i >= 0; i--) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        st = node_step(w, n, i);
        /* Every consumer of n's outputs came later in the graph and has
         * been walked: their relevance and activations are done with. */
        for (int k2 = 0; k2 < n->n_out; k2++)
            if (n->out[k2] >= 0 && n->out[k2] != m->input) {
                free(w->R[n->out[k2]]);
                w->R[n->out[k2]] = NULL;
                free(w->A[n->out[k2]]);
                w->A[n->out[k2]] = NULL;
            }
    }
    size_t per = (size_t)c->c * c->h * c->w;
    double sum = 0;
    if (!st && w->R[m->input])
        for (size_t j = 0; j < per; j++) {
            map[j] = w->R[m->input][j];
            sum += map[j];
        }
    *conservation = f != 0 ? sum / f : NAN;
    for (int v = 0; v < m->n_values; v++) {
        free(w->R[v]);
        w->R[v] = NULL;
        free(w->A[v]);
        w->A[v] = NULL;
    }
    return st;
}

dmbp_status dmbp__method_lrp(const dmbp__explain_ctx *c, dmbp_result *r)
{
    TRY(dmbp__result_alloc(r, 1, map_names, c->c, c->h, c->w, 1,
                           scalar_names));
    r->signed_map = 1;
    size_t per = (size_t)c->c * c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__explain_plan(c, 1, true, &p));
    lrp_walk w = {c, p, dmbp__calloc((size_t)c->m->n_values, sizeof(float *)),
                  -1, NULL, NULL,
                  dmbp__calloc((size_t)c->m->n_values, sizeof(float *))};
    dmbp_status st = w.R && w.A ? check_rules(&w) : DMBP_ERR_NOMEM;
    if (!st && w.first >= 0 &&
        c->o->lrp.composite == DMBP_LRP_COMPOSITE_EPSILON_GAMMA_BOX)
        st = box_bounds(&w);
    for (int i = 0; !st && i < c->n; i++) {
        st = dmbp_plan_forward(p, c->x + (size_t)i * per, NULL);
        if (!st)
            st = walk_image(&w, r->target[i], dmbp__result_array(r, i, 0),
                            &r->scalars[i]);
        if (!st)
            dmbp__progress(c, 0, c->n, i + 1, c->n);
    }
    free(w.R);
    free(w.A);
    free(w.low);
    free(w.high);
    dmbp__explain_plan_done(c, p);
    return st;
}
