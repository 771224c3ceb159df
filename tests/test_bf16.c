/* fpmath bf16 (convolutions, inner and matrix products reading bf16
 * source and weights, f32 accumulation) against float32:
 *  - on a CPU without a bf16 ISA, plan creation is refused with
 *    DMBP_ERR_UNSUPPORTED and a message naming oneDNN's ISA (then the
 *    accuracy part is skipped: exit 77 when nothing else ran);
 *  - with one, DMBP's classic preset (200 iterations: the formulation these
 *    floors were measured on; the path preset's bf16 numbers are in
 *    dmbp(1), --fpmath) on both shipped models
 *    and four samples each: the same top-1 class, A+, A- and both mask sets
 *    with Pearson >= MIN_PEARSON against float32, and
 *    |F - F_f32| <= BF16_F_RTOL (|F+| + |F-| + |Fn|).
 * Thresholds, honestly: issue #13 asks for Pearson >= 0.99. Measured on
 * all ten samples of both models (docs/performance.md) bf16 reaches it
 * for A+ and A- on 8 of 10 fmnist_resnet images and 4 of 10 fmnist_vgg
 * ones (lowest: 0.983 and 0.939, m- of VGG's last layers drifting over
 * 200 Adam steps), so 0.99 is NOT what bf16 delivers here and is not
 * tested. The bounds below are regression floors set after that
 * measurement, at about twice the worst deviation seen (1 - 0.939; F off
 * by at most 0.048 of |F+| + |F-| + |Fn|): they catch a broken bf16 path
 * (wrong layouts, missing conversion), not the size of bf16's error.
 * F is compared on the scale of its parts because F itself is a sum with
 * cancellation (|F - F_f32| / |F| reaches 1.0 on fmnist_resnet's
 * t-shirt, where F is small).
 *  - the input gradient of tests/ref/data/fc_square_op13 (a 16 x 16 fully
 *    connected layer: its bf16 copies as B and as B^T have the same md,
 *    and the plan's weight cache once handed the forward copy to the
 *    backward pass, Pearson ~0 against float32 on VGG16) within
 *    Pearson BF16_GRAD_MIN_PEARSON of float32's, image by image. */
#include "check.h"
#include "npy.h"

#include <dmbp.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

#define MIN_PEARSON 0.88
#define BF16_F_RTOL 0.1
#define TEST_SKIP 77
/* bf16 rounds source and weights to 8 bits of mantissa (relative error
 * about 0.4 %); through three small layers the gradient keeps Pearson
 * > 0.9999 (measured), where the wrong weights gave ~0. */
#define BF16_GRAD_MIN_PEARSON 0.99

static double pearson(const float *a, const float *b, int64_t n)
{
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 && sbb == 0)
        return 1;
    return sab / sqrt(saa * sbb);
}

static const char *const samples[] = {"bag", "coat", "sandal", "trouser"};
#define N_SAMPLES 4

static void compare(const char *model)
{
    dmbp_model *m;
    if (dmbp_model_load(test_path(model), &m)) {
        CHECK(0, "%s", dmbp_last_error());
        return;
    }
    dmbp_preprocess_options pre;
    CHECK(!dmbp_model_preprocess_defaults(m, &pre), "%s", dmbp_last_error());
    float *x = NULL;
    size_t per = 0;
    int c = 0, h = 0, w = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/samples/%s.png", samples[i]);
        dmbp_image img, t;
        if (dmbp_image_load(test_path(rel), NULL, &img) ||
            dmbp_image_preprocess(&img, &pre, &t)) {
            CHECK(0, "%s: %s", rel, dmbp_last_error());
            dmbp_model_free(m);
            free(x);
            return;
        }
        dmbp_image_free(&img);
        if (!x) {
            c = t.channels;
            h = t.height;
            w = t.width;
            per = (size_t)c * h * w;
            x = malloc(N_SAMPLES * per * sizeof *x);
        }
        memcpy(x + i * per, t.data, per * sizeof *x);
        dmbp_image_free(&t);
    }
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    CHECK(!dmbp_explain_preset(&o, "classic"), "%s", dmbp_last_error());
    dmbp_result *r32 = NULL, *r16 = NULL;
    CHECK(!explain_once(m, x, N_SAMPLES, c, h, w, NULL, &o, &r32), "%s f32: %s",
          model, dmbp_last_error());
    o.fpmath = DMBP_FPMATH_BF16;
    CHECK(!explain_once(m, x, N_SAMPLES, c, h, w, NULL, &o, &r16),
          "%s bf16: %s", model, dmbp_last_error());
    if (r32 && r16) {
        dmbp_shape s = dmbp_result_array_shape(r32);
        int64_t n = dmbp_shape_numel(&s), nm = dmbp_result_num_masks(r32);
        int kf = dmbp_result_find_scalar(r32, "F");
        for (int i = 0; i < N_SAMPLES; i++) {
            double pa = pearson(dmbp_result_array(r32, i, 2),
                                dmbp_result_array(r16, i, 2), n);
            double pn = pearson(dmbp_result_array(r32, i, 3),
                                dmbp_result_array(r16, i, 3), n);
            double mp = pearson(dmbp_result_masks(r32, i, 0),
                                dmbp_result_masks(r16, i, 0), nm);
            double mn = pearson(dmbp_result_masks(r32, i, 1),
                                dmbp_result_masks(r16, i, 1), nm);
            double F = dmbp_result_scalar(r32, i, kf);
            double F16 = dmbp_result_scalar(r16, i, kf);
            double parts =
                fabs(dmbp_result_scalar(r32, i, dmbp_result_find_scalar(r32, "F_pos"))) +
                fabs(dmbp_result_scalar(r32, i, dmbp_result_find_scalar(r32, "F_neg"))) +
                fabs(dmbp_result_scalar(r32, i,
                                        dmbp_result_find_scalar(r32, "F_nuisance")));
            double rel = fabs(F16 - F) / parts;
            printf("%s %-8s top-1 %d/%d  Pearson A+ %.5f A- %.5f m+ %.5f "
                   "m- %.5f  |F-F32|/parts %.2e\n", model, samples[i],
                   dmbp_result_target(r32, i), dmbp_result_target(r16, i),
                   pa, pn, mp, mn, rel);
            CHECK(dmbp_result_target(r32, i) == dmbp_result_target(r16, i),
                  "%s %s: top-1 %d (f32) vs %d (bf16)", model, samples[i],
                  dmbp_result_target(r32, i), dmbp_result_target(r16, i));
            CHECK(pa >= MIN_PEARSON && pn >= MIN_PEARSON,
                  "%s %s: A+ Pearson %.5f, A- %.5f", model, samples[i], pa,
                  pn);
            CHECK(mp >= MIN_PEARSON && mn >= MIN_PEARSON,
                  "%s %s: m+ Pearson %.5f, m- %.5f", model, samples[i], mp,
                  mn);
            CHECK(rel <= BF16_F_RTOL, "%s %s: F %.6g (f32) vs %.6g (bf16)",
                  model, samples[i], F, F16);
        }
    }
    dmbp_result_free(r32);
    dmbp_result_free(r16);
    free(x);
    dmbp_model_free(m);
}

static void compare_gradient(const char *stem)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s.onnx", stem);
    dmbp_model *m;
    if (dmbp_model_load(test_path(rel), &m)) {
        CHECK(0, "%s", dmbp_last_error());
        return;
    }
    snprintf(rel, sizeof rel, "%s.input.npy", stem);
    float *x = NULL;
    int64_t d[NPY_MAX_DIMS];
    int nd = 0;
    if (npy_read_f32(test_path(rel), &x, d, &nd) || nd != 4) {
        CHECK(0, "%s: no 4-d input", rel);
        dmbp_model_free(m);
        free(x);
        return;
    }
    int n = (int)d[0];
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_SALIENCY;
    dmbp_result *r32 = NULL, *r16 = NULL;
    CHECK(!explain_once(m, x, n, (int)d[1], (int)d[2], (int)d[3], NULL, &o,
                        &r32), "%s f32: %s", stem, dmbp_last_error());
    o.fpmath = DMBP_FPMATH_BF16;
    CHECK(!explain_once(m, x, n, (int)d[1], (int)d[2], (int)d[3], NULL, &o,
                        &r16), "%s bf16: %s", stem, dmbp_last_error());
    if (r32 && r16) {
        dmbp_shape s = dmbp_result_array_shape(r32);
        int64_t k = dmbp_shape_numel(&s);
        for (int i = 0; i < n; i++) {
            double p = pearson(dmbp_result_array(r32, i, 0),
                               dmbp_result_array(r16, i, 0), k);
            printf("%s image %d: gradient Pearson bf16 vs f32 %.6f\n", stem,
                   i, p);
            CHECK(p >= BF16_GRAD_MIN_PEARSON, "%s image %d: bf16 gradient "
                  "Pearson %.6f against f32", stem, i, p);
        }
    }
    dmbp_result_free(r32);
    dmbp_result_free(r16);
    free(x);
    dmbp_model_free(m);
}

int main(void)
{
    const char *isa = dmbp_backend_isa();
    CHECK(isa && *isa, "no ISA name");
    dmbp_model *m;
    if (dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m)) {
        CHECK(0, "%s", dmbp_last_error());
        return 1;
    }
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.fpmath = DMBP_FPMATH_BF16;
    po.reverse = 1;
    dmbp_plan *p = NULL;
    dmbp_status st = dmbp_plan_create(m, &po, &p);
    bool has_bf16 = st == DMBP_OK;
    if (!has_bf16)
        CHECK(st == DMBP_ERR_UNSUPPORTED &&
                  strstr(dmbp_last_error(), isa) &&
                  strstr(dmbp_last_error(), "bf16"),
              "bf16 refused with status %d: %s", (int)st, dmbp_last_error());
    dmbp_plan_free(p);
    dmbp_model_free(m);
    if (!has_bf16) {
        printf("bf16: oneDNN ISA %s has no bf16 kernels: refusal checked, "
               "accuracy skipped\n", isa);
        return failures ? 1 : TEST_SKIP;
    }
    compare_gradient("tests/ref/data/fc_square_op13");
    compare("models/fmnist_resnet.onnx");
    compare("models/fmnist_vgg.onnx");
    printf("bf16 (ISA %s): %d failures\n", isa, failures);
    return failures ? 1 : 0;
}
