/* LRP rules shared by the ops (libdmbp(3), "Layer-wise relevance
 * propagation"): a linear layer's rules through the "gradient trick"
 * R_in = a' . W'^T (R / stab(W' a' + b')), with the layer's own forward
 * (no bias) and transposed maps on plain tensors; the pass-through of
 * element-wise activations and views; the proportional split of sums. */
#include "ops/ops.h"
#include "ops/lrp.h"

float dmbp__lrp_stab(float z, float eps)
{
    return z + (z >= 0 ? eps : -eps);
}

/* The element-wise loops below run on the threads from this many
 * elements up (below, a team costs more than it saves). */
#define PAR_MIN 32768
#define PRAGMA(x) _Pragma(#x)
#define PAR_FOR(n) PRAGMA(omp parallel for schedule(static) if ((n) >= PAR_MIN))

/* W + gamma W+. */
static void gamma_weights(const float *w, int64_t n, float gamma, float *out)
{
    PAR_FOR(n)
    for (int64_t i = 0; i < n; i++)
        out[i] = w[i] + gamma * (w[i] > 0 ? w[i] : 0);
}

/* y += b' (b' = b + gamma b+), broadcast as the layer says. */
static void add_bias(const dmbp__lrp_linear *L, float gamma, float *y)
{
    if (!L->bias)
        return;
    int64_t inner = L->bias_inner, n = L->n_out / inner;
    PAR_FOR(n)
    for (int64_t blk = 0; blk < n; blk++) {
        float b = L->bias[blk % L->bias_len];
        float add = b + gamma * (b > 0 ? b : 0);
        for (int64_t o = blk * inner; o < (blk + 1) * inner; o++)
            y[o] += add;
    }
}

/* s = R / stab(z), in place in z. */
static void ratio(const float *R, float *z, int64_t n, float eps)
{
    PAR_FOR(n)
    for (int64_t i = 0; i < n; i++)
        z[i] = R[i] / dmbp__lrp_stab(z[i], eps);
}

/* A map's failure (memory) ends the rule. */
#define MAP(call)                                                           \
    do {                                                                    \
        if ((st = (call)) != DMBP_OK)                                       \
            goto done;                                                      \
    } while (0)

dmbp_status dmbp__lrp_linear_rule(const dmbp__lrp_linear *L,
                                  const dmbp_lrp_rule *r, const float *a,
                                  const float *R, float *rin)
{
    int64_t ni = L->n_in, no = L->n_out, nw = L->n_w;
    /* Only gamma reads a copy of the weights. */
    bool copy = r->kind == DMBP_LRP_GAMMA && r->gamma != 0;
    float *wa = copy ? dmbp__malloc((size_t)nw * sizeof(float)) : NULL;
    float *xa = dmbp__malloc((size_t)ni * sizeof(float));
    float *xb = dmbp__malloc((size_t)ni * sizeof(float));
    float *g = dmbp__malloc((size_t)ni * sizeof(float));
    float *z = dmbp__malloc((size_t)no * sizeof(float));
    float *z2 = dmbp__malloc((size_t)no * sizeof(float));
    dmbp_status st = (wa || !copy) && xa && xb && g && z && z2
                         ? DMBP_OK
                         : DMBP_ERR_NOMEM;
    float eps = r->epsilon;
    if (st)
        goto done;
    switch (r->kind) {
    case DMBP_LRP_EPSILON:
    case DMBP_LRP_GAMMA: {
        float gamma = r->kind == DMBP_LRP_GAMMA ? r->gamma : 0.f;
        /* Gamma 0: W itself, no copy (W + 0 W+ is W; a zero's sign
         * changes no sum). */
        const float *wg = L->w;
        if (gamma != 0) {
            gamma_weights(L->w, nw, gamma, wa);
            wg = wa;
        }
        if (gamma == 0 && L->z) {
            memcpy(z, L->z, (size_t)no * sizeof(float));
        } else {
            MAP(L->fwd(L->ctx, wg, DMBP__LRP_W, a, z));
            add_bias(L, gamma, z);
        }
        ratio(R, z, no, eps);
        MAP(L->bwd(L->ctx, wg, DMBP__LRP_W, z, g));
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            rin[i] = a[i] * g[i];
        break;
    }
    case DMBP_LRP_ZPLUS:
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            xa[i] = a[i] > 0 ? a[i] : 0;
        MAP(L->fwd(L->ctx, L->w, DMBP__LRP_WPOS, xa, z));
        ratio(R, z, no, eps);
        MAP(L->bwd(L->ctx, L->w, DMBP__LRP_WPOS, z, g));
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            rin[i] = xa[i] * g[i];
        break;
    case DMBP_LRP_FLAT:
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            xa[i] = 1;
        MAP(L->fwd(L->ctx, L->w, DMBP__LRP_WONE, xa, z));
        ratio(R, z, no, eps);
        MAP(L->bwd(L->ctx, L->w, DMBP__LRP_WONE, z, rin));
        break;
    case DMBP_LRP_ALPHA_BETA: {
        /* xa = a+, xb = a-. */
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++) {
            xa[i] = a[i] > 0 ? a[i] : 0;
            xb[i] = a[i] < 0 ? a[i] : 0;
            rin[i] = 0;
        }
        for (int neg = 0; neg < 2; neg++) {
            float coef = neg ? -r->beta : r->alpha;
            if (coef == 0)
                continue;
            /* Positive part: W+ a+ + W- a-; negative: W- a+ + W+ a-. */
            int w1 = neg ? DMBP__LRP_WNEG : DMBP__LRP_WPOS;
            int w2 = neg ? DMBP__LRP_WPOS : DMBP__LRP_WNEG;
            MAP(L->fwd(L->ctx, L->w, w1, xa, z));
            MAP(L->fwd(L->ctx, L->w, w2, xb, z2));
            PAR_FOR(no)
            for (int64_t o = 0; o < no; o++)
                z[o] += z2[o];
            ratio(R, z, no, eps);
            MAP(L->bwd(L->ctx, L->w, w1, z, g));
            PAR_FOR(ni)
            for (int64_t i = 0; i < ni; i++)
                rin[i] += coef * xa[i] * g[i];
            MAP(L->bwd(L->ctx, L->w, w2, z, g));
            PAR_FOR(ni)
            for (int64_t i = 0; i < ni; i++)
                rin[i] += coef * xb[i] * g[i];
        }
        break;
    }
    case DMBP_LRP_ZBOX: {
        if (!r->low || !r->high) {
            st = dmbp_set_error(DMBP_ERR_ARG, "LRP zbox: no input bounds");
            break;
        }
        MAP(L->fwd(L->ctx, L->w, DMBP__LRP_W, a, z));
        MAP(L->fwd(L->ctx, L->w, DMBP__LRP_WPOS, r->low, z2));
        PAR_FOR(no)
        for (int64_t o = 0; o < no; o++)
            z[o] -= z2[o];
        MAP(L->fwd(L->ctx, L->w, DMBP__LRP_WNEG, r->high, z2));
        PAR_FOR(no)
        for (int64_t o = 0; o < no; o++)
            z[o] -= z2[o];
        ratio(R, z, no, eps);
        MAP(L->bwd(L->ctx, L->w, DMBP__LRP_W, z, g));
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            rin[i] = a[i] * g[i];
        MAP(L->bwd(L->ctx, L->w, DMBP__LRP_WPOS, z, g));
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            rin[i] -= r->low[i] * g[i];
        MAP(L->bwd(L->ctx, L->w, DMBP__LRP_WNEG, z, g));
        PAR_FOR(ni)
        for (int64_t i = 0; i < ni; i++)
            rin[i] -= r->high[i] * g[i];
        break;
    }
    default:
        st = dmbp_set_error(DMBP_ERR_ARG, "unknown LRP rule %d", r->kind);
    }
done:
    free(wa);
    free(xa);
    free(xb);
    free(g);
    free(z);
    free(z2);
    return st;
}

dmbp_status dmbp__lrp_pass(const dmbp_node *n, const dmbp__lrp_io *io)
{
    int64_t ni = dmbp_shape_numel(&io->in_shapes[0]);
    if (ni != dmbp_shape_numel(&io->out_shapes[0]))
        return dmbp__node_error(n, DMBP_ERR_INTERNAL, "LRP pass-through: "
                                "sizes differ");
    if (io->rin[0])
        memcpy(io->rin[0], io->rout[0], (size_t)ni * sizeof(float));
    return DMBP_OK;
}

dmbp_status dmbp__lrp_sum(const dmbp_node *n, const dmbp__lrp_io *io)
{
    int64_t no = dmbp_shape_numel(&io->out_shapes[0]);
    for (int i = 0; i < n->n_in; i++) {
        if (!io->rin[i])
            continue;
        if (dmbp_shape_numel(&io->in_shapes[i]) != no)
            return dmbp__node_error(n, DMBP_ERR_UNSUPPORTED, "LRP: a computed "
                                    "input broadcast in a sum");
        PAR_FOR(no)
        for (int64_t o = 0; o < no; o++)
            io->rin[i][o] = io->in[i][o] * io->rout[0][o] /
                            dmbp__lrp_stab(io->out[0][o], io->rule->epsilon);
    }
    return DMBP_OK;
}

const float *dmbp__lrp_weight(const dmbp_node *n, const dmbp__lrp_io *io,
                              int i, bool *pinned)
{
    int v = n->in[i];
    *pinned = false;
    if (io->over && io->over[v])
        return io->over[v];
    if (dmbp__weight_pin(n->model, v, pinned))
        return NULL;
    return n->model->values[v].f;
}

void dmbp__lrp_weight_done(const dmbp_node *n, int i, bool pinned)
{
    if (pinned)
        dmbp__weight_unpin(n->model, n->in[i]);
}

int64_t dmbp__lrp_place(const dmbp_shape *big, const dmbp_shape *small,
                        const int64_t *offs, const int *perm, int64_t i)
{
    int64_t stride[DMBP_MAX_DIMS], s = 1;
    for (int d = big->ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= big->dims[d];
    }
    int64_t off = 0;
    for (int d = small->ndim - 1; d >= 0; d--) {
        int64_t c = i % small->dims[d];
        i /= small->dims[d];
        int a = perm ? perm[d] : d;
        off += (c + (offs ? offs[a] : 0)) * stride[a];
    }
    return off;
}
