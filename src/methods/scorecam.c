/* Score-CAM (Wang et al. 2020) at Grad-CAM's layer: each channel A_k of
 * the layer's activations is upsampled to the input (bilinear, as
 * Grad-CAM's map) and min-max normalised to H_k in [0, 1]; the masked
 * input x . H_k (every channel) gives the target's softmax probability
 * P_t(x . H_k), and the channel's weight is its increase over the fully
 * masked input, w_k = P_t(x . H_k) - P_t(0). A channel whose upsampled map
 * is constant has weight 0 (as the authors' code skips it). The map is
 * relu(sum_k w_k A_k) at the layer, upsampled as Grad-CAM's. The masked
 * copies of one image are lanes of one forward plan (max_lanes, the
 * memory budget). */
#include "methods/methods.h"

static const char *const map_names[] = {"map"};

/* Layer activations of every image: A (n x K x h x w), through a plan that
 * keeps its values. */
static dmbp_status activations(const dmbp__explain_ctx *c, int v, float **A,
                               int *K, int *h, int *w)
{
    int lanes = c->n < c->o->max_lanes ? c->n : c->o->max_lanes;
    size_t per = (size_t)c->c * c->h * c->w;
    dmbp_plan *p;
    TRY(dmbp__explain_plan_keep(c, lanes, &p));
    dmbp_status st = dmbp__cam_shape(c->m, p, v, K, h, w);
    if (st) {
        dmbp__explain_plan_done(c, p);
        return st;
    }
    size_t amap = (size_t)*K * *h * *w;
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *buf = dmbp__malloc((size_t)lanes * amap * sizeof(float));
    *A = dmbp__malloc((size_t)c->n * amap * sizeof(float));
    st = in && buf && *A ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int i0 = 0; !st && i0 < c->n; i0 += lanes) {
        int cnt = c->n - i0 < lanes ? c->n - i0 : lanes;
        for (int l = 0; l < lanes; l++)
            memcpy(in + l * per, c->x + (size_t)(i0 + (l < cnt ? l : 0)) * per,
                   per * sizeof(float));
        st = dmbp_plan_forward(p, in, NULL);
        if (!st)
            st = dmbp__plan_read(p, v, 0, buf);
        if (!st)
            memcpy(*A + (size_t)i0 * amap, buf, (size_t)cnt * amap *
                   sizeof(float));
    }
    free(in);
    free(buf);
    dmbp__explain_plan_done(c, p);
    if (st) {
        free(*A);
        *A = NULL;
    }
    return st;
}

/* H_k: channel ch of a upsampled to H x W and min-max normalised into
 * out; false if it is constant. */
static bool channel_mask(const float *a, int h, int w, int H, int W,
                         float *out)
{
    dmbp__upsample(a, h, w, out, H, W);
    float lo = out[0], hi = out[0];
    for (size_t s = 1; s < (size_t)H * W; s++) {
        lo = out[s] < lo ? out[s] : lo;
        hi = out[s] > hi ? out[s] : hi;
    }
    if (!(hi > lo))
        return false;
    for (size_t s = 0; s < (size_t)H * W; s++)
        out[s] = (out[s] - lo) / (hi - lo);
    return true;
}

dmbp_status dmbp__method_scorecam(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    int v, K, h, w;
    TRY(dmbp__cam_layer(c->m, o->gradcam.layer, &v));
    TRY(dmbp__result_alloc(r, 1, map_names, 1, c->h, c->w, 0, NULL));
    r->signed_map = 0;
    float *A;
    TRY(activations(c, v, &A, &K, &h, &w));
    /* Copies per image: the K channels' and the fully masked input. */
    int total = K + 1;
    int want = total < o->max_lanes ? total : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t plane = (size_t)c->h * c->w, per = (size_t)c->c * plane;
    size_t amap = (size_t)K * h * w;
    dmbp_plan *p;
    dmbp_status st = dmbp__budget_plan(c, 1, want, false, &p);
    if (st) {
        free(A);
        return st;
    }
    int lanes = (int)dmbp_plan_input_shape(p).dims[0];
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *prob = dmbp__malloc((size_t)k * sizeof(float));
    float *mask = dmbp__malloc(plane * sizeof(float));
    double *wt = dmbp__malloc((size_t)total * sizeof(double));
    bool *live = dmbp__malloc((size_t)total * sizeof(bool));
    float *cam = dmbp__malloc((size_t)h * w * sizeof(float));
    st = in && lg && prob && mask && wt && live && cam ? DMBP_OK
                                                       : DMBP_ERR_NOMEM;
    for (int img = 0; !st && img < c->n; img++) {
        const float *x = c->x + (size_t)img * per;
        const float *a = A + (size_t)img * amap;
        int t = r->target[img];
        for (int q0 = 0; !st && q0 < total; q0 += lanes) {
            int used = total - q0 < lanes ? total - q0 : lanes;
            for (int l = 0; l < lanes; l++) {
                int q = q0 + l;
                float *xi = in + (size_t)l * per;
                bool on = l < used && q < K &&
                          channel_mask(a + (size_t)q * h * w, h, w, c->h,
                                       c->w, mask);
                if (l < used)
                    live[q] = q == K || on;
                if (!on) {
                    memset(xi, 0, per * sizeof(float)); /* x . 0 */
                    continue;
                }
                for (int ch = 0; ch < c->c; ch++)
                    for (size_t s = 0; s < plane; s++)
                        xi[ch * plane + s] = x[ch * plane + s] * mask[s];
            }
            st = dmbp_plan_forward(p, in, lg);
            for (int l = 0; !st && l < used; l++) {
                dmbp_softmax(lg + (size_t)l * k, k, prob);
                wt[q0 + l] = prob[t];
            }
            if (!st)
                dmbp__progress(c, img, 1, q0 + used, total);
        }
        if (st)
            break;
        memset(cam, 0, (size_t)h * w * sizeof(float));
        for (int q = 0; q < K; q++) {
            if (!live[q])
                continue;
            double wq = wt[q] - wt[K];
            for (int s = 0; s < h * w; s++)
                cam[s] += (float)(wq * a[(size_t)q * h * w + s]);
        }
        for (int s = 0; s < h * w; s++)
            cam[s] = cam[s] > 0 ? cam[s] : 0;
        dmbp__upsample(cam, h, w, dmbp__result_array(r, img, 0), c->h, c->w);
    }
    free(in);
    free(lg);
    free(prob);
    free(mask);
    free(wt);
    free(live);
    free(cam);
    free(A);
    dmbp__explain_plan_done(c, p);
    return st;
}
