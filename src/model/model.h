/* The model: its graph (values, nodes, attributes; model.c), the op
 * table's entry (what an op is and does; the entries are src/ops/),
 * weight storage (weights.c), shape inference (infer.c) and the loader's
 * entry points (onnx_file.c, onnx_load.c, graph.c). No oneDNN. */
#ifndef DMBP_MODEL_H
#define DMBP_MODEL_H

#include "base.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- the model's graph ------------------------------------------------ */

/* Most inputs or outputs a node may have (Concat in DenseNet-style blocks
 * is the widest). */
#define DMBP_MAX_NODE_IO 64

typedef enum dmbp__attr_type {
    ATTR_OTHER = 0,
    ATTR_FLOAT,
    ATTR_INT,
    ATTR_STRING,
    ATTR_TENSOR,
    ATTR_FLOATS,
    ATTR_INTS
} dmbp__attr_type;

typedef enum dmbp__value_dtype { DT_FLOAT = 1, DT_INT64 = 7 } dmbp__value_dtype;

typedef struct dmbp__node_attr {
    char *name;
    dmbp__attr_type type;
    float f;
    int64_t i;
    char *s;        /* ATTR_STRING, NUL-terminated */
    int n;          /* ATTR_FLOATS / ATTR_INTS length */
    float *floats;
    int64_t *ints;
    int tensor;     /* ATTR_TENSOR: index of a constant value */
} dmbp__node_attr;

/* A tensor-valued edge of the graph: a runtime activation or a constant
 * (initializer, Constant node output). Shapes are those at load time,
 * with dynamic dimensions taken as 1; a plan re-infers them. */
typedef struct dmbp__value {
    char *name;
    dmbp_shape shape;
    bool is_const;
    dmbp__value_dtype dtype;  /* constants only */
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
} dmbp__value;

typedef struct dmbp__op_entry dmbp__op_entry;

struct dmbp_node {
    char *name;
    char *op_type;
    int n_in, n_out;
    int *in;            /* value indices, -1 for an omitted optional input */
    int *out;
    int n_attr;
    dmbp__node_attr *attrs;
    const dmbp__op_entry *op;
    void *priv;         /* the op's parsed parameters, freed by op->release */
    const dmbp_model *model;
    bool dead;          /* removed by simplification */
};

struct dmbp_model {
    char *name;         /* file name, for messages */
    int n_values, cap_values;
    dmbp__value *values;
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
const dmbp__node_attr *dmbp__attr(const dmbp_node *n, const char *name);
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
const dmbp__value *dmbp__const_in(const dmbp_node *n, int i);
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
/* infer.c: node n's output shapes in shapes from its inputs'. */
dmbp_status dmbp__graph_infer_node(const dmbp_node *n, dmbp_shape *shapes);
/* Infer every value's shape from the input shape; shapes[] has n_values
 * entries, constants pre-filled by the caller. */
dmbp_status dmbp__graph_infer(const dmbp_model *m, dmbp_shape *shapes);
/* The same for a classifier plan whose input (shapes[m->input]) carries
 * dims[0] lanes where the model was loaded with another batch b0: nodes
 * computed from the input that kept b0 as axis 0 of their input 0 and
 * output 0 at load infer through their op's infer_lanes hook (the batch
 * constants they hold stand for the lanes). */
dmbp_status dmbp__graph_infer_lanes(const dmbp_model *m, dmbp_shape *shapes);
/* Refuse (naming the node) a graph where a value computed from the input
 * does not keep the batch (lanes) as its axis 0. */
dmbp_status dmbp__graph_check_lanes(const dmbp_model *m,
                                    const dmbp_shape *shapes, int64_t lanes);

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
dmbp_status dmbp__need_const(const dmbp_node *n, int i, const dmbp__value **out);

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

/* ---- the op table (src/ops/optable.c and src/ops/) ------------------------ */

/* What each op is and does. The entry names its plan hooks through the
 * opaque dmbp__builder, so code that only asks the table (graph.c,
 * reverse.c's traits, randomize.c) does not see oneDNN. */

typedef struct dmbp_plan_builder dmbp__builder;

/* What an op's LRP rule gets: the layer's rule, weight overrides (one
 * per model value, NULL: the model's), and plain row-major tensors of
 * one image: the forward pass's inputs and outputs, the relevance of the
 * outputs (rout[k] NULL: none) and where to write the inputs' (rin[i]
 * NULL: not wanted; constants are never wanted). */
typedef struct dmbp__lrp_io {
    const dmbp_lrp_rule *rule;
    const float *const *over;
    const dmbp_shape *in_shapes, *out_shapes;
    const float *const *in, *const *out, *const *rout;
    float *const *rin;
} dmbp__lrp_io;

struct dmbp__op_entry {
    const char *type;
    /* Parse and validate attributes once at load; may set n->priv. */
    dmbp_status (*check)(dmbp_model *m, dmbp_node *n);
    /* Output shapes from input shapes (in[i] for each input; an omitted
     * optional input has ndim -1). */
    dmbp_status (*infer)(const dmbp_node *n, const dmbp_shape *in,
                         dmbp_shape *out);
    /* Add the forward step(s) of n to the plan being built. */
    dmbp_status (*plan)(dmbp__builder *b, const dmbp_node *n);
    /* Reverse passes (dmbp-method.md section 2), both linear with the
     * forward pass's gates frozen: `backward` adds steps taking the diff of
     * n's output to its inputs' diffs (built in reverse node order);
     * `tangent` adds steps pushing its inputs' tan to its output's tan,
     * without biases (built in forward order). NULL: no reverse passes. */
    dmbp_status (*backward)(dmbp__builder *b, const dmbp_node *n);
    dmbp_status (*tangent)(dmbp__builder *b, const dmbp_node *n);
    void (*release)(void *priv);
    /* Plans of several lanes on a model loaded with a batch of b0
     * (docs/model-support.md, "Lanes and a batch written into the
     * graph"): the output shapes when input 0 carries `lanes` images, for
     * a node computed from the input whose input 0 and output 0 kept b0 as
     * axis 0 at load. A constant of the node that writes b0 in as that
     * axis (a Reshape's target) then stands for the lanes, so each lane
     * gets what a batch-1 plan computes for it alone. NULL: `infer`. */
    dmbp_status (*infer_lanes)(const dmbp_node *n, const dmbp_shape *in,
                               dmbp_shape *out, int64_t b0, int64_t lanes);
    unsigned traits;    /* DMBP_OP_* (dmbp.h): what the op is */
    /* DMBP_OP_CHANNEL_AFFINE ops: y[c] = scale[c] * x[c] + shift[c], the
     * arrays owned by the node (valid after check). */
    void (*channel_affine)(const dmbp_node *n, int *channels,
                           const float **scale, const float **shift);
    /* LRP (methods/lrp.c): the relevance of n's inputs from its output's
     * on the forward pass's plain tensors (one image); NULL: no rule. */
    dmbp_status (*lrp)(const dmbp_node *n, const struct dmbp__lrp_io *io);
    bool user;          /* registered through dmbp_op_register */
    dmbp_op_def def;    /* user ops: the program's callbacks */
};

const dmbp__op_entry *dmbp__op_find(const char *type);
/* Does node n's op declare every trait in t (DMBP_OP_*)? Dead nodes have
 * none. */
static inline bool dmbp__op_is(const dmbp_node *n, unsigned t)
{
    return n && !n->dead && n->op && (n->op->traits & t) == t;
}

#endif /* DMBP_MODEL_H */
