/* The model-randomisation sanity check (Adebayo et al., "Sanity checks for
 * saliency maps", NeurIPS 2018), cascading from the top: an attribution
 * that still looks the same once the weights it should depend on are
 * random is not explaining the model. */
#include "methods/methods.h"
#include "model/model.h"

static bool is_weight_layer(const dmbp_node *n)
{
    return dmbp__op_is(n, DMBP_OP_WEIGHTS);
}

int dmbp_model_num_weight_layers(const dmbp_model *m)
{
    int k = 0;
    for (int i = 0; m && i < m->n_nodes; i++)
        k += is_weight_layer(&m->nodes[i]);
    return k;
}

/* Standard deviation of n values (population), in double. */
static double std_of(const float *v, int64_t n)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
    }
    double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    return var > 0 ? sqrt(var) : 0;
}

/* A fresh array like constant v: normal with v's own standard deviation. */
static float *redraw(const dmbp__value *v, dmbp__rng *rng)
{
    int64_t n = dmbp_shape_numel(&v->shape);
    float *out = dmbp__malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!out)
        return NULL;
    double sd = std_of(v->f, n);
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(dmbp__rng_normal(rng) * sd);
    return out;
}

/* |map| per pixel: mean over channels of the magnitude of the attribution
 * the method shows: the map, or for DMBP |A+| + |A-| (not its mappings
 * W+-, which are gradients and would make it a gradient's check). */
static dmbp_status abs_scores(const dmbp_result *r, float *scores)
{
    dmbp_shape s = dmbp_result_array_shape(r);
    int c = (int)s.dims[0], h = (int)s.dims[1], w = (int)s.dims[2];
    int kp = dmbp_result_find_array(r, "a_pos"), kn = dmbp_result_find_array(r, "a_neg");
    const float *map = dmbp_result_array(r, 0, kp >= 0 ? kp : 0);
    const float *neg = kn >= 0 ? dmbp_result_array(r, 0, kn) : NULL;
    float *mag = dmbp__malloc((size_t)c * h * w * sizeof(float));
    if (!mag)
        return DMBP_ERR_NOMEM;
    for (int64_t i = 0; i < (int64_t)c * h * w; i++)
        mag[i] = fabsf(map[i]) + (neg ? fabsf(neg[i]) : 0.f);
    dmbp_status st = dmbp_eval_pixel_scores(mag, c, h, w, 0, scores);
    free(mag);
    return st;
}

dmbp_status dmbp_eval_randomization(dmbp_session *session, const float *x,
                                    int c, int h, int w, int target,
                                    const dmbp_explain_options *o,
                                    uint64_t seed, double *rho,
                                    const char **layer_names)
{
    const dmbp_model *m = dmbp_session_model(session);
    if (!m || !x || !rho || c < 1 || h < 1 || w < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_randomization: NULL "
                              "or invalid argument (session), or empty "
                              "size");
    int L = dmbp_model_num_weight_layers(m);
    if (L < 1)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: no layer with "
                              "weights to randomise", m->name);
    int *layers = dmbp__malloc((size_t)L * sizeof(int));
    const float **over = dmbp__calloc((size_t)m->n_values, sizeof(float *));
    float *s0 = dmbp__malloc((size_t)h * w * sizeof(float));
    float *s1 = dmbp__malloc((size_t)h * w * sizeof(float));
    dmbp_status st = layers && over && s0 && s1 ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int i = 0, k = 0; !st && i < m->n_nodes; i++)
        if (is_weight_layer(&m->nodes[i]))
            layers[k++] = i;
    dmbp_result *r = NULL;
    if (!st)
        st = dmbp_explain(session, x, 1, c, h, w, &target, o, &r);
    if (!st)
        st = abs_scores(r, s0);
    /* Every stage explains the trained model's class, also when the
     * caller asked for the top one (-1): a randomised model's own top
     * class would change the question. */
    if (!st)
        target = dmbp_result_target(r, 0);
    dmbp_result_free(r);
    r = NULL;
    /* Stage s randomises the top s layers; the draws of a layer depend on
     * the seed and its position only, so stage s + 1 extends stage s. */
    for (int s = 1; !st && s <= L; s++) {
        const dmbp_node *n = &m->nodes[layers[L - s]];
        dmbp__rng rng;
        dmbp__rng_init(&rng, seed + (uint64_t)s);
        for (int k = 1; k <= 2 && k < n->n_in && !st; k++) {
            if (!dmbp__has_in(n, k) || !m->values[n->in[k]].is_const ||
                m->values[n->in[k]].dtype != DT_FLOAT)
                continue;
            /* A released weight is read again for its deviation. */
            bool pinned = false;
            st = dmbp__weight_pin(m, n->in[k], &pinned);
            float *nw = st ? NULL : redraw(&m->values[n->in[k]], &rng);
            if (pinned)
                dmbp__weight_unpin(m, n->in[k]);
            if (!nw && !st)
                st = DMBP_ERR_NOMEM;
            /* A constant shared by two layers is re-drawn at each. */
            free((void *)over[n->in[k]]);
            over[n->in[k]] = nw;
        }
        /* Not the session's plans: each stage's weights are new, so its
         * plans would never be found again. */
        if (!st)
            st = dmbp__explain_with(m, over, x, 1, c, h, w, &target, o, &r);
        if (!st)
            st = abs_scores(r, s1);
        dmbp_result_free(r);
        r = NULL;
        if (!st) {
            rho[s - 1] = dmbp_spearman(s0, s1, (int64_t)h * w);
            if (layer_names)
                layer_names[s - 1] = n->name;
        }
    }
    for (int v = 0; over && v < m->n_values; v++)
        free((void *)over[v]);
    free(over);
    free(layers);
    free(s0);
    free(s1);
    return st;
}
