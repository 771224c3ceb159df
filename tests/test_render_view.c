/* What libdmbp 0.3 added to the pictures (issue #25), against the
 * fixtures of tests/ref/make_render_fixtures.py (numpy, independent of
 * src/render*.c): the background in grey by default (keep_colour brings
 * the colours back: tests/test_render checks that path), one part of a
 * signed map on the scale of both (DMBP's -pos.png and -neg.png), colour
 * bars that show only the part's sign, and the caption strip. */
#include <dmbp.h>
#include <dmbp_render.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

#include "testlib.h"
#include "npy.h"


#define RENDER_DIR "tests/ref/data/render/"
#define RGB 3
/* As tests/test_render.c: a pixel may differ by one unit from float64
 * numpy at a rounding tie, rarely. */
#define PIXEL_TOL 1
#define MAX_OFF_BY_ONE_FRACTION 0.001
enum { META_MIN_SIDE, META_ALPHA_MILLI, META_PCT_CENTI, META_OUT_H,
       META_OUT_W, META_SAME };

static char out[4096];

static float *load(const char *name, const char *part, int64_t *dims)
{
    char rel[256];
    int nd;
    float *d = NULL;
    snprintf(rel, sizeof rel, RENDER_DIR "%s_%s.npy", name, part);
    if (npy_read_f32(test_path(rel), &d, dims, &nd))
        FAIL("cannot read %s", rel);
    return d;
}

static unsigned char *read_png(const char *path, int *h, int *w)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) {
        FAIL("%s: %s", path, png.message);
        return NULL;
    }
    png.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(png));
    if (!px || !png_image_finish_read(&png, NULL, px, 0, NULL)) {
        FAIL("%s: %s", path, png.message);
        free(px);
        png_image_free(&png);
        return NULL;
    }
    *h = (int)png.height;
    *w = (int)png.width;
    return px;
}

/* The PNG at out against h x w x 3 expected pixels upscaled to oh x ow. */
static void compare(const char *what, const float *exp, int h, int w,
                    int oh, int ow)
{
    int ph, pw;
    unsigned char *px = read_png(out, &ph, &pw);
    if (!px)
        return;
    if (ph != oh || pw != ow) {
        FAIL("%s: %dx%d, expected %dx%d", what, pw, ph, ow, oh);
        free(px);
        return;
    }
    int f = oh / h, bad = 0;
    size_t ones = 0, total = (size_t)oh * ow * RGB;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < RGB; c++) {
                double e = exp[((size_t)(y / f) * w + (size_t)(x / f)) * RGB +
                               (size_t)c];
                int d = abs(px[((size_t)y * ow + x) * RGB + c] - (int)e);
                ones += d == 1;
                if (d > PIXEL_TOL && bad++ < 3)
                    FAIL("%s: x %d y %d c %d: got %d expected %g", what, x,
                         y, c, px[((size_t)y * ow + x) * RGB + c], e);
            }
    CHECK((double)ones <= MAX_OFF_BY_ONE_FRACTION * (double)total,
          "%s: %zu samples off by one", what, ones);
    free(px);
}

static void options(const float *meta, int part, dmbp_render_options *o)
{
    dmbp_render_options_init(o);
    o->min_side = (int)meta[META_MIN_SIDE];
    o->alpha = (float)(meta[META_ALPHA_MILLI] / 1000.0);
    o->percentile = meta[META_PCT_CENTI] / 100.0;
    o->part = part;
}

static void test_signed(void)
{
    static const char *const cases[] = {
        "signed_rgb_28", "signed_gray_37x23", "signed_noneg_20x30",
        "signed_rgb_37x23", "signed_zero_8x8"};
    static const struct {
        int part;
        const char *file;
    } parts[] = {{DMBP_RENDER_BOTH, "grey"},
                 {DMBP_RENDER_POSITIVE, "pos"},
                 {DMBP_RENDER_NEGATIVE, "neg"}};
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        int64_t dp[NPY_MAX_DIMS], db[NPY_MAX_DIMS], d[NPY_MAX_DIMS];
        float *a_pos = load(cases[n], "a_pos", dp);
        float *a_neg = load(cases[n], "a_neg", d);
        float *bg = load(cases[n], "bg", db);
        float *meta = load(cases[n], "meta", d);
        for (size_t k = 0; a_pos && a_neg && bg && meta && k < 3; k++) {
            float *exp = load(cases[n], parts[k].file, d);
            dmbp_render_options o;
            options(meta, parts[k].part, &o);
            dmbp_image img = {(int)db[0], (int)db[1], (int)db[2], bg};
            char what[128];
            snprintf(what, sizeof what, "%s %s", cases[n], parts[k].file);
            /* signed_rgb_28 has the default options: NULL means them. */
            int defaults = n == 0 && k == 0;
            dmbp_status st = dmbp_render_signed(
                a_pos, meta[META_SAME] != 0.0f ? a_pos : a_neg, (int)dp[0],
                (int)dp[1], (int)dp[2], &img, defaults ? NULL : &o, out);
            if (st)
                FAIL("%s: %s", what, dmbp_last_error());
            else if (exp)
                compare(what, exp, (int)dp[1], (int)dp[2],
                        (int)meta[META_OUT_H], (int)meta[META_OUT_W]);
            free(exp);
        }
        free(a_pos);
        free(a_neg);
        free(bg);
        free(meta);
    }
}

static void test_sequential(void)
{
    static const char *const cases[] = {"seq_28", "seq_37x23"};
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        int64_t dm[NPY_MAX_DIMS], db[NPY_MAX_DIMS], d[NPY_MAX_DIMS];
        float *map = load(cases[n], "map", dm);
        float *bg = load(cases[n], "bg", db);
        float *meta = load(cases[n], "meta", d);
        float *exp = load(cases[n], "grey", d);
        if (map && bg && meta && exp) {
            dmbp_render_options o;
            options(meta, DMBP_RENDER_BOTH, &o);
            dmbp_image img = {(int)db[0], (int)db[1], (int)db[2], bg};
            if (dmbp_render_sequential(map, (int)dm[0], (int)dm[1], &img, &o,
                                       out))
                FAIL("%s: %s", cases[n], dmbp_last_error());
            else
                compare(cases[n], exp, (int)dm[0], (int)dm[1],
                        (int)meta[META_OUT_H], (int)meta[META_OUT_W]);
            /* A one-part picture of a non-negative map is refused. */
            o.part = DMBP_RENDER_POSITIVE;
            CHECK(dmbp_render_sequential(map, (int)dm[0], (int)dm[1], &img,
                                         &o, out) == DMBP_ERR_ARG,
                  "%s: part accepted for a non-negative map", cases[n]);
        }
        free(map);
        free(bg);
        free(meta);
        free(exp);
    }
}

/* Count the colour bar's bluish (b > r + 64) and reddish (r > b + 64)
 * pixels: rows [y0, y1) of the picture at out. */
static void bar_colours(int y0, int *blue, int *red, int *height)
{
    int h, w;
    unsigned char *px = read_png(out, &h, &w);
    *blue = *red = 0;
    *height = px ? h : 0;
    for (int y = y0; px && y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *p = px + ((size_t)y * w + x) * RGB;
            *blue += p[2] > p[0] + 64;
            *red += p[0] > p[2] + 64;
        }
    free(px);
}

#define SIDE 32
static void test_bar_and_caption(void)
{
    static float a_pos[SIDE * SIDE], a_neg[SIDE * SIDE], bg[SIDE * SIDE];
    for (int i = 0; i < SIDE * SIDE; i++) {
        a_pos[i] = (float)(i % 7);
        a_neg[i] = -(float)(i % 5);
        bg[i] = 0.5f;
    }
    dmbp_image img = {1, SIDE, SIDE, bg};
    dmbp_render_options o;
    dmbp_render_options_init(&o);
    o.min_side = 0;
    o.heatmap_only = 1;
    const char *want[3] = {"both signs", "positive only", "negative only"};
    for (int part = DMBP_RENDER_BOTH; part <= DMBP_RENDER_NEGATIVE; part++) {
        int blue, red, h;
        o.part = part;
        o.colorbar = 1;
        CHECK(!dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o,
                                  out), "bar: %s", dmbp_last_error());
        bar_colours(SIDE, &blue, &red, &h);
        CHECK(h > SIDE, "no colour bar");
        int ok = part == DMBP_RENDER_BOTH ? blue && red
                 : part == DMBP_RENDER_POSITIVE ? red && !blue
                                                : blue && !red;
        CHECK(ok, "colour bar of part %d: %d blue, %d red pixels, want %s",
              part, blue, red, want[part]);
    }
    /* The caption: a strip above the same picture; lower and upper case
     * draw the same letters. */
    o.part = DMBP_RENDER_BOTH;
    o.colorbar = 0;
    int h0, w0, h1, w1, h2, w2;
    CHECK(!dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o, out),
          "%s", dmbp_last_error());
    unsigned char *plain = read_png(out, &h0, &w0);
    o.caption = "square dmbp F+ 1.5e-3";
    CHECK(!dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o, out),
          "%s", dmbp_last_error());
    unsigned char *lower = read_png(out, &h1, &w1);
    o.caption = "SQUARE DMBP F+ 1.5E-3";
    CHECK(!dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o, out),
          "%s", dmbp_last_error());
    unsigned char *upper = read_png(out, &h2, &w2);
    if (plain && lower && upper) {
        int strip = h1 - h0;
        CHECK(strip > 0 && w1 == w0, "caption strip %d rows", strip);
        CHECK(h1 == h2 && !memcmp(lower, upper, (size_t)h1 * w1 * RGB),
              "lower and upper case captions differ");
        CHECK(strip > 0 && !memcmp(plain, lower + (size_t)strip * w1 * RGB,
                                   (size_t)h0 * w0 * RGB),
              "the picture under the caption is not the picture");
        int dark = 0;
        for (size_t i = 0; strip > 0 && i < (size_t)strip * w1 * RGB; i++)
            dark += lower[i] == 0;
        CHECK(dark > 0, "the caption strip has no text");
    }
    free(plain);
    free(lower);
    free(upper);
    static char longer[DMBP_RENDER_CAPTION_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    o.caption = longer;
    CHECK(dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o, out) ==
              DMBP_ERR_ARG, "a caption too long accepted");
    o.caption = NULL;
    o.part = 3;
    CHECK(dmbp_render_signed(a_pos, a_neg, 1, SIDE, SIDE, &img, &o, out) ==
              DMBP_ERR_ARG, "part 3 accepted");
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/test_render_view.%ld.png",
             base && *base ? base : "/tmp", (long)getpid());
    test_signed();
    test_sequential();
    test_bar_and_caption();
    unlink(out);
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("test_render_view: all passed\n");
    return 0;
}
