/* testlib.c - what the C tests share (testlib.h). */
#include "testlib.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

int checks, failures;

/* The DMBP scalar that is a wall-clock time, not a result. */
#define SECONDS_SCALAR "seconds"

/* First buffer size of tl_read_file; it doubles as needed. */
#define READ_CHUNK (1 << 16)

unsigned char *tl_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = READ_CHUNK, len = 0, got;
    unsigned char *b = malloc(cap);
    while (b && (got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    if (b && ferror(f)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = len;
    return b;
}

unsigned char *tl_read_png_rgb(const char *path, int *h, int *w)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) {
        FAIL("%s: libpng cannot read it: %s", path, png.message);
        return NULL;
    }
    if (png.format != PNG_FORMAT_RGB) {
        FAIL("%s: stored format 0x%x, expected 8-bit RGB (0x%x)", path,
             (unsigned)png.format, (unsigned)PNG_FORMAT_RGB);
        png_image_free(&png);
        return NULL;
    }
    unsigned char *px = malloc(PNG_IMAGE_SIZE(png));
    if (!px || !png_image_finish_read(&png, NULL, px, 0, NULL)) {
        FAIL("%s: libpng cannot decode it: %s", path, png.message);
        free(px);
        png_image_free(&png);
        return NULL;
    }
    *h = (int)png.height;
    *w = (int)png.width;
    return px;
}

double tl_pearson(const float *a, const float *b, int64_t n)
{
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 && sbb == 0)
        return 1; /* both constant */
    return sab / sqrt(saa * sbb);
}

double tl_scalar(const dmbp_result *r, int image, const char *name)
{
    int k = dmbp_result_find_scalar(r, name);
    return k < 0 ? NAN : dmbp_result_scalar(r, image, k);
}

dmbp_model *tl_model(const char *rel)
{
    dmbp_model *m = NULL;
    if (dmbp_model_load(test_path(rel), &m)) {
        FAIL("%s: %s", rel, dmbp_last_error());
        return NULL;
    }
    return m;
}

int tl_input(const dmbp_model *m, const char *rel, dmbp_image *x)
{
    dmbp_preprocess_options pre;
    dmbp_image img;
    if (dmbp_model_preprocess_defaults(m, &pre) ||
        dmbp_image_load(test_path(rel), NULL, &img)) {
        FAIL("%s: %s", rel, dmbp_last_error());
        return -1;
    }
    dmbp_status st = dmbp_image_preprocess(&img, &pre, x);
    dmbp_image_free(&img);
    if (st) {
        FAIL("%s: preprocess: %s", rel, dmbp_last_error());
        return -1;
    }
    return 0;
}

float *tl_inputs(const dmbp_model *m, const char *const *rels, int n,
                 int *c, int *h, int *w)
{
    float *all = NULL;
    size_t per = 0;
    for (int i = 0; i < n; i++) {
        dmbp_image x;
        if (tl_input(m, rels[i], &x)) {
            free(all);
            return NULL;
        }
        size_t size = (size_t)x.channels * x.height * x.width;
        if (!all) {
            per = size;
            *c = x.channels;
            *h = x.height;
            *w = x.width;
            all = malloc(sizeof(float) * per * (size_t)n);
        }
        if (!all || size != per) {
            FAIL("%s: %s", rels[i], all ? "not the first image's size"
                                        : "out of memory");
            dmbp_image_free(&x);
            free(all);
            return NULL;
        }
        memcpy(all + per * (size_t)i, x.data, sizeof(float) * per);
        dmbp_image_free(&x);
    }
    return all;
}

void tl_quick_options(dmbp_explain_options *o, dmbp_method meth,
                      const tl_quick *q)
{
    dmbp_explain_options_init(o);
    o->method = meth;
    o->ig.steps = q->ig_steps;
    o->smoothgrad.samples = q->sg_samples;
    o->dmbp.iterations = q->dmbp_iters;
    if (q->rise_masks > 0)
        o->rise.masks = q->rise_masks;
    o->smoothgrad.seed = o->dmbp.seed = o->rise.seed = TL_SEED;
}

dmbp_result *tl_explain_one(dmbp_model *m, const float *x, int c, int h,
                            int w, dmbp_method meth, const tl_quick *q)
{
    dmbp_explain_options o;
    tl_quick_options(&o, meth, q);
    dmbp_session *s = NULL;
    dmbp_result *r = NULL;
    int target = -1;
    if (dmbp_session_create(m, &s) != DMBP_OK ||
        dmbp_explain(s, x, 1, c, h, w, &target, &o, &r) != DMBP_OK)
        FAIL("explain %s: %s", dmbp_method_name(meth), dmbp_last_error());
    dmbp_session_free(s);
    return r;
}

static int same_floats(const float *a, const float *b, int64_t n)
{
    return (a == NULL) == (b == NULL) &&
           (!a || !memcmp(a, b, sizeof(float) * (size_t)n));
}

int tl_same_result(const dmbp_result *a, const dmbp_result *b)
{
    int n = dmbp_result_num_images(a);
    if (n != dmbp_result_num_images(b) ||
        dmbp_result_num_arrays(a) != dmbp_result_num_arrays(b) ||
        dmbp_result_num_scalars(a) != dmbp_result_num_scalars(b) ||
        dmbp_result_num_masks(a) != dmbp_result_num_masks(b) ||
        dmbp_result_num_iterations(a) != dmbp_result_num_iterations(b))
        return 0;
    dmbp_shape sa = dmbp_result_array_shape(a);
    dmbp_shape sb = dmbp_result_array_shape(b);
    int64_t numel = dmbp_shape_numel(&sa);
    if (numel != dmbp_shape_numel(&sb))
        return 0;
    for (int i = 0; i < n; i++) {
        float la = dmbp_result_logit(a, i), lb = dmbp_result_logit(b, i);
        float pa = dmbp_result_prob(a, i), pb = dmbp_result_prob(b, i);
        if (dmbp_result_target(a, i) != dmbp_result_target(b, i) ||
            memcmp(&la, &lb, sizeof la) || memcmp(&pa, &pb, sizeof pa))
            return 0;
        for (int k = 0; k < dmbp_result_num_arrays(a); k++)
            if (!same_floats(dmbp_result_array(a, i, k),
                             dmbp_result_array(b, i, k), numel))
                return 0;
        for (int k = 0; k < dmbp_result_num_scalars(a); k++) {
            double x = dmbp_result_scalar(a, i, k);
            double y = dmbp_result_scalar(b, i, k);
            if (strcmp(dmbp_result_scalar_name(a, k), SECONDS_SCALAR) &&
                memcmp(&x, &y, sizeof x))
                return 0;
        }
        for (int set = 0; set < 2; set++)
            if (!same_floats(dmbp_result_masks(a, i, set),
                             dmbp_result_masks(b, i, set),
                             dmbp_result_num_masks(a)))
                return 0;
        if (!same_floats(dmbp_result_loss_curve(a, i),
                         dmbp_result_loss_curve(b, i),
                         dmbp_result_num_iterations(a)))
            return 0;
    }
    return 1;
}
