/* LRP against the PyTorch reference of tests/ref/lrp_torch.py
 * (tests/ref/data/lrp/cases.txt: one map per line) on the shipped models,
 * every composite. Each map must agree within 1e-4 of its largest
 * magnitude, plus twice the reference's own float32 distance from float64
 * (cond: LRP's small-epsilon divisions cancel on the residual models, see
 * lrp_torch.py), with Pearson correlation >= 0.9999; the conservation
 * scalar likewise. Also: another composite gives another map (a test that
 * can fail), bad options and a model with an op without a rule are
 * refused. */
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
/* How many float32 distances (cond) the tolerance adds. */
#define COND_FACTOR 2

static float *load(const char *cs, const char *name, int64_t *n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/ref/data/lrp/%s.%s.npy", cs, name);
    float *d;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(rel), &d, dims, &nd))
        return NULL;
    if (n)
        *n = npy_numel(dims, nd);
    return d;
}

/* The map (count values) and conservation of one run; *map malloc'ed. */
static dmbp_status lrp_map(const dmbp_model *m, const float *x, int c, int h,
                           int w, int t, const dmbp_explain_options *o,
                           int64_t count, float **map, double *cons)
{
    dmbp_result *r;
    *map = NULL;
    dmbp_status st = explain_once(m, x, 1, c, h, w, &t, o, &r);
    if (st)
        return st;
    dmbp_tensor_view v;
    st = dmbp_result_find(r, 0, "map", &v);
    if (!st && dmbp_shape_numel(&v.shape) == count &&
        (*map = malloc((size_t)count * sizeof(float))))
        memcpy(*map, v.data, (size_t)count * sizeof(float));
    else if (!st)
        st = dmbp_set_error(DMBP_ERR_SHAPE, "map of %lld values",
                            (long long)dmbp_shape_numel(&v.shape));
    int k = dmbp_result_find_scalar(r, "conservation");
    if (!st && k < 0)
        st = dmbp_set_error(DMBP_ERR_ARG, "no conservation scalar");
    if (!st)
        *cons = dmbp_result_scalar(r, 0, k);
    dmbp_result_free(r);
    return st;
}

static void run_line(char *line, int *composites_seen)
{
    char *save, *cs = strtok_r(line, " \n", &save);
    char *model = strtok_r(NULL, " \n", &save);
    char *ts = strtok_r(NULL, " \n", &save);
    char *comp = strtok_r(NULL, " \n", &save);
    char *es = strtok_r(NULL, " \n", &save);
    char *gs = strtok_r(NULL, " \n", &save);
    char *name = strtok_r(NULL, " \n", &save);
    char *conss = strtok_r(NULL, " \n", &save);
    char *conds = strtok_r(NULL, " \n", &save);
    char *condcs = strtok_r(NULL, " \n", &save);
    if (!condcs) {
        CHECK(0, "bad line in cases.txt");
        return;
    }
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_LRP;
    CHECK(!dmbp_lrp_composite_from_name(comp, &o.lrp.composite), "%s",
          dmbp_last_error());
    *composites_seen |= 1 << o.lrp.composite;
    o.lrp.epsilon = strtof(es, NULL);
    o.lrp.gamma = strtof(gs, NULL);
    dmbp_model *m;
    if (dmbp_model_load(test_path(model), &m)) {
        CHECK(0, "%s: %s", model, dmbp_last_error());
        return;
    }
    dmbp_preprocess_options pre;
    CHECK(!dmbp_model_preprocess_defaults(m, &pre), "%s", dmbp_last_error());
    o.preprocess = &pre; /* zbox's bounds */
    int64_t nx, nw;
    float *x = load(cs, "input", &nx), *want = load(cs, name, &nw);
    int c = (int)dmbp_model_input_shape(m).dims[1];
    int hw = x ? (int)(nx / c) : 0, h = (int)lround(sqrt(hw)), w = h;
    float *got = NULL;
    double cons = NAN;
    dmbp_status st = DMBP_ERR_IO;
    if (x && want && nw == nx)
        st = lrp_map(m, x, c, h, w, atoi(ts), &o, nw, &got, &cons);
    CHECK(!st, "%s %s: %s", cs, name, st ? dmbp_last_error() : "");
    if (got) {
        double mx = 0, d = 0, cond = atof(conds), cond_c = atof(condcs);
        double want_c = atof(conss);
        for (int64_t i = 0; i < nw; i++) {
            mx = fmax(mx, fabs(want[i]));
            d = fmax(d, fabs((double)got[i] - want[i]));
        }
        double rho = tl_pearson(got, want, nw);
        double tol = RTOL + COND_FACTOR * cond;
        double tol_c = (RTOL + COND_FACTOR * cond_c) * fmax(1, fabs(want_c));
        printf("  %-17s %-30s %.2e relative (tolerance %.1e), Pearson "
               "%.7f, conservation %.6g (torch %.6g)\n", cs, name,
               mx ? d / mx : d, tol, rho, cons, want_c);
        CHECK(d <= tol * mx, "%s %s: max |ours - torch| %.3g, max |torch| "
              "%.3g", cs, name, d, mx);
        CHECK(rho >= MIN_PEARSON, "%s %s: Pearson %.7f", cs, name, rho);
        CHECK(mx > 0, "%s %s: the reference map is zero", cs, name);
        CHECK(fabs(cons - want_c) <= tol_c, "%s %s: conservation %.9g, torch "
              "%.9g", cs, name, cons, want_c);
        /* Another composite gives another map: the comparison can fail. */
        dmbp_explain_options o2 = o;
        o2.lrp.composite = o.lrp.composite == DMBP_LRP_COMPOSITE_EPSILON
                               ? DMBP_LRP_COMPOSITE_EPSILON_PLUS
                               : DMBP_LRP_COMPOSITE_EPSILON;
        float *other = NULL;
        double cons2;
        if (!lrp_map(m, x, c, h, w, atoi(ts), &o2, nw, &other, &cons2)) {
            double d2 = 0;
            for (int64_t i = 0; i < nw; i++)
                d2 = fmax(d2, fabs((double)other[i] - want[i]));
            CHECK(d2 > tol * mx, "%s %s: composite %s gives the same map", cs,
                  name, dmbp_lrp_composite_name(o2.lrp.composite));
        }
        free(other);
    }
    free(got);
    free(x);
    free(want);
    dmbp_model_free(m);
}

/* Bad options, and a model with an op that has no rule. */
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
        int composite;
        float epsilon, gamma;
        dmbp_status want;
    } bad[] = {
        {"epsilon 0", 0, 0.f, .25f, DMBP_ERR_ARG},
        {"epsilon < 0", 0, -1e-3f, .25f, DMBP_ERR_ARG},
        {"epsilon NaN", 0, NAN, .25f, DMBP_ERR_NONFINITE},
        {"gamma < 0", 0, 1e-6f, -1.f, DMBP_ERR_ARG},
        {"gamma inf", 0, 1e-6f, INFINITY, DMBP_ERR_NONFINITE},
        {"composite 99", 99, 1e-6f, .25f, DMBP_ERR_ARG},
        {"composite -1", -1, 1e-6f, .25f, DMBP_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        o.method = DMBP_METHOD_LRP;
        o.lrp.composite = (dmbp_lrp_composite)bad[i].composite;
        o.lrp.epsilon = bad[i].epsilon;
        o.lrp.gamma = bad[i].gamma;
        dmbp_result *r = NULL;
        dmbp_status st = explain_once(m, x, 1, 1, 28, 28, NULL, &o, &r);
        CHECK(st == bad[i].want && !r, "%s: status %s", bad[i].what,
              dmbp_status_str(st));
        dmbp_result_free(r);
    }
    dmbp_model_free(m);
    dmbp_lrp_composite c;
    CHECK(dmbp_lrp_composite_from_name("epsilon-plus-flat", &c) == DMBP_OK &&
              c == DMBP_LRP_COMPOSITE_EPSILON_PLUS_FLAT &&
              !strcmp(dmbp_lrp_composite_name(c), "epsilon-plus-flat"),
          "composite names");
    CHECK(dmbp_lrp_composite_from_name("zennit", &c) == DMBP_ERR_ARG,
          "an unknown composite name");
    dmbp_method lm;
    CHECK(!dmbp_method_from_name("lrp", &lm) && lm == DMBP_METHOD_LRP,
          "method name lrp");
    /* ConvNeXt's LayerNorm and GELU (Erf, Mul) have no rule. */
    const char *cx = "tests/ref/data/convnext_tiny_small_op13.onnx";
    if (dmbp_model_load(test_path(cx), &m)) {
        CHECK(0, "%s: %s", cx, dmbp_last_error());
        return;
    }
    dmbp_shape is = dmbp_model_input_shape(m);
    int ic = (int)is.dims[1], ih = (int)is.dims[2], iw = (int)is.dims[3];
    float *img = calloc((size_t)ic * ih * iw, sizeof(float));
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_LRP;
    dmbp_result *r = NULL;
    dmbp_status st = img ? explain_once(m, img, 1, ic, ih, iw, NULL, &o, &r)
                         : DMBP_ERR_NOMEM;
    printf("  refused: %s\n", dmbp_last_error());
    CHECK(st == DMBP_ERR_UNSUPPORTED && !r &&
              strstr(dmbp_last_error(), "LRP has no rule for op"),
          "ConvNeXt: status %s, %s", dmbp_status_str(st), dmbp_last_error());
    dmbp_result_free(r);
    free(img);
    dmbp_model_free(m);
}

int main(void)
{
    FILE *f = fopen(test_path("tests/ref/data/lrp/cases.txt"), "r");
    if (!f) {
        fprintf(stderr, "FAIL: tests/ref/data/lrp/cases.txt not found\n");
        return 1;
    }
    char line[512];
    int lines = 0, seen = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        run_line(line, &seen);
        lines++;
    }
    fclose(f);
    CHECK(lines >= 30, "%d fixture lines", lines);
    CHECK(seen == (1 << 6) - 1, "every composite has fixtures (0x%x)", seen);
    refusals();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
