/* What an op's file uses: the op table, the plan builder (oneDNN), the
 * element-wise kernels, and the window arithmetic shared by Conv and the
 * pools (ops/common.c). */
#ifndef DMBP_OPS_OPS_H
#define DMBP_OPS_OPS_H

#include "plan/kernels.h"
#include "model/model.h"
#include "plan/builder.h"

/* Spatial window parameters shared by Conv and the pools. */
#define DMBP_MAX_SPATIAL 3
typedef struct dmbp__window {
    int nsp;                         /* spatial dims: 1..3 */
    int64_t kernel[DMBP_MAX_SPATIAL];
    int64_t stride[DMBP_MAX_SPATIAL];
    int64_t dilation[DMBP_MAX_SPATIAL];
    int64_t pad_begin[DMBP_MAX_SPATIAL];
    int64_t pad_end[DMBP_MAX_SPATIAL];
    int auto_pad;                    /* WINDOW_PAD_* */
    bool ceil_mode;
} dmbp__window;

enum { WINDOW_PAD_NOTSET, WINDOW_PAD_VALID, WINDOW_PAD_SAME_UPPER,
       WINDOW_PAD_SAME_LOWER };

/* Read kernel_shape (or take kernel from weights), strides, dilations,
 * pads, auto_pad, ceil_mode into w. */
dmbp_status dmbp__window_parse(const dmbp_node *n, int nsp,
                               const int64_t *kernel, bool allow_ceil,
                               bool allow_dilation, dmbp__window *w);
/* Output spatial sizes for input spatial sizes; fills the effective pads
 * (auto_pad resolved; ceil_mode overhang added to pad_end_eff). */
dmbp_status dmbp__window_out(const dmbp_node *n, const dmbp__window *w,
                             const int64_t *in, int64_t *out,
                             int64_t *pad_begin, int64_t *pad_end);

/* Entries defined in src/ops/. */
extern const dmbp__op_entry dmbp__op_conv;
extern const dmbp__op_entry dmbp__op_relu;
extern const dmbp__op_entry dmbp__op_leakyrelu;
extern const dmbp__op_entry dmbp__op_clip;
extern const dmbp__op_entry dmbp__op_maxpool;
extern const dmbp__op_entry dmbp__op_averagepool;
extern const dmbp__op_entry dmbp__op_globalaveragepool;
extern const dmbp__op_entry dmbp__op_batchnorm;
extern const dmbp__op_entry dmbp__op_gemm;
extern const dmbp__op_entry dmbp__op_matmul;
extern const dmbp__op_entry dmbp__op_add;
extern const dmbp__op_entry dmbp__op_concat;
extern const dmbp__op_entry dmbp__op_pad;
extern const dmbp__op_entry dmbp__op_flatten;
extern const dmbp__op_entry dmbp__op_reshape;
extern const dmbp__op_entry dmbp__op_dropout;
extern const dmbp__op_entry dmbp__op_identity;
extern const dmbp__op_entry dmbp__op_softmax;
extern const dmbp__op_entry dmbp__op_sigmoid;
extern const dmbp__op_entry dmbp__op_hardsigmoid;
extern const dmbp__op_entry dmbp__op_hardswish;
extern const dmbp__op_entry dmbp__op_tanh;
extern const dmbp__op_entry dmbp__op_erf;
extern const dmbp__op_entry dmbp__op_sqrt;
extern const dmbp__op_entry dmbp__op_pow;
extern const dmbp__op_entry dmbp__op_mul;
extern const dmbp__op_entry dmbp__op_sub;
extern const dmbp__op_entry dmbp__op_div;
extern const dmbp__op_entry dmbp__op_reducemean;
extern const dmbp__op_entry dmbp__op_transpose;
extern const dmbp__op_entry dmbp__op_slice;
extern const dmbp__op_entry dmbp__op_squeeze;
extern const dmbp__op_entry dmbp__op_unsqueeze;
extern const dmbp__op_entry dmbp__op_layernorm;
extern const dmbp__op_entry dmbp__op_user;   /* template for registered ops */

#endif /* DMBP_OPS_OPS_H */
