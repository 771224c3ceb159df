/* What dmbp explain and dmbp masks share: the method options, and loading
 * + preprocessing + one dmbp_explain call over every image. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Upper bounds of the integer options: far beyond any useful value, low
 * enough that lane and iteration counts cannot overflow. */
#define XO_MAX_STEPS 100000
#define XO_MAX_SAMPLES 100000
#define XO_MAX_ITERS 1000000
#define XO_MAX_LANES 65536
#define XO_MAX_TARGET (1 << 30)

/* Redraw the progress line at most this often (seconds). */
#define PROGRESS_INTERVAL 0.1

/* ------------------------------------------------------------------ */
/* Method options                                                     */
/* ------------------------------------------------------------------ */

enum {
    XO_METHOD, XO_TARGET, XO_MAX_LANES_OPT, XO_QUIET, XO_ABS, XO_STEPS,
    XO_BASELINE, XO_IG_RULE, XO_SAMPLES, XO_SIGMA, XO_SEED, XO_OF, XO_LAYER,
    XO_ITERS, XO_LR, XO_PRESET, XO_W_COMPLETENESS, XO_W_SIGN, XO_W_NUISANCE,
    XO_W_EVIDENCE, XO_W_SPARSITY, XO_INIT_LOGIT, XO_FPMATH, XO_TOL, XO_COUNT
};

#define M(x) (1u << DMBP_METHOD_##x)
#define M_ALL (M(SALIENCY) | M(GXI) | M(IG) | M(SMOOTHGRAD) | M(GUIDED) | \
               M(GRADCAM) | M(DMBP))

/* Each option, whether it takes a value, and the methods it applies to:
 * an option of another method is refused rather than silently ignored. */
static const struct {
    const char *name;
    bool value;
    unsigned methods;
} xo_table[XO_COUNT] = {
    [XO_METHOD] = {"--method", true, M_ALL},
    [XO_TARGET] = {"--target", true, M_ALL},
    [XO_MAX_LANES_OPT] = {"--max-lanes", true, M_ALL},
    [XO_QUIET] = {"--quiet", false, M_ALL},
    [XO_FPMATH] = {"--fpmath", true, M_ALL},
    [XO_ABS] = {"--abs", false, M(SALIENCY)},
    [XO_STEPS] = {"--steps", true, M(IG)},
    [XO_BASELINE] = {"--baseline", true, M(IG)},
    [XO_IG_RULE] = {"--ig-rule", true, M(IG)},
    [XO_SAMPLES] = {"--samples", true, M(SMOOTHGRAD) | M(DMBP)},
    [XO_SIGMA] = {"--sigma", true, M(SMOOTHGRAD) | M(DMBP)},
    [XO_SEED] = {"--seed", true, M(SMOOTHGRAD) | M(DMBP)},
    [XO_OF] = {"--of", true, M(SMOOTHGRAD)},
    [XO_LAYER] = {"--layer", true, M(GRADCAM)},
    [XO_ITERS] = {"--iters", true, M(DMBP)},
    [XO_LR] = {"--lr", true, M(DMBP)},
    [XO_PRESET] = {"--preset", true, M(DMBP)},
    [XO_W_COMPLETENESS] = {"--w-completeness", true, M(DMBP)},
    [XO_W_SIGN] = {"--w-sign", true, M(DMBP)},
    [XO_W_NUISANCE] = {"--w-nuisance", true, M(DMBP)},
    [XO_W_EVIDENCE] = {"--w-evidence", true, M(DMBP)},
    [XO_W_SPARSITY] = {"--w-sparsity", true, M(DMBP)},
    [XO_INIT_LOGIT] = {"--init-logit", true, M(DMBP)},
    [XO_TOL] = {"--tol", true, M(DMBP)},
};

void cli_xopts_init(cli_xopts *x)
{
    memset(x, 0, sizeof *x);
    x->method = DMBP_METHOD_DMBP;
    x->target = -1;
}

static bool parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* "a, b or c": the names of the methods in mask. */
static void method_list(unsigned mask, char *buf, size_t cap)
{
    int total = 0, k = 0;
    for (int m = DMBP_METHOD_SALIENCY; m <= DMBP_METHOD_DMBP; m++)
        total += (mask >> m) & 1;
    buf[0] = 0;
    for (int m = DMBP_METHOD_SALIENCY; m <= DMBP_METHOD_DMBP; m++) {
        if (!((mask >> m) & 1))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s",
                 k == 0 ? "" : k + 1 == total ? " or " : ", ",
                 dmbp_method_name((dmbp_method)m));
        k++;
    }
}

static int bad_int(const char *opt, const char *v, int lo, int hi)
{
    return cli_usage_error("%s '%s': expected an integer from %d to %d", opt,
                           v, lo, hi);
}

static int bad_choice(const char *opt, const char *v, const char *choices)
{
    return cli_usage_error("%s '%s': expected %s", opt, v, choices);
}

int cli_xopts_parse(int argc, char **argv, int *i, cli_xopts *x,
                    bool dmbp_only)
{
    int r = cli_parse_pre(argc, argv, i, &x->pre);
    if (r)
        return r;
    const char *a = argv[*i];
    int k = 0;
    while (k < XO_COUNT && strcmp(a, xo_table[k].name))
        k++;
    if (k == XO_COUNT ||
        (dmbp_only && (k == XO_METHOD || !(xo_table[k].methods & M(DMBP)))))
        return 0;
    const char *v = NULL;
    if (xo_table[k].value) {
        if (*i + 1 >= argc) {
            cli_usage_error("%s needs a value", a);
            return -1;
        }
        v = argv[++*i];
    }
    x->given |= 1u << k;
    int w = -1;
    float f;
    switch (k) {
    case XO_METHOD:
        if (dmbp_method_from_name(v, &x->method)) {
            char list[128];
            method_list(M_ALL, list, sizeof list);
            bad_choice(a, v, list);
            return -1;
        }
        break;
    case XO_TARGET:
        if (!strcmp(v, "auto"))
            x->target = -1;
        else if (!cli_parse_int(v, 0, XO_MAX_TARGET, &x->target)) {
            cli_usage_error("%s '%s': expected a class index or 'auto'", a,
                            v);
            return -1;
        }
        break;
    case XO_MAX_LANES_OPT:
        if (!cli_parse_int(v, 1, XO_MAX_LANES, &x->max_lanes)) {
            bad_int(a, v, 1, XO_MAX_LANES);
            return -1;
        }
        break;
    case XO_QUIET: x->quiet = true; break;
    case XO_FPMATH:
        if (!strcmp(v, "strict") || !strcmp(v, "f32"))
            x->bf16 = false;
        else if (!strcmp(v, "bf16"))
            x->bf16 = true;
        else {
            cli_usage_error("%s '%s': expected strict (f32) or bf16", a, v);
            return -1;
        }
        break;
    case XO_ABS: x->abs = true; break;
    case XO_STEPS:
        if (!cli_parse_int(v, 1, XO_MAX_STEPS, &x->steps)) {
            bad_int(a, v, 1, XO_MAX_STEPS);
            return -1;
        }
        break;
    case XO_BASELINE:
        if (!strcmp(v, "zero"))
            x->baseline = DMBP_BASELINE_ZERO;
        else if (!strcmp(v, "black"))
            x->baseline = DMBP_BASELINE_BLACK;
        else if (!strcmp(v, "blur"))
            x->baseline = DMBP_BASELINE_BLUR;
        else {
            bad_choice(a, v, "zero, black or blur");
            return -1;
        }
        break;
    case XO_IG_RULE:
        if (!strcmp(v, "midpoint"))
            x->ig_rule = DMBP_IG_MIDPOINT;
        else if (!strcmp(v, "trapezoid"))
            x->ig_rule = DMBP_IG_TRAPEZOID;
        else if (!strcmp(v, "left"))
            x->ig_rule = DMBP_IG_LEFT;
        else if (!strcmp(v, "right"))
            x->ig_rule = DMBP_IG_RIGHT;
        else {
            bad_choice(a, v, "midpoint, trapezoid, left or right");
            return -1;
        }
        break;
    case XO_SAMPLES:
        if (!cli_parse_int(v, 1, XO_MAX_SAMPLES, &x->samples)) {
            bad_int(a, v, 1, XO_MAX_SAMPLES);
            return -1;
        }
        break;
    case XO_SIGMA:
        /* 0 would mean "the default" to the library: refused. */
        if (!parse_float(v, &x->sigma) || x->sigma <= 0) {
            cli_usage_error("%s '%s': expected a finite number > 0", a, v);
            return -1;
        }
        break;
    case XO_SEED:
        if (!cli_parse_u64(v, &x->seed)) {
            cli_usage_error("%s '%s': expected an integer from 0 to %llu", a,
                            v, (unsigned long long)UINT64_MAX);
            return -1;
        }
        break;
    case XO_OF:
        if (!strcmp(v, "grad"))
            x->smooth_of_gradient = true;
        else if (!strcmp(v, "gxi"))
            x->smooth_of_gradient = false;
        else {
            bad_choice(a, v, "grad or gxi");
            return -1;
        }
        break;
    case XO_LAYER: x->layer = v; break;
    case XO_ITERS:
        if (!cli_parse_int(v, 1, XO_MAX_ITERS, &x->iters)) {
            bad_int(a, v, 1, XO_MAX_ITERS);
            return -1;
        }
        break;
    case XO_LR:
        if (!parse_float(v, &x->lr) || x->lr <= 0) {
            cli_usage_error("%s '%s': expected a finite number > 0", a, v);
            return -1;
        }
        break;
    case XO_PRESET: {
        /* The library knows the presets: ask it on a scratch copy. */
        dmbp_explain_options scratch;
        dmbp_explain_options_init(&scratch);
        if (dmbp_explain_preset(&scratch, v)) {
            bad_choice(a, v, "dmbp or evidence");
            return -1;
        }
        x->preset = v;
        break;
    }
    case XO_W_COMPLETENESS: w = 0; break;
    case XO_W_SIGN: w = 1; break;
    case XO_W_NUISANCE: w = 2; break;
    case XO_W_EVIDENCE: w = 3; break;
    case XO_W_SPARSITY: w = 4; break;
    case XO_INIT_LOGIT:
        if (!parse_float(v, &x->init_logit)) {
            cli_usage_error("%s '%s': expected a finite number", a, v);
            return -1;
        }
        break;
    case XO_TOL:
        if (!parse_float(v, &x->tol) || x->tol < 0) {
            cli_usage_error("%s '%s': expected a finite number >= 0", a, v);
            return -1;
        }
        break;
    }
    if (w >= 0) {
        if (!parse_float(v, &f) || f < 0) {
            cli_usage_error("%s '%s': expected a finite number >= 0", a, v);
            return -1;
        }
        x->w[w] = f;
        x->w_set[w] = true;
    }
    return 1;
}

int cli_xopts_check(const cli_xopts *x)
{
    for (int k = 0; k < XO_COUNT; k++) {
        if (!((x->given >> k) & 1) || (xo_table[k].methods >> x->method) & 1)
            continue;
        char list[128];
        method_list(xo_table[k].methods, list, sizeof list);
        return cli_usage_error("%s applies only to --method %s, not %s",
                               xo_table[k].name, list,
                               dmbp_method_name(x->method));
    }
    return EXIT_OK;
}

/* The library's options from the command line's; the preset first, so
 * that individual weights override it whatever their order. */
static int xopts_build(const cli_xopts *x, const dmbp_preprocess_options *pre,
                       dmbp_explain_options *o)
{
    dmbp_explain_options_init(o);
    o->method = x->method;
    if (x->preset) {
        dmbp_status st = dmbp_explain_preset(o, x->preset);
        if (st)
            return cli_fail(st);
    }
    float *weights[5] = {&o->w_completeness, &o->w_sign, &o->w_nuisance,
                         &o->w_evidence, &o->w_sparsity};
    for (int k = 0; k < 5; k++)
        if (x->w_set[k])
            *weights[k] = x->w[k];
    /* Only what was given: the rest keeps the library's defaults. */
#define GIVEN(k) (x->given & (1u << (k)))
    if (GIVEN(XO_ABS))
        o->abs = 1;
    if (GIVEN(XO_STEPS))
        o->steps = x->steps;
    if (GIVEN(XO_BASELINE))
        o->baseline = x->baseline;
    if (GIVEN(XO_IG_RULE))
        o->ig_rule = x->ig_rule;
    /* samples and sigma left alone mean the method's own defaults. */
    if (GIVEN(XO_SAMPLES))
        o->samples = x->samples;
    if (GIVEN(XO_SIGMA))
        o->sigma = x->sigma;
    if (GIVEN(XO_SEED))
        o->seed = x->seed;
    if (GIVEN(XO_OF))
        o->smooth_of_gradient = x->smooth_of_gradient;
    if (GIVEN(XO_LAYER))
        o->layer = x->layer;
    if (GIVEN(XO_ITERS))
        o->iterations = x->iters;
    if (GIVEN(XO_LR))
        o->lr = x->lr;
    if (GIVEN(XO_INIT_LOGIT))
        o->init_logit = x->init_logit;
    if (GIVEN(XO_TOL))
        o->tol = x->tol;
    if (GIVEN(XO_MAX_LANES_OPT))
        o->max_lanes = x->max_lanes;
    if (GIVEN(XO_FPMATH))
        o->fpmath = x->bf16 ? DMBP_FPMATH_BF16 : DMBP_FPMATH_STRICT;
#undef GIVEN
    for (int c = 0; c < 3; c++) {
        int s = pre->channels == 1 ? 0 : c;
        o->mean[c] = pre->mean[s];
        o->std[c] = pre->std[s];
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Progress on a terminal                                             */
/* ------------------------------------------------------------------ */

typedef struct progress {
    int n;              /* images in the whole run */
    double t0, last;    /* start and last redraw, seconds */
    int width;          /* length of the line on screen; 0: none */
} progress;

/* Overwrite the line with spaces and go back to its start: no terminal
 * escape sequences, so that even a dumb terminal shows it right. */
static void progress_clear(progress *p)
{
    if (p->width)
        fprintf(stderr, "\r%*s\r", p->width, "");
    fflush(stderr);
    p->width = 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_progress(void *user, int first_image, int n_images,
                       int iteration, int iterations, double loss)
{
    progress *p = user;
    double now = now_seconds();
    if (iteration < iterations && p->width && now - p->last < PROGRESS_INTERVAL)
        return 0;
    p->last = now;
    /* Lane groups run one after the other, each for every iteration. */
    double done = (first_image + (double)n_images * iteration /
                                     (iterations > 0 ? iterations : 1)) /
                  p->n;
    char eta[32] = "";
    if (done > 0 && done < 1) {
        long s = lround((now - p->t0) * (1 - done) / done);
        snprintf(eta, sizeof eta, "  ETA %ld:%02ld", s / 60, s % 60);
    }
    char line[160];
    int len = snprintf(line, sizeof line, "dmbp: images %d-%d of %d  "
                       "iteration %d/%d  loss %.4g%s", first_image + 1,
                       first_image + n_images, p->n, iteration, iterations,
                       loss, eta);
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    /* One line redrawn in place, padded over a longer previous one. */
    fprintf(stderr, "\r%s%*s", line, p->width > len ? p->width - len : 0,
            "");
    fflush(stderr);
    if (len > p->width)
        p->width = len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Loading, preprocessing, explaining                                 */
/* ------------------------------------------------------------------ */

void cli_xrun_free(cli_xrun *run)
{
    dmbp_result_free(run->r);
    if (run->bg)
        for (int i = 0; i < run->n; i++)
            dmbp_image_free(&run->bg[i]);
    free(run->bg);
    dmbp_model_free(run->m);
    memset(run, 0, sizeof *run);
}

const char *cli_xrun_label(const cli_xrun *run, int cls)
{
    return dmbp_model_label(run->m, cls);
}

static int out_of_memory(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

/* Image i preprocessed twice: for the model, and with mean 0 and std 1
 * (same resize and crop) as the background the maps are drawn over. */
static int load_image(const char *path, const dmbp_preprocess_options *pre,
                      dmbp_image *x, dmbp_image *bg)
{
    dmbp_preprocess_options raw = *pre;
    for (int c = 0; c < 3; c++) {
        raw.mean[c] = 0;
        raw.std[c] = 1;
    }
    dmbp_image img = {0};
    dmbp_status st = dmbp_image_load_png(path, &img);
    if (!st)
        st = dmbp_image_preprocess(&img, pre, x);
    if (!st)
        st = dmbp_image_preprocess(&img, &raw, bg);
    dmbp_image_free(&img);
    return st ? cli_fail(st) : EXIT_OK;
}

int cli_xrun_explain(cli_xrun *run, const char *model, const char **images,
                     int n, const cli_xopts *x)
{
    dmbp_status st = dmbp_model_load(model, &run->m);
    if (st)
        return cli_fail(st);
    int classes = dmbp_model_num_classes(run->m);
    if (x->target >= classes)
        return cli_usage_error("--target %d: the model has %d classes "
                               "(0 to %d)", x->target, classes, classes - 1);
    dmbp_preprocess_options pre;
    int rc = cli_apply_pre(run->m, &x->pre, &pre);
    if (rc)
        return rc;
    dmbp_explain_options o;
    rc = xopts_build(x, &pre, &o);
    if (rc)
        return rc;

    run->bg = calloc((size_t)n, sizeof *run->bg);
    if (!run->bg)
        return out_of_memory();
    run->n = n;
    float *xs = NULL;
    int *targets = NULL;
    size_t per = 0;
    for (int i = 0; i < n; i++) {
        dmbp_image img = {0};
        rc = load_image(images[i], &pre, &img, &run->bg[i]);
        if (rc)
            goto done;
        if (i == 0) {
            run->c = img.channels;
            run->h = img.height;
            run->w = img.width;
            per = (size_t)run->c * run->h * run->w;
            xs = malloc((size_t)n * per * sizeof *xs);
            if (!xs) {
                dmbp_image_free(&img);
                rc = out_of_memory();
                goto done;
            }
        } else if (img.channels != run->c || img.height != run->h ||
                   img.width != run->w) {
            fprintf(stderr, "dmbp: %s: preprocessed to %dx%dx%d, %s to "
                    "%dx%dx%d: images explained together must have one "
                    "size (see --crop)\n", images[i], img.channels,
                    img.height, img.width, images[0], run->c, run->h,
                    run->w);
            dmbp_image_free(&img);
            rc = EXIT_SHAPE;
            goto done;
        }
        memcpy(xs + (size_t)i * per, img.data, per * sizeof *xs);
        dmbp_image_free(&img);
    }
    dmbp_shape decl = dmbp_model_input_shape(run->m);
    if (decl.ndim == 4 && decl.dims[1] && decl.dims[1] != run->c) {
        fprintf(stderr, "dmbp: the model takes %lld channels, the "
                "preprocessed images have %d\n", (long long)decl.dims[1],
                run->c);
        rc = EXIT_SHAPE;
        goto done;
    }
    targets = malloc((size_t)n * sizeof *targets);
    if (!targets) {
        rc = out_of_memory();
        goto done;
    }
    for (int i = 0; i < n; i++)
        targets[i] = x->target;

    progress p = {n, now_seconds(), 0, 0};
    if (x->method == DMBP_METHOD_DMBP && !x->quiet && isatty(2)) {
        o.progress = on_progress;
        o.progress_user = &p;
    }
    st = dmbp_explain(run->m, xs, n, run->c, run->h, run->w, targets, &o,
                      &run->r);
    progress_clear(&p);
    if (st)
        rc = cli_fail(st);
done:
    free(xs);
    free(targets);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Output names                                                       */
/* ------------------------------------------------------------------ */

char *cli_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && !strcasecmp(base + len - 4, ".png"))
        len -= 4;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = 0;
    }
    return s;
}

int cli_check_writable_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(len + 2);
    if (!dir)
        return out_of_memory();
    if (!slash)
        strcpy(dir, ".");
    else if (len == 0)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    struct stat sb;
    int rc = EXIT_OK;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "dmbp: %s: cannot write into %s: %s\n", path, dir,
                strerror(errno));
        rc = EXIT_IO;
    } else if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "dmbp: %s: cannot write into %s: not a directory\n",
                path, dir);
        rc = EXIT_IO;
    } else if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dmbp: %s: cannot write into %s: %s\n", path, dir,
                strerror(errno));
        rc = EXIT_IO;
    }
    free(dir);
    return rc;
}
