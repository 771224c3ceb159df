/* A small .npy reader/writer for the tests; see npy.h. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char npy_magic[] = "\x93NUMPY";
#define NPY_MAGIC_LEN 6
/* magic, major, minor: then a 2-byte (v1) or 4-byte (v2, v3) length. */
#define NPY_PREFIX_LEN (NPY_MAGIC_LEN + 2)
/* Headers written by NumPy are at most a few hundred bytes; anything
 * bigger is a corrupt length field, not a shape we could hold. */
#define NPY_MAX_HEADER (1 << 16)
/* NumPy pads header + prefix to a multiple of this. */
#define NPY_ALIGN 64

int64_t npy_numel(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "npy: %s: %s\n", path, why);
    return -1;
}

/* The text after 'key': in the header dict, or NULL. */
static const char *find_key(const char *hdr, const char *key)
{
    char quoted[32];
    const char *q = "'\"";
    for (int k = 0; k < 2; k++) {
        snprintf(quoted, sizeof quoted, "%c%s%c", q[k], key, q[k]);
        const char *p = strstr(hdr, quoted);
        if (p) {
            p += strlen(quoted);
            while (isspace((unsigned char)*p))
                p++;
            if (*p != ':')
                return NULL;
            p++;
            while (isspace((unsigned char)*p))
                p++;
            return p;
        }
    }
    return NULL;
}

/* Parse "(3, 56, 56)", "(5,)" or "()". */
static int parse_shape(const char *p, int64_t *dims, int *ndim)
{
    if (*p != '(')
        return -1;
    p++;
    int n = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ')')
            break;
        if (!isdigit((unsigned char)*p))
            return -1;
        if (n == NPY_MAX_DIMS)
            return -1;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0)
            return -1;
        dims[n++] = v;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return -1;
    }
    *ndim = n;
    return 0;
}

/* Read the file's header; on success the stream is at the data and
 * descr holds the dtype string. */
static int read_header(FILE *f, const char *path, char *descr,
                       size_t descr_cap, int64_t *dims, int *ndim)
{
    unsigned char pre[NPY_PREFIX_LEN];
    if (fread(pre, 1, sizeof pre, f) != sizeof pre ||
        memcmp(pre, npy_magic, NPY_MAGIC_LEN) != 0)
        return fail(path, "not a .npy file");
    int major = pre[NPY_MAGIC_LEN];
    size_t hlen;
    if (major == 1) {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2)
            return fail(path, "truncated header");
        hlen = (size_t)b[0] | (size_t)b[1] << 8;
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (fread(b, 1, 4, f) != 4)
            return fail(path, "truncated header");
        hlen = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 |
               (size_t)b[3] << 24;
    } else {
        return fail(path, "unsupported format version");
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return fail(path, "bad header length");
    char *hdr = malloc(hlen + 1);
    if (!hdr)
        return fail(path, "out of memory");
    if (fread(hdr, 1, hlen, f) != hlen) {
        free(hdr);
        return fail(path, "truncated header");
    }
    hdr[hlen] = '\0';
    if (memchr(hdr, '\0', hlen)) {
        free(hdr);
        return fail(path, "NUL in header");
    }

    int rc = -1;
    const char *why = "bad header";
    const char *p = find_key(hdr, "descr");
    if (!p || (*p != '\'' && *p != '"'))
        goto out;
    char quote = *p++;
    const char *e = strchr(p, quote);
    if (!e || (size_t)(e - p) >= descr_cap)
        goto out;
    memcpy(descr, p, (size_t)(e - p));
    descr[e - p] = '\0';

    p = find_key(hdr, "fortran_order");
    if (!p)
        goto out;
    if (strncmp(p, "True", 4) == 0) {
        why = "Fortran order not supported";
        goto out;
    }
    if (strncmp(p, "False", 5) != 0)
        goto out;

    p = find_key(hdr, "shape");
    if (!p || parse_shape(p, dims, ndim) != 0) {
        why = "bad shape";
        goto out;
    }
    rc = 0;
out:
    free(hdr);
    return rc ? fail(path, why) : 0;
}

/* Shared body of the readers: dtype must be want (elem bytes each). */
static int read_array(const char *path, const char *want, size_t elem,
                      void **data, int64_t *dims, int *ndim)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "npy: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char descr[16];
    int64_t d[NPY_MAX_DIMS];
    int nd = 0;
    if (read_header(f, path, descr, sizeof descr, d, &nd) != 0) {
        fclose(f);
        return -1;
    }
    if (strcmp(descr, want) != 0) {
        fclose(f);
        char why[64];
        snprintf(why, sizeof why, "dtype %s, expected %s", descr, want);
        return fail(path, why);
    }
    /* Element count with an overflow check; the file size bounds it in
     * practice, but a corrupt shape must not wrap around. */
    size_t n = 1;
    for (int i = 0; i < nd; i++) {
        if (d[i] != 0 && n > (SIZE_MAX / elem) / (size_t)d[i]) {
            fclose(f);
            return fail(path, "shape too large");
        }
        n *= (size_t)d[i];
    }
    void *buf = malloc(n ? n * elem : 1);
    if (!buf) {
        fclose(f);
        return fail(path, "out of memory");
    }
    if (fread(buf, elem, n, f) != n) {
        free(buf);
        fclose(f);
        return fail(path, "truncated data");
    }
    fclose(f);
    /* The tests run on little-endian machines; a big-endian host would
     * need a byte swap here. */
    *data = buf;
    memcpy(dims, d, sizeof(int64_t) * (size_t)nd);
    *ndim = nd;
    return 0;
}

int npy_read_f32(const char *path, float **data, int64_t *dims, int *ndim)
{
    void *p;
    int rc = read_array(path, "<f4", sizeof(float), &p, dims, ndim);
    *data = p;
    return rc;
}

int npy_read_i64(const char *path, int64_t **data, int64_t *dims, int *ndim)
{
    void *p;
    int rc = read_array(path, "<i8", sizeof(int64_t), &p, dims, ndim);
    *data = p;
    return rc;
}

int npy_write_f32(const char *path, const float *data, const int64_t *dims,
                  int ndim)
{
    if (ndim < 0 || ndim > NPY_MAX_DIMS)
        return fail(path, "bad ndim");
    char shape[NPY_MAX_DIMS * 24 + 8];
    size_t k = 0;
    shape[k++] = '(';
    for (int i = 0; i < ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld",
                              i ? ", " : "", (long long)dims[i]);
    if (ndim == 1)
        shape[k++] = ',';
    shape[k++] = ')';
    shape[k] = '\0';

    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': %s, }",
                     shape);
    /* Pad with spaces so that data starts on an NPY_ALIGN boundary; the
     * header ends with '\n'. */
    size_t total = NPY_PREFIX_LEN + 2 + (size_t)n + 1;
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    if ((size_t)n + pad + 1 >= sizeof hdr)
        return fail(path, "header too long");
    memset(hdr + n, ' ', pad);
    hdr[(size_t)n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;

    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "npy: %s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char pre[NPY_PREFIX_LEN + 2];
    memcpy(pre, npy_magic, NPY_MAGIC_LEN);
    pre[NPY_MAGIC_LEN] = 1;
    pre[NPY_MAGIC_LEN + 1] = 0;
    pre[NPY_PREFIX_LEN] = (unsigned char)(hlen & 0xff);
    pre[NPY_PREFIX_LEN + 1] = (unsigned char)(hlen >> 8);
    size_t count = (size_t)npy_numel(dims, ndim);
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
             fwrite(hdr, 1, hlen, f) == hlen &&
             fwrite(data, sizeof(float), count, f) == count;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : fail(path, "write failed");
}

/* Enough buffers for the paths a test holds at once (a PNG, its expected
 * array, an alpha plane), with room to spare. */
#define TEST_PATH_SLOTS 8
#define TEST_PATH_MAX 4096

const char *test_path(const char *rel)
{
    static char bufs[TEST_PATH_SLOTS][TEST_PATH_MAX];
    static int next;
    const char *top = getenv("top_srcdir");
    if (!top || !*top)
        top = getenv("srcdir");
    if (!top || !*top)
        top = ".";
    char *b = bufs[next];
    next = (next + 1) % TEST_PATH_SLOTS;
    snprintf(b, TEST_PATH_MAX, "%s/%s", top, rel);
    return b;
}
