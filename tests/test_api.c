/* The public API as a program sees it (linked against the shared library):
 * op plugins, external data, and every error class with its status. The
 * fixtures come from tests/ref/make_api_fixtures.py. */
#include "check.h"
#include "npy.h"

#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *api(const char *name)
{
    static char rel[256];
    snprintf(rel, sizeof rel, "tests/ref/data/api/%s", name);
    return test_path(rel);
}

/* Loading `name` fails with status want and a message naming the file
 * and containing `needle`. */
static void expect_load_error(const char *name, dmbp_status want,
                              const char *needle)
{
    dmbp_model *m = (dmbp_model *)1;
    dmbp_status st = dmbp_model_load(api(name), &m);
    CHECK(st == want, "%s: got %s, want %s (%s)", name, dmbp_status_str(st),
          dmbp_status_str(want), dmbp_last_error());
    CHECK(m == NULL, "%s: *out not cleared on failure", name);
    CHECK(strstr(dmbp_last_error(), name) != NULL,
          "%s: message does not name the file: %s", name, dmbp_last_error());
    CHECK(strstr(dmbp_last_error(), needle) != NULL,
          "%s: message lacks '%s': %s", name, needle, dmbp_last_error());
    dmbp_model_free(st ? NULL : m);
}

/* ScaleBy: y = k * x, k an attribute. */
static dmbp_status scale_infer(void *user, const dmbp_node *node, int n_in,
                               const dmbp_shape *in, int n_out,
                               dmbp_shape *out)
{
    (void)user;
    if (n_in != 1 || n_out != 1)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: one input, one output",
                              dmbp_node_name(node));
    out[0] = in[0];
    return DMBP_OK;
}

static dmbp_status scale_forward(void *user, const dmbp_node *node, int n_in,
                                 const dmbp_shape *in_shapes,
                                 const float *const *in, int n_out,
                                 const dmbp_shape *out_shapes,
                                 float *const *out)
{
    float k;
    dmbp_status st = dmbp_node_attr_float(node, "k", 1.f, &k);
    if (st)
        return st;
    int64_t n = dmbp_shape_numel(&in_shapes[0]);
    for (int64_t i = 0; i < n; i++)
        out[0][i] = k * in[0][i];
    ++*(int *)user;
    (void)n_in;
    (void)n_out;
    (void)out_shapes;
    return DMBP_OK;
}

static void test_custom_op(void)
{
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load(api("custom_op.onnx"), &m);
    CHECK(st == DMBP_ERR_UNSUPPORTED && strstr(dmbp_last_error(), "ScaleBy"),
          "unregistered op: %s", dmbp_last_error());
    static int calls;
    dmbp_op_def def;
    dmbp_op_def_init(&def);
    def.op_type = "ScaleBy";
    def.user = &calls;
    def.infer = scale_infer;
    def.forward = scale_forward;
    CHECK(dmbp_op_register(&def) == DMBP_OK, "register: %s",
          dmbp_last_error());
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG, "second register accepted");
    def.op_type = "Conv";
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG, "built-in op replaced");
    CHECK(strstr(dmbp_op_list(), "ScaleBy") != NULL, "op list: %s",
          dmbp_op_list());
    st = dmbp_model_load(api("custom_op.onnx"), &m);
    CHECK(!st, "load with ScaleBy: %s", dmbp_last_error());
    if (st)
        return;
    dmbp_plan *p;
    st = dmbp_plan_create(m, NULL, &p);
    CHECK(!st, "plan: %s", dmbp_last_error());
    if (!st) {
        float x[48], y[3];
        for (int i = 0; i < 48; i++)
            x[i] = (float)((i * 37) % 11) - 5.f;
        st = dmbp_plan_forward(p, x, y);
        CHECK(!st, "forward: %s", dmbp_last_error());
        for (int c = 0; c < 3 && !st; c++) {
            double s = 0;
            for (int i = 0; i < 16; i++)
                s += x[c * 16 + i] > 0 ? x[c * 16 + i] : 0;
            double want = 2.5 * s / 16;
            CHECK(fabs(y[c] - want) < 1e-5, "channel %d: %g, want %g", c,
                  y[c], want);
        }
        CHECK(calls == 1, "ScaleBy forward called %d times", calls);

        /* Bad inputs to a built plan. */
        x[5] = NAN;
        CHECK(dmbp_plan_forward(p, x, y) == DMBP_ERR_NONFINITE,
              "NaN input accepted");
        dmbp_plan_free(p);
    }
    dmbp_model_free(m);
}

static void test_external(void)
{
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load(api("external.onnx"), &m);
    CHECK(!st, "external data: %s", dmbp_last_error());
    if (st)
        return;
    float *x, *want;
    int64_t xd[NPY_MAX_DIMS], wd[NPY_MAX_DIMS];
    int xn, wn;
    if (npy_read_f32(api("external.input.npy"), &x, xd, &xn) ||
        npy_read_f32(api("external.logits.npy"), &want, wd, &wn)) {
        CHECK(0, "external fixtures missing");
        dmbp_model_free(m);
        return;
    }
    dmbp_plan *p;
    st = dmbp_plan_create(m, NULL, &p);
    CHECK(!st, "plan: %s", dmbp_last_error());
    float y[3], out[3];
    if (!st) {
        st = dmbp_plan_output(p, out);
        CHECK(st == DMBP_ERR_ARG, "output before forward accepted");
        st = dmbp_plan_forward(p, x, y);
        CHECK(!st, "forward: %s", dmbp_last_error());
        for (int c = 0; c < 3; c++)
            CHECK(fabs(y[c] - want[c]) <= 1e-5 * (1 + fabs(want[c])),
                  "external conv channel %d: %g vs torch %g", c, y[c],
                  want[c]);
        CHECK(!dmbp_plan_output(p, out) && !memcmp(out, y, sizeof y),
              "output differs from logits without softmax");
        dmbp_plan_free(p);
    }
    /* Wrong input size. */
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.height = 5;
    st = dmbp_plan_create(m, &po, &p);
    CHECK(st == DMBP_ERR_SHAPE, "height 5 for a 4x4 model: %s",
          dmbp_status_str(st));
    po.height = 0;
    po.batch = 0;
    st = dmbp_plan_create(m, &po, &p);
    CHECK(st == DMBP_ERR_ARG, "batch 0: %s", dmbp_status_str(st));
    free(x);
    free(want);
    dmbp_model_free(m);
}

static void test_memory_and_misc(void)
{
    static const char garbage[] = "this is not a protobuf \xff\xff\xff\xff";
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load_memory(garbage, sizeof garbage, "junk",
                                            NULL, &m);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(), "junk"),
          "garbage bytes: %s %s", dmbp_status_str(st), dmbp_last_error());
    st = dmbp_model_load("/nonexistent/model.onnx", &m);
    CHECK(st == DMBP_ERR_IO && strstr(dmbp_last_error(), "/nonexistent"),
          "missing file: %s", dmbp_last_error());
    CHECK(dmbp_model_load(NULL, &m) == DMBP_ERR_ARG, "NULL path");
    CHECK(strcmp(dmbp_status_str(DMBP_ERR_SHAPE), "DMBP_ERR_SHAPE") == 0,
          "status name");
    CHECK(dmbp_version()[0] >= '0' && dmbp_version()[0] <= '9', "version");
    dmbp_model_free(NULL);
    dmbp_plan_free(NULL);
    dmbp_image_free(NULL);

    float l[4] = {1, 2, 3, 1000}, p[4];
    dmbp_softmax(l, 4, p);
    CHECK(fabs(p[3] - 1) < 1e-6 && p[0] >= 0 && isfinite(p[0]),
          "softmax of a large logit");
}

static void test_shipped_defaults(void)
{
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m);
    CHECK(!st, "shipped model: %s", dmbp_last_error());
    if (st)
        return;
    dmbp_preprocess_options o;
    CHECK(!dmbp_model_preprocess_defaults(m, &o), "defaults");
    CHECK(o.channels == 1 && o.resize == 28 && o.crop == 28 &&
          fabsf(o.mean[0] - 0.2860f) < 1e-6f &&
          fabsf(o.std[0] - 0.3530f) < 1e-6f,
          "metadata defaults: ch %d resize %d crop %d mean %g std %g",
          o.channels, o.resize, o.crop, o.mean[0], o.std[0]);
    CHECK(dmbp_model_num_classes(m) == 10, "classes");
    CHECK(dmbp_model_label(m, 9) && !strcmp(dmbp_model_label(m, 9),
                                            "Ankle boot"),
          "label 9: %s", dmbp_model_label(m, 9));
    CHECK(dmbp_model_label(m, 10) == NULL, "label past the end");
    dmbp_model_free(m);
}

int main(void)
{
    expect_load_error("unsupported_op.onnx", DMBP_ERR_UNSUPPORTED, "Selu");
    expect_load_error("nan_weight.onnx", DMBP_ERR_NONFINITE, "NaN");
    expect_load_error("int8_weight.onnx", DMBP_ERR_UNSUPPORTED, "INT8");
    expect_load_error("truncated.onnx", DMBP_ERR_FORMAT, "");
    expect_load_error("external_escape.onnx", DMBP_ERR_FORMAT, "leaves");
    test_custom_op();
    test_external();
    test_memory_and_misc();
    test_shipped_defaults();
    printf("api: %d failures\n", failures);
    return failures ? 1 : 0;
}
