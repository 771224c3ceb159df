/* LRP rules shared by the ops (ops/lrp.c). */
#ifndef DMBP_OPS_LRP_H
#define DMBP_OPS_LRP_H

#include "model/model.h"

/* z + eps sign(z), sign(0) = 1. */
float dmbp__lrp_stab(float z, float eps);

/* Which weights a map reads: W, W+ = max(W, 0), W- = min(W, 0), or all
 * ones (the flat rule). The maps apply it as they read W, so that no
 * rule copies a layer's weights (but gamma's W + gamma W+). */
enum { DMBP__LRP_W, DMBP__LRP_WPOS, DMBP__LRP_WNEG, DMBP__LRP_WONE };
static inline float dmbp__lrp_wpart(float v, int part)
{
    switch (part) {
    case DMBP__LRP_WPOS: return v > 0 ? v : 0;
    case DMBP__LRP_WNEG: return v < 0 ? v : 0;
    case DMBP__LRP_WONE: return 1;
    default: return v;
    }
}

/* A linear layer z = W a + b on plain tensors of one image; a map reads
 * its weights w through dmbp__lrp_wpart(w[i], part). */
typedef dmbp_status (*dmbp__lrp_map)(const void *ctx, const float *w,
                                     int part, const float *x, float *y);
typedef struct dmbp__lrp_linear {
    const void *ctx;
    int64_t n_in, n_out, n_w;
    const float *w;             /* the weights as fwd and bwd read them   */
    dmbp__lrp_map fwd;          /* y = W x (no bias), overwrites y; sums  */
    dmbp__lrp_map bwd;          /* x = W^T y, overwrites x; in double     */
    const float *bias;          /* NULL: none; output o has bias          */
    int64_t bias_len, bias_inner; /* bias[(o / bias_inner) % bias_len]    */
    /* The forward pass's output W a + b (NULL: recomputed). Epsilon
     * divides by it: the very values the layers above saw, so that R / z
     * stays R's own ratio where z is near 0 (a sum recomputed in another
     * order differs there by its rounding). */
    const float *z;
} dmbp__lrp_linear;

/* rin = the relevance of a under rule r from the output's R. */
dmbp_status dmbp__lrp_linear_rule(const dmbp__lrp_linear *L,
                                  const dmbp_lrp_rule *r, const float *a,
                                  const float *R, float *rin);
/* Element-wise activations and views: input 0 gets output 0's relevance
 * (same element count, same order). */
dmbp_status dmbp__lrp_pass(const dmbp_node *n, const dmbp__lrp_io *io);
/* A sum of same-shaped inputs: R_i = in_i R / stab(out). */
dmbp_status dmbp__lrp_sum(const dmbp_node *n, const dmbp__lrp_io *io);
/* Offset in a row-major tensor of shape big of element i of a tensor of
 * shape small placed at offs (coordinates; small->ndim == big->ndim);
 * with perm (NULL: identity), small's axis d is big's axis perm[d]. */
int64_t dmbp__lrp_place(const dmbp_shape *big, const dmbp_shape *small,
                        const int64_t *offs, const int *perm, int64_t i);
/* Constant input i's float data (the override, else the model's, pinned
 * until dmbp__lrp_weight_done); NULL if it cannot be read. */
const float *dmbp__lrp_weight(const dmbp_node *n, const dmbp__lrp_io *io,
                              int i, bool *pinned);
void dmbp__lrp_weight_done(const dmbp_node *n, int i, bool pinned);

#endif /* DMBP_OPS_LRP_H */
