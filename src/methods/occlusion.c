/* Occlusion (Zeiler and Fergus 2014): a window x window patch of every
 * channel is set to a baseline (zero, black or blurred: IG's) and slides
 * with the stride; the patch positions along an axis of n pixels are 0,
 * stride, 2 stride, ... while the patch fits, and n - window once more if
 * the last did not reach the border, so that every pixel is covered. A
 * pixel's map value is the mean, over the patches covering it, of
 * f_t(x) - f_t(x patched) (target logits). The patched copies of one image
 * are lanes of one forward plan, as many as max_lanes and the memory
 * budget allow. f_t(x) comes from the same plan (a spare lane of the last
 * pass, or one pass more when there is none), not from the result's
 * logits: those are computed with the other images of the call as lanes,
 * and a map must not depend, even in its last bits, on which images were
 * explained with it (the program explains one image per call, a library
 * caller may pass many). */
#include "methods/methods.h"

/* The default window is the shorter side over DMBP_OCCLUSION_SCALE (8 at
 * 224), at least this. */
#define MIN_DEFAULT_WINDOW 2

static const char *const map_names[] = {"map"};

/* Patch positions along an axis of n pixels into pos (NULL: count only). */
static int positions(int n, int window, int stride, int *pos)
{
    int k = 0, at = 0;
    for (; at + window <= n; at += stride)
        if (pos)
            pos[k++] = at;
        else
            k++;
    if (at - stride + window < n) {
        if (pos)
            pos[k] = n - window;
        k++;
    }
    return k;
}

void dmbp__occlusion_geometry(int h, int w, const dmbp_occlusion_options *o,
                              int *window, int *stride)
{
    int side = h < w ? h : w;
    int win = o->window;
    if (!win) {
        win = (int)lround((double)side / DMBP_OCCLUSION_SCALE);
        if (win < MIN_DEFAULT_WINDOW)
            win = MIN_DEFAULT_WINDOW;
        if (win > side)
            win = side;
    }
    int st = o->stride ? o->stride : win / 2;
    *window = win;
    *stride = st < 1 ? 1 : st;
}

dmbp_status dmbp__method_occlusion(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    int win, stride;
    dmbp__occlusion_geometry(c->h, c->w, &o->occlusion, &win, &stride);
    if (win > c->h || win > c->w)
        return dmbp_set_error(DMBP_ERR_ARG, "occlusion.window %d (dmbp "
                              "--window): larger than the %dx%d model input",
                              win, c->h, c->w);
    TRY(dmbp__result_alloc(r, 1, map_names, 1, c->h, c->w, 0, NULL));
    r->signed_map = 1;
    int ny = positions(c->h, win, stride, NULL);
    int nx = positions(c->w, win, stride, NULL);
    int total = ny * nx;
    int want = total < o->max_lanes ? total : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t plane = (size_t)c->h * c->w, per = (size_t)c->c * plane;
    dmbp_plan *p;
    TRY(dmbp__budget_plan(c, 1, want, false, &p));
    int lanes = (int)dmbp_plan_input_shape(p).dims[0];
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *x0 = dmbp__malloc(per * sizeof(float));
    float *tmp = dmbp__malloc(plane * sizeof(float));
    double *acc = dmbp__malloc(plane * sizeof(double));
    int *cnt = dmbp__malloc(plane * sizeof(int));
    int *py = dmbp__malloc((size_t)ny * sizeof(int));
    int *px = dmbp__malloc((size_t)nx * sizeof(int));
    dmbp_status st = in && lg && x0 && tmp && acc && cnt && py && px
                         ? DMBP_OK
                         : DMBP_ERR_NOMEM;
    if (!st) {
        positions(c->h, win, stride, py);
        positions(c->w, win, stride, px);
    }
    /* The passes over an image's patches, and one more when the last has
     * no spare lane for x itself (unused lanes hold x unpatched). */
    int passes = (total + lanes - 1) / lanes + (total % lanes == 0);
    int ref_lane = total % lanes;   /* of the last pass */
    for (int img = 0; !st && img < c->n; img++) {
        const float *x = c->x + (size_t)img * per;
        int t = r->target[img];
        double fx = 0;
        dmbp__baseline(c, o->occlusion.baseline, x, x0, tmp);
        memset(acc, 0, plane * sizeof(double));
        memset(cnt, 0, plane * sizeof(int));
        for (int pass = 0; !st && pass < passes; pass++) {
            int w0 = pass * lanes;
            int used = total - w0 < lanes ? total - w0 : lanes;
            if (used < 0)
                used = 0;
            for (int l = 0; l < lanes; l++) {
                float *xi = in + (size_t)l * per;
                memcpy(xi, x, per * sizeof(float));
                if (l >= used)
                    continue;
                int y0 = py[(w0 + l) / nx], xx0 = px[(w0 + l) % nx];
                for (int ch = 0; ch < c->c; ch++)
                    for (int y = y0; y < y0 + win; y++) {
                        size_t at = ch * plane + (size_t)y * c->w + xx0;
                        memcpy(xi + at, x0 + at, (size_t)win * sizeof(float));
                    }
            }
            st = dmbp_plan_forward(p, in, lg);
            if (!st && pass == passes - 1)
                fx = lg[(size_t)ref_lane * k + t];
            for (int l = 0; !st && l < used; l++) {
                /* the patched logit now, f_t(x) once the last pass ran */
                double d = -(double)lg[(size_t)l * k + t];
                int y0 = py[(w0 + l) / nx], xx0 = px[(w0 + l) % nx];
                for (int y = y0; y < y0 + win; y++)
                    for (int xx = xx0; xx < xx0 + win; xx++) {
                        acc[(size_t)y * c->w + xx] += d;
                        cnt[(size_t)y * c->w + xx]++;
                    }
            }
            if (!st && used)
                dmbp__progress(c, img, 1, w0 + used, total);
        }
        float *out = dmbp__result_array(r, img, 0);
        for (size_t s = 0; !st && s < plane; s++)
            out[s] = (float)(fx + acc[s] / cnt[s]);
    }
    free(in);
    free(lg);
    free(x0);
    free(tmp);
    free(acc);
    free(cnt);
    free(py);
    free(px);
    dmbp__explain_plan_done(c, p);
    return st;
}
