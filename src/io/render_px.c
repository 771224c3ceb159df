/* The layer under rendering (render.c, render_view.c): bytes, upscaling
 * and blitting of RGB8 panels, the size check of a map, and the files
 * they write, PNG and .npy, both through a temporary file renamed over
 * the destination only once complete. */
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

dmbp_status dmbp__write_whole_from(const char *path, dmbp__stream_writer write,
                                   const void *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    dmbp_status st = write(ctx, f);
    if (fclose(f) != 0 && !st)
        st = dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    if (!st)
        st = dmbp__write_whole(path, buf, len);
    free(buf);
    return st;
}

dmbp_status dmbp_write_file(const char *path, const void *data, size_t size)
{
    if (!path || (size && !data))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_write_file: %s is NULL",
                              !path ? "path" : "data");
    return dmbp__write_whole(path, data, size);
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
