/* Plain row-major n-d sweeps shared by the element-wise, broadcasting,
 * reduction and normalisation ops (ops/nd.c). Shapes follow NumPy's
 * broadcasting rules: operands are right-aligned with the output and a
 * dimension of 1 repeats. All sizes were checked when the shapes were
 * inferred (checked.h); these only walk them. */
#ifndef DMBP_OPS_ND_H
#define DMBP_OPS_ND_H

#include "internal.h"

/* Most operands an n-d map reads. */
#define ND_MAX_OPS 3

/* An output shape and, per operand, its stride along each (collapsed)
 * output dimension: 0 where the operand repeats. */
typedef struct nd_map {
    int nd;                       /* >= 1 */
    int nops;
    int64_t dims[DMBP_MAX_DIMS];
    int64_t st[ND_MAX_OPS][DMBP_MAX_DIMS];
    int64_t total;
} nd_map;

/* Element-wise formulas of nd_run: y (op)= f(p0, p1, p2). */
typedef enum nd_op {
    ND_COPY,       /* p0 */
    ND_NEG,        /* -p0 */
    ND_ADD,        /* p0 + p1 */
    ND_SUB,        /* p0 - p1 */
    ND_MUL,        /* p0 * p1 */
    ND_DIV,        /* p0 / p1 */
    ND_NEG_MULDIV  /* -p0 * p1 / p2 */
} nd_op;

/* Build the map of output shape y for operands s[0..nops). Fails (ERR_SHAPE
 * naming n) if an operand does not broadcast to y. */
dmbp_status nd_map_make(const dmbp_node *n, const dmbp_shape *y,
                        const dmbp_shape *const *s, int nops, nd_map *out);
/* y = f(...) or, with acc, y += f(...). */
void nd_run(const nd_map *m, nd_op op, bool acc, float *y,
            const float *p0, const float *p1, const float *p2);

/* NumPy broadcast of a and b into out; fails naming n. */
dmbp_status nd_broadcast(const dmbp_node *n, const dmbp_shape *a,
                         const dmbp_shape *b, dmbp_shape *out);

/* dst[j] = scale * sum of src over the positions that broadcast to j:
 * dst's shape right-aligns with src's with 1 on the summed dimensions. */
typedef struct nd_reduce {
    int64_t n_dst;
    int64_t n_red;                /* summed positions per dst element */
    int64_t *dst_base;            /* src offset of each dst element's first */
    int64_t *red_off;             /* offsets of the summed positions */
    bool contiguous;              /* red_off[k] == k */
} nd_reduce;

/* One allocation: free() releases it. */
dmbp_status nd_reduce_make(const dmbp_shape *src, const dmbp_shape *dst,
                           nd_reduce **out);
void nd_reduce_run(const nd_reduce *r, const float *src, float *dst,
                   float scale);

/* Plain md of shape s and the memory holding value v in it (a reorder
 * step when v is in another layout). */
dmbp_status nd_plain_in(plan_builder *b, int v, dnnl_memory_desc_t *md,
                        dnnl_memory_t *mem);
/* The same for v's tangent. */
dmbp_status nd_plain_tan(plan_builder *b, int v, dnnl_memory_t *mem);

/* Refuse a computed operand whose shape does not keep the output's batch
 * axis: broadcasting it along axis 0 would mix the lanes of a batch. */
dmbp_status nd_keep_batch(const dmbp_node *n, const dmbp_shape *x,
                          const dmbp_shape *y, int input);

#endif /* DMBP_OPS_ND_H */
