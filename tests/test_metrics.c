/* Faithfulness metrics (src/metrics.c) as a program sees them.
 *
 * 1. By hand, on tests/ref/data/metrics/linear4x4.onnx: logit_0 = w . x,
 *    logit_1 = 0, so p_0 = sigmoid(w . x) and pixel i contributes exactly
 *    w_i x_i. Every expected number below is computed here from W and X
 *    (and this file's own splitmix64, Fisher-Yates, blur and ranking),
 *    never by the library: deletion/insertion curves for every substrate,
 *    both step rules and the AUC formula; deletion ranked by the true
 *    contributions has a lower AUC than 200 random orderings (insertion a
 *    higher one); negative-evidence rises; AOPC curves with full and edge
 *    tiles and their noise; Spearman on known cases; the seeded
 *    tie-break; lanes do not change results; bad arguments are clear
 *    errors.
 * 2. Against tests/ref/make_metrics_fixtures.py (PyTorch, the same
 *    protocols implemented independently) on models/fmnist_resnet.onnx:
 *    probabilities and AUCs to 1e-4 absolute, logit differences (negative
 *    evidence, AOPC) to 1e-3 relative.
 */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_eval.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

/* The contract for the PyTorch comparison. */
#define PROB_ATOL 1e-4
#define LOGIT_RTOL 1e-3
/* Hand cases: float32 logits of a 16-term dot product. */
#define HAND_TOL 2e-6


/* ---- the linear model ---------------------------------------------------- */

#define HW 16
/* Class 0's weights, as in make_metrics_fixtures.py LINEAR_W. */
static const double W[HW] = {0.5,   -0.25,  1.0,   0.75,  -1.0,   0.125,
                             0.3125, -0.5,  0.875, -0.375, 0.625,  0.0625,
                             -0.75, 0.4375, -0.125, 1.25};
/* The image: products W[i] X[i] all distinct, 11 negative, 5 positive. */
static const float X[HW] = {0.5f,  1.0f,  -0.75f, 0.25f,   0.875f, -0.5f,
                            1.5f,  0.375f, -0.4375f, 0.625f, 0.125f, -0.25f,
                            0.75f, -0.625f, 1.125f, 0.3125f};

static double sigmoid(double v) { return 1 / (1 + exp(-v)); }

/* logit_0 of the image that is X except where from[i] says: then src. */
static double logit_mixed(const float *base, const float *src,
                          const int *taken)
{
    double s = 0;
    for (int i = 0; i < HW; i++)
        s += W[i] * (taken[i] ? src[i] : base[i]);
    return s;
}

/* ---- this file's own generator, permutation, ranking, blur -------------- */

static uint64_t sm_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void my_perm(int n, uint64_t seed, int *perm)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)(sm_next(&s) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Selection sort: highest score first, ties by the seeded key. */
static void my_rank(const double *score, int n, uint64_t seed, int *order)
{
    int perm[64], used[64] = {0};
    my_perm(n, seed, perm);
    for (int r = 0; r < n; r++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!used[i] && (best < 0 || score[i] > score[best] ||
                             (score[i] == score[best] && perm[i] < perm[best])))
                best = i;
        used[best] = 1;
        order[r] = best;
    }
}

/* Direct 2-D Gaussian (radius 5, sigma 5, normalised, clamped) of a
 * 4 x 4 image. */
static void my_blur(const float *x, float *out)
{
    double g[11], sum = 0;
    for (int i = -5; i <= 5; i++)
        sum += g[i + 5] = exp(-(double)i * i / 50.0);
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++) {
            double s = 0;
            for (int i = -5; i <= 5; i++)
                for (int j = -5; j <= 5; j++) {
                    int yy = y + i < 0 ? 0 : y + i > 3 ? 3 : y + i;
                    int q = xx + j < 0 ? 0 : xx + j > 3 ? 3 : xx + j;
                    s += g[i + 5] * g[j + 5] * x[yy * 4 + q];
                }
            out[y * 4 + xx] = (float)(s / (sum * sum));
        }
}

/* Expected deletion (insertion = 0) or insertion curve and AUC. */
static double expected_curve(const float *scores, uint64_t seed,
                             const int *counts, int points, const float *sub,
                             int insertion, int target, double *y)
{
    double sc[HW];
    int order[HW];
    for (int i = 0; i < HW; i++)
        sc[i] = scores[i];
    my_rank(sc, HW, seed, order);
    double auc = 0;
    for (int p = 0; p < points; p++) {
        int taken[HW] = {0};
        for (int j = 0; j < counts[p]; j++)
            taken[order[j]] = 1;
        double l = insertion ? logit_mixed(sub, X, taken)
                             : logit_mixed(X, sub, taken);
        y[p] = target == 0 ? sigmoid(l) : sigmoid(-l);
        if (p > 0)
            auc += (y[p - 1] + y[p]) / 2;
    }
    return auc / (points - 1);
}

/* Run deletion/insertion and compare with the hand values. */
static void check_curve(const char *what, const dmbp_model *m,
                        const float *scores, const dmbp_eval_options *o,
                        const int *counts, int points, const float *sub,
                        int insertion, int target)
{
    float curve[64];
    double y[64], auc = -1;
    CHECK(dmbp_eval_curve_points(o, 4, 4) == points, "%s: %d points, want %d",
          what, dmbp_eval_curve_points(o, 4, 4), points);
    dmbp_status st = insertion
                         ? insertion_once(m, X, 1, 4, 4, target, scores,
                                               o, curve, &auc)
                         : deletion_once(m, X, 1, 4, 4, target, scores,
                                              o, curve, &auc);
    CHECK(!st, "%s: %s", what, dmbp_last_error());
    if (st)
        return;
    double want = expected_curve(scores, o->seed, counts, points, sub,
                                 insertion, target, y);
    for (int p = 0; p < points; p++)
        CHECK(fabs(curve[p] - y[p]) <= HAND_TOL, "%s: point %d: %.7f, want "
              "%.7f", what, p, curve[p], y[p]);
    CHECK(fabs(auc - want) <= HAND_TOL, "%s: AUC %.7f, want %.7f", what, auc,
          want);
    /* The AUC is the trapezoid of the returned curve. */
    double a = 0;
    for (int p = 0; p + 1 < points; p++)
        a += ((double)curve[p] + curve[p + 1]) / 2;
    CHECK(fabs(auc - a / (points - 1)) <= 1e-12, "%s: AUC %.9f is not the "
          "trapezoid of the curve (%.9f)", what, auc, a / (points - 1));
}

static void hand_curves(const dmbp_model *m, const float *contrib)
{
    static const float zero[HW];
    float mean[HW], blurred[HW];
    double s = 0;
    for (int i = 0; i < HW; i++)
        s += X[i];
    for (int i = 0; i < HW; i++)
        mean[i] = (float)(s / HW);
    my_blur(X, blurred);

    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    CHECK(o.steps == 20 && o.step_pixels == 0 && o.region_size == 9 &&
          o.regions == 20 && o.max_lanes == 32 && o.seed == 0 &&
          o.deletion_substrate == DMBP_SUBSTRATE_ZERO &&
          o.insertion_start == DMBP_SUBSTRATE_BLUR, "option defaults");
    /* Default 20 steps over 16 pixels: floor(i * 16 / 20). */
    int c20[21];
    for (int i = 0; i <= 20; i++)
        c20[i] = i * 16 / 20;
    check_curve("deletion zero, 20 steps", m, contrib, &o, c20, 21, zero, 0, 0);
    o.steps = 4;
    static const int c4[] = {0, 4, 8, 12, 16};
    check_curve("deletion zero, 4 steps", m, contrib, &o, c4, 5, zero, 0, 0);
    check_curve("deletion zero, 4 steps, class 1", m, contrib, &o, c4, 5,
                zero, 0, 1);
    o.steps = 3;
    static const int c3[] = {0, 5, 10, 16};
    check_curve("deletion zero, 3 steps", m, contrib, &o, c3, 4, zero, 0, 0);
    o.steps = 99; /* ignored */
    o.step_pixels = 5;
    static const int c5[] = {0, 5, 10, 15, 16};
    check_curve("deletion zero, 5 pixels per step", m, contrib, &o, c5, 5,
                zero, 0, 0);
    o.step_pixels = 16;
    static const int c16[] = {0, 16};
    check_curve("deletion zero, 16 pixels per step", m, contrib, &o, c16, 2,
                zero, 0, 0);
    o.step_pixels = 0;
    o.steps = 4;
    o.deletion_substrate = DMBP_SUBSTRATE_MEAN;
    check_curve("deletion mean", m, contrib, &o, c4, 5, mean, 0, 0);
    o.deletion_substrate = DMBP_SUBSTRATE_BLUR;
    check_curve("deletion blur", m, contrib, &o, c4, 5, blurred, 0, 0);
    check_curve("insertion blur", m, contrib, &o, c4, 5, blurred, 1, 0);
    o.insertion_start = DMBP_SUBSTRATE_ZERO;
    check_curve("insertion zero", m, contrib, &o, c4, 5, zero, 1, 0);
    o.insertion_start = DMBP_SUBSTRATE_MEAN;
    check_curve("insertion mean", m, contrib, &o, c4, 5, mean, 1, 0);
}

/* Ranked by the true contributions, deletion (zero substrate) removes the
 * largest partial sums of w_i x_i at every step, so every point is as low
 * as any ordering can make it; insertion from zero the reverse. */
static void hand_optimal(const dmbp_model *m, const float *contrib)
{
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    o.steps = 16;
    o.insertion_start = DMBP_SUBSTRATE_ZERO;
    float curve[17];
    double del_true, ins_true;
    if (deletion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &del_true) ||
        insertion_once(m, X, 1, 4, 4, 0, contrib, &o, curve,
                            &ins_true)) {
        CHECK(0, "optimal: %s", dmbp_last_error());
        return;
    }
    uint64_t s = 12345;
    int worse_del = 0, worse_ins = 0;
    for (int r = 0; r < 200; r++) {
        int perm[HW];
        float sc[HW];
        for (int i = 0; i < HW; i++)
            perm[i] = i;
        for (int i = HW - 1; i >= 1; i--) {
            int j = (int)(sm_next(&s) % (uint64_t)(i + 1));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < HW; i++)
            sc[i] = (float)perm[i];
        double d, in;
        if (deletion_once(m, X, 1, 4, 4, 0, sc, &o, curve, &d) ||
            insertion_once(m, X, 1, 4, 4, 0, sc, &o, curve, &in)) {
            CHECK(0, "random ordering %d: %s", r, dmbp_last_error());
            return;
        }
        worse_del += d > del_true;
        worse_ins += in < ins_true;
    }
    CHECK(worse_del == 200, "deletion by true contributions (AUC %.5f) beats "
          "only %d of 200 random orderings", del_true, worse_del);
    CHECK(worse_ins == 200, "insertion by true contributions (AUC %.5f) beats "
          "only %d of 200 random orderings", ins_true, worse_ins);
}

/* Rises after removing the most negative contributions; the 5 positive
 * ones tie at score 0 and are taken in the seeded order. */
static void hand_negative(const dmbp_model *m, const float *contrib)
{
    float neg[HW];
    CHECK(!dmbp_eval_pixel_scores(contrib, 1, 4, 4, -1, neg), "%s",
          dmbp_last_error());
    for (int i = 0; i < HW; i++)
        CHECK(neg[i] == (contrib[i] < 0 ? -contrib[i] : 0), "neg score %d",
              i);
    static const double fr[] = {0, 0.25, 0.5, 0.75, 0.8, 1.0};
    static const int cnt[] = {0, 4, 8, 12, 13, 16}; /* 0.8*16 = 12.8 */
    for (uint64_t seed = 0; seed < 3; seed++) {
        dmbp_eval_options o;
        dmbp_eval_options_init(&o);
        o.seed = seed;
        double rise[6], sc[HW];
        int order[HW];
        for (int i = 0; i < HW; i++)
            sc[i] = neg[i];
        my_rank(sc, HW, seed, order);
        dmbp_status st = negative_once(m, X, 1, 4, 4, 0, neg, fr, 6, &o,
                                            rise);
        CHECK(!st, "negative: %s", dmbp_last_error());
        for (int k = 0; !st && k < 6; k++) {
            double want = 0;
            for (int j = 0; j < cnt[k]; j++)
                want -= W[order[j]] * X[order[j]];
            CHECK(fabs(rise[k] - want) <= 1e-5, "negative seed %d, fraction "
                  "%g: rise %.7f, want %.7f", (int)seed, fr[k], rise[k],
                  want);
        }
    }
}

/* AOPC with tiles of size rs on the 4 x 4 image. */
static void hand_aopc_case(const dmbp_model *m, const float *scores, int rs,
                           int regions, uint64_t seed)
{
    int tx = (4 + rs - 1) / rs, tiles = tx * tx;
    int R = regions < tiles ? regions : tiles;
    double ts[16] = {0};
    int tile_of[HW];
    for (int p = 0; p < HW; p++) {
        tile_of[p] = (p / 4 / rs) * tx + (p % 4) / rs;
        ts[tile_of[p]] += scores[p];
    }
    int torder[16];
    my_rank(ts, tiles, seed, torder);
    double lo = X[0], hi = X[0];
    for (int i = 0; i < HW; i++) {
        lo = X[i] < lo ? X[i] : lo;
        hi = X[i] > hi ? X[i] : hi;
    }
    /* Noise for the ranked tiles, row by row within each (one channel). */
    float noise[HW];
    uint64_t s = seed + 1;
    for (int k = 0; k < R; k++)
        for (int p = 0; p < HW; p++)
            if (tile_of[p] == torder[k]) {
                double u = ((double)(sm_next(&s) >> 11) + 0.5) *
                           (1.0 / 9007199254740992.0);
                noise[p] = (float)(lo + u * (hi - lo));
            }
    float curve[32];
    for (int k = 0; k < 32; k++)
        curve[k] = 12345.f;
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    o.region_size = rs;
    o.regions = regions;
    o.seed = seed;
    double aopc = -1;
    dmbp_status st = aopc_once(m, X, 1, 4, 4, 0, scores, &o, curve,
                                    &aopc);
    CHECK(!st, "aopc %d: %s", rs, dmbp_last_error());
    if (st)
        return;
    double sum = 0, drop = 0;
    for (int k = 0; k <= R; k++) {
        if (k > 0)
            for (int p = 0; p < HW; p++)
                if (tile_of[p] == torder[k - 1])
                    drop += W[p] * ((double)X[p] - noise[p]);
        CHECK(fabs(curve[k] - drop) <= 1e-5, "aopc size %d regions %d seed "
              "%d: curve[%d] %.7f, want %.7f", rs, regions, (int)seed, k,
              curve[k], drop);
        sum += drop;
    }
    CHECK(fabs(aopc - sum / (R + 1)) <= 1e-5, "aopc size %d: %.7f, want "
          "%.7f", rs, aopc, sum / (R + 1));
    for (int k = R + 1; k < 32; k++)
        CHECK(curve[k] == 12345.f, "aopc size %d: curve[%d] written (R = %d)",
              rs, k, R);
}

static void hand_aopc(const dmbp_model *m, const float *contrib)
{
    hand_aopc_case(m, contrib, 2, 3, 0);  /* 4 full tiles, 3 removed    */
    hand_aopc_case(m, contrib, 2, 4, 7);  /* all of them                */
    hand_aopc_case(m, contrib, 3, 10, 0); /* edge tiles 3x1, 1x3, 1x1   */
    hand_aopc_case(m, contrib, 1, 16, 2); /* pixels                     */
    static const float zero[HW];
    hand_aopc_case(m, zero, 2, 4, 5);     /* every tile tied            */
}

/* All scores equal: the order is the seeded permutation alone. */
static void hand_ties(const dmbp_model *m)
{
    static const float zero[HW];
    static const int c16[17] = {0, 1, 2,  3,  4,  5,  6,  7, 8,
                                9, 10, 11, 12, 13, 14, 15, 16};
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    o.steps = 16;
    float a[17], b[17], d[17];
    double auc;
    for (uint64_t seed = 0; seed < 4; seed++) {
        o.seed = seed;
        char what[64];
        snprintf(what, sizeof what, "all tied, seed %d", (int)seed);
        check_curve(what, m, zero, &o, c16, 17, zero, 0, 0);
    }
    o.seed = 9;
    CHECK(!deletion_once(m, X, 1, 4, 4, 0, zero, &o, a, &auc) &&
          !deletion_once(m, X, 1, 4, 4, 0, zero, &o, b, &auc),
          "%s", dmbp_last_error());
    CHECK(!memcmp(a, b, sizeof a), "the same call twice differs");
    o.seed = 10;
    CHECK(!deletion_once(m, X, 1, 4, 4, 0, zero, &o, d, &auc), "%s",
          dmbp_last_error());
    CHECK(memcmp(a, d, sizeof a), "seeds 9 and 10 give the same order");
    /* Lanes are an implementation detail. */
    static const int lanes[] = {1, 3, 17, 64};
    for (int i = 0; i < 4; i++) {
        o.seed = 9;
        o.max_lanes = lanes[i];
        CHECK(!deletion_once(m, X, 1, 4, 4, 0, zero, &o, d, &auc), "%s",
              dmbp_last_error());
        for (int p = 0; p < 17; p++)
            CHECK(fabs(d[p] - a[p]) <= 1e-6, "max_lanes %d: point %d %.8f vs "
                  "%.8f", lanes[i], p, d[p], a[p]);
    }
}

static void hand_pixel_scores(void)
{
    /* 3 channels, 1 x 2 pixels. */
    static const float map[] = {1, -2, 3, -4, -5, 6};
    float s[2];
    CHECK(!dmbp_eval_pixel_scores(map, 3, 1, 2, 1, s) &&
          fabs(s[0] - (1 + 3 + 0) / 3.0) < 1e-6 &&
          fabs(s[1] - (0 + 0 + 6) / 3.0) < 1e-6, "sign > 0: %g %g", s[0],
          s[1]);
    CHECK(!dmbp_eval_pixel_scores(map, 3, 1, 2, -1, s) &&
          fabs(s[0] - 5 / 3.0) < 1e-6 && fabs(s[1] - 6 / 3.0) < 1e-6,
          "sign < 0: %g %g", s[0], s[1]);
    CHECK(!dmbp_eval_pixel_scores(map, 3, 1, 2, 0, s) &&
          fabs(s[0] - (-1 / 3.0)) < 1e-6 && fabs(s[1] - 0) < 1e-6,
          "sign 0: %g %g", s[0], s[1]);
}

static void hand_spearman(void)
{
    static const float a[] = {1, 2, 3, 4}, b[] = {1, 3, 2, 4};
    static const float r[] = {40, 30, 20, 10}, t[] = {1, 2, 2, 3};
    static const float c[] = {5, 5, 5, 5};
    CHECK(fabs(dmbp_spearman(a, b, 4) - 0.8) < 1e-12, "[1234] vs [1324]: %g",
          dmbp_spearman(a, b, 4));
    CHECK(fabs(dmbp_spearman(a, a, 4) - 1) < 1e-12, "identity");
    CHECK(fabs(dmbp_spearman(a, r, 4) + 1) < 1e-12, "reversed: %g",
          dmbp_spearman(a, r, 4));
    /* Ranks 1, 2.5, 2.5, 4 against 1..4: 4.5 / sqrt(4.5 * 5). */
    CHECK(fabs(dmbp_spearman(t, a, 4) - 4.5 / sqrt(22.5)) < 1e-12,
          "ties: %.12f", dmbp_spearman(t, a, 4));
    /* Monotone transforms do not matter. */
    static const float e[] = {0.001f, 7, 7.5f, 1e6f}, f[] = {-3, 1, 0, 9};
    CHECK(fabs(dmbp_spearman(e, f, 4) - 0.8) < 1e-12, "monotone transform");
    CHECK(isnan(dmbp_spearman(c, a, 4)), "constant array: %g",
          dmbp_spearman(c, a, 4));
    CHECK(isnan(dmbp_spearman(a, b, 1)) && isnan(dmbp_spearman(NULL, b, 4)),
          "n < 2 or NULL: NaN");
}

static void errors(const dmbp_model *m, const float *contrib)
{
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    float curve[32], bad[HW];
    double auc, rise[2], fr[2] = {0.1, 0.2};
    memcpy(bad, contrib, sizeof bad);
    bad[5] = NAN;
#define ERR(call, want, what)                                                \
    do {                                                                     \
        dmbp_status st_ = (call);                                            \
        CHECK(st_ == (want), "%s: got %s, want %s", what,                    \
              dmbp_status_str(st_), dmbp_status_str(want));                  \
        CHECK(strstr(dmbp_last_error(), "dmbp_eval_"), "%s: message '%s'",   \
              what, dmbp_last_error());                                      \
    } while (0)
    ERR(deletion_once(NULL, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "NULL model");
    ERR(deletion_once(m, NULL, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "NULL x");
    ERR(insertion_once(m, X, 1, 4, 4, 0, NULL, &o, curve, &auc),
        DMBP_ERR_ARG, "NULL scores");
    /* NULL options are the defaults; a struct not made by the _init
     * macro (struct_size 0) is refused. */
    dmbp_eval_options raw = o;
    raw.struct_size = 0;
    ERR(deletion_once(m, X, 1, 4, 4, 0, contrib, &raw, curve, &auc),
        DMBP_ERR_ARG, "struct_size 0");
    ERR(deletion_once(m, X, 1, 4, 4, 0, contrib, &o, NULL, &auc),
        DMBP_ERR_ARG, "NULL curve");
    ERR(aopc_once(m, X, 1, 4, 4, 0, contrib, &o, curve, NULL),
        DMBP_ERR_ARG, "NULL aopc");
    ERR(deletion_once(m, X, 0, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "0 channels");
    ERR(deletion_once(m, X, 1, 4, -4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "negative width");
    ERR(deletion_once(m, X, 1, 4, 4, 2, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "target 2 of 2 classes");
    ERR(negative_once(m, X, 1, 4, 4, -1, contrib, fr, 2, &o, rise),
        DMBP_ERR_ARG, "target -1");
    ERR(deletion_once(m, X, 1, 4, 4, 0, bad, &o, curve, &auc),
        DMBP_ERR_NONFINITE, "NaN score");
    ERR(aopc_once(m, X, 1, 4, 4, 0, bad, &o, curve, &auc),
        DMBP_ERR_NONFINITE, "NaN score (aopc)");
    ERR(negative_once(m, bad, 1, 4, 4, 0, contrib, fr, 2, &o, rise),
        DMBP_ERR_NONFINITE, "NaN in x");
    /* The model takes 1 x 4 x 4. */
    ERR(deletion_once(m, X, 1, 2, 8, 0, contrib, &o, curve, &auc),
        DMBP_ERR_SHAPE, "2 x 8 image");
    o.steps = 0;
    ERR(deletion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "steps 0");
    CHECK(dmbp_eval_curve_points(&o, 4, 4) == 0, "points of steps 0");
    o.steps = 4;
    o.step_pixels = -1;
    ERR(insertion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "step_pixels -1");
    o.step_pixels = 0;
    o.deletion_substrate = (dmbp_substrate)7;
    ERR(deletion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "unknown substrate");
    ERR(negative_once(m, X, 1, 4, 4, 0, contrib, fr, 2, &o, rise),
        DMBP_ERR_ARG, "unknown substrate (negative)");
    o.deletion_substrate = DMBP_SUBSTRATE_ZERO;
    o.insertion_start = (dmbp_substrate)-1;
    ERR(insertion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "unknown insertion start");
    o.insertion_start = DMBP_SUBSTRATE_BLUR;
    o.max_lanes = 0;
    ERR(deletion_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "max_lanes 0");
    o.max_lanes = 32;
    o.region_size = 0;
    ERR(aopc_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "region_size 0");
    o.region_size = 2;
    o.regions = 0;
    ERR(aopc_once(m, X, 1, 4, 4, 0, contrib, &o, curve, &auc),
        DMBP_ERR_ARG, "regions 0");
    o.regions = 3;
    static const double bad_fr[][2] = {{0.1, 1.5}, {-0.1, 0.2}, {0.1, NAN}};
    for (int i = 0; i < 3; i++)
        ERR(negative_once(m, X, 1, 4, 4, 0, contrib, bad_fr[i], 2, &o,
                               rise),
            DMBP_ERR_ARG, "fraction outside [0, 1]");
    ERR(negative_once(m, X, 1, 4, 4, 0, contrib, fr, 0, &o, rise),
        DMBP_ERR_ARG, "no fractions");
    ERR(negative_once(m, X, 1, 4, 4, 0, contrib, NULL, 2, &o, rise),
        DMBP_ERR_ARG, "NULL fractions");
    float s[HW];
    ERR(dmbp_eval_pixel_scores(bad, 1, 4, 4, 1, s), DMBP_ERR_NONFINITE,
        "NaN map");
    ERR(dmbp_eval_pixel_scores(contrib, 1, 0, 4, 1, s), DMBP_ERR_ARG,
        "0 height map");
    ERR(dmbp_eval_pixel_scores(NULL, 1, 4, 4, 1, s), DMBP_ERR_ARG, "NULL map");
    CHECK(dmbp_eval_curve_points(&raw, 4, 4) == 0 &&
          dmbp_eval_curve_points(&o, 0, 4) == 0, "points of bad arguments");
    dmbp_eval_options def;
    dmbp_eval_options_init(&def);
    CHECK(dmbp_eval_curve_points(NULL, 4, 4) ==
              dmbp_eval_curve_points(&def, 4, 4),
          "NULL options: not the defaults' points");
#undef ERR
}

/* ---- the PyTorch reference ---------------------------------------------- */

static float *fixture(const char *slug, const char *name, int64_t *n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/ref/data/metrics/%s.%s.npy", slug, name);
    float *d;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(rel), &d, dims, &nd)) {
        CHECK(0, "%s: no %s fixture", slug, name);
        return NULL;
    }
    *n = npy_numel(dims, nd);
    return d;
}

static void compare(const char *slug, const char *what, const float *ours,
                    int n_ours, const float *ref, int64_t n_ref, int relative)
{
    CHECK(n_ours == n_ref, "%s %s: %d values, the reference %lld", slug, what,
          n_ours, (long long)n_ref);
    for (int i = 0; i < n_ours && i < n_ref; i++) {
        double tol = relative ? LOGIT_RTOL * fmax(fabs(ref[i]), 1e-2)
                              : PROB_ATOL;
        CHECK(fabs(ours[i] - ref[i]) <= tol, "%s %s[%d]: %.6f, reference "
              "%.6f", slug, what, i, ours[i], ref[i]);
    }
}

static void reference_case(const dmbp_model *m, const char *slug,
                           const char *png, int target)
{
    int64_t n, ng;
    float *x = fixture(slug, "input", &n);
    float *gxi = fixture(slug, "gxi", &ng);
    if (!x || !gxi || n != 784 || ng != 784) {
        CHECK(0, "%s: bad input/gxi fixtures", slug);
        free(x);
        free(gxi);
        return;
    }
    /* Our preprocessing gives the reference's input. */
    dmbp_preprocess_options pre;
    dmbp_image img, xi;
    if (!dmbp_model_preprocess_defaults(m, &pre) &&
        !dmbp_image_load(test_path(png), NULL, &img)) {
        if (!dmbp_image_preprocess(&img, &pre, &xi)) {
            double d = 0;
            for (int i = 0; i < 784; i++)
                d = fmax(d, fabs(xi.data[i] - x[i]));
            CHECK(d < 1e-6, "%s: input differs from the fixture by %g", slug,
                  d);
            dmbp_image_free(&xi);
        }
        dmbp_image_free(&img);
    } else {
        CHECK(0, "%s: %s", slug, dmbp_last_error());
    }
    float sc[3][784];
    static const char *const sname[3] = {"scores_pos", "scores_neg",
                                         "scores_all"};
    static const int sign[3] = {1, -1, 0};
    for (int k = 0; k < 3; k++) {
        CHECK(!dmbp_eval_pixel_scores(gxi, 1, 28, 28, sign[k], sc[k]), "%s",
              dmbp_last_error());
        int64_t ns;
        float *ref = fixture(slug, sname[k], &ns);
        if (ref && ns == 784)
            CHECK(!memcmp(ref, sc[k], sizeof sc[k]), "%s %s differ", slug,
                  sname[k]);
        free(ref);
    }
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    o.deletion_substrate = DMBP_SUBSTRATE_ZERO;
    o.insertion_start = DMBP_SUBSTRATE_BLUR;
    o.seed = 0;
    float curve[64], aucs[4];
    double auc;
    static const char *const cname[4] = {"del_s20", "ins_s20", "del_p56",
                                         "ins_p56"};
    for (int k = 0; k < 4; k++) {
        o.steps = 20;
        o.step_pixels = k < 2 ? 0 : 56;
        int pts = dmbp_eval_curve_points(&o, 28, 28);
        CHECK(pts == (k < 2 ? 21 : 15), "%s: %d points", cname[k], pts);
        dmbp_status st =
            k % 2 ? insertion_once(m, x, 1, 28, 28, target, sc[0], &o,
                                        curve, &auc)
                  : deletion_once(m, x, 1, 28, 28, target, sc[0], &o,
                                       curve, &auc);
        CHECK(!st, "%s %s: %s", slug, cname[k], dmbp_last_error());
        aucs[k] = (float)auc;
        int64_t nr;
        float *ref = fixture(slug, cname[k], &nr);
        if (!st && ref)
            compare(slug, cname[k], curve, pts, ref, nr, 0);
        free(ref);
    }
    int64_t nr;
    float *ref = fixture(slug, "aucs", &nr);
    if (ref)
        compare(slug, "aucs", aucs, 4, ref, nr, 0);
    free(ref);

    static const double fr[] = {0.05, 0.10, 0.20};
    double rise[3];
    float risef[3];
    CHECK(!negative_once(m, x, 1, 28, 28, target, sc[1], fr, 3, &o, rise),
          "%s negative: %s", slug, dmbp_last_error());
    for (int k = 0; k < 3; k++)
        risef[k] = (float)rise[k];
    ref = fixture(slug, "negative", &nr);
    if (ref)
        compare(slug, "negative", risef, 3, ref, nr, 1);
    free(ref);

    o.region_size = 9;
    o.regions = 9;
    double aopc;
    float av;
    CHECK(!aopc_once(m, x, 1, 28, 28, target, sc[2], &o, curve, &aopc),
          "%s aopc: %s", slug, dmbp_last_error());
    ref = fixture(slug, "aopc_curve", &nr);
    if (ref)
        compare(slug, "aopc_curve", curve, 10, ref, nr, 1);
    free(ref);
    av = (float)aopc;
    ref = fixture(slug, "aopc", &nr);
    if (ref)
        compare(slug, "aopc", &av, 1, ref, nr, 1);
    free(ref);
    free(x);
    free(gxi);
}

int main(void)
{
    dmbp_model *lin = tl_model("tests/ref/data/metrics/linear4x4.onnx");
    if (!lin)
        return 1;
    /* The true contributions w_i x_i, as a 1 x 4 x 4 map. */
    float contrib[HW];
    for (int i = 0; i < HW; i++)
        contrib[i] = (float)(W[i] * X[i]);
    hand_pixel_scores();
    hand_curves(lin, contrib);
    hand_optimal(lin, contrib);
    hand_negative(lin, contrib);
    hand_aopc(lin, contrib);
    hand_ties(lin);
    hand_spearman();
    errors(lin, contrib);
    dmbp_model_free(lin);

    dmbp_model *m = tl_model("models/fmnist_resnet.onnx");
    if (!m)
        return 1;
    FILE *f = fopen(test_path("tests/ref/data/metrics/cases.txt"), "r");
    int cases = 0;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char slug[128], png[256];
        int target;
        if (line[0] == '#' ||
            sscanf(line, "%127s %255s %d", slug, png, &target) != 3)
            continue;
        reference_case(m, slug, png, target);
        cases++;
    }
    if (f)
        fclose(f);
    dmbp_model_free(m);
    CHECK(cases >= 3, "only %d reference cases (tests/ref/data/metrics/"
          "cases.txt)", cases);
    printf("metrics: %d reference cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
