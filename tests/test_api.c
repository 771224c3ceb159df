/* The public API as a program sees it (linked against the shared library):
 * op plugins, external data, and every error class with its status. The
 * fixtures come from tests/ref/make_api_fixtures.py. */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_plugin.h>
#include <dmbp_render.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


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
    /* No reverse callbacks: it predicts (above), and the reverse passes
     * that every method needs fail naming the node. */
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.reverse = 1;
    p = NULL;
    st = dmbp_plan_create(m, &po, &p);
    CHECK(st == DMBP_ERR_UNSUPPORTED &&
              strstr(dmbp_last_error(), "'scale' (ScaleBy") &&
              strstr(dmbp_last_error(), "reverse"),
          "reverse plan without callbacks: %s %s", dmbp_status_str(st),
          dmbp_last_error());
    dmbp_plan_free(st ? NULL : p);
    dmbp_model_free(m);
}

static dmbp_status scale_backward(void *user, const dmbp_node *node,
                                  int n_in, const dmbp_shape *in_shapes,
                                  const float *const *in, int n_out,
                                  const dmbp_shape *out_shapes,
                                  const float *const *out,
                                  const float *const *dout, float *const *din)
{
    (void)user, (void)node, (void)n_in, (void)in_shapes, (void)in;
    (void)n_out, (void)out_shapes, (void)out, (void)dout, (void)din;
    return DMBP_OK;
}

/* The op-definition struct's versions: what dmbp_op_register refuses. */
static void test_op_def_versions(void)
{
    dmbp_op_def def;
    dmbp_op_def_init(&def);
    CHECK(def.struct_size == sizeof def, "struct_size %zu", def.struct_size);
    def.op_type = "ScaleByV2";
    def.infer = scale_infer;
    def.forward = scale_forward;
    def.backward = scale_backward;
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "tangent"),
          "backward without tangent: %s", dmbp_last_error());
    def.backward = NULL;
    def.traits = DMBP_OP_WEIGHTS;
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "traits"),
          "weights trait: %s", dmbp_last_error());
    def.traits = DMBP_OP_GATE;
    def.struct_size = 0;
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "dmbp_op_def_init"),
          "struct_size 0: %s", dmbp_last_error());
    def.struct_size = sizeof def + 8;
    CHECK(dmbp_op_register(&def) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "newer"),
          "larger struct_size: %s", dmbp_last_error());
    def.struct_size = sizeof def;
    CHECK(dmbp_op_register(&def) == DMBP_OK, "v2 register: %s",
          dmbp_last_error());
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

static void *threads_seen(void *arg)
{
    *(int *)arg = dmbp_get_num_threads();
    return NULL;
}

/* dmbp_set_num_threads reaches other threads; node traits and shapes. */
static void test_threads_and_layers(void)
{
    int def = dmbp_get_num_threads();
    CHECK(def >= 1, "default threads %d", def);
    CHECK(dmbp_set_num_threads(-1) == DMBP_ERR_ARG, "-1 threads accepted");
    CHECK(!dmbp_set_num_threads(1) && dmbp_get_num_threads() == 1,
          "1 thread: %d", dmbp_get_num_threads());
    int other = -1;
    pthread_t t;
    CHECK(!pthread_create(&t, NULL, threads_seen, &other) &&
          !pthread_join(t, NULL) && other == 1,
          "another thread sees %d threads, not 1", other);
    CHECK(!dmbp_set_num_threads(0) && dmbp_get_num_threads() == def,
          "0: back to the default %d, got %d", def, dmbp_get_num_threads());

    dmbp_model *m = NULL;
    if (dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m)) {
        CHECK(0, "shipped model: %s", dmbp_last_error());
        return;
    }
    /* Node 0 is a Conv, node 1 its ReLU (see dmbp info --layers). */
    CHECK(!strcmp(dmbp_model_node_op(m, 0), "Conv") &&
          dmbp_model_node_traits(m, 0) ==
              (DMBP_OP_WEIGHTS | DMBP_OP_FEATURE_MAP | DMBP_OP_FOLD_TARGET),
          "Conv traits 0x%x", dmbp_model_node_traits(m, 0));
    CHECK(dmbp_model_node_traits(m, 1) & DMBP_OP_GATE, "Relu traits 0x%x",
          dmbp_model_node_traits(m, 1));
    CHECK(dmbp_model_node_traits(m, 1000) == 0, "traits out of range");
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.batch = 2;
    dmbp_plan *p = NULL;
    CHECK(!dmbp_plan_create(m, &po, &p), "plan: %s", dmbp_last_error());
    if (p) {
        dmbp_shape s = dmbp_plan_node_output_shape(p, 0);
        CHECK(s.ndim == 4 && s.dims[0] == 2 && s.dims[1] == 32 &&
              s.dims[2] == 28 && s.dims[3] == 28, "Conv output shape");
        s = dmbp_plan_node_output_shape(p, dmbp_model_num_nodes(m) - 1);
        CHECK(s.ndim == 2 && s.dims[0] == 2 && s.dims[1] == 10,
              "last node's shape");
        CHECK(dmbp_plan_node_output_shape(p, -1).ndim == 0, "node -1");
    }
    dmbp_plan_free(p);
    dmbp_model_free(m);
}

/* No dmbp.* metadata: a static square input is the default crop, resized
 * by ImageNet's ratio (hand algebra: 28 * 256 / 224 = 32); dynamic sizes
 * keep ImageNet's 256 and 224; metadata (test_shipped_defaults) wins over
 * the declared size. */
static void test_declared_size_defaults(void)
{
    static const struct {
        const char *file;
        int resize, crop;
    } cases[] = {{"tests/ref/data/pre/static28.onnx", 32, 28},
                 {"tests/ref/data/pre/dynamic_hw.onnx", 256, 224}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dmbp_model *m = NULL;
        dmbp_status st = dmbp_model_load(test_path(cases[i].file), &m);
        CHECK(!st, "%s: %s", cases[i].file, dmbp_last_error());
        if (st)
            continue;
        dmbp_preprocess_options o;
        CHECK(!dmbp_model_preprocess_defaults(m, &o), "defaults");
        CHECK(o.resize == cases[i].resize && o.crop == cases[i].crop &&
                  o.channels == 1 && fabsf(o.mean[0] - 0.485f) < 1e-6f,
              "%s: resize %d crop %d channels %d, want %d %d 1",
              cases[i].file, o.resize, o.crop, o.channels, cases[i].resize,
              cases[i].crop);
        dmbp_model_free(m);
    }
}

/* Issue #25 item 3: every method reports progress through the explain
 * options' callback, dmbp_explain_signed knows the result's sign before
 * it is computed, dmbp_explain_check finds what dmbp_explain would refuse
 * before any work, and dmbp_result_near_zero flags an all-zero map. */
typedef struct progress_seen {
    int calls, last_done, last_total;
} progress_seen;

static int count_progress(void *user, int first, int n, int done, int total,
                          double loss)
{
    (void)first, (void)n, (void)loss;
    progress_seen *p = user;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return 0;
}

static void test_progress_and_checks(void)
{
    dmbp_model *m = NULL;
    dmbp_session *s = NULL;
    dmbp_status st = dmbp_model_load(test_path("models/fmnist_resnet.onnx"),
                                     &m);
    if (!st)
        st = dmbp_session_create(m, &s);
    CHECK(!st, "fmnist_resnet: %s", dmbp_last_error());
    if (st) {
        dmbp_model_free(m);
        return;
    }
    enum { SIDE = 28 };
    float x[SIDE * SIDE], zero[SIDE * SIDE] = {0};
    for (int i = 0; i < SIDE * SIDE; i++)
        x[i] = (float)sin(0.37 * i);
    for (int k = 0; k <= DMBP_NUM_METHODS; k++) {
        /* k == DMBP_NUM_METHODS: saliency with abs (non-negative). */
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        o.method = k < DMBP_NUM_METHODS ? (dmbp_method)k
                                        : DMBP_METHOD_SALIENCY;
        o.saliency.abs = k == DMBP_NUM_METHODS;
        o.max_lanes = 4;
        o.ig.steps = 6;
        o.smoothgrad.samples = 3;
        o.rise.masks = 8;
        o.dmbp.iterations = 2;
        progress_seen seen = {0};
        o.progress = count_progress;
        o.progress_user = &seen;
        CHECK(dmbp_explain_check(m, &o) == DMBP_OK, "%s: check: %s",
              dmbp_method_name(o.method), dmbp_last_error());
        dmbp_result *r = NULL;
        st = dmbp_explain(s, x, 1, 1, SIDE, SIDE, NULL, &o, &r);
        CHECK(!st, "%s: %s", dmbp_method_name(o.method), dmbp_last_error());
        if (st)
            continue;
        CHECK(seen.calls > 0 && seen.last_done == seen.last_total,
              "%s: progress called %d times, last %d of %d",
              dmbp_method_name(o.method), seen.calls, seen.last_done,
              seen.last_total);
        CHECK(dmbp_explain_signed(&o) == dmbp_result_signed(r),
              "%s%s: dmbp_explain_signed %d, the result's %d",
              dmbp_method_name(o.method), o.saliency.abs ? " abs" : "",
              dmbp_explain_signed(&o), dmbp_result_signed(r));
        CHECK(dmbp_result_near_zero(r, 0) == 0, "%s: near zero on an image",
              dmbp_method_name(o.method));
        CHECK(dmbp_result_near_zero(r, 1) == -1, "near zero: image 1 of 1");
        dmbp_result_free(r);
    }
    /* gxi of the all-zero input is zero everywhere. */
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_GXI;
    dmbp_result *r = NULL;
    st = dmbp_explain(s, zero, 1, 1, SIDE, SIDE, NULL, &o, &r);
    CHECK(!st && dmbp_result_near_zero(r, 0) == 1,
          "gxi of a zero input: near zero %d (%s)",
          st ? -2 : dmbp_result_near_zero(r, 0), dmbp_last_error());
    dmbp_result_free(r);
    /* What dmbp_explain refuses, found before any work. */
    o.method = DMBP_METHOD_GRADCAM;
    o.gradcam.layer = "no such layer";
    CHECK(dmbp_explain_check(NULL, &o) == DMBP_OK,
          "check without a model looked at the layer");
    CHECK(dmbp_explain_check(m, &o) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "no such layer"),
          "a missing layer: %s", dmbp_last_error());
    o.gradcam.layer = NULL;
    o.rise.p = 1.5f;
    CHECK(dmbp_explain_check(NULL, &o) == DMBP_ERR_ARG,
          "rise.p 1.5 passed the check");
    dmbp_session_free(s);
    dmbp_model_free(m);
}

/* dmbp_report_write: a picture that is not a PNG is refused by name and
 * nothing is written; a PNG is embedded. */
static void test_report(void)
{
    char dir[] = "/tmp/dmbp-report-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char out[256], txt[256];
    snprintf(out, sizeof out, "%s/index.html", dir);
    snprintf(txt, sizeof txt, "%s/not.png", dir);
    FILE *f = fopen(txt, "w");
    CHECK(f && fputs("text", f) >= 0 && fclose(f) == 0, "write %s", txt);
    dmbp_report_cell bad = {"x", "gxi", txt, "a caption"};
    dmbp_status st = dmbp_report_write(out, &bad, 1, NULL);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(), txt),
          "a text file as picture: %s, %s", dmbp_status_str(st),
          dmbp_last_error());
    FILE *g = fopen(out, "r");
    CHECK(!g, "a refused report left %s", out);
    if (g)
        fclose(g);
    dmbp_report_cell ok = {"bag <1>", "gxi",
                           test_path("models/samples/bag.png"), "Bag & co"};
    st = dmbp_report_write(out, &ok, 1, NULL);
    CHECK(!st, "report: %s", dmbp_last_error());
    char page[65536] = "";
    g = fopen(out, "r");
    size_t n = g ? fread(page, 1, sizeof page - 1, g) : 0;
    page[n] = 0;
    if (g)
        fclose(g);
    CHECK(strstr(page, "<th>bag &lt;1&gt;</th>") &&
              strstr(page, "Bag &amp; co") &&
              strstr(page, "src=\"data:image/png;base64,iVBORw0KGgo"),
          "report page: %.300s", page);
    remove(out);
    remove(txt);
    remove(dir);
}

/* dmbp_report_write_dir: the sets of a directory and of its
 * subdirectories become one page (a record's picture found beside its
 * manifest when its path moved, its caption from the record); a
 * directory without a set is refused by name, and nothing written. */
static void test_report_dir(void)
{
    char dir[] = "/tmp/dmbp-reportdir-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[512], cmd[1024];
    int pictures = -1;
    dmbp_status st = dmbp_report_write_dir(dir, NULL, &pictures);
    CHECK(st == DMBP_ERR_IO && strstr(dmbp_last_error(), dir) &&
              strstr(dmbp_last_error(), "no image set") && pictures == 0,
          "an empty directory: %s", dmbp_last_error());
    snprintf(cmd, sizeof cmd, "mkdir %s/ig && cp %s %s/a-gxi.png && "
             "cp %s %s/ig/a-ig.png", dir, test_path("models/samples/bag.png"),
             dir, test_path("models/samples/coat.png"), dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    const char *sets[2][2] = {{"", "gxi"}, {"/ig", "ig"}};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s%s/manifest.jsonl", dir, sets[k][0]);
        FILE *f = fopen(path, "w");
        /* The picture's path as another directory wrote it. */
        if (f) {
            fprintf(f, "{\"set\": {}}\n{\"input\": \"imgs/a.png\", "
                    "\"status\": \"ok\", \"method\": \"%s\", \"target\": "
                    "8, \"label\": \"Bag\", \"logit\": 9.5, \"F\": 1.25, "
                    "\"outputs\": {\"png\": \"elsewhere/a-%s.png\"}}\n",
                    sets[k][1], sets[k][1]);
            fclose(f);
        }
    }
    st = dmbp_report_write_dir(dir, NULL, &pictures);
    CHECK(!st && pictures == 2, "report of two sets: %d pictures, %s",
          pictures, dmbp_last_error());
    snprintf(path, sizeof path, "%s/index.html", dir);
    size_t n = 0;
    char *page = (char *)tl_read_file(path, &n);
    CHECK(page && strstr(page, "<th>a</th>") && strstr(page, "alt=\"a, gxi\"")
              && strstr(page, "alt=\"a, ig\"") &&
              strstr(page, "Bag (8) logit 9.5 F 1.25") &&
              strstr(page, "dmbp report: "),
          "report page: %.300s", page ? page : "(none)");
    free(page);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* dmbp_read_attribution_npy: what dmbp_write_npy wrote comes back bit for
 * bit (one map, DMBP's five arrays); another shape, a truncated file, a
 * text file and a NaN are refused naming the file. */
static void test_read_npy(void)
{
    char path[] = "/tmp/dmbp-npy-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    float v[5 * 3 * 4 * 2];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        v[i] = (float)i * 0.25f - 3.0f;
    const int64_t shapes[3][4] = {{3, 4, 2}, {5, 3, 4, 2}, {2, 4, 2}};
    const int ndims[3] = {3, 4, 3};
    for (int k = 0; k < 3; k++) {
        dmbp_status st = dmbp_write_npy(path, v, shapes[k], ndims[k]);
        CHECK(!st, "write: %s", dmbp_last_error());
        int nd = 0;
        int64_t dims[4];
        float *data = NULL;
        st = dmbp_read_attribution_npy(path, &nd, dims, &data);
        size_t n = 1;
        for (int d = 0; d < ndims[k]; d++)
            n *= (size_t)shapes[k][d];
        if (k < 2)
            CHECK(!st && nd == ndims[k] &&
                      !memcmp(dims, shapes[k], sizeof *dims * (size_t)nd) &&
                      data && !memcmp(data, v, n * sizeof *v),
                  "read back shape %d: %s", k, dmbp_last_error());
        else
            CHECK(st == DMBP_ERR_FORMAT && !data &&
                      strstr(dmbp_last_error(), path) &&
                      strstr(dmbp_last_error(), "shape"),
                  "2 channels accepted: %s", dmbp_last_error());
        free(data);
    }
    /* Cut short, then text, then a NaN. */
    CHECK(!dmbp_write_npy(path, v, shapes[0], 3) && truncate(path, 100) == 0,
          "truncate");
    int nd;
    int64_t dims[4];
    float *data = NULL;
    dmbp_status st = dmbp_read_attribution_npy(path, &nd, dims, &data);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(), "truncated"),
          "truncated: %s", dmbp_last_error());
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("not an array\n", f);
        fclose(f);
    }
    st = dmbp_read_attribution_npy(path, &nd, dims, &data);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(), "not a .npy"),
          "text: %s", dmbp_last_error());
    v[7] = NAN;
    CHECK(!dmbp_write_npy(path, v, shapes[0], 3), "write NaN");
    st = dmbp_read_attribution_npy(path, &nd, dims, &data);
    CHECK(st == DMBP_ERR_NONFINITE && !data, "NaN: %s", dmbp_last_error());
    remove(path);
}

/* dmbp_explain_images: the result of dmbp_explain on the images
 * preprocessed by hand, bit for bit; -2 is the class dmbp_model_class_of_rank
 * ranks second, -1 the top class; images of two sizes, or of a size the
 * model refuses, are refused naming them. */
static void test_explain_images(void)
{
    dmbp_model *m = NULL;
    dmbp_session *s = NULL;
    dmbp_image img[3] = {{0}}, x[2] = {{0}};
    const char *names[3] = {"bag", "coat", "big"};
    const char *files[3] = {"models/samples/bag.png", "models/samples/coat.png",
                            "models/evidence/test_00000.png"};
    dmbp_status st = dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m);
    if (!st)
        st = dmbp_session_create(m, &s);
    for (int i = 0; !st && i < 3; i++)
        st = dmbp_image_load(test_path(files[i]), NULL, &img[i]);
    dmbp_preprocess_options pre;
    if (!st)
        st = dmbp_model_preprocess_defaults(m, &pre);
    for (int i = 0; !st && i < 2; i++)
        st = dmbp_image_preprocess(&img[i], &pre, &x[i]);
    CHECK(!st, "setup: %s", dmbp_last_error());
    if (st)
        goto done;
    size_t per = (size_t)x[0].channels * x[0].height * x[0].width;
    float *xs = malloc(2 * per * sizeof *xs);
    memcpy(xs, x[0].data, per * sizeof *xs);
    memcpy(xs + per, x[1].data, per * sizeof *xs);
    int second = -1;
    st = dmbp_model_class_of_rank(m, x[1].data, x[1].channels, x[1].height,
                                  x[1].width, 2, &second);
    CHECK(!st && second >= 0, "class of rank 2: %s", dmbp_last_error());
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_GXI;
    const int want_t[2] = {-1, second}, ask_t[2] = {-1, -2};
    dmbp_result *a = NULL, *b = NULL;
    st = dmbp_explain(s, xs, 2, x[0].channels, x[0].height, x[0].width,
                      want_t, &o, &a);
    if (!st)
        st = dmbp_explain_images(s, img, names, 2, NULL, ask_t, &o, &b);
    CHECK(!st && tl_same_result(a, b), "explain_images differs from "
          "explain: %s", dmbp_last_error());
    CHECK(b && dmbp_result_target(b, 1) == second,
          "top:2 explained %d, want %d", b ? dmbp_result_target(b, 1) : -9,
          second);
    dmbp_result_free(a);
    dmbp_result_free(b);
    free(xs);
    /* Without resize and crop: 28 x 28 and 64 x 64. */
    dmbp_preprocess_options raw = pre;
    raw.resize = raw.crop = 0;
    dmbp_image mixed[2] = {img[0], img[2]};
    const char *mixed_names[2] = {"bag", "big"};
    b = NULL;
    st = dmbp_explain_images(s, mixed, mixed_names, 2, &raw, NULL, &o, &b);
    CHECK(st == DMBP_ERR_SHAPE && !b && strstr(dmbp_last_error(), "big") &&
              strstr(dmbp_last_error(), "one size"),
          "two sizes: %s", dmbp_last_error());
    st = dmbp_explain_images(s, &img[2], &names[2], 1, &raw, NULL, &o, &b);
    CHECK(st == DMBP_ERR_SHAPE && !b && strstr(dmbp_last_error(), "big:") &&
              strstr(dmbp_last_error(), "the model takes"),
          "a size the model refuses: %s", dmbp_last_error());
done:
    for (int i = 0; i < 3; i++)
        dmbp_image_free(&img[i]);
    for (int i = 0; i < 2; i++)
        dmbp_image_free(&x[i]);
    dmbp_session_free(s);
    dmbp_model_free(m);
}

/* dmbp_rank_classes and dmbp_write_prediction: ties to the lower index,
 * probabilities from the softmax, the two forms predict prints. */
static void test_prediction(void)
{
    dmbp_model *m = NULL;
    CHECK(!dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m),
          "load: %s", dmbp_last_error());
    const float logits[4] = {1, 3, 3, 0};
    float prob[4];
    int order[4];
    dmbp_rank_classes(logits, 4, 3, prob, order);
    double e = exp(1) + 2 * exp(3) + 1;
    CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0 &&
              fabs(prob[1] - exp(3) / e) < 1e-6 && fabs(prob[3] - 1 / e) < 1e-6,
          "rank: %d %d %d, p %g", order[0], order[1], order[2], prob[1]);
    const char *labels[4] = {"a", "b", "c", "d"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dmbp_status st = dmbp_write_prediction(f, 0, "x.png", logits, 4, 9, m,
                                           labels, 4);
    st = st ? st : dmbp_write_prediction(f, 1, "x.png", logits, 4, 2, m,
                                         labels, 4);
    fclose(f);
    char want[512];
    snprintf(want, sizeof want, "x.png\n      1  b%23s %.4f\n      2  c%23s "
             "%.4f\n      0  a%23s %.4f\n      3  d%23s %.4f\n{\"image\": "
             "\"x.png\", \"top\": [{\"class\": 1, \"label\": \"b\", "
             "\"prob\": %.9g}, {\"class\": 2, \"label\": \"c\", \"prob\": "
             "%.9g}], \"logits\": [1, 3, 3, 0]}\n", "", prob[1], "",
             prob[2], "", prob[0], "", prob[3], prob[1], prob[2]);
    CHECK(!st && buf && !strcmp(buf, want), "prediction:\n%s\nwant:\n%s",
          buf ? buf : "", want);
    free(buf);
    dmbp_model_free(m);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* dmbp_model_describe: the model's numbers as the accessors give them,
 * every node once in the layers (JSON and text), some mask sites. */
static void test_describe(void)
{
    dmbp_model *m = NULL;
    dmbp_status st = dmbp_model_load(test_path("models/evidence_cnn.onnx"),
                                     &m);
    CHECK(!st, "load: %s", dmbp_last_error());
    if (st)
        return;
    int nodes = dmbp_model_num_nodes(m);
    char want[128];
    for (int json = 0; json < 2; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        st = dmbp_model_describe(m, "the-model", 1, json, f);
        fclose(f);
        CHECK(!st, "describe: %s", dmbp_last_error());
        snprintf(want, sizeof want, json ? "\"classes\": %d," : ", %d classes",
                 dmbp_model_num_classes(m));
        CHECK(buf && strstr(buf, want) && strstr(buf, "the-model"),
              "describe (json %d) lacks '%s': %.200s", json, want, buf);
        snprintf(want, sizeof want, json ? "\"params\": %lld," :
                 "parameters  %lld\n", (long long)dmbp_model_num_params(m));
        CHECK(buf && strstr(buf, want), "describe (json %d): no '%s'", json,
              want);
        int got = json ? count(buf, "\"op\": ") : count(buf, "\n  ") - 1;
        CHECK(got == nodes, "describe (json %d): %d layers, the model has %d",
              json, got, nodes);
        CHECK(count(buf, json ? "\"mask_site\": true" : " yes (") > 0,
              "describe (json %d): no mask site", json);
        CHECK(!json || (len && buf[len - 1] == '\n' && buf[0] == '{'),
              "describe: one JSON object and a newline");
        free(buf);
    }
    st = dmbp_model_describe(m, NULL, 0, 0, stdout);
    CHECK(st == DMBP_ERR_ARG, "describe without a name: %d", st);
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
    test_op_def_versions();
    test_external();
    test_memory_and_misc();
    test_shipped_defaults();
    test_threads_and_layers();
    test_declared_size_defaults();
    test_progress_and_checks();
    test_report();
    test_describe();
    test_report_dir();
    test_read_npy();
    test_explain_images();
    test_prediction();
    printf("api: %d failures\n", failures);
    return failures ? 1 : 0;
}
