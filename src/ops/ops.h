/* What an op's file uses: the op table, the plan builder (oneDNN), the
 * element-wise kernels, and the window arithmetic shared by Conv and the
 * pools (ops/common.c). */
#ifndef DMBP_OPS_OPS_H
#define DMBP_OPS_OPS_H

#include "kernels.h"
#include "optable.h"
#include "plan_dnnl.h"

/* Spatial window parameters shared by Conv and the pools. */
#define DMBP_MAX_SPATIAL 3
typedef struct window {
    int nsp;                         /* spatial dims: 1..3 */
    int64_t kernel[DMBP_MAX_SPATIAL];
    int64_t stride[DMBP_MAX_SPATIAL];
    int64_t dilation[DMBP_MAX_SPATIAL];
    int64_t pad_begin[DMBP_MAX_SPATIAL];
    int64_t pad_end[DMBP_MAX_SPATIAL];
    int auto_pad;                    /* WINDOW_PAD_* */
    bool ceil_mode;
} window;

enum { WINDOW_PAD_NOTSET, WINDOW_PAD_VALID, WINDOW_PAD_SAME_UPPER,
       WINDOW_PAD_SAME_LOWER };

/* Read kernel_shape (or take kernel from weights), strides, dilations,
 * pads, auto_pad, ceil_mode into w. */
dmbp_status dmbp__window_parse(const dmbp_node *n, int nsp,
                               const int64_t *kernel, bool allow_ceil,
                               bool allow_dilation, window *w);
/* Output spatial sizes for input spatial sizes; fills the effective pads
 * (auto_pad resolved; ceil_mode overhang added to pad_end_eff). */
dmbp_status dmbp__window_out(const dmbp_node *n, const window *w,
                             const int64_t *in, int64_t *out,
                             int64_t *pad_begin, int64_t *pad_end);

#endif /* DMBP_OPS_OPS_H */
