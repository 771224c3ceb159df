/* Plans from the inside: oneDNN memories and primitives, the arena, the
 * reverse engine and the builder API that ops' plan hooks use. Only
 * plan.c, reverse.c, src/ops/ and the two readers of plan values
 * (methods/common.c, methods/gradcam.c) include it. */
#ifndef DMBP_PLAN_DNNL_H
#define DMBP_PLAN_DNNL_H

#include <dnnl.h>

#include "optable.h"
#include "plan.h"

/* Evaluate a oneDNN call; on failure set a backend error naming it. */
#define DNNL_TRY(call)                                                      \
    do {                                                                    \
        dnnl_status_t dnnl_st_ = (call);                                    \
        if (dnnl_st_ != dnnl_success)                                       \
            return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: %s failed (%s)", \
                                  #call, dnnl__status_str(dnnl_st_));       \
    } while (0)

const char *dnnl__status_str(dnnl_status_t s);

/* ---- plans (plan.c) ---------------------------------------------------- */

typedef struct pvalue {
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
} pvalue;

typedef struct plan_step plan_step;
typedef dmbp_status (*step_fn)(dmbp_plan *p, const plan_step *s);

typedef struct step_list {
    int n, cap;
    plan_step *s;
} step_list;

/* A mask layer: the output channels of a Conv or the units of a Gemm
 * (dmbp-method.md section 2). */
typedef struct mask_layer {
    const dmbp_node *node;
    int value;                  /* the node's output value */
    int channels;
    int64_t offset;             /* of its first mask in a lane's masks */
    bool last_axis;             /* units on the last axis of a plain N-D
                                   output (else dimension 1) */
} mask_layer;

struct plan_step {
    dnnl_primitive_t prim;      /* a oneDNN primitive, or NULL: */
    step_fn fn;                 /* a hand-written kernel */
    int nargs;
    dnnl_exec_arg_t *args;
    void *data;                 /* fn's own data, freed with the plan */
    const dmbp_node *node;
};

/* Alignment of the arena (and of each buffer in it). */
#define DMBP__ARENA_ALIGN 64

/* Lanes run one at a time (lanesplit.c). */
typedef struct lane_split lane_split;

/* Everything that depends on the input shape. */
struct dmbp_plan {
    const dmbp_model *m;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    pvalue *vals;               /* one per model value */
    step_list fwd, bwd, tan;    /* forward, backward and tangent passes */
    int tan_mask_end;           /* tan.s[0 .. tan_mask_end): all the mask
                                   gradient needs (see reverse.c)       */
    step_list *cur;             /* where new steps go while building */
    int lanes;                  /* the batch dimension of the input */
    /* Reverse passes. */
    bool reverse;
    int n_mask_layers;
    mask_layer *masks;
    int64_t n_masks;            /* per lane */
    float *mask_val;            /* lanes x n_masks, used by the passes */
    float *mask_grad;           /* lanes x n_masks, tangent accumulates */
    bool guided;                /* backward: guided backprop gating */
    bool kept_valid;            /* the kept signals match mask_val */
    dnnl_memory_t seed_plain;   /* lanes x classes, reordered into diff */
    dnnl_primitive_t seed_reorder;
    dnnl_memory_t map_plain;    /* the input's diff, plain */
    dnnl_memory_t tan_out_plain;
    dnnl_primitive_t tan_out_reorder;
    /* Arena: every intermediate tensor is a slice of one allocation. */
    int n_bufs, cap_bufs;
    size_t *buf_size;
    size_t *buf_off;
    int n_binds, cap_binds;
    dnnl_memory_t *bind_mem;    /* memories whose handle is a buffer */
    int *bind_buf;
    char *arena;
    size_t arena_size;
    /* Memories and allocations owned by the plan (constants reordered to
     * the primitive's layout, temporaries' memory objects). */
    int n_owned_mem, cap_owned_mem;
    dnnl_memory_t *owned_mem;
    int n_owned_ptr, cap_owned_ptr;
    void **owned_ptr;
    size_t scratch_size;        /* shared by all primitives */
    dnnl_memory_t scratch;
    /* I/O: plain views of input and logits/output. */
    dnnl_memory_t in_plain;      /* bound to the input value's buffer */
    dnnl_primitive_t out_reorder; /* logits md -> plain */
    dnnl_memory_t logits_plain;
    dnnl_primitive_t outg_reorder;
    dnnl_memory_t output_plain;
    bool has_run;
    bool bf16;                  /* DMBP_FPMATH_BF16: see dmbp__plan_in_dt */
    const float *const *over;   /* weight overrides during creation */
    bool keep_diffs;            /* keep every gradient after backward */
    /* Constants already in a primitive's layout (one copy per layout):
     * found again by their data, the view it was read through (one array
     * read as B and as B^T: the same dims when B is square) and the
     * layout made. */
    int n_consts, cap_consts;
    const float **const_src;
    dnnl_memory_desc_t *const_view;
    /* Memory budget (dmbp_plan_options.max_memory) and what the plan has
     * allocated or will allocate so far. */
    size_t max_memory, mem_used;
    bool whole_tensor;          /* dmbp_plan_options.whole_tensor */
    dnnl_memory_desc_t *const_md;
    dnnl_memory_t *const_mem;
    /* Releasable model weights pinned while the plan is built (weights.c);
     * adopted ones are used in place by the plan's primitives and stay
     * pinned until dmbp_plan_free. */
    int n_pins;
    int *pin_v;
    bool *pin_adopted;
    /* Shape inference or the lanes check failed for lanes > 1: the plan
     * is made again as lanes run one at a time. */
    bool lanes_refused;
    /* Non-NULL: this plan runs its lanes one at a time through a batch-1
     * plan (lanesplit.c); it has shapes (vals[].shape, .relevant) and the
     * mask counts, no steps of its own. */
    lane_split *split;
};

/* ---- lanes one at a time (lanesplit.c) --------------------------------- */

/* The plan of o's lanes (> 1) as one batch-1 plan run lane by lane, for a
 * graph that cannot take them together (docs/model-support.md). */
dmbp_status dmbp__split_create(const dmbp_model *m, const dmbp_plan_options *o,
                               const float *const *over, bool keep_diffs,
                               int lanes, dmbp_plan **out);
void dmbp__split_free(dmbp_plan *p);
dmbp_plan *dmbp__split_inner(const dmbp_plan *p);
/* The public calls of a split plan (after their argument checks). */
dmbp_status dmbp__split_forward(dmbp_plan *p, const float *input,
                                float *logits);
dmbp_status dmbp__split_output(dmbp_plan *p, float *out);
dmbp_status dmbp__split_backward(dmbp_plan *p, const float *seed,
                                 const float *masks, unsigned flags,
                                 float *mapping);
dmbp_status dmbp__split_tangent(dmbp_plan *p, const float *v,
                                const float *masks, float *out);
dmbp_status dmbp__split_mask_grad(dmbp_plan *p, const float *v, float *grad);
/* dmbp__plan_read (methods/common.c) of every lane. */
dmbp_status dmbp__split_read(dmbp_plan *p, int v, int diff, float *out);
dmbp_status dmbp__plan_read(dmbp_plan *p, int v, int diff, float *out);
void dmbp__split_sizes(const dmbp_plan *p, size_t *arena, size_t *used);

/* Layout of a [N, C, spatial...] tensor as offsets: channel blocks of
 * `block` (1 when unblocked) with strides per logical dimension. Covers
 * nchw, nhwc, nChw8c and nChw16c, what oneDNN picks for activations. */
typedef struct chan_layout {
    int ndims;
    int64_t dims[DNNL_MAX_NDIMS];
    int64_t strides[DNNL_MAX_NDIMS]; /* of dim i (dim 1: per block) */
    int64_t block;
    int64_t spatial;                 /* product of dims[2..] */
    int64_t sp_step;                 /* spatial index s sits at s * sp_step
                                        (the dense layouts above), 0 if
                                        not so simple                      */
} chan_layout;

/* Offset of (n, c, spatial 0); with sp_step, element s follows at
 * s * sp_step. In a blocked layout the channels of one block are
 * adjacent: kernels loop over them innermost. */
static inline int64_t dmbp__chan_base(const chan_layout *l, int64_t n,
                                      int64_t c)
{
    return n * l->strides[0] + (c / l->block) * l->strides[1] + c % l->block;
}

dmbp_status dmbp__chan_layout(const dnnl_memory_desc_t *md, chan_layout *l);
/* Offset of element (n, c, s) where s is the flat spatial index. */
static inline int64_t dmbp__chan_off(const chan_layout *l, int64_t n,
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
dmbp_status dmbp__diff_target(plan_builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t *out);
/* Whether value v's diff has not been written yet in this pass (its next
 * writer is the first, and overwrites instead of adding). */
bool dmbp__diff_first(const plan_builder *b, int v);
dmbp_status dmbp__diff_commit(plan_builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t written);
/* src (layout src_md) in layout want: src itself or a temporary filled by
 * a reorder step added to the current list. */
dmbp_status dmbp__to_layout(plan_builder *b, dnnl_memory_t src,
                            const dnnl_memory_desc_t *src_md,
                            const dnnl_memory_desc_t *want,
                            dnnl_memory_t *out);
/* The mask layer on node n's output, or NULL. */
const mask_layer *dmbp__mask_of(const dmbp_plan *p, const dmbp_node *n);
/* Steps for a mask layer: backward multiplies the arriving signal (kept in
 * the output's diff) by the masks into `masked`; tangent adds
 * sum_p diff * z into the mask gradient and scales z by the masks in
 * place. */
dmbp_status dmbp__mask_backward(plan_builder *b, const mask_layer *ml,
                                dnnl_memory_t diff, dnnl_memory_t masked,
                                const dnnl_memory_desc_t *md);
dmbp_status dmbp__mask_tangent(plan_builder *b, const mask_layer *ml,
                               dnnl_memory_t diff, dnnl_memory_t z,
                               const dnnl_memory_desc_t *md);
/* Build the backward and tangent step lists (after the forward ones). */
dmbp_status dmbp__reverse_build(dmbp_plan *p);
/* Run a step list. */
dmbp_status dmbp__run_steps(dmbp_plan *p, const step_list *l);

/* What an op's plan hook may use. */
struct dmbp_plan_builder {
    dmbp_plan *p;
};

/* Current description and memory of value v (set by its producer). */
const pvalue *dmbp__pval(plan_builder *b, int v);
/* Memory holding value v in layout want: v's own memory if it already has
 * that layout, else a temporary filled by a reorder step added now. */
dmbp_status dmbp__plan_input_as(plan_builder *b, int v,
                                const dnnl_memory_desc_t *want,
                                dnnl_memory_t *out);
/* Give value v layout md and a fresh arena buffer. */
dmbp_status dmbp__plan_output(plan_builder *b, int v,
                              const dnnl_memory_desc_t *md);
/* Give value v layout md sharing the buffer of memory `of` (a view: same
 * bytes, other dims; both plain). */
dmbp_status dmbp__plan_output_alias(plan_builder *b, int v,
                                    const dnnl_memory_desc_t *md,
                                    dnnl_memory_t of);
/* Another description (plain, same size or smaller) of the bytes of arena
 * memory `of`. */
dmbp_status dmbp__plan_view(plan_builder *b, const dnnl_memory_desc_t *md,
                            dnnl_memory_t of, dnnl_memory_t *out);
/* A constant tensor data (plain layout src_md) reordered now into layout
 * want; the plan owns the result. */
dmbp_status dmbp__plan_const(plan_builder *b, const float *data,
                             const dnnl_memory_desc_t *src_md,
                             const dnnl_memory_desc_t *want,
                             dnnl_memory_t *out);
/* A reorder step src (src_md) -> dst (dst_md) in the current list. */
dmbp_status dmbp__reorder_step(plan_builder *b, dnnl_memory_t src,
                               const dnnl_memory_desc_t *src_md,
                               dnnl_memory_t dst,
                               const dnnl_memory_desc_t *dst_md);
/* The same for data that is freed after the call (not shared). */
dmbp_status dmbp__plan_const_tmp(plan_builder *b, const float *data,
                                 const dnnl_memory_desc_t *src_md,
                                 const dnnl_memory_desc_t *want,
                                 dnnl_memory_t *out);
/* A new arena buffer of layout md, for an op's private use (e.g. a pooling
 * workspace). */
dmbp_status dmbp__plan_scratch_mem(plan_builder *b,
                                   const dnnl_memory_desc_t *md,
                                   dnnl_memory_t *out);
/* Create the primitive of pd (taking ownership of pd) and append a step
 * with the given arguments (the scratchpad is added here). */
dmbp_status dmbp__plan_prim(plan_builder *b, const dmbp_node *n,
                            dnnl_primitive_desc_t pd,
                            const dnnl_exec_arg_t *args, int nargs);
/* Append a hand-written step; data (may be NULL) is freed with the plan. */
dmbp_status dmbp__plan_fn(plan_builder *b, const dmbp_node *n, step_fn fn,
                          void *data, const dnnl_exec_arg_t *args, int nargs);
/* The data type in which convolutions, inner products and matrix
 * products read their source and weights: bf16 in a plan made with
 * DMBP_FPMATH_BF16 (their destination, and everything else, stays f32),
 * else f32. */
dnnl_data_type_t dmbp__plan_in_dt(plan_builder *b);
/* md with its data type replaced (same dims and layout, strides in
 * elements). */
dnnl_memory_desc_t dmbp__md_dt(const dnnl_memory_desc_t *md,
                               dnnl_data_type_t dt);
/* Attributes every primitive gets (user scratchpad). */
dmbp_status dmbp__plan_attr(dnnl_primitive_attr_t *attr);
/* The primitive descriptor of op descriptor d with those attributes
 * (hint: the forward pd of a backward one, or NULL); one oneDNN cannot
 * make is node n's error "oneDNN has no WHAT for this shape". */
dmbp_status dmbp__plan_pd(plan_builder *b, const dmbp_node *n,
                          const_dnnl_op_desc_t d,
                          const_dnnl_primitive_desc_t hint, const char *what,
                          dnnl_primitive_desc_t *pd);
/* A float constant's data for this plan: the model's, unless the plan was
 * made with other weights for it (dmbp__plan_create_with). */
const float *dmbp__const_f(plan_builder *b, int v);
bool dmbp__plan_override(plan_builder *b, int v);

/* Count bytes the plan is about to allocate against its budget; fails
 * with DMBP_ERR_SHAPE naming the total (what says what for). */
dmbp_status dmbp__plan_charge(dmbp_plan *p, size_t bytes, const char *what);
/* Plain row-major md of a shape (a scalar as [1]). */
dmbp_status dmbp__md_plain(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Md with the same dims in "any" layout. */
dmbp_status dmbp__md_any(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Data pointer of a memory (arena bound at run time). */
void *dmbp__mem_ptr(dnnl_memory_t mem);

/* ---- a plan's weight pins (weights.c) ---------------------------------- */

/* A plan's pins: every releasable weight of a live node before the plan
 * is built; after it, the ones not adopted (used in place) are unpinned
 * and, if built, the model drops them; the adopted ones at plan free. */
dmbp_status dmbp__plan_pin_weights(dmbp_plan *p);
void dmbp__plan_unpin_weights(dmbp_plan *p, bool built);
void dmbp__plan_release_weights(dmbp_plan *p);


#endif /* DMBP_PLAN_DNNL_H */
