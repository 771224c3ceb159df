/* Integrated gradients (Sundararajan et al. 2017) with Captum's Riemann
 * rules: IG = (x - x0) * sum_k w_k grad f_t(x0 + a_k (x - x0)); the steps
 * of one image are lanes of one plan. Also the completeness gap
 * f_t(x) - f_t(x0) - sum IG, which shrinks as steps grow. */
#include "methods/methods.h"

/* The blur baseline: the Gaussian that RISE's insertion metric starts from
 * (kernel 11, sigma 5), edges clamped. */
#define BLUR_RADIUS 5
#define BLUR_SIGMA 5.0

static const char *const map_names[] = {"map"};
static const char *const scalar_names[] = {"completeness_gap"};

static void rule(dmbp_ig_rule rl, int n, int k, double *alpha, double *w)
{
    switch (rl) {
    case DMBP_IG_LEFT:
        *alpha = (double)k / n;
        *w = 1.0 / n;
        break;
    case DMBP_IG_RIGHT:
        *alpha = (double)(k + 1) / n;
        *w = 1.0 / n;
        break;
    case DMBP_IG_TRAPEZOID:
        *alpha = (double)k / (n - 1);
        *w = (k == 0 || k == n - 1 ? 0.5 : 1.0) / (n - 1);
        break;
    default:
        *alpha = (k + 0.5) / n;
        *w = 1.0 / n;
        break;
    }
}

void dmbp__blur(const float *x, int c, int h, int w, float *out, float *tmp)
{
    double k[2 * BLUR_RADIUS + 1], sum = 0;
    for (int i = -BLUR_RADIUS; i <= BLUR_RADIUS; i++)
        sum += k[i + BLUR_RADIUS] = exp(-(double)i * i /
                                        (2 * BLUR_SIGMA * BLUR_SIGMA));
    for (int i = 0; i < 2 * BLUR_RADIUS + 1; i++)
        k[i] /= sum;
    for (int ch = 0; ch < c; ch++) {
        const float *src = x + (size_t)ch * h * w;
        float *dst = out + (size_t)ch * h * w;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                double s = 0;
                for (int i = -BLUR_RADIUS; i <= BLUR_RADIUS; i++) {
                    int q = xx + i < 0 ? 0 : xx + i >= w ? w - 1 : xx + i;
                    s += k[i + BLUR_RADIUS] * src[y * w + q];
                }
                tmp[y * w + xx] = (float)s;
            }
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                double s = 0;
                for (int i = -BLUR_RADIUS; i <= BLUR_RADIUS; i++) {
                    int q = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                    s += k[i + BLUR_RADIUS] * tmp[q * w + xx];
                }
                dst[y * w + xx] = (float)s;
            }
    }
}

void dmbp__baseline(const dmbp__explain_ctx *c, dmbp_baseline b,
                    const float *x, float *x0, float *tmp)
{
    size_t plane = (size_t)c->h * c->w;
    switch (b) {
    case DMBP_BASELINE_BLACK:
        for (int ch = 0; ch < c->c; ch++)
            for (size_t s = 0; s < plane; s++)
                x0[ch * plane + s] =
                    -c->pre->mean[ch % 3] / c->pre->std[ch % 3];
        break;
    case DMBP_BASELINE_BLUR:
        dmbp__blur(x, c->c, c->h, c->w, x0, tmp);
        break;
    default:
        memset(x0, 0, (size_t)c->c * plane * sizeof(float));
        break;
    }
}

dmbp_status dmbp__method_ig(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    TRY(dmbp__result_alloc(r, 1, map_names, c->c, c->h, c->w, 1,
                           scalar_names));
    r->signed_map = 1;
    int n = o->ig.steps;
    int lanes = n < o->max_lanes ? n : o->max_lanes;
    if (lanes < 2)
        lanes = 2; /* the gap needs f(x) and f(x0) in one forward call */
    int k = dmbp_model_num_classes(c->m);
    size_t per = (size_t)c->c * c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__budget_plan(c, 2, lanes, true, &p));
    lanes = (int)dmbp_plan_input_shape(p).dims[0];
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *g = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *seed = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *x0 = dmbp__malloc(per * sizeof(float));
    float *tmp = dmbp__malloc(per * sizeof(float));
    double *acc = dmbp__malloc(per * sizeof(double));
    int *t = dmbp__malloc((size_t)lanes * sizeof(int));
    dmbp_status st = in && g && seed && lg && x0 && tmp && acc && t
                         ? DMBP_OK
                         : DMBP_ERR_NOMEM;
    for (int img = 0; !st && img < c->n; img++) {
        const float *x = c->x + (size_t)img * per;
        dmbp__baseline(c, o->ig.baseline, x, x0, tmp);
        for (int l = 0; l < lanes; l++)
            t[l] = r->target[img];
        dmbp__one_hot(seed, lanes, k, t);
        memset(acc, 0, per * sizeof(double));
        for (int k0 = 0; !st && k0 < n; k0 += lanes) {
            int cnt = n - k0 < lanes ? n - k0 : lanes;
            double wts[lanes];
            for (int l = 0; l < lanes; l++) {
                double a, wt;
                rule(o->ig.rule, n, k0 + (l < cnt ? l : 0), &a, &wt);
                wts[l] = l < cnt ? wt : 0;
                float *xi = in + l * per;
                for (size_t s = 0; s < per; s++)
                    xi[s] = (float)(x0[s] + a * ((double)x[s] - x0[s]));
            }
            st = dmbp_plan_forward(p, in, NULL);
            if (!st)
                st = dmbp_plan_backward(p, seed, NULL, 0, g);
            for (int l = 0; !st && l < cnt; l++)
                for (size_t s = 0; s < per; s++)
                    acc[s] += wts[l] * g[l * per + s];
            if (!st)
                dmbp__progress(c, img, 1, k0 + cnt, n);
        }
        if (st)
            break;
        float *out = dmbp__result_array(r, img, 0);
        double sum = 0;
        for (size_t s = 0; s < per; s++) {
            out[s] = (float)(((double)x[s] - x0[s]) * acc[s]);
            sum += out[s];
        }
        /* f(x) and f(x0) from one forward call: lane 0 and lane 1. */
        memcpy(in, x, per * sizeof(float));
        for (int l = 1; l < lanes; l++)
            memcpy(in + l * per, x0, per * sizeof(float));
        st = dmbp_plan_forward(p, in, lg);
        if (!st)
            r->scalars[img] = (double)lg[r->target[img]] -
                              (double)lg[k + r->target[img]] - sum;
    }
    free(in);
    free(g);
    free(seed);
    free(lg);
    free(x0);
    free(tmp);
    free(acc);
    free(t);
    dmbp__explain_plan_done(c, p);
    return st;
}
