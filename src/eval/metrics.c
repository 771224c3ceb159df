/* Faithfulness metrics: deletion and insertion (Petsiuk et al. 2018, RISE),
 * negative evidence, AOPC (Samek et al. 2017), Spearman's rank correlation.
 *
 * Every metric is "replace a growing prefix of ranked pixels of the image
 * by some source image and read the target's logit": one engine
 * (run_prefixes) builds the perturbed images as lanes of ONE forward-only
 * plan, batch = min(points, max_lanes), filled chunk by chunk, so one
 * primitive call serves many perturbations. Only the public API is used,
 * plus the blur shared with the IG baseline.
 *
 * The protocols, exactly (tests/ref/make_metrics_fixtures.py implements
 * them independently in PyTorch):
 *
 *  - Pixel scores (h x w) from a c x h x w map: sign > 0: mean_c max(v, 0);
 *    sign < 0: mean_c max(-v, 0); sign == 0: mean_c v (summed in double).
 *  - Ranking: score descending; ties by a seeded permutation. perm = the
 *    identity over the h*w pixel indices, then Fisher-Yates with splitmix64
 *    (state = o->seed, as in methods/common.c): for i = n-1 down to 1,
 *    j = next() % (i + 1), swap(perm[i], perm[j]); pixel p's tie key is
 *    perm[p], lower first.
 *  - Curve points: step_pixels s > 0: P = ceil(hw / s) + 1 points,
 *    n_i = min(i s, hw); else P = steps + 1, n_i = floor(i hw / steps).
 *    Point i has the first n_i ranked pixels (all channels) removed
 *    (deletion: substrate values) or inserted (insertion: x's values into
 *    the start image). y_i = softmax probability of the target;
 *    AUC = sum_i (y_i + y_{i+1}) / 2 / (P - 1) (RISE's, also with a short
 *    last step).
 *  - Substrates: ZERO 0; BLUR dmbp__blur (kernel 11, sigma 5, clamped);
 *    MEAN the image's per-channel mean (in double, then float).
 *  - Negative evidence: the deletion above with the given scores;
 *    rise[k] = logit_t(x minus the first floor(fractions[k] hw + 0.5)
 *    ranked pixels) - logit_t(x).
 *  - AOPC: square tiles of region_size on a grid from (0, 0) (edge tiles
 *    smaller), tile index ty * tiles_x + tx; tile score = the sum (double,
 *    row-major) of its pixel scores; ranked descending, ties by the
 *    permutation above over the tiles (seed o->seed). Step k replaces the
 *    k-th tile with uniform noise in [min x, max x] (over the whole image):
 *    one splitmix64 stream with state o->seed + 1, drawn tile by tile in
 *    ranking order, within a tile channel by channel, row by row:
 *    u = ((next() >> 11) + 0.5) 2^-53, v = (float)(min + u (max - min)).
 *    curve[k] = logit_t(x) - logit_t(x_k), k = 0..R, R = min(regions,
 *    tiles): R + 1 values (the caller allocates regions + 1; entries past
 *    R are not written); aopc = mean of curve[0..R].
 *  - Spearman: Pearson correlation of average ranks (ties share the mean
 *    of their ranks), in double.
 */
#include "eval/eval.h"
#include "methods/methods.h"

/* The defaults dmbp_eval_options_init gives (dmbp_eval.h documents them):
 * the deletion/insertion curve's steps, AOPC's square regions and their
 * count (Samek et al. 2017's 9x9), and the perturbed images per forward
 * call (the explain options' default). */
#define DEFAULT_STEPS 20
#define DEFAULT_REGION_SIZE 9
#define DEFAULT_REGIONS 20
#define DEFAULT_MAX_LANES 32

static void eval_defaults(dmbp_eval_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->steps = DEFAULT_STEPS;
    o->step_pixels = 0;
    o->deletion_substrate = DMBP_SUBSTRATE_ZERO;
    o->insertion_start = DMBP_SUBSTRATE_BLUR;
    o->seed = 0;
    o->region_size = DEFAULT_REGION_SIZE;
    o->regions = DEFAULT_REGIONS;
    o->max_lanes = DEFAULT_MAX_LANES;
}

void dmbp_eval_options_init_sized(dmbp_eval_options *o, size_t struct_size)
{
    dmbp_eval_options d;
    eval_defaults(&d);
    dmbp__options_init(o, struct_size, &d, EVAL_OPTIONS_MIN, sizeof d);
}

/* The caller's options (NULL: the defaults) over the defaults. */
static dmbp_status eval_options_in(const dmbp_eval_options *in,
                                   dmbp_eval_options *out)
{
    eval_defaults(out);
    return dmbp__options_in(in, out, EVAL_OPTIONS_MIN, sizeof *out,
                            "dmbp_eval_options");
}

/* ---- random numbers ------------------------------------------------- */

/* splitmix64, the generator of methods/common.c (state advanced first). */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* In (0, 1): 53 random bits, centred in their interval. */
static double next_uniform(uint64_t *state)
{
    return ((double)(next_u64(state) >> 11) + 0.5) *
           (1.0 / 9007199254740992.0);
}

/* Fisher-Yates over the identity: perm[p] is item p's tie key. */
static void tie_keys(int n, uint64_t seed, int *perm)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)(next_u64(&s) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- ranking ---------------------------------------------------------- */

typedef struct ranked {
    double score;
    int key;
    int index;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->key > y->key) - (x->key < y->key);
}

/* order[0..n) = the items 0..n-1 by score descending, ties by the seeded
 * keys. */
static dmbp_status rank_items(const double *score, int n, uint64_t seed,
                              int *order)
{
    int *perm = dmbp__malloc((size_t)n * sizeof(int));
    ranked *r = dmbp__malloc((size_t)n * sizeof(ranked));
    if (!perm || !r) {
        free(perm);
        free(r);
        return DMBP_ERR_NOMEM;
    }
    tie_keys(n, seed, perm);
    for (int i = 0; i < n; i++)
        r[i] = (ranked){score[i], perm[i], i};
    qsort(r, (size_t)n, sizeof(ranked), by_score_desc);
    for (int i = 0; i < n; i++)
        order[i] = r[i].index;
    free(perm);
    free(r);
    return DMBP_OK;
}

/* ---- checks ------------------------------------------------------------ */

/* Largest c * h * w accepted: indices stay in int, buffers reasonable. */
#define MAX_ELEMS ((int64_t)1 << 30)

dmbp_status dmbp__check_map_sizes(const char *fn, int c, int h, int w)
{
    if (c < 1 || h < 1 || w < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: sizes %dx%dx%d: channels, "
                              "height and width must be >= 1", fn, c, h, w);
    if ((int64_t)c * h * w > MAX_ELEMS)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %dx%dx%d is too large "
                              "(at most %lld values)", fn, c, h, w,
                              (long long)MAX_ELEMS);
    return DMBP_OK;
}

dmbp_status dmbp__check_finite(const char *fn, const char *what,
                               const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "%s: %s[%lld] is %g",
                                  fn, what, (long long)i, (double)v[i]);
    return DMBP_OK;
}

static dmbp_status check_substrate(const char *fn, const char *field,
                                   dmbp_substrate s)
{
    if (s != DMBP_SUBSTRATE_ZERO && s != DMBP_SUBSTRATE_BLUR &&
        s != DMBP_SUBSTRATE_MEAN)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: unknown %s %d", fn, field,
                              (int)s);
    return DMBP_OK;
}

/* What every metric run needs: pointers, sizes, the target, the lanes,
 * finite input and scores. */
static dmbp_status check_common(const char *fn, const dmbp_model *m,
                                const float *x, int c, int h, int w,
                                int target, const float *scores,
                                const dmbp_eval_options *o)
{
    if (!m || !x || !scores)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !m ? "or invalid session" : !x ? "image"
                                                           : "scores");
    TRY(dmbp__check_map_sizes(fn, c, h, w));
    int k = dmbp_model_num_classes(m);
    if (target < 0 || target >= k)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: target class %d is out of "
                              "range (the model has classes 0 to %d)", fn,
                              target, k - 1);
    if (o->max_lanes < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: max_lanes %d: must be >= 1",
                              fn, o->max_lanes);
    TRY(dmbp__check_finite(fn, "x", x, (int64_t)c * h * w));
    return dmbp__check_finite(fn, "scores", scores, (int64_t)h * w);
}

static dmbp_status check_steps(const char *fn, const dmbp_eval_options *o)
{
    if (o->step_pixels < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: step_pixels %d: must be "
                              ">= 0 (0: use steps)", fn, o->step_pixels);
    if (o->step_pixels == 0 && o->steps < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: steps %d: must be >= 1", fn,
                              o->steps);
    return DMBP_OK;
}

/* ---- images ------------------------------------------------------------ */

static void substrate(dmbp_substrate s, const float *x, int c, int h, int w,
                      float *out, float *tmp)
{
    size_t plane = (size_t)h * w;
    switch (s) {
    case DMBP_SUBSTRATE_BLUR:
        dmbp__blur(x, c, h, w, out, tmp);
        break;
    case DMBP_SUBSTRATE_MEAN:
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (size_t i = 0; i < plane; i++)
                sum += x[ch * plane + i];
            float mean = (float)(sum / (double)plane);
            for (size_t i = 0; i < plane; i++)
                out[ch * plane + i] = mean;
        }
        break;
    default:
        memset(out, 0, (size_t)c * plane * sizeof(float));
        break;
    }
}

/* The model's input must be c x h x w images (dynamic dimensions free).
 * The plan is the session's (give it back with dmbp__plan_release). */
static dmbp_status make_plan(const char *fn, const dmbp_model *m,
                             dmbp__plan_cache *pc, int lanes, int c, int h,
                             int w, dmbp_plan **out)
{
    dmbp_shape d = dmbp_model_input_shape(m);
    if (d.ndim != 4)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: metrics take image "
                              "models (a 4-D input)", fn);
    if ((d.dims[1] && d.dims[1] != c) || (d.dims[2] && d.dims[2] != h) ||
        (d.dims[3] && d.dims[3] != w))
        return dmbp_set_error(DMBP_ERR_SHAPE, "%s: images of %dx%dx%d do not "
                              "fit the model's input [%lld, %lld, %lld]", fn,
                              c, h, w, (long long)d.dims[1],
                              (long long)d.dims[2], (long long)d.dims[3]);
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.shape.ndim = 4;
    po.shape.dims[0] = lanes;
    po.shape.dims[1] = c;
    po.shape.dims[2] = h;
    po.shape.dims[3] = w;
    return dmbp__cache_plan(pc, m, &po, NULL, false, out);
}

/* The engine. Point i is `base` with the pixels order[0..counts[i]) (all
 * channels) taken from `src`; logit[i] and prob[i] (either may be NULL)
 * get the target's logit and softmax probability. */
typedef struct prefix_run {
    const dmbp_model *m;
    dmbp__plan_cache *cache;     /* the session's plans */
    int c, h, w, target;
    const float *base, *src;
    const int *order;
    const int *counts;
    int points;
    const dmbp_eval_options *o;
} prefix_run;

static dmbp_status run_prefixes(const char *fn, const prefix_run *r,
                                double *logit, double *prob)
{
    int max_lanes = r->o->max_lanes;
    int lanes = r->points < max_lanes ? r->points : max_lanes;
    size_t plane = (size_t)r->h * r->w, per = (size_t)r->c * plane;
    const dmbp__plan_cache *cache = r->cache;
    dmbp_plan *p;
    TRY(make_plan(fn, r->m, r->cache, lanes, r->c, r->h, r->w, &p));
    dmbp_shape ls = dmbp_plan_logits_shape(p);
    if (ls.ndim != 2 || ls.dims[0] != lanes || r->target >= ls.dims[1]) {
        dmbp__plan_release(cache, p);
        return dmbp_set_error(DMBP_ERR_SHAPE, "%s: the model's logits are "
                              "not [images, classes]", fn);
    }
    int k = (int)ls.dims[1];
    float *in = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *pr = dmbp__malloc((size_t)k * sizeof(float));
    dmbp_status st = in && lg && pr ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int i0 = 0; !st && i0 < r->points; i0 += lanes) {
        int cnt = r->points - i0 < lanes ? r->points - i0 : lanes;
        /* Lanes past cnt keep the previous chunk's (finite) images. */
        for (int l = 0; l < cnt; l++) {
            float *img = in + l * per;
            memcpy(img, r->base, per * sizeof(float));
            for (int j = 0; j < r->counts[i0 + l]; j++) {
                size_t q = (size_t)r->order[j];
                for (int ch = 0; ch < r->c; ch++)
                    img[ch * plane + q] = r->src[ch * plane + q];
            }
        }
        st = dmbp_plan_forward(p, in, lg);
        for (int l = 0; !st && l < cnt; l++) {
            const float *li = lg + (size_t)l * k;
            if (logit)
                logit[i0 + l] = li[r->target];
            if (prob) {
                dmbp_softmax(li, k, pr);
                prob[i0 + l] = pr[r->target];
            }
        }
    }
    free(in);
    free(lg);
    free(pr);
    dmbp__plan_release(cache, p);
    return st;
}

/* ---- pixel scores ------------------------------------------------------ */

dmbp_status dmbp_eval_pixel_scores(const float *map, int c, int h, int w,
                                   int sign, float *scores)
{
    static const char fn[] = "dmbp_eval_pixel_scores";
    if (!map || !scores)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !map ? "map" : "scores");
    TRY(dmbp__check_map_sizes(fn, c, h, w));
    TRY(dmbp__check_finite(fn, "map", map, (int64_t)c * h * w));
    size_t plane = (size_t)h * w;
    for (size_t i = 0; i < plane; i++) {
        double s = 0;
        for (int ch = 0; ch < c; ch++) {
            double v = map[ch * plane + i];
            s += sign > 0 ? (v > 0 ? v : 0) : sign < 0 ? (v < 0 ? -v : 0) : v;
        }
        scores[i] = (float)(s / c);
    }
    return DMBP_OK;
}

/* ---- deletion and insertion -------------------------------------------- */

int dmbp_eval_aopc_points(const dmbp_eval_options *o_in, int h, int w)
{
    dmbp_eval_options o;
    if (eval_options_in(o_in, &o) || h < 1 || w < 1 || o.region_size < 1 ||
        o.regions < 1)
        return 0;
    int64_t rs = o.region_size;
    int64_t tiles = ((h + rs - 1) / rs) * ((w + rs - 1) / rs);
    return (int)((o.regions < tiles ? o.regions : tiles) + 1);
}

int dmbp_eval_curve_points(const dmbp_eval_options *o_in, int h, int w)
{
    dmbp_eval_options opt;
    if (eval_options_in(o_in, &opt))
        return 0;
    const dmbp_eval_options *o = &opt;
    if (h < 1 || w < 1 || o->step_pixels < 0 ||
        (o->step_pixels == 0 && o->steps < 1))
        return 0;
    int64_t hw = (int64_t)h * w;
    int64_t n = o->step_pixels > 0 ? (hw + o->step_pixels - 1) / o->step_pixels
                                   : o->steps;
    return n + 1 > INT32_MAX ? 0 : (int)(n + 1);
}

/* Pixels removed/inserted at each curve point. */
static void curve_counts(const dmbp_eval_options *o, int64_t hw, int points,
                         int *counts)
{
    for (int i = 0; i < points; i++) {
        int64_t n = o->step_pixels > 0 ? (int64_t)i * o->step_pixels
                                       : (int64_t)i * hw / o->steps;
        counts[i] = (int)(n < hw ? n : hw);
    }
}

/* What deletion, insertion and negative evidence share: the pixels ranked
 * (ties by the seeded permutation) and the substrate image. */
typedef struct ranking {
    float *img;   /* c x h x w substrate */
    int *order;   /* h w pixel indices, highest score first */
} ranking;

static void ranking_free(ranking *rk)
{
    free(rk->img);
    free(rk->order);
}

static dmbp_status ranking_init(const float *x, int c, int h, int w,
                               const float *scores, uint64_t seed,
                               dmbp_substrate sub, ranking *rk)
{
    int hw = h * w;
    rk->img = dmbp__malloc((size_t)c * hw * sizeof(float));
    rk->order = dmbp__malloc((size_t)hw * sizeof(int));
    float *tmp = dmbp__malloc((size_t)hw * sizeof(float));
    double *sc = dmbp__malloc((size_t)hw * sizeof(double));
    dmbp_status st = rk->img && rk->order && tmp && sc ? DMBP_OK
                                                       : DMBP_ERR_NOMEM;
    if (!st) {
        for (int i = 0; i < hw; i++)
            sc[i] = scores[i];
        st = rank_items(sc, hw, seed, rk->order);
    }
    if (!st)
        substrate(sub, x, c, h, w, rk->img, tmp);
    free(tmp);
    free(sc);
    if (st)
        ranking_free(rk);
    return st;
}

/* Deletion (insertion = 0) or insertion (1). */
static dmbp_status del_ins(const char *fn, int insertion, dmbp_session *s,
                           const float *x, int c, int h, int w, int target,
                           const float *scores,
                           const dmbp_eval_options *o_in, float *curve,
                           double *auc)
{
    dmbp_eval_options opt;
    TRY(eval_options_in(o_in, &opt));
    const dmbp_eval_options *o = &opt;
    const dmbp_model *m = dmbp_session_model(s);
    TRY(check_common(fn, m, x, c, h, w, target, scores, o));
    if (!curve || !auc)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !curve ? "curve" : "auc");
    TRY(check_steps(fn, o));
    dmbp_substrate sub = insertion ? o->insertion_start : o->deletion_substrate;
    TRY(check_substrate(fn, insertion ? "insertion_start"
                                      : "deletion_substrate", sub));
    int points = dmbp_eval_curve_points(o, h, w);
    if (points < 2) /* steps near INT_MAX */
        return dmbp_set_error(DMBP_ERR_ARG, "%s: steps %d: too many curve "
                              "points", fn, o->steps);
    int hw = h * w;
    ranking rk;
    TRY(ranking_init(x, c, h, w, scores, o->seed, sub, &rk));
    int *counts = dmbp__malloc((size_t)points * sizeof(int));
    double *y = dmbp__malloc((size_t)points * sizeof(double));
    dmbp_status st = counts && y ? DMBP_OK : DMBP_ERR_NOMEM;
    if (!st) {
        curve_counts(o, hw, points, counts);
        prefix_run r = {m, dmbp__session_cache(s), c, h, w, target,
                        insertion ? rk.img : x, insertion ? x : rk.img,
                        rk.order, counts, points, o};
        st = run_prefixes(fn, &r, NULL, y);
    }
    if (!st) {
        double a = 0;
        for (int i = 0; i < points; i++) {
            curve[i] = (float)y[i];
            if (i + 1 < points)
                a += (y[i] + y[i + 1]) / 2;
        }
        *auc = a / (points - 1);
    }
    ranking_free(&rk);
    free(counts);
    free(y);
    return st;
}

dmbp_status dmbp_eval_deletion(dmbp_session *s, const float *x, int c,
                               int h, int w, int target, const float *scores,
                               const dmbp_eval_options *o, float *curve,
                               double *auc)
{
    return del_ins("dmbp_eval_deletion", 0, s, x, c, h, w, target, scores, o,
                   curve, auc);
}

dmbp_status dmbp_eval_insertion(dmbp_session *s, const float *x, int c,
                                int h, int w, int target, const float *scores,
                                const dmbp_eval_options *o, float *curve,
                                double *auc)
{
    return del_ins("dmbp_eval_insertion", 1, s, x, c, h, w, target, scores, o,
                   curve, auc);
}

/* ---- negative evidence -------------------------------------------------- */

dmbp_status dmbp_eval_negative(dmbp_session *s, const float *x, int c,
                               int h, int w, int target, const float *scores,
                               const double *fractions, int n,
                               const dmbp_eval_options *o_in, double *rise)
{
    static const char fn[] = "dmbp_eval_negative";
    dmbp_eval_options opt;
    TRY(eval_options_in(o_in, &opt));
    const dmbp_eval_options *o = &opt;
    const dmbp_model *m = dmbp_session_model(s);
    TRY(check_common(fn, m, x, c, h, w, target, scores, o));
    if (!fractions || !rise)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !fractions ? "fractions" : "rise");
    if (n < 1 || n >= INT32_MAX)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %d fractions: must be >= 1",
                              fn, n);
    for (int k = 0; k < n; k++)
        if (!(fractions[k] >= 0 && fractions[k] <= 1)) /* NaN too */
            return dmbp_set_error(DMBP_ERR_ARG, "%s: fractions[%d] = %g: "
                                  "must be in [0, 1]", fn, k, fractions[k]);
    TRY(check_substrate(fn, "deletion_substrate", o->deletion_substrate));
    int hw = h * w, points = n + 1;
    ranking rk;
    TRY(ranking_init(x, c, h, w, scores, o->seed, o->deletion_substrate,
                    &rk));
    int *counts = dmbp__malloc((size_t)points * sizeof(int));
    double *lg = dmbp__malloc((size_t)points * sizeof(double));
    dmbp_status st = counts && lg ? DMBP_OK : DMBP_ERR_NOMEM;
    if (!st) {
        /* Point 0 is x itself, so that the reference logit comes from the
         * same plan as the others. */
        counts[0] = 0;
        for (int k = 0; k < n; k++) {
            int64_t q = (int64_t)floor(fractions[k] * hw + 0.5);
            counts[k + 1] = (int)(q < hw ? q : hw);
        }
        prefix_run r = {m,      dmbp__session_cache(s), c, h, w, target, x,
                        rk.img, rk.order, counts, points, o};
        st = run_prefixes(fn, &r, lg, NULL);
    }
    if (!st)
        for (int k = 0; k < n; k++)
            rise[k] = lg[k + 1] - lg[0];
    ranking_free(&rk);
    free(counts);
    free(lg);
    return st;
}

/* ---- AOPC --------------------------------------------------------------- */

dmbp_status dmbp_eval_aopc(dmbp_session *s, const float *x, int c, int h,
                           int w, int target, const float *scores,
                           const dmbp_eval_options *o_in, float *curve,
                           double *aopc)
{
    static const char fn[] = "dmbp_eval_aopc";
    dmbp_eval_options opt;
    TRY(eval_options_in(o_in, &opt));
    const dmbp_eval_options *o = &opt;
    const dmbp_model *m = dmbp_session_model(s);
    TRY(check_common(fn, m, x, c, h, w, target, scores, o));
    if (!curve || !aopc)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !curve ? "curve" : "aopc");
    if (o->region_size < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: region_size %d: must be "
                              ">= 1", fn, o->region_size);
    if (o->regions < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: regions %d: must be >= 1",
                              fn, o->regions);
    int rs = o->region_size;
    int ty_n = (h + rs - 1) / rs, tx_n = (w + rs - 1) / rs;
    int tiles = ty_n * tx_n;
    int points = dmbp_eval_aopc_points(o, h, w), R = points - 1;
    int hw = h * w;
    size_t plane = (size_t)hw, per = (size_t)c * plane;
    float *noisy = dmbp__malloc(per * sizeof(float));
    double *ts = dmbp__malloc((size_t)tiles * sizeof(double));
    int *torder = dmbp__malloc((size_t)tiles * sizeof(int));
    int *order = dmbp__malloc((size_t)hw * sizeof(int));
    int *counts = dmbp__malloc((size_t)points * sizeof(int));
    double *lg = dmbp__malloc((size_t)points * sizeof(double));
    dmbp_status st = noisy && ts && torder && order && counts && lg
                         ? DMBP_OK
                         : DMBP_ERR_NOMEM;
    if (!st) {
        for (int t = 0; t < tiles; t++) {
            int y0 = t / tx_n * rs, x0 = t % tx_n * rs;
            int y1 = y0 + rs < h ? y0 + rs : h, x1 = x0 + rs < w ? x0 + rs : w;
            double sum = 0;
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    sum += scores[yy * w + xx];
            ts[t] = sum;
        }
        st = rank_items(ts, tiles, o->seed, torder);
    }
    if (!st) {
        double lo = x[0], hi = x[0];
        for (size_t i = 1; i < per; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        /* The removed pixels in tile ranking order, and their noise. */
        uint64_t rng = o->seed + 1;
        int np = 0;
        counts[0] = 0;
        for (int k = 0; k < R; k++) {
            int t = torder[k];
            int y0 = t / tx_n * rs, x0 = t % tx_n * rs;
            int y1 = y0 + rs < h ? y0 + rs : h, x1 = x0 + rs < w ? x0 + rs : w;
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    order[np++] = yy * w + xx;
            for (int ch = 0; ch < c; ch++)
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++)
                        noisy[ch * plane + (size_t)yy * w + xx] =
                            (float)(lo + next_uniform(&rng) * (hi - lo));
            counts[k + 1] = np;
        }
        prefix_run r = {m,     dmbp__session_cache(s), c, h, w, target, x,
                        noisy, order, counts, points, o};
        st = run_prefixes(fn, &r, lg, NULL);
    }
    if (!st) {
        double sum = 0;
        for (int k = 0; k <= R; k++) {
            double d = lg[0] - lg[k];
            curve[k] = (float)d;
            sum += d;
        }
        *aopc = sum / points;
    }
    free(noisy);
    free(ts);
    free(torder);
    free(order);
    free(counts);
    free(lg);
    return st;
}

/* ---- Spearman ----------------------------------------------------------- */

typedef struct valued {
    double v;
    int64_t i;
} valued;

static int by_value(const void *a, const void *b)
{
    const valued *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Average ranks (1-based) of v into rank; tmp holds n entries. */
static void average_ranks(const float *v, int64_t n, valued *tmp,
                          double *rank)
{
    for (int64_t i = 0; i < n; i++)
        tmp[i] = (valued){v[i], i};
    qsort(tmp, (size_t)n, sizeof(valued), by_value);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && tmp[j + 1].v == tmp[i].v)
            j++;
        double r = (double)(i + j) / 2 + 1; /* mean of ranks i+1 .. j+1 */
        for (int64_t q = i; q <= j; q++)
            rank[tmp[q].i] = r;
        i = j + 1;
    }
}

double dmbp_spearman(const float *a, const float *b, int64_t n)
{
    if (!a || !b || n < 2 || (uint64_t)n > SIZE_MAX / sizeof(valued))
        return NAN;
    for (int64_t i = 0; i < n; i++)
        if (isnan(a[i]) || isnan(b[i]))
            return NAN;
    valued *tmp = dmbp__malloc((size_t)n * sizeof(valued));
    double *ra = dmbp__malloc((size_t)n * sizeof(double));
    double *rb = dmbp__malloc((size_t)n * sizeof(double));
    double rho = NAN;
    if (tmp && ra && rb) {
        average_ranks(a, n, tmp, ra);
        average_ranks(b, n, tmp, rb);
        /* Both rank vectors have mean (n + 1) / 2. */
        double mean = (double)(n + 1) / 2, sab = 0, saa = 0, sbb = 0;
        for (int64_t i = 0; i < n; i++) {
            double da = ra[i] - mean, db = rb[i] - mean;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        if (saa > 0 && sbb > 0)
            rho = sab / sqrt(saa * sbb);
    }
    free(tmp);
    free(ra);
    free(rb);
    return rho;
}
