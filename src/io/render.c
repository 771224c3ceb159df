/* Rendering attribution maps to PNG (docs/dmbp-method.md section 5); the
 * pixels and the files under it are render_px.c's. */
#include "io/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAY_CHANNELS 1
#define RGB_CHANNELS 3
#define PNG_MAX8 255.0
/* Bytes per output pixel: 8-bit RGB. */
#define RGB8_BYTES 3

#define DEFAULT_ALPHA 0.7f
#define DEFAULT_PERCENTILE 99.99
#define PERCENT 100.0

/* ------------------------------------------------------------------ */
/* Colormaps                                                          */
/* ------------------------------------------------------------------ */

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
