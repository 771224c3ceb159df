/* The modern CNN families of issue #7 through the attribution methods:
 * each case of tests/ref/data/modern/cases.txt (reduced-width copies of
 * torchvision's MobileNetV3-small, EfficientNet-B0, RegNetY-400MF,
 * ShuffleNetV2, MNASNet, ConvNeXt-tiny at opsets 13 and 17 and GoogLeNet,
 * made by tests/ref/make_modern_fixtures.py) gives a model, two input
 * images and, for image 0 and PyTorch's top class, autograd's gradient x
 * input. The logits of the whole batch are tests/test_forward's job and the
 * adjoint identities tests/test_reverse's; here, on image 0:
 *  - gradient x input (dmbp_explain, method gxi) against PyTorch's, and the
 *    target's logit against PyTorch's;
 *  - a short DMBP run: it completes with finite arrays, its loss
 *    decreases, F+ + F- + Fn = F, and F (= sum of W(1) x, W(1) being the
 *    gradient of the frozen linearisation) equals the sum of PyTorch's
 *    gradient x input.
 * `tests/test_modern CASE` runs one case. */
#include "testlib.h"

#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

/* Logit of the target, relative to the largest |logit| of the image: the
 * contract of tests/test_forward (float32 sums in another order). */
#define LOGIT_RTOL 1e-4
/* Gradient x input, largest |ours - torch| relative to the largest
 * |torch|: the contract of tests/test_methods. Backward sums hundreds of
 * float32 terms per value through 20-60 layers in an order other than
 * PyTorch's; measured worst case over these models is about 1e-6. */
#define GXI_RTOL 1e-4
/* ... and as a correlation, the parity sweep's criterion
 * (tests/ref/torchvision_parity.py), here with a margin of 10x. */
#define GXI_MIN_PEARSON 0.9999
/* F against the sum of PyTorch's gradient x input, relative to
 * sum |gradient x input|: the same float32 reassociation, summed. */
#define F_RTOL 1e-4
/* F+ + F- + Fn = F holds by construction (Fn is defined as the rest);
 * what is left is float32 rounding of 3 x 64 x 64 terms: test_dmbp's
 * bound. */
#define SUM_RTOL 1e-5
/* A short run: enough for Adam (lr 0.05) to move the loss measurably,
 * short enough to keep the whole test at a few seconds. */
#define DMBP_ITERS 30

static int all_finite(const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

static float *read_npy(const char *fmt, const char *cs, int64_t *dims,
                       int *nd)
{
    char rel[512];
    snprintf(rel, sizeof rel, fmt, cs);
    float *d = NULL;
    if (npy_read_f32(test_path(rel), &d, dims, nd))
        return NULL;
    return d;
}

/* Gradient x input and the target's logit against PyTorch. */
static void check_gxi(const char *cs, const dmbp_model *m, const float *x,
                      const int64_t *xd, int target, const float *logits,
                      int64_t classes, const float *want, int64_t n)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_GXI;
    dmbp_result *r = NULL;
    if (explain_once(m, x, 1, (int)xd[1], (int)xd[2], (int)xd[3], &target,
                     &o, &r)) {
        CHECK(0, "%s: gxi: %s", cs, dmbp_last_error());
        return;
    }
    double lmax = 0;
    for (int64_t c = 0; c < classes; c++)
        lmax = fmax(lmax, fabs(logits[c]));
    double dl = fabs((double)dmbp_result_logit(r, 0) - logits[target]);
    CHECK(dl <= LOGIT_RTOL * lmax, "%s: logit of class %d: ours %.7g, "
          "torch %.7g", cs, target, dmbp_result_logit(r, 0), logits[target]);
    dmbp_shape s = dmbp_result_array_shape(r);
    CHECK(dmbp_shape_numel(&s) == n, "%s: gxi has %lld values, fixture %lld",
          cs, (long long)dmbp_shape_numel(&s), (long long)n);
    if (dmbp_shape_numel(&s) == n) {
        const float *got = dmbp_result_array(r, 0, 0);
        double scale = 0, d = 0;
        for (int64_t i = 0; i < n; i++) {
            scale = fmax(scale, fabs(want[i]));
            d = fmax(d, fabs((double)got[i] - want[i]));
        }
        double pr = tl_pearson(got, want, n);
        CHECK(scale > 0, "%s: degenerate fixture (gxi all zero)", cs);
        CHECK(d <= GXI_RTOL * scale, "%s: gxi max |ours - torch| %.3g, "
              "%.2g of the largest", cs, d, d / scale);
        CHECK(pr >= GXI_MIN_PEARSON, "%s: gxi Pearson %.7f", cs, pr);
        printf("%-30s gxi %.2g of max, Pearson %.8f; ", cs, d / scale, pr);
    }
    dmbp_result_free(r);
}

/* A short DMBP run on image 0. */
static void check_dmbp(const char *cs, const dmbp_model *m, const float *x,
                       const int64_t *xd, int target, const float *gxi,
                       int64_t n)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    /* The classic formulation: its F is the sum of gradient x input, which
     * is what torch's reference gives (the path default's F is IG's). */
    CHECK(!dmbp_explain_preset(&o, "classic"), "%s", dmbp_last_error());
    o.dmbp.iterations = DMBP_ITERS;
    dmbp_result *r = NULL;
    if (explain_once(m, x, 1, (int)xd[1], (int)xd[2], (int)xd[3], &target,
                     &o, &r)) {
        CHECK(0, "%s: dmbp: %s", cs, dmbp_last_error());
        return;
    }
    dmbp_shape s = dmbp_result_array_shape(r);
    for (int k = 0; k < dmbp_result_num_arrays(r); k++)
        CHECK(all_finite(dmbp_result_array(r, 0, k), dmbp_shape_numel(&s)),
              "%s: dmbp %s not finite", cs, dmbp_result_array_name(r, k));
    CHECK(tl_scalar(r, 0, "iterations") == DMBP_ITERS, "%s: %g iterations", cs,
          tl_scalar(r, 0, "iterations"));
    const float *c = dmbp_result_loss_curve(r, 0);
    CHECK(c[DMBP_ITERS - 1] < c[0], "%s: loss %g -> %g did not decrease", cs,
          c[0], c[DMBP_ITERS - 1]);
    double F = tl_scalar(r, 0, "F"), Fp = tl_scalar(r, 0, "F_pos"),
           Fm = tl_scalar(r, 0, "F_neg"), Fn = tl_scalar(r, 0, "F_nuisance");
    CHECK(fabs(Fp + Fm + Fn - F) <=
              SUM_RTOL * (fabs(Fp) + fabs(Fm) + fabs(Fn) + fabs(F)),
          "%s: F+ + F- + Fn = %.9g, F = %.9g", cs, Fp + Fm + Fn, F);
    double sum = 0, abs_sum = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += gxi[i];
        abs_sum += fabs(gxi[i]);
    }
    CHECK(fabs(F - sum) <= F_RTOL * abs_sum, "%s: F %.7g, sum of torch's "
          "gradient x input %.7g", cs, F, sum);
    printf("dmbp loss %.4g -> %.4g, |F - torch| %.2g of sum|gxi|\n", c[0],
           c[DMBP_ITERS - 1], fabs(F - sum) / abs_sum);
    dmbp_result_free(r);
}

static void run_case(const char *cs, int target)
{
    char rel[512];
    int64_t xd[NPY_MAX_DIMS], ld[NPY_MAX_DIMS], gd[NPY_MAX_DIMS];
    int xn, ln, gn;
    float *x = read_npy("tests/ref/data/%s.input.npy", cs, xd, &xn);
    float *logits = read_npy("tests/ref/data/%s.logits.npy", cs, ld, &ln);
    float *gxi = read_npy("tests/ref/data/modern/%s.gxi.npy", cs, gd, &gn);
    dmbp_model *m = NULL;
    CHECK(x && logits && gxi, "%s: fixture files missing", cs);
    if (!x || !logits || !gxi)
        goto out;
    CHECK(xn == 4 && ln == 2 && target >= 0 && target < ld[1] &&
              npy_numel(gd, gn) == xd[1] * xd[2] * xd[3],
          "%s: fixture shapes", cs);
    if (xn != 4 || ln != 2 || target < 0 || target >= ld[1] ||
        npy_numel(gd, gn) != xd[1] * xd[2] * xd[3])
        goto out;
    snprintf(rel, sizeof rel, "tests/ref/data/%s.onnx", cs);
    if (!(m = tl_model(rel)))
        goto out;
    int64_t n = npy_numel(gd, gn);
    check_gxi(cs, m, x, xd, target, logits, ld[1], gxi, n);
    check_dmbp(cs, m, x, xd, target, gxi, n);
out:
    dmbp_model_free(m);
    free(x);
    free(logits);
    free(gxi);
}

int main(int argc, char **argv)
{
    FILE *f = fopen(test_path("tests/ref/data/modern/cases.txt"), "r");
    CHECK(f, "tests/ref/data/modern/cases.txt missing");
    int cases = 0;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char cs[128];
        int target;
        if (line[0] == '#' || sscanf(line, "%127s %d", cs, &target) != 2)
            continue;
        if (argc > 1 && strcmp(argv[1], cs))
            continue;
        run_case(cs, target);
        cases++;
    }
    if (f)
        fclose(f);
    /* The seven families of the issue, ConvNeXt at two opsets. */
    if (argc <= 1)
        CHECK(cases >= 8, "only %d cases in tests/ref/data/modern/cases.txt",
              cases);
    printf("modern: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
