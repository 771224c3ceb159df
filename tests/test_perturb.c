/* Occlusion, Grad-CAM++, Score-CAM and RISE against the PyTorch references
 * of tests/ref/make_perturb_fixtures.py (tests/ref/data/perturb/cases.txt:
 * one map per line with the options that make it), on the shipped models.
 * Each map must agree within 1e-4 of its largest magnitude and with
 * Pearson correlation >= 0.9999. Also: the map is not the same under
 * other options (a test that can fail), and bad options are refused.
 * And a map does not depend on the other images of the call: each image
 * explained with two others gives the same bits as alone (occlusion took
 * f_t(x) from the call's batched logits until 0.3, and differed in the
 * last bits on evidence_cnn). */
#include "testlib.h"

#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

/* The contract. */
#define RTOL 1e-4
#define MIN_PEARSON 0.9999

static float *load(const char *cs, const char *name, int64_t *n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/ref/data/perturb/%s.%s.npy", cs, name);
    float *d;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(rel), &d, dims, &nd))
        return NULL;
    if (n)
        *n = npy_numel(dims, nd);
    return d;
}

/* Options from "key=value" words; 0 on success. */
static int apply(dmbp_explain_options *o, char *kv)
{
    char *eq = strchr(kv, '=');
    if (!eq)
        return 1;
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(kv, "window"))
        o->occlusion.window = atoi(v);
    else if (!strcmp(kv, "stride"))
        o->occlusion.stride = atoi(v);
    else if (!strcmp(kv, "baseline"))
        o->occlusion.baseline = !strcmp(v, "blur")    ? DMBP_BASELINE_BLUR
                                : !strcmp(v, "black") ? DMBP_BASELINE_BLACK
                                                      : DMBP_BASELINE_ZERO;
    else if (!strcmp(kv, "masks"))
        o->rise.masks = atoi(v);
    else if (!strcmp(kv, "grid"))
        o->rise.grid = atoi(v);
    else if (!strcmp(kv, "p"))
        o->rise.p = strtof(v, NULL);
    else if (!strcmp(kv, "seed"))
        o->rise.seed = strtoull(v, NULL, 10);
    else
        return 1;
    return 0;
}

/* The map of one fixture line; *map malloc'ed (h*w floats). */
static dmbp_status explain_map(const dmbp_model *m, const float *x, int c,
                               int h, int w, int t,
                               const dmbp_explain_options *o, float **map)
{
    dmbp_result *r;
    *map = NULL;
    dmbp_status st = explain_once(m, x, 1, c, h, w, &t, o, &r);
    if (st)
        return st;
    dmbp_tensor_view v;
    st = dmbp_result_find(r, 0, "map", &v);
    if (!st && dmbp_shape_numel(&v.shape) == (int64_t)h * w &&
        (*map = malloc((size_t)h * w * sizeof(float))))
        memcpy(*map, v.data, (size_t)h * w * sizeof(float));
    else if (!st)
        st = dmbp_set_error(DMBP_ERR_SHAPE, "map of %lld values",
                            (long long)dmbp_shape_numel(&v.shape));
    dmbp_result_free(r);
    return st;
}

static void run_line(char *line)
{
    char *save, *cs = strtok_r(line, " \n", &save);
    char *model = strtok_r(NULL, " \n", &save);
    char *ts = strtok_r(NULL, " \n", &save);
    char *name = strtok_r(NULL, " \n", &save);
    char *method = strtok_r(NULL, " \n", &save);
    if (!method) {
        CHECK(0, "bad line in cases.txt");
        return;
    }
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    CHECK(!dmbp_method_from_name(method, &o.method), "%s", dmbp_last_error());
    for (char *kv; (kv = strtok_r(NULL, " \n", &save));)
        CHECK(!apply(&o, kv), "%s %s: unknown option %s", cs, name, kv);
    dmbp_model *m;
    if (dmbp_model_load(test_path(model), &m)) {
        CHECK(0, "%s: %s", model, dmbp_last_error());
        return;
    }
    dmbp_preprocess_options pre;
    CHECK(!dmbp_model_preprocess_defaults(m, &pre), "%s", dmbp_last_error());
    o.preprocess = &pre; /* the black baseline's mean and std */
    /* A few lanes only: the patches, channels and masks run in several
     * batches, and the last is partly filled. */
    o.max_lanes = 13;
    int64_t nx, nw;
    float *x = load(cs, "input", &nx), *want = load(cs, name, &nw);
    int c = (int)dmbp_model_input_shape(m).dims[1];
    int hw = x ? (int)(nx / c) : 0, h = (int)lround(sqrt(hw)), w = h;
    float *got = NULL;
    dmbp_status st = DMBP_ERR_IO;
    if (x && want && nw == hw)
        st = explain_map(m, x, c, h, w, atoi(ts), &o, &got);
    CHECK(!st, "%s %s: %s", cs, name, st ? dmbp_last_error() : "");
    if (got) {
        double mx = 0, d = 0;
        for (int64_t i = 0; i < nw; i++) {
            mx = fmax(mx, fabs(want[i]));
            d = fmax(d, fabs((double)got[i] - want[i]));
        }
        double rho = tl_pearson(got, want, nw);
        printf("  %-16s %-22s %-10s %.2e relative, Pearson %.7f\n", cs, name,
               method, mx ? d / mx : d, rho);
        CHECK(d <= RTOL * mx, "%s %s: max |ours - torch| %.3g, max |torch| "
              "%.3g", cs, name, d, mx);
        CHECK(rho >= MIN_PEARSON, "%s %s: Pearson %.7f", cs, name, rho);
        CHECK(mx > 0, "%s %s: the reference map is zero", cs, name);
        /* Other options give another map: the comparison can fail. */
        dmbp_explain_options o2 = o;
        o2.occlusion.stride = o.occlusion.stride ? o.occlusion.stride + 1 : 3;
        o2.rise.seed = o.rise.seed + 1;
        o2.method = o.method == DMBP_METHOD_GRADCAMPP  ? DMBP_METHOD_GRADCAM
                    : o.method == DMBP_METHOD_SCORECAM ? DMBP_METHOD_GRADCAMPP
                                                       : o.method;
        float *other = NULL;
        if (!explain_map(m, x, c, h, w, atoi(ts), &o2, &other)) {
            double d2 = 0;
            for (int64_t i = 0; i < nw; i++)
                d2 = fmax(d2, fabs((double)other[i] - want[i]));
            CHECK(d2 > RTOL * mx, "%s %s: other options give the same map",
                  cs, name);
        }
        free(other);
    }
    free(got);
    free(x);
    free(want);
    dmbp_model_free(m);
}

/* Bad options: refused with DMBP_ERR_ARG (DMBP_ERR_NONFINITE for NaN). */
static void refusals(void)
{
    dmbp_model *m;
    if (dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m)) {
        CHECK(0, "%s", dmbp_last_error());
        return;
    }
    float x[28 * 28] = {0};
    static const struct {
        const char *what;
        dmbp_method method;
        int window, stride, masks, grid;
        float p;
        dmbp_status want;
    } bad[] = {
        {"window < 0", DMBP_METHOD_OCCLUSION, -1, 0, 1, 7, .5f, DMBP_ERR_ARG},
        {"stride < 0", DMBP_METHOD_OCCLUSION, 0, -2, 1, 7, .5f, DMBP_ERR_ARG},
        {"window 29", DMBP_METHOD_OCCLUSION, 29, 0, 1, 7, .5f, DMBP_ERR_ARG},
        {"masks 0", DMBP_METHOD_RISE, 0, 0, 0, 7, .5f, DMBP_ERR_ARG},
        {"grid 0", DMBP_METHOD_RISE, 0, 0, 4, 0, .5f, DMBP_ERR_ARG},
        {"grid 29", DMBP_METHOD_RISE, 0, 0, 4, 29, .5f, DMBP_ERR_ARG},
        {"p 0", DMBP_METHOD_RISE, 0, 0, 4, 7, 0.f, DMBP_ERR_ARG},
        {"p 1.5", DMBP_METHOD_RISE, 0, 0, 4, 7, 1.5f, DMBP_ERR_ARG},
        {"p NaN", DMBP_METHOD_RISE, 0, 0, 4, 7, NAN, DMBP_ERR_NONFINITE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        o.method = bad[i].method;
        o.occlusion.window = bad[i].window;
        o.occlusion.stride = bad[i].stride;
        o.rise.masks = bad[i].masks;
        o.rise.grid = bad[i].grid;
        o.rise.p = bad[i].p;
        dmbp_result *r = NULL;
        dmbp_status st = explain_once(m, x, 1, 1, 28, 28, NULL, &o, &r);
        CHECK(st == bad[i].want && !r, "%s: status %s", bad[i].what,
              dmbp_status_str(st));
        dmbp_result_free(r);
    }
    dmbp_method gpp;
    CHECK(!dmbp_method_from_name("gradcampp", &gpp) &&
              gpp == DMBP_METHOD_GRADCAMPP &&
              !strcmp(dmbp_method_name(gpp), "gradcam++"),
          "the gradcampp alias");
    dmbp_model_free(m);
}

/* Three images explained in one call, and each alone: the same bits. */
static void batch_invariance(void)
{
    dmbp_model *m;
    if (dmbp_model_load(test_path("models/evidence_cnn.onnx"), &m)) {
        CHECK(0, "evidence_cnn.onnx: %s", dmbp_last_error());
        return;
    }
    dmbp_shape in = dmbp_model_input_shape(m);
    int c = (int)in.dims[1], h = (int)in.dims[2], w = (int)in.dims[3];
    size_t per = (size_t)c * h * w;
    enum { N = 3 };
    float *x = malloc(N * per * sizeof(float));
    if (!x) {
        CHECK(0, "out of memory");
        dmbp_model_free(m);
        return;
    }
    uint64_t s = 88172645463325252ull; /* xorshift64: inputs in [-1, 2) */
    for (size_t i = 0; i < N * per; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((s >> 40) / (double)(1 << 24) * 3.0 - 1.0);
    }
    /* (method, occlusion window/stride, max_lanes): 64x64 with window 8,
     * stride 4 is 15 x 15 = 225 patches, 225 % 15 == 0 (no spare lane:
     * one pass more for f_t(x)), 225 % 13 == 4 (a spare lane). */
    static const struct { const char *method; int lanes; } cases[] = {
        {"occlusion", 15}, {"occlusion", 13}, {"rise", 13},
        {"scorecam", 13}, {"gradcam++", 13}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        CHECK(!dmbp_method_from_name(cases[k].method, &o.method), "%s",
              dmbp_last_error());
        o.max_lanes = cases[k].lanes;
        o.occlusion.window = 8;
        o.occlusion.stride = 4;
        o.rise.masks = 40;
        int t[N] = {0, 1, 2};
        dmbp_result *all = NULL;
        dmbp_status st = explain_once(m, x, N, c, h, w, t, &o, &all);
        CHECK(!st, "%s x%d: %s", cases[k].method, N,
              st ? dmbp_last_error() : "");
        for (int i = 0; !st && i < N; i++) {
            dmbp_result *one = NULL;
            st = explain_once(m, x + i * per, 1, c, h, w, &t[i], &o, &one);
            CHECK(!st, "%s alone: %s", cases[k].method,
                  st ? dmbp_last_error() : "");
            dmbp_tensor_view a, b;
            if (!st && !dmbp_result_find(all, i, "map", &a) &&
                !dmbp_result_find(one, 0, "map", &b))
                CHECK(!memcmp(a.data, b.data, (size_t)h * w * sizeof(float)),
                      "%s, max_lanes %d: image %d's map with two others "
                      "differs from its map alone", cases[k].method,
                      cases[k].lanes, i);
            dmbp_result_free(one);
        }
        dmbp_result_free(all);
    }
    free(x);
    dmbp_model_free(m);
}

int main(void)
{
    FILE *f = fopen(test_path("tests/ref/data/perturb/cases.txt"), "r");
    if (!f) {
        fprintf(stderr, "FAIL: tests/ref/data/perturb/cases.txt not found\n");
        return 1;
    }
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        run_line(line);
        lines++;
    }
    fclose(f);
    CHECK(lines >= 20, "%d fixture lines", lines);
    refusals();
    batch_invariance();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
