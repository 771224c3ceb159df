/* Ground-truth metrics (dmbp_eval_truth*): every expected value is worked
 * out by hand in the comment beside it. */
#include <dmbp.h>
#include <dmbp_eval.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-9)

static void test_signed_maps(void)
{
    /* Two channels whose sums are
     *    2 -1  0
     *    0  3 -2
     *    1  0 -1
     * ch0 = sum + 1, ch1 = -1 everywhere: per-channel clamping would see
     * positive values at every pixel; summing first does not. */
    static const float sum[9] = {2, -1, 0, 0, 3, -2, 1, 0, -1};
    float map[18], pos[9], neg[9];
    for (int i = 0; i < 9; i++) {
        map[i] = sum[i] + 1;
        map[9 + i] = -1;
    }
    CHECK(dmbp_eval_truth_maps(map, 2, 3, 3, pos, neg) == DMBP_OK,
          "truth_maps: %s", dmbp_last_error());
    static const float want_pos[9] = {2, 0, 0, 0, 3, 0, 1, 0, 0};
    static const float want_neg[9] = {0, 1, 0, 0, 0, 2, 0, 0, 1};
    for (int i = 0; i < 9; i++) {
        CHECK(pos[i] == want_pos[i], "pos[%d] = %g, want %g", i, pos[i],
              want_pos[i]);
        CHECK(neg[i] == want_neg[i], "neg[%d] = %g, want %g", i, neg[i],
              want_neg[i]);
    }
    CHECK(dmbp_eval_truth_maps(map, 2, 3, 3, pos, NULL) == DMBP_OK,
          "neg may be NULL");

    /* truth  1 2 0 / 0 1 2 / 0 0 0 */
    static const uint8_t truth[9] = {1, 2, 0, 0, 1, 2, 0, 0, 0};
    dmbp_truth_scores s;
    dmbp_truth_scores_init(&s);
    CHECK(dmbp_eval_truth(pos, truth, 3, 3, DMBP_TRUTH_FOR, 0, &s) ==
              DMBP_OK, "truth(pos): %s", dmbp_last_error());
    /* mass: (2 + 3) / (2 + 3 + 1); rank: the top 2 (3 and 2) are both in
     * the mask; pointing: the maximum (3, centre) is in it. */
    CHECK(NEAR(s.mass_accuracy, 5.0 / 6), "pos mass %g", s.mass_accuracy);
    CHECK(NEAR(s.rank_accuracy, 1.0), "pos rank %g", s.rank_accuracy);
    CHECK(s.pointing == 1.0, "pos pointing %g", s.pointing);

    CHECK(dmbp_eval_truth(neg, truth, 3, 3, DMBP_TRUTH_AGAINST, 0, &s) ==
              DMBP_OK, "truth(neg): %s", dmbp_last_error());
    /* mass: (1 + 2) / 4. rank, k = 2: the 2 (in the mask) is first; the
     * second place goes to one of two tied 1s, one inside (index 1) and
     * one outside (index 8): 1 + 1/2 hits of 2 = 0.75. pointing: the 2. */
    CHECK(NEAR(s.mass_accuracy, 0.75), "neg mass %g", s.mass_accuracy);
    CHECK(NEAR(s.rank_accuracy, 0.75), "neg rank %g", s.rank_accuracy);
    CHECK(s.pointing == 1.0, "neg pointing %g", s.pointing);

    /* No pixel has value 3: nothing to find, every score NaN. */
    CHECK(dmbp_eval_truth(pos, truth, 3, 3, 3, 0, &s) == DMBP_OK, "empty");
    CHECK(isnan(s.mass_accuracy) && isnan(s.rank_accuracy) &&
              isnan(s.pointing), "empty mask: %g %g %g", s.mass_accuracy,
          s.rank_accuracy, s.pointing);
}

static void test_pointing_tolerance(void)
{
    /* 8x8, the only evidence at (0,0); the mask is the one pixel (2,2),
     * at distance sqrt(8) = 2.83: a miss within 2 pixels, a hit within 3. */
    float e[64] = {0};
    uint8_t t[64] = {0};
    e[0] = 1;
    t[2 * 8 + 2] = 1;
    dmbp_truth_scores s;
    dmbp_truth_scores_init(&s);
    CHECK(dmbp_eval_truth(e, t, 8, 8, 1, 2, &s) == DMBP_OK, "tol 2");
    CHECK(s.pointing == 0.0, "tol 2: pointing %g, want 0", s.pointing);
    /* All the mass outside; the single top pixel outside. */
    CHECK(NEAR(s.mass_accuracy, 0) && NEAR(s.rank_accuracy, 0),
          "outside: mass %g rank %g", s.mass_accuracy, s.rank_accuracy);
    CHECK(dmbp_eval_truth(e, t, 8, 8, 1, 3, &s) == DMBP_OK, "tol 3");
    CHECK(s.pointing == 1.0, "tol 3: pointing %g, want 1", s.pointing);
    /* Near the border: the window is clipped, not read out of bounds. */
    e[0] = 0;
    e[63] = 2;
    t[7 * 8 + 5] = 1; /* (7,5), distance 2 from (7,7) */
    CHECK(dmbp_eval_truth(e, t, 8, 8, 1, 2, &s) == DMBP_OK, "border");
    CHECK(s.pointing == 1.0, "border: pointing %g, want 1", s.pointing);
    CHECK(dmbp_eval_truth(e, t, 8, 8, 1, 1, &s) == DMBP_OK, "border");
    CHECK(s.pointing == 0.0, "border tol 1: pointing %g, want 0",
          s.pointing);
}

static void test_zeros_and_ties(void)
{
    dmbp_truth_scores s;
    dmbp_truth_scores_init(&s);
    /* A map of zeros found nothing: 0, 0, 0. */
    float zero[4] = {0};
    uint8_t t[4] = {0, 0, 0, 2};
    CHECK(dmbp_eval_truth(zero, t, 2, 2, 2, 4, &s) == DMBP_OK, "zeros");
    CHECK(s.mass_accuracy == 0 && s.rank_accuracy == 0 && s.pointing == 0,
          "zeros: %g %g %g", s.mass_accuracy, s.rank_accuracy, s.pointing);

    /* A constant map, the mask one pixel (1,1) of 4: mass 1/4; rank: 4
     * tied for the single place, 1 inside: 1/4; pointing: the first
     * maximum is (0,0), sqrt(2) from (1,1): a miss within 1, a hit
     * within 2. */
    float ones[4] = {1, 1, 1, 1};
    CHECK(dmbp_eval_truth(ones, t, 2, 2, 2, 1, &s) == DMBP_OK, "ties");
    CHECK(NEAR(s.mass_accuracy, 0.25), "ties mass %g", s.mass_accuracy);
    CHECK(NEAR(s.rank_accuracy, 0.25), "ties rank %g", s.rank_accuracy);
    CHECK(s.pointing == 0.0, "ties pointing tol 1 %g", s.pointing);
    CHECK(dmbp_eval_truth(ones, t, 2, 2, 2, 2, &s) == DMBP_OK, "ties");
    CHECK(s.pointing == 1.0, "ties pointing tol 2 %g", s.pointing);

    /* Fewer pixels with evidence than the mask has: 3 mask pixels, one
     * of them the only evidence: mass 1, rank 1/3 (zeros never count). */
    float one[6] = {0, 0.5f, 0, 0, 0, 0};
    uint8_t t3[6] = {1, 1, 1, 0, 0, 0};
    CHECK(dmbp_eval_truth(one, t3, 2, 3, 1, 0, &s) == DMBP_OK, "few");
    CHECK(NEAR(s.mass_accuracy, 1.0), "few mass %g", s.mass_accuracy);
    CHECK(NEAR(s.rank_accuracy, 1.0 / 3), "few rank %g", s.rank_accuracy);
    CHECK(s.pointing == 1.0, "few pointing %g", s.pointing);
}

static void test_split(void)
{
    /* c = 2, 1 x 2 pixels. A+: ch0 (1, -1), ch1 (2, 3): clamped per
     * channel, pos = (1 + 2, 0 + 3) = (3, 3). A-: ch0 (-1, 2), ch1
     * (-0.5, -1): neg = (1 + 0.5, 0 + 1) = (1.5, 1). */
    const float ap[4] = {1, -1, 2, 3}, an[4] = {-1, 2, -0.5f, -1};
    float pos[2], neg[2];
    CHECK(dmbp_eval_truth_maps_split(ap, an, 2, 1, 2, pos, neg) == DMBP_OK,
          "split: %s", dmbp_last_error());
    CHECK(pos[0] == 3 && pos[1] == 3, "split pos %g %g", pos[0], pos[1]);
    CHECK(neg[0] == 1.5f && neg[1] == 1, "split neg %g %g", neg[0], neg[1]);
}

static void test_errors(void)
{
    dmbp_truth_scores s;
    dmbp_truth_scores_init(&s);
    float e[4] = {0, 1, -0.5f, 0};
    uint8_t t[4] = {1, 0, 0, 0};
    CHECK(dmbp_eval_truth(e, t, 2, 2, 1, 0, &s) == DMBP_ERR_ARG,
          "negative evidence accepted");
    e[2] = NAN;
    CHECK(dmbp_eval_truth(e, t, 2, 2, 1, 0, &s) == DMBP_ERR_NONFINITE,
          "NaN accepted");
    e[2] = 0;
    CHECK(dmbp_eval_truth(e, t, 2, 2, 1, -1, &s) == DMBP_ERR_ARG,
          "tolerance -1 accepted");
    CHECK(dmbp_eval_truth(e, t, 2, 2, 256, 0, &s) == DMBP_ERR_ARG,
          "value 256 accepted");
    CHECK(dmbp_eval_truth(e, t, 0, 2, 1, 0, &s) == DMBP_ERR_ARG,
          "height 0 accepted");
    CHECK(dmbp_eval_truth(NULL, t, 2, 2, 1, 0, &s) == DMBP_ERR_ARG,
          "NULL accepted");
    float pos[4];
    float bad[4] = {0, INFINITY, 0, 0};
    CHECK(dmbp_eval_truth_maps(bad, 1, 2, 2, pos, NULL) ==
              DMBP_ERR_NONFINITE, "infinity accepted");
    CHECK(dmbp_eval_truth_maps_split(e, NULL, 1, 2, 2, pos, pos) ==
              DMBP_ERR_ARG, "NULL a_neg accepted");
}

/* dmbp_eval_aopc_points: R + 1 with R = min(regions, tiles). */
static void test_aopc_points(void)
{
    dmbp_eval_options o;
    dmbp_eval_options_init(&o);
    o.region_size = 9;
    o.regions = 20;
    /* 28 x 28 in tiles of 9: ceil(28 / 9) = 4 across and down, 16 < 20. */
    CHECK(dmbp_eval_aopc_points(&o, 28, 28) == 17, "28x28: %d, want 17",
          dmbp_eval_aopc_points(&o, 28, 28));
    o.regions = 5;
    CHECK(dmbp_eval_aopc_points(&o, 28, 28) == 6, "5 regions");
    /* 9 x 10: 1 x 2 tiles. */
    CHECK(dmbp_eval_aopc_points(&o, 9, 10) == 3, "9x10: %d, want 3",
          dmbp_eval_aopc_points(&o, 9, 10));
    o.region_size = 0;
    CHECK(dmbp_eval_aopc_points(&o, 28, 28) == 0, "region_size 0");
}

/* dmbp_eval_truth_load on the shipped evidence truth: without resize or
 * crop each output byte is the file's value (read back here as the 8-bit
 * sample, value x 255); a 16-bit truth and a size mismatch are refused. */
static void test_truth_load(void)
{
    const char *top = getenv("top_srcdir");
    char path[4096], wide[4096];
    snprintf(path, sizeof path, "%s/models/evidence/test_00000.truth.png",
             top ? top : ".");
    snprintf(wide, sizeof wide,
             "%s/tests/ref/data/truth16/test_00000.truth.png",
             top ? top : ".");
    dmbp_image t = {0};
    if (dmbp_image_load(path, NULL, &t) != DMBP_OK) {
        CHECK(0, "%s: %s", path, dmbp_last_error());
        return;
    }
    dmbp_preprocess_options pre;
    dmbp_preprocess_options_init(&pre);
    pre.resize = 0;
    pre.crop = 0;
    int h = t.height, w = t.width;
    uint8_t *out = malloc((size_t)h * w);
    CHECK(dmbp_eval_truth_load(path, h, w, &pre, h, w, out) == DMBP_OK,
          "load: %s", dmbp_last_error());
    int counts[3] = {0, 0, 0}, bad = 0;
    for (int p = 0; p < h * w; p++) {
        int v = (int)lround(t.data[p] * 255.0);
        bad += out[p] != v;
        if (v >= 0 && v < 3)
            counts[v]++;
    }
    CHECK(bad == 0, "%d pixels differ from the file", bad);
    CHECK(counts[1] > 0 && counts[2] > 0, "no for/against pixels: %d %d",
          counts[1], counts[2]);
    CHECK(dmbp_eval_truth_load(path, h + 1, w, &pre, h, w, out) ==
              DMBP_ERR_SHAPE, "another size than the image");
    CHECK(dmbp_eval_truth_load(wide, h, w, &pre, h, w, out) ==
              DMBP_ERR_FORMAT && strstr(dmbp_last_error(), "16-bit"),
          "16-bit truth: %s", dmbp_last_error());
    free(out);
    dmbp_image_free(&t);
}

int main(void)
{
    test_aopc_points();
    test_truth_load();
    test_signed_maps();
    test_pointing_tolerance();
    test_zeros_and_ties();
    test_split();
    test_errors();
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures != 0;
}
