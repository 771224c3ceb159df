/*
 * npy.h - just enough of NumPy's .npy format for the C tests.
 *
 * Reads format versions 1.0, 2.0 and 3.0, C order only, dtype '<f4'
 * (float32) or, with npy_read_i64, '<i8' (int64); writes version 1.0 '<f4'.
 * A malformed or unsupported file makes the readers return -1 (with a
 * line on stderr saying why), never crash.
 */
#ifndef DMBP_TESTS_NPY_H
#define DMBP_TESTS_NPY_H

#include <stdint.h>

/* Largest ndim accepted; dims arrays passed in must hold this many. */
#define NPY_MAX_DIMS 8

/* On success returns 0, *data is malloc'ed (free it), dims[0..*ndim) the
 * shape (*ndim 0 for a scalar: one element). On failure returns -1 and
 * leaves *data NULL. */
int npy_read_f32(const char *path, float **data, int64_t *dims, int *ndim);
int npy_read_i64(const char *path, int64_t **data, int64_t *dims, int *ndim);

/* Write data (C order, product of dims elements) as '<f4'. 0 or -1. */
int npy_write_f32(const char *path, const float *data, const int64_t *dims,
                  int ndim);

/* Number of elements of a shape (1 for ndim 0). */
int64_t npy_numel(const int64_t *dims, int ndim);

/* Path of a file of the source tree, rel being relative to its top
 * (e.g. "tests/ref/data/img/rgb8_300x17.png"): prefixed with $top_srcdir,
 * else $srcdir, else ".". The result lives in one of a few static buffers
 * used in turn, so the last few results stay valid together. */
const char *test_path(const char *rel);

#endif /* DMBP_TESTS_NPY_H */
