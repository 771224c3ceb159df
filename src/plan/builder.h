/* The plan builder: what an op's hooks (plan, backward, tangent) may ask
 * of a plan being built. A value's shape, layout, memory, gradient and
 * tangent through dmbp__val*, arena memories, constants, steps, and
 * primitive descriptors from the oneDNN backend (dmbp__be_*, made in
 * backend_dnnl.c: the ops call no oneDNN function and build no oneDNN
 * operation descriptor). The plan itself (struct dmbp_plan) is private to
 * the plan code (plan_int.h). */
#ifndef DMBP_PLAN_BUILDER_H
#define DMBP_PLAN_BUILDER_H

#include <dnnl_types.h>

#include "model/model.h"
#include "plan/plan.h"


/* ---- values (plan.c) --------------------------------------------------- */

typedef struct dmbp__pvalue {
    dmbp_shape shape;
    dnnl_memory_desc_t md;      /* layout chosen for it */
    dnnl_memory_t mem;          /* bound into the arena (or constant) */
    bool ready;
    dnnl_memory_desc_t alt_md;  /* the last layout it was reordered to, */
    dnnl_memory_t alt_mem;      /* kept for further readers of that layout */
    /* Reverse passes (plans made with reverse = 1), same layout as mem: */
    dnnl_memory_t diff;         /* backward: d(seed . logits)/d(value) */
    dnnl_memory_t tan;          /* tangent: the pushed-forward signal */
    bool diff_written;          /* a backward step already wrote diff */
    bool relevant;              /* an ancestor of the logits */
    dnnl_memory_t choice;       /* max pooling outputs: the chosen inputs */
    /* dmbp__plan_read: the reorder to the plain layout and its destination
     * (pointed at the caller's buffer each call), made at the first read,
     * NULL when the layout is plain already (then a copy). */
    dnnl_primitive_t read_prim;
    dnnl_memory_t read_dst;
} dmbp__pvalue;

typedef struct dmbp__step dmbp__step;
/* A mask layer (reverse.c): opaque to the ops. */
typedef struct dmbp__mask_layer dmbp__mask_layer;
typedef dmbp_status (*dmbp__step_fn)(dmbp_plan *p, const dmbp__step *s);



struct dmbp__step {
    dnnl_primitive_t prim;      /* a oneDNN primitive, or NULL: */
    dmbp__step_fn fn;                 /* a hand-written kernel */
    int nargs;
    dnnl_exec_arg_t *args;
    void *data;                 /* fn's own data, freed with the plan */
    const dmbp_node *node;
};



/* Layout of a [N, C, spatial...] tensor as offsets: channel blocks of
 * `block` (1 when unblocked) with strides per logical dimension. Covers
 * nchw, nhwc, nChw8c and nChw16c, what oneDNN picks for activations. */
typedef struct dmbp__layout {
    int ndims;
    int64_t dims[DNNL_MAX_NDIMS];
    int64_t strides[DNNL_MAX_NDIMS]; /* of dim i (dim 1: per block) */
    int64_t block;
    int64_t spatial;                 /* product of dims[2..] */
    int64_t sp_step;                 /* spatial index s sits at s * sp_step
                                        (the dense layouts above), 0 if
                                        not so simple                      */
} dmbp__layout;

/* Offset of (n, c, spatial 0); with sp_step, element s follows at
 * s * sp_step. In a blocked layout the channels of one block are
 * adjacent: kernels loop over them innermost. */
static inline int64_t dmbp__chan_base(const dmbp__layout *l, int64_t n,
                                      int64_t c)
{
    return n * l->strides[0] + (c / l->block) * l->strides[1] + c % l->block;
}

dmbp_status dmbp__chan_layout(const dnnl_memory_desc_t *md, dmbp__layout *l);
/* Offset of element (n, c, s) where s is the flat spatial index. */
static inline int64_t dmbp__chan_off(const dmbp__layout *l, int64_t n,
                                     int64_t c, int64_t s)
{
    int64_t off = n * l->strides[0] + (c / l->block) * l->strides[1] +
                  c % l->block;
    for (int d = l->ndims - 1; d >= 2; d--) {
        off += (s % l->dims[d]) * l->strides[d];
        s /= l->dims[d];
    }
    return off;
}

/* ---- reverse passes (reverse.c) ---------------------------------------- */

/* Memory of value v's gradient (backward) to write: v's diff itself when
 * this is the first write and the layout matches, else a temporary in
 * layout md that dmbp__diff_commit adds in. */
dmbp_status dmbp__diff_target(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t *out);
/* Whether value v's diff has not been written yet in this pass (its next
 * writer is the first, and overwrites instead of adding). */
bool dmbp__diff_first(const dmbp__builder *b, int v);
dmbp_status dmbp__diff_commit(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t written);
/* src (layout src_md) in layout want: src itself or a temporary filled by
 * a reorder step added to the current list. */
dmbp_status dmbp__to_layout(dmbp__builder *b, dnnl_memory_t src,
                            const dnnl_memory_desc_t *src_md,
                            const dnnl_memory_desc_t *want,
                            dnnl_memory_t *out);
/* The mask layer on node n's output, or NULL. */
const dmbp__mask_layer *dmbp__node_mask(dmbp__builder *b, const dmbp_node *n);
/* Steps for a mask layer: backward multiplies the arriving signal (kept in
 * the output's diff) by the masks into `masked`; tangent adds
 * sum_p diff * z into the mask gradient and scales z by the masks in
 * place. */
dmbp_status dmbp__mask_backward(dmbp__builder *b, const dmbp__mask_layer *ml,
                                dnnl_memory_t diff, dnnl_memory_t masked,
                                const dnnl_memory_desc_t *md);
dmbp_status dmbp__mask_tangent(dmbp__builder *b, const dmbp__mask_layer *ml,
                               dnnl_memory_t diff, dnnl_memory_t z,
                               const dnnl_memory_desc_t *md);


/* Current description and memory of value v (set by its producer). */
const dmbp__pvalue *dmbp__pval(dmbp__builder *b, int v);
/* Value v as the plan has it so far (no side effects: a constant not yet
 * read through dmbp__pval has no memory). Ops read a value's shape, md,
 * mem, diff and tan through it; dmbp__val_* name the common ones. */
const dmbp__pvalue *dmbp__val(dmbp__builder *b, int v);
const dmbp_shape *dmbp__val_shape(dmbp__builder *b, int v);
dnnl_memory_t dmbp__val_mem(dmbp__builder *b, int v);
dnnl_memory_t dmbp__val_diff(dmbp__builder *b, int v);
dnnl_memory_t dmbp__val_tan(dmbp__builder *b, int v);
/* Max pooling: the memory of the inputs it chose for output v. */
void dmbp__val_set_choice(dmbp__builder *b, int v, dnnl_memory_t choice);
/* The plan's settings an op's hook may read. */
bool dmbp__plan_reverse(dmbp__builder *b);
bool dmbp__plan_whole_tensor(dmbp__builder *b);
/* A step function's plan: backward gates guided (guided backprop). */
bool dmbp__plan_guided(const dmbp_plan *p);
/* Memory holding value v in layout want: v's own memory if it already has
 * that layout, else a temporary filled by a reorder step added now. */
dmbp_status dmbp__plan_input_as(dmbp__builder *b, int v,
                                const dnnl_memory_desc_t *want,
                                dnnl_memory_t *out);
/* Give value v layout md and a fresh arena buffer. */
dmbp_status dmbp__plan_output(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md);
/* Give value v layout md sharing the buffer of memory `of` (a view: same
 * bytes, other dims; both plain). */
dmbp_status dmbp__plan_output_alias(dmbp__builder *b, int v,
                                    const dnnl_memory_desc_t *md,
                                    dnnl_memory_t of);
/* Another description (plain, same size or smaller) of the bytes of arena
 * memory `of`. */
dmbp_status dmbp__plan_view(dmbp__builder *b, const dnnl_memory_desc_t *md,
                            dnnl_memory_t of, dnnl_memory_t *out);
/* A constant tensor data (plain layout src_md) reordered now into layout
 * want; the plan owns the result. */
dmbp_status dmbp__plan_const(dmbp__builder *b, const float *data,
                             const dnnl_memory_desc_t *src_md,
                             const dnnl_memory_desc_t *want,
                             dnnl_memory_t *out);
/* A reorder step src (src_md) -> dst (dst_md) in the current list. */
dmbp_status dmbp__reorder_step(dmbp__builder *b, dnnl_memory_t src,
                               const dnnl_memory_desc_t *src_md,
                               dnnl_memory_t dst,
                               const dnnl_memory_desc_t *dst_md);
/* The same for data that is freed after the call (not shared). */
dmbp_status dmbp__plan_const_tmp(dmbp__builder *b, const float *data,
                                 const dnnl_memory_desc_t *src_md,
                                 const dnnl_memory_desc_t *want,
                                 dnnl_memory_t *out);
/* A new arena buffer of layout md, for an op's private use (e.g. a pooling
 * workspace). */
dmbp_status dmbp__plan_scratch_mem(dmbp__builder *b,
                                   const dnnl_memory_desc_t *md,
                                   dnnl_memory_t *out);
/* Create the primitive of pd (taking ownership of pd) and append a step
 * with the given arguments (the scratchpad is added here). */
dmbp_status dmbp__plan_prim(dmbp__builder *b, const dmbp_node *n,
                            dnnl_primitive_desc_t pd,
                            const dnnl_exec_arg_t *args, int nargs);
/* Append a hand-written step; data (may be NULL) is freed with the plan. */
dmbp_status dmbp__plan_fn(dmbp__builder *b, const dmbp_node *n, dmbp__step_fn fn,
                          void *data, const dnnl_exec_arg_t *args, int nargs);
/* The data type in which convolutions, inner products and matrix
 * products read their source and weights: bf16 in a plan made with
 * DMBP_FPMATH_BF16 (their destination, and everything else, stays f32),
 * else f32. */
dnnl_data_type_t dmbp__plan_in_dt(dmbp__builder *b);
/* md with its data type replaced (same dims and layout, strides in
 * elements). */
dnnl_memory_desc_t dmbp__md_dt(const dnnl_memory_desc_t *md,
                               dnnl_data_type_t dt);
/* A float constant's data for this plan: the model's, unless the plan was
 * made with other weights for it (dmbp__plan_create_with). */
const float *dmbp__const_f(dmbp__builder *b, int v);
bool dmbp__plan_override(dmbp__builder *b, int v);

/* ---- the oneDNN backend (backend_dnnl.c) ------------------------------- */

/* Window geometry in oneDNN's terms (dilation counts the extra gaps). */
typedef struct dmbp__be_geom {
    dnnl_dims_t strides, kernel, dil, pl, pr;
} dmbp__be_geom;
/* What to ask a primitive descriptor the layout of. */
typedef enum { DMBP__BE_SRC, DMBP__BE_WEIGHTS, DMBP__BE_DST,
               DMBP__BE_DIFF_SRC, DMBP__BE_DIFF_DST,
               DMBP__BE_WORKSPACE } dmbp__be_md;
typedef enum { DMBP__BE_POOL_MAX, DMBP__BE_POOL_AVG_PAD,
               DMBP__BE_POOL_AVG } dmbp__be_pool_alg;
typedef enum { DMBP__BE_RELU, DMBP__BE_CLIP } dmbp__be_eltwise_alg;

/* The layout pd chose for `what` (owned by pd). */
const dnnl_memory_desc_t *dmbp__be_pd_md(const_dnnl_primitive_desc_t pd,
                                         dmbp__be_md what);
/* Free a primitive descriptor not handed to dmbp__plan_prim (NULL: no-op). */
void dmbp__be_pd_free(dnnl_primitive_desc_t pd);
/* Whether two mds describe the same layout. */
bool dmbp__md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);
/* Bytes of a tensor of layout md. */
size_t dmbp__md_size(const dnnl_memory_desc_t *md);
/* f32 md of dims with element strides. */
dmbp_status dmbp__md_strided(int ndims, const int64_t *dims,
                             const int64_t *strides, dnnl_memory_desc_t *md);
/* A plain vector of n elements of type dt. */
dmbp_status dmbp__md_vector(int64_t n, dnnl_data_type_t dt,
                            dnnl_memory_desc_t *md);
/* Dims in "any" layout with data type dt. */
dmbp_status dmbp__md_any_dt(int ndims, const int64_t *dims,
                            dnnl_data_type_t dt, dnnl_memory_desc_t *md);
/* md's dims in "any" layout of type dt. */
dmbp_status dmbp__md_any_like(const dnnl_memory_desc_t *md,
                              dnnl_data_type_t dt, dnnl_memory_desc_t *out);
/* A plain f32 2-D md with its two axes swapped (same bytes). */
dmbp_status dmbp__md_swap2(const dnnl_memory_desc_t *md,
                           dnnl_memory_desc_t *out);
/* The part dims at offsets of a plain parent. */
dmbp_status dmbp__md_sub(const dnnl_memory_desc_t *parent,
                         const int64_t *dims, const int64_t *offsets,
                         dnnl_memory_desc_t *sub);
/* Primitive descriptors (with the plan's attributes); one oneDNN cannot
 * make is node n's error naming `what` (or the primitive). Forward passes
 * are for inference unless `training` (the hint of a backward pass). */
dmbp_status dmbp__be_conv_fwd(dmbp__builder *b, const dmbp_node *n,
                              bool training, const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *w,
                              const dnnl_memory_desc_t *bias,
                              const dnnl_memory_desc_t *dst,
                              const dmbp__be_geom *g, const char *what,
                              dnnl_primitive_desc_t *pd);
/* Convolution backward-data (diff dst -> diff src dsrc) hinted by the
 * training forward pass reading src_in; NULL when oneDNN has none (or,
 * with fast_only, only its reference kernel). */
dnnl_primitive_desc_t dmbp__be_conv_bwd_data(dmbp__builder *b,
                                             const dnnl_memory_desc_t *src_in,
                                             const dnnl_memory_desc_t *dsrc,
                                             const dnnl_memory_desc_t *w,
                                             const dnnl_memory_desc_t *dst,
                                             const dmbp__be_geom *g,
                                             bool fast_only);
dmbp_status dmbp__be_pool_fwd(dmbp__builder *b, const dmbp_node *n,
                              bool training, dmbp__be_pool_alg alg,
                              const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *dst,
                              const dmbp__be_geom *g, const char *what,
                              dnnl_primitive_desc_t *pd);
/* Pooling x -> y: the training forward pass's backward (bwd), else its
 * inference forward pass. */
dmbp_status dmbp__be_pool_pass(dmbp__builder *b, const dmbp_node *n, bool bwd,
                               dmbp__be_pool_alg alg,
                               const dnnl_memory_desc_t *x,
                               const dnnl_memory_desc_t *y,
                               const dmbp__be_geom *g,
                               dnnl_primitive_desc_t *out);
dmbp_status dmbp__be_eltwise(dmbp__builder *b, const dmbp_node *n,
                             dmbp__be_eltwise_alg alg,
                             const dnnl_memory_desc_t *md, float alpha,
                             float beta, dnnl_primitive_desc_t *pd);
dmbp_status dmbp__be_add(dmbp__builder *b, const dmbp_node *n,
                         const dnnl_memory_desc_t *a,
                         const dnnl_memory_desc_t *c,
                         const dnnl_memory_desc_t *dst,
                         dnnl_primitive_desc_t *pd);
/* Batch normalisation with global statistics, scale and shift, eps 0 (the
 * caller folds eps into the variance). */
dmbp_status dmbp__be_bnorm(dmbp__builder *b, const dmbp_node *n,
                           const dnnl_memory_desc_t *md,
                           dnnl_primitive_desc_t *pd);
dmbp_status dmbp__be_inner_product(dmbp__builder *b, const dmbp_node *n,
                                   const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *w,
                                   const dnnl_memory_desc_t *bias,
                                   const dnnl_memory_desc_t *dst,
                                   dnnl_primitive_desc_t *pd);
dmbp_status dmbp__be_matmul(dmbp__builder *b, const dmbp_node *n,
                            const dnnl_memory_desc_t *src,
                            const dnnl_memory_desc_t *w,
                            const dnnl_memory_desc_t *bias,
                            const dnnl_memory_desc_t *dst,
                            dnnl_primitive_desc_t *pd);
/* Accurate softmax over axis, in place layout md -> md. */
dmbp_status dmbp__be_softmax(dmbp__builder *b, const dmbp_node *n,
                             const dnnl_memory_desc_t *md, int axis,
                             dnnl_primitive_desc_t *pd);
/* Concatenation of count srcs along axis into dst (NULL: oneDNN picks). */
dmbp_status dmbp__be_concat(dmbp__builder *b, const dmbp_node *n,
                            const dnnl_memory_desc_t *dst, int count,
                            int axis, const dnnl_memory_desc_t *srcs,
                            dnnl_primitive_desc_t *pd);

/* Plain row-major md of a shape (a scalar as [1]). */
dmbp_status dmbp__md_plain(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Md with the same dims in "any" layout. */
dmbp_status dmbp__md_any(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Data pointer of a memory (arena bound at run time). */
void *dmbp__mem_ptr(dnnl_memory_t mem);



#endif /* DMBP_PLAN_BUILDER_H */
