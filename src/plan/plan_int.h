/* Plans from the inside, private to the plan code (plan.c, builder.c,
 * reverse.c, lanesplit.c, backend_dnnl.c): the plan's members, step
 * lists, mask layers, lanes one at a time, oneDNN attributes and errors.
 * Ops see only builder.h. */
#ifndef DMBP_PLAN_INT_H
#define DMBP_PLAN_INT_H

#include <dnnl.h>

#include "plan/builder.h"

/* Evaluate a oneDNN call; on failure set a backend error naming it. */
#define DNNL_TRY(call)                                                      \
    do {                                                                    \
        dnnl_status_t dnnl_st_ = (call);                                    \
        if (dnnl_st_ != dnnl_success)                                       \
            return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: %s failed (%s)", \
                                  #call, dmbp__dnnl_status(dnnl_st_));       \
    } while (0)

const char *dmbp__dnnl_status(dnnl_status_t s);

typedef struct dmbp__step_list {
    int n, cap;
    dmbp__step *s;
} dmbp__step_list;

/* A mask layer: the output channels of a Conv or the units of a Gemm
 * (dmbp-method.md section 2). */
struct dmbp__mask_layer {
    const dmbp_node *node;
    int value;                  /* the node's output value */
    int channels;
    int64_t offset;             /* of its first mask in a lane's masks */
    bool last_axis;             /* units on the last axis of a plain N-D
                                   output (else dimension 1) */
};

/* Alignment of the arena (and of each buffer in it). */
#define DMBP__ARENA_ALIGN 64

static inline size_t dmbp__arena_align_up(size_t n)
{
    return (n + DMBP__ARENA_ALIGN - 1) / DMBP__ARENA_ALIGN * DMBP__ARENA_ALIGN;
}

/* Several traces of one plan (traces.c). */
typedef struct dmbp__traces dmbp__traces;
/* Lanes run one at a time (lanesplit.c). */
typedef struct dmbp__lane_split dmbp__lane_split;

/* Everything that depends on the input shape. */
struct dmbp_plan {
    const dmbp_model *m;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dmbp__pvalue *vals;               /* one per model value */
    dmbp__step_list fwd, bwd, tan;    /* forward, backward and tangent passes */
    int tan_mask_end;           /* tan.s[0 .. tan_mask_end): all the mask
                                   gradient needs (see reverse.c)       */
    dmbp__step_list *cur;             /* where new steps go while building */
    int lanes;                  /* the batch dimension of the input */
    /* Reverse passes. */
    bool reverse;
    int n_mask_layers;
    dmbp__mask_layer *masks;
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
    size_t trace_size;          /* the arena's persistent part [0, this) */
    dmbp__traces *traces;       /* NULL: one trace, the arena (traces.c) */
    size_t traces_charged;      /* their bytes in mem_used */
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
    dmbp__lane_split *split;
};

/* ---- traces (traces.c) --------------------------------------------------- */

/* Free a plan's extra traces (trace 0, the arena, bound again). */
void dmbp__traces_free(dmbp_plan *p);

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
/* dmbp__plan_read (plan.c) of every lane. */
dmbp_status dmbp__split_read(dmbp_plan *p, int v, int diff, float *out);
void dmbp__split_sizes(const dmbp_plan *p, size_t *arena, size_t *used);

/* The mask layer on node n's output, or NULL. */
const dmbp__mask_layer *dmbp__mask_of(const dmbp_plan *p, const dmbp_node *n);

/* Build the backward and tangent step lists (after the forward ones). */
dmbp_status dmbp__reverse_build(dmbp_plan *p);
/* Run a step list. */
dmbp_status dmbp__run_steps(dmbp_plan *p, const dmbp__step_list *l);

/* What an op's plan hook may use. */
struct dmbp_plan_builder {
    dmbp_plan *p;
};

/* Attributes every primitive gets (user scratchpad). */
dmbp_status dmbp__plan_attr(dnnl_primitive_attr_t *attr);
/* The primitive descriptor of op descriptor d with those attributes
 * (hint: the forward pd of a backward one, or NULL); one oneDNN cannot
 * make is node n's error "oneDNN has no WHAT for this shape". */
dmbp_status dmbp__plan_pd(dmbp__builder *b, const dmbp_node *n,
                          const_dnnl_op_desc_t d,
                          const_dnnl_primitive_desc_t hint, const char *what,
                          dnnl_primitive_desc_t *pd);

/* A reorder src -> dst, with the plan's attributes if attr. */
dmbp_status dmbp__be_reorder(dmbp_plan *p, const dnnl_memory_desc_t *src,
                             const dnnl_memory_desc_t *dst, bool attr,
                             dnnl_primitive_desc_t *pd);

/* DMBP_FPMATH_BF16 plans need oneDNN's bf16 kernels (else an
 * unsupported error naming the CPU's ISA). */
dmbp_status dmbp__be_check_bf16(void);

/* Count bytes the plan is about to allocate against its budget; fails
 * with DMBP_ERR_SHAPE naming the total (what says what for). */
dmbp_status dmbp__plan_charge(dmbp_plan *p, size_t bytes, const char *what);

/* ---- a plan's weight pins (builder.c) ---------------------------------- */

/* A plan's pins: every releasable weight of a live node before the plan
 * is built; after it, the ones not adopted (used in place) are unpinned
 * and, if built, the model drops them; the adopted ones at plan free. */
dmbp_status dmbp__plan_pin_weights(dmbp_plan *p);
void dmbp__plan_unpin_weights(dmbp_plan *p, bool built);
void dmbp__plan_release_weights(dmbp_plan *p);

/* ---- what plan.c and builder.c share ----------------------------------- */

/* Grow arr (n used of cap) to take one more element, or fail. */
#define GROW(arr, n, cap)                                                    \
    do {                                                                     \
        if ((n) == (cap)) {                                                  \
            int nc_ = (cap) ? 2 * (cap) : 16;                                \
            void *np_ = realloc((arr), (size_t)nc_ * sizeof *(arr));         \
            if (!np_)                                                        \
                return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");      \
            (arr) = np_;                                                     \
            (cap) = nc_;                                                     \
        }                                                                    \
    } while (0)

/* The plan frees mem (or ptr) with itself. */
dmbp_status dmbp__plan_own_mem(dmbp_plan *p, dnnl_memory_t mem);
dmbp_status dmbp__plan_own_ptr(dmbp_plan *p, void *ptr);
/* A memory of layout md whose buffer is a new arena buffer. */
dmbp_status dmbp__plan_arena_mem(dmbp_plan *p, const dnnl_memory_desc_t *md,
                                 dnnl_memory_t *out);

#endif /* DMBP_PLAN_INT_H */
