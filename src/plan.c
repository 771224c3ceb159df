/* Plans: the model compiled for one input shape. Each op adds oneDNN
 * primitives (or hand-written steps) that read and write memories bound
 * to one arena; the forward pass runs the steps in order and the arena
 * keeps every activation as the trace of that pass. */
#include "kernels.h"
#include "plan_dnnl.h"

#include <unistd.h>

/* Arena slices start on cache-line (and AVX-512 vector) boundaries. */
#define ARENA_ALIGN DMBP__ARENA_ALIGN

const char *dnnl__status_str(dnnl_status_t s)
{
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    }
    return "unknown status";
}

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

#define MIB ((size_t)1 << 20)
#define KIB ((size_t)1 << 10)

/* bytes for a message: MiB from 1 MiB up, else KiB, else bytes (a budget
 * of 1K is not "0 MiB"). Rounded up, so a need is never understated. */
static const char *human(char *buf, size_t cap, uint64_t bytes)
{
    if (bytes >= MIB)
        snprintf(buf, cap, "%llu MiB",
                 (unsigned long long)((bytes + MIB - 1) / MIB));
    else if (bytes >= KIB)
        snprintf(buf, cap, "%llu KiB",
                 (unsigned long long)((bytes + KIB - 1) / KIB));
    else
        snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
    return buf;
}

/* Budgets are shown rounded down (what the plan may use). */
static const char *human_budget(char *buf, size_t cap, uint64_t bytes)
{
    if (bytes >= MIB)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(bytes / MIB));
    else if (bytes >= KIB)
        snprintf(buf, cap, "%llu KiB", (unsigned long long)(bytes / KIB));
    else
        snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
    return buf;
}

dmbp_status dmbp__plan_charge(dmbp_plan *p, size_t bytes, const char *what)
{
    size_t total;
    if (!dmbp__add_size(p->mem_used, bytes, &total) ||
        total > p->max_memory) {
        char need[32], part[32], budget[32];
        uint64_t sum = (uint64_t)p->mem_used + bytes;
        return dmbp_set_error(DMBP_ERR_SHAPE, "%s: the plan needs more than "
                              "%s (%s for %s), over its memory budget of %s "
                              "(max_memory, dmbp --max-memory)", p->m->name,
                              human(need, sizeof need, sum),
                              human(part, sizeof part, bytes), what,
                              human_budget(budget, sizeof budget,
                                           p->max_memory));
    }
    p->mem_used = total;
    return DMBP_OK;
}

/* The default budget: a share of the physical memory, so that a hostile
 * model fails with a size error before the machine starts swapping. */
static size_t default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0)
        return SIZE_MAX;
    return (size_t)pages / 100 * DMBP_DEFAULT_MEMORY_PERCENT * (size_t)page;
}

size_t dmbp__ig_default_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0)
        return SIZE_MAX;
    return (size_t)pages / 100 * DMBP__IG_MEMORY_PERCENT * (size_t)page;
}

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

static dmbp_status own_mem(dmbp_plan *p, dnnl_memory_t mem)
{
    GROW(p->owned_mem, p->n_owned_mem, p->cap_owned_mem);
    p->owned_mem[p->n_owned_mem++] = mem;
    return DMBP_OK;
}

static dmbp_status own_ptr(dmbp_plan *p, void *ptr)
{
    GROW(p->owned_ptr, p->n_owned_ptr, p->cap_owned_ptr);
    p->owned_ptr[p->n_owned_ptr++] = ptr;
    return DMBP_OK;
}

/* A memory of layout md whose bytes will be a new arena slice. */
static dmbp_status arena_mem(dmbp_plan *p, const dnnl_memory_desc_t *md,
                             dnnl_memory_t *out)
{
    GROW(p->buf_size, p->n_bufs, p->cap_bufs);
    dnnl_memory_t mem;
    DNNL_TRY(dnnl_memory_create(&mem, md, p->eng, DNNL_MEMORY_NONE));
    TRY(own_mem(p, mem));
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
    TRY(own_mem(p, mem));
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

dmbp_status dmbp__md_plain(const dmbp_shape *s, dnnl_memory_desc_t *md)
{
    dnnl_dims_t dims, strides;
    int nd = s->ndim ? s->ndim : 1;
    if (s->ndim == 0)
        dims[0] = 1;
    for (int i = 0; i < s->ndim; i++)
        dims[i] = s->dims[i];
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = st;
        if (!dmbp__mul_i64(st, dims[i], &st) || st > DMBP_MAX_ELEMS) {
            char buf[160];
            return dmbp_set_error(DMBP_ERR_SHAPE, "tensor of shape %s holds "
                                  "more than %lld elements",
                                  dmbp__shape_str(s, buf, sizeof buf),
                                  (long long)DMBP_MAX_ELEMS);
        }
    }
    DNNL_TRY(dnnl_memory_desc_init_by_strides(md, nd, dims, dnnl_f32,
                                              strides));
    return DMBP_OK;
}

dmbp_status dmbp__md_any(const dmbp_shape *s, dnnl_memory_desc_t *md)
{
    dnnl_dims_t dims;
    int nd = s->ndim ? s->ndim : 1;
    if (s->ndim == 0)
        dims[0] = 1;
    for (int i = 0; i < s->ndim; i++)
        dims[i] = s->dims[i];
    DNNL_TRY(dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32,
                                          dnnl_format_tag_any));
    return DMBP_OK;
}

void *dmbp__mem_ptr(dnnl_memory_t mem)
{
    void *h = NULL;
    dnnl_memory_get_data_handle(mem, &h);
    return h;
}

dnnl_data_type_t dmbp__plan_in_dt(plan_builder *b)
{
    return b->p->bf16 ? dnnl_bf16 : dnnl_f32;
}

dnnl_memory_desc_t dmbp__md_dt(const dnnl_memory_desc_t *md,
                               dnnl_data_type_t dt)
{
    dnnl_memory_desc_t r = *md;
    r.data_type = dt;
    return r;
}

/* bf16 plans need oneDNN's bf16 kernels: with bf16 memory descriptors
 * oneDNN 2.6 would otherwise run reference code orders of magnitude
 * slower (and oneDNN's fpmath attribute alone changes nothing: it keeps
 * its f32 kernels). */
static dmbp_status check_bf16_isa(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) ==
        dnnl_cpu_isa_avx512_core_bf16)
        return DMBP_OK;
    return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "fpmath bf16 needs a CPU "
                          "with AVX512-BF16 or AMX; oneDNN reports ISA %s "
                          "here (use fpmath strict)", dmbp_backend_isa());
}

const char *dmbp_backend_isa(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "unknown";
    }
}

dmbp_status dmbp__plan_attr(dnnl_primitive_attr_t *attr)
{
    DNNL_TRY(dnnl_primitive_attr_create(attr));
    /* One scratchpad for the whole plan instead of one per primitive. */
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(
        *attr, dnnl_scratchpad_mode_user);
    if (s != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: scratchpad mode: %s",
                              dnnl__status_str(s));
    }
    return DMBP_OK;
}

dmbp_status dmbp__plan_pd(plan_builder *b, const dmbp_node *n,
                          const_dnnl_op_desc_t d,
                          const_dnnl_primitive_desc_t hint, const char *what,
                          dnnl_primitive_desc_t *pd)
{
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_status_t s = dnnl_primitive_desc_create(pd, d, attr, b->p->eng,
                                                 hint);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no %s for "
                                "this shape (%s)", what, dnnl__status_str(s));
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

const pvalue *dmbp__pval(plan_builder *b, int v)
{
    dmbp_plan *p = b->p;
    pvalue *pv = &p->vals[v];
    if (!pv->ready) {
        /* A constant read as a tensor: a plain view of the model's data,
         * which is only ever read. */
        const value *cv = &p->m->values[v];
        if (!cv->is_const || cv->dtype != DT_FLOAT)
            return NULL;
        if (dmbp__md_plain(&pv->shape, &pv->md))
            return NULL;
        if (dnnl_memory_create(&pv->mem, &pv->md, p->eng, cv->f) !=
            dnnl_success)
            return NULL;
        if (own_mem(p, pv->mem))
            return NULL;
        int pin = pin_of(p, cv->f);
        if (pin >= 0) /* used in place for the plan's life */
            p->pin_adopted[pin] = true;
        pv->ready = true;
    }
    return pv;
}

static dmbp_status add_step(dmbp_plan *p, const plan_step *s)
{
    step_list *l = p->cur;
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

dmbp_status dmbp__plan_prim(plan_builder *b, const dmbp_node *n,
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
                              n ? n->name : "(plan)", dnnl__status_str(s));
    plan_step st = {0};
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

dmbp_status dmbp__plan_fn(plan_builder *b, const dmbp_node *n, step_fn fn,
                          void *data, const dnnl_exec_arg_t *args, int nargs)
{
    plan_step st = {0};
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
static dmbp_status copy_fn(dmbp_plan *p, const plan_step *s)
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

dmbp_status dmbp__reorder_step(plan_builder *b, dnnl_memory_t src,
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
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, src_md, p->eng,
                                                         dst_md, p->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: no reorder between "
                              "layouts (%s)", dnnl__status_str(s));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    return dmbp__plan_prim(b, NULL, pd, args, 2);
}

dmbp_status dmbp__plan_input_as(plan_builder *b, int v,
                                const dnnl_memory_desc_t *want,
                                dnnl_memory_t *out)
{
    const pvalue *cpv = dmbp__pval(b, v);
    if (!cpv || !cpv->mem)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "value '%s' used before it "
                              "is computed", b->p->m->values[v].name);
    pvalue *pv = &b->p->vals[v];
    if (dnnl_memory_desc_equal(&pv->md, want)) {
        *out = pv->mem;
        return DMBP_OK;
    }
    if (pv->alt_mem && dnnl_memory_desc_equal(&pv->alt_md, want)) {
        *out = pv->alt_mem;
        return DMBP_OK;
    }
    dnnl_memory_t tmp;
    TRY(arena_mem(b->p, want, &tmp));
    TRY(dmbp__reorder_step(b, pv->mem, &pv->md, tmp, want));
    /* Residual branches read the same value in the same layout twice:
     * remember the last conversion. */
    pv->alt_md = *want;
    pv->alt_mem = tmp;
    *out = tmp;
    return DMBP_OK;
}

dmbp_status dmbp__plan_output(plan_builder *b, int v,
                              const dnnl_memory_desc_t *md)
{
    pvalue *pv = &b->p->vals[v];
    pv->md = *md;
    TRY(arena_mem(b->p, md, &pv->mem));
    pv->ready = true;
    return DMBP_OK;
}

dmbp_status dmbp__plan_output_alias(plan_builder *b, int v,
                                    const dnnl_memory_desc_t *md,
                                    dnnl_memory_t of)
{
    pvalue *pv = &b->p->vals[v];
    pv->md = *md;
    TRY(arena_alias(b->p, md, of, &pv->mem));
    pv->ready = true;
    return DMBP_OK;
}

dmbp_status dmbp__plan_view(plan_builder *b, const dnnl_memory_desc_t *md,
                            dnnl_memory_t of, dnnl_memory_t *out)
{
    return arena_alias(b->p, md, of, out);
}

dmbp_status dmbp__plan_scratch_mem(plan_builder *b,
                                   const dnnl_memory_desc_t *md,
                                   dnnl_memory_t *out)
{
    return arena_mem(b->p, md, out);
}

static dmbp_status plan_const(plan_builder *b, const float *data,
                              const dnnl_memory_desc_t *src_md,
                              const dnnl_memory_desc_t *want, bool cache,
                              dnnl_memory_t *out);

dmbp_status dmbp__plan_const(plan_builder *b, const float *data,
                             const dnnl_memory_desc_t *src_md,
                             const dnnl_memory_desc_t *want,
                             dnnl_memory_t *out)
{
    return plan_const(b, data, src_md, want, true, out);
}

dmbp_status dmbp__plan_const_tmp(plan_builder *b, const float *data,
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

static dmbp_status plan_const(plan_builder *b, const float *data,
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
        TRY(own_mem(p, dst));
        p->pin_adopted[pin] = true;
        *out = dst;
        return remember_const(p, data, src_md, want, dst);
    }
    size_t sz = dnnl_memory_desc_get_size(want);
    TRY(dmbp__plan_charge(p, align_up(sz ? sz : 1), "weights"));
    void *buf = aligned_alloc(ARENA_ALIGN, align_up(sz ? sz : 1));
    if (!buf)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (%zu bytes of "
                              "weights)", sz);
    dmbp_status ds = own_ptr(p, buf);
    if (ds) {
        free(buf);
        return ds;
    }
    dnnl_memory_t dst, src;
    DNNL_TRY(dnnl_memory_create(&dst, want, p->eng, buf));
    TRY(own_mem(p, dst));
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
                              "failed (%s)", dnnl__status_str(s));
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

/* The first layout with struct_size (0.2.0) ends at whole_tensor. */
#define PLAN_OPTIONS_MIN DMBP__END(dmbp_plan_options, whole_tensor)

static void plan_defaults(dmbp_plan_options *o)
{
    /* memset: the plan cache compares options with memcmp, padding
     * included (explainer.c). */
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->batch = 1;
}

void dmbp_plan_options_init_sized(dmbp_plan_options *o, size_t struct_size)
{
    dmbp_plan_options d;
    plan_defaults(&d);
    dmbp__options_init(o, struct_size, &d, PLAN_OPTIONS_MIN, sizeof d);
}

static dmbp_status input_shape(const dmbp_model *m, const dmbp_plan_options *o,
                               dmbp_shape *s)
{
    char buf[160];
    if (o->shape.ndim > 0) {
        *s = o->shape;
        if (s->ndim != m->input_decl.ndim)
            return dmbp_set_error(DMBP_ERR_SHAPE, "%s: input shape %s has "
                                  "%d dimensions, the model's input %d",
                                  m->name, dmbp__shape_str(s, buf, sizeof buf),
                                  s->ndim, m->input_decl.ndim);
    } else {
        *s = m->input_decl;
        if (o->batch < 1)
            return dmbp_set_error(DMBP_ERR_ARG, "batch %d: must be >= 1",
                                  o->batch);
        if (o->height < 0 || o->width < 0)
            return dmbp_set_error(DMBP_ERR_ARG, "negative input size");
        if (s->ndim >= 1)
            s->dims[0] = o->batch;
        if (s->ndim == 4) {
            if (o->height)
                s->dims[2] = o->height;
            if (o->width)
                s->dims[3] = o->width;
        }
    }
    for (int d = 0; d < s->ndim; d++)
        if (s->dims[d] <= 0)
            return dmbp_set_error(DMBP_ERR_SHAPE, "%s: input dimension %d is "
                                  "dynamic in the model: give the input size",
                                  m->name, d);
        else if (m->input_decl.dims[d] && d > 0 && o->shape.ndim == 0 &&
                 s->dims[d] != m->input_decl.dims[d])
            return dmbp_set_error(DMBP_ERR_SHAPE, "%s: input %s does not "
                                  "match the model's declared input %s",
                                  m->name, dmbp__shape_str(s, buf, sizeof buf),
                                  dmbp__shape_str(&m->input_decl, buf + 80, 80));
    return DMBP_OK;
}

static dmbp_status out_reorder(dmbp_plan *p, int v, dnnl_primitive_t *prim,
                               dnnl_memory_t *plain)
{
    pvalue *pv = &p->vals[v];
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(&pv->shape, &md));
    size_t sz = dnnl_memory_desc_get_size(&md);
    TRY(dmbp__plan_charge(p, align_up(sz), "the output"));
    void *buf = aligned_alloc(ARENA_ALIGN, align_up(sz));
    if (!buf || own_ptr(p, buf)) {
        free(buf);
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    }
    DNNL_TRY(dnnl_memory_create(plain, &md, p->eng, buf));
    TRY(own_mem(p, *plain));
    dnnl_primitive_desc_t pd;
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, &pv->md, p->eng, &md,
                                                p->eng, NULL));
    dnnl_status_t s = dnnl_primitive_create(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    DNNL_TRY(s);
    return DMBP_OK;
}

/* Buffer of an arena memory, or -1. */
static int buf_of(const dmbp_plan *p, dnnl_memory_t mem)
{
    for (int i = 0; i < p->n_binds; i++)
        if (p->bind_mem[i] == mem)
            return p->bind_buf[i];
    return -1;
}

static void mark(const dmbp_plan *p, char *keep, dnnl_memory_t mem)
{
    int b = mem ? buf_of(p, mem) : -1;
    if (b >= 0)
        keep[b] = 1;
}

typedef struct span {
    int buf;
    long first, last;  /* steps on the timeline fwd | bwd | tan */
} span;

static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const size_t *size = ctx;
    size_t x = size[((const span *)a)->buf], y = size[((const span *)b)->buf];
    if (x != y)
        return x < y ? 1 : -1;
    return ((const span *)a)->buf - ((const span *)b)->buf;
}

/* Where every arena buffer goes. Persistent buffers (the trace: every
 * value's activation and pooling choices; what the caller writes or reads
 * between passes; the signals kept at mask layers) get their own bytes.
 * Every other buffer lives only between its first and last use on the
 * timeline "forward steps, then backward, then tangent": buffers whose
 * lifetimes do not overlap share bytes (first fit, largest first). Such a
 * buffer is used by one pass only and written before it is read within
 * it, so the reuse holds however the passes repeat; buffers shared by two
 * passes are persistent (below). */
static dmbp_status place_buffers(dmbp_plan *p, size_t *total)
{
    int nb = p->n_bufs;
    char *keep = dmbp__calloc((size_t)(nb ? nb : 1), 1);
    span *sp = dmbp__malloc((size_t)(nb ? nb : 1) * sizeof *sp);
    if (!keep || !sp) {
        free(keep);
        free(sp);
        return DMBP_ERR_NOMEM;
    }
    const dmbp_model *m = p->m;
    for (int v = 0; v < m->n_values; v++) {
        const pvalue *pv = &p->vals[v];
        mark(p, keep, pv->mem);
        mark(p, keep, pv->choice);
        if (p->keep_diffs)
            mark(p, keep, pv->diff);
    }
    if (p->reverse) {
        for (int i = 0; i < p->n_mask_layers; i++)
            mark(p, keep, p->vals[p->masks[i].value].diff);
        mark(p, keep, p->vals[m->input].diff);
        mark(p, keep, p->vals[m->input].tan);
        mark(p, keep, p->seed_plain);
        mark(p, keep, p->tan_out_plain);
    }
    for (int i = 0; i < nb; i++) {
        sp[i].buf = i;
        sp[i].first = -1;
        sp[i].last = -1;
    }
    /* Which passes use each buffer (bit l for lists[l]). */
    unsigned char *used = dmbp__calloc((size_t)(nb ? nb : 1), 1);
    if (!used) {
        free(keep);
        free(sp);
        return DMBP_ERR_NOMEM;
    }
    const step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
    long t = 0;
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < lists[l]->n; i++, t++)
            for (int k = 0; k < lists[l]->s[i].nargs; k++) {
                int b = buf_of(p, lists[l]->s[i].args[k].memory);
                if (b < 0)
                    continue;
                if (sp[b].first < 0)
                    sp[b].first = t;
                sp[b].last = t;
                used[b] |= (unsigned char)(1u << l);
            }
    /* A buffer that one pass writes and another reads (a plain copy of an
     * activation made by the forward pass and read by the backward or
     * tangent pass) must survive the passes that run in between: the
     * backward and tangent passes repeat in any order without a forward
     * pass (backward, tangent, tangent, backward, ...), so a timeline span
     * ending in one pass says nothing about the next repetition. Only a
     * buffer confined to one pass is written before it is read each time
     * that pass runs; the others get their own bytes. */
    for (int i = 0; i < nb; i++)
        if (used[i] & (used[i] - 1))
            keep[i] = 1;
    free(used);
    size_t off = 0;
    for (int i = 0; i < nb; i++)
        if (keep[i]) {
            p->buf_off[i] = off;
            off += align_up(p->buf_size[i] ? p->buf_size[i] : 1);
        }
    size_t base = off, top = off;
    int nt = 0;
    for (int i = 0; i < nb; i++)
        if (!keep[i])
            sp[nt++] = sp[i];
    qsort_r(sp, (size_t)nt, sizeof *sp, by_size_desc, p->buf_size);
    /* Placed transient buffers, as (offset, size, span) in sp[0..i). */
    for (int i = 0; i < nt; i++) {
        int b = sp[i].buf;
        size_t need = align_up(p->buf_size[b] ? p->buf_size[b] : 1);
        size_t at = base;
        if (sp[i].first >= 0) {
            /* Lowest offset clear of every placed buffer alive at the same
             * time; retry after each conflict (few conflicts in practice). */
            bool moved = true;
            while (moved) {
                moved = false;
                for (int j = 0; j < i; j++) {
                    int c = sp[j].buf;
                    if (sp[j].first < 0 || sp[j].last < sp[i].first ||
                        sp[j].first > sp[i].last)
                        continue;
                    size_t co = p->buf_off[c];
                    size_t ce = co + align_up(p->buf_size[c] ? p->buf_size[c]
                                                             : 1);
                    if (at < ce && co < at + need) {
                        at = ce;
                        moved = true;
                    }
                }
            }
        }
        p->buf_off[b] = at;
        if (at + need > top)
            top = at + need;
    }
    free(keep);
    free(sp);
    *total = top;
    return DMBP_OK;
}

static dmbp_status finalise(dmbp_plan *p)
{
    p->buf_off = dmbp__malloc((size_t)(p->n_bufs ? p->n_bufs : 1) *
                              sizeof(size_t));
    if (!p->buf_off)
        return DMBP_ERR_NOMEM;
    size_t off = 0;
    TRY(place_buffers(p, &off));
    TRY(dmbp__plan_charge(p, off, "activations"));
    TRY(dmbp__plan_charge(p, align_up(p->scratch_size), "scratchpad"));
    p->arena_size = off;
    p->arena = aligned_alloc(ARENA_ALIGN, off ? off : ARENA_ALIGN);
    if (!p->arena)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory (arena of %zu "
                              "bytes)", off);
    /* Zero once so that padding lanes of blocked layouts hold zeros. */
    memset(p->arena, 0, off);
    for (int i = 0; i < p->n_binds; i++)
        DNNL_TRY(dnnl_memory_set_data_handle(
            p->bind_mem[i], p->arena + p->buf_off[p->bind_buf[i]]));
    if (p->scratch_size) {
        dnnl_memory_desc_t md;
        dnnl_dims_t d = {(dnnl_dim_t)p->scratch_size};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 1, d, dnnl_u8,
                                              dnnl_a));
        void *buf = aligned_alloc(ARENA_ALIGN, align_up(p->scratch_size));
        if (!buf || own_ptr(p, buf)) {
            free(buf);
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        }
        DNNL_TRY(dnnl_memory_create(&p->scratch, &md, p->eng, buf));
        TRY(own_mem(p, p->scratch));
        step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < lists[l]->n; i++)
                for (int k = 0; k < lists[l]->s[i].nargs; k++)
                    if (lists[l]->s[i].args[k].arg == DNNL_ARG_SCRATCHPAD)
                        lists[l]->s[i].args[k].memory = p->scratch;
    }
    return DMBP_OK;
}

/* Before any primitive or buffer: a classifier plan's logits are
 * [lanes, classes] (callers size their buffers so), its lanes are
 * independent, and no single tensor exceeds the memory budget. */
static dmbp_status check_shapes(dmbp_plan *p, const dmbp_shape *shapes)
{
    const dmbp_model *m = p->m;
    const dmbp_shape *in = &shapes[m->input];
    int64_t lanes = in->ndim ? in->dims[0] : 1;
    for (int v = 0; v < m->n_values; v++) {
        if (m->values[v].is_const)
            continue;
        int64_t n = dmbp_shape_numel(&shapes[v]);
        if (n >= 0 && (uint64_t)n * sizeof(float) > p->max_memory) {
            char need[32], budget[32];
            return dmbp_set_error(DMBP_ERR_SHAPE, "%s: value '%s' alone "
                                  "needs %s, over the plan's memory budget "
                                  "of %s (max_memory, dmbp --max-memory)",
                                  m->name, m->values[v].name,
                                  human(need, sizeof need,
                                        (uint64_t)n * sizeof(float)),
                                  human_budget(budget, sizeof budget,
                                               p->max_memory));
        }
    }
    if (p->whole_tensor)
        return DMBP_OK;
    if (lanes > INT32_MAX)
        return dmbp_set_error(DMBP_ERR_SHAPE, "%s: batch of %lld", m->name,
                              (long long)lanes);
    p->lanes_refused = lanes > 1;
    TRY(dmbp__graph_check_lanes(m, shapes, lanes));
    const dmbp_shape *ls = &shapes[m->logits];
    int classes = dmbp_model_num_classes(m);
    if (ls->ndim != 2 || ls->dims[0] != lanes || ls->dims[1] != classes) {
        char buf[160];
        bool size_only = ls->ndim == 2 && ls->dims[0] == lanes;
        return dmbp_set_error(size_only ? DMBP_ERR_SHAPE
                                        : DMBP_ERR_UNSUPPORTED,
                              "%s: the logits '%s' "
                              "have shape %s for this input; a classifier "
                              "gives [%lld, %d] (batch, classes)", m->name,
                              m->values[m->logits].name,
                              dmbp__shape_str(ls, buf, sizeof buf),
                              (long long)lanes, classes);
    }
    p->lanes_refused = false;
    return DMBP_OK;
}

static dmbp_status build(dmbp_plan *p, const dmbp_plan_options *o)
{
    const dmbp_model *m = p->m;
    p->vals = dmbp__calloc((size_t)m->n_values, sizeof *p->vals);
    if (!p->vals)
        return DMBP_ERR_NOMEM;
    dmbp_shape *shapes = dmbp__calloc((size_t)m->n_values, sizeof *shapes);
    if (!shapes)
        return DMBP_ERR_NOMEM;
    for (int i = 0; i < m->n_values; i++)
        shapes[i] = m->values[i].shape;
    dmbp_status st = input_shape(m, o, &shapes[m->input]);
    if (!st && dmbp_shape_numel(&shapes[m->input]) < 0) {
        char buf[160];
        st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: input %s holds more than "
                            "%lld elements", m->name,
                            dmbp__shape_str(&shapes[m->input], buf,
                                            sizeof buf),
                            (long long)DMBP_MAX_ELEMS);
    }
    if (!st) {
        st = p->whole_tensor ? dmbp__graph_infer(m, shapes)
                             : dmbp__graph_infer_lanes(m, shapes);
        p->lanes_refused = st && !p->whole_tensor &&
                           shapes[m->input].dims[0] > 1;
    }
    for (int i = 0; i < m->n_values; i++)
        p->vals[i].shape = shapes[i];
    if (!st)
        st = check_shapes(p, shapes);
    free(shapes);
    TRY(st);

    DNNL_TRY(dnnl_engine_create(&p->eng, dnnl_cpu, 0));
    DNNL_TRY(dnnl_stream_create(&p->strm, p->eng, dnnl_stream_default_flags));

    plan_builder b = {p};
    p->cur = &p->fwd;
    /* Ops add what the reverse passes need to the forward pass (e.g. max
     * pooling's choices), so they must know now. */
    p->reverse = o->reverse != 0;
    pvalue *in = &p->vals[m->input];
    p->lanes = in->shape.ndim ? (int)in->shape.dims[0] : 1;
    TRY(dmbp__md_plain(&in->shape, &in->md));
    TRY(arena_mem(p, &in->md, &in->mem));
    in->ready = true;
    for (int i = 0; i < m->n_nodes; i++) {
        const dmbp_node *n = &m->nodes[i];
        if (n->dead)
            continue;
        TRY(n->op->plan(&b, n));
        for (int k = 0; k < n->n_out; k++)
            if (!p->vals[n->out[k]].ready &&
                m->values[n->out[k]].consumers > 0)
                return dmbp__node_error(n, DMBP_ERR_INTERNAL, "output %d "
                                        "was not planned", k);
    }
    TRY(out_reorder(p, m->logits, &p->out_reorder, &p->logits_plain));
    if (m->output != m->logits)
        TRY(out_reorder(p, m->output, &p->outg_reorder, &p->output_plain));
    if (p->reverse)
        TRY(dmbp__reverse_build(p));
    return finalise(p);
}

const float *dmbp__const_f(plan_builder *b, int v)
{
    if (b->p->over && b->p->over[v])
        return b->p->over[v];
    return b->p->m->values[v].f;
}

bool dmbp__plan_override(plan_builder *b, int v)
{
    return b->p->over && b->p->over[v];
}

dmbp_shape dmbp_plan_node_output_shape(const dmbp_plan *p, int i)
{
    dmbp_shape none = {0};
    const dmbp_node *n = p ? dmbp__live_node(p->m, i) : NULL;
    return n && n->n_out > 0 ? p->vals[n->out[0]].shape : none;
}

dmbp_status dmbp_plan_create(const dmbp_model *m, const dmbp_plan_options *o,
                             dmbp_plan **out)
{
    return dmbp__plan_create_with(m, o, NULL, false, out);
}

dmbp_status dmbp__plan_create_with(const dmbp_model *m,
                                   const dmbp_plan_options *o,
                                   const float *const *over, bool keep_diffs,
                                   dmbp_plan **out)
{
    dmbp__threads_apply();
    if (!m || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_create: NULL argument");
    *out = NULL;
    dmbp_plan_options opt;
    plan_defaults(&opt);
    TRY(dmbp__options_in(o, &opt, PLAN_OPTIONS_MIN, sizeof opt,
                         "dmbp_plan_options"));
    o = &opt;
    dmbp_plan *p = dmbp__calloc(1, sizeof *p);
    if (!p)
        return DMBP_ERR_NOMEM;
    p->m = m;
    p->over = over;
    p->keep_diffs = keep_diffs;
    p->max_memory = o->max_memory ? o->max_memory : default_max_memory();
    p->whole_tensor = o->whole_tensor != 0;
    if (o->fpmath != DMBP_FPMATH_STRICT && o->fpmath != DMBP_FPMATH_BF16) {
        dmbp_plan_free(p);
        return dmbp_set_error(DMBP_ERR_ARG, "unknown fpmath mode %d",
                              o->fpmath);
    }
    p->bf16 = o->fpmath == DMBP_FPMATH_BF16;
    dmbp_status st = p->bf16 ? check_bf16_isa() : DMBP_OK;
    if (!st)
        st = dmbp__plan_pin_weights(p);
    if (!st)
        st = build(p, o);
    p->over = NULL; /* weights were copied into the plan's layouts */
    dmbp__plan_unpin_weights(p, st == DMBP_OK);
    if (st) {
        bool split = p->lanes_refused;
        int lanes = split ? (int)p->vals[m->input].shape.dims[0] : 0;
        dmbp_plan_free(p);
        /* The lanes cannot run together: one at a time, as batch-1 plans
         * would (docs/model-support.md). If even one lane cannot run, its
         * error is the one to report. */
        if (split && st != DMBP_ERR_NOMEM)
            return dmbp__split_create(m, o, over, keep_diffs, lanes, out);
        return st;
    }
    *out = p;
    return DMBP_OK;
}

void dmbp_plan_free(dmbp_plan *p)
{
    if (!p)
        return;
    if (p->split) {
        dmbp__split_free(p);
        return;
    }
    step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < lists[l]->n; i++) {
            if (lists[l]->s[i].prim)
                dnnl_primitive_destroy(lists[l]->s[i].prim);
            free(lists[l]->s[i].args);
            free(lists[l]->s[i].data);
        }
        free(lists[l]->s);
    }
    if (p->seed_reorder)
        dnnl_primitive_destroy(p->seed_reorder);
    if (p->tan_out_reorder)
        dnnl_primitive_destroy(p->tan_out_reorder);
    free(p->masks);
    free(p->mask_val);
    free(p->mask_grad);
    free(p->const_src);
    free(p->const_md);
    free(p->const_view);
    free(p->const_mem);
    dmbp__plan_release_weights(p);
    if (p->out_reorder)
        dnnl_primitive_destroy(p->out_reorder);
    if (p->outg_reorder)
        dnnl_primitive_destroy(p->outg_reorder);
    for (int i = 0; i < p->n_owned_mem; i++)
        dnnl_memory_destroy(p->owned_mem[i]);
    free(p->owned_mem);
    for (int i = 0; i < p->n_owned_ptr; i++)
        free(p->owned_ptr[i]);
    free(p->owned_ptr);
    free(p->buf_size);
    free(p->buf_off);
    free(p->bind_mem);
    free(p->bind_buf);
    free(p->arena);
    free(p->vals);
    if (p->strm)
        dnnl_stream_destroy(p->strm);
    if (p->eng)
        dnnl_engine_destroy(p->eng);
    free(p);
}

dmbp_shape dmbp_plan_input_shape(const dmbp_plan *p)
{
    return p->vals[p->m->input].shape;
}

dmbp_shape dmbp_plan_logits_shape(const dmbp_plan *p)
{
    return p->vals[p->m->logits].shape;
}

dmbp_shape dmbp_plan_output_shape(const dmbp_plan *p)
{
    return p->vals[p->m->output].shape;
}

static dmbp_status run_reorder(dmbp_plan *p, dnnl_primitive_t prim,
                               dnnl_memory_t src, dnnl_memory_t dst)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    DNNL_TRY(dnnl_primitive_execute(prim, p->strm, 2, args));
    DNNL_TRY(dnnl_stream_wait(p->strm));
    return DMBP_OK;
}

dmbp_status dmbp_plan_forward(dmbp_plan *p, const float *input, float *logits)
{
    dmbp__threads_apply();
    if (!p || !input)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_forward: NULL "
                              "argument");
    if (p->split)
        return dmbp__split_forward(p, input, logits);
    const dmbp_model *m = p->m;
    pvalue *in = &p->vals[m->input];
    int64_t n = dmbp_shape_numel(&in->shape);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(input[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "input element %lld "
                                  "is %s", (long long)i,
                                  isnan(input[i]) ? "NaN" : "infinite");
    memcpy(dmbp__mem_ptr(in->mem), input, (size_t)n * sizeof(float));
    p->kept_valid = false; /* new gates: the kept signals are stale */
    TRY(dmbp__run_steps(p, &p->fwd));
    TRY(run_reorder(p, p->out_reorder, p->vals[m->logits].mem,
                    p->logits_plain));
    p->has_run = true;
    if (logits) {
        int64_t k = dmbp_shape_numel(&p->vals[m->logits].shape);
        memcpy(logits, dmbp__mem_ptr(p->logits_plain),
               (size_t)k * sizeof(float));
    }
    return DMBP_OK;
}

dmbp_status dmbp__run_steps(dmbp_plan *p, const step_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const plan_step *s = &l->s[i];
        if (s->prim) {
            DNNL_TRY(dnnl_primitive_execute(s->prim, p->strm, s->nargs,
                                            s->args));
        } else {
            /* Hand-written kernels read what the primitives wrote. */
            DNNL_TRY(dnnl_stream_wait(p->strm));
            TRY(s->fn(p, s));
        }
    }
    DNNL_TRY(dnnl_stream_wait(p->strm));
    return DMBP_OK;
}

dmbp_status dmbp_plan_output(dmbp_plan *p, float *out)
{
    if (!p || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_output: NULL argument");
    if (!p->has_run)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_plan_output: call "
                              "dmbp_plan_forward first");
    if (p->split)
        return dmbp__split_output(p, out);
    const dmbp_model *m = p->m;
    dnnl_memory_t src = p->logits_plain;
    if (m->output != m->logits) {
        TRY(run_reorder(p, p->outg_reorder, p->vals[m->output].mem,
                        p->output_plain));
        src = p->output_plain;
    }
    int64_t k = dmbp_shape_numel(&p->vals[m->output].shape);
    memcpy(out, dmbp__mem_ptr(src), (size_t)k * sizeof(float));
    return DMBP_OK;
}

void dmbp__plan_sizes(const dmbp_plan *p, size_t *arena, size_t *used)
{
    if (p->split) {
        dmbp__split_sizes(p, arena, used);
        return;
    }
    *arena = p->arena_size;
    *used = p->mem_used;
}
