/* Traces of one plan (src/plan/plan.h, dmbp__plan_set_traces), the round
 * robin of path DMBP's storage: several inputs keep their forward state,
 * kept signals and masks in one plan, one bound at a time. Each trace's
 * passes must give what a plan with that input alone gives, whatever the
 * other traces did in between: a trace that shared a persistent buffer
 * with another (or the mask values) would read the other's activations.
 * Against a second plan of the same options (the same kernels, so the
 * same bits are expected; REPEAT_RTOL leaves room for a nondeterministic
 * reduction, none known). Also the refusals: a trace with no forward yet,
 * a trace past the count, and traces on a plan that runs its lanes one at
 * a time (DMBP_ERR_UNSUPPORTED), if the lanes fixture is one. */
#include "testlib.h"

#include "plan/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPEAT_RTOL 1e-6
#define N_TRACES 3

static uint64_t rng_state = 2026;
static float urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0));
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? d / s : d;
}

static void run(const char *rel, const int64_t *dims, int nd, int lanes)
{
    dmbp_model *m = tl_model(rel);
    if (!m)
        return;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.reverse = 1;
    po.shape.ndim = nd;
    for (int i = 0; i < nd; i++)
        po.shape.dims[i] = dims[i];
    po.shape.dims[0] = lanes;
    dmbp_plan *p = NULL, *q = NULL;
    if (dmbp_plan_create(m, &po, &p) || dmbp_plan_create(m, &po, &q)) {
        CHECK(0, "%s: plan: %s", rel, dmbp_last_error());
        goto out;
    }
    dmbp_shape is = dmbp_plan_input_shape(p), ls = dmbp_plan_logits_shape(p);
    int64_t ni = dmbp_shape_numel(&is), nl = dmbp_shape_numel(&ls);
    int64_t nm = (int64_t)lanes * dmbp_plan_num_masks(p);
    dmbp_status st = dmbp__plan_set_traces(p, N_TRACES);
    if (st == DMBP_ERR_UNSUPPORTED) {
        printf("%s at %d lanes: lanes one at a time, no traces (%s)\n", rel,
               lanes, dmbp_last_error());
        CHECK(strstr(dmbp_last_error(), "one at a time"), "%s: %s", rel,
              dmbp_last_error());
        goto out;
    }
    CHECK(!st, "%s: set_traces: %s", rel, dmbp_last_error());
    float *x[2], *mk[2], *w[2], *wr[2], *g = malloc(nm * sizeof *g);
    float *gr = malloc(nm * sizeof *gr), *u = malloc(nl * sizeof *u);
    float *v = malloc(ni * sizeof *v);
    for (int t = 0; t < 2; t++) {
        x[t] = malloc(ni * sizeof(float));
        w[t] = malloc(ni * sizeof(float));
        wr[t] = malloc(ni * sizeof(float));
        mk[t] = malloc(nm * sizeof(float));
        for (int64_t i = 0; i < ni; i++)
            x[t][i] = 2 * urand() - 1;
        for (int64_t i = 0; i < nm; i++)
            mk[t][i] = 0.2f + 0.8f * urand();
    }
    for (int64_t i = 0; i < nl; i++)
        u[i] = urand() - 0.5f;
    for (int64_t i = 0; i < ni; i++)
        v[i] = urand() - 0.5f;
    /* Both traces forward, both backward (other masks), then trace 0's
     * mask gradient: its kept signals and masks must be its own. */
    for (int t = 0; t < 2; t++) {
        CHECK(!dmbp__plan_use_trace(p, t), "use %d: %s", t, dmbp_last_error());
        CHECK(!dmbp_plan_forward(p, x[t], NULL), "forward %d: %s", t,
              dmbp_last_error());
    }
    for (int t = 0; t < 2; t++) {
        CHECK(!dmbp__plan_use_trace(p, t), "use %d", t);
        CHECK(!dmbp_plan_backward(p, u, mk[t], 0, w[t]), "backward %d: %s",
              t, dmbp_last_error());
    }
    CHECK(!dmbp__plan_use_trace(p, 0), "use 0");
    CHECK(!dmbp_plan_mask_grad(p, v, g), "mask_grad: %s", dmbp_last_error());
    /* Trace 1 again after trace 0's tangent: its backward still there. */
    CHECK(!dmbp__plan_use_trace(p, 1), "use 1");
    float *w1b = malloc(ni * sizeof *w1b);
    CHECK(!dmbp_plan_backward(p, u, mk[1], 0, w1b), "backward again: %s",
          dmbp_last_error());
    for (int t = 0; t < 2; t++) {
        CHECK(!dmbp_plan_forward(q, x[t], NULL), "ref forward");
        CHECK(!dmbp_plan_backward(q, u, mk[t], 0, wr[t]), "ref backward");
        if (t == 0)
            CHECK(!dmbp_plan_mask_grad(q, v, gr), "ref mask_grad");
    }
    for (int t = 0; t < 2; t++) {
        double d = rel_diff(w[t], wr[t], ni);
        CHECK(d <= REPEAT_RTOL, "%s: trace %d's mapping differs from a "
              "plan of its own by %.3g", rel, t, d);
    }
    double dg = rel_diff(g, gr, nm), d1 = rel_diff(w1b, wr[1], ni);
    CHECK(dg <= REPEAT_RTOL, "%s: trace 0's mask gradient after trace 1's "
          "backward differs by %.3g", rel, dg);
    CHECK(d1 <= REPEAT_RTOL, "%s: trace 1 after trace 0's tangent differs "
          "by %.3g", rel, d1);
    /* The third trace has run nothing; there is no fourth. */
    CHECK(!dmbp__plan_use_trace(p, 2), "use 2");
    CHECK(dmbp_plan_backward(p, u, mk[0], 0, w[0]) == DMBP_ERR_ARG,
          "%s: backward on a trace without a forward was accepted", rel);
    CHECK(dmbp__plan_use_trace(p, N_TRACES) == DMBP_ERR_ARG,
          "trace %d of %d accepted", N_TRACES, N_TRACES);
    /* Back to one trace: trace 0 bound, its state intact. */
    CHECK(!dmbp__plan_set_traces(p, 1), "set_traces 1");
    CHECK(dmbp__plan_use_trace(p, 1) == DMBP_ERR_ARG, "trace 1 after 1");
    CHECK(!dmbp_plan_backward(p, u, mk[0], 0, w1b), "backward on trace 0");
    double d0 = rel_diff(w1b, wr[0], ni);
    CHECK(d0 <= REPEAT_RTOL, "%s: trace 0 after freeing the others differs "
          "by %.3g", rel, d0);
    printf("%s at %d lanes: mappings %.2g %.2g, mask gradient %.2g\n", rel,
           lanes, rel_diff(w[0], wr[0], ni), rel_diff(w[1], wr[1], ni), dg);
    for (int t = 0; t < 2; t++) {
        free(x[t]);
        free(w[t]);
        free(wr[t]);
        free(mk[t]);
    }
    free(w1b);
    free(g);
    free(gr);
    free(u);
    free(v);
out:
    dmbp_plan_free(p);
    dmbp_plan_free(q);
    dmbp_model_free(m);
}

int main(void)
{
    int64_t fm[4] = {1, 1, 28, 28}, ev[4] = {1, 3, 64, 64};
    run("models/fmnist_vgg.onnx", fm, 4, 2);
    run("models/fmnist_resnet.onnx", fm, 4, 1);
    run("models/evidence_resnet.onnx", ev, 4, 2);
    int64_t lanes[4] = {1, 3, 32, 32};
    run("tests/ref/data/lanes/tokencat_static.onnx", lanes, 4, 2);
    printf("traces: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
