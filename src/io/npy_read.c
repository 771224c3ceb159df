/* dmbp_read_attribution_npy (dmbp_render.h): an attribution array as
 * dmbp_write_npy wrote it, read back strictly (dmbp render draws its
 * pictures again from it). */
#include "io.h"

#include <errno.h>
#include <stdint.h>

/* .npy: "\x93NUMPY", version, header length (2 bytes in 1.0, 4 in 2.0
 * and 3.0), a Python dict literal. */
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_HEADER_MAX 65536
/* DMBP's .npy stacks its five arrays: W+, W-, A+, A-, N. */
#define DMBP_PARTS 5

/* The dict's value after 'key': in header, or NULL. */
static const char *npy_field(const char *header, const char *key)
{
    const char *p = strstr(header, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

dmbp_status dmbp_read_attribution_npy(const char *path, int *ndim,
                                      int64_t *dims, float **data)
{
    if (!path || !ndim || !dims || !data)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_read_attribution_npy: "
                              "NULL argument");
    *ndim = 0;
    *data = NULL;
    struct {
        int ndim;
        int64_t *dims;
        float *data;
    } arr = {0, dims, NULL}, *a = &arr;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: %s", path, strerror(errno));
    dmbp_status rc = DMBP_ERR_FORMAT;
    unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
    char *header = NULL;
    const char *why = "not a .npy file";
    if (fread(pre, 1, NPY_MAGIC_LEN + 2, f) != NPY_MAGIC_LEN + 2 ||
        memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN))
        goto done;
    size_t hlen;
    if (pre[NPY_MAGIC_LEN] == 1) {
        unsigned char l[2];
        if (fread(l, 1, 2, f) != 2)
            goto done;
        hlen = (size_t)l[0] | (size_t)l[1] << 8;
    } else {
        unsigned char l[4];
        if (fread(l, 1, 4, f) != 4)
            goto done;
        hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 |
               (size_t)l[3] << 24;
    }
    why = "a header too long for an attribution";
    if (hlen > NPY_HEADER_MAX)
        goto done;
    header = calloc(hlen + 1, 1);
    if (!header) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    }
    why = "truncated";
    if (fread(header, 1, hlen, f) != hlen)
        goto done;
    const char *descr = npy_field(header, "'descr'");
    const char *order = npy_field(header, "'fortran_order'");
    const char *shape = npy_field(header, "'shape'");
    why = "not little-endian float32 in C order ('<f4', fortran_order "
          "False): not an array dmbp explain wrote";
    if (!descr || strncmp(descr, "'<f4'", 5) || !order ||
        strncmp(order, "False", 5) || !shape || *shape != '(')
        goto done;
    why = "its shape is neither C x H x W nor 5 x C x H x W (C 1 or 3): "
          "not an array dmbp explain wrote";
    const char *p = shape + 1;
    while (*p != ')') {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 1 || v > DMBP_IMAGE_MAX_SIDE ||
            a->ndim == 4)
            goto done;
        a->dims[a->ndim++] = v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    int c = a->ndim == 4 ? 1 : 0;
    if ((a->ndim == 4 && a->dims[0] != DMBP_PARTS) ||
        (a->ndim != 3 && a->ndim != 4) ||
        (a->dims[c] != 1 && a->dims[c] != 3))
        goto done;
    size_t n = 1;
    for (int k = 0; k < a->ndim; k++)
        n *= (size_t)a->dims[k];
    a->data = malloc(n * sizeof *a->data);
    why = "out of memory";
    if (!a->data) {
        rc = DMBP_ERR_NOMEM;
        goto done;
    }
    why = "truncated";
    if (fread(a->data, sizeof *a->data, n, f) != n)
        goto done;
    why = "data after the array";
    if (fgetc(f) != EOF)
        goto done;
    /* A .npy of NaN draws nothing meaningful: say so here. */
    why = "NaN or infinity in the array";
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a->data[i])) {
            rc = DMBP_ERR_NONFINITE;
            goto done;
        }
    rc = DMBP_OK;
done:
    free(header);
    fclose(f);
    if (rc) {
        free(a->data);
        return rc == DMBP_ERR_NOMEM ? dmbp_set_error(rc, "%s", why)
                                    : dmbp_set_error(rc, "%s: %s", path, why);
    }
    *ndim = a->ndim;
    *data = a->data;
    return DMBP_OK;
}

