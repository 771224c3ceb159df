/* BatchNormalization in inference: y = scale[c] * x + shift[c], with
 * scale = gamma / sqrt(var + eps) and shift = beta - mean * scale. The
 * graph folds it into a preceding Conv when it can (graph.c). */
#ifndef DMBP_OPS_BN_H
#define DMBP_OPS_BN_H

typedef struct dmbp__bn_params {
    int channels;
    float *scale;
    float *shift;
} dmbp__bn_params;

#endif
