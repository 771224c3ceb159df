/* One image's files from one call (dmbp_result_write_outputs,
 * dmbp_render_pictures, dmbp_output_path, dmbp_result_render_scale and
 * dmbp_result_shared_scale in dmbp_render.h), each against what the lower public calls it stands for
 * write here: every picture byte for byte against dmbp_render_*_original
 * and dmbp_render_mappings with the options and caption that file should
 * have, the .npy against the result's arrays, the masks against
 * dmbp_result_write_masks_json, the JSON members' paths and label; a
 * non-negative map of three channels against the sequential rendering of
 * their mean; bad arguments refused. And dmbp_write_file: the bytes
 * read back, nothing left where it cannot write. */
#include "testlib.h"

#include <dmbp_setrun.h>

#include <dmbp.h>
#include <dmbp_render.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static char *path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Two files hold the same bytes. */
static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = tl_read_file(a, &na), *y = tl_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static double sum(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static const float *array(const dmbp_result *r, const char *name)
{
    int k = dmbp_result_find_array(r, name);
    return k < 0 ? NULL : dmbp_result_array(r, 0, k);
}

static dmbp_result *explain(dmbp_model *m, const dmbp_image *x,
                            dmbp_method method)
{
    tl_quick q = {.ig_steps = 2, .sg_samples = 2, .dmbp_iters = 3};
    return tl_explain_one(m, x->data, x->channels, x->height, x->width,
                          method, &q);
}

static void test_dmbp(dmbp_model *m, const dmbp_image *orig,
                      const dmbp_preprocess_options *pre,
                      const dmbp_image *x)
{
    dmbp_result *r = explain(m, x, DMBP_METHOD_DMBP);
    if (!r)
        return;
    int c = x->channels, h = x->height, w = x->width;
    size_t per = (size_t)c * h * w;
    const float *wp = array(r, "w_pos"), *wn = array(r, "w_neg"),
                *ap = array(r, "a_pos"), *an = array(r, "a_neg"),
                *nu = array(r, "nuisance");
    dmbp_render_options ro;
    dmbp_render_options_init(&ro);
    ro.colorbar = 1;
    dmbp_output_options o;
    dmbp_output_options_init(&o);
    o.render = &ro;
    o.caption = 1;
    o.label = "coat";
    char masks[256];
    snprintf(masks, sizeof masks, "%s", path("m.json"));
    o.masks = masks;
    o.image_name = "coat.png";
    char *members = NULL;
    size_t len = 0;
    FILE *json = open_memstream(&members, &len);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s", path("x"));
    CHECK(dmbp_result_write_outputs(r, 0, orig, pre, prefix, &o, json) ==
              DMBP_OK,
          "write: %s", dmbp_last_error());
    fclose(json);

    /* The references, by the calls each file stands for. */
    char caption[DMBP_RENDER_CAPTION_MAX + 1];
    snprintf(caption, sizeof caption, "coat (%d) dmbp F+ %.4g F- %.4g "
             "Fn %.4g", dmbp_result_target(r, 0), sum(ap, per),
             sum(an, per), sum(nu, per));
    ro.caption = caption;
    CHECK(dmbp_render_signed_original(ap, an, c, h, w, orig, pre, &ro,
                                      path("ref.png")) == DMBP_OK &&
              same_file(path("x.png"), path("ref.png")),
          "x.png differs from dmbp_render_signed_original with caption '%s'",
          caption);
    ro.part = DMBP_RENDER_POSITIVE;
    CHECK(dmbp_render_signed_original(ap, an, c, h, w, orig, pre, &ro,
                                      path("ref.png")) == DMBP_OK &&
              same_file(path("x-pos.png"), path("ref.png")),
          "x-pos.png differs");
    ro.part = DMBP_RENDER_NEGATIVE;
    CHECK(dmbp_render_signed_original(ap, an, c, h, w, orig, pre, &ro,
                                      path("ref.png")) == DMBP_OK &&
              same_file(path("x-neg.png"), path("ref.png")),
          "x-neg.png differs");
    ro.part = DMBP_RENDER_BOTH;
    ro.caption = NULL;
    CHECK(dmbp_render_mappings(wp, wn, c, h, w, &ro, path("ref.png")) ==
                  DMBP_OK &&
              same_file(path("x-mappings.png"), path("ref.png")),
          "x-mappings.png differs");
    float *v = NULL;
    int64_t dims[NPY_MAX_DIMS];
    int nd = 0;
    CHECK(npy_read_f32(path("x.npy"), &v, dims, &nd) == 0 && nd == 4 &&
              dims[0] == 5 && dims[1] == c && dims[2] == h && dims[3] == w,
          "x.npy: shape");
    const float *parts[5] = {wp, wn, ap, an, nu};
    for (int k = 0; v && nd == 4 && k < 5; k++)
        CHECK(!memcmp(v + k * per, parts[k], per * sizeof *v),
              "x.npy: array %d differs", k);
    free(v);
    FILE *mf = fopen(path("ref.json"), "w");
    CHECK(mf && dmbp_result_write_masks_json(r, 0, "coat.png", mf) ==
                    DMBP_OK,
          "masks reference");
    if (mf)
        fclose(mf);
    CHECK(same_file(path("m.json"), path("ref.json")), "m.json differs");

    char want[1024];
    snprintf(want, sizeof want, "\"outputs\": {\"png\": \"%s.png\", "
             "\"pos\": \"%s-pos.png\", \"neg\": \"%s-neg.png\", "
             "\"mappings\": \"%s-mappings.png\", \"npy\": \"%s.npy\", "
             "\"masks\": \"%s\"}", prefix, prefix, prefix, prefix, prefix,
             o.masks);
    CHECK(members && strstr(members, want), "json: no '%s' in %s", want,
          members ? members : "");
    /* DMBP's F is among its scalars, not before its outputs. */
    const char *F = members ? strstr(members, "\"F\": ") : NULL;
    const char *outs = members ? strstr(members, "\"outputs\"") : NULL;
    CHECK(members && !strncmp(members, "\"method\": \"dmbp\", \"target\": ",
                              28) &&
              strstr(members, "\"label\": \"coat\"") &&
              strstr(members, "\"scalars\": {") && outs && F > outs,
          "json: %s", members ? members : "");
    free(members);

    double s, want_s;
    CHECK(dmbp_result_render_scale(r, 0, NULL, &s) == DMBP_OK &&
              dmbp_render_scale(ap, an, c, h, w, NULL, &want_s) == DMBP_OK &&
              s == want_s && s > 0,
          "render scale %g, want %g", s, want_s);
    CHECK(dmbp_result_write_outputs(r, 1, orig, pre, prefix, &o, NULL) ==
                  DMBP_ERR_ARG &&
              dmbp_result_write_outputs(r, 0, orig, pre, NULL, &o, NULL) ==
                  DMBP_ERR_ARG,
          "image out of range, or no prefix");
    dmbp_output_options bad = o;
    bad.struct_size = 0;
    CHECK(dmbp_result_write_outputs(r, 0, orig, pre, prefix, &bad, NULL) ==
              DMBP_ERR_ARG,
          "struct_size 0 accepted");
    dmbp_result_free(r);
}

/* dmbp_method_list_parse: a list in order, and each refusal. */
static void test_method_list(void)
{
    dmbp_method m[DMBP_NUM_METHODS];
    int n = -1;
    CHECK(!dmbp_method_list_parse("gxi,dmbp,gradcam++", "--methods", m, &n) &&
              n == 3 && m[0] == DMBP_METHOD_GXI && m[1] == DMBP_METHOD_DMBP &&
              m[2] == DMBP_METHOD_GRADCAMPP,
          "a list: %d (%s)", n, dmbp_last_error());
    static const char *const bad[][2] = {
        {"gxi,,ig", "--methods 'gxi,,ig': an empty method name"},
        {"gxi,nope", "--methods: unknown method 'nope' (expected saliency, "},
        {"ig,gxi,ig", "--methods: ig is listed twice"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CHECK(dmbp_method_list_parse(bad[k][0], "--methods", m, &n) ==
                      DMBP_ERR_ARG &&
                  !strncmp(dmbp_last_error(), bad[k][1], strlen(bad[k][1])),
              "'%s': %s", bad[k][0], dmbp_last_error());
}

/* dmbp_progress: each form of the line, redrawn over the last. */
static void test_progress(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dmbp_progress p;
    dmbp_progress_start(&p, f, DMBP_METHOD_IG, 2, 1, 9);
    dmbp_progress_explain(&p, 0, 1, 4, 4, NAN);
    dmbp_progress_start(&p, f, DMBP_METHOD_DMBP, 0, 2, 4);
    dmbp_progress_explain(&p, 0, 2, 40, 40, 0.5);
    dmbp_progress_start(&p, f, DMBP_METHOD_SALIENCY, 0, 5, 5);
    dmbp_progress_explain(&p, 0, 5, 5, 5, NAN);
    dmbp_progress_clear(&p);
    fclose(f);
    const char *want = "\rdmbp: image 3 of 9  steps 4/4"
                       "\rdmbp: images 1-2 of 4  iteration 40/40  loss 0.5"
                       "\rdmbp: image 5 of 5\r                  \r";
    CHECK(buf && !strcmp(buf, want), "progress: '%s'", buf ? buf : "");
    free(buf);
}

/* dmbp_result_write_line and _write_top_masks against the accessors. */
static void test_lines(dmbp_model *m, const dmbp_image *x)
{
    dmbp_result *r = explain(m, x, DMBP_METHOD_DMBP);
    if (!r)
        return;
    char *buf = NULL, want[512];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dmbp_status st = dmbp_result_write_line(r, 0, "c.png", NULL, "o.png", 0,
                                            f);
    fflush(f);
    snprintf(want, sizeof want, "c.png: class %d (-) logit %.4f p=%.4f -> "
             "o.png", dmbp_result_target(r, 0), dmbp_result_logit(r, 0),
             dmbp_result_prob(r, 0));
    CHECK(!st && buf && !strcmp(buf, want), "line: %s, want %s", buf, want);
    rewind(f);
    st = dmbp_result_write_line(r, 0, "c.png", "Coat", "o.png", 1, f);
    fflush(f);
    double fp = tl_scalar(r, 0, "F_pos");
    snprintf(want, sizeof want, " F+ %.4g F- ", fp);
    CHECK(!st && strstr(buf, "(Coat)") && strstr(buf, want) &&
              strstr(buf, " Fn "), "line with details: %s", buf);
    rewind(f);
    st = dmbp_result_write_top_masks(r, 0, 2, f);
    fflush(f);
    const char *name;
    int ch, idx[2];
    int64_t off;
    CHECK(!st && !dmbp_result_mask_layer(r, 0, &name, &ch, &off) &&
              dmbp_result_top_masks(r, 0, 0, 0, 2, idx) == 2,
          "masks: %s", dmbp_last_error());
    snprintf(want, sizeof want, "%s (%d channels)\n  m+  %d:%.4f  %d:%.4f\n",
             name, ch, idx[0], dmbp_result_masks(r, 0, 0)[off + idx[0]],
             idx[1], dmbp_result_masks(r, 0, 0)[off + idx[1]]);
    int lines = 0;
    for (const char *p = buf; (p = strchr(p, '\n')); p++)
        lines++;
    CHECK(!strncmp(buf, want, strlen(want)) &&
              lines == 3 * dmbp_result_num_mask_layers(r),
          "top masks:\n%s\nwant first:\n%s", buf, want);
    fclose(f);
    free(buf);
    dmbp_result_free(r);
}

static void test_gxi(dmbp_model *m, const dmbp_image *orig,
                     const dmbp_preprocess_options *pre, const dmbp_image *x)
{
    dmbp_result *r = explain(m, x, DMBP_METHOD_GXI);
    if (!r)
        return;
    int c = x->channels, h = x->height, w = x->width;
    const float *map = array(r, "map");
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s", path("g"));
    CHECK(dmbp_result_write_outputs(r, 0, orig, pre, prefix, NULL, NULL) ==
              DMBP_OK,
          "gxi: %s", dmbp_last_error());
    CHECK(dmbp_result_signed(r) &&
              dmbp_render_signed_original(map, map, c, h, w, orig, pre, NULL,
                                          path("ref.png")) == DMBP_OK &&
              same_file(path("g.png"), path("ref.png")),
          "g.png differs");
    CHECK(access(path("g-pos.png"), F_OK) != 0, "gxi wrote g-pos.png");
    float *v = NULL;
    int64_t dims[NPY_MAX_DIMS];
    int nd = 0;
    CHECK(npy_read_f32(path("g.npy"), &v, dims, &nd) == 0 && nd == 3 &&
              !memcmp(v, map, (size_t)c * h * w * sizeof *v),
          "g.npy differs");
    free(v);
    dmbp_output_options o;
    dmbp_output_options_init(&o);
    o.masks = path("g.json");
    CHECK(dmbp_result_write_outputs(r, 0, orig, pre, prefix, &o, NULL) ==
              DMBP_ERR_ARG,
          "masks of a gxi result accepted");
    /* The names: what gxi writes, and a short buffer. */
    char buf[8];
    size_t n = dmbp_output_path(DMBP_METHOD_GXI, prefix, &o, DMBP_OUTPUT_PNG,
                                buf, sizeof buf);
    CHECK(n == strlen(prefix) + 4 && strlen(buf) == sizeof buf - 1 &&
              !strncmp(buf, prefix, sizeof buf - 1),
          "short buffer: %zu '%s'", n, buf);
    CHECK(dmbp_output_path(DMBP_METHOD_GXI, prefix, &o, DMBP_OUTPUT_POS,
                           buf, sizeof buf) == 0 &&
              dmbp_output_path(DMBP_METHOD_GXI, prefix, &o,
                               DMBP_OUTPUT_MASKS, buf, sizeof buf) == 0 &&
              dmbp_output_path(DMBP_METHOD_DMBP, prefix, NULL,
                               DMBP_OUTPUT_MASKS, buf, sizeof buf) == 0 &&
              dmbp_output_path(DMBP_METHOD_DMBP, prefix, NULL,
                               DMBP_OUTPUT_COUNT, buf, sizeof buf) == 0,
          "paths a method does not write");
    CHECK(!strcmp(dmbp_output_kind(DMBP_OUTPUT_MAPPINGS), "mappings") &&
              dmbp_output_kind(DMBP_OUTPUT_COUNT) == NULL,
          "kinds");
    dmbp_result_free(r);
}

/* A non-negative map of three channels is drawn as their mean. */
static void test_mean(const dmbp_image *orig,
                      const dmbp_preprocess_options *pre, int h, int w)
{
    size_t np = (size_t)h * w;
    float *a = malloc(3 * np * sizeof *a), *mean = malloc(np * sizeof *a);
    for (size_t p = 0; a && mean && p < np; p++) {
        for (int c = 0; c < 3; c++)
            a[c * np + p] = (float)((p * (c + 1)) % 17);
        mean[p] = (float)(((double)a[p] + a[np + p] + a[2 * np + p]) / 3);
    }
    CHECK(a && mean &&
              dmbp_render_pictures(DMBP_METHOD_SALIENCY, 0, 3, a, 3, h, w,
                                   orig, pre, path("s"), NULL) == DMBP_OK &&
              dmbp_render_sequential_original(mean, h, w, orig, pre, NULL,
                                              path("ref.png")) == DMBP_OK &&
              same_file(path("s.png"), path("ref.png")),
          "the channels' mean: %s", dmbp_last_error());
    CHECK(dmbp_render_pictures(DMBP_METHOD_SALIENCY, 0, 3, NULL, 3, h, w,
                               orig, pre, path("s"), NULL) == DMBP_ERR_ARG,
          "NULL arrays accepted");
    free(a);
    free(mean);
}

static void test_write_file(void)
{
    const char text[] = "{\"a\": 1}\n";
    size_t n = 0;
    unsigned char *back = NULL;
    CHECK(dmbp_write_file(path("w.json"), text, sizeof text - 1) == DMBP_OK &&
              (back = tl_read_file(path("w.json"), &n)) &&
              n == sizeof text - 1 && !memcmp(back, text, n),
          "dmbp_write_file: %s", dmbp_last_error());
    free(back);
    CHECK(dmbp_write_file(path("w.json"), NULL, 0) == DMBP_OK &&
              (back = tl_read_file(path("w.json"), &n)) && n == 0,
          "an empty file over it");
    free(back);
    CHECK(dmbp_write_file(path("no/such/w.json"), text, 3) == DMBP_ERR_IO &&
              strstr(dmbp_last_error(), "no/such/w.json") &&
              access(path("no/such/w.json"), F_OK) != 0,
          "a missing directory: %s", dmbp_last_error());
    CHECK(dmbp_write_file(NULL, text, 3) == DMBP_ERR_ARG &&
              dmbp_write_file(path("w.json"), NULL, 3) == DMBP_ERR_ARG,
          "NULL path or data");
}

/* dmbp explain's names: stems, prefixes with and without -o, numbered
 * to sort, masks files; and two outputs of one name refused. */
static void test_names(void)
{
    static const struct {
        const char *dir, *prefix, *image;
        int i, n;
        const char *want;
    } p[] = {{NULL, NULL, "x/Coat.PNG", 0, 1, "Coat-gxi"},
             {"out", NULL, "a.jpeg", 3, 9, "out/a-gxi"},
             {"/", NULL, "a.jpg", 0, 2, "/a-gxi"},
             {NULL, "pre", "a.png", 0, 1, "pre"},
             {NULL, "pre", "d/b.png", 1, 2, "pre-02-b"},
             {NULL, "pre", "c.png", 4, 120, "pre-005-c"},
             {NULL, NULL, "-", 0, 1, "stdin-gxi"}};
    for (size_t k = 0; k < sizeof p / sizeof *p; k++) {
        char *s = dmbp_output_prefix(p[k].dir, p[k].prefix, p[k].image,
                                     p[k].i, p[k].n, DMBP_METHOD_GXI);
        CHECK(s && !strcmp(s, p[k].want), "prefix %zu: %s, want %s", k,
              s ? s : "NULL", p[k].want);
        free(s);
    }
    static const struct {
        const char *file;
        int i, n;
        const char *want;
    } m[] = {{"m.json", 0, 1, "m.json"}, {"m.JSON", 1, 3, "m-2.JSON"},
             {"m", 2, 3, "m-3"}};
    for (size_t k = 0; k < sizeof m / sizeof *m; k++) {
        char *s = dmbp_output_masks_path(m[k].file, m[k].i, m[k].n);
        CHECK(s && !strcmp(s, m[k].want), "masks %zu: %s, want %s", k,
              s ? s : "NULL", m[k].want);
        free(s);
    }
    const char *outs[4] = {"o/a", "o/b", "o/c", "o/b"};
    const char *names[4] = {"a.png", "b.png", "c.png", "x/b.jpg"};
    CHECK(!dmbp_check_unique_outputs(outs, names, 3), "three names");
    CHECK(dmbp_check_unique_outputs(outs, names, 4) == DMBP_ERR_ARG &&
              !strcmp(dmbp_last_error(),
                      "b.png and x/b.jpg would both write o/b"),
          "one name twice: %s", dmbp_last_error());
}

/* dmbp_result_shared_scale: the larger of two images' own scales (two
 * samples whose scales differ, in both orders), NULL refused. */
static void test_shared_scale(dmbp_model *m)
{
    static const char *const rels[2][2] = {
        {"models/samples/coat.png", "models/samples/trouser.png"},
        {"models/samples/trouser.png", "models/samples/coat.png"}};
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_GXI;
    dmbp_session *s = NULL;
    CHECK(!dmbp_session_create(m, &s), "session: %s", dmbp_last_error());
    for (int order = 0; s && order < 2; order++) {
        int c, h, w;
        float *xs = tl_inputs(m, rels[order], 2, &c, &h, &w);
        dmbp_result *r = NULL;
        CHECK(xs && !dmbp_explain(s, xs, 2, c, h, w, NULL, &o, &r),
              "explain two images: %s", dmbp_last_error());
        double s0 = 0, s1 = 0, shared = -1;
        CHECK(r && !dmbp_result_render_scale(r, 0, NULL, &s0) &&
                  !dmbp_result_render_scale(r, 1, NULL, &s1) && s0 != s1 &&
                  s0 > 0 && s1 > 0,
              "the two images' scales %g and %g", s0, s1);
        dmbp_render_options ro;
        dmbp_render_options_init(&ro);
        CHECK(r && !dmbp_result_shared_scale(r, &ro, &ro.scale) &&
                  ro.scale == fmax(s0, s1),
              "order %d: shared scale %g, want %g", order, ro.scale,
              fmax(s0, s1));
        CHECK(r && !dmbp_result_shared_scale(r, NULL, &shared) &&
                  shared == fmax(s0, s1),
              "shared scale with the default options %g", shared);
        CHECK(dmbp_result_shared_scale(NULL, NULL, &shared) ==
                      DMBP_ERR_ARG &&
                  dmbp_result_shared_scale(r, NULL, NULL) == DMBP_ERR_ARG,
              "NULL accepted");
        dmbp_result_free(r);
        free(xs);
    }
    dmbp_session_free(s);
}

int main(void)
{
    test_names();
    test_progress();
    test_method_list();
    snprintf(dir, sizeof dir, "/tmp/test_outputs.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    dmbp_preprocess_options pre;
    dmbp_image orig = {0}, x = {0};
    if (!m || dmbp_model_preprocess_defaults(m, &pre) ||
        dmbp_image_load(test_path("models/samples/coat.png"), NULL, &orig) ||
        dmbp_image_preprocess(&orig, &pre, &x)) {
        FAIL("setup: %s", dmbp_last_error());
        return 1;
    }
    test_dmbp(m, &orig, &pre, &x);
    test_shared_scale(m);
    test_gxi(m, &orig, &pre, &x);
    test_lines(m, &x);
    test_mean(&orig, &pre, x.height, x.width);
    test_write_file();
    dmbp_image_free(&x);
    dmbp_image_free(&orig);
    dmbp_model_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        FAIL("cannot remove %s", dir);
    printf("test_outputs: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
