/* The plan builder (builder.h): what an op's hooks ask of a plan while
 * it is built. Memories in the arena or owned by the plan, constants in
 * a primitive's layout (one copy per layout), forward steps, values read
 * as tensors, and the weight pins that keep a model's releasable weights
 * while a plan is built (weights.c). */
#include "plan/kernels.h"
#include "plan/plan_int.h"

dmbp_status dmbp__plan_own_mem(dmbp_plan *p, dnnl_memory_t mem)
{
    GROW(p->owned_mem, p->n_owned_mem, p->cap_owned_mem);
    p->owned_mem[p->n_owned_mem++] = mem;
    return DMBP_OK;
}

dmbp_status dmbp__plan_own_ptr(dmbp_plan *p, void *ptr)
{
    GROW(p->owned_ptr, p->n_owned_ptr, p->cap_owned_ptr);
    p->owned_ptr[p->n_owned_ptr++] = ptr;
    return DMBP_OK;
}

/* A memory of layout md whose bytes will be a new arena slice. */
dmbp_status dmbp__plan_arena_mem(dmbp_plan *p, const dnnl_memory_desc_t *md,
                             dnnl_memory_t *out)
{
    GROW(p->buf_size, p->n_bufs, p->cap_bufs);
    dnnl_memory_t mem;
    DNNL_TRY(dnnl_memory_create(&mem, md, p->eng, DNNL_MEMORY_NONE));
    TRY(dmbp__plan_own_mem(p, mem));
    p->buf_size[p->n_bufs] = dnnl_memory_desc_get_size(md);
    GROW(p->bind_mem, p->n_binds, p->cap_binds);
    {
        int cap = p->cap_binds;
        int *nb = realloc(p->bind_buf, (size_t)cap * sizeof *nb);
        if (!nb)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        p->bind_buf = nb;
    }
    p->bind_mem[p->n_binds] = mem;
    p->bind_buf[p->n_binds] = p->n_bufs;
    p->n_binds++;
    p->n_bufs++;
    *out = mem;
    return DMBP_OK;
}

/* A memory of layout md sharing the arena slice of memory `of`. */
static dmbp_status arena_alias(dmbp_plan *p, const dnnl_memory_desc_t *md,
                               dnnl_memory_t of, dnnl_memory_t *out)
{
    int buf = -1;
    for (int i = 0; i < p->n_binds && buf < 0; i++)
        if (p->bind_mem[i] == of)
            buf = p->bind_buf[i];
    if (buf < 0)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "alias of a memory outside "
                              "the arena");
    if (dnnl_memory_desc_get_size(md) > p->buf_size[buf])
        return dmbp_set_error(DMBP_ERR_INTERNAL, "alias larger than its "
                              "buffer");
    dnnl_memory_t mem;
    DNNL_TRY(dnnl_memory_create(&mem, md, p->eng, DNNL_MEMORY_NONE));
    TRY(dmbp__plan_own_mem(p, mem));
    GROW(p->bind_mem, p->n_binds, p->cap_binds);
    {
        int *nb = realloc(p->bind_buf, (size_t)p->cap_binds * sizeof *nb);
        if (!nb)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        p->bind_buf = nb;
    }
    p->bind_mem[p->n_binds] = mem;
    p->bind_buf[p->n_binds] = buf;
    p->n_binds++;
    *out = mem;
    return DMBP_OK;
}

/* The pin of the releasable model weight whose array is data, or -1. */
static int pin_of(const dmbp_plan *p, const void *data)
{
    for (int i = 0; data && i < p->n_pins; i++)
        if (p->m->values[p->pin_v[i]].f == data)
            return i;
    return -1;
}

const dmbp__pvalue *dmbp__pval(dmbp__builder *b, int v)
{
    dmbp_plan *p = b->p;
    dmbp__pvalue *pv = &p->vals[v];
    if (!pv->ready) {
        /* A constant read as a tensor: a plain view of the model's data,
         * which is only ever read. */
        const dmbp__value *cv = &p->m->values[v];
        if (!cv->is_const || cv->dtype != DT_FLOAT)
            return NULL;
        if (dmbp__md_plain(&pv->shape, &pv->md))
            return NULL;
        if (dnnl_memory_create(&pv->mem, &pv->md, p->eng, cv->f) !=
            dnnl_success)
            return NULL;
        if (dmbp__plan_own_mem(p, pv->mem))
            return NULL;
        int pin = pin_of(p, cv->f);
        if (pin >= 0) /* used in place for the plan's life */
            p->pin_adopted[pin] = true;
        pv->ready = true;
    }
    return pv;
}

const dmbp__pvalue *dmbp__val(dmbp__builder *b, int v)
{
    return &b->p->vals[v];
}

const dmbp_shape *dmbp__val_shape(dmbp__builder *b, int v)
{
    return &b->p->vals[v].shape;
}

dnnl_memory_t dmbp__val_mem(dmbp__builder *b, int v)
{
    return b->p->vals[v].mem;
}

dnnl_memory_t dmbp__val_diff(dmbp__builder *b, int v)
{
    return b->p->vals[v].diff;
}

dnnl_memory_t dmbp__val_tan(dmbp__builder *b, int v)
{
    return b->p->vals[v].tan;
}

bool dmbp__plan_reverse(dmbp__builder *b)
{
    return b->p->reverse;
}

bool dmbp__plan_whole_tensor(dmbp__builder *b)
{
    return b->p->whole_tensor;
}

const dmbp_shape *dmbp__plan_value_shape(const dmbp_plan *p, int v,
                                         bool *relevant)
{
    *relevant = p->vals[v].relevant;
    return &p->vals[v].shape;
}

void dmbp__val_set_choice(dmbp__builder *b, int v, dnnl_memory_t choice)
{
    b->p->vals[v].choice = choice;
}

bool dmbp__plan_guided(const dmbp_plan *p)
{
    return p->guided;
}

static dmbp_status add_step(dmbp_plan *p, const dmbp__step *s)
{
    dmbp__step_list *l = p->cur;
    GROW(l->s, l->n, l->cap);
    l->s[l->n++] = *s;
    return DMBP_OK;
}

static dmbp_status copy_args(const dnnl_exec_arg_t *args, int nargs,
                             int extra, dnnl_exec_arg_t **out)
{
    *out = dmbp__malloc((size_t)(nargs + extra) * sizeof **out);
    if (!*out)
        return DMBP_ERR_NOMEM;
    if (nargs)
        memcpy(*out, args, (size_t)nargs * sizeof **out);
    return DMBP_OK;
}

dmbp_status dmbp__plan_prim(dmbp__builder *b, const dmbp_node *n,
                            dnnl_primitive_desc_t pd,
                            const dnnl_exec_arg_t *args, int nargs)
{
    dmbp_plan *p = b->p;
    const dnnl_memory_desc_t *smd =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t ssz = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (ssz > p->scratch_size)
        p->scratch_size = ssz;
    dnnl_primitive_t prim;
    dnnl_status_t s = dnnl_primitive_create(&prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: creating the "
                              "primitive for node '%s' failed (%s)",
                              n ? n->name : "(plan)", dmbp__dnnl_status(s));
    dmbp__step st = {0};
    st.prim = prim;
    st.node = n;
    dmbp_status ds = copy_args(args, nargs, 1, &st.args);
    if (ds) {
        dnnl_primitive_destroy(prim);
        return ds;
    }
    st.nargs = nargs;
    if (ssz) {
        /* The scratchpad memory exists only after finalisation. */
        st.args[st.nargs].arg = DNNL_ARG_SCRATCHPAD;
        st.args[st.nargs].memory = NULL;
        st.nargs++;
    }
    ds = add_step(p, &st);
    if (ds) {
        dnnl_primitive_destroy(prim);
        free(st.args);
    }
    return ds;
}

dmbp_status dmbp__plan_fn(dmbp__builder *b, const dmbp_node *n, dmbp__step_fn fn,
                          void *data, const dnnl_exec_arg_t *args, int nargs)
{
    dmbp__step st = {0};
    st.fn = fn;
    st.node = n;
    st.data = data;
    dmbp_status ds = copy_args(args, nargs, 0, &st.args);
    if (ds) {
        free(data);
        return ds;
    }
    st.nargs = nargs;
    ds = add_step(b->p, &st);
    if (ds) {
        free(st.args);
        free(data);
    }
    return ds;
}

/* dst = src, byte for byte, in parallel chunks. */
static dmbp_status copy_fn(dmbp_plan *p, const dmbp__step *s)
{
    char *dst = dmbp__mem_ptr(s->args[0].memory);
    const char *src = dmbp__mem_ptr(s->args[1].memory);
    size_t n = *(const size_t *)s->data;
    const size_t chunk = DMBP_SWEEP_CHUNK * sizeof(float);
    int64_t chunks = (int64_t)((n + chunk - 1) / chunk);
#pragma omp parallel for
    for (int64_t k = 0; k < chunks; k++) {
        size_t i0 = (size_t)k * chunk;
        memcpy(dst + i0, src + i0, n - i0 < chunk ? n - i0 : chunk);
    }
    (void)p;
    return DMBP_OK;
}

dmbp_status dmbp__reorder_step(dmbp__builder *b, dnnl_memory_t src,
                                const dnnl_memory_desc_t *src_md,
                                dnnl_memory_t dst,
                                const dnnl_memory_desc_t *dst_md)
{
    dmbp_plan *p = b->p;
    if (dnnl_memory_desc_equal(src_md, dst_md)) {
        /* A copy in one layout: oneDNN's reorder for it is its generic
         * element-by-element kernel ("simple:any"), several times slower
         * than memcpy on the residual adds' diffs and tangents. */
        size_t *n = dmbp__malloc(sizeof *n);
        if (!n)
            return DMBP_ERR_NOMEM;
        *n = dnnl_memory_desc_get_size(src_md);
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_DST, dst}, {DNNL_ARG_SRC, src}};
        return dmbp__plan_fn(b, NULL, copy_fn, n, args, 2);
    }
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_reorder(p, src_md, dst_md, true, &pd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    return dmbp__plan_prim(b, NULL, pd, args, 2);
}

dmbp_status dmbp__plan_input_as(dmbp__builder *b, int v,
                                const dnnl_memory_desc_t *want,
                                dnnl_memory_t *out)
{
    const dmbp__pvalue *cpv = dmbp__pval(b, v);
    if (!cpv || !cpv->mem)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "value '%s' used before it "
                              "is computed", b->p->m->values[v].name);
    dmbp__pvalue *pv = &b->p->vals[v];
    if (dnnl_memory_desc_equal(&pv->md, want)) {
        *out = pv->mem;
        return DMBP_OK;
    }
    if (pv->alt_mem && dnnl_memory_desc_equal(&pv->alt_md, want)) {
        *out = pv->alt_mem;
        return DMBP_OK;
    }
    dnnl_memory_t tmp;
    TRY(dmbp__plan_arena_mem(b->p, want, &tmp));
    TRY(dmbp__reorder_step(b, pv->mem, &pv->md, tmp, want));
    /* Residual branches read the same value in the same layout twice:
     * remember the last conversion. */
    pv->alt_md = *want;
    pv->alt_mem = tmp;
    *out = tmp;
    return DMBP_OK;
}

dmbp_status dmbp__plan_output(dmbp__builder *b, int v,
                              const dnnl_memory_desc_t *md)
{
    dmbp__pvalue *pv = &b->p->vals[v];
    pv->md = *md;
    TRY(dmbp__plan_arena_mem(b->p, md, &pv->mem));
    pv->ready = true;
    return DMBP_OK;
}

dmbp_status dmbp__plan_output_alias(dmbp__builder *b, int v,
                                    const dnnl_memory_desc_t *md,
                                    dnnl_memory_t of)
{
    dmbp__pvalue *pv = &b->p->vals[v];
    pv->md = *md;
    TRY(arena_alias(b->p, md, of, &pv->mem));
    pv->ready = true;
    return DMBP_OK;
}

dmbp_status dmbp__plan_view(dmbp__builder *b, const dnnl_memory_desc_t *md,
                            dnnl_memory_t of, dnnl_memory_t *out)
{
    return arena_alias(b->p, md, of, out);
}

dmbp_status dmbp__plan_scratch_mem(dmbp__builder *b,
                                   const dnnl_memory_desc_t *md,
                                   dnnl_memory_t *out)
{
    return dmbp__plan_arena_mem(b->p, md, out);
}

static dmbp_status plan_const(dmbp__builder *b, const float *data,
                              const dnnl_memory_desc_t *src_md,
                              const dnnl_memory_desc_t *want, bool cache,
                              dnnl_memory_t *out);

dmbp_status dmbp__plan_const(dmbp__builder *b, const float *data,
                             const dnnl_memory_desc_t *src_md,
                             const dnnl_memory_desc_t *want,
                             dnnl_memory_t *out)
{
    return plan_const(b, data, src_md, want, true, out);
}

dmbp_status dmbp__plan_const_tmp(dmbp__builder *b, const float *data,
                                 const dnnl_memory_desc_t *src_md,
                                 const dnnl_memory_desc_t *want,
                                 dnnl_memory_t *out)
{
    return plan_const(b, data, src_md, want, false, out);
}

static dmbp_status remember_const(dmbp_plan *p, const float *data,
                                  const dnnl_memory_desc_t *src_md,
                                  const dnnl_memory_desc_t *want,
                                  dnnl_memory_t dst);

static dmbp_status plan_const(dmbp__builder *b, const float *data,
                              const dnnl_memory_desc_t *src_md,
                              const dnnl_memory_desc_t *want, bool cache,
                              dnnl_memory_t *out)
{
    dmbp_plan *p = b->p;
    /* The forward and tangent passes of a layer usually want its weights
     * in the same layout: one copy serves both. The view matters too: a
     * fully connected layer reads its weights as [K, N] forward and as
     * [N, K] backward, and when K = N a bf16 plan's two copies have the
     * same md but hold W and W^T. */
    for (int i = 0; cache && i < p->n_consts; i++)
        if (p->const_src[i] == data &&
            dnnl_memory_desc_equal(&p->const_view[i], src_md) &&
            dnnl_memory_desc_equal(&p->const_md[i], want)) {
            *out = p->const_mem[i];
            return DMBP_OK;
        }
    /* A model weight wanted in its own layout is used in place, not
     * copied: the plan keeps it pinned (weights.c). */
    int pin = cache && dnnl_memory_desc_equal(src_md, want)
                  ? pin_of(p, data) : -1;
    if (pin >= 0) {
        dnnl_memory_t dst;
        DNNL_TRY(dnnl_memory_create(&dst, want, p->eng, (void *)data));
        TRY(dmbp__plan_own_mem(p, dst));
        p->pin_adopted[pin] = true;
        *out = dst;
        return remember_const(p, data, src_md, want, dst);
    }
    size_t sz = dnnl_memory_desc_get_size(want);
    TRY(dmbp__plan_charge(p, dmbp__arena_align_up(sz ? sz : 1), "weights"));
    void *buf = aligned_alloc(DMBP__ARENA_ALIGN, dmbp__arena_align_up(sz ? sz : 1));
    if (!buf)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (%zu bytes of "
                              "weights)", sz);
    dmbp_status ds = dmbp__plan_own_ptr(p, buf);
    if (ds) {
        free(buf);
        return ds;
    }
    dnnl_memory_t dst, src;
    DNNL_TRY(dnnl_memory_create(&dst, want, p->eng, buf));
    TRY(dmbp__plan_own_mem(p, dst));
    DNNL_TRY(dnnl_memory_create(&src, src_md, p->eng, (void *)data));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, src_md, p->eng,
                                                         want, p->eng, NULL);
    if (s == dnnl_success) {
        s = dnnl_primitive_create(&prim, pd);
        dnnl_primitive_desc_destroy(pd);
        if (s == dnnl_success) {
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src},
                                       {DNNL_ARG_TO, dst}};
            s = dnnl_primitive_execute(prim, p->strm, 2, args);
            if (s == dnnl_success)
                s = dnnl_stream_wait(p->strm);
            dnnl_primitive_destroy(prim);
        }
    }
    dnnl_memory_destroy(src);
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: reordering weights "
                              "failed (%s)", dmbp__dnnl_status(s));
    *out = dst;
    if (!cache)
        return DMBP_OK;
    return remember_const(p, data, src_md, want, dst);
}

static dmbp_status remember_const(dmbp_plan *p, const float *data,
                                  const dnnl_memory_desc_t *src_md,
                                  const dnnl_memory_desc_t *want,
                                  dnnl_memory_t dst)
{
    if (p->n_consts == p->cap_consts) {
        int cap = p->cap_consts ? 2 * p->cap_consts : 32;
        const float **ns = realloc(p->const_src, (size_t)cap * sizeof *ns);
        if (ns)
            p->const_src = ns;
        dnnl_memory_desc_t *nm = realloc(p->const_md, (size_t)cap * sizeof *nm);
        if (nm)
            p->const_md = nm;
        dnnl_memory_desc_t *nv =
            realloc(p->const_view, (size_t)cap * sizeof *nv);
        if (nv)
            p->const_view = nv;
        dnnl_memory_t *nmem = realloc(p->const_mem, (size_t)cap * sizeof *nmem);
        if (nmem)
            p->const_mem = nmem;
        if (!ns || !nm || !nv || !nmem)
            return DMBP_OK; /* only the sharing is lost */
        p->cap_consts = cap;
    }
    /* Only data that outlives the plan's creation is remembered (callers
     * with temporaries use dmbp__plan_const_tmp: a freed address may come
     * back with other contents). */
    p->const_src[p->n_consts] = data;
    p->const_md[p->n_consts] = *want;
    p->const_view[p->n_consts] = *src_md;
    p->const_mem[p->n_consts] = dst;
    p->n_consts++;
    return DMBP_OK;
}

const float *dmbp__const_f(dmbp__builder *b, int v)
{
    if (b->p->over && b->p->over[v])
        return b->p->over[v];
    return b->p->m->values[v].f;
}

bool dmbp__plan_override(dmbp__builder *b, int v)
{
    return b->p->over && b->p->over[v];
}

/* ---- weight pins ---------------------------------------------------------------- */

/* Pin every releasable weight a live node reads, so that its plain
 * array stays valid while the plan is built (see weights.c). */
dmbp_status dmbp__plan_pin_weights(dmbp_plan *p)
{
    const dmbp_model *m = p->m;
    int cap = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (!m->nodes[i].dead)
            cap += m->nodes[i].n_in;
    p->pin_v = dmbp__malloc((size_t)(cap ? cap : 1) * sizeof *p->pin_v);
    p->pin_adopted = dmbp__calloc((size_t)(cap ? cap : 1), sizeof(bool));
    if (!p->pin_v || !p->pin_adopted)
        return DMBP_ERR_NOMEM;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        for (int k = 0; !n->dead && k < n->n_in; k++) {
            int v = n->in[k];
            bool dup = v < 0 || (p->over && p->over[v]);
            for (int j = 0; !dup && j < p->n_pins; j++)
                dup = p->pin_v[j] == v;
            bool pinned;
            if (!dup) {
                TRY(dmbp__weight_pin(m, v, &pinned));
                if (pinned)
                    p->pin_v[p->n_pins++] = v;
            }
        }
    }
    return DMBP_OK;
}

/* After building: the weights the plan copied are not pinned any more,
 * and once a plan is built the model no longer keeps them itself. */
void dmbp__plan_unpin_weights(dmbp_plan *p, bool built)
{
    for (int i = 0; i < p->n_pins; i++) {
        if (built)
            dmbp__weight_drop(p->m, p->pin_v[i]);
        if (!p->pin_adopted[i] || !built)
            dmbp__weight_unpin(p->m, p->pin_v[i]);
    }
    if (!built)
        p->n_pins = 0;
}

void dmbp__plan_release_weights(dmbp_plan *p)
{
    for (int i = 0; i < p->n_pins; i++)
        if (p->pin_adopted[i])
            dmbp__weight_unpin(p->m, p->pin_v[i]);
    free(p->pin_v);
    free(p->pin_adopted);
}
