/* What a rendered map looks like: colormaps, blending over the background
 * (the model's view or the user's original picture, the map mapped back
 * through the crop and resize), the colour bar and its digits. The
 * normalisation and the file writing are in render.c. */
#include "io/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAY_CHANNELS 1
#define RGB_CHANNELS 3
#define RGB8_BYTES 3
#define WHITE 255
/* Grey of an RGB background: the weights dmbp_image_preprocess converts
 * RGB to gray with (image.c). */
#define LUMA_R 0.299
#define LUMA_G 0.587
#define LUMA_B 0.114

/* ------------------------------------------------------------------ */
/* Colormaps                                                          */
/* ------------------------------------------------------------------ */

typedef struct colour_stop {
    double at;
    double rgb[RGB_CHANNELS];
} colour_stop;

/* matplotlib's "seismic" as docs/dmbp-method.md section 5 gives it, on
 * [-1, 1]. */
static const colour_stop seismic[] = {
    {-1.0, {0.0, 0.0, 0.3}}, {-0.5, {0.0, 0.0, 1.0}},
    {0.0, {1.0, 1.0, 1.0}},  {0.5, {1.0, 0.0, 0.0}},
    {1.0, {0.5, 0.0, 0.0}},
};

/* matplotlib's "bwr" (its definition is these three points). */
static const colour_stop bwr[] = {
    {-1.0, {0.0, 0.0, 1.0}}, {0.0, {1.0, 1.0, 1.0}}, {1.0, {1.0, 0.0, 0.0}}};

/* Seismic's positive half on [0, 1] for non-negative maps: white, red,
 * dark red, so that a colour means the same in signed and sequential
 * renderings. */
static const colour_stop reds[] = {
    {0.0, {1.0, 1.0, 1.0}},
    {0.5, {1.0, 0.0, 0.0}},
    {1.0, {0.5, 0.0, 0.0}},
};

/* matplotlib's "inferno" (_cm_listed.py): entries 0, 16, ..., 240 and 255
 * of its 256, at i / 255; linear between them is within 0.01 of the full
 * table. */
static const colour_stop inferno[] = {
    {0 / 255.0, {0.001462, 0.000466, 0.013866}},
    {16 / 255.0, {0.042253, 0.028139, 0.141141}},
    {32 / 255.0, {0.129285, 0.047293, 0.290788}},
    {48 / 255.0, {0.238273, 0.036621, 0.396353}},
    {64 / 255.0, {0.341500, 0.062325, 0.429425}},
    {80 / 255.0, {0.441207, 0.099338, 0.431594}},
    {96 / 255.0, {0.540920, 0.134729, 0.415123}},
    {112 / 255.0, {0.640135, 0.171438, 0.381065}},
    {128 / 255.0, {0.735683, 0.215906, 0.330245}},
    {144 / 255.0, {0.822386, 0.275197, 0.266085}},
    {160 / 255.0, {0.894305, 0.353399, 0.193584}},
    {176 / 255.0, {0.946965, 0.449191, 0.115272}},
    {192 / 255.0, {0.978422, 0.557937, 0.034931}},
    {208 / 255.0, {0.987874, 0.675267, 0.065257}},
    {224 / 255.0, {0.974638, 0.797692, 0.206332}},
    {240 / 255.0, {0.947594, 0.917399, 0.410665}},
    {255 / 255.0, {0.988362, 0.998364, 0.644924}},
};

#define N_STOPS(t) (sizeof(t) / sizeof *(t))

typedef struct colormap {
    const colour_stop *stops;
    size_t n;
} colormap;

/* Piecewise-linear colour at v, v clamped to the table's range. */
static void colour_at(const colormap *cm, double v, double rgb[RGB_CHANNELS])
{
    const colour_stop *stops = cm->stops;
    size_t n = cm->n;
    if (!(v > stops[0].at))
        v = stops[0].at;
    if (v > stops[n - 1].at)
        v = stops[n - 1].at;
    size_t k = 0;
    while (k + 2 < n && v > stops[k + 1].at)
        k++;
    double t = (v - stops[k].at) / (stops[k + 1].at - stops[k].at);
    for (int c = 0; c < RGB_CHANNELS; c++)
        rgb[c] = stops[k].rgb[c] + (stops[k + 1].rgb[c] - stops[k].rgb[c]) * t;
}

static dmbp_status pick_colormap(const char *fn, int which, int is_signed,
                                 colormap *cm)
{
    switch (which) {
    case DMBP_COLORMAP_DEFAULT:
        *cm = is_signed ? (colormap){seismic, N_STOPS(seismic)}
                        : (colormap){reds, N_STOPS(reds)};
        return DMBP_OK;
    case DMBP_COLORMAP_SEISMIC:
        *cm = (colormap){seismic, N_STOPS(seismic)};
        break;
    case DMBP_COLORMAP_BWR:
        *cm = (colormap){bwr, N_STOPS(bwr)};
        break;
    case DMBP_COLORMAP_REDS:
        *cm = (colormap){reds, N_STOPS(reds)};
        break;
    default:
        *cm = (colormap){inferno, N_STOPS(inferno)};
        break;
    }
    int diverging = cm->stops[0].at < 0.0;
    if (diverging != is_signed)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: a %s map needs a %s colormap", fn,
                              is_signed ? "signed" : "non-negative",
                              is_signed ? "diverging (seismic, bwr)"
                                        : "sequential (reds, inferno)");
    return DMBP_OK;
}

/* ------------------------------------------------------------------ */
/* Back to the original picture                                       */
/* ------------------------------------------------------------------ */

/* Where the original's pixel centres fall on the map, per axis: for each
 * of n original pixels, the lower map index, the weight of the upper
 * one, and whether it lies in the crop. */
typedef struct axis_map {
    int *lo;
    double *t;
    unsigned char *in;
} axis_map;

static void axis_free(axis_map *a)
{
    free(a->lo);
    free(a->t);
    free(a->in);
}

static dmbp_status axis_build(int n_orig, int n_resized, int offset,
                              int n_map, axis_map *a)
{
    a->lo = dmbp__malloc((size_t)n_orig * sizeof *a->lo);
    a->t = dmbp__malloc((size_t)n_orig * sizeof *a->t);
    a->in = dmbp__malloc((size_t)n_orig);
    if (!a->lo || !a->t || !a->in) {
        axis_free(a);
        return DMBP_ERR_NOMEM;
    }
    double ratio = (double)n_resized / (double)n_orig;
    for (int x = 0; x < n_orig; x++) {
        /* The resize maps continuous coordinates by the ratio of sizes
         * (pixel i's centre i + 0.5 to (i + 0.5) * ratio). */
        double r = ((double)x + 0.5) * ratio - offset;
        a->in[x] = r >= 0.0 && r < (double)n_map;
        double u = r - 0.5; /* in map pixel indices (centres at k) */
        if (u < 0.0)
            u = 0.0;
        if (u > (double)(n_map - 1))
            u = (double)(n_map - 1);
        int lo = (int)floor(u);
        if (lo > n_map - 2)
            lo = n_map > 1 ? n_map - 2 : 0;
        a->lo[x] = lo;
        a->t[x] = n_map > 1 ? u - lo : 0.0;
    }
    return DMBP_OK;
}

/* map (h x w doubles) back onto the oh x ow original: out and inside. */
static dmbp_status map_back(const char *fn, const double *map, int h, int w,
                            const dmbp_preprocess_options *pre, int oh,
                            int ow, double *out, unsigned char *inside)
{
    int rh, rw, top, left, chh, chw;
    TRY(dmbp__preprocess_geometry(oh, ow, pre, &rh, &rw, &top, &left, &chh,
                                  &chw));
    if (chh != h || chw != w)
        return dmbp_set_error(DMBP_ERR_SHAPE,
                              "%s: the map is %dx%d but preprocessing a "
                              "%dx%d image gives %dx%d (width x height)",
                              fn, w, h, ow, oh, chw, chh);
    axis_map ax = {0}, ay = {0};
    dmbp_status st = axis_build(ow, rw, left, w, &ax);
    if (!st)
        st = axis_build(oh, rh, top, h, &ay);
    if (st) {
        axis_free(&ax);
        axis_free(&ay);
        return st;
    }
    int x1off = w > 1 ? 1 : 0, y1off = h > 1 ? 1 : 0;
    for (int y = 0; y < oh; y++) {
        const double *r0 = map + (size_t)ay.lo[y] * (size_t)w;
        const double *r1 = r0 + (size_t)y1off * (size_t)w;
        double ty = ay.t[y];
        for (int x = 0; x < ow; x++) {
            size_t i = (size_t)y * (size_t)ow + (size_t)x;
            int in = ax.in[x] && ay.in[y];
            if (inside)
                inside[i] = (unsigned char)in;
            int lo = ax.lo[x];
            double tx = ax.t[x];
            double top_v = r0[lo] + (r0[lo + x1off] - r0[lo]) * tx;
            double bot_v = r1[lo] + (r1[lo + x1off] - r1[lo]) * tx;
            out[i] = in ? top_v + (bot_v - top_v) * ty : 0.0;
        }
    }
    axis_free(&ax);
    axis_free(&ay);
    return DMBP_OK;
}

dmbp_status dmbp_map_to_original(const float *map, int height, int width,
                                 const dmbp_preprocess_options *pre,
                                 int orig_height, int orig_width, float *out,
                                 unsigned char *inside)
{
    static const char fn[] = "dmbp_map_to_original";
    if (!map || !pre || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              !map ? "map" : !pre ? "pre" : "out");
    dmbp_preprocess_options pre_opt;
    TRY(dmbp__preprocess_options_in(pre, &pre_opt));
    pre = &pre_opt;
    TRY(dmbp__render_check_size(fn, GRAY_CHANNELS, height, width));
    if (orig_height <= 0 || orig_width <= 0 ||
        orig_height > DMBP_IMAGE_MAX_SIDE || orig_width > DMBP_IMAGE_MAX_SIDE)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "%s: original size %dx%d is outside 1..%d", fn,
                              orig_width, orig_height, DMBP_IMAGE_MAX_SIDE);
    size_t n = (size_t)height * (size_t)width;
    size_t on = (size_t)orig_height * (size_t)orig_width;
    double *m = dmbp__malloc(n * sizeof *m);
    double *o = dmbp__malloc(on * sizeof *o);
    if (!m || !o) {
        free(m);
        free(o);
        return DMBP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        m[i] = map[i];
    dmbp_status st = map_back(fn, m, height, width, pre, orig_height,
                              orig_width, o, inside);
    if (!st)
        for (size_t i = 0; i < on; i++)
            out[i] = (float)o[i];
    free(m);
    free(o);
    return st;
}

/* ------------------------------------------------------------------ */
/* Colour bar                                                         */
/* ------------------------------------------------------------------ */

#define GLYPH_W 3
/* Height in pixels of one glyph of the colour bar's labels before their
 * integer scaling. */
#define GLYPH_H 5
#define GLYPH_GAP 1
/* Rows of a glyph, 3 bits each (bit 2 = left column). */
static const struct {
    char ch;
    unsigned char rows[GLYPH_H];
} glyphs[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
    {'3', {7, 1, 7, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
    {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}}, {'8', {7, 5, 7, 5, 7}},
    {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
    {'+', {0, 2, 7, 2, 0}}, {'e', {0, 3, 7, 4, 3}},
    /* The captions' letters (lower case is drawn as upper case). */
    {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}}, {'C', {3, 4, 4, 4, 3}},
    {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}},
    {'G', {3, 4, 5, 5, 3}}, {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}},
    {'J', {1, 1, 1, 5, 2}}, {'K', {5, 5, 6, 5, 5}}, {'L', {4, 4, 4, 4, 7}},
    {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}}, {'O', {2, 5, 5, 5, 2}},
    {'P', {6, 5, 6, 4, 4}}, {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}},
    {'S', {3, 4, 2, 1, 6}}, {'T', {7, 2, 2, 2, 2}}, {'U', {5, 5, 5, 5, 7}},
    {'V', {5, 5, 5, 5, 2}}, {'W', {5, 5, 7, 7, 5}}, {'X', {5, 5, 2, 5, 5}},
    {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}}, {'(', {1, 2, 2, 2, 1}},
    {')', {4, 2, 2, 2, 4}}, {':', {0, 2, 0, 2, 0}}, {';', {0, 2, 0, 2, 4}},
    {',', {0, 0, 0, 2, 4}}, {'=', {0, 7, 0, 7, 0}}, {'_', {0, 0, 0, 0, 7}},
    {'/', {1, 1, 2, 4, 4}}, {'%', {5, 1, 2, 4, 5}},
};

/* Bar height and margins in glyph-scale units. */
#define BAR_UNITS 4
#define MARGIN_UNITS 2
/* Glyph scale: one unit per this many output pixels of width, at least 1. */
#define GLYPH_SCALE_DIV 112

typedef struct canvas {
    unsigned char *px;
    int w, h;
} canvas;

/* upper: letters as capitals (captions); else 'e' is the exponent's
 * small e (the colour bar's numbers). */
static void put_text(canvas *cv, int x, int y, int k, const char *s,
                     int upper)
{
    for (; *s; s++, x += (GLYPH_W + GLYPH_GAP) * k) {
        const unsigned char *rows = NULL;
        char ch = upper && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A')
                                                  : *s;
        for (size_t g = 0; g < sizeof glyphs / sizeof *glyphs; g++)
            if (glyphs[g].ch == ch)
                rows = glyphs[g].rows;
        if (!rows)
            continue;
        for (int r = 0; r < GLYPH_H * k; r++)
            for (int c = 0; c < GLYPH_W * k; c++) {
                if (!(rows[r / k] >> (GLYPH_W - 1 - c / k) & 1))
                    continue;
                int px = x + c, py = y + r;
                if (px < 0 || py < 0 || px >= cv->w || py >= cv->h)
                    continue;
                memset(cv->px + ((size_t)py * (size_t)cv->w + (size_t)px) *
                                    RGB8_BYTES,
                       0, RGB8_BYTES);
            }
    }
}

static int text_width(const char *s, int k)
{
    int n = (int)strlen(s);
    return n ? (n * (GLYPH_W + GLYPH_GAP) - GLYPH_GAP) * k : 0;
}

/* "%.3g" without the exponent's zero padding and '+' ("1e-05" becomes
 * "1e-5"), to keep the labels short. */
static void format_value(char *buf, size_t cap, double v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.3g", v);
    size_t j = 0;
    for (size_t i = 0; tmp[i] && j + 1 < cap; i++) {
        if (tmp[i] == 'e') {
            buf[j++] = 'e';
            i++;
            if (tmp[i] == '-' && j + 1 < cap)
                buf[j++] = '-';
            else if (tmp[i] != '+')
                i--;
            while (tmp[i + 1] == '0' && tmp[i + 2])
                i++;
            continue;
        }
        buf[j++] = tmp[i];
    }
    buf[j] = '\0';
}

/* Height of the bar strip under a picture of width w. */
static int bar_strip_height(int w, int *k_out)
{
    int k = w / GLYPH_SCALE_DIV;
    if (k < 1)
        k = 1;
    *k_out = k;
    return (MARGIN_UNITS + BAR_UNITS + MARGIN_UNITS + GLYPH_H +
            MARGIN_UNITS) * k;
}

/* Caption glyph scale: one unit per this many output pixels of width, at
 * least 1 (half the bar's: a caption is longer than the bar's numbers;
 * 56 characters fit across 224 pixels). */
#define CAPTION_SCALE_DIV 224

/* Height of the caption strip over a picture of width w. */
static int caption_strip_height(int w)
{
    int k = w / CAPTION_SCALE_DIV;
    return (MARGIN_UNITS + GLYPH_H + MARGIN_UNITS) * (k < 1 ? 1 : k);
}

/* The bar shows [lo, hi] of the normalised map: [-1, 1] for a signed map,
 * [0, 1] for a non-negative one or a signed map's positive part, [-1, 0]
 * for its negative part. */
static void draw_bar(canvas *cv, int y0, int k, const colormap *cm,
                     int is_signed, int part, double scale)
{
    int margin = MARGIN_UNITS * k;
    int x0 = margin * 2, x1 = cv->w - margin * 2; /* bar columns [x0, x1) */
    if (x1 - x0 < 2)
        return;
    int by = y0 + margin, bh = BAR_UNITS * k;
    int neg_only = is_signed && part == DMBP_RENDER_NEGATIVE;
    int both = is_signed && part == DMBP_RENDER_BOTH;
    double lo = both || neg_only ? -1.0 : 0.0, hi = neg_only ? 0.0 : 1.0;
    for (int x = x0; x < x1; x++) {
        double v = lo + (hi - lo) * (x - x0) / (double)(x1 - 1 - x0);
        double col[RGB_CHANNELS];
        colour_at(cm, v, col);
        for (int y = by; y < by + bh && y < cv->h; y++)
            for (int c = 0; c < RGB_CHANNELS; c++)
                cv->px[((size_t)y * (size_t)cv->w + (size_t)x) * RGB8_BYTES +
                       (size_t)c] = dmbp__render_byte(col[c]);
    }
    int ty = by + bh + margin;
    char a[32], b[32], c[32];
    if (both) {
        format_value(a, sizeof a, -scale);
        snprintf(b, sizeof b, "0");
        format_value(c, sizeof c, scale);
    } else if (neg_only) {
        format_value(a, sizeof a, -scale);
        format_value(b, sizeof b, -scale / 2.0);
        snprintf(c, sizeof c, "0");
    } else {
        snprintf(a, sizeof a, "0");
        format_value(b, sizeof b, scale / 2.0);
        format_value(c, sizeof c, scale);
    }
    put_text(cv, x0, ty, k, a, 0);
    put_text(cv, (x0 + x1) / 2 - text_width(b, k) / 2, ty, k, b, 0);
    put_text(cv, x1 - text_width(c, k), ty, k, c, 0);
}

/* ------------------------------------------------------------------ */
/* Composition                                                        */
/* ------------------------------------------------------------------ */

dmbp_status dmbp__render_compose(const char *fn, const char *path,
                                 const double *map, int is_signed,
                                 double scale, int height, int width,
                                 const dmbp_image *bg,
                                 const dmbp_preprocess_options *pre,
                                 const dmbp_render_options *o)
{
    colormap cm;
    TRY(pick_colormap(fn, o->colormap, is_signed, &cm));
    int h = height, w = width;
    const double *v = map;
    double *back = NULL;
    unsigned char *inside = NULL;
    if (pre) {
        h = bg->height;
        w = bg->width;
        size_t on = (size_t)h * (size_t)w;
        back = dmbp__malloc(on * sizeof *back);
        inside = dmbp__malloc(on);
        dmbp_status st = back && inside ? map_back(fn, map, height, width,
                                                   pre, h, w, back, inside)
                                        : DMBP_ERR_NOMEM;
        if (st) {
            free(back);
            free(inside);
            return st;
        }
        v = back;
    }
    size_t np = (size_t)h * (size_t)w;
    unsigned char *rgb = dmbp__malloc(np * RGB8_BYTES);
    if (!rgb) {
        free(back);
        free(inside);
        return DMBP_ERR_NOMEM;
    }
    double alpha = o->heatmap_only ? 1.0 : o->alpha;
    for (size_t i = 0; i < np; i++) {
        double col[RGB_CHANNELS];
        colour_at(&cm, v[i], col);
        int in = !inside || inside[i];
        for (int c = 0; c < RGB_CHANNELS; c++) {
            /* Gray backgrounds are replicated: channel 0 for all. */
            int bc = bg->channels == RGB_CHANNELS ? c : 0;
            double b = bg->data[(size_t)bc * np + i];
            if (bg->channels == RGB_CHANNELS && !o->keep_colour)
                b = LUMA_R * bg->data[i] + LUMA_G * bg->data[np + i] +
                    LUMA_B * bg->data[2 * np + i];
            b = b < 0.0 ? 0.0 : b > 1.0 ? 1.0 : b;
            double x;
            if (!in)
                x = o->heatmap_only ? 1.0 - DMBP_RENDER_DIM
                                    : DMBP_RENDER_DIM * b;
            else
                x = alpha * col[c] + (1.0 - alpha) * b;
            rgb[i * RGB8_BYTES + (size_t)c] = dmbp__render_byte(x);
        }
    }
    free(back);
    free(inside);

    /* Upscale (small pictures only), then add the bar strip. */
    int f = dmbp__render_upscale(o->min_side, h, w);
    int k = 1, strip = o->colorbar ? bar_strip_height(w * f, &k) : 0;
    int top = o->caption && *o->caption ? caption_strip_height(w * f) : 0;
    canvas cv = {NULL, w * f, top + h * f + strip};
    cv.px = dmbp__malloc((size_t)cv.w * (size_t)cv.h * RGB8_BYTES);
    if (!cv.px) {
        free(rgb);
        return DMBP_ERR_NOMEM;
    }
    memset(cv.px, WHITE, (size_t)cv.w * (size_t)cv.h * RGB8_BYTES);
    dmbp__render_blit(cv.px + (size_t)top * (size_t)cv.w * RGB8_BYTES,
                      (size_t)cv.w, 0, rgb, h, w, f);
    free(rgb);
    if (top) {
        int kc = top / (MARGIN_UNITS + GLYPH_H + MARGIN_UNITS);
        put_text(&cv, MARGIN_UNITS * kc, MARGIN_UNITS * kc, kc, o->caption,
                 1);
    }
    if (o->colorbar)
        draw_bar(&cv, top + h * f, k, &cm, is_signed, o->part, scale);
    dmbp_status st = dmbp__write_png_rgb8(path, cv.px, cv.h, cv.w);
    free(cv.px);
    return st;
}
