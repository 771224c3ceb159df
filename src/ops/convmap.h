/* LRP's convolution maps (ops/convmap.c): the convolution and its
 * transpose on plain tensors of one image, summed in double. */
#ifndef DMBP_OPS_CONVMAP_H
#define DMBP_OPS_CONVMAP_H

#include "model/model.h"

/* One image [C, H, W] to [OC, OH, OW] (1-D as 2-D of height 1); weights
 * [OC, C / group, KH, KW]; pads ph, pw at the start (the end's follow
 * from OH, OW). */
typedef struct dmbp__conv_geo {
    int64_t C, H, W, OC, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, group;
} dmbp__conv_geo;

/* ops/lrp.h's dmbp__lrp_map with ctx a dmbp__conv_geo: y = W' * x (no
 * bias), and its transpose dx = W'^T * dy, W' the weights' part `part`
 * (dmbp__lrp_wpart). Each output is one sum in double, rounded once to
 * float; DMBP_ERR_NOMEM if the work buffers (about a MB per thread, and
 * for the transpose up to 2 MB of input planes per thread, at least one
 * plane) cannot be had. */
dmbp_status dmbp__conv_map_fwd(const void *ctx, const float *w, int part,
                               const float *x, float *y);
dmbp_status dmbp__conv_map_bwd(const void *ctx, const float *w, int part,
                               const float *dy, float *dx);

/* Which matrix kernel the maps use: DMBP__CONV_AUTO (the best the CPU
 * has), else one of the others if the CPU has it (for tests; returns
 * false, changing nothing, if not). Not thread-safe: before the maps. */
enum { DMBP__CONV_AUTO, DMBP__CONV_SSE2, DMBP__CONV_AVX2,
       DMBP__CONV_AVX512 };
bool dmbp__conv_map_isa(int isa);

#endif /* DMBP_OPS_CONVMAP_H */
