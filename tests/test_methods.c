/* Every gradient method and the reverse engine against the PyTorch
 * reference of tests/ref/make_grad_fixtures.py (cases in
 * tests/ref/data/grad/cases.txt): saliency, gradient x input, integrated
 * gradients (all four rules), SmoothGrad (same generator and seeds),
 * guided backprop, Grad-CAM, masked mappings W(m) and mask gradients
 * (autograd double-backward), and the adjoint pair. Arrays must agree
 * within 1e-4 of their largest magnitude. */
#include "testlib.h"

#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

/* The contract: relative 1e-4. */
#define RTOL 1e-4

static float *load(const char *cs, const char *name, int64_t *n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/ref/data/grad/%s.%s.npy", cs, name);
    FILE *probe = fopen(test_path(rel), "rb"); /* optional arrays */
    if (!probe)
        return NULL;
    fclose(probe);
    float *d;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(rel), &d, dims, &nd))
        return NULL;
    if (n)
        *n = npy_numel(dims, nd);
    return d;
}

/* max |a - b| <= (RTOL + extra) * max |b|. */
static void compare_tol(const char *cs, const char *what, const float *got,
                        const float *want, int64_t n, double extra)
{
    double mx = 0, d = 0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(want[i]));
        d = fmax(d, fabs((double)got[i] - want[i]));
    }
    CHECK(d <= (RTOL + extra) * mx, "%s %s: max |ours - torch| %.3g, max "
          "|torch| %.3g (%.2g relative)", cs, what, d, mx, mx ? d / mx : d);
    printf("  %-22s %.2e relative\n", what, mx ? d / mx : d);
}

static void compare(const char *cs, const char *what, const float *got,
                    const float *want, int64_t n)
{
    compare_tol(cs, what, got, want, n, 0);
}

static void explain_one(const dmbp_model *m, const char *cs, const float *x,
                        int c, int h, int w, int target,
                        const dmbp_explain_options *o, const char *what,
                        const float *want, int64_t n, double *gap,
                        double extra)
{
    dmbp_result *r;
    dmbp_status st = explain_once(m, x, 1, c, h, w, &target, o, &r);
    CHECK(!st, "%s %s: %s", cs, what, dmbp_last_error());
    if (st)
        return;
    CHECK(dmbp_result_target(r, 0) == target, "%s %s: target", cs, what);
    dmbp_shape s = dmbp_result_array_shape(r);
    CHECK(dmbp_shape_numel(&s) == n, "%s %s: %lld values, fixture %lld", cs,
          what, (long long)dmbp_shape_numel(&s), (long long)n);
    if (dmbp_shape_numel(&s) == n)
        compare_tol(cs, what, dmbp_result_array(r, 0, 0), want, n, extra);
    if (gap)
        *gap = dmbp_result_scalar(r, 0, 0);
    dmbp_result_free(r);
}

static void ig_case(const dmbp_model *m, const char *cs, const float *x, int c,
                    int h, int w, int t, const char *rule_name,
                    dmbp_ig_rule rule, int steps)
{
    char name[64];
    snprintf(name, sizeof name, "ig_%s%d", rule_name, steps);
    int64_t n;
    float *want = load(cs, name, &n);
    if (!want)
        return;
    char sname[80];
    snprintf(sname, sizeof sname, "%s_stats", name);
    float *stats = load(cs, sname, NULL);
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_IG;
    o.ig.rule = rule;
    o.ig.steps = steps;
    double gap = NAN;
    /* stats[4]: how far float32 itself is from the exact integral on this
     * path (a point within rounding of a ReLU kink); two float32 codes may
     * each be that far off, in different directions. */
    double cond = stats ? stats[4] : 0;
    if (cond > RTOL)
        printf("  (%s: float32 vs float64 differ by %.2g on this path)\n",
               name, cond);
    explain_one(m, cs, x, c, h, w, t, &o, name, want, n, &gap, 2 * cond);
    if (stats) {
        /* stats: f(x), f(x0), sum IG, gap; the gap is a difference of
         * numbers of the size of f. */
        double scale = fabs(stats[0]) + fabs(stats[1]) + fabs(stats[2]);
        CHECK(fabs(gap - stats[3]) <= RTOL * scale, "%s %s: completeness "
              "gap %.6g, torch %.6g", cs, name, gap, stats[3]);
    }
    free(want);
    free(stats);
}

static void run_case(const char *cs, const char *model_rel, int image,
                     int target)
{
    printf("%s\n", cs);
    dmbp_model *m = tl_model(model_rel);
    if (!m)
        return;
    int64_t nx;
    float *x = load(cs, "input", &nx);
    if (!x) {
        CHECK(0, "%s: no input", cs);
        dmbp_model_free(m);
        return;
    }
    dmbp_shape in = dmbp_model_input_shape(m);
    int c = (int)in.dims[1];
    int hw = (int)(nx / c), h, w;
    /* Square inputs in every fixture unless the model says otherwise. */
    h = in.dims[2] ? (int)in.dims[2] : (int)lround(sqrt(hw));
    w = hw / h;
    dmbp_explain_options o;
    int64_t n;
    float *want;

    if ((want = load(cs, "grad", &n))) {
        dmbp_explain_options_init(&o);
        o.method = DMBP_METHOD_SALIENCY;
        explain_one(m, cs, x, c, h, w, target, &o, "saliency", want, n, NULL, 0);
        for (int64_t i = 0; i < n; i++)
            want[i] *= x[i];
        o.method = DMBP_METHOD_GXI;
        explain_one(m, cs, x, c, h, w, target, &o, "gxi", want, n, NULL, 0);
        free(want);
    }
    if ((want = load(cs, "guided", &n))) {
        dmbp_explain_options_init(&o);
        o.method = DMBP_METHOD_GUIDED;
        explain_one(m, cs, x, c, h, w, target, &o, "guided", want, n, NULL, 0);
        free(want);
    }
    static const struct {
        const char *name;
        dmbp_ig_rule rule;
    } rules[] = {{"midpoint", DMBP_IG_MIDPOINT},
                 {"trapezoid", DMBP_IG_TRAPEZOID},
                 {"left", DMBP_IG_LEFT},
                 {"right", DMBP_IG_RIGHT}};
    for (int k = 0; k < 4; k++) {
        ig_case(m, cs, x, c, h, w, target, rules[k].name, rules[k].rule, 32);
        ig_case(m, cs, x, c, h, w, target, rules[k].name, rules[k].rule, 8);
    }
    for (int g = 0; g < 2; g++) {
        if (!(want = load(cs, g ? "smoothgrad_grad" : "smoothgrad", &n)))
            continue;
        dmbp_explain_options_init(&o);
        o.method = DMBP_METHOD_SMOOTHGRAD;
        o.smoothgrad.samples = 8;
        o.smoothgrad.sigma = 0.15f;
        o.smoothgrad.seed = 7 + (uint64_t)image; /* the fixture's stream */
        o.smoothgrad.of_gradient = g;
        explain_one(m, cs, x, c, h, w, target, &o,
                    g ? "smoothgrad (grad)" : "smoothgrad", want, n, NULL, 0);
        free(want);
    }
    if ((want = load(cs, "gradcam", &n))) {
        dmbp_explain_options_init(&o);
        o.method = DMBP_METHOD_GRADCAM;
        explain_one(m, cs, x, c, h, w, target, &o, "gradcam", want, n, NULL, 0);
        free(want);
    }

    /* Masked mapping, mask gradient and the adjoint pair. */
    int64_t nk, nv, nj;
    float *masks = load(cs, "masks", &nk), *V = load(cs, "mask_V", &nv);
    float *W = load(cs, "mask_W", NULL), *dldm = load(cs, "mask_dldm", NULL);
    float *u = load(cs, "adj_u", &nj), *JTu = load(cs, "adj_JTu", NULL);
    float *Jv = load(cs, "adj_Jv", NULL);
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.reverse = 1;
    po.height = h;
    po.width = w;
    dmbp_plan *p = NULL;
    if (masks && V && W && dldm && u && JTu && Jv &&
        !dmbp_plan_create(m, &po, &p)) {
        CHECK(dmbp_plan_num_masks(p) == nk, "%s: %lld masks, fixture %lld",
              cs, (long long)dmbp_plan_num_masks(p), (long long)nk);
        float *got = malloc(nv * sizeof *got), *g = malloc(nk * sizeof *g);
        float *seed = calloc((size_t)nj, sizeof *seed), *jv = malloc(nj * 4);
        seed[target] = 1;
        if (dmbp_plan_num_masks(p) == nk && !dmbp_plan_forward(p, x, NULL)) {
            CHECK(!dmbp_plan_backward(p, seed, masks, 0, got), "backward");
            compare(cs, "W(m)", got, W, nv);
            CHECK(!dmbp_plan_mask_grad(p, V, g), "mask grad");
            compare(cs, "dl/dm", g, dldm, nk);
            CHECK(!dmbp_plan_backward(p, u, NULL, 0, got), "backward u");
            compare(cs, "J^T u", got, JTu, nv);
            CHECK(!dmbp_plan_tangent(p, V, NULL, jv), "tangent");
            compare(cs, "J v", jv, Jv, nj);
        }
        free(got);
        free(g);
        free(seed);
        free(jv);
    } else {
        CHECK(0, "%s: mask fixtures or plan missing: %s", cs,
              dmbp_last_error());
    }
    dmbp_plan_free(p);
    free(masks); free(V); free(W); free(dldm); free(u); free(JTu); free(Jv);
    free(x);
    dmbp_model_free(m);
}

int main(void)
{
    FILE *f = fopen(test_path("tests/ref/data/grad/cases.txt"), "r");
    if (!f) {
        fprintf(stderr, "FAIL: tests/ref/data/grad/cases.txt not found\n");
        return 1;
    }
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char cs[128], model[256];
        int image, target;
        if (sscanf(line, "%127s %255s %d %d", cs, model, &image, &target) != 4)
            continue;
        run_case(cs, model, image, target);
        cases++;
    }
    fclose(f);
    CHECK(cases >= 6, "only %d cases", cases);
    printf("methods: %d cases, %d checks, %d failures\n", cases, checks,
           failures);
    return failures ? 1 : 0;
}
