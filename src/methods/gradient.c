/* Saliency (the gradient; with abs, max over channels of its magnitude),
 * gradient x input, and guided backpropagation: one backward pass per
 * image, images as lanes. */
#include "methods/methods.h"

static const char *const map_names[] = {"map"};

dmbp_status dmbp__method_gradient(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    bool abs_map = o->method == DMBP_METHOD_SALIENCY && o->saliency.abs;
    TRY(dmbp__result_alloc(r, 1, map_names, abs_map ? 1 : c->c, c->h, c->w,
                           0, NULL));
    r->signed_map = !abs_map;
    int lanes = c->n < o->max_lanes ? c->n : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t per = (size_t)c->c * c->h * c->w, plane = (size_t)c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__explain_plan(c, lanes, true, &p));
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *g = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *seed = dmbp__malloc((size_t)lanes * k * sizeof(float));
    int *t = dmbp__malloc((size_t)lanes * sizeof(int));
    dmbp_status st = in && g && seed && t ? DMBP_OK : DMBP_ERR_NOMEM;
    unsigned flags = o->method == DMBP_METHOD_GUIDED ? DMBP_BACKWARD_GUIDED
                                                     : 0;
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
            st = dmbp_plan_backward(p, seed, NULL, flags, g);
        for (int l = 0; !st && l < cnt; l++) {
            float *out = dmbp__result_array(r, i0 + l, 0);
            const float *gl = g + l * per, *xl = in + l * per;
            if (abs_map) {
                for (size_t s = 0; s < plane; s++) {
                    float mx = 0;
                    for (int ch = 0; ch < c->c; ch++)
                        mx = fmaxf(mx, fabsf(gl[ch * plane + s]));
                    out[s] = mx;
                }
            } else if (o->method == DMBP_METHOD_GXI) {
                for (size_t s = 0; s < per; s++)
                    out[s] = gl[s] * xl[s];
            } else {
                memcpy(out, gl, per * sizeof(float));
            }
        }
        if (!st)
            dmbp__progress(c, 0, c->n, i0 + cnt, c->n);
    }
    free(in);
    free(g);
    free(seed);
    free(t);
    dmbp__explain_plan_done(c, p);
    return st;
}
