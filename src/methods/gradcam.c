/* Grad-CAM (Selvaraju et al. 2017): at a layer's activations A (K maps of
 * h x w), alpha_k = mean over h, w of d f_t / d A_k, cam = relu(sum_k
 * alpha_k A_k), bilinearly upsampled to the input (align_corners false,
 * as torch.nn.functional.interpolate). Images are lanes.
 *
 * Grad-CAM++ (Chattopadhyay et al. 2018) in pytorch-grad-cam's closed
 * form: with g = d f_t / d A_k (f_t the logit), a_ij = g^2 / (2 g^2 +
 * sum_ij A_k g^3 + GRADCAMPP_EPS) where g != 0, else 0, and alpha_k =
 * sum_ij relu(g) a_ij; the cam as above. */
#include "methods/methods.h"
#include "model/model.h"

/* pytorch-grad-cam's stabiliser of a_ij's denominator. */
#define GRADCAMPP_EPS 1e-6

static const char *const map_names[] = {"map"};


/* The layer's value: a node (its first output) or value named `name`;
 * by default the last feature-map layer (DMBP_OP_FEATURE_MAP), or the
 * activation (DMBP_OP_GATE) right after it. */
dmbp_status dmbp__cam_layer(const dmbp_model *m, const char *name, int *out)
{
    if (!name) {
        int last = -1;
        for (int i = 0; i < m->n_nodes; i++)
            if (dmbp__op_is(&m->nodes[i], DMBP_OP_FEATURE_MAP))
                last = i;
        if (last < 0)
            return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: the CAM methods "
                                  "need a feature-map layer (a convolution) and "
                                  "the model has none",
                                  m->name);
        int v = m->nodes[last].out[0];
        if (m->values[v].consumers == 1)
            for (int i = last + 1; i < m->n_nodes; i++) {
                const dmbp_node *n = &m->nodes[i];
                if (!n->dead && n->n_in > 0 && n->in[0] == v &&
                    dmbp__op_is(n, DMBP_OP_GATE)) {
                    v = n->out[0];
                    break;
                }
            }
        *out = v;
        return DMBP_OK;
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (!m->nodes[i].dead && !strcmp(m->nodes[i].name, name)) {
            *out = m->nodes[i].out[0];
            return DMBP_OK;
        }
    for (int v = 0; v < m->n_values; v++)
        if (!m->values[v].is_const && !strcmp(m->values[v].name, name) &&
            (m->values[v].producer >= 0 || v == m->input)) {
            *out = v;
            return DMBP_OK;
        }
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; i < m->n_nodes && len < sizeof list - 64; i++)
        if (dmbp__op_is(&m->nodes[i], DMBP_OP_FEATURE_MAP))
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                    len ? ", " : "", m->nodes[i].name);
    return dmbp_set_error(DMBP_ERR_ARG, "%s: no layer '%s' (feature-map layers: %s)",
                          m->name, name, list);
}

/* PyTorch's source index for bilinear, align_corners=False. */
static float src_index(float scale, int dst)
{
    float s = scale * ((float)dst + 0.5f) - 0.5f;
    return s < 0 ? 0 : s;
}

void dmbp__upsample(const float *in, int h, int w, float *out, int H, int W)
{
    float sy = (float)h / (float)H, sx = (float)w / (float)W;
    for (int y = 0; y < H; y++) {
        float fy = src_index(sy, y);
        int y0 = (int)fy, y1 = y0 + (y0 < h - 1);
        float ly = fy - (float)y0;
        for (int x = 0; x < W; x++) {
            float fx = src_index(sx, x);
            int x0 = (int)fx, x1 = x0 + (x0 < w - 1);
            float lx = fx - (float)x0;
            out[y * W + x] =
                (1 - ly) * ((1 - lx) * in[y0 * w + x0] + lx * in[y0 * w + x1]) +
                ly * ((1 - lx) * in[y1 * w + x0] + lx * in[y1 * w + x1]);
        }
    }
}

dmbp_status dmbp__cam_shape(const dmbp_model *m, dmbp_plan *p, int v, int *K,
                            int *h, int *w)
{
    bool relevant;
    const dmbp_shape *as = dmbp__plan_value_shape(p, v, &relevant);
    if (as->ndim != 4 || !relevant)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: layer '%s' is not a 4-D "
                              "activation that the logits depend on",
                              m->name, m->values[v].name);
    *K = (int)as->dims[1];
    *h = (int)as->dims[2];
    *w = (int)as->dims[3];
    return DMBP_OK;
}

dmbp_status dmbp__method_gradcam(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    int v;
    TRY(dmbp__cam_layer(c->m, o->gradcam.layer, &v));
    TRY(dmbp__result_alloc(r, 1, map_names, 1, c->h, c->w, 0, NULL));
    r->signed_map = 0;
    int lanes = c->n < o->max_lanes ? c->n : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t per = (size_t)c->c * c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__explain_plan_keep(c, lanes, &p));
    int K, h, w;
    dmbp_status st0 = dmbp__cam_shape(c->m, p, v, &K, &h, &w);
    if (st0) {
        dmbp__explain_plan_done(c, p);
        return st0;
    }
    size_t amap = (size_t)K * h * w;
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *seed = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *A = dmbp__malloc((size_t)lanes * amap * sizeof(float));
    float *dA = dmbp__malloc((size_t)lanes * amap * sizeof(float));
    float *cam = dmbp__malloc((size_t)h * w * sizeof(float));
    int *t = dmbp__malloc((size_t)lanes * sizeof(int));
    dmbp_status st = in && seed && A && dA && cam && t ? DMBP_OK
                                                       : DMBP_ERR_NOMEM;
    for (int i0 = 0; !st && i0 < c->n; i0 += lanes) {
        int cnt = c->n - i0 < lanes ? c->n - i0 : lanes;
        for (int l = 0; l < lanes; l++) {
            int i = i0 + (l < cnt ? l : 0);
            memcpy(in + l * per, c->x + (size_t)i * per, per * sizeof(float));
            t[l] = r->target[i];
        }
        dmbp__one_hot(seed, lanes, k, t);
        st = dmbp_plan_forward(p, in, NULL);
        if (!st)
            st = dmbp_plan_backward(p, seed, NULL, 0, NULL);
        if (!st)
            st = dmbp__plan_read(p, v, 0, A);
        if (!st)
            st = dmbp__plan_read(p, v, 1, dA);
        for (int l = 0; !st && l < cnt; l++) {
            const float *a = A + l * amap, *d = dA + l * amap;
            memset(cam, 0, (size_t)h * w * sizeof(float));
            for (int ch = 0; ch < K; ch++) {
                const float *ac = a + (size_t)ch * h * w;
                const float *dc = d + (size_t)ch * h * w;
                double alpha = 0;
                if (o->method == DMBP_METHOD_GRADCAMPP) {
                    double sum_a = 0;
                    for (int s = 0; s < h * w; s++)
                        sum_a += ac[s];
                    for (int s = 0; s < h * w; s++) {
                        double g = dc[s], g2 = g * g;
                        if (g > 0)
                            alpha += g * g2 /
                                     (2 * g2 + sum_a * g2 * g + GRADCAMPP_EPS);
                    }
                } else {
                    for (int s = 0; s < h * w; s++)
                        alpha += dc[s];
                    alpha /= (double)h * w;
                }
                for (int s = 0; s < h * w; s++)
                    cam[s] += (float)(alpha * ac[s]);
            }
            for (int s = 0; s < h * w; s++)
                cam[s] = cam[s] > 0 ? cam[s] : 0;
            dmbp__upsample(cam, h, w, dmbp__result_array(r, i0 + l, 0), c->h,
                     c->w);
        }
        if (!st)
            dmbp__progress(c, 0, c->n, i0 + cnt, c->n);
    }
    free(in);
    free(seed);
    free(A);
    free(dA);
    free(cam);
    free(t);
    dmbp__explain_plan_done(c, p);
    return st;
}
