/* Tests of the rendering module against the fixtures of
 * tests/ref/make_render_fixtures.py (section 5 of docs/dmbp-method.md
 * implemented independently in numpy): every pixel of every PNG written,
 * read back with libpng; the .npy writer byte for byte against np.save;
 * every error path, with no file created or changed and no temporary file
 * left behind. Files go to a fresh directory under $TMPDIR (or /tmp),
 * removed at the end. Prints every failure and the measured differences;
 * exits non-zero when anything failed. */
#include <dmbp.h>
#include <dmbp_render.h>


#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>

#include "testlib.h"

#define RENDER_DIR "tests/ref/data/render/"

/* Expected pixels come from float64 numpy with the same formulas; only a
 * value landing within rounding error of a half-integer may round the
 * other way, so one unit is the most a correct renderer can differ. */
#define PIXEL_TOL 1
/* Such near-ties are rare (the maps are random floats): if more than this
 * fraction of samples is off by one, the rounding itself is wrong (e.g.
 * truncation, which the tolerance alone would let through). */
#define MAX_OFF_BY_ONE_FRACTION 0.001

#define WHITE 255
#define RGB 3
/* Fields of <case>_meta.npy (see the fixture script). */
enum { META_MIN_SIDE, META_ALPHA_MILLI, META_PCT_CENTI, META_OUT_H,
       META_OUT_W, META_SAME, META_LEN };

static char workdir[4096];

static const char *out_path(const char *name)
{
    static char bufs[4][4096 + 256];
    static int next;
    char *b = bufs[next];
    next = (next + 1) % 4;
    snprintf(b, sizeof bufs[0], "%s/%s", workdir, name);
    return b;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Number of entries of dir whose name has ".tmp." (our temporaries). */
static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            printf("     leftover temporary: %s/%s\n", dir, e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

/* Remove dir and everything in it (one level of subdirectories). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[8192];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0700);
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static float *load(const char *name, const char *part, int64_t *dims,
                   int *ndim)
{
    char rel[256];
    snprintf(rel, sizeof rel, RENDER_DIR "%s_%s.npy", name, part);
    float *d = NULL;
    if (npy_read_f32(test_path(rel), &d, dims, ndim)) {
        FAIL("cannot read %s", rel);
        return NULL;
    }
    return d;
}

/* Options from a case's meta; *is_default when they equal the defaults
 * (the test then passes NULL, which must mean the same). */
static void meta_options(const float *meta, dmbp_render_options *o,
                         int *is_default)
{
    dmbp_render_options def;
    dmbp_render_options_init(&def);
    dmbp_render_options_init(o);
    o->min_side = (int)meta[META_MIN_SIDE];
    o->alpha = (float)(meta[META_ALPHA_MILLI] / 1000.0);
    o->percentile = meta[META_PCT_CENTI] / 100.0;
    /* The fixtures' _expected pixels blend over the background in its
     * colours (test_render_view checks the grey default). */
    o->keep_colour = 1;
    *is_default = 0;
}

/* Compare the PNG at path with expected pixels: `panels` h x w x 3
 * arrays at the map's resolution, upscaled by out_h / h and laid side
 * by side with DMBP_RENDER_GAP white columns between. Returns the max
 * difference (or -1 if the PNG is missing or of the wrong size). */
static int compare_png(const char *what, const char *path, const float *exp,
                       int panels, int h, int w, int out_h, int out_w)
{
    int ph, pw;
    unsigned char *px = tl_read_png_rgb(path, &ph, &pw);
    if (!px)
        return -1;
    int maxdiff = 0, reported = 0;
    size_t off_by_one = 0;
    if (ph != out_h || pw != out_w) {
        FAIL("%s: PNG is %dx%d (w x h), expected %dx%d", what, pw, ph, out_w,
             out_h);
        free(px);
        return -1;
    }
    int f = out_h / h;
    int panel_w = w * f;
    for (int y = 0; y < out_h; y++)
        for (int x = 0; x < out_w; x++)
            for (int c = 0; c < RGB; c++) {
                int k = panels == 1 ? 0 : x / (panel_w + DMBP_RENDER_GAP);
                int xin = x - k * (panel_w + DMBP_RENDER_GAP);
                double e;
                if (xin >= panel_w)
                    e = WHITE; /* the gap */
                else
                    e = exp[(((size_t)k * h + (size_t)(y / f)) * w +
                             (size_t)(xin / f)) * RGB + (size_t)c];
                int got = px[((size_t)y * out_w + (size_t)x) * RGB +
                             (size_t)c];
                int d = abs(got - (int)e);
                if (d > maxdiff)
                    maxdiff = d;
                off_by_one += d == 1;
                if (d > PIXEL_TOL && reported++ < 5)
                    FAIL("%s: x %d y %d c %d: got %d expected %g", what, x,
                         y, c, got, e);
            }
    free(px);
    size_t total = (size_t)out_h * (size_t)out_w * RGB;
    CHECK((double)off_by_one <= MAX_OFF_BY_ONE_FRACTION * (double)total,
          "%s: %zu of %zu samples off by one: systematic rounding error",
          what, off_by_one, total);
    return maxdiff;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static int overall_maxdiff;

static void report(const char *kind, const char *name, int diff, int h,
                   int w, int oh, int ow)
{
    printf("%-10s %-20s %3dx%-3d -> %4dx%-4d max pixel diff %d\n", kind,
           name, w, h, ow, oh, diff);
    if (diff > overall_maxdiff)
        overall_maxdiff = diff;
}

static void test_signed_fixtures(void)
{
    static const char *const cases[] = {
        "signed_rgb_28", "signed_gray_37x23", "signed_noneg_20x30",
        "signed_rgb_37x23", "signed_zero_8x8"};
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        const char *name = cases[n];
        int64_t dp[NPY_MAX_DIMS], dn[NPY_MAX_DIMS], db[NPY_MAX_DIMS],
            de[NPY_MAX_DIMS], dm[NPY_MAX_DIMS];
        int np_, nn, nb, ne, nm;
        float *a_pos = load(name, "a_pos", dp, &np_);
        float *a_neg = load(name, "a_neg", dn, &nn);
        float *bg = load(name, "bg", db, &nb);
        float *exp = load(name, "expected", de, &ne);
        float *meta = load(name, "meta", dm, &nm);
        if (a_pos && a_neg && bg && exp && meta) {
            dmbp_render_options o;
            int is_def;
            meta_options(meta, &o, &is_def);
            int c = (int)dp[0], h = (int)dp[1], w = (int)dp[2];
            dmbp_image img = {(int)db[0], (int)db[1], (int)db[2], bg};
            const char *path = out_path("signed.png");
            dmbp_status st = dmbp_render_signed(
                a_pos, meta[META_SAME] != 0.0f ? a_pos : a_neg, c, h, w, &img,
                is_def ? NULL : &o, path);
            if (st) {
                FAIL("%s: %s: %s", name, dmbp_status_str(st),
                     dmbp_last_error());
            } else {
                int oh = (int)meta[META_OUT_H], ow = (int)meta[META_OUT_W];
                int d = compare_png(name, path, exp, 1, h, w, oh, ow);
                report("signed", name, d, h, w, oh, ow);
            }
        }
        free(a_pos);
        free(a_neg);
        free(bg);
        free(exp);
        free(meta);
    }
}

static void test_sequential_fixtures(void)
{
    static const char *const cases[] = {"seq_28", "seq_37x23"};
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        const char *name = cases[n];
        int64_t dmap[NPY_MAX_DIMS], db[NPY_MAX_DIMS], de[NPY_MAX_DIMS],
            dm[NPY_MAX_DIMS];
        int nmap, nb, ne, nm;
        float *map = load(name, "map", dmap, &nmap);
        float *bg = load(name, "bg", db, &nb);
        float *exp = load(name, "expected", de, &ne);
        float *meta = load(name, "meta", dm, &nm);
        if (map && bg && exp && meta) {
            dmbp_render_options o;
            int is_def;
            meta_options(meta, &o, &is_def);
            int h = (int)dmap[0], w = (int)dmap[1];
            dmbp_image img = {(int)db[0], (int)db[1], (int)db[2], bg};
            const char *path = out_path("seq.png");
            dmbp_status st = dmbp_render_sequential(map, h, w, &img,
                                                    is_def ? NULL : &o, path);
            if (st) {
                FAIL("%s: %s: %s", name, dmbp_status_str(st),
                     dmbp_last_error());
            } else {
                int oh = (int)meta[META_OUT_H], ow = (int)meta[META_OUT_W];
                int d = compare_png(name, path, exp, 1, h, w, oh, ow);
                report("sequential", name, d, h, w, oh, ow);
            }
        }
        free(map);
        free(bg);
        free(exp);
        free(meta);
    }
}

static void test_mappings_fixtures(void)
{
    static const char *const cases[] = {"map_rgb_28", "map_gray_37x23"};
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        const char *name = cases[n];
        int64_t dp[NPY_MAX_DIMS], dn[NPY_MAX_DIMS], de[NPY_MAX_DIMS],
            dm[NPY_MAX_DIMS];
        int np_, nn, ne, nm;
        float *w_pos = load(name, "w_pos", dp, &np_);
        float *w_neg = load(name, "w_neg", dn, &nn);
        float *exp = load(name, "expected", de, &ne);
        float *meta = load(name, "meta", dm, &nm);
        if (w_pos && w_neg && exp && meta) {
            dmbp_render_options o;
            int is_def;
            meta_options(meta, &o, &is_def);
            int c = (int)dp[0], h = (int)dp[1], w = (int)dp[2];
            const char *path = out_path("mappings.png");
            dmbp_status st = dmbp_render_mappings(w_pos, w_neg, c, h, w,
                                                  is_def ? NULL : &o, path);
            if (st) {
                FAIL("%s: %s: %s", name, dmbp_status_str(st),
                     dmbp_last_error());
            } else {
                int oh = (int)meta[META_OUT_H], ow = (int)meta[META_OUT_W];
                int d = compare_png(name, path, exp, 2, h, w, oh, ow);
                report("mappings", name, d, h, w, oh, ow);
            }
        }
        free(w_pos);
        free(w_neg);
        free(exp);
        free(meta);
    }
}

/* ------------------------------------------------------------------ */
/* Output sizes                                                       */
/* ------------------------------------------------------------------ */

static void png_size(const char *path, int *h, int *w)
{
    *h = *w = -1;
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(&png, path)) {
        *h = (int)png.height;
        *w = (int)png.width;
    }
    png_image_free(&png);
}

/* The upscaling factor: ceil(min_side / shorter side), reduced so that no
 * side passes DMBP_RENDER_MAX_SIDE, never below 1. */
static void test_sizes(void)
{
    static const struct {
        int h, w, min_side, out_h, out_w;
    } cases[] = {
        {1, 1, 224, 224, 224},      /* x224 */
        {2, 3000, 224, 2, 3000},    /* x112 wanted, 4096 / 3000 = 1 */
        {3, 1000, 224, 12, 4000},   /* x75 wanted, capped at x4 */
        {4096, 5, 224, 4096, 5},    /* at the cap already */
        {5000, 2, 224, 5000, 2},    /* larger than the cap: as it is */
        {30, 20, 224, 360, 240},    /* ceil(224 / 20) = 12 */
        {30, 20, 20, 30, 20},       /* already large enough */
        {30, 20, 0, 30, 20},        /* upscaling off */
    };
    const char *path = out_path("size.png");
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        int h = cases[n].h, w = cases[n].w;
        size_t np = (size_t)h * (size_t)w;
        float *zero = calloc(np * RGB, sizeof(float));
        dmbp_image bg = {1, h, w, zero};
        dmbp_render_options o;
        dmbp_render_options_init(&o);
        o.min_side = cases[n].min_side;
        int oh, ow;
        dmbp_status st = dmbp_render_signed(zero, zero, 1, h, w, &bg, &o,
                                            path);
        png_size(path, &oh, &ow);
        CHECK(st == DMBP_OK && oh == cases[n].out_h && ow == cases[n].out_w,
              "signed %dx%d (h x w) min_side %d: %s, got %dx%d, expected "
              "%dx%d",
              h, w, cases[n].min_side, dmbp_status_str(st), oh, ow,
              cases[n].out_h, cases[n].out_w);
        st = dmbp_render_sequential(zero, h, w, &bg, &o, path);
        png_size(path, &oh, &ow);
        CHECK(st == DMBP_OK && oh == cases[n].out_h && ow == cases[n].out_w,
              "sequential %dx%d min_side %d: got %dx%d", h, w,
              cases[n].min_side, oh, ow);
        st = dmbp_render_mappings(zero, zero, RGB, h, w, &o, path);
        png_size(path, &oh, &ow);
        CHECK(st == DMBP_OK && oh == cases[n].out_h &&
                  ow == 2 * cases[n].out_w + DMBP_RENDER_GAP,
              "mappings %dx%d min_side %d: got %dx%d", h, w,
              cases[n].min_side, oh, ow);
        free(zero);
    }
    printf("sizes      %zu upscaling cases checked\n",
           sizeof cases / sizeof *cases);

    /* Constant mappings have no range to scale: black panels, white gap. */
    float zero[4 * 3] = {0};
    dmbp_render_options o;
    dmbp_render_options_init(&o);
    o.min_side = 0;
    dmbp_status st = dmbp_render_mappings(zero, zero, 1, 4, 3, &o, path);
    int h = 0, w = 0;
    unsigned char *px = st ? NULL : tl_read_png_rgb(path, &h, &w);
    CHECK(px && h == 4 && w == 2 * 3 + DMBP_RENDER_GAP,
          "constant mappings: %s, %dx%d", dmbp_status_str(st), w, h);
    for (int i = 0; px && i < h * w * RGB; i++) {
        int x = i / RGB % w;
        int want = x >= 3 && x < 3 + DMBP_RENDER_GAP ? WHITE : 0;
        if (px[i] != want) {
            FAIL("constant mappings: x %d: got %d expected %d", x, px[i],
                 want);
            break;
        }
    }
    free(px);
}

/* ------------------------------------------------------------------ */
/* .npy                                                               */
/* ------------------------------------------------------------------ */

static void test_npy(void)
{
    static const struct {
        const char *name;
        int ndim;
        int64_t dims[3];
    } cases[] = {
        {"npy_2x3x4", 3, {2, 3, 4}},
        {"npy_5", 1, {5, 0, 0}},
        {"npy_scalar", 0, {0, 0, 0}},
        {"npy_3x0x2", 3, {3, 0, 2}},
    };
    for (size_t n = 0; n < sizeof cases / sizeof *cases; n++) {
        int64_t numel = npy_numel(cases[n].dims, cases[n].ndim);
        float *data = malloc(((size_t)numel + 1) * sizeof(float));
        for (int64_t i = 0; i < numel; i++)
            data[i] = (float)i * 0.5f - 3.0f; /* as the fixture's arange */
        const char *path = out_path("a.npy");
        dmbp_status st =
            dmbp_write_npy(path, numel ? data : NULL, cases[n].dims,
                           cases[n].ndim);
        CHECK(st == DMBP_OK, "%s: %s: %s", cases[n].name,
              dmbp_status_str(st), dmbp_last_error());
        /* Round trip through the tests' reader. */
        float *back = NULL;
        int64_t dims[NPY_MAX_DIMS];
        int ndim = -1;
        if (npy_read_f32(path, &back, dims, &ndim) == 0) {
            int same = ndim == cases[n].ndim;
            for (int i = 0; same && i < ndim; i++)
                same = dims[i] == cases[n].dims[i];
            CHECK(same, "%s: shape read back differs", cases[n].name);
            for (int64_t i = 0; same && i < numel; i++)
                if (back[i] != data[i]) {
                    FAIL("%s: element %lld read back %g, wrote %g",
                         cases[n].name, (long long)i, (double)back[i],
                         (double)data[i]);
                    break;
                }
        } else {
            FAIL("%s: the tests' reader rejects it", cases[n].name);
        }
        free(back);
        /* Byte for byte what np.save writes. */
        char rel[256];
        snprintf(rel, sizeof rel, RENDER_DIR "%s.npy", cases[n].name);
        size_t la = 0, lb = 0;
        unsigned char *a = tl_read_file(path, &la);
        unsigned char *b = tl_read_file(test_path(rel), &lb);
        CHECK(a && b && la == lb && memcmp(a, b, la) == 0,
              "%s: differs from np.save's file (%zu vs %zu bytes)",
              cases[n].name, la, lb);
        free(a);
        free(b);
        free(data);
    }
    printf("npy        %zu shapes: identical to np.save, read back "
           "exactly\n",
           sizeof cases / sizeof *cases);

    float one = 1.0f;
    int64_t bad_neg[1] = {-1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1},
            five[1] = {5};
    const char *path = out_path("bad.npy");
    CHECK(dmbp_write_npy(NULL, &one, five, 1) == DMBP_ERR_ARG, "NULL path");
    CHECK(dmbp_write_npy(path, &one, NULL, 1) == DMBP_ERR_ARG, "NULL dims");
    CHECK(dmbp_write_npy(path, NULL, five, 1) == DMBP_ERR_ARG,
          "NULL data with 5 elements");
    CHECK(dmbp_write_npy(path, &one, bad_neg, 1) == DMBP_ERR_ARG,
          "negative dim");
    CHECK(dmbp_write_npy(path, &one, nine, 9) == DMBP_ERR_ARG, "ndim 9");
    CHECK(dmbp_write_npy(path, &one, five, -1) == DMBP_ERR_ARG, "ndim -1");
    CHECK(!exists(path), "a failed dmbp_write_npy created %s", path);
    dmbp_status st =
        dmbp_write_npy(out_path("missing/a.npy"), &one, NULL, 0);
    CHECK(st == DMBP_ERR_IO &&
              strstr(dmbp_last_error(), "missing/a.npy") &&
              strstr(dmbp_last_error(), strerror(ENOENT)),
          "npy into a missing directory: %s: %s", dmbp_status_str(st),
          dmbp_last_error());
}

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

#define EH 6
#define EW 5
#define ENP (EH * EW)

static float e_map[RGB * ENP], e_bg[RGB * ENP];

static const char keep_bytes[] = "not a PNG: must survive failed calls\n";

static int keep_intact(const char *path)
{
    size_t len;
    unsigned char *b = tl_read_file(path, &len);
    int ok = b && len == sizeof keep_bytes - 1 &&
             memcmp(b, keep_bytes, len) == 0;
    free(b);
    return ok;
}

/* A call that must fail with `want` and a message holding `says`,
 * leaving `path` as it was (absent, or holding keep_bytes). */
static void expect_fail(const char *what, dmbp_status st, dmbp_status want,
                        const char *says, const char *path, int existed)
{
    const char *msg = dmbp_last_error();
    CHECK(st == want, "%s: got %s (%s), expected %s", what,
          dmbp_status_str(st), msg, dmbp_status_str(want));
    CHECK(!says || strstr(msg, says), "%s: message lacks \"%s\": %s", what,
          says, msg);
    if (existed)
        CHECK(keep_intact(path), "%s: changed the existing %s", what, path);
    else
        CHECK(!exists(path), "%s: created %s", what, path);
}

static void test_errors(void)
{
    for (int i = 0; i < RGB * ENP; i++) {
        e_map[i] = (float)((i * 37) % 11) - 5.0f;
        e_bg[i] = (float)(i % 7) / 7.0f;
    }
    dmbp_image bg = {RGB, EH, EW, e_bg};
    /* Copies: out_path's buffers are reused by the calls below. */
    char fresh[sizeof workdir + 32], keep[sizeof workdir + 32];
    snprintf(fresh, sizeof fresh, "%s", out_path("fresh.png"));
    snprintf(keep, sizeof keep, "%s", out_path("keep.png"));
    FILE *f = fopen(keep, "wb");
    if (!f || fwrite(keep_bytes, 1, sizeof keep_bytes - 1, f) !=
                  sizeof keep_bytes - 1) {
        FAIL("cannot write %s", keep);
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    dmbp_render_options o;
    /* Each failing call against both a fresh path and an existing file. */
    for (int existed = 0; existed < 2; existed++) {
        const char *p = existed ? keep : fresh;
#define SIGNED(desc, want, says, ...)                                        \
    expect_fail(desc, dmbp_render_signed(__VA_ARGS__), want, says, p,       \
                existed)
        dmbp_render_options_init(&o);
        SIGNED("NULL a_pos", DMBP_ERR_ARG, "a_pos", NULL, e_map, RGB, EH, EW,
               &bg, &o, p);
        SIGNED("NULL a_neg", DMBP_ERR_ARG, "a_neg", e_map, NULL, RGB, EH, EW,
               &bg, &o, p);
        SIGNED("NULL background", DMBP_ERR_ARG, "background", e_map, e_map,
               RGB, EH, EW, NULL, &o, p);
        SIGNED("channels 2", DMBP_ERR_ARG, "channels", e_map, e_map, 2, EH,
               EW, &bg, &o, p);
        SIGNED("height 0", DMBP_ERR_ARG, "size", e_map, e_map, RGB, 0, EW,
               &bg, &o, p);
        SIGNED("width -3", DMBP_ERR_ARG, "size", e_map, e_map, RGB, EH, -3,
               &bg, &o, p);
        SIGNED("height too large", DMBP_ERR_ARG, "size", e_map, e_map, RGB,
               DMBP_IMAGE_MAX_SIDE + 1, 1, &bg, &o, p);
        dmbp_image bad = bg;
        bad.width = EW - 1;
        SIGNED("background width", DMBP_ERR_ARG, "background", e_map, e_map,
               RGB, EH, EW, &bad, &o, p);
        bad = bg;
        bad.channels = 2;
        SIGNED("background channels", DMBP_ERR_ARG, "background", e_map,
               e_map, RGB, EH, EW, &bad, &o, p);
        bad = bg;
        bad.data = NULL;
        SIGNED("background data", DMBP_ERR_ARG, "background", e_map, e_map,
               RGB, EH, EW, &bad, &o, p);
        o.alpha = 1.5f;
        SIGNED("alpha 1.5", DMBP_ERR_ARG, "alpha", e_map, e_map, RGB, EH, EW,
               &bg, &o, p);
        o.alpha = -0.01f;
        SIGNED("alpha -0.01", DMBP_ERR_ARG, "alpha", e_map, e_map, RGB, EH,
               EW, &bg, &o, p);
        o.alpha = NAN;
        SIGNED("alpha NaN", DMBP_ERR_ARG, "alpha", e_map, e_map, RGB, EH, EW,
               &bg, &o, p);
        dmbp_render_options_init(&o);
        o.percentile = 0.0;
        SIGNED("percentile 0", DMBP_ERR_ARG, "percentile", e_map, e_map, RGB,
               EH, EW, &bg, &o, p);
        o.percentile = 100.5;
        SIGNED("percentile 100.5", DMBP_ERR_ARG, "percentile", e_map, e_map,
               RGB, EH, EW, &bg, &o, p);
        o.percentile = NAN;
        SIGNED("percentile NaN", DMBP_ERR_ARG, "percentile", e_map, e_map,
               RGB, EH, EW, &bg, &o, p);
        dmbp_render_options_init(&o);
        o.min_side = -1;
        SIGNED("min_side -1", DMBP_ERR_ARG, "min_side", e_map, e_map, RGB,
               EH, EW, &bg, &o, p);
        dmbp_render_options_init(&o);

        /* Non-finite values: the message names the array. */
        float saved = e_map[7];
        e_map[7] = NAN;
        SIGNED("NaN in a_pos", DMBP_ERR_NONFINITE, "a_pos", e_map, e_bg,
               RGB, EH, EW, &bg, &o, p);
        SIGNED("NaN in a_neg", DMBP_ERR_NONFINITE, "a_neg", e_bg, e_map,
               RGB, EH, EW, &bg, &o, p);
        expect_fail("NaN in the sequential map",
                    dmbp_render_sequential(e_map, EH, EW, &bg, &o, p),
                    DMBP_ERR_NONFINITE, "map", p, existed);
        e_map[7] = INFINITY;
        expect_fail("inf in w_pos",
                    dmbp_render_mappings(e_map, e_bg, RGB, EH, EW, &o, p),
                    DMBP_ERR_NONFINITE, "w_pos", p, existed);
        expect_fail("inf in w_neg",
                    dmbp_render_mappings(e_bg, e_map, RGB, EH, EW, &o, p),
                    DMBP_ERR_NONFINITE, "w_neg", p, existed);
        e_map[7] = saved;
        saved = e_bg[3];
        e_bg[3] = -INFINITY;
        SIGNED("-inf in the background", DMBP_ERR_NONFINITE, "background",
               e_map, e_map, RGB, EH, EW, &bg, &o, p);
        e_bg[3] = saved;
#undef SIGNED

        expect_fail("NULL sequential map",
                    dmbp_render_sequential(NULL, EH, EW, &bg, &o, p),
                    DMBP_ERR_ARG, "map", p, existed);
        expect_fail("sequential background size",
                    dmbp_render_sequential(e_map, EH + 1, EW, &bg, &o, p),
                    DMBP_ERR_ARG, "background", p, existed);
        expect_fail("mappings channels 4",
                    dmbp_render_mappings(e_map, e_map, 4, EH, EW, &o, p),
                    DMBP_ERR_ARG, "channels", p, existed);
        expect_fail("NULL w_neg",
                    dmbp_render_mappings(e_map, NULL, RGB, EH, EW, &o, p),
                    DMBP_ERR_ARG, "w_neg", p, existed);
        o.alpha = 2.0f; /* unused by mappings, but options must be valid */
        expect_fail("mappings alpha 2",
                    dmbp_render_mappings(e_map, e_map, RGB, EH, EW, &o, p),
                    DMBP_ERR_ARG, "alpha", p, existed);
        dmbp_render_options_init(&o);
    }
    CHECK(dmbp_render_signed(e_map, e_map, RGB, EH, EW, &bg, NULL, NULL) ==
              DMBP_ERR_ARG,
          "NULL path accepted");

    /* I/O: a missing directory, and a path that is a directory (the
     * temporary is written, the rename fails: it must be removed). */
    const char *missing = out_path("no/such/dir/out.png");
    dmbp_status st =
        dmbp_render_signed(e_map, e_map, RGB, EH, EW, &bg, &o, missing);
    expect_fail("missing directory", st, DMBP_ERR_IO, "no/such/dir/out.png",
                missing, 0);
    CHECK(strstr(dmbp_last_error(), strerror(ENOENT)),
          "missing directory: message lacks strerror: %s",
          dmbp_last_error());
    printf("errors     missing dir -> %s: %s\n", dmbp_status_str(st),
           dmbp_last_error());
    const char *dir = out_path("a_directory");
    mkdir(dir, 0700);
    st = dmbp_render_mappings(e_map, e_map, RGB, EH, EW, &o, dir);
    CHECK(st == DMBP_ERR_IO && strstr(dmbp_last_error(), "a_directory"),
          "path is a directory: %s: %s", dmbp_status_str(st),
          dmbp_last_error());
    printf("errors     path is a directory -> %s: %s\n",
           dmbp_status_str(st), dmbp_last_error());
    st = dmbp_write_npy(dir, e_map, NULL, 0);
    CHECK(st == DMBP_ERR_IO, "npy over a directory: %s",
          dmbp_status_str(st));

    /* A write that fails half way (a file size limit: EFBIG), over an
     * existing file and to a fresh path: the temporary must go, the
     * existing file stay as it was. */
    struct rlimit saved_lim;
    if (getrlimit(RLIMIT_FSIZE, &saved_lim) == 0) {
        void (*saved_sig)(int) = signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = saved_lim;
        lim.rlim_cur = 64; /* bytes: the PNG signature and IHDR fit */
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            st = dmbp_render_signed(e_map, e_map, RGB, EH, EW, &bg, NULL,
                                    keep);
            dmbp_status st2 = dmbp_render_mappings(e_map, e_map, RGB, EH,
                                                   EW, NULL, fresh);
            setrlimit(RLIMIT_FSIZE, &saved_lim);
            expect_fail("short write over a file", st, DMBP_ERR_IO,
                        strerror(EFBIG), keep, 1);
            expect_fail("short write", st2, DMBP_ERR_IO, "fresh.png", fresh,
                        0);
            printf("errors     short write -> %s: %s\n",
                   dmbp_status_str(st2), dmbp_last_error());
        } else {
            printf("errors     short write: skipped (setrlimit: %s)\n",
                   strerror(errno));
        }
        signal(SIGXFSZ, saved_sig);
    }

    /* A directory we may not write to (meaningless for root, who may). */
    if (geteuid() != 0) {
        const char *ro = out_path("read_only");
        mkdir(ro, 0500);
        const char *inside = out_path("read_only/out.png");
        st = dmbp_render_sequential(e_map, EH, EW, &bg, &o, inside);
        expect_fail("read-only directory", st, DMBP_ERR_IO,
                    "read_only/out.png", inside, 0);
        CHECK(strstr(dmbp_last_error(), strerror(EACCES)),
              "read-only directory: message lacks strerror: %s",
              dmbp_last_error());
        printf("errors     read-only dir -> %s: %s\n", dmbp_status_str(st),
               dmbp_last_error());
    } else {
        printf("errors     read-only directory: skipped (running as root)\n");
    }

    /* Success replaces an existing file, with the usual permissions
     * (0666 less the umask, not mkstemp's 0600). */
    mode_t old = umask(022);
    st = dmbp_render_signed(e_map, e_map, RGB, EH, EW, &bg, &o, keep);
    umask(old);
    CHECK(st == DMBP_OK, "overwriting: %s: %s", dmbp_status_str(st),
          dmbp_last_error());
    int h = 0, w = 0;
    unsigned char *px = tl_read_png_rgb(keep, &h, &w);
    CHECK(px != NULL, "the overwritten file is not our PNG");
    free(px);
    struct stat sb;
    CHECK(stat(keep, &sb) == 0 && (sb.st_mode & 0777) == 0644,
          "new file mode %o, expected 644 under umask 022",
          (unsigned)(sb.st_mode & 0777));
    o.percentile = 100.0; /* the upper bound is allowed */
    CHECK(dmbp_render_signed(e_map, e_map, RGB, EH, EW, &bg, &o, keep) ==
              DMBP_OK,
          "percentile 100 rejected: %s", dmbp_last_error());

    CHECK(count_temporaries(workdir) == 0, "temporary files left behind");
}

/* ------------------------------------------------------------------ */

static void test_defaults(void)
{
    dmbp_render_options o;
    memset(&o, 0xAB, sizeof o);
    dmbp_render_options_init(&o);
    CHECK(o.min_side == DMBP_RENDER_MIN_SIDE && o.min_side == 224 &&
              o.alpha == 0.7f && o.percentile == 99.99,
          "defaults: min_side %d alpha %g percentile %g", o.min_side,
          (double)o.alpha, o.percentile);
    dmbp_render_options_init_sized(NULL, sizeof o); /* accepts NULL */
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(workdir, sizeof workdir, "%s/test_render.XXXXXX", base);
    if (!mkdtemp(workdir)) {
        printf("FAIL cannot create a directory under %s: %s\n", base,
               strerror(errno));
        return 1;
    }
    test_defaults();
    test_signed_fixtures();
    test_sequential_fixtures();
    test_mappings_fixtures();
    test_sizes();
    test_npy();
    test_errors();
    CHECK(count_temporaries(workdir) == 0, "temporary files left behind");
    printf("largest pixel difference over all fixtures: %d (tolerance %d)\n",
           overall_maxdiff, PIXEL_TOL);
    remove_tree(workdir);
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all render tests passed\n");
    return 0;
}
