/* Reading image files: the whole file into memory, the format recognised
 * from its first bytes, the size limits, then the PNG (image.c) or JPEG
 * (jpeg.c) decoder. */
#include "image.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Files are read whole, growing the buffer from this size. */
#define READ_CHUNK_INITIAL (1 << 16)

#define PNG_SIGNATURE_LEN 8
static const unsigned char png_signature[PNG_SIGNATURE_LEN] = {
    137, 80, 78, 71, 13, 10, 26, 10};
/* Every JPEG starts with SOI (FF D8) followed by another marker (FF). */
#define JPEG_SIGNATURE_LEN 3
static const unsigned char jpeg_signature[JPEG_SIGNATURE_LEN] = {0xFF, 0xD8,
                                                                 0xFF};

/* The first layout with struct_size (0.2.0) ends at max_pixels. */
#define LOAD_OPTIONS_MIN DMBP__END(dmbp_image_load_options, max_pixels)

static void load_defaults(dmbp_image_load_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->exif_rotate = 0;
    o->max_pixels = DMBP_IMAGE_DEFAULT_MAX_PIXELS;
}

void dmbp_image_load_options_init_sized(dmbp_image_load_options *o,
                                        size_t struct_size)
{
    dmbp_image_load_options d;
    load_defaults(&d);
    dmbp__options_init(o, struct_size, &d, LOAD_OPTIONS_MIN, sizeof d);
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

static dmbp_status read_whole_file(const char *path, unsigned char **data,
                                   size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    /* Grow as we go rather than trust ftell: works for pipes too. */
    size_t cap = READ_CHUNK_INITIAL, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                fclose(f);
                return dmbp_set_error(DMBP_ERR_NOMEM, "%s: file too large",
                                      path);
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory",
                                      path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len < cap) {
            if (ferror(f)) {
                int err = errno;
                free(buf);
                fclose(f);
                /* EISDIR: a directory opens but does not read. */
                return dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s",
                                      path, strerror(err));
            }
            if (feof(f))
                break;
        }
    }
    fclose(f);
    *data = buf;
    *size = len;
    return DMBP_OK;
}

static int starts_with(const unsigned char *buf, size_t size,
                       const unsigned char *sig, size_t n)
{
    return size >= n && memcmp(buf, sig, n) == 0;
}

/* Decode buf (owned by the caller, edited in place for PNG). */
static dmbp_status decode(unsigned char *buf, size_t size, const char *name,
                          const dmbp_image_load_options *o, dmbp_image *out)
{
    dmbp_image_load_options opt;
    load_defaults(&opt);
    TRY(dmbp__options_in(o, &opt, LOAD_OPTIONS_MIN, sizeof opt,
                         "dmbp_image_load_options"));
    o = &opt;
    if (o->max_pixels < 0)
        return dmbp_set_error(DMBP_ERR_ARG,
                              "image load option max_pixels must be >= 0, "
                              "got %lld",
                              (long long)o->max_pixels);
    const char *what = "a PNG or JPEG";
    if (size == 0)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not %s file (empty file)",
                              name, what);
    if (starts_with(buf, size, png_signature, PNG_SIGNATURE_LEN))
        return dmbp__png_decode(buf, size, name, o, out);
    if (starts_with(buf, size, jpeg_signature, JPEG_SIGNATURE_LEN))
        return dmbp__jpeg_decode(buf, size, name, o, out);
    return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not %s file (bad signature)",
                          name, what);
}

static dmbp_status load_path(const char *fn, const char *path,
                             const dmbp_image_load_options *o,
                             dmbp_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is NULL", fn,
                              path ? "out" : "path");
    unsigned char *buf;
    size_t size;
    dmbp_status st = read_whole_file(path, &buf, &size);
    if (st)
        return st;
    st = decode(buf, size, path, o, out);
    free(buf);
    return st;
}

dmbp_status dmbp_image_load(const char *path,
                            const dmbp_image_load_options *o, dmbp_image *out)
{
    return load_path("dmbp_image_load", path, o, out);
}

dmbp_status dmbp_image_load_memory(const void *data, size_t size,
                                   const char *name,
                                   const dmbp_image_load_options *o,
                                   dmbp_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || (!data && size > 0))
        return dmbp_set_error(DMBP_ERR_ARG,
                              "dmbp_image_load_memory: %s is NULL",
                              out ? "data" : "out");
    if (!name)
        name = "<memory>";
    /* The PNG decoder edits its buffer: work on a copy. */
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", name);
    if (size)
        memcpy(buf, data, size);
    dmbp_status st = decode(buf, size, name, o, out);
    free(buf);
    return st;
}
