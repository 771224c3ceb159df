/* Plans: the model compiled for one input shape. Each op adds oneDNN
 * primitives (or hand-written steps) that read and write memories bound
 * to one arena; the forward pass runs the steps in order and the arena
 * keeps every activation as the trace of that pass. */
#include "plan/kernels.h"
#include "plan/plan_int.h"

#include <string.h>
#include <unistd.h>

/* Arena slices start on cache-line (and AVX-512 vector) boundaries. */
#define ARENA_ALIGN DMBP__ARENA_ALIGN

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
    dmbp__pvalue *pv = &p->vals[v];
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(&pv->shape, &md));
    size_t sz = dnnl_memory_desc_get_size(&md);
    TRY(dmbp__plan_charge(p, dmbp__arena_align_up(sz), "the output"));
    void *buf = aligned_alloc(ARENA_ALIGN, dmbp__arena_align_up(sz));
    if (!buf || dmbp__plan_own_ptr(p, buf)) {
        free(buf);
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    }
    DNNL_TRY(dnnl_memory_create(plain, &md, p->eng, buf));
    TRY(dmbp__plan_own_mem(p, *plain));
    dnnl_primitive_desc_t pd;
    TRY(dmbp__be_reorder(p, &pv->md, &md, false, &pd));
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
        const dmbp__pvalue *pv = &p->vals[v];
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
    const dmbp__step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
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
            off += dmbp__arena_align_up(p->buf_size[i] ? p->buf_size[i] : 1);
        }
    p->trace_size = off;
    size_t base = off, top = off;
    int nt = 0;
    for (int i = 0; i < nb; i++)
        if (!keep[i])
            sp[nt++] = sp[i];
    qsort_r(sp, (size_t)nt, sizeof *sp, by_size_desc, p->buf_size);
    /* Placed transient buffers, as (offset, size, span) in sp[0..i). */
    for (int i = 0; i < nt; i++) {
        int b = sp[i].buf;
        size_t need = dmbp__arena_align_up(p->buf_size[b] ? p->buf_size[b] : 1);
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
                    size_t ce = co + dmbp__arena_align_up(p->buf_size[c] ? p->buf_size[c]
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
    TRY(dmbp__plan_charge(p, dmbp__arena_align_up(p->scratch_size), "scratchpad"));
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
        TRY(dmbp__md_vector((int64_t)p->scratch_size, dnnl_u8, &md));
        void *buf = aligned_alloc(ARENA_ALIGN, dmbp__arena_align_up(p->scratch_size));
        if (!buf || dmbp__plan_own_ptr(p, buf)) {
            free(buf);
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        }
        DNNL_TRY(dnnl_memory_create(&p->scratch, &md, p->eng, buf));
        TRY(dmbp__plan_own_mem(p, p->scratch));
        dmbp__step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
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

    dmbp__builder b = {p};
    p->cur = &p->fwd;
    /* Ops add what the reverse passes need to the forward pass (e.g. max
     * pooling's choices), so they must know now. */
    p->reverse = o->reverse != 0;
    dmbp__pvalue *in = &p->vals[m->input];
    p->lanes = in->shape.ndim ? (int)in->shape.dims[0] : 1;
    TRY(dmbp__md_plain(&in->shape, &in->md));
    TRY(dmbp__plan_arena_mem(p, &in->md, &in->mem));
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
    dmbp_status st = p->bf16 ? dmbp__be_check_bf16() : DMBP_OK;
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
    dmbp__step_list *lists[3] = {&p->fwd, &p->bwd, &p->tan};
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
    dmbp__traces_free(p);
    free(p->buf_size);
    free(p->buf_off);
    free(p->bind_mem);
    free(p->bind_buf);
    free(p->arena);
    for (int v = 0; p->vals && v < p->m->n_values; v++) {
        if (p->vals[v].read_prim)
            dnnl_primitive_destroy(p->vals[v].read_prim);
        if (p->vals[v].read_dst)
            dnnl_memory_destroy(p->vals[v].read_dst);
    }
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
    dmbp__pvalue *in = &p->vals[m->input];
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

dmbp_status dmbp__run_steps(dmbp_plan *p, const dmbp__step_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const dmbp__step *s = &l->s[i];
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

dmbp_status dmbp__plan_read(dmbp_plan *p, int v, int diff, float *out)
{
    if (p->split)
        return dmbp__split_read(p, v, diff, out);
    dmbp__pvalue *pv = &p->vals[v];
    dnnl_memory_t src = diff ? pv->diff : pv->mem;
    if (!src)
        return dmbp_set_error(DMBP_ERR_ARG, "value '%s' has no %s",
                              p->m->values[v].name,
                              diff ? "gradient (not before the logits?)"
                                   : "activation");
    dnnl_memory_desc_t md;
    TRY(dmbp__md_plain(&pv->shape, &md));
    dnnl_status_t s = dnnl_success;
    if (dnnl_memory_desc_equal(&pv->md, &md)) {
        /* Plain already (the activation and its gradient share a layout). */
        void *h = NULL;
        s = dnnl_memory_get_data_handle(src, &h);
        if (s == dnnl_success) {
            memcpy(out, h, dnnl_memory_desc_get_size(&md));
            return DMBP_OK;
        }
    } else {
        if (!pv->read_prim) {
            dnnl_primitive_desc_t pd;
            s = dnnl_reorder_primitive_desc_create(&pd, &pv->md, p->eng, &md,
                                                   p->eng, NULL);
            if (s == dnnl_success) {
                s = dnnl_primitive_create(&pv->read_prim, pd);
                dnnl_primitive_desc_destroy(pd);
            }
            if (s == dnnl_success)
                s = dnnl_memory_create(&pv->read_dst, &md, p->eng, out);
        }
        if (s == dnnl_success)
            s = dnnl_memory_set_data_handle(pv->read_dst, out);
        if (s == dnnl_success) {
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src},
                                       {DNNL_ARG_TO, pv->read_dst}};
            s = dnnl_primitive_execute(pv->read_prim, p->strm, 2, args);
        }
        if (s == dnnl_success)
            s = dnnl_stream_wait(p->strm);
    }
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: reading '%s' failed "
                              "(%s)", p->m->values[v].name,
                              dmbp__dnnl_status(s));
    return DMBP_OK;
}
