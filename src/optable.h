/* The op table (optable.c, src/ops/): what each op is and does. The
 * entry names its plan hooks through the opaque plan_builder, so code
 * that only asks the table (graph.c, reverse.c's traits, randomize.c)
 * does not see oneDNN. */
#ifndef DMBP_OPTABLE_H
#define DMBP_OPTABLE_H

#include "graph.h"

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

#endif /* DMBP_OPTABLE_H */
