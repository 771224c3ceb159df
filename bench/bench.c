/* bench/bench.c - libdmbp's side of `make bench`: one computation per
 * process, timed through the public API only (dmbp.h), one JSON line out.
 *
 *   bench/bench --model M.onnx --input X.npy --what WHAT [--repeat R]
 *               [--warmup W] [--iterations N] [--lanes L] [--fpmath bf16]
 *
 * WHAT:
 *   forward    dmbp_plan_forward, batch 1, forward-only plan
 *   grad       dmbp_plan_forward + dmbp_plan_backward (seed: the top logit),
 *              batch 1, reverse plan
 *   dmbp_iter  one DMBP optimiser iteration on a 2-lane reverse plan (lane
 *              0: m+, lane 1: m-) after one forward of both lanes: masks
 *              from the logits, dmbp_plan_backward with masks, the loss and
 *              V = dl/dW in closed form (dmbp-method.md section 3, preset
 *              dmbp), dmbp_plan_mask_grad, an Adam step.  The same work as
 *              one iteration inside dmbp_explain.
 *   dmbp_default  dmbp_explain with the library's default DMBP preset as
 *              it stands (its iterations and path copies): beside `dmbp
 *              --preset classic`, the cost of the default formulation
 *   dmbp       dmbp_explain, DMBP_METHOD_DMBP, --iterations (default: the
 *              preset's; make bench passes 200 and --preset classic),
 *              one image
 *   ig         dmbp_explain, DMBP_METHOD_IG, 32 steps (the default), as
 *              32 lanes (max_lanes default) or --lanes L at a time
 *   dmbp8      dmbp_explain DMBP over every image of --input (8) with
 *              max_lanes --lanes (default 16): 16 = all images as lanes of
 *              one plan, 2 = one image at a time
 *   lrp        dmbp_explain, DMBP_METHOD_LRP, its default composite
 *              (epsilon-plus-flat), one image
 *   occlusion  dmbp_explain, DMBP_METHOD_OCCLUSION, a BENCH_OCC_WINDOW patch
 *              moved by BENCH_OCC_STRIDE (at 224: 9 x 9 patches, as the slow
 *              tier tests/ref/torchvision_perturb.py), zero baseline, its
 *              patches as lanes (max_lanes default or --lanes L)
 *
 * The thread count is OMP_NUM_THREADS (the API has no thread setting); the
 * JSON reports it.  Peak RSS is getrusage(RUSAGE_SELF).ru_maxrss.
 */
#include <dmbp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHECK(call)                                                         \
    do {                                                                    \
        dmbp_status st_ = (call);                                           \
        if (st_ != DMBP_OK) {                                               \
            fprintf(stderr, "bench: %s: %s (%s)\n", #call,                  \
                    dmbp_last_error(), dmbp_status_str(st_));               \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* Occlusion's patch and step for `--what occlusion`: 81 patches at 224
 * (the library's default, 8 moved by 4, would be 3025 forward passes). */
#define BENCH_OCC_WINDOW 32
#define BENCH_OCC_STRIDE 24

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* A float32 C-order .npy (format 1.0 or 2.0) of shape n x c x h x w. */
static float *read_npy(const char *path, int *n, int *c, int *h, int *w)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        goto bad;
    size_t hl;
    if (pre[6] == 1) {
        hl = pre[8] | (size_t)pre[9] << 8;
    } else {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2)
            goto bad;
        hl = pre[8] | (size_t)pre[9] << 8 | (size_t)b[0] << 16 |
             (size_t)b[1] << 24;
    }
    char *hdr = xmalloc(hl + 1);
    if (fread(hdr, 1, hl, f) != hl)
        goto bad;
    hdr[hl] = 0;
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True"))
        goto bad;
    const char *sh = strstr(hdr, "'shape': (");
    if (!sh || sscanf(sh, "'shape': (%d, %d, %d, %d)", n, c, h, w) != 4)
        goto bad;
    free(hdr);
    size_t count = (size_t)*n * *c * *h * *w;
    float *data = xmalloc(count * sizeof(float));
    if (fread(data, sizeof(float), count, f) != count)
        goto bad;
    fclose(f);
    return data;
bad:
    fprintf(stderr, "bench: %s: not a 4-d float32 .npy\n", path);
    exit(1);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

/* ---- one DMBP iteration by hand (mirrors src/methods/dmbp.c) --------- */

typedef struct iter_state {
    dmbp_plan *p;
    size_t per;
    int64_t nm;
    const float *x;
    float *seed, *w1, *w, *v, *masks, *mgrad;
    double *theta, *am, *av;
    double F, S;
    int step;
    double loss;
} iter_state;

static const double W_C = 10, W_S = 3, W_N = 1, W_E = 0, W_SP = 0.01;
static const double LR = 0.05, B1 = 0.9, B2 = 0.999, EPS = 1e-8;

static void iterate(iter_state *s)
{
    for (int64_t q = 0; q < 2 * s->nm; q++)
        s->masks[q] = (float)(1.0 / (1.0 + exp(-s->theta[q])));
    CHECK(dmbp_plan_backward(s->p, s->seed, s->masks, 0, s->w));
    const float *wp = s->w, *wn = s->w + s->per, *x = s->x;
    double Fp = 0, Fn = 0, negp = 0, posn = 0, nabs = 0;
    for (size_t i = 0; i < s->per; i++) {
        double ap = (double)wp[i] * x[i], an = (double)wn[i] * x[i];
        double nu = (double)s->w1[i] * x[i] - ap - an;
        Fp += ap;
        Fn += an;
        negp += ap < 0 ? -ap : 0;
        posn += an > 0 ? an : 0;
        nabs += fabs(nu);
    }
    double r = (Fp + Fn - s->F) / s->S;
    s->loss = W_C * r * r + W_S * (negp + posn) / s->S + W_N * nabs / s->S +
              W_E * (Fn - Fp) / s->S;
    double common = 2 * W_C * r;
    for (size_t i = 0; i < s->per; i++) {
        double ap = (double)wp[i] * x[i], an = (double)wn[i] * x[i];
        double nu = (double)s->w1[i] * x[i] - ap - an;
        double sn = nu > 0 ? 1 : nu < 0 ? -1 : 0;
        double gp = common - W_S * (ap < 0) - W_N * sn - W_E;
        double gn = common + W_S * (an > 0) - W_N * sn + W_E;
        s->v[i] = (float)(x[i] * gp / s->S);
        s->v[s->per + i] = (float)(x[i] * gn / s->S);
    }
    CHECK(dmbp_plan_mask_grad(s->p, s->v, s->mgrad));
    s->step++;
    double bc1 = 1 - pow(B1, s->step), bc2 = 1 - pow(B2, s->step);
    for (int64_t q = 0; q < 2 * s->nm; q++) {
        double m = s->masks[q];
        double g = (s->mgrad[q] + W_SP / (double)s->nm) * m * (1 - m);
        s->am[q] = B1 * s->am[q] + (1 - B1) * g;
        s->av[q] = B2 * s->av[q] + (1 - B2) * g * g;
        s->theta[q] -= LR / bc1 * s->am[q] / (sqrt(s->av[q]) / sqrt(bc2) + EPS);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench --model M.onnx --input X.npy --what "
            "forward|grad|dmbp_iter|dmbp|dmbp_default|ig|dmbp8|lrp|"
            "occlusion\n"
            "             [--repeat R] [--warmup W] [--iterations N] "
            "[--lanes L] [--fpmath f32|bf16] [--preset P]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *input_path = NULL, *what = NULL;
    const char *fpmath = "f32", *preset = NULL;
    int repeat = 3, warmup = 1, iterations = 0, lanes = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--model"))
            model_path = v;
        else if (!strcmp(a, "--input"))
            input_path = v;
        else if (!strcmp(a, "--what"))
            what = v;
        else if (!strcmp(a, "--repeat"))
            repeat = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--iterations"))
            iterations = atoi(v);
        else if (!strcmp(a, "--lanes"))
            lanes = atoi(v);
        else if (!strcmp(a, "--fpmath"))
            fpmath = v;
        else if (!strcmp(a, "--preset"))
            preset = v;
        else
            usage();
    }
    if (!model_path || !input_path || !what || repeat < 1 || warmup < 0 ||
        iterations < 0 || lanes < 0)
        usage();
    /* DMBP's iterations: --iterations, else the preset's (the library's
     * default preset without --preset); dmbp_iter's hand-made loop times
     * one classic iteration whatever this says. */
    {
        dmbp_explain_options d;
        dmbp_explain_options_init(&d);
        if (preset && dmbp_explain_preset(&d, preset)) {
            fprintf(stderr, "bench: %s\n", dmbp_last_error());
            return 2;
        }
        if (!iterations)
            iterations = d.dmbp.iterations;
    }
    dmbp_fpmath fpm = DMBP_FPMATH_STRICT;
    if (!strcmp(fpmath, "bf16"))
        fpm = DMBP_FPMATH_BF16;
    else if (strcmp(fpmath, "f32") != 0)
        usage();
    const char *threads = getenv("OMP_NUM_THREADS");

    double t_setup = now();
    dmbp_model *model;
    CHECK(dmbp_model_load(model_path, &model));
    int n, c, h, w;
    float *x = read_npy(input_path, &n, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    int classes = dmbp_model_num_classes(model);
    float *logits = xmalloc((size_t)2 * classes * sizeof(float));
    dmbp_plan *plan = NULL;
    iter_state it = {0};
    int target = -1;
    double check = NAN;
    char extra[256] = "";

    /* Target: the top class of image 0 (a forward-only plan, untimed). */
    {
        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.fpmath = fpm;
        po.height = h;
        po.width = w;
        CHECK(dmbp_plan_create(model, &po, &plan));
        CHECK(dmbp_plan_forward(plan, x, logits));
        target = argmax(logits, classes);
        if (strcmp(what, "forward") != 0) {
            dmbp_plan_free(plan);
            plan = NULL;
        }
    }
    float *seed = xmalloc((size_t)2 * classes * sizeof(float));
    memset(seed, 0, (size_t)2 * classes * sizeof(float));
    seed[target] = seed[classes + target] = 1;
    float *map = xmalloc(2 * per * sizeof(float));

    if (!strcmp(what, "grad") || !strcmp(what, "dmbp_iter")) {
        int lanes_p = !strcmp(what, "grad") ? 1 : 2;
        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.fpmath = fpm;
        po.batch = lanes_p;
        po.height = h;
        po.width = w;
        po.reverse = 1;
        CHECK(dmbp_plan_create(model, &po, &plan));
        if (lanes_p == 2) {
            float *in2 = xmalloc(2 * per * sizeof(float));
            memcpy(in2, x, per * sizeof(float));
            memcpy(in2 + per, x, per * sizeof(float));
            CHECK(dmbp_plan_forward(plan, in2, NULL));
            free(in2);
            it.p = plan;
            it.per = per;
            it.nm = dmbp_plan_num_masks(plan);
            it.x = x;
            it.seed = seed;
            it.w1 = xmalloc(2 * per * sizeof(float));
            it.w = map;
            it.v = xmalloc(2 * per * sizeof(float));
            it.masks = xmalloc((size_t)2 * it.nm * sizeof(float));
            it.mgrad = xmalloc((size_t)2 * it.nm * sizeof(float));
            it.theta = xmalloc((size_t)2 * it.nm * sizeof(double));
            it.am = calloc((size_t)2 * it.nm, sizeof(double));
            it.av = calloc((size_t)2 * it.nm, sizeof(double));
            if (!it.am || !it.av)
                return 1;
            for (int64_t q = 0; q < 2 * it.nm; q++)
                it.theta[q] = 2.0;
            CHECK(dmbp_plan_backward(plan, seed, NULL, 0, it.w1));
            for (size_t i = 0; i < per; i++) {
                double a = (double)it.w1[i] * x[i];
                it.F += a;
                it.S += fabs(a);
            }
            iterate(&it); /* Adam's first step differs: keep it untimed */
            snprintf(extra, sizeof extra, ",\"masks_per_set\":%lld",
                     (long long)it.nm);
        }
    }
    if (!strcmp(what, "dmbp8") && lanes == 0)
        lanes = 16;
    if (!strcmp(what, "dmbp8"))
        snprintf(extra, sizeof extra, ",\"images\":%d,\"lanes\":%d,"
                 "\"iterations\":%d", n, lanes, iterations);
    else if (!strcmp(what, "ig"))
        snprintf(extra, sizeof extra, ",\"max_lanes\":%d", lanes);
    else if (!strcmp(what, "lrp"))
        snprintf(extra, sizeof extra, ",\"composite\":\"epsilon-plus-flat\"");
    else if (!strcmp(what, "occlusion"))
        snprintf(extra, sizeof extra, ",\"window\":%d,\"stride\":%d,"
                 "\"max_lanes\":%d", BENCH_OCC_WINDOW, BENCH_OCC_STRIDE, lanes);
    else if (!strcmp(what, "dmbp_default")) {
        dmbp_explain_options d;
        dmbp_explain_options_init(&d);
        snprintf(extra, sizeof extra, ",\"iterations\":%d,\"path_steps\":%d"
                 ",\"preset\":\"%s\"", d.dmbp.iterations, d.dmbp.path_steps,
                 DMBP_DEFAULT_PRESET);
    } else if (!strcmp(what, "dmbp"))
        snprintf(extra, sizeof extra, ",\"iterations\":%d,\"preset\":\"%s\"",
                 iterations, preset ? preset : "default");
    t_setup = now() - t_setup;

    double *times = xmalloc((size_t)repeat * sizeof(double));
    for (int r = -warmup; r < repeat; r++) {
        double t0 = now();
        if (!strcmp(what, "forward")) {
            CHECK(dmbp_plan_forward(plan, x, logits));
            check = logits[target];
        } else if (!strcmp(what, "grad")) {
            CHECK(dmbp_plan_forward(plan, x, logits));
            CHECK(dmbp_plan_backward(plan, seed, NULL, 0, map));
            check = map[0];
        } else if (!strcmp(what, "dmbp_iter")) {
            iterate(&it);
            check = it.loss;
        } else if (!strcmp(what, "dmbp") || !strcmp(what, "ig") ||
                   !strcmp(what, "dmbp8") || !strcmp(what, "dmbp_default") ||
                   !strcmp(what, "lrp") || !strcmp(what, "occlusion")) {
            dmbp_explain_options eo;
            dmbp_explain_options_init(&eo);
            eo.fpmath = fpm;
            int nimg = 1;
            if (lanes > 0) /* else the library's default (32) */
                eo.max_lanes = lanes;
            if (!strcmp(what, "ig")) {
                eo.method = DMBP_METHOD_IG;
            } else if (!strcmp(what, "lrp")) {
                eo.method = DMBP_METHOD_LRP;
            } else if (!strcmp(what, "occlusion")) {
                eo.method = DMBP_METHOD_OCCLUSION;
                eo.occlusion.window = BENCH_OCC_WINDOW;
                eo.occlusion.stride = BENCH_OCC_STRIDE;
            } else {
                eo.method = DMBP_METHOD_DMBP;
                if (preset)
                    CHECK(dmbp_explain_preset(&eo, preset));
                /* dmbp_default: the library's default formulation as a
                 * user gets it (its own iterations, path copies, start). */
                if (strcmp(what, "dmbp_default") != 0)
                    eo.dmbp.iterations = iterations;
                if (!strcmp(what, "dmbp8"))
                    nimg = n;
            }
            dmbp_result *res;
            /* A one-shot session: the plans are made in the timed call,
             * as a single dmbp explain makes them. */
            dmbp_session *session;
            CHECK(dmbp_session_create(model, &session));
            dmbp_session_keep_plans(session, 0);
            CHECK(dmbp_explain(session, x, nimg, c, h, w, NULL, &eo, &res));
            dmbp_session_free(session);
            /* DMBP: F+ + F- of image 0 (comparable with the PyTorch
             * peer's check); IG: the completeness gap; LRP: the
             * conservation; occlusion: the map's sum. */
            check = 0;
            for (int k = 0; k < dmbp_result_num_scalars(res); k++) {
                const char *sn = dmbp_result_scalar_name(res, k);
                if (!strcmp(sn, "F_pos") || !strcmp(sn, "F_neg") ||
                    !strcmp(sn, "completeness_gap") ||
                    !strcmp(sn, "conservation"))
                    check += dmbp_result_scalar(res, 0, k);
            }
            dmbp_tensor_view mv;
            if (!strcmp(what, "occlusion") &&
                !dmbp_result_find(res, 0, "map", &mv))
                for (int64_t q = 0; q < dmbp_shape_numel(&mv.shape); q++)
                    check += mv.data[q];
            dmbp_result_free(res);
        } else {
            usage();
        }
        if (r >= 0)
            times[r] = now() - t0;
    }

    /* The model's name: the file name without directory and ".onnx". */
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    int blen = (int)strlen(base);
    if (blen > 5 && !strcmp(base + blen - 5, ".onnx"))
        blen -= 5;
    /* bf16 runs are their own implementation in the report. */
    printf("{\"impl\":\"libdmbp%s\",\"model\":\"%.*s\",\"what\":\"%s\","
           "\"threads\":%s,\"times\":[",
           fpm == DMBP_FPMATH_BF16 ? "-bf16" : "", blen, base, what,
           threads && *threads ? threads : "null");
    for (int r = 0; r < repeat; r++)
        printf("%s%.6f", r ? "," : "", times[r]);
    printf("],\"peak_rss_kb\":%ld,\"setup_s\":%.3f,\"target\":%d,"
           "\"check\":%.9g,\"version\":\"%s\"%s}\n",
           peak_rss_kb(), t_setup, target, isfinite(check) ? check : 0.0,
           dmbp_version(), extra);

    free(times);
    free(it.w1);
    free(it.v);
    free(it.masks);
    free(it.mgrad);
    free(it.theta);
    free(it.am);
    free(it.av);
    free(map);
    free(seed);
    free(logits);
    free(x);
    dmbp_plan_free(plan);
    dmbp_model_free(model);
    return 0;
}
