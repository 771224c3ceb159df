/* Internal declarations shared by the library's files. Not installed. */
#ifndef DMBP_INTERNAL_H
#define DMBP_INTERNAL_H

#include "config.h"

#define DMBP_BUILDING_LIBRARY 1
#include "dmbp.h"

#include <dnnl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors (error.c) ------------------------------------------------ */

dmbp_status dmbp__prefix_error(dmbp_status status, const char *prefix);

/* Evaluate a status-returning call; on failure return its status. */
#define TRY(call)                                                           \
    do {                                                                    \
        dmbp_status try_st_ = (call);                                       \
        if (try_st_ != DMBP_OK)                                             \
            return try_st_;                                                 \
    } while (0)

/* Evaluate a oneDNN call; on failure set a backend error naming it. */
#define DNNL_TRY(call)                                                      \
    do {                                                                    \
        dnnl_status_t dnnl_st_ = (call);                                    \
        if (dnnl_st_ != dnnl_success)                                       \
            return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: %s failed (%s)", \
                                  #call, dnnl__status_str(dnnl_st_));       \
    } while (0)

const char *dnnl__status_str(dnnl_status_t s);

/* ---- image decoders (image.c, jpeg.c; dispatched by image_load.c) ---- */

/* Refuse a width x height image beyond DMBP_IMAGE_MAX_SIDE per side
 * (DMBP_ERR_FORMAT) or beyond o->max_pixels (DMBP_ERR_SHAPE); decoders
 * call it from the header, before allocating pixels. */
dmbp_status dmbp__image_check_size(const char *name, uint64_t width,
                                   uint64_t height,
                                   const dmbp_image_load_options *o);
/* Decode a whole file held in memory into *out (zeroed by the caller).
 * The PNG decoder edits buf in place. */
dmbp_status dmbp__png_decode(unsigned char *buf, size_t size,
                             const char *name,
                             const dmbp_image_load_options *o,
                             dmbp_image *out);
dmbp_status dmbp__jpeg_decode(const unsigned char *buf, size_t size,
                              const char *name,
                              const dmbp_image_load_options *o,
                              dmbp_image *out);

/* ---- rendering (render.c, render_view.c) ----------------------------- */

unsigned char dmbp__render_byte(double v);          /* [0, 1] to 0..255 */
double dmbp__percentile(double *v, size_t n, double pct); /* sorts v */
dmbp_status dmbp__write_png_rgb8(const char *path, const unsigned char *rgb,
                                 int height, int width);
int dmbp__render_upscale(int min_side, int height, int width);
void dmbp__render_blit(unsigned char *out, size_t out_w, size_t x0,
                       const unsigned char *panel, int h, int w, int f);
dmbp_status dmbp__render_options(const char *fn,
                                 const dmbp_render_options *o,
                                 dmbp_render_options *out);
dmbp_status dmbp__render_check_size(const char *fn, int channels,
                                    int height, int width);
dmbp_status dmbp__render_check_finite(const char *fn, const char *what,
                                      const float *v, int channels,
                                      int height, int width);
/* Colour a normalised map (values in [-1, 1] when is_signed, else
 * [0, 1]; scale is what 1 stands for, for the colour bar) over the
 * background (map-sized, or the original picture when pre is given),
 * add the colour bar and write the PNG. */
dmbp_status dmbp__render_compose(const char *fn, const char *path,
                                 const double *map, int is_signed,
                                 double scale, int height, int width,
                                 const dmbp_image *background,
                                 const dmbp_preprocess_options *pre,
                                 const dmbp_render_options *o);
/* The resize and crop dmbp_image_preprocess applies to an h x w image:
 * resized size rh x rw, crop offset (top, left), crop size ch x cw. */
dmbp_status dmbp__preprocess_geometry(int h, int w,
                                      const dmbp_preprocess_options *o,
                                      int *rh, int *rw, int *top, int *left,
                                      int *ch, int *cw);

/* ---- argument checks of the map functions (metrics.c) ------------------- */

/* A c x h x w map: every size >= 1, at most 2^30 values (DMBP_ERR_ARG
 * naming fn). */
dmbp_status dmbp__check_map_sizes(const char *fn, int c, int h, int w);
/* Every v[0..n) finite (DMBP_ERR_NONFINITE naming fn, what and the index). */
dmbp_status dmbp__check_finite(const char *fn, const char *what,
                               const float *v, int64_t n);

/* ---- small utilities (util.c) ----------------------------------------- */

#include "checked.h"


/* Apply dmbp_set_num_threads to the calling thread: every public entry
 * point that computes calls it first (OpenMP's thread count is per
 * thread). */
void dmbp__threads_apply(void);
void *dmbp__malloc(size_t n);            /* sets DMBP_ERR_NOMEM on NULL */
void *dmbp__calloc(size_t n, size_t size);
char *dmbp__strdup(const char *s);
/* "[2, 3, 224, 224]" into buf. */
const char *dmbp__shape_str(const dmbp_shape *s, char *buf, size_t cap);
bool dmbp__shape_eq(const dmbp_shape *a, const dmbp_shape *b);

/* ---- the model's graph ------------------------------------------------ */

/* Most inputs or outputs a node may have (Concat in DenseNet-style blocks
 * is the widest). */
#define DMBP_MAX_NODE_IO 64

typedef enum attr_type {
    ATTR_OTHER = 0,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_STRING,
    ATTR_TENSOR,
    ATTR_FLOATS,
    ATTR_INTS
} attr_type;

typedef enum value_dtype { DT_FLOAT = 1, DT_INT64 = 7 } value_dtype;

typedef struct node_attr {
    char *name;
    attr_type type;
    float f;
    int64_t i;
    char *s;        /* ATTR_STRING, NUL-terminated */
    int n;          /* ATTR_FLOATS / ATTR_INTS length */
    float *floats;
    int64_t *ints;
    int tensor;     /* ATTR_TENSOR: index of a constant value */
} node_attr;

/* A tensor-valued edge of the graph: a runtime activation or a constant
 * (initializer, Constant node output). Shapes are those at load time,
 * with dynamic dimensions taken as 1; a plan re-infers them. */
typedef struct value {
    char *name;
    dmbp_shape shape;
    bool is_const;
    value_dtype dtype;  /* constants only */
    float *f;           /* DT_FLOAT constant data, plain row-major, owned */
    int64_t *i64;       /* DT_INT64 constant data, owned */
    int producer;       /* node index, -1 for inputs and constants */
    int consumers;      /* number of node inputs reading it */
    /* Weight storage (weights.c); all under the model's wlock once
     * loading is done. f may be NULL for a releasable weight: pin it. */
    bool has_src;       /* f can be read again from the model file */
    bool releasable;    /* f may be freed when nothing pins it */
    bool dropped;       /* the model itself no longer holds f */
    int pins;           /* plans (and callers) using f now */
    uint64_t src_off;   /* f's bytes in the model file */
    uint64_t src_hash;  /* dmbp__weight_hash of those bytes */
} value;

typedef struct op_entry op_entry;

struct dmbp_node {
    char *name;
    char *op_type;
    int n_in, n_out;
    int *in;            /* value indices, -1 for an omitted optional input */
    int *out;
    int n_attr;
    node_attr *attrs;
    const op_entry *op;
    void *priv;         /* the op's parsed parameters, freed by op->release */
    const dmbp_model *model;
    bool dead;          /* removed by simplification */
};

struct dmbp_model {
    char *name;         /* file name, for messages */
    int n_values, cap_values;
    value *values;
    int n_nodes;
    dmbp_node *nodes;   /* execution order; dead nodes skipped */
    int input;          /* the runtime input value */
    int output;         /* the graph output value */
    int logits;         /* output, or the input of a final Softmax */
    dmbp_shape input_decl; /* as declared, dynamic dims 0 */
    int opset;
    char *producer;
    int n_meta;
    char **meta_key, **meta_val;
    int n_labels;
    char **labels;
    int n_live;         /* live nodes: their indices in nodes[] */
    int *live;
    /* Weight storage (weights.c): the model file, kept open to read
     * released weights again, and its identity when it was loaded. */
    int wfd;
    off_t wsize;
    struct timespec wmtime;
    pthread_mutex_t wlock;
    bool wlock_ok;
};

/* Attribute lookup; NULL when absent. */
const node_attr *dmbp__attr(const dmbp_node *n, const char *name);
/* Node description for messages: "node 'conv1' (Conv)". */
const char *dmbp__node_str(const dmbp_node *n, char *buf, size_t cap);
/* Set an error "<model>: node 'x' (Op): <detail>". */
dmbp_status dmbp__node_error(const dmbp_node *n, dmbp_status st,
                             const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Constant input i of n (NULL if absent or not constant). */
const value *dmbp__const_in(const dmbp_node *n, int i);
/* Input i present (not omitted)? */
static inline bool dmbp__has_in(const dmbp_node *n, int i)
{
    return i < n->n_in && n->in[i] >= 0;
}

/* Add a value to the model; returns its index or -1 (NOMEM set). */
int dmbp__model_add_value(dmbp_model *m, const char *name);

/* model.c: live node i (the public numbering), or NULL. */
const dmbp_node *dmbp__live_node(const dmbp_model *m, int i);

/* graph.c: simplify, order, infer shapes at load. */
dmbp_status dmbp__graph_finish(dmbp_model *m);
/* Infer every value's shape from the input shape; shapes[] has n_values
 * entries, constants pre-filled by the caller. */
dmbp_status dmbp__graph_infer(const dmbp_model *m, dmbp_shape *shapes);
/* Refuse (naming the node) a graph where a value computed from the input
 * does not keep the batch (lanes) as its axis 0. */
dmbp_status dmbp__graph_check_lanes(const dmbp_model *m,
                                    const dmbp_shape *shapes, int64_t lanes);

/* ---- the op table (optable.c and src/ops/) -------------------------------- */

typedef struct dmbp_plan_builder plan_builder;

struct op_entry {
    const char *type;
    /* Parse and validate attributes once at load; may set n->priv. */
    dmbp_status (*check)(dmbp_model *m, dmbp_node *n);
    /* Output shapes from input shapes (in[i] for each input; an omitted
     * optional input has ndim -1). */
    dmbp_status (*infer)(const dmbp_node *n, const dmbp_shape *in,
                         dmbp_shape *out);
    /* Add the forward step(s) of n to the plan being built. */
    dmbp_status (*plan)(plan_builder *b, const dmbp_node *n);
    /* Reverse passes (dmbp-method.md section 2), both linear with the
     * forward pass's gates frozen: `backward` adds steps taking the diff of
     * n's output to its inputs' diffs (built in reverse node order);
     * `tangent` adds steps pushing its inputs' tan to its output's tan,
     * without biases (built in forward order). NULL: no reverse passes. */
    dmbp_status (*backward)(plan_builder *b, const dmbp_node *n);
    dmbp_status (*tangent)(plan_builder *b, const dmbp_node *n);
    void (*release)(void *priv);
    unsigned traits;    /* DMBP_OP_* (dmbp.h): what the op is */
    /* DMBP_OP_CHANNEL_AFFINE ops: y[c] = scale[c] * x[c] + shift[c], the
     * arrays owned by the node (valid after check). */
    void (*channel_affine)(const dmbp_node *n, int *channels,
                           const float **scale, const float **shift);
    bool user;          /* registered through dmbp_op_register */
    dmbp_op_def def;    /* user ops: the program's callbacks */
};

const op_entry *dmbp__op_find(const char *type);
/* Does node n's op declare every trait in t (DMBP_OP_*)? Dead nodes have
 * none. */
static inline bool dmbp__op_is(const dmbp_node *n, unsigned t)
{
    return n && !n->dead && n->op && (n->op->traits & t) == t;
}

/* Entries defined in src/ops/. */
extern const op_entry dmbp__op_conv;
extern const op_entry dmbp__op_relu;
extern const op_entry dmbp__op_leakyrelu;
extern const op_entry dmbp__op_clip;
extern const op_entry dmbp__op_maxpool;
extern const op_entry dmbp__op_averagepool;
extern const op_entry dmbp__op_globalaveragepool;
extern const op_entry dmbp__op_batchnorm;
extern const op_entry dmbp__op_gemm;
extern const op_entry dmbp__op_matmul;
extern const op_entry dmbp__op_add;
extern const op_entry dmbp__op_concat;
extern const op_entry dmbp__op_pad;
extern const op_entry dmbp__op_flatten;
extern const op_entry dmbp__op_reshape;
extern const op_entry dmbp__op_dropout;
extern const op_entry dmbp__op_identity;
extern const op_entry dmbp__op_softmax;
extern const op_entry dmbp__op_sigmoid;
extern const op_entry dmbp__op_hardsigmoid;
extern const op_entry dmbp__op_hardswish;
extern const op_entry dmbp__op_tanh;
extern const op_entry dmbp__op_erf;
extern const op_entry dmbp__op_sqrt;
extern const op_entry dmbp__op_pow;
extern const op_entry dmbp__op_mul;
extern const op_entry dmbp__op_sub;
extern const op_entry dmbp__op_div;
extern const op_entry dmbp__op_reducemean;
extern const op_entry dmbp__op_transpose;
extern const op_entry dmbp__op_slice;
extern const op_entry dmbp__op_squeeze;
extern const op_entry dmbp__op_unsqueeze;
extern const op_entry dmbp__op_layernorm;
extern const op_entry dmbp__op_user;   /* template for registered ops */

/* Load-time folding of shape subgraphs (ops/fold.c): if node n computes
 * a constant from constants (Shape: from a value's shape in shapes[]),
 * make its output that constant, n dead, and set *done. marks[v] has bit
 * k set when entry k of constant v is the (dynamic) batch size. */
dmbp_status dmbp__fold_node(dmbp_model *m, dmbp_node *n,
                            const dmbp_shape *shapes, uint64_t *marks,
                            bool *done);
/* Refuse a node that reads a batch-size entry anywhere but position 0 of
 * a Reshape's shape. */
dmbp_status dmbp__fold_check_use(const dmbp_node *n, const uint64_t *marks);

/* Helpers shared by ops (ops/common.c). */
/* Normalise axis into [0, rank) or fail naming the node. */
dmbp_status dmbp__axis(const dmbp_node *n, int64_t axis, int rank, int *out);
/* Read an int list attribute into buf (cap entries); *count = -1 if
 * absent. Fails if longer than cap. */
dmbp_status dmbp__attr_ints(const dmbp_node *n, const char *name,
                            int64_t *buf, int cap, int *count);
dmbp_status dmbp__attr_int(const dmbp_node *n, const char *name, int64_t def,
                           int64_t *out);
dmbp_status dmbp__attr_float(const dmbp_node *n, const char *name, float def,
                             float *out);
/* Reject any attribute not in the NULL-terminated list. */
dmbp_status dmbp__attr_only(const dmbp_node *n, const char *const *allowed);
/* Require input i to be a float constant. */
dmbp_status dmbp__need_const(const dmbp_node *n, int i, const value **out);

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
    /* Constants already in a primitive's layout (one copy per layout). */
    int n_consts, cap_consts;
    const float **const_src;
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
};

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

/* ---- weight storage (weights.c) ----------------------------------------- */

/* Initializer payloads at least this large are read from the file on
 * their own, and may be released and read again (smaller ones are not
 * worth a file read). */
#define DMBP_WEIGHT_MIN_BYTES ((size_t)64 << 10)

/* A large raw_data payload left out of the skeleton: initializer number
 * `index` of the graph, `len` bytes at `off` in the file. */
typedef struct dmbp__payload {
    size_t index;
    uint64_t off, len;
} dmbp__payload;

/* The ONNX file without its large initializer payloads (each replaced by
 * an empty raw_data), for protobuf-c to decode. 0 on success; -1 if the
 * file does not walk as an ONNX model the simple way (then decode it
 * whole, and let protobuf-c report what is wrong). Caller frees *skel
 * and *pl. */
int dmbp__onnx_skeleton(const uint8_t *file, size_t size, uint8_t **skel,
                        size_t *skel_size, dmbp__payload **pl, size_t *n_pl);
uint64_t dmbp__weight_hash(const void *data, size_t n);
/* n bytes at off of fd into buf: 0, an errno, or -1 for a short file. */
int dmbp__pread_all(int fd, void *buf, size_t n, uint64_t off);
/* Decode an ONNX model (or its skeleton: pl lists the n_pl payloads left
 * out, read from fd; NULL, 0, -1 for none), check and simplify it
 * (onnx_load.c). */
dmbp_status dmbp__load_decoded(const void *data, size_t size,
                               const char *name, const char *base_dir,
                               const dmbp__payload *pl, size_t n_pl, int fd,
                               dmbp_model **out);
dmbp_status dmbp__weights_init(dmbp_model *m);
void dmbp__weights_free(dmbp_model *m);
/* After simplification: which weights are releasable (read only as
 * input 1 of DMBP_OP_WEIGHTS layers); weights nobody reads are freed. */
void dmbp__weights_finish(dmbp_model *m);
bool dmbp__weight_releasable(const dmbp_model *m, int v);
/* Make value v's f valid (reading it again if released) until the
 * matching unpin; *pinned false (and nothing to undo) if v is not
 * releasable, whose f is always valid. */
dmbp_status dmbp__weight_pin(const dmbp_model *m, int v, bool *pinned);
void dmbp__weight_unpin(const dmbp_model *m, int v);
/* The model gives up its own reference to v (a plan holds v in its own
 * layout): f is freed when nothing pins it. */
void dmbp__weight_drop(const dmbp_model *m, int v);
/* v's f, valid as long as the model (v is never released again); NULL
 * if it cannot be read again. */
const float *dmbp__weight_keep(const dmbp_model *m, int v);
/* A plan's pins: every releasable weight of a live node before the plan
 * is built; after it, the ones not adopted (used in place) are unpinned
 * and, if built, the model drops them; the adopted ones at plan free. */
dmbp_status dmbp__plan_pin_weights(dmbp_plan *p);
void dmbp__plan_unpin_weights(dmbp_plan *p, bool built);
void dmbp__plan_release_weights(dmbp_plan *p);

/* ---- element-wise kernels (kernels.c), compiled for several ISAs -------- */

/* out = in * gate(u) (ReLU/LeakyReLU: u > 0 ? 1 : a; clip: 1[a < u < b]);
 * guided: also 0 where in <= 0. */
void dmbp__k_gate(const float *u, const float *in, float *out, int64_t n,
                  int clip, float a, float b, int guided);
void dmbp__k_add(float *dst, const float *src, int64_t n);
void dmbp__k_scale_block(const float *in, float *out, const float *m,
                         int64_t cn, int64_t B, int64_t spatial,
                         int64_t step);
void dmbp__k_mask_reduce(const float *diff, float *z, const float *m,
                         int64_t cn, int64_t B, int64_t spatial, int64_t step,
                         double *acc);
/* Elements per chunk when a flat sweep is split among threads. */
#define DMBP_SWEEP_CHUNK 16384

/* ---- reverse passes (reverse.c) ---------------------------------------- */

/* Memory of value v's gradient (backward) to write: v's diff itself when
 * this is the first write and the layout matches, else a temporary in
 * layout md that dmbp__diff_commit adds in. */
dmbp_status dmbp__diff_target(plan_builder *b, int v,
                              const dnnl_memory_desc_t *md,
                              dnnl_memory_t *out);
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
/* A float constant's data for this plan: the model's, unless the plan was
 * made with other weights for it (dmbp__plan_create_with). */
const float *dmbp__const_f(plan_builder *b, int v);
bool dmbp__plan_override(plan_builder *b, int v);
/* dmbp_plan_create with some weights replaced: over has one entry per
 * model value, NULL to keep the model's data (read, not copied: it must
 * outlive plan creation only). */
dmbp_status dmbp__plan_create_with(const dmbp_model *m,
                                   const dmbp_plan_options *o,
                                   const float *const *over, bool keep_diffs,
                                   dmbp_plan **out);
/* IG's memory budget for its lanes when the caller set no max_memory:
 * DMBP_IG_MEMORY_PERCENT of the physical memory (dmbp.h). */
size_t dmbp__ig_default_budget(void);
/* Count bytes the plan is about to allocate against its budget; fails
 * with DMBP_ERR_SHAPE naming the total (what says what for). */
dmbp_status dmbp__plan_charge(dmbp_plan *p, size_t bytes, const char *what);
/* Plain row-major md of a shape (a scalar as [1]). */
dmbp_status dmbp__md_plain(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Md with the same dims in "any" layout. */
dmbp_status dmbp__md_any(const dmbp_shape *s, dnnl_memory_desc_t *md);
/* Data pointer of a memory (arena bound at run time). */
void *dmbp__mem_ptr(dnnl_memory_t mem);

#endif /* DMBP_INTERNAL_H */
