/*
 * dmbp_plugin.h - libdmbp: operator plugins: ops a program or a `dmbp --plugin`
 * shared object adds to the op table. Includes dmbp.h.
 */
#ifndef DMBP_PLUGIN_H
#define DMBP_PLUGIN_H

#include <dmbp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Operator plugins                                                   */
/* ------------------------------------------------------------------ */

/* A node as seen by an operator plugin. */
typedef struct dmbp_node dmbp_node;

DMBP_API const char *dmbp_node_name(const dmbp_node *n);
DMBP_API const char *dmbp_node_op(const dmbp_node *n);
DMBP_API int dmbp_node_num_inputs(const dmbp_node *n);
/* Integer / float attribute, or def when absent. Fails (DMBP_ERR_FORMAT)
 * when present with another type; a non-finite float attribute is
 * DMBP_ERR_NONFINITE. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_int(const dmbp_node *n, const char *name, int64_t def,
                   int64_t *out);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_float(const dmbp_node *n, const char *name, float def,
                     float *out);
/* Integer list: copies up to cap values, *count gets the full length
 * (-1 when absent); DMBP_ERR_FORMAT when not an integer list. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_ints(const dmbp_node *n, const char *name, int64_t *buf,
                    int cap, int *count);
/* Data of input i when it is a constant (initializer or Constant node),
 * else NULL. */
DMBP_API const float *dmbp_node_const_input(const dmbp_node *n, int i);

/* What an op is, declared by its table entry (built-in or plugin). The
 * rest of the library asks these traits and never names an op:
 *  - DMBP_OP_WEIGHTS: a linear layer with weights (Conv, Gemm, MatMul): a
 *    DMBP mask site on its output channels, a layer the randomisation
 *    check re-draws.
 *  - DMBP_OP_FEATURE_MAP: its output is a spatial feature map Grad-CAM may
 *    explain at (Conv).
 *  - DMBP_OP_GATE: an element-wise activation; Grad-CAM's default layer is
 *    the activation after the last feature map.
 *  - DMBP_OP_LAYOUT: moves or reshapes values without arithmetic.
 *  - DMBP_OP_POOL: a pooling (window or global) op.
 *  - DMBP_OP_PASSTHROUGH: the identity at inference (Dropout, Identity):
 *    removed when the model is simplified.
 *  - DMBP_OP_CHANNEL_AFFINE: a per-channel affine map (inference
 *    BatchNormalization) that the simplifier folds into a preceding
 *    DMBP_OP_FOLD_TARGET op.
 *  - DMBP_OP_FOLD_TARGET: absorbs a following per-channel affine (Conv):
 *    its weights are input 1 with the output channels first, its optional
 *    bias input 2.
 *  - DMBP_OP_OUTPUT_NORMALIZER: a final normalisation of the logits
 *    (Softmax): when it produces the graph output, its input are the
 *    logits that methods explain. */
enum dmbp_op_trait {
    DMBP_OP_WEIGHTS = 1u << 0,
    DMBP_OP_FEATURE_MAP = 1u << 1,
    DMBP_OP_GATE = 1u << 2,
    DMBP_OP_LAYOUT = 1u << 3,
    DMBP_OP_POOL = 1u << 4,
    DMBP_OP_PASSTHROUGH = 1u << 5,
    DMBP_OP_CHANNEL_AFFINE = 1u << 6,
    DMBP_OP_FOLD_TARGET = 1u << 7,
    DMBP_OP_OUTPUT_NORMALIZER = 1u << 8
};

/* A layer's LRP rule (libdmbp(3), "Layer-wise relevance propagation"),
 * for a layer z = W a + b with relevance R at z; stab(z) = z + epsilon
 * sign(z), sign(0) = 1, and W+ = max(W, 0), W- = min(W, 0):
 *  - EPSILON:  R_in = a . W^T (R / stab(W a + b))
 *  - ZPLUS:    a+ . W+^T (R / stab(W+ a+)), a+ = max(a, 0), no bias
 *  - GAMMA:    W' = W + gamma W+, b' = b + gamma b+: the epsilon rule on W'
 *  - ALPHA_BETA: alpha (a+ . W+^T s+ + a- . W-^T s+) - beta (a+ . W-^T s-
 *              + a- . W+^T s-), s+ = R / stab(W+ a+ + W- a-), s- = R /
 *              stab(W- a+ + W+ a-), no bias
 *  - FLAT:     W' = 1, a' = 1, no bias: R spread uniformly over each
 *              output's receptive field
 *  - ZBOX:     z = W a - W+ l - W- h, R_in = a . W^T s - l . W+^T s - h .
 *              W-^T s, s = R / stab(z), l and h the input's bounds
 * Ops without weights use epsilon as their stabiliser (Add and average
 * pooling: R_i = a_i R / stab(z)). */
typedef enum dmbp_lrp_kind {
    DMBP_LRP_EPSILON = 0,
    DMBP_LRP_ZPLUS,
    DMBP_LRP_GAMMA,
    DMBP_LRP_ALPHA_BETA,
    DMBP_LRP_FLAT,
    DMBP_LRP_ZBOX
} dmbp_lrp_kind;
typedef struct dmbp_lrp_rule {
    dmbp_lrp_kind kind;
    float epsilon;           /* the stabiliser, every rule                */
    float gamma;             /* GAMMA                                     */
    float alpha, beta;       /* ALPHA_BETA (2, 1 or 1, 0)                 */
    const float *low, *high; /* ZBOX: bounds of each input element        */
} dmbp_lrp_rule;

/* One table entry per ONNX op type. Built-in ops are entries of the same
 * table; a program (or a `dmbp --plugin` shared object) adds its own with
 * dmbp_op_register before loading the models that use it. Tensors given
 * to a plugin are plain row-major float32; an integer constant input is
 * passed as NULL (its shape is still given).
 *
 * Versions: struct_size (set by dmbp_op_def_init, a macro passing
 * sizeof(dmbp_op_def) as the program saw it) sits after the first four
 * fields, where libdmbp 0.1 added it; the library reads only the fields
 * the plugin's header had and takes the rest as zero. Fields are only
 * ever added at the end. (0.1's entry points for definitions without
 * struct_size are gone with the soname libdmbp.so.0.) */
typedef struct dmbp_op_def {
    const char *op_type;  /* ONNX op_type, e.g. "HardSigmoid"            */
    void *user;           /* passed back to every callback               */
    /* Shape rule: fill out[0..n_out) from in[0..n_in). Also the place to
     * reject attributes the op cannot handle (return an error and say
     * why through dmbp_set_error). */
    dmbp_status (*infer)(void *user, const dmbp_node *node, int n_in,
                         const dmbp_shape *in, int n_out, dmbp_shape *out);
    /* Forward: compute the outputs from the inputs. */
    dmbp_status (*forward)(void *user, const dmbp_node *node, int n_in,
                           const dmbp_shape *in_shapes,
                           const float *const *in, int n_out,
                           const dmbp_shape *out_shapes, float *const *out);
    size_t struct_size;   /* set by dmbp_op_def_init; leave it alone      */
    unsigned traits;      /* DMBP_OP_*: what the op is (see above). A
                           * plugin may declare GATE, LAYOUT, POOL,
                           * FEATURE_MAP, PASSTHROUGH and
                           * OUTPUT_NORMALIZER; the others need hooks that
                           * only built-in ops have (DMBP_ERR_ARG). */
    /* Reverse passes (every attribution method needs both; without them
     * the op still predicts and methods fail naming the node). Both are
     * the op linearised at the last forward pass: they get that pass's
     * inputs `in` and outputs `out` (so an element-wise op recomputes its
     * local derivative f'(x) from them), and are linear in the signal.
     * backward: from the gradient of the outputs dout[0..n_out), write
     *   (overwrite) the gradient of each input din[i] = sum_k
     *   J_ki^T dout[k]; din[i] is NULL for inputs that need none
     *   (constants, omitted inputs), dout[k] NULL for an output the
     *   logits do not depend on (zero). Under guided backpropagation a
     *   DMBP_OP_GATE op gets dout[0] with its negative part removed.
     * tangent: from a perturbation of the inputs tin[i] (NULL for
     *   constants: zero), write tout[k] = sum_i J_ki tin[i], the
     *   Jacobian-vector product, without any constant offset (a bias). */
    dmbp_status (*backward)(void *user, const dmbp_node *node, int n_in,
                            const dmbp_shape *in_shapes,
                            const float *const *in, int n_out,
                            const dmbp_shape *out_shapes,
                            const float *const *out,
                            const float *const *dout, float *const *din);
    dmbp_status (*tangent)(void *user, const dmbp_node *node, int n_in,
                           const dmbp_shape *in_shapes,
                           const float *const *in, int n_out,
                           const dmbp_shape *out_shapes,
                           const float *const *out,
                           const float *const *tin, float *const *tout);
    /* Added in 0.3 (LRP, libdmbp(3) "Layer-wise relevance propagation"):
     * the op's relevance rule, or NULL: `lrp` refuses a model whose
     * logits depend on the op. From the relevance of the outputs
     * rout[0..n_out) (NULL: none arrives), write (overwrite) the
     * relevance of each input rin[i] (NULL where none is wanted), with
     * the forward pass's in and out as in backward. An element-wise
     * activation passes rout[0] through; a layer follows rule. */
    dmbp_status (*relevance)(void *user, const dmbp_node *node,
                             const struct dmbp_lrp_rule *rule, int n_in,
                             const dmbp_shape *in_shapes,
                             const float *const *in, int n_out,
                             const dmbp_shape *out_shapes,
                             const float *const *out,
                             const float *const *rout, float *const *rin);
} dmbp_op_def;

/* Zero *def (the first struct_size bytes) and set def->struct_size. */
DMBP_API void dmbp_op_def_init_sized(dmbp_op_def *def, size_t struct_size);
#define dmbp_op_def_init(def) dmbp_op_def_init_sized((def), sizeof *(def))

/* Add def to the table. The strings are copied. Fails with DMBP_ERR_ARG
 * if an op of that type is already registered, if op_type, infer or
 * forward is missing, if only one of backward and tangent is given, or if
 * struct_size is not one this library knows (def not made by
 * dmbp_op_def_init). Not thread-safe against concurrent loads. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_op_register_sized(
    const dmbp_op_def *def);
#define dmbp_op_register(def) dmbp_op_register_sized(def)

/* What a `dmbp --plugin FILE.so` shared object exports: the CLI
 * dlopen()s FILE and calls this function once, before loading the model;
 * it registers its ops with dmbp_op_register and returns DMBP_OK (or an
 * error status with dmbp_set_error's message). */
#define DMBP_PLUGIN_REGISTER_SYMBOL "dmbp_plugin_register"
typedef dmbp_status (*dmbp_plugin_register_fn)(void);

/* Load the plugin at path (0.3): dlopen it (a name without '/' from the
 * current directory, as ./NAME), kept open until the process ends, and
 * run its DMBP_PLUGIN_REGISTER_SYMBOL. DMBP_ERR_IO when path cannot be
 * opened, DMBP_ERR_FORMAT when it is not a loadable shared object,
 * DMBP_ERR_UNSUPPORTED when it lacks the function, else the function's
 * own status with "PATH: dmbp_plugin_register failed: " before its
 * message. Not thread-safe against concurrent loads. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_plugin_load(const char *path);

/* Names of every op in the table, comma separated (static storage until
 * the next dmbp_op_register). */
DMBP_API const char *dmbp_op_list(void);


#ifdef __cplusplus
}
#endif

#endif /* DMBP_PLUGIN_H */
