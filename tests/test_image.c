/* Tests of the PNG loader and the preprocessing against the fixtures of
 * tests/ref/make_image_fixtures.py (expected values from the samples the
 * script wrote, and from torchvision 0.14). Prints every failure and the
 * measured errors; exits non-zero when anything failed. */
#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

#define IMG_DIR "tests/ref/data/img/"

/* Loading: expected values are stored / max, correctly rounded floats, and
 * the loader computes the same division, so any error is a bug; the
 * bound only absorbs a possible last-bit difference. */
#define LOAD_TOL 1e-5
/* 16-bit images with alpha come from libpng premultiplied,
 * c' = round(c * a / 65535), so dividing by a recovers c only to within
 * half a unit of c', i.e. PREMUL_ROUNDING / a in [0, 1] units. */
#define PREMUL_ROUNDING 0.5
/* Preprocessing, in output (normalised) units. The resize replicates
 * torch's weights bit for bit and sums in its order, so differences come
 * only from how torch's own build rounds (FMA contraction, vectorised
 * colour conversion): a few float ulps of values <= 1 (~1e-7 each),
 * times <= 1 / 0.224 for the ImageNet std, is < 2e-6. 2e-5 leaves a
 * tenfold margin, while a wrong window, centre or crop offset gives
 * errors of 1e-3 and more. */
#define PRE_TOL 2e-5

/* Largest err / bound of the last compare(): how much of the tolerance
 * was used. */
static double used_of_bound;

/* Compare an image with an expected C x H x W array; returns the max
 * abs error (or INFINITY on a shape mismatch). alpha (H x W, alpha / max,
 * may be NULL) loosens the bound per pixel for premultiplied input. */
static double compare(const char *what, const dmbp_image *img,
                      const float *exp, const int64_t *dims, int ndim,
                      const float *alpha, double tol)
{
    used_of_bound = INFINITY;
    if (ndim != 3 || dims[0] != img->channels || dims[1] != img->height ||
        dims[2] != img->width) {
        FAIL("%s: got %dx%dx%d, expected shape (%lld, %lld, %lld)", what,
             img->channels, img->height, img->width,
             (long long)(ndim > 0 ? dims[0] : -1),
             (long long)(ndim > 1 ? dims[1] : -1),
             (long long)(ndim > 2 ? dims[2] : -1));
        return INFINITY;
    }
    size_t np = (size_t)img->height * (size_t)img->width;
    double maxerr = 0.0;
    int reported = 0;
    used_of_bound = 0.0;
    for (int c = 0; c < img->channels; c++)
        for (size_t i = 0; i < np; i++) {
            size_t k = (size_t)c * np + i;
            double err = fabs((double)img->data[k] - (double)exp[k]);
            double bound = tol;
            if (alpha && alpha[i] > 0.0f)
                bound += PREMUL_ROUNDING / (alpha[i] * 65535.0);
            if (!(err <= bound)) {
                if (reported++ < 5)
                    FAIL("%s: c=%d y=%zu x=%zu: got %.9g expected %.9g "
                         "(err %.3g > %.3g)",
                         what, c, i / (size_t)img->width,
                         i % (size_t)img->width, (double)img->data[k],
                         (double)exp[k], err, bound);
            }
            if (!(err <= maxerr))
                maxerr = err;
            if (!(err / bound <= used_of_bound))
                used_of_bound = err / bound;
        }
    return maxerr;
}

/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    int premultiplied; /* 16-bit with alpha: has a _alpha.npy */
} load_cases[] = {
    {"gray8_37x23", 0},  {"gray16_50x64", 0}, {"gray4_19x11", 0},
    {"gray1_13x5", 0},   {"ga8_23x37", 0},    {"ga16_17x9", 1},
    {"rgb8_300x17", 0},  {"rgb8i_37x23", 0},  {"rgb16_37x23", 0},
    {"rgba8_50x64", 0},  {"rgba16_23x37", 1}, {"pal8_37x23", 0},
    {"pal4t_50x64", 0},
};

static void test_load_fixtures(void)
{
    char rel[256];
    for (size_t n = 0; n < sizeof load_cases / sizeof *load_cases; n++) {
        const char *name = load_cases[n].name;
        dmbp_image img;
        snprintf(rel, sizeof rel, IMG_DIR "%s.png", name);
        dmbp_status st = dmbp_image_load(test_path(rel), NULL, &img);
        if (st) {
            FAIL("load %s: %s: %s", name, dmbp_status_str(st),
                 dmbp_last_error());
            continue;
        }
        float *exp = NULL, *alpha = NULL;
        int64_t dims[NPY_MAX_DIMS], adims[NPY_MAX_DIMS];
        int ndim, andim;
        snprintf(rel, sizeof rel, IMG_DIR "%s.npy", name);
        if (npy_read_f32(test_path(rel), &exp, dims, &ndim)) {
            FAIL("cannot read %s", rel);
            dmbp_image_free(&img);
            continue;
        }
        if (load_cases[n].premultiplied) {
            snprintf(rel, sizeof rel, IMG_DIR "%s_alpha.npy", name);
            if (npy_read_f32(test_path(rel), &alpha, adims, &andim) ||
                andim != 2 || adims[0] != img.height ||
                adims[1] != img.width) {
                FAIL("cannot read %s or wrong shape", rel);
                free(alpha);
                alpha = NULL;
            }
        }
        double err = compare(name, &img, exp, dims, ndim, alpha, LOAD_TOL);
        printf("load %-14s %dx%dx%d  max abs err %.3g%s\n", name,
               img.channels, img.height, img.width, err,
               alpha ? " (premultiplied: per-pixel bound)" : "");
        if (alpha)
            printf("     %-14s worst error is %.3f of its per-pixel bound\n",
                   "", used_of_bound);
        free(exp);
        free(alpha);
        dmbp_image_free(&img);
        CHECK(img.data == NULL && img.width == 0,
              "dmbp_image_free did not zero the image");
    }
}

static void test_bad_files(void)
{
    static const struct {
        const char *file;
        dmbp_status status;
        const char *says; /* a piece of the expected message */
    } cases[] = {
        {"bad_text.png", DMBP_ERR_FORMAT, "not a PNG or JPEG file"},
        {"bad_empty.png", DMBP_ERR_FORMAT, "not a PNG or JPEG file"},
        {"bad_truncated.png", DMBP_ERR_FORMAT, "truncated or corrupt"},
        {"bad_crc.png", DMBP_ERR_FORMAT, "truncated or corrupt"},
        {"bad_huge.png", DMBP_ERR_FORMAT, "exceeds the maximum"},
        {"does_not_exist.png", DMBP_ERR_IO, "cannot open"},
    };
    char rel[256];
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        dmbp_image img;
        memset(&img, 0xAB, sizeof img); /* must be cleared on failure */
        snprintf(rel, sizeof rel, IMG_DIR "%s", cases[n].file);
        dmbp_status st = dmbp_image_load(test_path(rel), NULL, &img);
        const char *msg = dmbp_last_error();
        printf("bad  %-18s -> %s: %s\n", cases[n].file, dmbp_status_str(st),
               msg);
        CHECK(st == cases[n].status, "%s: got %s, expected %s",
              cases[n].file, dmbp_status_str(st),
              dmbp_status_str(cases[n].status));
        CHECK(strstr(msg, cases[n].file) != NULL,
              "%s: message does not name the file: %s", cases[n].file, msg);
        CHECK(strstr(msg, cases[n].says) != NULL,
              "%s: message lacks \"%s\": %s", cases[n].file, cases[n].says,
              msg);
        CHECK(img.data == NULL && img.channels == 0 && img.width == 0,
              "%s: output not cleared on failure", cases[n].file);
        dmbp_image_free(&img);
    }
    dmbp_image img;
    CHECK(dmbp_image_load(NULL, NULL, &img) == DMBP_ERR_ARG,
          "NULL path accepted");
    CHECK(dmbp_image_load(test_path(IMG_DIR "gray8_37x23.png"), NULL, NULL) ==
              DMBP_ERR_ARG,
          "NULL out accepted");
    dmbp_image_free(NULL);
}

/* Bounded reads (issue #21): the size a budget allows, a device of zeros
 * refused on its first bytes, a file over the size refused before it is
 * read, and the same image through a pipe as from its path. */
static void test_bounded_reads(void)
{
    dmbp_image_load_options o;
    dmbp_image_load_options_init(&o);
    int64_t want = DMBP_IMAGE_DEFAULT_MAX_PIXELS * 8 + (16 << 20);
    CHECK(dmbp_image_max_file_bytes(NULL) == want &&
              dmbp_image_max_file_bytes(&o) == want,
          "default file size bound %lld, want %lld",
          (long long)dmbp_image_max_file_bytes(NULL), (long long)want);
    o.max_pixels = 100;
    CHECK(dmbp_image_max_file_bytes(&o) == 800 + (16 << 20),
          "bound at 100 pixels: %lld",
          (long long)dmbp_image_max_file_bytes(&o));
    dmbp_image img;
    dmbp_status st = dmbp_image_load("/dev/zero", NULL, &img);
    CHECK(st == DMBP_ERR_FORMAT && strstr(dmbp_last_error(),
                                          "bad signature"),
          "/dev/zero: %s: %s", dmbp_status_str(st), dmbp_last_error());
    /* A regular file of a PNG signature and 17 MB: over the bound of
     * 100 pixels, refused from its size. */
    char path[] = "/tmp/dmbp-test-bigXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26,
                                             10};
        CHECK(write(fd, sig, 8) == 8 && ftruncate(fd, 17 << 20) == 0,
              "writing %s", path);
        close(fd);
        st = dmbp_image_load(path, &o, &img);
        CHECK(st == DMBP_ERR_SHAPE && strstr(dmbp_last_error(), "budget"),
              "file over the bound: %s: %s", dmbp_status_str(st),
              dmbp_last_error());
        unlink(path);
    }
    /* The same image through a pipe (dmbp_image_load_fd) as from its
     * path. */
    const char *png = test_path(IMG_DIR "gray8_37x23.png");
    dmbp_image a = {0}, b = {0};
    CHECK(dmbp_image_load(png, NULL, &a) == DMBP_OK, "%s", dmbp_last_error());
    FILE *f = fopen(png, "rb");
    unsigned char buf[1 << 16];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    int p[2];
    CHECK(len > 0 && len < sizeof buf && pipe(p) == 0, "pipe");
    if (len > 0 && write(p[1], buf, len) == (ssize_t)len) {
        close(p[1]);
        st = dmbp_image_load_fd(p[0], "pipe", NULL, &b);
        close(p[0]);
        CHECK(st == DMBP_OK, "load_fd: %s", dmbp_last_error());
        CHECK(b.width == a.width && b.height == a.height &&
                  b.channels == a.channels && a.data && b.data &&
                  !memcmp(a.data, b.data, (size_t)a.width * a.height *
                                              a.channels * sizeof(float)),
              "load_fd differs from load");
    }
    dmbp_image_free(&a);
    dmbp_image_free(&b);
    CHECK(dmbp_image_load_fd(-1, "x", NULL, &b) == DMBP_ERR_ARG,
          "negative fd accepted");
}

/* ------------------------------------------------------------------ */

/* Keep in sync with the cases list of make_image_fixtures.py. */
static const struct {
    const char *name, *input;
    int channels, resize, crop;
    float mean[3], std[3];
} pre_cases[] = {
#define IMAGENET {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}
    {"down", "pre_rgb_300x200", 3, 64, 56, IMAGENET},
    {"down_far", "pre_rgb_300x200", 3, 10, 0, {0, 0, 0}, {1, 1, 1}},
    {"up", "pre_rgb_20x30", 3, 48, 40, {0.5f, 0.25f, 0.125f},
     {0.25f, 0.5f, 2.0f}},
    {"gray2rgb", "gray16_50x64", 3, 32, 28, IMAGENET},
    {"rgb2gray", "rgb8_300x17", 1, 8, 0, {0.5f}, {0.5f}},
    {"gray_up", "gray4_19x11", 1, 30, 0, {0.1f}, {0.9f}},
    {"norm_only", "rgba8_50x64", 3, 0, 0, IMAGENET},
    {"crop_a", "rgb8i_37x23", 3, 0, 20, IMAGENET},
    {"crop_b", "pal8_37x23", 3, 0, 22, IMAGENET},
    {"crop_c", "pal4t_50x64", 3, 0, 45, IMAGENET},
    {"same_size", "gray8_37x23", 1, 23, 21, {0.2f}, {0.3f}},
#undef IMAGENET
};

static void test_preprocess_fixtures(void)
{
    char rel[256];
    for (size_t n = 0; n < sizeof pre_cases / sizeof *pre_cases; n++) {
        dmbp_image img, out;
        snprintf(rel, sizeof rel, IMG_DIR "%s.png", pre_cases[n].input);
        dmbp_status st = dmbp_image_load(test_path(rel), NULL, &img);
        if (st) {
            FAIL("load %s: %s", rel, dmbp_last_error());
            continue;
        }
        dmbp_preprocess_options o;
        dmbp_preprocess_options_init(&o);
        o.channels = pre_cases[n].channels;
        o.resize = pre_cases[n].resize;
        o.crop = pre_cases[n].crop;
        for (int c = 0; c < o.channels; c++) {
            o.mean[c] = pre_cases[n].mean[c];
            o.std[c] = pre_cases[n].std[c];
        }
        st = dmbp_image_preprocess(&img, &o, &out);
        if (st) {
            FAIL("preprocess %s: %s: %s", pre_cases[n].name,
                 dmbp_status_str(st), dmbp_last_error());
            dmbp_image_free(&img);
            continue;
        }
        float *exp;
        int64_t dims[NPY_MAX_DIMS];
        int ndim;
        snprintf(rel, sizeof rel, IMG_DIR "pre_%s.npy", pre_cases[n].name);
        if (npy_read_f32(test_path(rel), &exp, dims, &ndim)) {
            FAIL("cannot read %s", rel);
        } else {
            double err = compare(pre_cases[n].name, &out, exp, dims, ndim,
                                 NULL, PRE_TOL);
            printf("pre  %-10s %3dx%-3d -> %dx%dx%d  max abs err %.3g\n",
                   pre_cases[n].name, img.width, img.height, out.channels,
                   out.height, out.width, err);
            free(exp);
        }
        /* Threads split rows only: a second run is bit-identical. */
        dmbp_image again;
        if (dmbp_image_preprocess(&img, &o, &again) == DMBP_OK) {
            size_t bytes = (size_t)out.channels * out.height * out.width *
                           sizeof(float);
            CHECK(memcmp(out.data, again.data, bytes) == 0,
                  "%s: second run differs", pre_cases[n].name);
            dmbp_image_free(&again);
        } else {
            FAIL("%s: second run failed", pre_cases[n].name);
        }
        dmbp_image_free(&out);
        dmbp_image_free(&img);
    }
}

static void test_options(void)
{
    dmbp_preprocess_options o;
    dmbp_preprocess_options_init(&o);
    CHECK(o.resize == 256 && o.crop == 224 && o.channels == 3,
          "defaults: resize %d crop %d channels %d", o.resize, o.crop,
          o.channels);
    CHECK(o.mean[0] == 0.485f && o.mean[1] == 0.456f && o.mean[2] == 0.406f,
          "default mean");
    CHECK(o.std[0] == 0.229f && o.std[1] == 0.224f && o.std[2] == 0.225f,
          "default std");

    float pix[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        pix[i] = (float)i / 60.0f;
    dmbp_image in = {3, 4, 5, pix}, out;

    static const struct {
        const char *what;
        int field; /* 0 channels, 1 resize, 2 crop, 3 mean[1], 4 std[2] */
        float value;
        dmbp_status status;
        const char *says;
    } bad[] = {
        {"channels 2", 0, 2, DMBP_ERR_ARG, "channels"},
        {"channels 0", 0, 0, DMBP_ERR_ARG, "channels"},
        {"resize -1", 1, -1, DMBP_ERR_ARG, "resize"},
        {"crop -3", 2, -3, DMBP_ERR_ARG, "crop"},
        {"mean NaN", 3, NAN, DMBP_ERR_NONFINITE, "mean[1]"},
        {"mean inf", 3, INFINITY, DMBP_ERR_NONFINITE, "mean[1]"},
        {"std 0", 4, 0, DMBP_ERR_ARG, "std[2]"},
        {"std -inf", 4, -INFINITY, DMBP_ERR_NONFINITE, "std[2]"},
        {"crop 6 > 5x4", 2, 6, DMBP_ERR_SHAPE, "smaller than the crop"},
        {"resize 1e9", 1, 1e9f, DMBP_ERR_SHAPE, "longer side"},
    };
    for (size_t n = 0; n < sizeof bad / sizeof *bad; n++) {
        dmbp_preprocess_options b;
        dmbp_preprocess_options_init(&b);
        b.resize = 0;
        b.crop = 0;
        switch (bad[n].field) {
        case 0: b.channels = (int)bad[n].value; break;
        case 1: b.resize = (int)bad[n].value; break;
        case 2: b.crop = (int)bad[n].value; break;
        case 3: b.mean[1] = bad[n].value; break;
        default: b.std[2] = bad[n].value; break;
        }
        memset(&out, 0xAB, sizeof out);
        dmbp_status st = dmbp_image_preprocess(&in, &b, &out);
        CHECK(st == bad[n].status, "%s: got %s (%s), expected %s",
              bad[n].what, dmbp_status_str(st), dmbp_last_error(),
              dmbp_status_str(bad[n].status));
        CHECK(strstr(dmbp_last_error(), bad[n].says) != NULL,
              "%s: message lacks \"%s\": %s", bad[n].what, bad[n].says,
              dmbp_last_error());
        CHECK(out.data == NULL, "%s: out not cleared", bad[n].what);
        if (st == DMBP_OK)
            dmbp_image_free(&out);
    }
    /* Crop after resize: the message gives both sizes. */
    dmbp_preprocess_options b;
    dmbp_preprocess_options_init(&b);
    b.resize = 20;
    b.crop = 28;
    dmbp_image gray = {1, 4, 5, pix};
    b.channels = 1;
    CHECK(dmbp_image_preprocess(&gray, &b, &out) == DMBP_ERR_SHAPE &&
              strstr(dmbp_last_error(), "25x20 after resizing") != NULL,
          "crop after resize: %s", dmbp_last_error());

    /* Bad images and NULLs. */
    b.resize = 0;
    b.crop = 0;
    dmbp_image nodata = {3, 4, 5, NULL}, twoch = {2, 4, 5, pix},
               empty = {3, 0, 5, pix};
    CHECK(dmbp_image_preprocess(&nodata, &b, &out) == DMBP_ERR_ARG,
          "NULL data accepted");
    CHECK(dmbp_image_preprocess(&twoch, &b, &out) == DMBP_ERR_ARG,
          "2 channels accepted");
    CHECK(dmbp_image_preprocess(&empty, &b, &out) == DMBP_ERR_ARG,
          "0 height accepted");
    CHECK(dmbp_image_preprocess(NULL, &b, &out) == DMBP_ERR_ARG,
          "NULL in accepted");
    CHECK(dmbp_image_preprocess(&in, NULL, &out) == DMBP_ERR_ARG,
          "NULL options accepted");
    CHECK(dmbp_image_preprocess(&in, &b, NULL) == DMBP_ERR_ARG,
          "NULL out accepted");

    /* A 1-channel setup ignores mean/std entries it does not use. */
    b.mean[2] = NAN;
    b.std[1] = 0.0f;
    b.mean[0] = 0.25f;
    b.std[0] = 0.5f;
    if (dmbp_image_preprocess(&gray, &b, &out) == DMBP_OK) {
        CHECK(out.channels == 1 && out.height == 4 && out.width == 5,
              "1-channel shape");
        for (int i = 0; i < 20; i++)
            CHECK(out.data[i] == (pix[i] - 0.25f) / 0.5f,
                  "1-channel normalisation at %d", i);
        dmbp_image_free(&out);
    } else {
        FAIL("1-channel with unused NaN mean: %s", dmbp_last_error());
    }

    /* out may be in (the caller keeps the old data). */
    float *copy = malloc(sizeof pix);
    memcpy(copy, pix, sizeof pix);
    dmbp_image self = {3, 4, 5, copy};
    dmbp_preprocess_options_init(&b);
    b.resize = 2;
    b.crop = 2;
    if (dmbp_image_preprocess(&self, &b, &self) == DMBP_OK) {
        CHECK(self.channels == 3 && self.height == 2 && self.width == 2 &&
                  self.data != copy,
              "in-place preprocess result");
        dmbp_image_free(&self);
    } else {
        FAIL("in-place preprocess: %s", dmbp_last_error());
    }
    free(copy);
}

/* ------------------------------------------------------------------ */

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_npy(void)
{
    const char *tmp = "test_image.tmp.npy";
    float v[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-7f, -1e30f};
    int64_t dims[NPY_MAX_DIMS] = {2, 3};
    float *back = NULL;
    int ndim;
    CHECK(npy_write_f32(tmp, v, dims, 2) == 0, "npy write");
    int64_t got[NPY_MAX_DIMS];
    if (npy_read_f32(tmp, &back, got, &ndim) == 0) {
        CHECK(ndim == 2 && got[0] == 2 && got[1] == 3 &&
                  memcmp(back, v, sizeof v) == 0,
              "npy round trip");
        free(back);
    } else {
        FAIL("npy read back");
    }
    int64_t one[1] = {6};
    CHECK(npy_write_f32(tmp, v, one, 1) == 0 &&
              npy_read_f32(tmp, &back, got, &ndim) == 0 && ndim == 1 &&
              got[0] == 6,
          "npy 1-D round trip");
    free(back);
    back = NULL;
    CHECK(npy_write_f32(tmp, v, NULL, 0) == 0 &&
              npy_read_f32(tmp, &back, got, &ndim) == 0 && ndim == 0 &&
              back[0] == v[0],
          "npy scalar round trip");
    free(back);
    back = NULL;

    /* Malformed files are refused without crashing. */
    static const struct {
        const char *what;
        const char *bytes;
        size_t n;
    } bad_raw[] = {
        {"empty", "", 0},
        {"bad magic", "\x93NUMPX\x01\x00\x10\x00", 10},
        {"version 9", "\x93NUMPY\x09\x00\x10\x00", 10},
        {"short header", "\x93NUMPY\x01\x00\x40\x00{'descr'", 17},
        {"bad length", "\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12},
    };
    for (size_t n = 0; n < sizeof bad_raw / sizeof *bad_raw; n++) {
        back = NULL;
        CHECK(write_bytes(tmp, bad_raw[n].bytes, bad_raw[n].n) == 0 &&
                  npy_read_f32(tmp, &back, got, &ndim) == -1 && back == NULL,
              "npy %s accepted", bad_raw[n].what);
        free(back);
    }
    /* Well-framed v1 files whose dict is wrong, with 16 bytes of data. */
    static const char *bad_dict[] = {
        "{'descr': '<f4', 'fortran_o': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
        "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, "
        "6, 7, 8, 9), }",
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (4611686018427387904, 8), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }",
        "{'descr': <f4, 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4",
    };
    for (size_t n = 0; n < sizeof bad_dict / sizeof *bad_dict; n++) {
        unsigned char buf[512];
        size_t len = strlen(bad_dict[n]);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)len;
        buf[9] = 0;
        memcpy(buf + 10, bad_dict[n], len);
        memset(buf + 10 + len, 0, 16);
        back = NULL;
        CHECK(write_bytes(tmp, buf, 10 + len + 16) == 0 &&
                  npy_read_f32(tmp, &back, got, &ndim) == -1 && back == NULL,
              "npy header accepted: %s", bad_dict[n]);
        free(back);
    }
    int64_t *ib = NULL;
    CHECK(npy_write_f32(tmp, v, dims, 2) == 0 &&
              npy_read_i64(tmp, &ib, got, &ndim) == -1 && ib == NULL,
          "npy_read_i64 accepted <f4");
    CHECK(npy_read_f32("does/not/exist.npy", &back, got, &ndim) == -1,
          "npy missing file");
    remove(tmp);
}

int main(void)
{
    printf("npy: checking malformed files (the npy: lines on stderr are "
           "expected)\n");
    fflush(stdout);
    test_npy();
    test_load_fixtures();
    test_bad_files();
    test_bounded_reads();
    test_preprocess_fixtures();
    test_options();
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all image tests passed\n");
    return 0;
}
