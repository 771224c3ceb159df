/* JPEG loading against Pillow: tests/ref/make_jpeg_fixtures.py wrote each
 * file and the bytes Pillow decodes from it. Pillow links the same
 * libjpeg-turbo (libjpeg.so.62) with the same settings, so the bytes must
 * match exactly: no tolerance. (Were the fixtures regenerated against
 * another libjpeg version, the IDCT and upsampler could round a pixel
 * differently by one level; that would show up here as a failure to look
 * at, not as something to absorb.) Also: format detection from content,
 * loading from memory, EXIF orientation, bad files and the pixel budget. */
#include <dmbp.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define DIR "tests/ref/data/jpeg/"
#define SAMPLE_MAX 255.0
#define EXIF_ORIENTATIONS 8

/* Compare img with the Pillow bytes in npy (C x H x W, floats 0..255):
 * every pixel must round to the same byte. */
static void compare(const char *what, const dmbp_image *img, const char *npy)
{
    float *exp;
    int64_t dims[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(test_path(npy), &exp, dims, &nd)) {
        CHECK(0, "%s: cannot read %s", what, npy);
        return;
    }
    if (nd != 3 || dims[0] != img->channels || dims[1] != img->height ||
        dims[2] != img->width) {
        CHECK(0, "%s: shape %dx%dx%d, Pillow %lldx%lldx%lld", what,
              img->channels, img->height, img->width, (long long)dims[0],
              (long long)dims[1], (long long)dims[2]);
        free(exp);
        return;
    }
    int64_t n = npy_numel(dims, nd), bad = 0, first = -1;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = img->data[i] * SAMPLE_MAX;
        double d = fabs(v - exp[i]);
        if (fabs(v - rint(v)) > 1e-3 || d > 1e-3) {
            if (first < 0)
                first = i;
            bad++;
        }
        if (d > worst)
            worst = d;
    }
    CHECK(bad == 0,
          "%s: %lld of %lld values differ from Pillow (first at %lld: %g vs "
          "%g; max |diff| %g levels)",
          what, (long long)bad, (long long)n, (long long)first,
          first >= 0 ? img->data[first] * SAMPLE_MAX : 0.0,
          first >= 0 ? exp[first] : 0.0, worst);
    printf("%-22s %dx%dx%d  max |diff| %g levels\n", what, img->channels,
           img->height, img->width, worst);
    free(exp);
}

static void kinds(void)
{
    static const char *const cases[] = {
        "baseline_444", "baseline_420",    "baseline_422",
        "progressive_420", "progressive_444", "gray",
        "gray_progressive", "rgb_adobe",   "cmyk",
        "cmyk_progressive", "ycck"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char jpg[256], npy[256];
        snprintf(jpg, sizeof jpg, DIR "%s.jpg", cases[i]);
        snprintf(npy, sizeof npy, DIR "%s.npy", cases[i]);
        dmbp_image img;
        dmbp_status st = dmbp_image_load(test_path(jpg), NULL, &img);
        CHECK(st == DMBP_OK, "%s: %s", cases[i], dmbp_last_error());
        if (st)
            continue;
        compare(cases[i], &img, npy);
        dmbp_image_free(&img);
    }
}

/* Each orientation, with the option (Pillow's exif_transpose) and
 * without (the stored pixels, which are baseline_444's: same encoder
 * settings, same picture). */
static void exif(void)
{
    dmbp_image_load_options o;
    dmbp_image_load_options_init(&o);
    CHECK(o.exif_rotate == 0, "exif_rotate default %d", o.exif_rotate);
    for (int n = 1; n <= EXIF_ORIENTATIONS; n++) {
        char jpg[256], npy[256], what[64];
        snprintf(jpg, sizeof jpg, DIR "exif_%d.jpg", n);
        snprintf(npy, sizeof npy, DIR "exif_%d.npy", n);
        dmbp_image img;
        o.exif_rotate = 1;
        snprintf(what, sizeof what, "exif_%d rotated", n);
        dmbp_status st = dmbp_image_load(test_path(jpg), &o, &img);
        CHECK(st == DMBP_OK, "%s: %s", what, dmbp_last_error());
        if (!st) {
            compare(what, &img, npy);
            dmbp_image_free(&img);
        }
        o.exif_rotate = 0;
        snprintf(what, sizeof what, "exif_%d as stored", n);
        st = dmbp_image_load(test_path(jpg), &o, &img);
        CHECK(st == DMBP_OK, "%s: %s", what, dmbp_last_error());
        if (!st) {
            compare(what, &img, DIR "baseline_444.npy");
            dmbp_image_free(&img);
        }
    }
}

/* The same bytes from memory; a JPEG named .png and a PNG named .jpg are
 * recognised by content (both go through the memory path with misleading
 * names, and the PNG API refuses a JPEG). */
static void memory(void)
{
    size_t n = 0;
    unsigned char *buf = tl_read_file(test_path(DIR "progressive_420.jpg"), &n);
    CHECK(buf != NULL, "cannot read progressive_420.jpg");
    if (!buf)
        return;
    dmbp_image img;
    dmbp_status st = dmbp_image_load_memory(buf, n, "photo.png", NULL, &img);
    CHECK(st == DMBP_OK, "memory: %s", dmbp_last_error());
    if (!st) {
        compare("memory", &img, DIR "progressive_420.npy");
        dmbp_image_free(&img);
    }
    free(buf);

    buf = tl_read_file(test_path("models/samples/coat.png"), &n);
    CHECK(buf != NULL, "cannot read coat.png");
    if (buf) {
        dmbp_image a, b;
        st = dmbp_image_load_memory(buf, n, "coat.jpg", NULL, &a);
        CHECK(st == DMBP_OK, "png from memory: %s", dmbp_last_error());
        dmbp_status st2 =
            dmbp_image_load(test_path("models/samples/coat.png"), NULL, &b);
        CHECK(st2 == DMBP_OK, "png: %s", dmbp_last_error());
        if (!st && !st2)
            CHECK(a.width == b.width && a.height == b.height &&
                      a.channels == b.channels &&
                      !memcmp(a.data, b.data,
                              (size_t)a.width * (size_t)a.height *
                                  (size_t)a.channels * sizeof(float)),
                  "PNG from memory differs from the file");
        dmbp_image_free(&a);
        dmbp_image_free(&b);
        free(buf);
    }
    st = dmbp_image_load_memory(NULL, 0, NULL, NULL, &img);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(), "<memory>") &&
              strstr(dmbp_last_error(), "empty"),
          "empty memory: %d %s", st, dmbp_last_error());
    st = dmbp_image_load_memory("hello", 5, "x", NULL, &img);
    CHECK(st == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "not a PNG or JPEG"),
          "text: %d %s", st, dmbp_last_error());
    CHECK(img.data == NULL, "failed load left data");
}

static void bad(void)
{
    static const struct {
        const char *file, *needle;
    } cases[] = {
        {"bad_truncated_header.jpg", "truncated JPEG"},
        {"bad_truncated_data.jpg", "truncated JPEG"},
        {"bad_12bit.jpg", "precision 12"},
        {"bad_zero_width.jpg", "JPEG"},
        {"bad_dqt.jpg", "JPEG"},
        {"bad_soi_only.jpg", "JPEG"},
        {"cmyk_noadobe.jpg", "without an Adobe marker"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256];
        snprintf(path, sizeof path, DIR "%s", cases[i].file);
        dmbp_image img;
        dmbp_status st = dmbp_image_load(test_path(path), NULL, &img);
        const char *msg = dmbp_last_error();
        CHECK(st == DMBP_ERR_FORMAT && strstr(msg, cases[i].needle) &&
                  strstr(msg, cases[i].file),
              "%s: status %d, message '%s'", cases[i].file, st, msg);
        CHECK(img.data == NULL, "%s: data left", cases[i].file);
        printf("%-26s -> %s\n", cases[i].file, msg);
    }
}

/* #11 F7: a PNG declaring 16384^2 RGBA16 is refused from its header by
 * the default budget (the file holds one row: decoding would fail later
 * with a format error, so DMBP_ERR_SHAPE shows the header check). A
 * budget below a real image's size refuses it; one at its size accepts. */
static void budget(void)
{
    dmbp_image img;
    dmbp_status st =
        dmbp_image_load(test_path(DIR "huge_rgba16.png"), NULL, &img);
    CHECK(st == DMBP_ERR_SHAPE && strstr(dmbp_last_error(), "pixel budget"),
          "huge png: %d %s", st, dmbp_last_error());
    dmbp_image_load_options o;
    dmbp_image_load_options_init(&o);
    CHECK(o.max_pixels == DMBP_IMAGE_DEFAULT_MAX_PIXELS &&
              o.max_pixels >= (int64_t)7680 * 4320,
          "default max_pixels %lld", (long long)o.max_pixels);
    o.max_pixels = 37 * 29 - 1;
    st = dmbp_image_load(test_path(DIR "baseline_420.jpg"), &o, &img);
    CHECK(st == DMBP_ERR_SHAPE && strstr(dmbp_last_error(), "37x29"),
          "jpeg over budget: %d %s", st, dmbp_last_error());
    o.max_pixels = 37 * 29;
    st = dmbp_image_load(test_path(DIR "baseline_420.jpg"), &o, &img);
    CHECK(st == DMBP_OK, "jpeg at budget: %s", dmbp_last_error());
    dmbp_image_free(&img);
    o.max_pixels = 28 * 28 - 1;
    st = dmbp_image_load(test_path("models/samples/coat.png"), &o, &img);
    CHECK(st == DMBP_ERR_SHAPE, "png over budget: %d %s", st,
          dmbp_last_error());
    o.max_pixels = -1;
    st = dmbp_image_load(test_path("models/samples/coat.png"), &o, &img);
    CHECK(st == DMBP_ERR_ARG, "negative budget: %d", st);
    st = dmbp_image_load(NULL, NULL, &img);
    CHECK(st == DMBP_ERR_ARG, "NULL path: %d", st);
    st = dmbp_image_load(test_path(DIR "gray.jpg"), NULL, NULL);
    CHECK(st == DMBP_ERR_ARG, "NULL out: %d", st);
    st = dmbp_image_load(test_path("tests/ref/data"), NULL, &img);
    CHECK(st == DMBP_ERR_IO, "directory: %d %s", st, dmbp_last_error());
}

int main(void)
{
    kinds();
    exif();
    memory();
    bad();
    budget();
    if (failures)
        printf("%d failure(s)\n", failures);
    return failures != 0;
}
