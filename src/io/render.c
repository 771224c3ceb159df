/* Rendering attribution maps to PNG (docs/dmbp-method.md section 5) and
 * writing arrays as .npy, both through a temporary file renamed over the
 * destination only once complete. */
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

#define GRAY_CHANNELS 1
#define RGB_CHANNELS 3
#define PNG_MAX8 255.0
/* Bytes per output pixel: 8-bit RGB. */
#define RGB8_BYTES 3

#define DEFAULT_ALPHA 0.7f
#define DEFAULT_PERCENTILE 99.99
#define PERCENT 100.0

/* Attempts at a fresh temporary name before giving up: a name is taken
 * only by a leftover of a killed process that had our pid. */
#define TMP_NAME_TRIES 16
/* Room for ".tmp.<pid>.<counter>" after the path. */
#define TMP_SUFFIX_MAX 48
/* Files are created 0666 and the umask applies, as fopen(path, "w") would
 * create them (mkstemp's 0600 would make outputs private). */
#define NEW_FILE_MODE 0666

/* .npy format version 1.0: magic, version, little-endian uint16 header
 * length, then a Python dict literal padded with spaces and ending in
 * '\n' so that the data starts at a multiple of NPY_ALIGN (what numpy
 * writes; the format asks for at least 16). */
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_VERSION_MAJOR 1
#define NPY_VERSION_MINOR 0
#define NPY_PREAMBLE_LEN 10
#define NPY_ALIGN 64
#define NPY_HEADER_MAX 65535 /* version 1.0 stores it in 16 bits */
/* A dict for DMBP_MAX_DIMS 20-digit dims fits with room to spare. */
#define NPY_HEADER_BUF 512
/* Values byte-swapped per batch on big-endian hosts. */
#define NPY_SWAP_BATCH 4096

/* ------------------------------------------------------------------ */
/* Colormaps                                                          */
/* ------------------------------------------------------------------ */

/* [0, 1] to a byte, rounding half up. */
unsigned char dmbp__render_byte(double v)
{
    double s = floor(v * PNG_MAX8 + 0.5);
    if (!(s > 0.0))
        return 0;
    if (s > PNG_MAX8)
        return (unsigned char)PNG_MAX8;
    return (unsigned char)s;
}

/* ------------------------------------------------------------------ */
/* Percentile                                                         */
/* ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(v, pct) with its default "linear" method, as numpy
 * 1.22+ computes it (same float operations, so the same result for the
 * same doubles). Sorts v in place. A full sort rather than a selection
 * for simplicity: a 224 x 224 map sorts in a few milliseconds. */
double dmbp__percentile(double *v, size_t n, double pct)
{
    qsort(v, n, sizeof *v, cmp_double);
    double q = pct / PERCENT;
    double virt = (double)(n - 1) * q; /* numpy's "linear" virtual index */
    if (virt >= (double)(n - 1))
        return v[n - 1];
    if (virt < 0.0)
        return v[0];
    double below = floor(virt);
    size_t i = (size_t)below;
    double a = v[i], b = v[i + 1], t = virt - below;
    /* numpy's _lerp: from the nearer end, so that t = 1 gives b exactly. */
    double d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

/* ------------------------------------------------------------------ */
/* Files written whole or not at all                                  */
/* ------------------------------------------------------------------ */

typedef struct out_file {
    const char *path;
    char *tmp;
    int fd;
} out_file;

/* Distinguishes the temporary files of one process's threads. */
static atomic_uint tmp_counter;

/* Create a fresh temporary file beside path (same directory, hence same
 * file system, so that the final rename is atomic). O_EXCL rather than
 * mkstemp, whose 0600 mode would survive the rename. */
static dmbp_status out_open(out_file *f, const char *path)
{
    f->path = path;
    f->fd = -1;
    size_t cap = strlen(path) + TMP_SUFFIX_MAX;
    f->tmp = dmbp__malloc(cap);
    if (!f->tmp)
        return DMBP_ERR_NOMEM;
    int err = 0;
    for (int tries = 0; tries < TMP_NAME_TRIES; tries++) {
        snprintf(f->tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&tmp_counter, 1u));
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                     NEW_FILE_MODE);
        if (f->fd >= 0)
            return DMBP_OK;
        err = errno;
        if (err != EEXIST)
            break;
    }
    dmbp_status st = dmbp_set_error(DMBP_ERR_IO,
                                    "%s: cannot create temporary file %s: %s",
                                    path, f->tmp, strerror(err));
    free(f->tmp);
    f->tmp = NULL;
    return st;
}

/* Close and remove the temporary file; keeps the current error detail. */
static void out_abort(out_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
}

static dmbp_status out_write(out_file *f, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            /* write() returning 0 for a regular file means no room. */
            dmbp_status st = dmbp_set_error(
                DMBP_ERR_IO, "%s: write error: %s", f->path,
                strerror(w < 0 ? errno : ENOSPC));
            out_abort(f);
            return st;
        }
        p += w;
        n -= (size_t)w;
    }
    return DMBP_OK;
}

/* Close (where NFS and quotas report deferred errors) and rename over the
 * destination. No fsync: the promise is that errors of this process
 * never leave a partial file at path, not durability across a crash. */
static dmbp_status out_commit(out_file *f)
{
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        dmbp_status st = dmbp_set_error(DMBP_ERR_IO, "%s: write error: %s",
                                        f->path, strerror(errno));
        out_abort(f);
        return st;
    }
    if (rename(f->tmp, f->path) != 0) {
        dmbp_status st = dmbp_set_error(
            DMBP_ERR_IO, "%s: cannot replace it with temporary file %s: %s",
            f->path, f->tmp, strerror(errno));
        out_abort(f);
        return st;
    }
    free(f->tmp);
    f->tmp = NULL;
    return DMBP_OK;
}

dmbp_status dmbp__write_whole(const char *path, const void *buf, size_t n)
{
    out_file f;
    TRY(out_open(&f, path));
    TRY(out_write(&f, buf, n));
    return out_commit(&f);
}

static void png_rgb8_init(png_image *png, int height, int width)
{
    memset(png, 0, sizeof *png);
    png->version = PNG_IMAGE_VERSION;
    png->width = (png_uint_32)width;
    png->height = (png_uint_32)height;
    /* 8-bit sRGB-encoded samples (libpng writes an sRGB chunk saying so),
     * no alpha. */
    png->format = PNG_FORMAT_RGB;
}

/* Encode an 8-bit RGB image (rows of 3 * width bytes) in memory, so that
 * libpng's failures and the file's are told apart, and write it. */
dmbp_status dmbp__write_png_rgb8(const char *path, const unsigned char *rgb,
                                  int height, int width)
{
    png_image png;
    png_rgb8_init(&png, height, width);
    /* An upper bound on the encoded size, so that one pass suffices; on
     * 32-bit hosts it may wrap, and libpng then reports the size needed,
     * hence the second attempt. */
    png_alloc_size_t cap = PNG_IMAGE_PNG_SIZE_MAX(png);
    unsigned char *buf = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(buf);
        buf = dmbp__malloc(cap);
        if (!buf)
            return DMBP_ERR_NOMEM;
        png_alloc_size_t size = cap;
        if (png_image_write_to_memory(&png, buf, &size, 0, rgb, 0, NULL)) {
            dmbp_status st = dmbp__write_whole(path, buf, size);
            free(buf);
            return st;
        }
        if (size <= cap)
            break; /* a real failure, not a short buffer */
        cap = size;
        png_image_free(&png);
        png_rgb8_init(&png, height, width);
    }
    free(buf);
    dmbp_status st = dmbp_set_error(DMBP_ERR_INTERNAL,
                                    "%s: PNG encoding failed (libpng: %s)",
                                    path, png.message);
    png_image_free(&png);
    return st;
}

/* ------------------------------------------------------------------ */
/* Argument checks                                                    */
/* ------------------------------------------------------------------ */

/* The first layout with struct_size (0.2.0) ends at heatmap_only. */
#define RENDER_OPTIONS_MIN DMBP__END(dmbp_render_options, heatmap_only)

static void render_defaults(dmbp_render_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->min_side = DMBP_RENDER_MIN_SIDE;
    o->alpha = DEFAULT_ALPHA;
    o->percentile = DEFAULT_PERCENTILE;
    o->colormap = DMBP_COLORMAP_DEFAULT;
    o->scale = 0.0;
    o->colorbar = 0;
    o->heatmap_only = 0;
}

void dmbp_render_options_init_sized(dmbp_render_options *o,
                                    size_t struct_size)
{
    dmbp_render_options d;
    render_defaults(&d);
    dmbp__options_init(o, struct_size, &d, RENDER_OPTIONS_MIN, sizeof d);
}

/* *out = the caller's o over the defaults (o NULL: the defaults),
 * checked. */
dmbp_status dmbp__render_options(const char *fn, const dmbp_render_options *in,
                               dmbp_render_options *out)
{
    render_defaults(out);
    TRY(dmbp__options_in(in, out, RENDER_OPTIONS_MIN, sizeof *out,
                         "dmbp_render_options"));
    const dmbp_render_options *o = out;
    if (o->min_side < 0)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option min_side must be >= 0, got %d", fn,
                              o->min_side);
    if (!(o->alpha >= 0.0f && o->alpha <= 1.0f))
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option alpha must be in [0, 1], got %g",
                              fn, (double)o->alpha);
    if (!(o->percentile > 0.0 && o->percentile <= PERCENT))
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option percentile must be in (0, 100], "
                              "got %g",
                              fn, o->percentile);
    if (!(o->scale >= 0.0 && isfinite(o->scale)))
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option scale must be finite and >= 0, "
                              "got %g",
                              fn, o->scale);
    if (o->part < DMBP_RENDER_BOTH || o->part > DMBP_RENDER_NEGATIVE)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option part %d is not a DMBP_RENDER_* "
                              "part", fn, o->part);
    if (o->caption && strlen(o->caption) > DMBP_RENDER_CAPTION_MAX)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option caption is longer than %d bytes",
                              fn, DMBP_RENDER_CAPTION_MAX);
    if (o->colormap < DMBP_COLORMAP_DEFAULT ||
        o->colormap > DMBP_COLORMAP_INFERNO)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: option colormap %d is not a "
                              "DMBP_COLORMAP_* value",
                              fn, o->colormap);
    return DMBP_OK;
}

dmbp_status dmbp__render_check_size(const char *fn, int channels, int height,
                              int width)
{
    if (channels != GRAY_CHANNELS && channels != RGB_CHANNELS)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: channels must be 1 or 3, got %d", fn,
                              channels);
    if (height <= 0 || width <= 0 || height > DMBP_IMAGE_MAX_SIDE ||
        width > DMBP_IMAGE_MAX_SIDE)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: map size %dx%d (width x height) is "
                              "outside 1..%d",
                              fn, width, height, DMBP_IMAGE_MAX_SIDE);
    /* The largest buffer: mappings' 2 * channels * height * width
     * doubles (only a 32-bit host can fail this). */
    if ((uint64_t)height * (uint64_t)width * (uint64_t)channels * 2u >
        SIZE_MAX / sizeof(double))
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "%s: a %dx%d map is too large for this host",
                              fn, width, height);
    return DMBP_OK;
}

/* Every value of a channels x height x width array finite? */
dmbp_status dmbp__render_check_finite(const char *fn, const char *what,
                                const float *v, int channels, int height,
                                int width)
{
    size_t np = (size_t)height * (size_t)width;
    size_t n = np * (size_t)channels;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE,
                                  "%s: %s holds %g at channel %zu, y %zu, "
                                  "x %zu",
                                  fn, what, (double)v[i], i / np,
                                  i % np / (size_t)width,
                                  i % (size_t)width);
    return DMBP_OK;
}

/* any_size: the user's original picture, which may have any size up to
 * the image side limit. */
static dmbp_status check_background(const char *fn, const dmbp_image *bg,
                                    int height, int width, int any_size)
{
    if (!bg->data)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: background has no data",
                              fn);
    if (bg->channels != GRAY_CHANNELS && bg->channels != RGB_CHANNELS)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: background has %d channels, expected 1 "
                              "or 3",
                              fn, bg->channels);
    if (any_size) {
        height = bg->height;
        width = bg->width;
        if (height <= 0 || width <= 0 || height > DMBP_IMAGE_MAX_SIDE ||
            width > DMBP_IMAGE_MAX_SIDE)
            return dmbp_set_error(DMBP_ERR_ARG,
                                  "%s: original image %dx%d is outside "
                                  "1..%d per side",
                                  fn, bg->width, bg->height,
                                  DMBP_IMAGE_MAX_SIDE);
    } else if (bg->height != height || bg->width != width) {
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: background is %dx%d, the map %dx%d "
                              "(width x height)",
                              fn, bg->width, bg->height, width, height);
    }
    return dmbp__render_check_finite(fn, "background", bg->data,
                                     bg->channels, height, width);
}

/* ------------------------------------------------------------------ */
/* Composition                                                        */
/* ------------------------------------------------------------------ */

/* The nearest-neighbour upscaling factor of a height x width panel. */
int dmbp__render_upscale(int min_side, int height, int width)
{
    if (min_side <= 0)
        return 1;
    int shorter = height < width ? height : width;
    int longer = height < width ? width : height;
    int f = (min_side + shorter - 1) / shorter; /* ceil */
    int most = DMBP_RENDER_MAX_SIDE / longer;
    if (f > most)
        f = most;
    return f > 1 ? f : 1;
}

/* Copy an h x w RGB8 panel into out (rows of out_w pixels) at column x0,
 * each pixel as an f x f block. */
void dmbp__render_blit(unsigned char *out, size_t out_w, size_t x0,
                        const unsigned char *panel, int h, int w, int f)
{
    size_t sf = (size_t)f, row = (size_t)w * RGB8_BYTES;
    for (size_t y = 0; y < (size_t)h * sf; y++) {
        const unsigned char *src = panel + y / sf * row;
        unsigned char *dst = out + (y * out_w + x0) * RGB8_BYTES;
        for (size_t x = 0; x < (size_t)w * sf; x++)
            memcpy(dst + x * RGB8_BYTES, src + x / sf * RGB8_BYTES,
                   RGB8_BYTES);
    }
}

/* mean_c max(sign * v, 0) of a channels x np array into out. */
static void mean_part(const float *v, double sign, int channels, size_t np,
                      double *out)
{
    for (size_t i = 0; i < np; i++) {
        double s = 0.0;
        for (int c = 0; c < channels; c++) {
            double x = sign * (double)v[(size_t)c * np + i];
            s += x > 0.0 ? x : 0.0;
        }
        out[i] = s / channels;
    }
}

/* Clip v at its pct percentile (scratch: np doubles); returns the max. */
static double clip_at_percentile(double *v, size_t np, double pct,
                                 double *scratch)
{
    memcpy(scratch, v, np * sizeof *v);
    double p = dmbp__percentile(scratch, np, pct);
    double most = 0.0;
    for (size_t i = 0; i < np; i++) {
        if (v[i] > p)
            v[i] = p;
        if (v[i] > most)
            most = v[i];
    }
    return most;
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                */
/* ------------------------------------------------------------------ */

/* The signed map normalised as dmbp_render_signed documents, into a
 * fresh height x width array (*map) with values in [-1, 1]; *scale is
 * the value that maps to 1 (0 when the map is all 0). a_neg NULL: a
 * non-negative map (negative values clamped), normalised to [0, 1]. */
static dmbp_status normalise(const float *a_pos, const float *a_neg,
                             int channels, int height, int width,
                             const dmbp_render_options *opt, double **map,
                             double *scale)
{
    size_t np = (size_t)height * (size_t)width;
    *map = NULL;
    double *pos = dmbp__malloc(np * sizeof *pos);
    double *neg = a_neg ? dmbp__malloc(np * sizeof *neg) : NULL;
    double *scratch = dmbp__malloc(np * sizeof *scratch);
    if (!pos || (a_neg && !neg) || !scratch) {
        free(pos);
        free(neg);
        free(scratch);
        return DMBP_ERR_NOMEM;
    }
    /* Clamping before the channel mean: a part's leakage of the other
     * sign would otherwise become an offset. */
    mean_part(a_pos, 1.0, channels, np, pos);
    if (a_neg)
        mean_part(a_neg, -1.0, channels, np, neg);
    /* Each part is clipped at its own percentile whatever the scale, so
     * that a map rendered at its own scale given explicitly (a shared
     * scale it sets) looks as it does alone. */
    double mp = clip_at_percentile(pos, np, opt->percentile, scratch);
    double mn = a_neg ? clip_at_percentile(neg, np, opt->percentile, scratch)
                      : 0.0;
    /* One scale for both parts keeps their relative strength visible. */
    double m = opt->scale > 0.0 ? opt->scale : mp > mn ? mp : mn;
    /* One part alone keeps the scale of both. */
    double wp = opt->part == DMBP_RENDER_NEGATIVE ? 0.0 : 1.0;
    double wn = !a_neg || opt->part == DMBP_RENDER_POSITIVE ? 0.0 : 1.0;
    for (size_t i = 0; i < np; i++) {
        double v = m > 0.0 ? wp * pos[i] / m - (wn ? neg[i] / m : 0.0) : 0.0;
        /* A fixed scale may be exceeded: saturate. */
        pos[i] = v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
    }
    free(neg);
    free(scratch);
    *map = pos;
    *scale = m;
    return DMBP_OK;
}

/* Shared by the four rendering entry points; original/pre non-NULL: the
 * background is the user's picture and the map goes back through pre. */
static dmbp_status render_map(const char *fn, const float *a_pos,
                              const float *a_neg, int channels, int height,
                              int width, const dmbp_image *background,
                              const dmbp_preprocess_options *pre,
                              const dmbp_render_options *o, const char *path)
{
    dmbp_render_options opt;
    TRY(dmbp__render_options(fn, o, &opt));
    dmbp_preprocess_options pre_opt;
    if (pre) {
        TRY(dmbp__preprocess_options_in(pre, &pre_opt));
        pre = &pre_opt;
    }
    TRY(dmbp__render_check_size(fn, channels, height, width));
    if (!a_neg && opt.part != DMBP_RENDER_BOTH)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: option part: a "
                              "non-negative map has no positive and "
                              "negative parts", fn);
    TRY(check_background(fn, background, height, width, pre != NULL));
    TRY(dmbp__render_check_finite(fn, a_neg ? "a_pos" : "map", a_pos,
                                  channels, height, width));
    if (a_neg && a_neg != a_pos)
        TRY(dmbp__render_check_finite(fn, "a_neg", a_neg, channels, height,
                                      width));
    double *map, scale;
    TRY(normalise(a_pos, a_neg, channels, height, width, &opt, &map,
                  &scale));
    dmbp_status st = dmbp__render_compose(fn, path, map, a_neg != NULL,
                                          scale, height, width, background,
                                          pre, &opt);
    free(map);
    return st;
}

dmbp_status dmbp_render_signed(const float *a_pos, const float *a_neg,
                               int channels, int height, int width,
                               const dmbp_image *background,
                               const dmbp_render_options *o, const char *path)
{
    static const char fn[] = "dmbp_render_signed";
    if (!a_pos || !a_neg || !background || !path)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !a_pos ? "a_pos"
                              : !a_neg ? "a_neg"
                              : !background ? "background"
                                            : "path");
    return render_map(fn, a_pos, a_neg, channels, height, width, background,
                      NULL, o, path);
}

dmbp_status dmbp_render_sequential(const float *map, int height, int width,
                                   const dmbp_image *background,
                                   const dmbp_render_options *o,
                                   const char *path)
{
    static const char fn[] = "dmbp_render_sequential";
    if (!map || !background || !path)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !map          ? "map"
                              : !background ? "background"
                                            : "path");
    return render_map(fn, map, NULL, GRAY_CHANNELS, height, width,
                      background, NULL, o, path);
}

dmbp_status dmbp_render_signed_original(
    const float *a_pos, const float *a_neg, int channels, int height,
    int width, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const dmbp_render_options *o,
    const char *path)
{
    static const char fn[] = "dmbp_render_signed_original";
    if (!a_pos || !a_neg || !original || !pre || !path)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !a_pos      ? "a_pos"
                              : !a_neg    ? "a_neg"
                              : !original ? "original"
                              : !pre      ? "pre"
                                          : "path");
    return render_map(fn, a_pos, a_neg, channels, height, width, original,
                      pre, o, path);
}

dmbp_status dmbp_render_sequential_original(
    const float *map, int height, int width, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const dmbp_render_options *o,
    const char *path)
{
    static const char fn[] = "dmbp_render_sequential_original";
    if (!map || !original || !pre || !path)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !map        ? "map"
                              : !original ? "original"
                              : !pre      ? "pre"
                                          : "path");
    return render_map(fn, map, NULL, GRAY_CHANNELS, height, width, original,
                      pre, o, path);
}

dmbp_status dmbp_render_scale(const float *a_pos, const float *a_neg,
                              int channels, int height, int width,
                              const dmbp_render_options *o, double *scale)
{
    static const char fn[] = "dmbp_render_scale";
    if (!a_pos || !scale)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !a_pos ? "a_pos" : "scale");
    *scale = 0.0;
    dmbp_render_options opt;
    TRY(dmbp__render_options(fn, o, &opt));
    TRY(dmbp__render_check_size(fn, channels, height, width));
    TRY(dmbp__render_check_finite(fn, "a_pos", a_pos, channels, height,
                                  width));
    if (a_neg && a_neg != a_pos)
        TRY(dmbp__render_check_finite(fn, "a_neg", a_neg, channels, height,
                                      width));
    opt.scale = 0.0; /* the percentile scale, whatever o says */
    double *map;
    TRY(normalise(a_pos, a_neg, channels, height, width, &opt, &map, scale));
    free(map);
    return DMBP_OK;
}

dmbp_status dmbp_render_mappings(const float *w_pos, const float *w_neg,
                                 int channels, int height, int width,
                                 const dmbp_render_options *o,
                                 const char *path)
{
    static const char fn[] = "dmbp_render_mappings";
    if (!w_pos || !w_neg || !path)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !w_pos   ? "w_pos"
                              : !w_neg ? "w_neg"
                                       : "path");
    dmbp_render_options opt;
    TRY(dmbp__render_options(fn, o, &opt));
    TRY(dmbp__render_check_size(fn, channels, height, width));
    TRY(dmbp__render_check_finite(fn, "w_pos", w_pos, channels, height, width));
    TRY(dmbp__render_check_finite(fn, "w_neg", w_neg, channels, height, width));

    size_t np = (size_t)height * (size_t)width;
    size_t n = np * (size_t)channels; /* values per panel */
    double *v = dmbp__malloc(2 * n * sizeof *v);
    unsigned char *panels = dmbp__malloc(2 * np * RGB8_BYTES);
    if (!v || !panels) {
        free(v);
        free(panels);
        return DMBP_ERR_NOMEM;
    }
    /* v = [W+, -W-]; the percentile of |v| first, v used as scratch. */
    for (size_t i = 0; i < n; i++) {
        v[i] = fabs((double)w_pos[i]);
        v[n + i] = fabs((double)w_neg[i]);
    }
    double p = dmbp__percentile(v, 2 * n, opt.percentile);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < 2 * n; i++) {
        double x = i < n ? (double)w_pos[i] : -(double)w_neg[i - n];
        x = x < -p ? -p : x > p ? p : x;
        v[i] = x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    /* Panel k, pixel i, channel c (gray replicated) from v. */
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < np; i++)
            for (int c = 0; c < RGB_CHANNELS; c++) {
                int sc = channels == RGB_CHANNELS ? c : 0;
                double x = v[k * n + (size_t)sc * np + i];
                /* A constant result has no range to show: 0. */
                double s = hi > lo ? (x - lo) / (hi - lo) : 0.0;
                panels[(k * np + i) * RGB8_BYTES + (size_t)c] = dmbp__render_byte(s);
            }
    free(v);

    int f = dmbp__render_upscale(opt.min_side, height, width);
    size_t ph = (size_t)height * (size_t)f, pw = (size_t)width * (size_t)f;
    size_t ow = 2 * pw + DMBP_RENDER_GAP;
    unsigned char *out = dmbp__malloc(ph * ow * RGB8_BYTES);
    if (!out) {
        free(panels);
        return DMBP_ERR_NOMEM;
    }
    /* White everywhere first: what the panels leave is the gap. */
    memset(out, (int)PNG_MAX8, ph * ow * RGB8_BYTES);
    dmbp__render_blit(out, ow, 0, panels, height, width, f);
    dmbp__render_blit(out, ow, pw + DMBP_RENDER_GAP, panels + np * RGB8_BYTES,
                height, width, f);
    free(panels);
    dmbp_status st = dmbp__write_png_rgb8(path, out, (int)ph, (int)ow);
    free(out);
    return st;
}

/* ------------------------------------------------------------------ */
/* .npy                                                               */
/* ------------------------------------------------------------------ */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

dmbp_status dmbp_write_npy(const char *path, const float *data,
                           const int64_t *dims, int ndim)
{
    static const char fn[] = "dmbp_write_npy";
    if (!path || (ndim > 0 && !dims))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !path ? "path" : "dims");
    if (ndim < 0 || ndim > DMBP_MAX_DIMS)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: ndim must be in 0..%d, got %d", fn,
                              DMBP_MAX_DIMS, ndim);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0)
            return dmbp_set_error(DMBP_ERR_ARG,
                                  "%s: dims[%d] is negative (%lld)", fn, i,
                                  (long long)dims[i]);
    for (int i = 0; i < ndim && numel > 0; i++) {
        if (dims[i] > 0 &&
            (uint64_t)dims[i] > SIZE_MAX / sizeof(float) / numel)
            return dmbp_set_error(DMBP_ERR_ARG,
                                  "%s: the shape holds too many elements",
                                  fn);
        numel *= (size_t)dims[i];
    }
    if (numel > 0 && !data)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: data is NULL", fn);

    /* Preamble (magic, version 1.0, header length filled in below), then
     * the dict: a 1-tuple needs its trailing comma, "(5,)". */
    char header[NPY_HEADER_BUF];
    memcpy(header, NPY_MAGIC, NPY_MAGIC_LEN);
    header[NPY_MAGIC_LEN] = NPY_VERSION_MAJOR;
    header[NPY_MAGIC_LEN + 1] = NPY_VERSION_MINOR;
    size_t len = NPY_PREAMBLE_LEN;
    len += (size_t)snprintf(header + len, sizeof header - len,
                            "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (");
    for (int i = 0; i < ndim; i++)
        len += (size_t)snprintf(header + len, sizeof header - len, "%lld%s",
                                (long long)dims[i],
                                ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    len += (size_t)snprintf(header + len, sizeof header - len, "), }");
    /* Pad with spaces so that preamble + dict + '\n' is aligned. */
    size_t total = (len + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (total > sizeof header || total - NPY_PREAMBLE_LEN > NPY_HEADER_MAX)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "%s: header too long", fn);
    memset(header + len, ' ', total - 1 - len);
    header[total - 1] = '\n';
    size_t hlen = total - NPY_PREAMBLE_LEN;
    header[NPY_MAGIC_LEN + 2] = (char)(hlen & 0xff);
    header[NPY_MAGIC_LEN + 3] = (char)(hlen >> 8);

    out_file f;
    TRY(out_open(&f, path));
    TRY(out_write(&f, header, total));
    if (host_is_little_endian()) {
        TRY(out_write(&f, data, numel * sizeof *data));
    } else {
        unsigned char buf[NPY_SWAP_BATCH * sizeof(float)];
        for (size_t i = 0; i < numel; i += NPY_SWAP_BATCH) {
            size_t k = numel - i < NPY_SWAP_BATCH ? numel - i
                                                  : NPY_SWAP_BATCH;
            for (size_t j = 0; j < k; j++) {
                const unsigned char *s =
                    (const unsigned char *)(data + i + j);
                for (size_t b = 0; b < sizeof(float); b++)
                    buf[j * sizeof(float) + b] = s[sizeof(float) - 1 - b];
            }
            TRY(out_write(&f, buf, k * sizeof(float)));
        }
    }
    return out_commit(&f);
}
