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
#include "testlib.h"

#include <dmbp.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

#define MIN_PEARSON 0.88
#define BF16_F_RTOL 0.1
/* bf16 rounds source and weights to 8 bits of mantissa (relative error
 * about 0.4 %); through three small layers the gradient keeps Pearson
 * > 0.9999 (measured), where the wrong weights gave ~0. */
#define BF16_GRAD_MIN_PEARSON 0.99

static const char *const samples[] = {"bag", "coat", "sandal", "trouser"};
#define N_SAMPLES 4

static void compare(const char *model)
{
    dmbp_model *m = tl_model(model);
    if (!m)
        return;
    char rels[N_SAMPLES][256];
    const char *files[N_SAMPLES];
    for (int i = 0; i < N_SAMPLES; i++) {
        snprintf(rels[i], sizeof rels[i], "models/samples/%s.png",
                 samples[i]);
        files[i] = rels[i];
    }
    int c = 0, h = 0, w = 0;
    float *x = tl_inputs(m, files, N_SAMPLES, &c, &h, &w);
    if (!x) {
        dmbp_model_free(m);
        return;
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
            double pa = tl_pearson(dmbp_result_array(r32, i, 2),
                                dmbp_result_array(r16, i, 2), n);
            double pn = tl_pearson(dmbp_result_array(r32, i, 3),
                                dmbp_result_array(r16, i, 3), n);
            double mp = tl_pearson(dmbp_result_masks(r32, i, 0),
                                dmbp_result_masks(r16, i, 0), nm);
            double mn = tl_pearson(dmbp_result_masks(r32, i, 1),
                                dmbp_result_masks(r16, i, 1), nm);
            double F = dmbp_result_scalar(r32, i, kf);
            double F16 = dmbp_result_scalar(r16, i, kf);
            double parts =
                fabs(tl_scalar(r32, i, "F_pos")) +
                fabs(tl_scalar(r32, i, "F_neg")) +
                fabs(tl_scalar(r32, i, "F_nuisance"));
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
    dmbp_model *m = tl_model(rel);
    if (!m)
        return;
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
            double p = tl_pearson(dmbp_result_array(r32, i, 0),
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
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    if (!m)
        return 1;
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
