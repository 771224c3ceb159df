/* Dropout and Identity compute nothing at inference: graph.c reroutes
 * their readers to their input and drops them. */
#include "ops/ops.h"

static dmbp_status dropout_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {"ratio", "seed", "is_test", NULL};
    TRY(dmbp__attr_only(n, ok));
    /* Opset 12+: an optional training_mode input; true would sample. */
    if (dmbp__has_in(n, 2)) {
        const dmbp__value *t = dmbp__const_in(n, 2);
        if (!t)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "training_mode "
                                    "must be a constant");
        bool on = dmbp_shape_numel(&t->shape) > 0 &&
                  (t->dtype == DT_FLOAT ? t->f[0] != 0 : t->i64[0] != 0);
        if (on)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "training_mode "
                                    "is true: export in eval mode");
    }
    (void)m;
    return DMBP_OK;
}

static dmbp_status identity_check(dmbp_model *m, dmbp_node *n)
{
    static const char *const ok[] = {NULL};
    (void)m;
    return dmbp__attr_only(n, ok);
}

static dmbp_status same_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    for (int k = 0; k < n->n_out; k++)
        out[k] = in[0];
    return DMBP_OK;
}

static dmbp_status bypassed_plan(dmbp__builder *b, const dmbp_node *n)
{
    (void)b;
    return dmbp__node_error(n, DMBP_ERR_INTERNAL, "should have been removed");
}

const dmbp__op_entry dmbp__op_dropout = {
    .type = "Dropout", .check = dropout_check, .infer = same_infer,
    .plan = bypassed_plan,
    .traits = DMBP_OP_PASSTHROUGH};
const dmbp__op_entry dmbp__op_identity = {
    .type = "Identity", .check = identity_check, .infer = same_infer,
    .plan = bypassed_plan,
    .traits = DMBP_OP_PASSTHROUGH};
