/* PNG decoding and the torchvision-compatible preprocessing (colour
 * conversion, antialiased bilinear resize, centre crop, normalisation). */
#include "io/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* Largest width or height of a loaded image and of a resize result.
 * 16384 x 16384 RGBA16 is 2 GiB decoded (libpng's simplified API refuses
 * 4 GiB or more) plus 3 GiB of floats: anything larger is a corrupt or
 * hostile header (a few kB of zlib can declare it), not an input a
 * classifier wants. It also keeps every size product far from overflow. */
/* DMBP_IMAGE_MAX_SIDE comes from dmbp.h */

/* Channel counts of the two image kinds. */
#define GRAY_CHANNELS 1
#define RGB_CHANNELS 3

/* Largest sample values of 8- and 16-bit PNGs. */
#define PNG_MAX8 255.0f
#define PNG_MAX16 65535.0f
#define PNG_OPAQUE16 65535u

#define PNG_SIGNATURE_LEN 8
/* A chunk is length (4 bytes), type (4), data, CRC (4). */
#define PNG_CHUNK_TYPE_AT 4
#define PNG_CHUNK_DATA_AT 8
#define PNG_CHUNK_TYPE_LEN 4
#define PNG_CHUNK_OVERHEAD 12
/* IHDR data: width 4, height 4, depth 1, then the colour type. */
#define PNG_IHDR_COLOR_TYPE 9
#define PNG_IHDR_LEN 13

/* ITU-R 601 luma, as PIL's convert("L") (which rounds; we do not). */
#define LUMA_R 0.299f
#define LUMA_G 0.587f
#define LUMA_B 0.114f

/* ImageNet statistics and the usual 256 -> 224 pipeline. */
#define IMAGENET_RESIZE 256
#define IMAGENET_CROP 224
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

/* The bilinear (triangle) filter has support [-1, 1]: two taps when not
 * downscaling; torch calls this interp_size. */
#define BILINEAR_INTERP_SIZE 2

/* Below this many output values a loop is not worth waking threads. */
#define OMP_MIN_WORK 16384

void dmbp_image_free(dmbp_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------------ */
/* PNG decoding (files are read and recognised in image_load.c)      */
/* ------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Chunks removed before decoding, so that libpng hands back the samples as
 * stored, which is what PIL and torchvision (and so the models' training
 * pipelines) see:
 *  - gAMA, sRGB, iCCP, cHRM: with them the simplified API converts between
 *    gamma encodings (e.g. 8-bit gAMA 1.0 samples re-encoded to sRGB,
 *    16-bit gAMA 1/2.2 samples linearised);
 *  - tRNS of gray, RGB and palette images: it gives them an alpha channel,
 *    and 16-bit alpha comes back premultiplied (colour lost where a colour
 *    key matched); alpha is dropped anyway. */
static int is_chunk(const unsigned char *type, const char *name)
{
    return memcmp(type, name, PNG_CHUNK_TYPE_LEN) == 0;
}

static int drop_chunk(const unsigned char *type, int color_type)
{
    if (is_chunk(type, "gAMA") || is_chunk(type, "sRGB") ||
        is_chunk(type, "iCCP") || is_chunk(type, "cHRM"))
        return 1;
    if (is_chunk(type, "tRNS"))
        return color_type == PNG_COLOR_TYPE_GRAY ||
               color_type == PNG_COLOR_TYPE_RGB ||
               color_type == PNG_COLOR_TYPE_PALETTE;
    return 0;
}

/* Remove the chunks above in place; returns the new length. Those chunks
 * all precede IDAT, so the walk stops there. A malformed chunk list is
 * left as it is from that point: libpng will say what is wrong. */
static size_t strip_colour_chunks(unsigned char *buf, size_t len)
{
    size_t r = PNG_SIGNATURE_LEN, w = PNG_SIGNATURE_LEN;
    int color_type = -1;
    while (len - r >= PNG_CHUNK_OVERHEAD) {
        uint32_t n = be32(buf + r);
        const unsigned char *type = buf + r + PNG_CHUNK_TYPE_AT;
        if (n > len - r - PNG_CHUNK_OVERHEAD || is_chunk(type, "IDAT"))
            break;
        size_t total = PNG_CHUNK_OVERHEAD + (size_t)n;
        if (is_chunk(type, "IHDR") && n == PNG_IHDR_LEN)
            color_type = buf[r + PNG_CHUNK_DATA_AT + PNG_IHDR_COLOR_TYPE];
        if (!drop_chunk(type, color_type)) {
            if (w != r)
                memmove(buf + w, buf + r, total);
            w += total;
        }
        r += total;
    }
    if (w != r)
        memmove(buf + w, buf + r, len - r);
    return len - (r - w);
}

/* file is the whole PNG (signature checked by the caller); it is edited
 * in place (colour chunks removed) but not freed. */
dmbp_status dmbp__png_decode(unsigned char *file, size_t size,
                             const char *path,
                             const dmbp_image_load_options *o,
                             dmbp_image *out)
{
    dmbp_status st;
    size = strip_colour_chunks(file, size);

    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, file, size)) {
        st = dmbp_set_error(DMBP_ERR_FORMAT,
                            "%s: truncated or corrupt PNG (libpng: %s)", path,
                            png.message);
        png_image_free(&png);
        return st;
    }
    /* Before any pixel memory: a few kB of zlib can declare 16384^2
     * RGBA16 (2 GiB of samples, 3 GiB of floats). */
    if ((st = dmbp__image_check_size(path, png.width, png.height, o))) {
        png_image_free(&png);
        return st;
    }

    /* Ask for the file's own layout: colour or gray, alpha if it has one
     * (asking for none would composite onto a background), 16-bit
     * ("linear") samples for 16-bit files and 8-bit ones otherwise. With
     * the colour chunks stripped libpng then applies no gamma transform:
     * 8-bit files default to sRGB in and out, 16-bit to linear in and
     * out. Palette images come out as RGB. */
    int colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
    int alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    int wide = (png.format & PNG_FORMAT_FLAG_LINEAR) != 0;
    png.format = (colour ? PNG_FORMAT_FLAG_COLOR : 0) |
                 (alpha ? PNG_FORMAT_FLAG_ALPHA : 0) |
                 (wide ? PNG_FORMAT_FLAG_LINEAR : 0);
    int channels = colour ? RGB_CHANNELS : GRAY_CHANNELS;
    size_t comps = (size_t)channels + (alpha ? 1 : 0);
    size_t npix = (size_t)png.width * png.height;
    void *pixels =
        malloc(npix * comps * (wide ? sizeof(png_uint_16) : sizeof(png_byte)));
    float *data = malloc(npix * (size_t)channels * sizeof(float));
    if (!pixels || !data) {
        free(pixels);
        free(data);
        png_image_free(&png);
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "%s: out of memory for a %ux%u image", path,
                              (unsigned)png.width, (unsigned)png.height);
    }
    if (!png_image_finish_read(&png, NULL, pixels, 0, NULL) ||
        PNG_IMAGE_FAILED(png)) {
        st = dmbp_set_error(DMBP_ERR_FORMAT,
                            "%s: truncated or corrupt PNG (libpng: %s)", path,
                            png.message);
        free(pixels);
        free(data);
        png_image_free(&png);
        return st;
    }
    /* Warnings (e.g. a bad CRC in an ancillary chunk) leave a usable
     * image: ignore them as PIL does. */
    png_image_free(&png);

    if (!wide) {
        const unsigned char *px = pixels;
        for (size_t i = 0; i < npix; i++)
            for (int c = 0; c < channels; c++)
                data[(size_t)c * npix + i] = px[i * comps + c] / PNG_MAX8;
    } else if (!alpha) {
        const png_uint_16 *px = pixels;
        for (size_t i = 0; i < npix; i++)
            for (int c = 0; c < channels; c++)
                data[(size_t)c * npix + i] = px[i * comps + c] / PNG_MAX16;
    } else {
        /* The simplified API only returns 16-bit alpha images with
         * associated (premultiplied) colour, c' = round(c * a / 65535):
         * divide it out. With a the stored alpha (0..65535) this recovers
         * c / 65535 to within 0.5 / a: exact where opaque, coarse where
         * nearly transparent; where a = 0 the colour is gone and we give
         * 0. */
        const png_uint_16 *px = pixels;
        for (size_t i = 0; i < npix; i++) {
            unsigned a = px[i * comps + (size_t)channels];
            for (int c = 0; c < channels; c++) {
                unsigned v = px[i * comps + c];
                float f;
                if (a == PNG_OPAQUE16)
                    f = v / PNG_MAX16;
                else if (a == 0)
                    f = 0.0f;
                else
                    f = v >= a ? 1.0f : (float)((double)v / a);
                data[(size_t)c * npix + i] = f;
            }
        }
    }
    free(pixels);
    out->channels = channels;
    out->height = (int)png.height;
    out->width = (int)png.width;
    out->data = data;
    return DMBP_OK;
}

/* ------------------------------------------------------------------ */
/* Preprocessing                                                      */
/* ------------------------------------------------------------------ */

/* The first layout with struct_size (0.2.0) ends at std. */
#define PRE_OPTIONS_MIN DMBP__END(dmbp_preprocess_options, std)

static void pre_defaults(dmbp_preprocess_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->resize = IMAGENET_RESIZE;
    o->crop = IMAGENET_CROP;
    o->channels = RGB_CHANNELS;
    for (int c = 0; c < 3; c++) {
        o->mean[c] = imagenet_mean[c];
        o->std[c] = imagenet_std[c];
    }
}

void dmbp_preprocess_options_init_sized(dmbp_preprocess_options *o,
                                        size_t struct_size)
{
    dmbp_preprocess_options d;
    pre_defaults(&d);
    dmbp__options_init(o, struct_size, &d, PRE_OPTIONS_MIN, sizeof d);
}

dmbp_status dmbp__preprocess_options_in(const dmbp_preprocess_options *in,
                                        dmbp_preprocess_options *out)
{
    pre_defaults(out);
    return dmbp__options_in(in, out, PRE_OPTIONS_MIN, sizeof *out,
                            "dmbp_preprocess_options");
}

dmbp_status dmbp__preprocess_options_out(const dmbp_preprocess_options *res,
                                         dmbp_preprocess_options *out)
{
    return dmbp__options_out(res, out, PRE_OPTIONS_MIN, sizeof *res,
                             "dmbp_preprocess_options");
}

/* The taps of a 1-D resampling from n_in to n_out samples: output i is
 * sum_j weight[i * stride + j] * input[start[i] + j], j < size[i]. */
typedef struct resample_taps {
    int64_t *start;
    int64_t *size;
    float *weight;
    int64_t stride;
} resample_taps;

static void taps_free(resample_taps *t)
{
    free(t->start);
    free(t->size);
    free(t->weight);
}

static float triangle(float x)
{
    if (x < 0.0f)
        x = -x;
    if (x < 1.0)
        return (float)(1.0 - x);
    return 0.0f;
}

/* torch 1.13's _compute_indices_weights_aa for the bilinear filter with
 * antialias (what torchvision's resize(antialias=True) runs), statement by
 * statement and with the same float/double mix, so that the weights come
 * out bit-identical: the filter widens by the downscale factor (PIL's
 * algorithm), the window is clipped to the image and its weights
 * renormalised. Enlarging, it reduces to half-pixel-centred bilinear with
 * edge clamping. */
static dmbp_status compute_taps(int64_t n_in, int64_t n_out,
                                resample_taps *t)
{
    memset(t, 0, sizeof *t);
    float scale = (float)n_in / (float)n_out;
    float support = scale >= 1.0f
                        ? (float)((BILINEAR_INTERP_SIZE * 0.5) * scale)
                        : (float)(BILINEAR_INTERP_SIZE * 0.5);
    float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
    t->stride = (int64_t)ceilf(support) * 2 + 1;
    t->start = malloc((size_t)n_out * sizeof *t->start);
    t->size = malloc((size_t)n_out * sizeof *t->size);
    t->weight = malloc((size_t)n_out * (size_t)t->stride * sizeof(float));
    if (!t->start || !t->size || !t->weight) {
        taps_free(t);
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "out of memory for resize weights");
    }
    for (int64_t i = 0; i < n_out; i++) {
        float center = (float)(scale * (i + 0.5));
        int64_t xmin = (int64_t)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int64_t xmax = (int64_t)(center + support + 0.5);
        if (xmax > n_in)
            xmax = n_in;
        int64_t xsize = xmax - xmin;
        if (xsize < 1 || xsize > t->stride) {
            taps_free(t);
            return dmbp_set_error(DMBP_ERR_INTERNAL,
                                  "resize %lld -> %lld: window of %lld taps "
                                  "at output %lld",
                                  (long long)n_in, (long long)n_out,
                                  (long long)xsize, (long long)i);
        }
        float *w = t->weight + i * t->stride;
        float total = 0.0f;
        for (int64_t j = 0; j < xsize; j++) {
            w[j] = triangle(
                (float)(((float)(j + xmin) - center + 0.5) * invscale));
            total += w[j];
        }
        if (total != 0.0f)
            for (int64_t j = 0; j < xsize; j++)
                w[j] /= total;
        t->start[i] = xmin;
        t->size[i] = xsize;
    }
    return DMBP_OK;
}

/* Accumulate in the order torch does (first tap, then the others in
 * turn) so that the sums round alike. */
static float apply_taps(const resample_taps *t, int64_t i, const float *src,
                        int64_t step)
{
    const float *w = t->weight + i * t->stride;
    const float *s = src + t->start[i] * step;
    float acc = s[0] * w[0];
    for (int64_t j = 1; j < t->size[i]; j++)
        acc += s[j * step] * w[j];
    return acc;
}

/* Resample C planes of h x w to oh x ow: horizontally first, then
 * vertically, as torch does; an axis whose size does not change is left
 * alone (its taps would be the identity anyway). */
static dmbp_status resize_planes(const float *src, int channels, int h,
                                 int w, int oh, int ow, float **dst)
{
    *dst = NULL;
    resample_taps tx = {0}, ty = {0};
    float *tmp = NULL, *res = NULL;
    dmbp_status st = DMBP_OK;
    const float *cur = src;
    int cur_w = w;

    if (ow != w) {
        if ((st = compute_taps(w, ow, &tx)))
            goto done;
        tmp = malloc((size_t)channels * (size_t)h * (size_t)ow *
                     sizeof(float));
        if (!tmp) {
            st = dmbp_set_error(DMBP_ERR_NOMEM, "out of memory resizing");
            goto done;
        }
        int64_t rows = (int64_t)channels * h;
#pragma omp parallel for schedule(static) if (rows * ow > OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            const float *in_row = src + r * w;
            float *out_row = tmp + r * ow;
            for (int64_t x = 0; x < ow; x++)
                out_row[x] = apply_taps(&tx, x, in_row, 1);
        }
        cur = tmp;
        cur_w = ow;
    }
    if (oh != h) {
        if ((st = compute_taps(h, oh, &ty)))
            goto done;
        res = malloc((size_t)channels * (size_t)oh * (size_t)ow *
                     sizeof(float));
        if (!res) {
            st = dmbp_set_error(DMBP_ERR_NOMEM, "out of memory resizing");
            goto done;
        }
        int64_t rows = (int64_t)channels * oh;
#pragma omp parallel for schedule(static) if (rows * ow > OMP_MIN_WORK)
        for (int64_t r = 0; r < rows; r++) {
            int64_t c = r / oh, y = r % oh;
            const float *plane = cur + c * (int64_t)h * cur_w;
            float *out_row = res + r * ow;
            for (int64_t x = 0; x < ow; x++)
                out_row[x] = apply_taps(&ty, y, plane + x, cur_w);
        }
        free(tmp);
        tmp = NULL;
    } else {
        res = tmp;
        tmp = NULL;
    }
    *dst = res;
done:
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
    return st;
}

/* torchvision's centre-crop offset int(round(d / 2.0)): Python rounds
 * halves to even, so d = 1 gives 0, d = 3 gives 2, d = 5 gives 2. */
static int centre_offset(int d)
{
    int q = d / 2;
    if (d % 2 && q % 2)
        q++;
    return q;
}

dmbp_status dmbp__preprocess_geometry(int h, int w,
                                      const dmbp_preprocess_options *o,
                                      int *rh, int *rw, int *top_out,
                                      int *left_out, int *crop_h,
                                      int *crop_w)
{
    int oh = h, ow = w;
    if (o->resize > 0) {
        /* torchvision: the shorter side becomes resize, the longer
         * int(resize * long / short) (a double division, truncated). */
        int shorter = w <= h ? w : h, longer = w <= h ? h : w;
        int64_t new_long =
            (int64_t)((double)((int64_t)o->resize * longer) / shorter);
        if (o->resize > DMBP_IMAGE_MAX_SIDE ||
            new_long > DMBP_IMAGE_MAX_SIDE || new_long < 1)
            return dmbp_set_error(DMBP_ERR_SHAPE,
                                  "resizing a %dx%d image to a shorter side "
                                  "of %d gives a longer side of %lld, "
                                  "outside 1..%d",
                                  w, h, o->resize, (long long)new_long,
                                  DMBP_IMAGE_MAX_SIDE);
        if (w <= h) {
            ow = o->resize;
            oh = (int)new_long;
        } else {
            oh = o->resize;
            ow = (int)new_long;
        }
    }
    if (o->crop > 0 && (o->crop > oh || o->crop > ow)) {
        if (o->resize > 0)
            return dmbp_set_error(DMBP_ERR_SHAPE,
                                  "image %dx%d (%dx%d after resizing to %d) "
                                  "is smaller than the crop %dx%d",
                                  w, h, ow, oh, o->resize, o->crop, o->crop);
        return dmbp_set_error(DMBP_ERR_SHAPE,
                              "image %dx%d is smaller than the crop %dx%d",
                              w, h, o->crop, o->crop);
    }

    int top = 0, left = 0, ch_h = oh, ch_w = ow;
    if (o->crop > 0) {
        top = centre_offset(oh - o->crop);
        left = centre_offset(ow - o->crop);
        ch_h = ch_w = o->crop;
    }
    *rh = oh;
    *rw = ow;
    *top_out = top;
    *left_out = left;
    *crop_h = ch_h;
    *crop_w = ch_w;
    return DMBP_OK;
}

static dmbp_status check_options(const dmbp_preprocess_options *o)
{
    if (o->channels != GRAY_CHANNELS && o->channels != RGB_CHANNELS)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "preprocess option channels must be 1 or 3, "
                              "got %d",
                              o->channels);
    if (o->resize < 0)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "preprocess option resize must be >= 0, got %d",
                              o->resize);
    if (o->crop < 0)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "preprocess option crop must be >= 0, got %d",
                              o->crop);
    /* Only the entries of the channels in use matter (the others of a
     * 1-channel setup may hold anything). */
    for (int c = 0; c < o->channels; c++) {
        if (!isfinite(o->mean[c]))
            return dmbp_set_error(DMBP_ERR_NONFINITE,
                                  "preprocess option mean[%d] is not finite "
                                  "(%g)",
                                  c, (double)o->mean[c]);
        if (!isfinite(o->std[c]))
            return dmbp_set_error(DMBP_ERR_NONFINITE,
                                  "preprocess option std[%d] is not finite "
                                  "(%g)",
                                  c, (double)o->std[c]);
        if (o->std[c] == 0.0f)
            return dmbp_set_error(DMBP_ERR_ARG,
                                  "preprocess option std[%d] must not be 0",
                                  c);
    }
    return DMBP_OK;
}

/* in converted to `channels` planes; *owned is set when a new buffer was
 * allocated (else the result is in->data itself). */
static dmbp_status convert_colour(const dmbp_image *in, int channels,
                                  const float **res, float **owned)
{
    *owned = NULL;
    *res = in->data;
    if (in->channels == channels)
        return DMBP_OK;
    size_t np = (size_t)in->height * (size_t)in->width;
    float *buf = malloc(np * (size_t)channels * sizeof(float));
    if (!buf)
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "out of memory converting a %dx%d image",
                              in->width, in->height);
    const float *s = in->data;
    if (channels == RGB_CHANNELS) {
        for (int c = 0; c < RGB_CHANNELS; c++)
            memcpy(buf + (size_t)c * np, s, np * sizeof(float));
    } else {
        const float *r = s, *g = s + np, *b = s + 2 * np;
        for (size_t i = 0; i < np; i++)
            buf[i] = LUMA_R * r[i] + LUMA_G * g[i] + LUMA_B * b[i];
    }
    *owned = buf;
    *res = buf;
    return DMBP_OK;
}

dmbp_status dmbp_image_preprocess(const dmbp_image *in,
                                  const dmbp_preprocess_options *o,
                                  dmbp_image *out)
{
    dmbp__threads_apply();
    if (!in || !o || !out)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_preprocess: %s is NULL",
                              !in ? "in" : !o ? "options" : "out");
    dmbp_preprocess_options opt;
    TRY(dmbp__preprocess_options_in(o, &opt));
    o = &opt;
    /* out may be in: fill it only at the end, and on failure clear it only
     * when it is a different struct (clearing in would leak its data). */
    if (out != in)
        memset(out, 0, sizeof *out);
    if (!in->data)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_preprocess: input image has no "
                              "data");
    if (in->channels != GRAY_CHANNELS && in->channels != RGB_CHANNELS)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_preprocess: input image has %d "
                              "channels, expected 1 or 3",
                              in->channels);
    if (in->height <= 0 || in->width <= 0)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_preprocess: input image is %dx%d",
                              in->width, in->height);
    if ((size_t)in->height >
        SIZE_MAX / sizeof(float) / RGB_CHANNELS / (size_t)in->width)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_preprocess: input image %dx%d is "
                              "too large",
                              in->width, in->height);
    dmbp_status st = check_options(o);
    if (st)
        return st;

    int h = in->height, w = in->width, ch = o->channels;
    int oh, ow, top, left, ch_h, ch_w;
    if ((st = dmbp__preprocess_geometry(h, w, o, &oh, &ow, &top, &left,
                                        &ch_h, &ch_w)))
        return st;

    const float *conv;
    float *conv_owned, *resized = NULL;
    if ((st = convert_colour(in, ch, &conv, &conv_owned)))
        return st;
    const float *cur = conv;
    if (oh != h || ow != w) {
        st = resize_planes(conv, ch, h, w, oh, ow, &resized);
        free(conv_owned);
        conv_owned = NULL;
        if (st)
            return st;
        cur = resized;
    }

    float *res = malloc((size_t)ch * (size_t)ch_h * (size_t)ch_w *
                        sizeof(float));
    if (!res) {
        free(conv_owned);
        free(resized);
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "out of memory for a %dx%d output image", ch_w,
                              ch_h);
    }
    /* (v - mean) / std as torchvision's normalize computes it: a
     * subtraction then a true division, not a multiply by 1/std, which
     * would round differently. */
    int64_t rows = (int64_t)ch * ch_h;
#pragma omp parallel for schedule(static) if (rows * ch_w > OMP_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        int c = (int)(r / ch_h), y = (int)(r % ch_h);
        const float *s =
            cur + ((int64_t)c * oh + top + y) * (int64_t)ow + left;
        float *d = res + r * ch_w;
        float m = o->mean[c], sd = o->std[c];
        for (int x = 0; x < ch_w; x++)
            d[x] = (s[x] - m) / sd;
    }
    free(conv_owned);
    free(resized);

    /* When out is in, in->data is replaced: the caller keeps the old
     * pointer to free it. */
    out->channels = ch;
    out->height = ch_h;
    out->width = ch_w;
    out->data = res;
    return DMBP_OK;
}

dmbp_status dmbp__image_check_size(const char *name, uint64_t width,
                                   uint64_t height,
                                   const dmbp_image_load_options *o)
{
    if (width == 0 || height == 0)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: image is %llux%llu",
                              name, (unsigned long long)width,
                              (unsigned long long)height);
    if (width > DMBP_IMAGE_MAX_SIDE || height > DMBP_IMAGE_MAX_SIDE)
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: image %llux%llu exceeds the maximum of %d "
                              "pixels per side",
                              name, (unsigned long long)width,
                              (unsigned long long)height,
                              DMBP_IMAGE_MAX_SIDE);
    /* Both sides are <= 2^14 here: the product cannot overflow. */
    uint64_t npix = width * height;
    if (o->max_pixels > 0 && npix > (uint64_t)o->max_pixels)
        return dmbp_set_error(DMBP_ERR_SHAPE,
                              "%s: image %llux%llu has %llu pixels, more "
                              "than the pixel budget of %lld (max_pixels)",
                              name, (unsigned long long)width,
                              (unsigned long long)height,
                              (unsigned long long)npix,
                              (long long)o->max_pixels);
    return DMBP_OK;
}
