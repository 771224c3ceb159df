/* bench/dnnl_conv.c - the oneDNN-only reference of `make bench`: every
 * Conv and fully connected layer of a model (as listed in the .layers file
 * written by bench/export_models.py) run with oneDNN primitives directly,
 * nothing else (no ReLU, pooling, Add, reorders between layers).
 *
 *   bench/dnnl_conv LAYERS_FILE [--repeat R] [--warmup W]
 *
 * Each layer is a forward-inference convolution (dnnl_convolution_direct,
 * as libdmbp uses) or inner product with bias, every tensor in the layout
 * oneDNN prefers (format_any), weights reordered once outside the timing.
 * One timed pass runs every layer once, in order; the pass is repeated.
 * Threads: OMP_NUM_THREADS (Debian's oneDNN uses OpenMP). Prints one JSON
 * line: times per pass, the FLOPs of a pass (2 IC/G OC KH KW OH OW per conv,
 * 2 IN OUT per inner product), and the per-layer median times.
 */
#include <dnnl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAXL 512

#define D(call)                                                             \
    do {                                                                    \
        dnnl_status_t s_ = (call);                                          \
        if (s_ != dnnl_success) {                                           \
            fprintf(stderr, "dnnl_conv: %s failed (%d) at line %d\n", #call, \
                    (int)s_, __LINE__);                                     \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

typedef struct layer {
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst;
    double flops;
} layer;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Fill a memory with small values (whatever its layout). */
static void fill(dnnl_memory_t m, float v)
{
    const dnnl_memory_desc_t *md;
    void *p;
    D(dnnl_memory_get_memory_desc(m, &md));
    D(dnnl_memory_get_data_handle(m, &p));
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    float *f = p;
    for (size_t i = 0; i < n; i++)
        f[i] = v * (float)((i * 7919u) % 17u) / 17.0f;
}

static dnnl_memory_t mem_for(const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                             dnnl_engine_t eng)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q, 0);
    dnnl_memory_t m;
    D(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    return m;
}

static void md_any(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims)
{
    D(dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, dnnl_format_tag_any));
}

static void build(layer *L, dnnl_engine_t eng, const char *line)
{
    long v[16];
    char kind[8];
    int got = sscanf(line, "%7s %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld "
                     "%ld %ld %ld %ld %ld", kind, &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
                     &v[12], &v[13], &v[14], &v[15]);
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_primitive_desc_t pd;
    if (got == 17 && !strcmp(kind, "conv")) {
        long n = v[0], ic = v[1], ih = v[2], iw = v[3], oc = v[4], kh = v[5],
             kw = v[6], sh = v[7], sw = v[8], ph = v[9], pw = v[10],
             dh = v[11], dw = v[12], g = v[13], oh = v[14], ow = v[15];
        dnnl_dims_t sd = {n, ic, ih, iw}, dd = {n, oc, oh, ow}, bd = {oc};
        md_any(&src, 4, sd);
        md_any(&dst, 4, dd);
        if (g > 1) {
            dnnl_dims_t wd = {g, oc / g, ic / g, kh, kw};
            md_any(&wei, 5, wd);
        } else {
            dnnl_dims_t wd = {oc, ic, kh, kw};
            md_any(&wei, 4, wd);
        }
        D(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_a));
        dnnl_dims_t strides = {sh, sw}, dil = {dh - 1, dw - 1},
                    pad = {ph, pw};
        /* Symmetric padding as in torchvision; the right padding that makes
         * the output size exact. */
        dnnl_dims_t padr = {(oh - 1) * sh + (kh - 1) * dh + 1 - ih - ph,
                            (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pw};
        dnnl_convolution_desc_t cd;
        D(dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei,
            &bias, &dst, strides, dil, pad, padr));
        D(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
        L->flops = 2.0 * n * (double)(ic / g) * oc * kh * kw * oh * ow;
    } else if (got == 4 && !strcmp(kind, "fc")) {
        long n = v[0], in = v[1], out = v[2];
        dnnl_dims_t sd = {n, in}, wd = {out, in}, dd = {n, out}, bd = {out};
        md_any(&src, 2, sd);
        md_any(&wei, 2, wd);
        md_any(&dst, 2, dd);
        D(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_a));
        dnnl_inner_product_desc_t ipd;
        D(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference,
                                               &src, &wei, &bias, &dst));
        D(dnnl_primitive_desc_create(&pd, &ipd, NULL, eng, NULL));
        L->flops = 2.0 * n * (double)in * out;
    } else {
        fprintf(stderr, "dnnl_conv: bad layer line: %s", line);
        exit(1);
    }
    D(dnnl_primitive_create(&L->prim, pd));
    L->src = mem_for(pd, dnnl_query_src_md, eng);
    L->wei = mem_for(pd, dnnl_query_weights_md, eng);
    L->dst = mem_for(pd, dnnl_query_dst_md, eng);
    D(dnnl_memory_create(&L->bias, &bias, eng, DNNL_MEMORY_ALLOCATE));
    fill(L->src, 1.0f);
    fill(L->wei, 0.01f);
    fill(L->bias, 0.1f);
    D(dnnl_primitive_desc_destroy(pd));
}

static void run(layer *L, dnnl_stream_t st)
{
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, L->src},
                               {DNNL_ARG_WEIGHTS, L->wei},
                               {DNNL_ARG_BIAS, L->bias},
                               {DNNL_ARG_DST, L->dst}};
    D(dnnl_primitive_execute(L->prim, st, 4, args));
    D(dnnl_stream_wait(st));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dnnl_conv LAYERS [--repeat R] [--warmup W]\n");
        return 2;
    }
    int repeat = 10, warmup = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--repeat"))
            repeat = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atoi(argv[i + 1]);
    }
    if (repeat < 1 || warmup < 0)
        return 2;
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    dnnl_engine_t eng;
    dnnl_stream_t st;
    D(dnnl_engine_create(&eng, dnnl_cpu, 0));
    D(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    static layer layers[MAXL];
    int nl = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (nl == MAXL) {
            fprintf(stderr, "dnnl_conv: more than %d layers\n", MAXL);
            return 1;
        }
        build(&layers[nl++], eng, line);
    }
    fclose(f);
    double flops = 0;
    for (int i = 0; i < nl; i++)
        flops += layers[i].flops;
    double *times = calloc((size_t)repeat, sizeof(double));
    double *lt = calloc((size_t)repeat * nl, sizeof(double));
    if (!times || !lt)
        return 1;
    for (int r = -warmup; r < repeat; r++) {
        double t0 = now();
        for (int i = 0; i < nl; i++) {
            double t1 = now();
            run(&layers[i], st);
            if (r >= 0)
                lt[(size_t)i * repeat + r] = now() - t1;
        }
        if (r >= 0)
            times[r] = now() - t0;
    }
    const dnnl_version_t *ver = dnnl_version();
    const char *threads = getenv("OMP_NUM_THREADS");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* The model's name: the file name without directory and ".layers". */
    const char *base = strrchr(argv[1], '/');
    base = base ? base + 1 : argv[1];
    int blen = (int)strlen(base);
    if (blen > 7 && !strcmp(base + blen - 7, ".layers"))
        blen -= 7;
    printf("{\"impl\":\"onednn-conv\",\"model\":\"%.*s\","
           "\"what\":\"forward\",\"threads\":%s,"
           "\"onednn\":\"%d.%d.%d\",\"cpu_isa\":%d,\"layers\":%d,"
           "\"flops\":%.0f,\"peak_rss_kb\":%ld,\"times\":[",
           blen, base, threads && *threads ? threads : "null", ver->major, ver->minor,
           ver->patch, (int)dnnl_get_effective_cpu_isa(), nl, flops,
           ru.ru_maxrss);
    for (int r = 0; r < repeat; r++)
        printf("%s%.6f", r ? "," : "", times[r]);
    printf("],\"layer_median_s\":[");
    for (int i = 0; i < nl; i++) {
        qsort(lt + (size_t)i * repeat, (size_t)repeat, sizeof(double), cmp_d);
        printf("%s%.6f", i ? "," : "", lt[(size_t)i * repeat + repeat / 2]);
    }
    printf("]}\n");
    for (int i = 0; i < nl; i++) {
        dnnl_primitive_destroy(layers[i].prim);
        dnnl_memory_destroy(layers[i].src);
        dnnl_memory_destroy(layers[i].wei);
        dnnl_memory_destroy(layers[i].bias);
        dnnl_memory_destroy(layers[i].dst);
    }
    free(times);
    free(lt);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}
