/* DMBP (dmbp-method.md section 3) as a program sees it:
 *  - against the autograd reference of tests/ref/make_dmbp_fixtures.py
 *    (same init, same Adam, same iterations): masks and maps with Pearson
 *    correlation >= 0.999, final loss within 1e-3 relative;
 *  - F+ + F- + Fn = F to float precision; the loss decreases;
 *  - the same call twice is bitwise identical;
 *  - bad options are clear errors; the progress callback can stop it. */
#include "testlib.h"

#include <dmbp.h>

#include <math.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

/* The contract. */
#define MIN_PEARSON 0.999
#define LOSS_RTOL 1e-3
/* F+ + F- + Fn = F: sums of ~1e3 float32 terms. */
#define SUM_RTOL 1e-5

static float *fixture(const char *cs, const char *name, int64_t *n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/ref/data/dmbp/%s.%s.npy", cs, name);
    float *d;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(rel), &d, dims, &nd))
        return NULL;
    *n = npy_numel(dims, nd);
    return d;
}

static void reference_case(const char *cs, const char *model, const char *png,
                           int iters, int samples, float sigma,
                           unsigned long long seed, const char *preset,
                           int path, int fix_negative)
{
    dmbp_model *m = tl_model(model);
    if (!m)
        return;
    dmbp_image x;
    if (tl_input(m, png, &x)) {
        dmbp_model_free(m);
        return;
    }
    int64_t nin;
    float *xin = fixture(cs, "input", &nin);
    if (xin) {
        /* Our preprocessing must give the reference's input. */
        double d = 0;
        for (int64_t i = 0; i < nin; i++)
            d = fmax(d, fabs(xin[i] - x.data[i]));
        CHECK(d < 1e-6, "%s: input differs from the fixture by %g", cs, d);
        free(xin);
    }
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    CHECK(!dmbp_explain_preset(&o, preset), "preset %s", preset);
    o.dmbp.iterations = iters;
    o.dmbp.samples = samples;
    o.dmbp.sigma = sigma;
    o.dmbp.seed = seed;
    o.dmbp.path_steps = path;
    o.dmbp_fix_negative = fix_negative;
    dmbp_result *r;
    dmbp_status st = explain_once(m, x.data, 1, x.channels, x.height, x.width,
                                  NULL, &o, &r);
    CHECK(!st, "%s: %s", cs, dmbp_last_error());
    if (!st) {
        static const char *const arrays[] = {"w_pos", "w_neg", "a_pos",
                                             "a_neg", "nuisance"};
        printf("%s\n", cs);
        for (int k = 0; k < 5; k++) {
            int64_t n;
            float *want = fixture(cs, arrays[k], &n);
            if (!want) {
                CHECK(0, "%s: no %s fixture", cs, arrays[k]);
                continue;
            }
            double pr = tl_pearson(dmbp_result_array(r, 0, k), want, n);
            CHECK(pr >= MIN_PEARSON, "%s %s: Pearson %.6f", cs, arrays[k],
                  pr);
            printf("  %-10s Pearson %.6f\n", arrays[k], pr);
            free(want);
        }
        for (int s = 0; s < 2; s++) {
            int64_t n;
            float *want = fixture(cs, s ? "m_neg" : "m_pos", &n);
            if (!want) {
                CHECK(0, "%s: no mask fixture", cs);
                continue;
            }
            double pr = tl_pearson(dmbp_result_masks(r, 0, s), want, n);
            CHECK(pr >= MIN_PEARSON, "%s %s: Pearson %.6f", cs,
                  s ? "m-" : "m+", pr);
            printf("  %-10s Pearson %.6f\n", s ? "m-" : "m+", pr);
            free(want);
        }
        int64_t nf;
        float *fin = fixture(cs, "final", &nf);
        if (fin && nf >= 6) {
            double ours = tl_scalar(r, 0, "loss"), ref = fin[5];
            CHECK(fabs(ours - ref) <= LOSS_RTOL * fabs(ref),
                  "%s: final loss %.6g, reference %.6g", cs, ours, ref);
            printf("  final loss %.6g, reference %.6g (%.2e relative)\n",
                   ours, ref, fabs(ours - ref) / fabs(ref));
        } else {
            CHECK(0, "%s: no final-values fixture", cs);
        }
        free(fin);
        dmbp_result_free(r);
    }
    dmbp_image_free(&x);
    dmbp_model_free(m);
}

static int stop_after(void *user, int first, int n, int it, int iters,
                      double loss)
{
    (void)first;
    (void)n;
    (void)iters;
    (void)loss;
    return it >= *(int *)user;
}

/* The convergence stop (options tol, tol_window), two images batched:
 *  - each stops exactly where the rule first holds on its own loss curve
 *    (checked here from the curve, by hand);
 *  - the maps equal, bit for bit, a run of that many iterations without
 *    the stop (a stopped image's masks are where its last loss was
 *    measured);
 *  - a batched image stops where it stops alone (lanes are independent). */
#define TOL_TEST 0.01f
#define TOL_WINDOW_TEST 5
static void convergence_stop(const dmbp_model *m, const float *two,
                             const dmbp_image *a)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    /* The classic preset's 200 iterations leave room for a stop to show
     * (the path default's 25 end before a 0.01 change is reached). */
    CHECK(!dmbp_explain_preset(&o, "classic"), "%s", dmbp_last_error());
    o.dmbp.tol = TOL_TEST;
    o.dmbp.tol_window = TOL_WINDOW_TEST;
    dmbp_result *r = NULL, *full = NULL, *alone = NULL;
    CHECK(!explain_once(m, two, 2, a->channels, a->height, a->width, NULL,
                        &o, &r), "tol: %s", dmbp_last_error());
    if (!r)
        return;
    size_t per = (size_t)a->channels * a->height * a->width;
    int iters_max = dmbp_result_num_iterations(r);
    for (int i = 0; i < 2; i++) {
        int used = (int)tl_scalar(r, i, "iterations");
        CHECK(used >= TOL_WINDOW_TEST && used < iters_max,
              "image %d: tol %g stopped after %d of %d iterations", i,
              (double)TOL_TEST, used, iters_max);
        if (used < TOL_WINDOW_TEST || used >= iters_max)
            continue;
        const float *c = dmbp_result_loss_curve(r, i);
        for (int k = TOL_WINDOW_TEST; k <= used; k++) {
            bool met = fabs((double)c[k] - c[k - TOL_WINDOW_TEST]) <=
                       TOL_TEST * fabs((double)c[k - TOL_WINDOW_TEST]);
            CHECK(met == (k == used), "image %d: rule %s at iteration %d "
                  "(stopped at %d)", i, met ? "met" : "not met", k, used);
        }
        for (int k = used + 1; k < iters_max; k++)
            CHECK(c[k] == 0, "image %d: loss after the stop", i);
        dmbp_explain_options f;
        dmbp_explain_options_init(&f);
        CHECK(!dmbp_explain_preset(&f, "classic"), "%s", dmbp_last_error());
        f.dmbp.iterations = used;
        f.max_lanes = 2;
        CHECK(!explain_once(m, two + i * per, 1, a->channels, a->height,
                            a->width, NULL, &f, &full), "%s",
              dmbp_last_error());
        o.max_lanes = 2;
        CHECK(!explain_once(m, two + i * per, 1, a->channels, a->height,
                            a->width, NULL, &o, &alone), "%s",
              dmbp_last_error());
        if (full && alone) {
            dmbp_shape s = dmbp_result_array_shape(r);
            size_t n = (size_t)dmbp_shape_numel(&s);
            for (int k = 0; k < dmbp_result_num_arrays(r); k++)
                CHECK(!memcmp(dmbp_result_array(r, i, k),
                              dmbp_result_array(full, 0, k),
                              n * sizeof(float)),
                      "image %d array %d: stopped run differs from %d "
                      "iterations", i, k, used);
            CHECK(tl_scalar(alone, 0, "iterations")
                      == used, "image %d alone stops elsewhere", i);
        }
        dmbp_result_free(full);
        dmbp_result_free(alone);
        full = alone = NULL;
        dmbp_explain_options_init(&o);
        CHECK(!dmbp_explain_preset(&o, "classic"), "%s", dmbp_last_error());
        o.dmbp.tol = TOL_TEST;
        o.dmbp.tol_window = TOL_WINDOW_TEST;
    }
    dmbp_result_free(r);
}

/* dmbp_fix_negative: the negative set stays at its contribution-sign start
 * (every m- is sigmoid(+-init_logit), and equal after 1 and after 6
 * iterations) while the positive set learns; without it m- moves. */
static void fix_negative(dmbp_model *m, const dmbp_image *a)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    dmbp_result *r[3] = {NULL, NULL, NULL};
    static const int iters[3] = {1, 6, 6}, fixed[3] = {1, 1, 0};
    for (int k = 0; k < 3; k++) {
        o.dmbp.iterations = iters[k];
        o.dmbp_fix_negative = fixed[k];
        CHECK(!explain_once(m, a->data, 1, a->channels, a->height, a->width,
                            NULL, &o, &r[k]),
              "fix_negative %d, %d iterations: %s", fixed[k], iters[k],
              dmbp_last_error());
    }
    if (r[0] && r[1] && r[2]) {
        int64_t nm = dmbp_result_num_masks(r[0]);
        const float *n1 = dmbp_result_masks(r[0], 0, 1);
        const float *n6 = dmbp_result_masks(r[1], 0, 1);
        const float *p1 = dmbp_result_masks(r[0], 0, 0);
        const float *p6 = dmbp_result_masks(r[1], 0, 0);
        const float *free6 = dmbp_result_masks(r[2], 0, 1);
        float hi = 1.f / (1.f + expf(-o.dmbp.init_logit));
        float lo = 1.f / (1.f + expf(o.dmbp.init_logit));
        int64_t off_start = 0, moved = 0, pos_moved = 0;
        for (int64_t q = 0; q < nm; q++) {
            off_start += fabsf(n6[q] - hi) > 1e-6f && fabsf(n6[q] - lo) > 1e-6f;
            moved += fabsf(free6[q] - n6[q]) > 1e-4f;
            pos_moved += fabsf(p6[q] - p1[q]) > 1e-4f;
        }
        CHECK(!memcmp(n1, n6, (size_t)nm * sizeof *n1) && off_start == 0,
              "fixed m-: %lld of %lld masks off the start values",
              (long long)off_start, (long long)nm);
        CHECK(pos_moved > 0 && moved > 0,
              "m+ learns (%lld moved) and m- learns without the option "
              "(%lld moved)", (long long)pos_moved, (long long)moved);
    }
    for (int k = 0; k < 3; k++)
        dmbp_result_free(r[k]);
    o.dmbp_fix_negative = 2;
    dmbp_result *bad = NULL;
    CHECK(explain_once(m, a->data, 1, a->channels, a->height, a->width, NULL,
                       &o, &bad) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "dmbp_fix_negative"),
          "dmbp_fix_negative 2");
}

/* A struct that ends before dmbp_path_refresh (a program built against
 * 0.2) gets the default preset's round robin and fixed negative set when
 * its copies and start are the default's, and 0 for both otherwise,
 * whatever the bytes past its struct_size hold: its maps equal a full
 * struct's with the same fields and those values. */
static void old_struct(dmbp_model *m, const dmbp_image *a)
{
    size_t cut = offsetof(dmbp_explain_options, dmbp_path_refresh);
    for (int k = 0; k < 2; k++) {
        dmbp_explain_options o, full;
        dmbp_explain_options_init(&full);
        if (k == 1 && dmbp_explain_preset(&full, "path"))
            CHECK(0, "preset path");
        full.dmbp.iterations = 3;
        o = full;
        o.struct_size = cut;
        /* Past struct_size: what the library must not read. */
        o.dmbp_path_refresh = k ? 1 : 0;
        o.dmbp_fix_negative = k ? 1 : 0;
        dmbp_result *r1 = NULL, *r2 = NULL;
        dmbp_status s1 = explain_once(m, a->data, 1, 1, 28, 28, NULL, &o,
                                      &r1);
        dmbp_status s2 = explain_once(m, a->data, 1, 1, 28, 28, NULL, &full,
                                      &r2);
        CHECK(!s1 && !s2, "old struct: %s", dmbp_last_error());
        if (!s1 && !s2)
            CHECK(tl_same_result(r1, r2), "a 0.2-sized struct with the %s "
                  "preset's fields differs from the full struct's",
                  k ? "path" : "default");
        dmbp_result_free(r1);
        dmbp_result_free(r2);
    }
}

static void properties(void)
{
    dmbp_model *m = tl_model("models/fmnist_resnet.onnx");
    if (!m)
        return;
    dmbp_image a, b;
    if (tl_input(m, "models/samples/coat.png", &a)) {
        dmbp_model_free(m);
        return;
    }
    if (tl_input(m, "models/samples/sandal.png", &b)) {
        dmbp_image_free(&a);
        dmbp_model_free(m);
        return;
    }
    size_t per = (size_t)a.channels * a.height * a.width;
    float *two = malloc(2 * per * sizeof *two);
    memcpy(two, a.data, per * sizeof *two);
    memcpy(two + per, b.data, per * sizeof *two);
    fix_negative(m, &a);
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.dmbp.iterations = 60;
    dmbp_result *r1 = NULL, *r2 = NULL, *r3 = NULL;
    CHECK(!explain_once(m, two, 2, a.channels, a.height, a.width, NULL, &o,
                        &r1), "two images: %s", dmbp_last_error());
    CHECK(!explain_once(m, two, 2, a.channels, a.height, a.width, NULL, &o,
                        &r2), "again: %s", dmbp_last_error());
    if (r1 && r2) {
        dmbp_shape s = dmbp_result_array_shape(r1);
        size_t n = (size_t)dmbp_shape_numel(&s);
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < dmbp_result_num_arrays(r1); k++)
                CHECK(!memcmp(dmbp_result_array(r1, i, k),
                              dmbp_result_array(r2, i, k), n * sizeof(float)),
                      "image %d array %d differs between two runs", i, k);
        for (int i = 0; i < 2; i++) {
            const float *c = dmbp_result_loss_curve(r1, i);
            CHECK(c[59] < c[0], "image %d: loss %g -> %g did not decrease", i,
                  c[0], c[59]);
            double F = tl_scalar(r1, i, "F");
            double Fp = tl_scalar(r1, i, "F_pos");
            double Fm = tl_scalar(r1, i, "F_neg");
            double Fn = tl_scalar(r1, i, "F_nuisance");
            CHECK(fabs(Fp + Fm + Fn - F) <= SUM_RTOL * (fabs(Fp) + fabs(Fm) +
                                                       fabs(Fn) + fabs(F)),
                  "image %d: F+ + F- + Fn = %.9g, F = %.9g", i, Fp + Fm + Fn,
                  F);
            double f = tl_scalar(r1, i, "f");
            double bias = tl_scalar(r1, i, "bias");
            CHECK(fabs(f - F - bias) <= 1e-5 * (fabs(f) + fabs(F)),
                  "bias part");
        }
        /* Two images batched = each alone (independent problems). */
        o.max_lanes = 2;
        CHECK(!explain_once(m, two + per, 1, a.channels, a.height, a.width,
                            NULL, &o, &r3), "alone: %s", dmbp_last_error());
        if (r3) {
            dmbp_shape s3 = dmbp_result_array_shape(r3);
            double pr = tl_pearson(dmbp_result_array(r3, 0, 2),
                                dmbp_result_array(r1, 1, 2),
                                dmbp_shape_numel(&s3));
            CHECK(pr > 0.99999, "image alone vs batched: Pearson %.7f", pr);
        }
    }
    dmbp_result_free(r1);
    dmbp_result_free(r2);
    dmbp_result_free(r3);

    /* Early stop. */
    int stop = 7;
    dmbp_explain_options_init(&o);
    o.dmbp.progress = stop_after;
    o.dmbp.progress_user = &stop;
    dmbp_result *r = NULL;
    CHECK(!explain_once(m, a.data, 1, a.channels, a.height, a.width, NULL, &o,
                        &r), "early stop: %s", dmbp_last_error());
    if (r)
        CHECK(tl_scalar(r, 0, "iterations") == 7, "stopped after %g iterations",
              tl_scalar(r, 0, "iterations"));
    dmbp_result_free(r);

    convergence_stop(m, two, &a);

    /* Bad options. */
    dmbp_explain_options_init(&o);
    o.dmbp.tol = -0.5f;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) == DMBP_ERR_ARG
          && strstr(dmbp_last_error(), "tol"), "negative tol");
    o.dmbp.tol = NAN;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) ==
              DMBP_ERR_NONFINITE && strstr(dmbp_last_error(), "tol"),
          "NaN tol");
    dmbp_explain_options_init(&o);
    o.dmbp.tol_window = -1;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) == DMBP_ERR_ARG
          && strstr(dmbp_last_error(), "tol_window"), "negative tol_window");
    dmbp_explain_options_init(&o);
    o.dmbp.iterations = -1;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) == DMBP_ERR_ARG
          && strstr(dmbp_last_error(), "iterations"), "negative iterations");
    dmbp_explain_options_init(&o);
    o.dmbp.w_sign = NAN;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) ==
              DMBP_ERR_NONFINITE && strstr(dmbp_last_error(), "w_sign"),
          "NaN weight");
    dmbp_explain_options_init(&o);
    o.dmbp_path_refresh = -1;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) == DMBP_ERR_ARG
          && strstr(dmbp_last_error(), "dmbp_path_refresh"),
          "negative dmbp_path_refresh");
    dmbp_explain_options_init(&o);
    /* The default (path-evidence): the round robin, the negative set
     * fixed, the evidence term; path-rr learns both sets without it;
     * path clears both. */
    CHECK(o.dmbp_path_refresh == DMBP_RR_REFRESH && o.dmbp_fix_negative == 1 &&
              o.dmbp.path_steps == DMBP_RR_STEPS &&
              o.dmbp.iterations == DMBP_RR_ITERATIONS &&
              o.dmbp.mask_init == DMBP_MASK_INIT_CONTRIBUTION &&
              o.dmbp.w_evidence == DMBP_PATH_EVIDENCE_WEIGHT,
          "the default preset is path-evidence");
    CHECK(!dmbp_explain_preset(&o, "path-rr") &&
              o.dmbp_path_refresh == DMBP_RR_REFRESH &&
              o.dmbp_fix_negative == 0 && o.dmbp.w_evidence == 0 &&
              !dmbp_explain_preset(&o, "path") && o.dmbp_path_refresh == 0 &&
              o.dmbp.path_steps == DMBP_PATH_STEPS &&
              !dmbp_explain_preset(&o, "dmbp") && o.dmbp_fix_negative == 1 &&
              !dmbp_explain_preset(&o, "classic") && o.dmbp_fix_negative == 0,
          "presets path-rr, path, dmbp, classic: round robin and fixed set");
    CHECK(dmbp_explain_preset(&o, "nope") == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "nope"), "unknown preset");
    old_struct(m, &a);
    dmbp_explain_options_init(&o);
    o.dmbp.lr = 0;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, NULL, &o, &r) == DMBP_ERR_ARG,
          "lr 0");
    dmbp_explain_options_init(&o);
    int bad_target = 10;
    CHECK(explain_once(m, a.data, 1, 1, 28, 28, &bad_target, &o, &r) ==
              DMBP_ERR_ARG, "target 10 of 10 classes");
    free(two);
    dmbp_image_free(&a);
    dmbp_image_free(&b);
    dmbp_model_free(m);
}

int main(void)
{
    properties();
    FILE *f = fopen(test_path("tests/ref/data/dmbp/cases.txt"), "r");
    int cases = 0;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char cs[128], model[256], png[256], preset[64];
        int iters, samples, path = 0, fix_negative = 0;
        float sigma;
        unsigned long long seed;
        if (sscanf(line, "%127s %255s %255s %d %d %f %llu %63s %d %d", cs,
                   model, png, &iters, &samples, &sigma, &seed, preset, &path,
                   &fix_negative) < 8)
            continue;
        reference_case(cs, model, png, iters, samples, sigma, seed, preset,
                       path, fix_negative);
        cases++;
    }
    if (f)
        fclose(f);
    CHECK(cases >= 4, "only %d reference cases (tests/ref/data/dmbp/"
          "cases.txt)", cases);
    printf("dmbp: %d reference cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
