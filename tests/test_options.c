/* Options structs that survive versions (issue #22): struct_size, the
 * _init macros, what the library reads of a caller's struct, and the
 * version macros. Linked against the convenience library for the one
 * helper every options reader goes through (dmbp__options_in), which is
 * where an older, smaller struct gets the defaults for the newer fields:
 * until a second layout of a public struct exists, a two-version struct
 * here stands in for it. */
#include "config.h"

#include "base.h"

#include "testlib.h"

#include <dmbp_eval.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "once.h"

/* ---- versions ----------------------------------------------------------- */

static void test_version(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DMBP_VERSION_MAJOR,
             DMBP_VERSION_MINOR, DMBP_VERSION_PATCH);
    CHECK(!strcmp(dmbp_version(), want), "dmbp_version %s, header %s",
          dmbp_version(), want);
    CHECK(!strcmp(PACKAGE_VERSION, want), "package %s, header %s",
          PACKAGE_VERSION, want);
    CHECK(dmbp_version_number() == DMBP_VERSION_NUMBER &&
              DMBP_VERSION_NUMBER == DMBP_VERSION_MAJOR * 10000 +
                                         DMBP_VERSION_MINOR * 100 +
                                         DMBP_VERSION_PATCH,
          "dmbp_version_number %d, header %d", dmbp_version_number(),
          DMBP_VERSION_NUMBER);
}

/* ---- an older and a newer layout of one struct --------------------------- */

typedef struct v1_options {
    size_t struct_size;
    int a;
    double b;
} v1_options;

typedef struct v2_options { /* v1 plus two fields at the end */
    size_t struct_size;
    int a;
    double b;
    int c;
    float d[2];
} v2_options;

#define V2_MIN DMBP__END(v2_options, b) /* the first layout: v1's fields */
#define GUARD 0xAB

static void v2_defaults(v2_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->a = 1;
    o->b = 2.0;
    o->c = 3;
    o->d[0] = o->d[1] = 4.f;
}

static void test_two_versions(void)
{
    v2_options def, out;
    v2_defaults(&def);

    /* A v1 program initialises its smaller struct: only its bytes are
     * written. */
    unsigned char buf[sizeof(v2_options)];
    memset(buf, GUARD, sizeof buf);
    dmbp__options_init(buf, sizeof(v1_options), &def, V2_MIN, sizeof def);
    v1_options old;
    memcpy(&old, buf, sizeof old);
    CHECK(old.struct_size == sizeof(v1_options) && old.a == 1 && old.b == 2.0,
          "v1 init: size %zu a %d b %g", old.struct_size, old.a, old.b);
    int untouched = 1;
    for (size_t i = sizeof(v1_options); i < sizeof buf; i++)
        untouched &= buf[i] == GUARD;
    CHECK(untouched, "init wrote past the caller's struct_size");

    /* ... sets its fields, and the library reads them with the defaults
     * for the fields v1 did not have. */
    old.a = 5;
    old.b = 6.5;
    v2_defaults(&out);
    CHECK(dmbp__options_in(&old, &out, V2_MIN, sizeof out, "v2_options") ==
              DMBP_OK, "v1 struct refused: %s", dmbp_last_error());
    CHECK(out.a == 5 && out.b == 6.5 && out.c == 3 && out.d[0] == 4.f &&
              out.d[1] == 4.f && out.struct_size == sizeof out,
          "v1 read: a %d b %g c %d d %g", out.a, out.b, out.c,
          (double)out.d[0]);

    /* A struct_size that stops before a field: that field and the rest
     * are the defaults, whatever the bytes beyond struct_size hold. */
    v2_options cut = def;
    cut.a = 7;
    cut.c = 99;
    cut.d[0] = cut.d[1] = 98.f;
    cut.struct_size = offsetof(v2_options, c);
    v2_defaults(&out);
    CHECK(dmbp__options_in(&cut, &out, V2_MIN, sizeof out, "v2_options") ==
              DMBP_OK, "cut struct refused: %s", dmbp_last_error());
    CHECK(out.a == 7 && out.c == 3 && out.d[0] == 4.f && out.d[1] == 4.f,
          "cut before c: a %d c %d d %g", out.a, out.c, (double)out.d[0]);
    cut.struct_size = offsetof(v2_options, d);
    v2_defaults(&out);
    CHECK(!dmbp__options_in(&cut, &out, V2_MIN, sizeof out, "v2_options") &&
              out.c == 99 && out.d[0] == 4.f,
          "cut before d: c %d d %g", out.c, (double)out.d[0]);

    /* Output structs: a v1 caller gets only its fields written. */
    memset(buf, GUARD, sizeof buf);
    memcpy(buf, &old, sizeof old);
    CHECK(dmbp__options_out(&def, buf, V2_MIN, sizeof def, "v2_options") ==
              DMBP_OK, "out to v1 refused: %s", dmbp_last_error());
    untouched = 1;
    for (size_t i = sizeof(v1_options); i < sizeof buf; i++)
        untouched &= buf[i] == GUARD;
    CHECK(untouched, "out wrote past the caller's struct_size");

    /* Sizes the library does not know. */
    const size_t bad[] = {0, 1, V2_MIN - 1, sizeof(v2_options) + 8,
                          (size_t)-1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v2_options in = def;
        in.struct_size = bad[i];
        v2_defaults(&out);
        dmbp_status st =
            dmbp__options_in(&in, &out, V2_MIN, sizeof out, "v2_options");
        CHECK(st == DMBP_ERR_ARG && strstr(dmbp_last_error(), "v2_options") &&
                  strstr(dmbp_last_error(), "struct_size"),
              "struct_size %zu: %s, '%s'", bad[i], dmbp_status_str(st),
              dmbp_last_error());
        CHECK(out.a == 1 && out.c == 3, "refused struct was read");
    }
    memset(buf, GUARD, sizeof buf);
    dmbp__options_init(buf, V2_MIN - 1, &def, V2_MIN, sizeof def);
    size_t z;
    memcpy(&z, buf, sizeof z);
    CHECK(z == 0, "init of an unknown size left struct_size %zu", z);
}

/* ---- every public reader checks struct_size ------------------------------ */

#define EXPECT_REFUSED(call, type)                                          \
    do {                                                                    \
        dmbp_status st_ = (call);                                           \
        CHECK(st_ == DMBP_ERR_ARG && strstr(dmbp_last_error(), type) &&     \
                  strstr(dmbp_last_error(), "struct_size"),                 \
              "%s: %s, '%s'", #call, dmbp_status_str(st_),                  \
              dmbp_last_error());                                           \
    } while (0)

/* Each bad size for each struct: 0 (not made by the _init macro), short
 * of the first layout (struct_size alone), and larger than this library
 * knows. */
#define N_BAD 3
static size_t bad_size(int i, size_t full)
{
    return i == 0 ? 0 : i == 1 ? sizeof(size_t) : full + sizeof(double);
}

static void test_public_readers(void)
{
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    if (!m)
        return;
    const char *png = test_path("models/samples/ankle_boot.png");
    dmbp_image img = {0}, x = {0};
    CHECK(!dmbp_image_load(png, NULL, &img), "load: %s", dmbp_last_error());
    float zeros[28 * 28] = {0};
    float scores[28 * 28] = {0}, curve[64];
    double auc, rho[16];
    uint8_t truth[28 * 28] = {0};
    char out_png[256];
    snprintf(out_png, sizeof out_png, "%s/test_options_%d.png",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());

    dmbp_image_load_options lo;
    dmbp_preprocess_options pre;
    dmbp_plan_options po;
    dmbp_explain_options eo;
    dmbp_eval_options vo;
    dmbp_render_options ro;
    dmbp_truth_scores ts;
    dmbp_image_load_options_init(&lo);
    dmbp_preprocess_options_init(&pre);
    dmbp_plan_options_init(&po);
    dmbp_explain_options_init(&eo);
    dmbp_eval_options_init(&vo);
    dmbp_render_options_init(&ro);
    dmbp_truth_scores_init(&ts);
    CHECK(lo.struct_size == sizeof lo && pre.struct_size == sizeof pre &&
              po.struct_size == sizeof po && eo.struct_size == sizeof eo &&
              vo.struct_size == sizeof vo && ro.struct_size == sizeof ro &&
              ts.struct_size == sizeof ts,
          "an _init macro did not set struct_size to sizeof");
    CHECK(!dmbp_model_preprocess_defaults(m, &pre) &&
              pre.struct_size == sizeof pre && pre.crop == 28,
          "model defaults: size %zu crop %d (%s)", pre.struct_size, pre.crop,
          dmbp_last_error());

    for (int i = 0; i < N_BAD; i++) {
        dmbp_image_load_options blo = lo;
        blo.struct_size = bad_size(i, sizeof lo);
        EXPECT_REFUSED(dmbp_image_load(png, &blo, &x),
                       "dmbp_image_load_options");
        EXPECT_REFUSED(dmbp_image_load_memory("x", 1, "mem", &blo, &x),
                       "dmbp_image_load_options");

        dmbp_preprocess_options bpre = pre;
        bpre.struct_size = bad_size(i, sizeof pre);
        EXPECT_REFUSED(dmbp_image_preprocess(&img, &bpre, &x),
                       "dmbp_preprocess_options");
        EXPECT_REFUSED(dmbp_model_preprocess_defaults_sized(
                           m, &bpre, bad_size(i, sizeof pre)),
                       "dmbp_preprocess_options");
        float back[28 * 28];
        EXPECT_REFUSED(dmbp_map_to_original(zeros, 28, 28, &bpre, 28, 28,
                                            back, NULL),
                       "dmbp_preprocess_options");

        dmbp_plan_options bpo = po;
        bpo.struct_size = bad_size(i, sizeof po);
        dmbp_plan *p = NULL;
        EXPECT_REFUSED(dmbp_plan_create(m, &bpo, &p), "dmbp_plan_options");
        CHECK(!p, "refused plan made");

        dmbp_report_options bre;
        dmbp_report_options_init(&bre);
        CHECK(bre.struct_size == sizeof bre, "report options: size %zu",
              bre.struct_size);
        bre.struct_size = bad_size(i, sizeof bre);
        EXPECT_REFUSED(dmbp_report_write(out_png, NULL, 0, &bre),
                       "dmbp_report_options");

        dmbp_output_options boo;
        dmbp_output_options_init(&boo);
        CHECK(boo.struct_size == sizeof boo, "output options: size %zu",
              boo.struct_size);
        boo.struct_size = bad_size(i, sizeof boo);
        EXPECT_REFUSED(dmbp_render_pictures(DMBP_METHOD_SALIENCY, 0, 0, zeros,
                                            1, 28, 28, &img, &pre, out_png,
                                            &boo),
                       "dmbp_output_options");

        dmbp_explain_options beo = eo;
        beo.method = DMBP_METHOD_SALIENCY;
        beo.struct_size = bad_size(i, sizeof eo);
        dmbp_result *r = NULL;
        EXPECT_REFUSED(explain_once(m, zeros, 1, 1, 28, 28, NULL, &beo, &r),
                       "dmbp_explain_options");
        CHECK(!r, "refused explain made a result");
        EXPECT_REFUSED(dmbp_explain_preset(&beo, "evidence"),
                       "dmbp_explain_options");
        EXPECT_REFUSED(randomization_once(m, zeros, 1, 28, 28, 0, &beo,
                                               0, rho, NULL),
                       "dmbp_explain_options");

        dmbp_eval_options bvo = vo;
        bvo.struct_size = bad_size(i, sizeof vo);
        EXPECT_REFUSED(deletion_once(m, zeros, 1, 28, 28, 0, scores,
                                          &bvo, curve, &auc),
                       "dmbp_eval_options");
        EXPECT_REFUSED(aopc_once(m, zeros, 1, 28, 28, 0, scores, &bvo,
                                      curve, &auc),
                       "dmbp_eval_options");
        CHECK(dmbp_eval_curve_points(&bvo, 28, 28) == 0,
              "curve points of a refused struct");

        dmbp_render_options bro = ro;
        bro.struct_size = bad_size(i, sizeof ro);
        EXPECT_REFUSED(dmbp_render_signed(zeros, zeros, 1, 28, 28, &img,
                                          &bro, out_png),
                       "dmbp_render_options");
        CHECK(access(out_png, F_OK) != 0, "refused render wrote %s",
              out_png);
        double scale;
        EXPECT_REFUSED(dmbp_render_scale(zeros, NULL, 1, 28, 28, &bro,
                                         &scale),
                       "dmbp_render_options");

        dmbp_truth_scores bts = ts;
        bts.struct_size = bad_size(i, sizeof ts);
        EXPECT_REFUSED(dmbp_eval_truth(zeros, truth, 28, 28, 1, 0, &bts),
                       "dmbp_truth_scores");
    }
    /* An _init of a size the library does not know leaves struct_size 0,
     * which the readers then refuse. */
    dmbp_explain_options small;
    dmbp_explain_options_init_sized(&small, sizeof(size_t));
    CHECK(small.struct_size == 0, "init of size 8 left struct_size %zu",
          small.struct_size);

    /* The same options with their own struct_size are accepted. */
    dmbp_explain_options geo = eo;
    geo.method = DMBP_METHOD_SALIENCY;
    dmbp_result *r = NULL;
    CHECK(!explain_once(m, zeros, 1, 1, 28, 28, NULL, &geo, &r) && r,
          "saliency: %s", dmbp_last_error());
    dmbp_result_free(r);
    CHECK(!dmbp_eval_truth(zeros, truth, 28, 28, 1, 0, &ts),
          "truth: %s", dmbp_last_error());
    dmbp_image_free(&img);
    dmbp_model_free(m);
}

/* ---- results by name ------------------------------------------------------ */

static void test_find(void)
{
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    if (!m)
        return;
    float x[2 * 28 * 28];
    for (int i = 0; i < 2 * 28 * 28; i++)
        x[i] = (float)((i * 37) % 101) / 101.f;
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.dmbp.iterations = 2;
    dmbp_result *r = NULL;
    if (explain_once(m, x, 2, 1, 28, 28, NULL, &o, &r)) {
        CHECK(0, "dmbp: %s", dmbp_last_error());
        dmbp_model_free(m);
        return;
    }
    /* Every name the result lists is found at its index, with the same
     * data and value as the index functions give. */
    for (int k = 0; k < dmbp_result_num_arrays(r); k++) {
        const char *name = dmbp_result_array_name(r, k);
        dmbp_tensor_view v;
        CHECK(dmbp_result_find_array(r, name) == k, "array %s not at %d",
              name, k);
        CHECK(!dmbp_result_find(r, 1, name, &v) && v.data ==
                  dmbp_result_array(r, 1, k) && !strcmp(v.name, name) &&
                  v.shape.ndim == 3 && v.shape.dims[1] == 28 && isnan(v.value),
              "view of %s", name);
    }
    for (int k = 0; k < dmbp_result_num_scalars(r); k++) {
        const char *name = dmbp_result_scalar_name(r, k);
        dmbp_tensor_view v;
        CHECK(dmbp_result_find_scalar(r, name) == k, "scalar %s", name);
        if (dmbp_result_find_array(r, name) >= 0)
            continue; /* DMBP's "nuisance": the array is found first */
        CHECK(!dmbp_result_find(r, 1, name, &v) && !v.data &&
                  v.shape.ndim == 0 &&
                  v.value == dmbp_result_scalar(r, 1, k),
              "view of %s", name);
    }
    CHECK(dmbp_result_find_array(r, "a_pos") >= 0 &&
              dmbp_result_find_scalar(r, "F_pos") >= 0,
          "DMBP has no a_pos or F_pos");
    dmbp_tensor_view v;
    CHECK(dmbp_result_find(r, 0, "nope", &v) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "'nope'") &&
              strstr(dmbp_last_error(), "a_pos") &&
              strstr(dmbp_last_error(), "F_pos"),
          "unknown name: '%s'", dmbp_last_error());
    CHECK(dmbp_result_find(r, 2, "a_pos", &v) == DMBP_ERR_ARG,
          "image out of range accepted");
    CHECK(dmbp_result_find_array(NULL, "a_pos") == -1 &&
              dmbp_result_find_scalar(r, NULL) == -1,
          "NULL lookups");
    dmbp_result_free(r);
    dmbp_model_free(m);
}

/* dmbp_explain_options_set: each kind of option lands in its fields, the
 * method-dependent --samples, and the refusals. */
static void test_options_set(void)
{
    dmbp_explain_options o, want;
    dmbp_explain_options_init(&o);
    dmbp_explain_options_init(&want);
    o.method = want.method = DMBP_METHOD_DMBP;
    static const char *const set[][2] = {
        {"preset", "classic"}, {"iters", "7"}, {"lr", "0.125"},
        {"seed", "18446744073709551615"}, {"baseline", "blur"},
        {"samples", "3"}, {"path-steps", "2"}, {"abs", "on"},
        {"layer", "conv9"}, {"composite", "epsilon-plus"},
        {"fpmath", "bf16"}, {"ig-rule", "left"}, {"of", "grad"}};
    for (size_t k = 0; k < sizeof set / sizeof *set; k++)
        CHECK(!dmbp_explain_options_set(&o, set[k][0], set[k][1]), "%s %s: %s",
              set[k][0], set[k][1], dmbp_last_error());
    CHECK(!dmbp_explain_preset(&want, "classic"), "preset");
    want.dmbp.iterations = 7;
    want.dmbp.lr = 0.125f;
    want.smoothgrad.seed = want.rise.seed = want.dmbp.seed = UINT64_MAX;
    want.ig.baseline = want.occlusion.baseline = DMBP_BASELINE_BLUR;
    want.smoothgrad.samples = want.rise.masks = want.dmbp.samples = 3;
    want.dmbp.mask_init = DMBP_MASK_INIT_CONSTANT; /* samples > 1 */
    want.dmbp.path_steps = 2;                      /* given after it */
    want.saliency.abs = 1;
    want.gradcam.layer = set[8][1];
    want.lrp.composite = DMBP_LRP_COMPOSITE_EPSILON_PLUS;
    want.fpmath = DMBP_FPMATH_BF16;
    want.ig.rule = DMBP_IG_LEFT;
    want.smoothgrad.of_gradient = 1;
    CHECK(!memcmp(&o, &want, sizeof o), "the options differ from the fields "
          "set by hand");
    CHECK(dmbp_explain_options_set(&o, "nope", "1") == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "no option 'nope'") &&
              dmbp_explain_options_set(&o, "iters", "7x") == DMBP_ERR_ARG &&
              dmbp_explain_options_set(&o, "baseline", "grey") ==
                  DMBP_ERR_ARG,
          "refusals: %s", dmbp_last_error());
}

/* --samples K > 1 for DMBP from the default preset (a path formulation)
 * is the classic preset with noisy copies: both mask sets learn, the
 * classic iterations and weights; from the evidence preset (already at x)
 * it keeps that preset's weights; options set after it win. */
static void test_options_set_samples(void)
{
    dmbp_explain_options o, want;
    dmbp_explain_options_init(&o);
    dmbp_explain_options_init(&want);
    o.method = want.method = DMBP_METHOD_DMBP;
    CHECK(!dmbp_explain_options_set(&o, "samples", "8"), "samples: %s",
          dmbp_last_error());
    CHECK(!dmbp_explain_preset(&want, "classic"), "preset");
    want.smoothgrad.samples = want.rise.masks = want.dmbp.samples = 8;
    CHECK(!memcmp(&o, &want, sizeof o) && o.dmbp_fix_negative == 0 &&
              o.dmbp.path_steps == 0 && o.dmbp.w_evidence == 0.f,
          "the default preset with samples 8 is not the classic preset with "
          "8 samples (fix_negative %d, path_steps %d, iterations %d, "
          "w_evidence %g)", o.dmbp_fix_negative, o.dmbp.path_steps,
          o.dmbp.iterations, (double)o.dmbp.w_evidence);
    CHECK(!dmbp_explain_options_set(&o, "iters", "9") &&
              !dmbp_explain_options_set(&o, "w-evidence", "0.5") &&
              !dmbp_explain_options_set(&o, "fix-negative", "on"),
          "after samples: %s", dmbp_last_error());
    CHECK(o.dmbp.iterations == 9 && o.dmbp.w_evidence == 0.5f &&
              o.dmbp_fix_negative == 1 && o.dmbp.samples == 8,
          "options set after samples did not win");
    dmbp_explain_options_init(&o);
    dmbp_explain_options_init(&want);
    o.method = want.method = DMBP_METHOD_DMBP;
    CHECK(!dmbp_explain_options_set(&o, "preset", "evidence") &&
              !dmbp_explain_options_set(&o, "samples", "8") &&
              !dmbp_explain_preset(&want, "evidence"),
          "evidence preset: %s", dmbp_last_error());
    want.smoothgrad.samples = want.rise.masks = want.dmbp.samples = 8;
    CHECK(!memcmp(&o, &want, sizeof o),
          "samples changed the evidence preset's settings");
}

/* dmbp_eval_options_set: every option into its field (the same struct as
 * set by hand), each substrate list in its own order, and the refusals. */
static void test_eval_options_set(void)
{
    dmbp_eval_options o, want;
    dmbp_eval_options_init(&o);
    dmbp_eval_options_init(&want);
    static const char *const set[][2] = {
        {"curve-steps", "7"}, {"step-pixels", "224"}, {"regions", "5"},
        {"region-size", "3"}, {"max-lanes", "9"},
        {"seed", "18446744073709551615"}, {"substrate", "mean"},
        {"insertion-start", "zero"}};
    for (size_t k = 0; k < sizeof set / sizeof *set; k++)
        CHECK(!dmbp_eval_options_set(&o, set[k][0], set[k][1]), "%s %s: %s",
              set[k][0], set[k][1], dmbp_last_error());
    want.steps = 7;
    want.step_pixels = 224;
    want.regions = 5;
    want.region_size = 3;
    want.max_lanes = 9;
    want.seed = UINT64_MAX;
    want.deletion_substrate = DMBP_SUBSTRATE_MEAN;
    want.insertion_start = DMBP_SUBSTRATE_ZERO;
    CHECK(!memcmp(&o, &want, sizeof o), "the eval options differ from the "
          "fields set by hand");
    CHECK(!dmbp_eval_options_set(&o, "substrate", "blur") &&
              o.deletion_substrate == DMBP_SUBSTRATE_BLUR &&
              !dmbp_eval_options_set(&o, "insertion-start", "blur") &&
              o.insertion_start == DMBP_SUBSTRATE_BLUR,
          "blur: %s", dmbp_last_error());
    static const char *const bad[][3] = {
        {"nope", "1", "no option 'nope'"},
        {"curve-steps", "7x", "curve-steps '7x'"},
        {"regions", "99999999999", "regions '99999999999'"},
        {"seed", "-1", "seed '-1'"},
        {"substrate", "grey", "substrate 'grey': expected one of zero|"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CHECK(dmbp_eval_options_set(&o, bad[k][0], bad[k][1]) ==
                      DMBP_ERR_ARG &&
                  strstr(dmbp_last_error(), bad[k][2]),
              "%s %s: '%s'", bad[k][0], bad[k][1], dmbp_last_error());
    CHECK(o.steps == 7 && o.regions == 5 && o.seed == UINT64_MAX,
          "a refusal changed the options");
    o.struct_size = 0; /* not made by the _init macro */
    CHECK(dmbp_eval_options_set(&o, "regions", "4") == DMBP_ERR_ARG &&
              o.regions == 5,
          "struct_size 0 accepted");
}

int main(void)
{
    test_version();
    test_options_set();
    test_options_set_samples();
    test_eval_options_set();
    test_two_versions();
    test_public_readers();
    test_find();
    if (failures) {
        fprintf(stderr, "test_options: %d failures\n", failures);
        return 1;
    }
    printf("test_options: ok\n");
    return 0;
}
