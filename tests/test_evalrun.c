/* Evaluations (dmbp_eval_run, dmbp_eval.h) as a program sees them, on
 * models/fmnist_vgg.onnx and three shipped samples:
 *
 * 1. The run's numbers are the metric functions' own: each image is
 *    explained here with dmbp_explain (the run's seed rule: image i gets
 *    seed + i) and measured with dmbp_eval_deletion, _insertion, _aopc
 *    and _negative; the run must report the same values bit for bit.
 * 2. An image's numbers written as JSON text and read into a second run
 *    are the same numbers; text that is not such numbers is refused.
 * 3. DMBP_EVAL_TARGET_TRUE explains each image's true class; an image
 *    without one is an error naming it.
 * 4. The reports: the CSV's true-class column, the JSON's settings by
 *    name (IG's steps, SmoothGrad's samples and sigma), the library
 *    version, the CPU and the date; a report file holds the same bytes
 *    (dmbp_eval_run_write_file); a report before dmbp_eval_run_finish
 *    and bad arguments are refused.
 */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_IMAGES 3
#define IG_STEPS 4
#define SG_SAMPLES 3
#define SG_SIGMA 0.2f
#define RUN_SEED 11
/* The shipped samples' classes (Fashion-MNIST). */
static const char *const samples[N_IMAGES] = {
    "models/samples/ankle_boot.png", "models/samples/trouser.png",
    "models/samples/bag.png"};
static const int true_class[N_IMAGES] = {9, 1, 8};

static dmbp_model *m;
static float *xs;
static int c, h, w;

static void method_options(dmbp_explain_options *o, dmbp_method method)
{
    dmbp_explain_options_init(o);
    o->method = method;
    o->ig.steps = IG_STEPS;
    o->smoothgrad.samples = SG_SAMPLES;
    o->smoothgrad.sigma = SG_SIGMA;
}

static dmbp_eval_run *make_run(const dmbp_method *methods, int n_methods,
                               int target, int rand_images)
{
    dmbp_explain_options o[4];
    const dmbp_explain_options *op[4];
    for (int k = 0; k < n_methods; k++) {
        method_options(&o[k], methods[k]);
        op[k] = &o[k];
    }
    dmbp_eval_options eo;
    dmbp_eval_options_init(&eo);
    eo.steps = 8;
    dmbp_eval_run_options ro;
    dmbp_eval_run_options_init(&ro);
    ro.metrics = &eo;
    ro.randomization_images = rand_images;
    ro.seed = RUN_SEED;
    ro.target = target;
    ro.model_name = "fmnist_vgg.onnx";
    ro.images_name = "samples";
    dmbp_eval_run *run = NULL;
    dmbp_status st = dmbp_eval_run_create(m, N_IMAGES, c, h, w, op,
                                          n_methods, &ro, &run);
    CHECK(st == DMBP_OK, "create: %s", dmbp_last_error());
    for (int i = 0; run && i < N_IMAGES; i++)
        CHECK(dmbp_eval_run_set_image(run, i, samples[i], i,
                                      true_class[i]) == DMBP_OK,
              "set_image %d", i);
    return run;
}

/* 1: image i's numbers by method, from the metric functions. */
static void check_against_functions(dmbp_eval_run *run, int k,
                                    dmbp_method method, int i)
{
    dmbp_explain_options o;
    method_options(&o, method);
    o.smoothgrad.seed = o.dmbp.seed = o.rise.seed = RUN_SEED + (uint64_t)i;
    dmbp_session *s = NULL;
    dmbp_result *r = NULL;
    int target = -1;
    size_t per = (size_t)c * h * w;
    const float *x = xs + (size_t)i * per;
    CHECK(dmbp_session_create(m, &s) == DMBP_OK, "session");
    CHECK(dmbp_explain(s, x, 1, c, h, w, &target, &o, &r) == DMBP_OK,
          "explain: %s", dmbp_last_error());
    if (!r) {
        dmbp_session_free(s);
        return;
    }
    int t = dmbp_result_target(r, 0);
    CHECK(dmbp_eval_run_target(run, k, i) == t, "image %d: target %d, the "
          "run says %d", i, t, dmbp_eval_run_target(run, k, i));
    dmbp_shape sh = dmbp_result_array_shape(r);
    float *pos = malloc((size_t)h * w * sizeof *pos);
    float *neg = malloc((size_t)h * w * sizeof *neg);
    float curve[64];
    double want[DMBP_EVAL_NUM_METRICS];
    for (int q = 0; q < DMBP_EVAL_NUM_METRICS; q++)
        want[q] = NAN;
    dmbp_eval_options eo;
    dmbp_eval_options_init(&eo);
    eo.steps = 8;
    int sgn = dmbp_result_signed(r) ? 1 : 0;
    CHECK(!dmbp_eval_pixel_scores(dmbp_result_array(r, 0, 0),
                                  (int)sh.dims[0], h, w, sgn, pos) &&
              !dmbp_eval_deletion(s, x, c, h, w, t, pos, &eo, curve,
                                  &want[DMBP_EVAL_DELETION]) &&
              !dmbp_eval_insertion(s, x, c, h, w, t, pos, &eo, curve,
                                   &want[DMBP_EVAL_INSERTION]) &&
              !dmbp_eval_aopc(s, x, c, h, w, t, pos, &eo, curve,
                              &want[DMBP_EVAL_AOPC]),
          "metric functions: %s", dmbp_last_error());
    if (sgn) {
        static const double fr[3] = DMBP_EVAL_NEG_FRACTIONS;
        CHECK(!dmbp_eval_pixel_scores(dmbp_result_array(r, 0, 0),
                                      (int)sh.dims[0], h, w, -1, neg) &&
                  !dmbp_eval_negative(s, x, c, h, w, t, neg, fr, 3, &eo,
                                      &want[DMBP_EVAL_NEG5]),
              "negative: %s", dmbp_last_error());
    }
    for (int q = 0; q < DMBP_EVAL_RAND; q++) {
        double got = dmbp_eval_run_value(run, k, i, q);
        CHECK((isnan(got) && isnan(want[q])) || got == want[q],
              "%s image %d %s: run %.17g, functions %.17g",
              dmbp_method_name(method), i, dmbp_eval_metric_name(q), got,
              want[q]);
    }
    free(pos);
    free(neg);
    dmbp_result_free(r);
    dmbp_session_free(s);
}

/* The whole text a report writes. */
static char *report(const dmbp_eval_run *run, dmbp_eval_report kind)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dmbp_status st = f ? dmbp_eval_run_write(run, kind, f) : DMBP_ERR_NOMEM;
    if (f)
        fclose(f);
    CHECK(st == DMBP_OK, "report %d: %s", (int)kind, dmbp_last_error());
    return buf;
}

static void test_numbers_and_reports(void)
{
    const dmbp_method methods[3] = {DMBP_METHOD_GXI, DMBP_METHOD_IG,
                                    DMBP_METHOD_SMOOTHGRAD};
    dmbp_eval_run *run = make_run(methods, 3, DMBP_EVAL_TARGET_TOP, 1);
    if (!run)
        return;
    /* Two windows: images 0-1 and 2. */
    CHECK(dmbp_eval_run_compute(run, 0, 2, xs, NULL) == DMBP_OK &&
              dmbp_eval_run_compute(run, 2, 1, xs + 2 * (size_t)c * h * w,
                                    NULL) == DMBP_OK,
          "compute: %s", dmbp_last_error());
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N_IMAGES; i++)
            check_against_functions(run, k, methods[k], i);
    CHECK(isfinite(dmbp_eval_run_value(run, 0, 0, DMBP_EVAL_RAND)) &&
              isnan(dmbp_eval_run_value(run, 0, 1, DMBP_EVAL_RAND)),
          "randomisation: image 0 only");

    /* 2: through JSON text into a second run. */
    dmbp_eval_run *back = make_run(methods, 3, DMBP_EVAL_TARGET_TOP, 1);
    for (int i = 0; back && i < N_IMAGES; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK(dmbp_eval_run_write_image(run, i, f) == DMBP_OK, "write_image");
        fclose(f);
        CHECK(dmbp_eval_run_read_image(back, i, buf) == DMBP_OK,
              "read_image %d: %s", i, dmbp_last_error());
        for (int k = 0; k < 3; k++)
            for (int q = 0; q < DMBP_EVAL_NUM_METRICS; q++) {
                double a = dmbp_eval_run_value(run, k, i, q);
                double b = dmbp_eval_run_value(back, k, i, q);
                CHECK((isnan(a) && isnan(b)) || a == b,
                      "read back: image %d method %d %s: %.17g, %.17g", i,
                      k, dmbp_eval_metric_name(q), a, b);
            }
        free(buf);
    }
    CHECK(back && dmbp_eval_run_read_image(back, 0, "\"eval\": [[\"x\"]]") ==
                      DMBP_ERR_FORMAT,
          "read_image took what it could not have written");
    dmbp_eval_run_free(back);

    /* 4: reports. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(dmbp_eval_run_write(run, DMBP_EVAL_REPORT_CSV, f) == DMBP_ERR_ARG,
          "a report before dmbp_eval_run_finish");
    fclose(f);
    free(buf);
    char dir[] = "/tmp/dmbp-test-reportXXXXXX", path[600], gone[640];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    snprintf(gone, sizeof gone, "%s/no/eval.csv", dir);
    CHECK(dmbp_eval_run_write_file(run, DMBP_EVAL_REPORT_CSV, path) ==
                  DMBP_ERR_ARG && access(path, F_OK) != 0,
          "a report file before dmbp_eval_run_finish");
    CHECK(dmbp_eval_run_finish(run, 1.5) == DMBP_OK, "finish");
    char *csv = report(run, DMBP_EVAL_REPORT_CSV);
    /* The report file: the stream's report, byte for byte; a path that
     * cannot be written is an I/O error naming it, leaving nothing. */
    size_t file_len = 0;
    unsigned char *file = NULL;
    CHECK(dmbp_eval_run_write_file(run, DMBP_EVAL_REPORT_CSV, path) ==
              DMBP_OK && (file = tl_read_file(path, &file_len)) != NULL,
          "write_file: %s", dmbp_last_error());
    CHECK(file && csv && file_len == strlen(csv) &&
              !memcmp(file, csv, file_len),
          "the CSV file differs from dmbp_eval_run_write's CSV");
    CHECK(dmbp_eval_run_write_file(run, DMBP_EVAL_REPORT_CSV, gone) ==
                  DMBP_ERR_IO && strstr(dmbp_last_error(), gone),
          "an unwritable report path: '%s'", dmbp_last_error());
    CHECK(dmbp_eval_run_write_file(run, DMBP_EVAL_REPORT_CSV, NULL) ==
              DMBP_ERR_ARG,
          "a NULL report path");
    free(file);
    unlink(path);
    rmdir(dir);
    CHECK(csv && !strncmp(csv, "image,index,method,target,label,true_class,"
                          "true_label,prob,deletion_auc", 53),
          "csv header: %.80s", csv ? csv : "");
    CHECK(csv && strstr(csv, "models/samples/trouser.png,1,gxi,") &&
              strstr(csv, ",1,Trouser,"),
          "csv: the trouser's row with its true class 1 and label");
    free(csv);
    char *json = report(run, DMBP_EVAL_REPORT_JSON);
    char want[160];
    snprintf(want, sizeof want, "\"version\": \"%s\"", dmbp_version());
    const char *keys[] = {want, "\"cpu\": ", "\"date\": \"20",
                          "\"method\": \"ig\"", "\"steps\": 4",
                          "\"samples\": 3", "\"sigma\": 0.200000003",
                          "\"seed\": 11", "\"target\": \"auto\""};
    for (size_t k = 0; json && k < sizeof keys / sizeof *keys; k++)
        CHECK(strstr(json, keys[k]), "json lacks %s", keys[k]);
    free(json);
    for (int kind = DMBP_EVAL_REPORT_TABLE; kind <= DMBP_EVAL_REPORT_SVG;
         kind++)
        free(report(run, (dmbp_eval_report)kind));
    CHECK(dmbp_eval_run_write(run, (dmbp_eval_report)99, stdout) ==
              DMBP_ERR_ARG,
          "an unknown report");
    dmbp_eval_run_free(run);
}

/* 3: each image's true class. */
static void test_true_targets(void)
{
    const dmbp_method methods[1] = {DMBP_METHOD_GXI};
    dmbp_eval_run *run = make_run(methods, 1, DMBP_EVAL_TARGET_TRUE, 0);
    if (!run)
        return;
    /* Explained for class 8 (bag) although the image is an ankle boot. */
    CHECK(dmbp_eval_run_set_image(run, 0, samples[0], 0, 8) == DMBP_OK,
          "set_image");
    CHECK(dmbp_eval_run_compute(run, 0, N_IMAGES, xs, NULL) == DMBP_OK,
          "compute: %s", dmbp_last_error());
    CHECK(dmbp_eval_run_target(run, 0, 0) == 8 &&
              dmbp_eval_run_target(run, 0, 1) == 1 &&
              dmbp_eval_run_target(run, 0, 2) == 8,
          "true targets: %d %d %d", dmbp_eval_run_target(run, 0, 0),
          dmbp_eval_run_target(run, 0, 1), dmbp_eval_run_target(run, 0, 2));
    CHECK(dmbp_eval_run_set_image(run, 1, "nameless.png", 1, -1) == DMBP_OK,
          "set_image -1");
    CHECK(dmbp_eval_run_compute(run, 1, 1, xs + (size_t)c * h * w, NULL) ==
                  DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "nameless.png"),
          "no true class: %s", dmbp_last_error());
    CHECK(dmbp_eval_run_finish(run, 0) == DMBP_OK, "finish");
    char *json = report(run, DMBP_EVAL_REPORT_JSON);
    CHECK(json && strstr(json, "\"target\": \"true\""), "json target true");
    free(json);
    dmbp_eval_run_free(run);
}

/* dmbp_eval_images_load against the calls it stands for: each image loaded
 * and preprocessed alone, each truth by dmbp_eval_truth_load; and its
 * refusals. */
static void test_images_load(void)
{
    enum { NE = 3 };
    char list[] = "/tmp/dmbp-test-evimagesXXXXXX";
    int fd = mkstemp(list);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        CHECK(0, "temporary list");
        return;
    }
    for (int i = 0; i < NE; i++)
        fprintf(f, "%s/models/evidence/test_%05d.png\n",
                test_path("."), i + 1);
    fclose(f);
    dmbp_model *em = tl_model("models/evidence_cnn.onnx");
    dmbp_image_set *s = NULL;
    dmbp_eval_images *im = NULL;
    dmbp_preprocess_options pre;
    if (!em || dmbp_model_preprocess_defaults(em, &pre) ||
        dmbp_image_set_open(list, &s)) {
        CHECK(0, "setup: %s", dmbp_last_error());
        goto out;
    }
    CHECK(dmbp_eval_images_load(s, 1, 0, 4, NULL, &pre, 1, &im) == DMBP_OK &&
              im->n == NE - 1 && im->index[0] == 1 && im->truth,
          "load 1..: %s", dmbp_last_error());
    for (int i = 0; im && i < im->n; i++) {
        dmbp_image raw = {0}, x = {0};
        const char *name = dmbp_image_set_name(s, 1 + i);
        CHECK(!strcmp(im->names[i], name) && im->true_class[i] == -1,
              "image %d: name %s, class %d", i, im->names[i],
              im->true_class[i]);
        if (dmbp_image_load(name, NULL, &raw) ||
            dmbp_image_preprocess(&raw, &pre, &x)) {
            CHECK(0, "%s: %s", name, dmbp_last_error());
            dmbp_image_free(&raw);
            continue;
        }
        size_t per = (size_t)im->c * im->h * im->w, hw = per / im->c;
        CHECK(x.channels == im->c && x.height == im->h && x.width == im->w &&
                  !memcmp(x.data, im->x + i * per, per * sizeof(float)),
              "image %d: the preprocessed input", i);
        char truth[512];
        snprintf(truth, sizeof truth, "%.*s.truth.png",
                 (int)(strlen(name) - 4), name);
        uint8_t *t = malloc(hw);
        CHECK(t && !dmbp_eval_truth_load(truth, raw.height, raw.width, &pre,
                                         im->h, im->w, t) &&
                  !memcmp(t, im->truth + i * hw, hw),
              "image %d: its truth", i);
        free(t);
        dmbp_image_free(&x);
        dmbp_image_free(&raw);
    }
    dmbp_eval_images_free(im);
    im = NULL;
    /* An idx: set has no truth; classes the model does not have: two 2x2
     * images and their labels 3 and 7 beside them. */
    char dir[] = "/tmp/dmbp-test-idxXXXXXX", img[600], lab[600];
    if (mkdtemp(dir)) {
        snprintf(img, sizeof img, "%s/t-images-idx3-ubyte", dir);
        snprintf(lab, sizeof lab, "%s/t-labels-idx1-ubyte", dir);
        static const unsigned char idx3[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0,
                                             0, 2, 0, 0, 0, 2, 1, 2, 3, 4,
                                             5, 6, 7, 8};
        static const unsigned char idx1[] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 7};
        FILE *a = fopen(img, "wb"), *b = fopen(lab, "wb");
        if (a)
            fwrite(idx3, 1, sizeof idx3, a), fclose(a);
        if (b)
            fwrite(idx1, 1, sizeof idx1, b), fclose(b);
        char spec[620];
        snprintf(spec, sizeof spec, "idx:%s", img);
        dmbp_image_set *ix = NULL;
        dmbp_preprocess_options p1;
        dmbp_preprocess_options_init(&p1);
        p1.resize = p1.crop = 0;
        CHECK(dmbp_image_set_open(spec, &ix) == DMBP_OK, "%s: %s", spec,
              dmbp_last_error());
        CHECK(ix && dmbp_eval_images_load(ix, 0, 2, 10, NULL, &p1, 1,
                                          &im) == DMBP_ERR_ARG && !im,
              "idx: with ground truth");
        CHECK(ix && dmbp_eval_images_load(ix, 0, 0, 10, NULL, &p1, 0,
                                          &im) == DMBP_OK && im->n == 2 &&
                  im->true_class[0] == 3 && im->true_class[1] == 7 &&
                  im->h == 2 && im->w == 2,
              "idx: images and labels: %s", dmbp_last_error());
        dmbp_eval_images_free(im);
        im = NULL;
        CHECK(ix && dmbp_eval_images_load(ix, 0, 2, 5, NULL, &p1, 0, &im) ==
                        DMBP_ERR_FORMAT && !im &&
                  strstr(dmbp_last_error(), "the model has 5 classes"),
              "a true class the model does not have: %s",
              dmbp_last_error());
        dmbp_image_set_free(ix);
        unlink(img);
        unlink(lab);
        rmdir(dir);
    }
    CHECK(dmbp_eval_images_load(s, NE, 1, 4, NULL, &pre, 0, &im) ==
                  DMBP_ERR_ARG && !im,
          "first past the end");
out:
    dmbp_image_set_free(s);
    dmbp_model_free(em);
    unlink(list);
}

static void test_arguments(void)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    const dmbp_explain_options *op[2] = {&o, &o};
    dmbp_eval_run *run = (dmbp_eval_run *)&o;
    CHECK(dmbp_eval_run_create(m, 1, c, h, w, op, 2, NULL, &run) ==
                  DMBP_ERR_ARG && !run,
          "a method listed twice");
    dmbp_eval_run_options ro;
    dmbp_eval_run_options_init(&ro);
    ro.struct_size = 0;
    CHECK(dmbp_eval_run_create(m, 1, c, h, w, op, 1, &ro, &run) ==
              DMBP_ERR_ARG,
          "options without struct_size");
    CHECK(dmbp_eval_run_create(m, 0, c, h, w, op, 1, NULL, &run) ==
              DMBP_ERR_ARG,
          "no image");
    CHECK(dmbp_eval_run_create(m, 1, c, h, w, op, 1, NULL, &run) == DMBP_OK,
          "defaults: %s", dmbp_last_error());
    CHECK(dmbp_eval_run_set_image(run, 1, "x", 0, -1) == DMBP_ERR_ARG &&
              dmbp_eval_run_set_against(run, 1) == DMBP_ERR_ARG &&
              dmbp_eval_run_compute(run, 0, 2, xs, NULL) == DMBP_ERR_ARG,
          "out of range");
    CHECK(!strcmp(dmbp_eval_metric_name(DMBP_EVAL_AOPC), "aopc") &&
              !dmbp_eval_metric_name(DMBP_EVAL_NUM_METRICS),
          "metric names");
    dmbp_eval_run_free(run);
    dmbp_eval_run_free(NULL);
}

int main(void)
{
    m = tl_model("models/fmnist_vgg.onnx");
    if (!m)
        return 1;
    xs = tl_inputs(m, samples, N_IMAGES, &c, &h, &w);
    if (xs) {
        test_numbers_and_reports();
        test_true_targets();
        test_arguments();
        test_images_load();
    }
    free(xs);
    dmbp_model_free(m);
    printf("test_evalrun: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
