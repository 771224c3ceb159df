/* RISE (Petsiuk et al. 2018). Mask i: a grid x grid array of cells, each
 * 1 with probability p (else 0), upsampled bilinearly (as
 * torch.nn.functional.interpolate, align_corners false) to (grid + 1) ch x
 * (grid + 1) cw, ch = ceil(H / grid), cw = ceil(W / grid), and cropped to
 * H x W from row dy, column dx. The generator is SmoothGrad's (splitmix64,
 * uniforms u in (0, 1]) seeded with `seed` for every image: per mask
 * grid^2 uniforms in row-major order (cell kept if u < p), then dy =
 * floor(u ch), dx = floor(u cw) (at most ch - 1, cw - 1). The map is
 * sum_i P_t(x . M_i) M_i / (N p), P_t the target's softmax probability,
 * the mask applied to every channel of the normalised input (0: the mean
 * colour). Masks are lanes of one forward plan. */
#include "methods/methods.h"

static const char *const map_names[] = {"map"};

/* The next mask of the stream into m (H x W); grid (g x g floats) and up
 * (the upsampled rows dy .. dy + H - 1 are all that is needed, but the
 * full upsampled map is simplest: uh x uw floats) are scratch. */
static void next_mask(dmbp__rng *rng, int g, float p, int H, int W, float *grid,
                      float *up, float *m)
{
    int ch = (H + g - 1) / g, cw = (W + g - 1) / g;
    int uh = (g + 1) * ch, uw = (g + 1) * cw;
    for (int s = 0; s < g * g; s++)
        grid[s] = dmbp__rng_uniform(rng) < (double)p ? 1.f : 0.f;
    int dy = (int)(dmbp__rng_uniform(rng) * ch);
    int dx = (int)(dmbp__rng_uniform(rng) * cw);
    dy = dy < ch ? dy : ch - 1;
    dx = dx < cw ? dx : cw - 1;
    dmbp__upsample(grid, g, g, up, uh, uw);
    for (int y = 0; y < H; y++)
        memcpy(m + (size_t)y * W, up + (size_t)(y + dy) * uw + dx,
               (size_t)W * sizeof(float));
}

dmbp_status dmbp__method_rise(const dmbp__explain_ctx *c, dmbp_result *r)
{
    const dmbp_explain_options *o = c->o;
    const dmbp_rise_options *ro = &o->rise;
    TRY(dmbp__result_alloc(r, 1, map_names, 1, c->h, c->w, 0, NULL));
    r->signed_map = 0;
    int n = ro->masks, g = ro->grid;
    if (g > c->h || g > c->w)
        return dmbp_set_error(DMBP_ERR_ARG, "rise.grid %d (dmbp --grid): "
                              "more cells than pixels of the %dx%d model "
                              "input", g, c->h, c->w);
    int want = n < o->max_lanes ? n : o->max_lanes;
    int k = dmbp_model_num_classes(c->m);
    size_t plane = (size_t)c->h * c->w, per = (size_t)c->c * plane;
    size_t up = (size_t)(g + 1) * ((c->h + g - 1) / g) * (g + 1) *
                ((c->w + g - 1) / g);
    dmbp_plan *p;
    TRY(dmbp__budget_plan(c, 1, want, false, &p));
    int lanes = (int)dmbp_plan_input_shape(p).dims[0];
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *masks = dmbp__malloc((size_t)lanes * plane * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *prob = dmbp__malloc((size_t)k * sizeof(float));
    float *grid = dmbp__malloc((size_t)g * g * sizeof(float));
    float *upbuf = dmbp__malloc(up * sizeof(float));
    double *acc = dmbp__malloc(plane * sizeof(double));
    dmbp_status st = in && masks && lg && prob && grid && upbuf && acc
                         ? DMBP_OK
                         : DMBP_ERR_NOMEM;
    for (int img = 0; !st && img < c->n; img++) {
        const float *x = c->x + (size_t)img * per;
        int t = r->target[img];
        dmbp__rng rng;
        dmbp__rng_init(&rng, ro->seed);
        memset(acc, 0, plane * sizeof(double));
        int done = 0;
        while (!st && done < n) {
            int used = n - done < lanes ? n - done : lanes;
            for (int l = 0; l < lanes; l++) {
                float *ml = masks + (size_t)l * plane;
                float *xi = in + (size_t)l * per;
                if (l < used)
                    next_mask(&rng, g, ro->p, c->h, c->w, grid, upbuf, ml);
                else
                    memcpy(ml, masks, plane * sizeof(float));
                for (int ch = 0; ch < c->c; ch++)
                    for (size_t s = 0; s < plane; s++)
                        xi[ch * plane + s] = x[ch * plane + s] * ml[s];
            }
            st = dmbp_plan_forward(p, in, lg);
            for (int l = 0; !st && l < used; l++) {
                dmbp_softmax(lg + (size_t)l * k, k, prob);
                const float *ml = masks + (size_t)l * plane;
                for (size_t s = 0; s < plane; s++)
                    acc[s] += (double)prob[t] * ml[s];
            }
            done += used;
            /* Its own callback, else the explain options' (0.3). */
            dmbp_progress_fn fn = ro->progress ? ro->progress : o->progress;
            void *user = ro->progress ? ro->progress_user : o->progress_user;
            if (!st && fn && fn(user, img, 1, done, n, NAN))
                break;
        }
        float *out = dmbp__result_array(r, img, 0);
        double norm = (double)done * ro->p;
        for (size_t s = 0; !st && s < plane; s++)
            out[s] = (float)(acc[s] / norm);
    }
    free(in);
    free(masks);
    free(lg);
    free(prob);
    free(grid);
    free(upbuf);
    free(acc);
    dmbp__explain_plan_done(c, p);
    return st;
}
