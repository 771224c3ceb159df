/* Ops registered by a program (dmbp_op_register): every input brought to
 * plain layout, the program's forward called on plain float arrays. */
#include "internal.h"

typedef struct user_run {
    int n_in, n_out;
    dmbp_shape shapes[32];        /* inputs, then outputs */
} user_run;

#define USER_MAX_IO 16

static dmbp_status user_check(dmbp_model *m, dmbp_node *n)
{
    (void)m;
    if (n->n_in > USER_MAX_IO || n->n_out > USER_MAX_IO)
        return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "more than %d inputs "
                                "or outputs", USER_MAX_IO);
    return DMBP_OK;
}

static dmbp_status user_infer(const dmbp_node *n, const dmbp_shape *in,
                              dmbp_shape *out)
{
    const dmbp_op_def *d = &n->op->def;
    dmbp_status st = d->infer(d->user, n, n->n_in, in, n->n_out, out);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dmbp_last_error());
        return dmbp__node_error(n, st, "%s", msg);
    }
    return DMBP_OK;
}

static dmbp_status user_run_fn(dmbp_plan *p, const plan_step *s)
{
    const user_run *ur = s->data;
    const dmbp_op_def *d = &s->node->op->def;
    const float *in[USER_MAX_IO];
    float *out[USER_MAX_IO];
    for (int i = 0; i < ur->n_in; i++)
        in[i] = s->args[i].memory ? dmbp__mem_ptr(s->args[i].memory) : NULL;
    for (int i = 0; i < ur->n_out; i++)
        out[i] = dmbp__mem_ptr(s->args[ur->n_in + i].memory);
    dmbp_status st = d->forward(d->user, s->node, ur->n_in, ur->shapes, in,
                                ur->n_out, ur->shapes + ur->n_in, out);
    (void)p;
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dmbp_last_error());
        return dmbp__node_error(s->node, st, "%s", msg);
    }
    return DMBP_OK;
}

static dmbp_status user_plan(plan_builder *b, const dmbp_node *n)
{
    user_run *ur = dmbp__calloc(1, sizeof *ur);
    if (!ur)
        return DMBP_ERR_NOMEM;
    ur->n_in = n->n_in;
    ur->n_out = n->n_out;
    dnnl_exec_arg_t args[2 * USER_MAX_IO];
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < n->n_in && !st; i++) {
        args[i].arg = DNNL_ARG_MULTIPLE_SRC + i;
        args[i].memory = NULL;
        ur->shapes[i].ndim = -1;
        if (!dmbp__has_in(n, i))
            continue;
        const value *cv = &n->model->values[n->in[i]];
        ur->shapes[i] = b->p->vals[n->in[i]].shape;
        if (cv->is_const && cv->dtype != DT_FLOAT)
            continue; /* integer constants are not passed as floats */
        const pvalue *x = dmbp__pval(b, n->in[i]);
        dnnl_memory_desc_t md;
        st = x ? dmbp__md_plain(&x->shape, &md)
               : dmbp_set_error(DMBP_ERR_INTERNAL, "input not ready");
        if (!st)
            st = dmbp__plan_input_as(b, n->in[i], &md, &args[i].memory);
    }
    for (int k = 0; k < n->n_out && !st; k++) {
        dnnl_memory_desc_t md;
        ur->shapes[n->n_in + k] = b->p->vals[n->out[k]].shape;
        st = dmbp__md_plain(&ur->shapes[n->n_in + k], &md);
        if (!st)
            st = dmbp__plan_output(b, n->out[k], &md);
        args[n->n_in + k].arg = DNNL_ARG_MULTIPLE_DST + k;
        args[n->n_in + k].memory = st ? NULL : b->p->vals[n->out[k]].mem;
    }
    if (st) {
        free(ur);
        return st;
    }
    return dmbp__plan_fn(b, n, user_run_fn, ur, args, n->n_in + n->n_out);
}

const op_entry dmbp__op_user = {
    .type = "(user)", .check = user_check, .infer = user_infer,
    .plan = user_plan};
