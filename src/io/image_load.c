/* Reading image files: the whole file into memory, the format recognised
 * from its first bytes, the size limits, then the PNG (image.c) or JPEG
 * (jpeg.c) decoder. */
#include "io/io.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Streams (pipes, devices) are read growing the buffer from this size;
 * regular files at their size. */
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

int64_t dmbp_image_max_file_bytes(const dmbp_image_load_options *o)
{
    int64_t px = !o ? DMBP_IMAGE_DEFAULT_MAX_PIXELS
                 : o->max_pixels > 0
                     ? o->max_pixels
                     : (int64_t)DMBP_IMAGE_MAX_SIDE * DMBP_IMAGE_MAX_SIDE;
    if (px > (int64_t)DMBP_IMAGE_MAX_SIDE * DMBP_IMAGE_MAX_SIDE)
        px = (int64_t)DMBP_IMAGE_MAX_SIDE * DMBP_IMAGE_MAX_SIDE;
    return px * DMBP_IMAGE_FILE_BYTES_PER_PIXEL + DMBP_IMAGE_FILE_SLACK;
}

/* Fill buf[*len..want) from fd; stops early only at the end of the data. */
static dmbp_status read_some(int fd, const char *name, unsigned char *buf,
                             size_t *len, size_t want, int *eof)
{
    while (*len < want) {
        ssize_t got = read(fd, buf + *len, want - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            /* EISDIR: a directory opens but does not read. */
            return dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", name,
                                  strerror(errno));
        if (got == 0) {
            *eof = 1;
            break;
        }
        *len += (size_t)got;
    }
    return DMBP_OK;
}

static int starts_with(const unsigned char *buf, size_t size,
                       const unsigned char *sig, size_t n);

/* The rest of fd, bounded: the signature is checked on the first bytes
 * (a device of zeros is refused at once), and no more than
 * dmbp_image_max_file_bytes(o) bytes are read (DMBP_ERR_SHAPE beyond). */
static dmbp_status read_bounded(int fd, const char *name,
                                const dmbp_image_load_options *o,
                                unsigned char **data,
                                size_t *size)
{
    *data = NULL;
    *size = 0;
    int64_t limit = dmbp_image_max_file_bytes(o);
    struct stat sb;
    size_t cap = READ_CHUNK_INITIAL;
    bool known = fstat(fd, &sb) == 0;
    if (known && S_ISDIR(sb.st_mode))
        return dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", name,
                              strerror(EISDIR));
    if (known && S_ISREG(sb.st_mode)) {
        if ((int64_t)sb.st_size > limit)
            return dmbp_set_error(DMBP_ERR_SHAPE,
                                  "%s: %lld bytes, more than the %lld an "
                                  "image within the pixel budget may take "
                                  "(%d per pixel + %d MiB)",
                                  name, (long long)sb.st_size,
                                  (long long)limit,
                                  DMBP_IMAGE_FILE_BYTES_PER_PIXEL,
                                  DMBP_IMAGE_FILE_SLACK >> 20);
        cap = (size_t)sb.st_size + 1; /* + 1: sees a file that grew */
    }
    if (cap < PNG_SIGNATURE_LEN)
        cap = PNG_SIGNATURE_LEN;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", name);
    size_t len = 0;
    int eof = 0;
    dmbp_status st = read_some(fd, name, buf, &len, PNG_SIGNATURE_LEN, &eof);
    const char *what = "a PNG or JPEG";
    /* A prefix of a signature goes on: the decoder says "truncated". */
    size_t jn = len < JPEG_SIGNATURE_LEN ? len : JPEG_SIGNATURE_LEN;
    size_t pn = len < PNG_SIGNATURE_LEN ? len : PNG_SIGNATURE_LEN;
    if (!st && len > 0 && !starts_with(buf, len, png_signature, pn) &&
        !starts_with(buf, len, jpeg_signature, jn))
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: not %s file (bad "
                            "signature)", name, what);
    while (!st && !eof) {
        if (len == cap) {
            if ((int64_t)cap > limit) {
                st = dmbp_set_error(DMBP_ERR_SHAPE,
                                    "%s: more than %lld bytes, the most an "
                                    "image within the pixel budget may take "
                                    "(%d per pixel + %d MiB)",
                                    name, (long long)limit,
                                    DMBP_IMAGE_FILE_BYTES_PER_PIXEL,
                                    DMBP_IMAGE_FILE_SLACK >> 20);
                break;
            }
            size_t ncap = (int64_t)(2 * cap) > limit + 1 ? (size_t)limit + 1
                                                         : 2 * cap;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                st = dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory",
                                    name);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        st = read_some(fd, name, buf, &len, cap, &eof);
    }
    if (st) {
        free(buf);
        return st;
    }
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    unsigned char *buf;
    size_t size;
    dmbp_status st = read_bounded(fd, path, o, &buf, &size);
    close(fd);
    if (st)
        return st;
    st = decode(buf, size, path, o, out);
    free(buf);
    return st;
}

dmbp_status dmbp_image_load_fd(int fd, const char *name,
                               const dmbp_image_load_options *o,
                               dmbp_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || fd < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_load_fd: %s",
                              out ? "fd is negative" : "out is NULL");
    if (!name)
        name = "<fd>";
    if (o && o->max_pixels < 0)
        return decode(NULL, 0, name, o, out); /* its DMBP_ERR_ARG */
    unsigned char *buf;
    size_t size;
    dmbp_status st = read_bounded(fd, name, o, &buf, &size);
    if (st)
        return st;
    st = decode(buf, size, name, o, out);
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
