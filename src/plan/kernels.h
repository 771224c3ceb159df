/* Element-wise kernels on plain float arrays (kernels.c). */
#ifndef DMBP_KERNELS_H
#define DMBP_KERNELS_H

#include "base.h"

/* ---- element-wise kernels (kernels.c), compiled for several ISAs -------- */

/* out = in * gate(u) (ReLU/LeakyReLU: u > 0 ? 1 : a; clip: 1[a < u < b]);
 * guided: also 0 where in <= 0. */
void dmbp__k_gate(const float *u, const float *in, float *out, int64_t n,
                  int clip, float a, float b, int guided);
void dmbp__k_add(float *dst, const float *src, int64_t n);
void dmbp__k_scale_block(const float *in, float *out, const float *m,
                         int64_t cn, int64_t B, int64_t spatial,
                         int64_t step);
void dmbp__k_mask_reduce(const float *diff, float *z, const float *m,
                         int64_t cn, int64_t B, int64_t spatial, int64_t step,
                         double *acc);
/* Elements per chunk when a flat sweep is split among threads. */
#define DMBP_SWEEP_CHUNK 16384

#endif /* DMBP_KERNELS_H */
