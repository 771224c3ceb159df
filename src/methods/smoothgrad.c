/* SmoothGrad (Smilkov et al. 2017) as Captum's NoiseTunnel runs it:
 * x_k = x + eps_k, eps_k ~ N(0, (sigma (max x - min x))^2) from the
 * documented generator; the map is mean_k x_k * grad f_t(x_k) (gradient x
 * input, the default) or mean_k grad f_t(x_k). Samples are lanes. */
#include "methods/methods.h"

static const char *const map_names[] = {"map"};

dmbp_status dmbp__method_smoothgrad(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    TRY(dmbp__result_alloc(r, 1, map_names, c->c, c->h, c->w, 0, NULL));
    r->signed_map = 1;
    int n = o->smoothgrad.samples;
    float sigma = o->smoothgrad.sigma;
    int lanes = n < o->max_lanes ? n : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t per = (size_t)c->c * c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__explain_plan(c, lanes, true, &p));
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *g = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *seed = dmbp__malloc((size_t)lanes * k * sizeof(float));
    double *acc = dmbp__malloc(per * sizeof(double));
    int *t = dmbp__malloc((size_t)lanes * sizeof(int));
    dmbp_status st = in && g && seed && acc && t ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int img = 0; !st && img < c->n; img++) {
        const float *x = c->x + (size_t)img * per;
        dmbp__rng rng;
        dmbp__rng_init(&rng, o->smoothgrad.seed + (uint64_t)img);
        for (int l = 0; l < lanes; l++)
            t[l] = r->target[img];
        dmbp__one_hot(seed, lanes, k, t);
        memset(acc, 0, per * sizeof(double));
        for (int k0 = 0; !st && k0 < n; k0 += lanes) {
            int cnt = n - k0 < lanes ? n - k0 : lanes;
            for (int l = 0; l < lanes; l++) {
                float *xi = in + l * per;
                if (l < cnt) {
                    /* Samples are drawn in order: sample k's values follow
                     * sample k-1's in the stream. */
                    dmbp__noise(&rng, x, (int64_t)per, sigma, xi);
                    for (size_t s = 0; s < per; s++)
                        xi[s] += x[s];
                } else {
                    memcpy(xi, x, per * sizeof(float));
                }
            }
            st = dmbp_plan_forward(p, in, NULL);
            if (!st)
                st = dmbp_plan_backward(p, seed, NULL, 0, g);
            for (int l = 0; !st && l < cnt; l++)
                for (size_t s = 0; s < per; s++)
                    acc[s] += o->smoothgrad.of_gradient
                                  ? g[l * per + s]
                                  : (double)g[l * per + s] * in[l * per + s];
            if (!st)
                dmbp__progress(c, img, 1, k0 + cnt, n);
        }
        float *out = dmbp__result_array(r, img, 0);
        for (size_t s = 0; !st && s < per; s++)
            out[s] = (float)(acc[s] / n);
    }
    free(in);
    free(g);
    free(seed);
    free(acc);
    free(t);
    dmbp__explain_plan_done(c, p);
    return st;
}
