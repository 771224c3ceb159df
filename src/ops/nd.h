/* Plain row-major n-d sweeps shared by the element-wise, broadcasting,
 * reduction and normalisation ops (ops/nd.c). Shapes follow NumPy's
 * broadcasting rules: operands are right-aligned with the output and a
 * dimension of 1 repeats. All sizes were checked when the shapes were
 * inferred (checked.h); these only walk them. */
#ifndef DMBP_OPS_ND_H
#define DMBP_OPS_ND_H

#include "ops/ops.h"

/* Most operands an n-d map reads. */
#define ND_MAX_OPS 3

/* An output shape and, per operand, its stride along each (collapsed)
 * output dimension: 0 where the operand repeats. */
typedef struct dmbp__nd_map {
    int nd;                       /* >= 1 */
    int nops;
    int64_t dims[DMBP_MAX_DIMS];
    int64_t st[ND_MAX_OPS][DMBP_MAX_DIMS];
    int64_t total;
} dmbp__nd_map;

/* Element-wise formulas of nd_run: y (op)= f(p0, p1, p2). */
typedef enum dmbp__nd_op {
    ND_COPY,       /* p0 */
    ND_NEG,        /* -p0 */
    ND_ADD,        /* p0 + p1 */
    ND_SUB,        /* p0 - p1 */
    ND_MUL,        /* p0 * p1 */
    ND_DIV,        /* p0 / p1 */
    ND_NEG_MULDIV, /* -p0 * p1 / p2 */
    ND_SCALE       /* c * p0 */
} dmbp__nd_op;

/* Build the map of output shape y for operands s[0..nops). Fails (ERR_SHAPE
 * naming n) if an operand does not broadcast to y. */
dmbp_status dmbp__nd_map_make(const dmbp_node *n, const dmbp_shape *y,
                        const dmbp_shape *const *s, int nops, dmbp__nd_map *out);
/* y = f(...) or, with acc, y += f(...). */
void dmbp__nd_run(const dmbp__nd_map *m, dmbp__nd_op op, bool acc, float c, float *y,
            const float *p0, const float *p1, const float *p2);

/* NumPy broadcast of a and b into out; fails naming n. */
/* An element-wise op's input: one, computed (not a constant), one output. */
dmbp_status dmbp__nd_check_unary(const dmbp_node *n);
/* A binary element-wise op's inputs: two, one output, float constants,
 * not both constant; no attributes. */
dmbp_status dmbp__nd_check_binary(const dmbp_node *n);
dmbp_status dmbp__nd_broadcast(const dmbp_node *n, const dmbp_shape *a,
                         const dmbp_shape *b, dmbp_shape *out);

/* dst[j] = scale * sum of src over the positions that broadcast to j:
 * dst's shape right-aligns with src's with 1 on the summed dimensions. */
typedef struct dmbp__nd_reduce {
    int64_t n_dst;
    int64_t n_red;                /* summed positions per dst element */
    int64_t *dst_base;            /* src offset of each dst element's first */
    int64_t *red_off;             /* offsets of the summed positions */
    bool contiguous;              /* red_off[k] == k */
    float scale;                  /* for nd_add_reduce */
} dmbp__nd_reduce;

/* One allocation: free() releases it. */
dmbp_status dmbp__nd_reduce_make(const dmbp_shape *src, const dmbp_shape *dst,
                           dmbp__nd_reduce **out);
void dmbp__nd_reduce_run(const dmbp__nd_reduce *r, const float *src, float *dst,
                   float scale);

/* A plan step running nd_run: args[0] = y, args[1..nops] the operands
 * (vals: their values, for the shapes). */
dmbp_status dmbp__nd_add_step(dmbp__builder *b, const dmbp_node *n,
                        const dmbp_shape *ys, dmbp__nd_op op, bool acc, float c,
                        dnnl_memory_t y, const int *vals,
                        const dnnl_memory_t *mems, int nops);
/* The same with the operands' shapes given. */
dmbp_status dmbp__nd_add_step_s(dmbp__builder *b, const dmbp_node *n,
                          const dmbp_shape *ys, dmbp__nd_op op, bool acc, float c,
                          dnnl_memory_t y, const dmbp_shape *const *s,
                          const dnnl_memory_t *mems, int nops);
/* A plan step dst = scale * (src summed by r); takes r. */
dmbp_status dmbp__nd_add_reduce(dmbp__builder *b, const dmbp_node *n, dmbp__nd_reduce *r,
                          float scale, dnnl_memory_t dst, dnnl_memory_t src);

/* Plain md of shape s and the memory holding value v in it (a reorder
 * step when v is in another layout). */
dmbp_status dmbp__nd_plain_in(dmbp__builder *b, int v, dnnl_memory_desc_t *md,
                        dnnl_memory_t *mem);
/* The same for v's tangent. */
dmbp_status dmbp__nd_plain_tan(dmbp__builder *b, int v, dnnl_memory_t *mem);

/* Refuse a computed operand whose shape does not keep the output's batch
 * axis: broadcasting it along axis 0 would mix the lanes of a batch. */
dmbp_status dmbp__nd_keep_batch(const dmbp_node *n, const dmbp_shape *x,
                          const dmbp_shape *y, int input);

/* An axes list: attribute `attr` (older opsets) or the constant int64
 * input `input` (newer; -1: none). *count = -1 when absent. */
dmbp_status dmbp__nd_axes(const dmbp_node *n, const char *attr, int input,
                    int64_t *buf, int *count);
/* Normalise axes into [0, rank) as a mask over dimensions; fails naming n
 * on a repeat, a value out of range, or the batch axis 0 (what = "axes"
 * for the messages). */
dmbp_status dmbp__nd_axes_mask(const dmbp_node *n, const int64_t *axes, int count,
                         int rank, bool *mask);

#endif /* DMBP_OPS_ND_H */
