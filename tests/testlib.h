/* testlib.h - what the C tests share: the CHECK assertion and its
 * counters, Pearson's correlation, a result's scalar by name, loading a
 * shipped model and its preprocessed inputs, the small explain settings
 * the threads and session tests run, one image explained with them
 * (tl_explain_one), a bitwise comparison of two
 * results, and reading a file or an RGB PNG back. Paths are relative to
 * the source tree (test_path, npy.h). Nothing here is for threads except
 * tl_same_result (it only reads). */
#ifndef DMBP_TESTS_TESTLIB_H
#define DMBP_TESTS_TESTLIB_H

#include <stdint.h>
#include <stdio.h>

#include <dmbp.h>

#ifdef __cplusplus
extern "C" { /* tests/test_cpp.cpp */
#endif

#include "npy.h"

/* Checks made and checks failed so far; main returns failures != 0. */
extern int checks, failures;

/* Count a failure: print where and why (printf-style) on stderr. */
#define FAIL(...)                                                            \
    do {                                                                     \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        failures++;                                                          \
    } while (0)

/* On failure print where and why, count it, and go on. */
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond))                                                         \
            FAIL(__VA_ARGS__);                                               \
    } while (0)

/* The exit status automake's test harness reads as "skipped". */
#define TEST_SKIP 77

/* A whole file, malloc'ed (free it), its size in *n; NULL if it cannot
 * be read. Reads until the end, so pipes and devices work too. */
unsigned char *tl_read_file(const char *path, size_t *n);

/* An 8-bit RGB PNG (the format the library writes) as h x w x 3 bytes,
 * malloc'ed (free it); NULL after a FAIL line saying why (libpng cannot
 * read it, or it is stored in another format). */
unsigned char *tl_read_png_rgb(const char *path, int *h, int *w);

/* Pearson's correlation of two arrays of n floats, in double; 1 when
 * both are constant. */
double tl_pearson(const float *a, const float *b, int64_t n);

/* Image `image`'s scalar `name` of a result; NaN when it has none. */
double tl_scalar(const dmbp_result *r, int image, const char *name);

/* A model of the source tree; NULL after a FAIL line naming it. */
dmbp_model *tl_model(const char *rel);

/* An image of the source tree, preprocessed with the model's defaults
 * into *x (free with dmbp_image_free). 0, or -1 after a FAIL line. */
int tl_input(const dmbp_model *m, const char *rel, dmbp_image *x);

/* n images of the source tree, preprocessed as tl_input, one after the
 * other in one malloc'ed N x C x H x W array (free it); their C, H, W in
 * *c, *h, *w. NULL after a FAIL line. */
float *tl_inputs(const dmbp_model *m, const char *const *rels, int n,
                 int *c, int *h, int *w);

/* Settings that go through every code path of each method in little
 * time: IG's steps, SmoothGrad's samples, DMBP's Adam iterations. */
typedef struct tl_quick {
    int ig_steps, sg_samples, dmbp_iters;
    int rise_masks; /* 0: RISE's default (4000) */
} tl_quick;
/* The seed tl_quick_options gives SmoothGrad and DMBP. */
#define TL_SEED 7

/* Defaults for `meth`, with q's sizes and TL_SEED. */
void tl_quick_options(dmbp_explain_options *o, dmbp_method meth,
                      const tl_quick *q);
/* One image (c x h x w at x) explained by meth with q's settings on a
 * session of its own, target auto; NULL after a FAIL line. */
dmbp_result *tl_explain_one(dmbp_model *m, const float *x, int c, int h,
                            int w, dmbp_method meth, const tl_quick *q);

/* Whether two results hold the same bits: targets, logits,
 * probabilities, every array, scalar, mask and loss curve (DMBP's
 * "seconds", a wall-clock time, aside). */
int tl_same_result(const dmbp_result *a, const dmbp_result *b);

#ifdef __cplusplus
}
#endif

#endif /* DMBP_TESTS_TESTLIB_H */
