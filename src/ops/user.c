/* Ops registered by a program or a `dmbp --plugin` shared object
 * (dmbp_op_register): every tensor brought to plain layout, the program's
 * callbacks called on plain float arrays. The reverse passes give the
 * callbacks the forward pass's inputs (re-read from the trace, which the
 * plan keeps) and outputs, so that a plugin recomputes its local
 * derivatives instead of storing them. */
#include "ops/ops.h"

#define USER_MAX_IO 16

typedef struct user_run {
    int n_in, n_out;
    dmbp_shape shapes[2 * USER_MAX_IO];   /* inputs, then outputs */
    /* Backward of a DMBP_OP_GATE op under guided backpropagation: the
     * output gradients with their negative part removed (dmbp_plan_backward
     * with DMBP_BACKWARD_GUIDED, as at every built-in gate). */
    int64_t guided_len;
    float guided[];
} user_run;

/* The callback's message, prefixed with the node. */
static dmbp_status user_error(const dmbp_node *n, dmbp_status st,
                              const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dmbp_last_error());
    return dmbp__node_error(n, st, "%s: %s", what, msg);
}

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
    return st ? user_error(n, st, "infer") : DMBP_OK;
}

static dmbp_status user_run_fn(dmbp_plan *p, const dmbp__step *s)
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
    return st ? user_error(s->node, st, "forward") : DMBP_OK;
}

static dmbp_status user_plan(dmbp__builder *b, const dmbp_node *n)
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
        const dmbp__value *cv = &n->model->values[n->in[i]];
        ur->shapes[i] = dmbp__val(b, n->in[i])->shape;
        if (cv->is_const && cv->dtype != DT_FLOAT)
            continue; /* integer constants are not passed as floats */
        const dmbp__pvalue *x = dmbp__pval(b, n->in[i]);
        dnnl_memory_desc_t md;
        st = x ? dmbp__md_plain(&x->shape, &md)
               : dmbp_set_error(DMBP_ERR_INTERNAL, "input not ready");
        if (!st)
            st = dmbp__plan_input_as(b, n->in[i], &md, &args[i].memory);
    }
    for (int k = 0; k < n->n_out && !st; k++) {
        dnnl_memory_desc_t md;
        ur->shapes[n->n_in + k] = dmbp__val(b, n->out[k])->shape;
        st = dmbp__md_plain(&ur->shapes[n->n_in + k], &md);
        if (!st)
            st = dmbp__plan_output(b, n->out[k], &md);
        args[n->n_in + k].arg = DNNL_ARG_MULTIPLE_DST + k;
        args[n->n_in + k].memory = st ? NULL : dmbp__val_mem(b, n->out[k]);
    }
    if (st) {
        free(ur);
        return st;
    }
    return dmbp__plan_fn(b, n, user_run_fn, ur, args, n->n_in + n->n_out);
}

/* ---- reverse passes ---------------------------------------------------- */

/* Step arguments of a reverse step: the forward inputs [0, n_in), the
 * forward outputs [n_in, n_in + n_out), the incoming signal (backward:
 * output gradients; tangent: input tangents) and the outgoing one
 * (backward: input gradients; tangent: output tangents). */
static dmbp_status rev_fn(dmbp_plan *p, const dmbp__step *s, bool bwd)
{
    user_run *ur = s->data;
    const dmbp_op_def *d = &s->node->op->def;
    int ni = ur->n_in, no = ur->n_out;
    const float *in[USER_MAX_IO], *out[USER_MAX_IO], *sig[USER_MAX_IO];
    float *res[USER_MAX_IO];
    int nsig = bwd ? no : ni, nres = bwd ? ni : no;
    const dnnl_exec_arg_t *a = s->args;
    for (int i = 0; i < ni; i++)
        in[i] = a[i].memory ? dmbp__mem_ptr(a[i].memory) : NULL;
    for (int k = 0; k < no; k++)
        out[k] = dmbp__mem_ptr(a[ni + k].memory);
    for (int k = 0; k < nsig; k++)
        sig[k] = a[ni + no + k].memory ? dmbp__mem_ptr(a[ni + no + k].memory)
                                       : NULL;
    for (int k = 0; k < nres; k++)
        res[k] = a[ni + no + nsig + k].memory
                     ? dmbp__mem_ptr(a[ni + no + nsig + k].memory)
                     : NULL;
    dmbp_status st;
    if (bwd) {
        if (dmbp__plan_guided(p) && ur->guided_len && sig[0]) {
            for (int64_t i = 0; i < ur->guided_len; i++)
                ur->guided[i] = sig[0][i] > 0 ? sig[0][i] : 0.f;
            sig[0] = ur->guided;
        }
        st = d->backward(d->user, s->node, ni, ur->shapes, in, no,
                         ur->shapes + ni, out, sig, res);
    } else {
        st = d->tangent(d->user, s->node, ni, ur->shapes, in, no,
                        ur->shapes + ni, out, sig, res);
    }
    return st ? user_error(s->node, st, bwd ? "backward" : "tangent")
              : DMBP_OK;
}

static dmbp_status bwd_fn(dmbp_plan *p, const dmbp__step *s)
{
    return rev_fn(p, s, true);
}

static dmbp_status tan_fn(dmbp_plan *p, const dmbp__step *s)
{
    return rev_fn(p, s, false);
}

/* Does input i carry a signal in the reverse passes? */
static bool signal_in(dmbp__builder *b, const dmbp_node *n, int i)
{
    return dmbp__has_in(n, i) && !n->model->values[n->in[i]].is_const &&
           dmbp__val(b, n->in[i])->relevant;
}

/* Plain views of memory m (layout md) in the current step list. */
static dmbp_status plain_of(dmbp__builder *b, dnnl_memory_t m,
                            const dnnl_memory_desc_t *md,
                            const dmbp_shape *shape, dnnl_memory_t *out)
{
    dnnl_memory_desc_t pmd;
    TRY(dmbp__md_plain(shape, &pmd));
    return dmbp__to_layout(b, m, md, &pmd, out);
}

/* The shared part of both reverse hooks: a run record and the forward
 * inputs and outputs, plain, as arguments [0, n_in + n_out). Inputs are
 * reordered again in this pass (not reused from the forward pass) so that
 * every buffer is written in the pass that reads it. */
static dmbp_status rev_args(dmbp__builder *b, const dmbp_node *n,
                            int64_t guided_len, user_run **urp,
                            dnnl_exec_arg_t *args)
{
    user_run *ur = dmbp__calloc(1, sizeof *ur +
                                      (size_t)guided_len * sizeof(float));
    if (!ur)
        return DMBP_ERR_NOMEM;
    ur->n_in = n->n_in;
    ur->n_out = n->n_out;
    ur->guided_len = guided_len;
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < n->n_in && !st; i++) {
        args[i].arg = DNNL_ARG_MULTIPLE_SRC + i;
        args[i].memory = NULL;
        ur->shapes[i].ndim = -1;
        if (!dmbp__has_in(n, i))
            continue;
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        const dmbp__value *cv = &n->model->values[n->in[i]];
        ur->shapes[i] = x->shape;
        if (cv->is_const && cv->dtype != DT_FLOAT)
            continue;
        st = plain_of(b, x->mem, &x->md, &x->shape, &args[i].memory);
    }
    for (int k = 0; k < n->n_out && !st; k++) {
        const dmbp__pvalue *y = dmbp__val(b, n->out[k]);
        ur->shapes[n->n_in + k] = y->shape;
        args[n->n_in + k].arg = DNNL_ARG_MULTIPLE_DST + k;
        args[n->n_in + k].memory = y->mem;   /* planned plain */
    }
    if (st) {
        free(ur);
        return st;
    }
    *urp = ur;
    return DMBP_OK;
}

static dmbp_status user_backward(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_exec_arg_t args[4 * USER_MAX_IO];
    int ni = n->n_in, no = n->n_out;
    int64_t glen = dmbp__op_is(n, DMBP_OP_GATE)
                       ? dmbp_shape_numel(dmbp__val_shape(b, n->out[0]))
                       : 0;
    user_run *ur;
    TRY(rev_args(b, n, glen, &ur, args));
    dmbp_status st = DMBP_OK;
    for (int k = 0; k < no && !st; k++) {
        const dmbp__pvalue *y = dmbp__val(b, n->out[k]);
        args[ni + no + k].arg = DNNL_ARG_MULTIPLE_DST + USER_MAX_IO + k;
        args[ni + no + k].memory = y->diff;  /* plain; NULL: not needed */
    }
    dnnl_memory_desc_t md[USER_MAX_IO];
    for (int i = 0; i < ni && !st; i++) {
        dnnl_exec_arg_t *a = &args[ni + 2 * no + i];
        a->arg = DNNL_ARG_MULTIPLE_SRC + USER_MAX_IO + i;
        a->memory = NULL;
        if (!signal_in(b, n, i))
            continue;
        st = dmbp__md_plain(dmbp__val_shape(b, n->in[i]), &md[i]);
        if (!st)
            st = dmbp__diff_target(b, n->in[i], &md[i], &a->memory);
    }
    if (st) {
        free(ur);
        return st;
    }
    TRY(dmbp__plan_fn(b, n, bwd_fn, ur, args, 2 * (ni + no)));
    for (int i = 0; i < ni; i++)
        if (args[ni + 2 * no + i].memory)
            TRY(dmbp__diff_commit(b, n->in[i], &md[i],
                                  args[ni + 2 * no + i].memory));
    return DMBP_OK;
}

static dmbp_status user_tangent(dmbp__builder *b, const dmbp_node *n)
{
    dnnl_exec_arg_t args[4 * USER_MAX_IO];
    int ni = n->n_in, no = n->n_out;
    user_run *ur;
    TRY(rev_args(b, n, 0, &ur, args));
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < ni && !st; i++) {
        dnnl_exec_arg_t *a = &args[ni + no + i];
        a->arg = DNNL_ARG_MULTIPLE_SRC + USER_MAX_IO + i;
        a->memory = NULL;
        if (!signal_in(b, n, i))
            continue;
        const dmbp__pvalue *x = dmbp__val(b, n->in[i]);
        st = plain_of(b, x->tan, &x->md, &x->shape, &a->memory);
    }
    for (int k = 0; k < no; k++) {
        args[2 * ni + no + k].arg = DNNL_ARG_MULTIPLE_DST + USER_MAX_IO + k;
        args[2 * ni + no + k].memory = dmbp__val_tan(b, n->out[k]); /* plain */
    }
    if (st) {
        free(ur);
        return st;
    }
    return dmbp__plan_fn(b, n, tan_fn, ur, args, 2 * (ni + no));
}

/* The template of registered entries: dmbp_op_register copies it and
 * drops the reverse hooks when the plugin gives no reverse callbacks. */
/* LRP: the program's relevance callback on the plain tensors. */
static dmbp_status user_lrp(const dmbp_node *n, const dmbp__lrp_io *io)
{
    const dmbp_op_def *d = &n->op->def;
    dmbp_status st = d->relevance(d->user, n, io->rule, n->n_in,
                                  io->in_shapes, io->in, n->n_out,
                                  io->out_shapes, io->out, io->rout, io->rin);
    return st ? user_error(n, st, "relevance") : DMBP_OK;
}

const dmbp__op_entry dmbp__op_user = {
    .type = "(user)", .check = user_check, .infer = user_infer,
    .plan = user_plan, .backward = user_backward, .tangent = user_tangent,
    .lrp = user_lrp};
