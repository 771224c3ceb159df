/* The oneDNN backend: every memory descriptor, operation descriptor and
 * primitive descriptor the plan and the ops ask for is made here. Ops
 * call dmbp__be_* with memory descriptors and the node's geometry and get
 * a primitive descriptor back (dmbp__plan_prim then makes the primitive);
 * the oneDNN 2.x operation-descriptor API (*_desc_init) appears in this
 * file only, so a port to oneDNN 3 (DEVELOPERS.md, "oneDNN 3") changes
 * these functions and not the ops. */
#include "plan/plan_int.h"

const char *dmbp__dnnl_status(dnnl_status_t s)
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

dnnl_data_type_t dmbp__plan_in_dt(dmbp__builder *b)
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
dmbp_status dmbp__be_check_bf16(void)
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
                              dmbp__dnnl_status(s));
    }
    return DMBP_OK;
}

dmbp_status dmbp__plan_pd(dmbp__builder *b, const dmbp_node *n,
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
                                "this shape (%s)", what, dmbp__dnnl_status(s));
    return DMBP_OK;
}

dmbp_status dmbp__chan_layout(const dnnl_memory_desc_t *md, dmbp__layout *l)
{
    memset(l, 0, sizeof *l);
    if (md->format_kind != dnnl_blocked || md->ndims < 1)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "layout is not blocked");
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    l->ndims = md->ndims;
    l->block = 1;
    if (bd->inner_nblks > 1 ||
        (bd->inner_nblks == 1 && (bd->inner_idxs[0] != 1 || md->ndims < 2)))
        return dmbp_set_error(DMBP_ERR_INTERNAL, "unexpected blocked layout "
                              "(%d inner blocks)", bd->inner_nblks);
    if (bd->inner_nblks == 1)
        l->block = bd->inner_blks[0];
    l->spatial = 1;
    for (int i = 0; i < md->ndims; i++) {
        l->dims[i] = md->dims[i];
        l->strides[i] = bd->strides[i];
        if (i >= 2)
            l->spatial *= md->dims[i];
    }
    if (md->ndims == 1) {
        /* [N] alone: one channel per lane. */
        l->ndims = 2;
        l->dims[1] = 1;
        l->strides[1] = 1;
    }
    /* Dense spatial dimensions: the innermost has the smallest stride q
     * and each outer one is the product of the inner sizes times q. */
    int64_t q = l->ndims > 2 ? l->strides[l->ndims - 1] : 0, expect = q;
    for (int d = l->ndims - 1; d >= 2 && q; d--) {
        if (l->strides[d] != expect)
            q = 0;
        expect *= l->dims[d];
    }
    l->sp_step = l->ndims > 2 ? q : 1;
    /* Channels last (nhwc, what oneDNN picks for 1x1 convolutions): all
     * channels of a position are adjacent, so treat them as one block;
     * the sweeps then walk memory in order instead of striding by C. */
    if (l->block == 1 && l->ndims > 2 && l->strides[1] == 1 &&
        l->dims[1] > 1 && l->sp_step == l->dims[1])
        l->block = l->dims[1];
    return DMBP_OK;
}

/* ---- descriptors for the ops ------------------------------------------- */

const dnnl_memory_desc_t *dmbp__be_pd_md(const_dnnl_primitive_desc_t pd,
                                         dmbp__be_md what)
{
    static const dnnl_query_t q[] = {
        [DMBP__BE_SRC] = dnnl_query_src_md,
        [DMBP__BE_WEIGHTS] = dnnl_query_weights_md,
        [DMBP__BE_DST] = dnnl_query_dst_md,
        [DMBP__BE_DIFF_SRC] = dnnl_query_diff_src_md,
        [DMBP__BE_DIFF_DST] = dnnl_query_diff_dst_md,
        [DMBP__BE_WORKSPACE] = dnnl_query_workspace_md,
    };
    return dnnl_primitive_desc_query_md(pd, q[what], 0);
}

void dmbp__be_pd_free(dnnl_primitive_desc_t pd)
{
    if (pd)
        dnnl_primitive_desc_destroy(pd);
}

bool dmbp__md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return dnnl_memory_desc_equal(a, b);
}

size_t dmbp__md_size(const dnnl_memory_desc_t *md)
{
    return dnnl_memory_desc_get_size(md);
}

dmbp_status dmbp__md_strided(int ndims, const int64_t *dims,
                             const int64_t *strides, dnnl_memory_desc_t *md)
{
    dnnl_dims_t d, s;
    for (int i = 0; i < ndims; i++) {
        d[i] = dims[i];
        s[i] = strides[i];
    }
    DNNL_TRY(dnnl_memory_desc_init_by_strides(md, ndims, d, dnnl_f32, s));
    return DMBP_OK;
}

dmbp_status dmbp__md_vector(int64_t n, dnnl_data_type_t dt,
                            dnnl_memory_desc_t *md)
{
    dnnl_dims_t d = {n};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(md, 1, d, dt, dnnl_a));
    return DMBP_OK;
}

dmbp_status dmbp__md_any_dt(int ndims, const int64_t *dims,
                            dnnl_data_type_t dt, dnnl_memory_desc_t *md)
{
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    DNNL_TRY(dnnl_memory_desc_init_by_tag(md, ndims, d, dt,
                                          dnnl_format_tag_any));
    return DMBP_OK;
}

dmbp_status dmbp__md_sub(const dnnl_memory_desc_t *parent,
                         const int64_t *dims, const int64_t *offsets,
                         dnnl_memory_desc_t *sub)
{
    dnnl_dims_t d, o;
    for (int i = 0; i < parent->ndims; i++) {
        d[i] = dims[i];
        o[i] = offsets[i];
    }
    DNNL_TRY(dnnl_memory_desc_init_submemory(sub, parent, d, o));
    return DMBP_OK;
}

dmbp_status dmbp__md_any_like(const dnnl_memory_desc_t *md,
                              dnnl_data_type_t dt, dnnl_memory_desc_t *out)
{
    dnnl_dims_t dims;
    memcpy(dims, md->dims, sizeof dims);
    DNNL_TRY(dnnl_memory_desc_init_by_tag(out, md->ndims, dims, dt,
                                          dnnl_format_tag_any));
    return DMBP_OK;
}

dmbp_status dmbp__md_swap2(const dnnl_memory_desc_t *md,
                           dnnl_memory_desc_t *out)
{
    const dnnl_dim_t *st = md->format_desc.blocking.strides;
    dnnl_dims_t dims = {md->dims[1], md->dims[0]};
    dnnl_dims_t strides = {st[1], st[0]};
    DNNL_TRY(dnnl_memory_desc_init_by_strides(out, 2, dims, dnnl_f32,
                                              strides));
    return DMBP_OK;
}

static dnnl_prop_kind_t prop(bool training)
{
    return training ? dnnl_forward_training : dnnl_forward_inference;
}

dmbp_status dmbp__be_conv_fwd(dmbp__builder *b, const dmbp_node *n,
                              bool training, const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *w,
                              const dnnl_memory_desc_t *bias,
                              const dnnl_memory_desc_t *dst,
                              const dmbp__be_geom *g, const char *what,
                              dnnl_primitive_desc_t *pd)
{
    dnnl_convolution_desc_t cd;
    DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(
        &cd, prop(training), dnnl_convolution_direct, src, w, bias, dst,
        g->strides, g->dil, g->pl, g->pr));
    return dmbp__plan_pd(b, n, &cd, NULL, what, pd);
}

dnnl_primitive_desc_t dmbp__be_conv_bwd_data(dmbp__builder *b,
                                             const dnnl_memory_desc_t *src_in,
                                             const dnnl_memory_desc_t *dsrc,
                                             const dnnl_memory_desc_t *w,
                                             const dnnl_memory_desc_t *dst,
                                             const dmbp__be_geom *g,
                                             bool fast_only)
{
    dnnl_convolution_desc_t fd, bd;
    if (dnnl_dilated_convolution_forward_desc_init(
            &fd, dnnl_forward_training, dnnl_convolution_direct, src_in, w,
            NULL, dst, g->strides, g->dil, g->pl, g->pr) != dnnl_success ||
        dnnl_dilated_convolution_backward_data_desc_init(
            &bd, dnnl_convolution_direct, dsrc, w, dst, g->strides, g->dil,
            g->pl, g->pr) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr;
    if (dmbp__plan_attr(&attr))
        return NULL;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    dnnl_status_t s = dnnl_primitive_desc_create(&hint, &fd, attr,
                                                 b->p->eng, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &bd, attr, b->p->eng, hint);
    if (s != dnnl_success) {
        pd = NULL;
    } else if (fast_only) {
        /* Only a fast kernel is worth the layout: oneDNN's reference
         * implementation is two orders of magnitude slower than a
         * reorder. */
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (!impl || !strncmp(impl, "ref", 3)) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
    }
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

static dnnl_alg_kind_t pool_alg(dmbp__be_pool_alg alg)
{
    switch (alg) {
    case DMBP__BE_POOL_MAX: return dnnl_pooling_max;
    case DMBP__BE_POOL_AVG_PAD: return dnnl_pooling_avg_include_padding;
    case DMBP__BE_POOL_AVG: return dnnl_pooling_avg_exclude_padding;
    }
    return dnnl_pooling_max;
}

dmbp_status dmbp__be_pool_fwd(dmbp__builder *b, const dmbp_node *n,
                              bool training, dmbp__be_pool_alg alg,
                              const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *dst,
                              const dmbp__be_geom *g, const char *what,
                              dnnl_primitive_desc_t *pd)
{
    dnnl_pooling_v2_desc_t d;
    DNNL_TRY(dnnl_pooling_v2_forward_desc_init(
        &d, prop(training), pool_alg(alg), src, dst, g->strides, g->kernel,
        g->dil, g->pl, g->pr));
    return dmbp__plan_pd(b, n, &d, NULL, what, pd);
}

dmbp_status dmbp__be_pool_pass(dmbp__builder *b, const dmbp_node *n, bool bwd,
                               dmbp__be_pool_alg alg,
                               const dnnl_memory_desc_t *x,
                               const dnnl_memory_desc_t *y,
                               const dmbp__be_geom *g,
                               dnnl_primitive_desc_t *out)
{
    dnnl_pooling_v2_desc_t fd, bd;
    DNNL_TRY(dnnl_pooling_v2_forward_desc_init(
        &fd, prop(bwd), pool_alg(alg), x, y, g->strides, g->kernel, g->dil,
        g->pl, g->pr));
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_primitive_desc_t fpd;
    dnnl_status_t s = dnnl_primitive_desc_create(&fpd, &fd, attr, b->p->eng,
                                                 NULL);
    if (s == dnnl_success && bwd) {
        s = dnnl_pooling_v2_backward_desc_init(&bd, pool_alg(alg), x, y,
                                               g->strides, g->kernel, g->dil,
                                               g->pl, g->pr);
        if (s != dnnl_success) {
            dnnl_primitive_desc_destroy(fpd);
            dnnl_primitive_attr_destroy(attr);
            return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: "
                                  "dnnl_pooling_v2_backward_desc_init failed "
                                  "(%s)", dmbp__dnnl_status(s));
        }
        dnnl_primitive_desc_t bpd;
        s = dnnl_primitive_desc_create(&bpd, &bd, attr, b->p->eng, fpd);
        dnnl_primitive_desc_destroy(fpd);
        fpd = bpd;
    }
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN has no pooling "
                                "pass for this shape (%s)",
                                dmbp__dnnl_status(s));
    *out = fpd;
    return DMBP_OK;
}

static dnnl_alg_kind_t eltwise_alg(dmbp__be_eltwise_alg alg)
{
    switch (alg) {
    case DMBP__BE_RELU: return dnnl_eltwise_relu;
    case DMBP__BE_CLIP: return dnnl_eltwise_clip_v2;
    }
    return dnnl_eltwise_relu;
}

dmbp_status dmbp__be_eltwise(dmbp__builder *b, const dmbp_node *n,
                             dmbp__be_eltwise_alg alg,
                             const dnnl_memory_desc_t *md, float alpha,
                             float beta, dnnl_primitive_desc_t *pd)
{
    dnnl_eltwise_desc_t ed;
    DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference,
                                            eltwise_alg(alg), md, alpha,
                                            beta));
    return dmbp__plan_pd(b, n, &ed, NULL, "eltwise", pd);
}

dmbp_status dmbp__be_add(dmbp__builder *b, const dmbp_node *n,
                         const dnnl_memory_desc_t *a,
                         const dnnl_memory_desc_t *c,
                         const dnnl_memory_desc_t *dst,
                         dnnl_primitive_desc_t *pd)
{
    dnnl_binary_desc_t bd;
    DNNL_TRY(dnnl_binary_desc_init(&bd, dnnl_binary_add, a, c, dst));
    return dmbp__plan_pd(b, n, &bd, NULL, "binary add", pd);
}

dmbp_status dmbp__be_bnorm(dmbp__builder *b, const dmbp_node *n,
                           const dnnl_memory_desc_t *md,
                           dnnl_primitive_desc_t *pd)
{
    dnnl_batch_normalization_desc_t bd;
    DNNL_TRY(dnnl_batch_normalization_forward_desc_init(
        &bd, dnnl_forward_inference, md, 0.f,
        dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift));
    return dmbp__plan_pd(b, n, &bd, NULL, "batch normalization", pd);
}

dmbp_status dmbp__be_inner_product(dmbp__builder *b, const dmbp_node *n,
                                   const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *w,
                                   const dnnl_memory_desc_t *bias,
                                   const dnnl_memory_desc_t *dst,
                                   dnnl_primitive_desc_t *pd)
{
    dnnl_inner_product_desc_t ip;
    if (dnnl_inner_product_forward_desc_init(&ip, dnnl_forward_inference,
                                             src, w, bias, dst)
        != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND,
                                "oneDNN inner product desc");
    return dmbp__plan_pd(b, n, &ip, NULL, "inner product", pd);
}

dmbp_status dmbp__be_matmul(dmbp__builder *b, const dmbp_node *n,
                            const dnnl_memory_desc_t *src,
                            const dnnl_memory_desc_t *w,
                            const dnnl_memory_desc_t *bias,
                            const dnnl_memory_desc_t *dst,
                            dnnl_primitive_desc_t *pd)
{
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, src, w, bias, dst) != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN matmul desc");
    return dmbp__plan_pd(b, n, &md, NULL, "matmul", pd);
}

dmbp_status dmbp__be_softmax(dmbp__builder *b, const dmbp_node *n,
                             const dnnl_memory_desc_t *md, int axis,
                             dnnl_primitive_desc_t *pd)
{
    dnnl_softmax_v2_desc_t sd;
    DNNL_TRY(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference,
                                               dnnl_softmax_accurate, md, md,
                                               axis));
    return dmbp__plan_pd(b, n, &sd, NULL, "softmax", pd);
}

dmbp_status dmbp__be_concat(dmbp__builder *b, const dmbp_node *n,
                            const dnnl_memory_desc_t *dst, int count,
                            int axis, const dnnl_memory_desc_t *srcs,
                            dnnl_primitive_desc_t *pd)
{
    dnnl_primitive_attr_t attr;
    TRY(dmbp__plan_attr(&attr));
    dnnl_status_t s = dnnl_concat_primitive_desc_create(
        pd, dst, count, axis, srcs, attr, b->p->eng);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return dmbp__node_error(n, DMBP_ERR_BACKEND, "oneDNN concat: %s",
                                dmbp__dnnl_status(s));
    return DMBP_OK;
}

dmbp_status dmbp__be_reorder(dmbp_plan *p, const dnnl_memory_desc_t *src,
                             const dnnl_memory_desc_t *dst, bool attr,
                             dnnl_primitive_desc_t *pd)
{
    dnnl_primitive_attr_t a = NULL;
    if (attr)
        TRY(dmbp__plan_attr(&a));
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(pd, src, p->eng, dst,
                                                         p->eng, a);
    if (a)
        dnnl_primitive_attr_destroy(a);
    if (s != dnnl_success)
        return dmbp_set_error(DMBP_ERR_BACKEND, "oneDNN: no reorder between "
                              "layouts (%s)", dmbp__dnnl_status(s));
    return DMBP_OK;
}
