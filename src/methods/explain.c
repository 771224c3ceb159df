/* dmbp_explain: options, targets and dispatch to the methods in
 * src/methods/ (the result object: result.c). */
#include "base.h"
#include "io/io.h"

#include "methods/methods.h"

#define DEFAULT_IG_STEPS 32
#define DEFAULT_SMOOTH_SAMPLES 16
#define DEFAULT_SMOOTH_SIGMA 0.15f
#define DEFAULT_MAX_LANES 32
/* dmbp-method.md section 3. */
#define DEFAULT_DMBP_ITERATIONS 200
#define DEFAULT_DMBP_LR 0.05f
#define DEFAULT_DMBP_INIT_LOGIT 2.0f
#define DEFAULT_DMBP_SIGMA 0.1f
/* Path copies per image: lanes are 2 K per image, so a bound keeps a typo
 * (--path-steps 100000) from asking for an absurd plan. */
#define MAX_PATH_STEPS 1024

static const char *const method_names[] = {
    "saliency", "gxi", "ig", "smoothgrad", "guided", "gradcam", "dmbp",
    "occlusion", "gradcam++", "scorecam", "rise", "lrp"};
#define N_METHODS ((int)(sizeof method_names / sizeof method_names[0]))
_Static_assert(N_METHODS == DMBP_NUM_METHODS, "a name for every method");
/* Another spelling of "gradcam++" (for file names and shells). */
#define GRADCAMPP_ALIAS "gradcampp"

/* RISE's defaults (Petsiuk et al.'s for ImageNet). */
#define DEFAULT_RISE_MASKS 4000
#define DEFAULT_RISE_GRID 7
#define DEFAULT_RISE_P 0.5f

const char *dmbp_method_name(dmbp_method m)
{
    return (int)m >= 0 && (int)m < N_METHODS ? method_names[m] : "unknown";
}

dmbp_status dmbp_method_from_name(const char *name, dmbp_method *out)
{
    if (!out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_method_from_name: NULL "
                              "out");
    for (int i = 0; name && i < N_METHODS; i++)
        if (!strcmp(name, method_names[i])) {
            *out = (dmbp_method)i;
            return DMBP_OK;
        }
    if (name && !strcmp(name, GRADCAMPP_ALIAS)) {
        *out = DMBP_METHOD_GRADCAMPP;
        return DMBP_OK;
    }
    return dmbp_set_error(DMBP_ERR_ARG, "unknown method '%s' (methods: "
                          "saliency, gxi, ig, smoothgrad, guided, gradcam, "
                          "dmbp, occlusion, gradcam++, scorecam, rise, lrp)",
                          name ? name : "(null)");
}

/* The first layout with struct_size (0.2.0) ends at the DMBP options. */
#define EXPLAIN_OPTIONS_MIN DMBP__END(dmbp_explain_options, dmbp)

/* The classic loss weights (dmbp-method.md section 3's default preset). */
static void classic_weights(dmbp_dmbp_options *o)
{
    o->w_completeness = 10.f;
    o->w_sign = 3.f;
    o->w_nuisance = 1.f;
    o->w_evidence = 0.f;
    o->w_sparsity = 0.01f;
}

static dmbp_status set_preset(dmbp_explain_options *e, const char *preset)
{
    dmbp_dmbp_options *o = &e->dmbp;
    if (!strcmp(preset, "dmbp"))
        preset = DMBP_DEFAULT_PRESET;
    e->dmbp_path_refresh = 0;
    e->dmbp_fix_negative = 0;
    if (!strcmp(preset, "classic")) {
        classic_weights(o);
        o->iterations = DEFAULT_DMBP_ITERATIONS;
        o->path_steps = 0;
        o->mask_init = DMBP_MASK_INIT_CONSTANT;
    } else if (!strcmp(preset, "path") || !strcmp(preset, "path-rr") ||
               !strcmp(preset, "path-evidence")) {
        bool rr = strcmp(preset, "path") != 0;
        classic_weights(o);
        o->iterations = rr ? DMBP_RR_ITERATIONS : DMBP_PATH_ITERATIONS;
        o->path_steps = rr ? DMBP_RR_STEPS : DMBP_PATH_STEPS;
        o->mask_init = DMBP_MASK_INIT_CONTRIBUTION;
        e->dmbp_path_refresh = rr ? DMBP_RR_REFRESH : 0;
        /* path-evidence: the negative set fixed, the evidence term on
         * (bench/dmbp_study/VGG.md). */
        e->dmbp_fix_negative = !strcmp(preset, "path-evidence");
        if (e->dmbp_fix_negative)
            o->w_evidence = DMBP_PATH_EVIDENCE_WEIGHT;
    } else if (!strcmp(preset, "evidence")) {
        o->w_completeness = 0.f;
        o->w_sign = 0.3f;
        o->w_nuisance = 0.f;
        o->w_evidence = 1.f;
        o->w_sparsity = 0.01f;
        o->iterations = DEFAULT_DMBP_ITERATIONS;
        o->path_steps = 0;
        o->mask_init = DMBP_MASK_INIT_CONSTANT;
    } else {
        return dmbp_set_error(DMBP_ERR_ARG, "unknown preset '%s' (presets: "
                              "dmbp, classic, path, path-rr, "
                              "path-evidence, evidence)",
                              preset);
    }
    return DMBP_OK;
}

static void explain_defaults(dmbp_explain_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->method = DMBP_METHOD_DMBP;
    o->max_lanes = DEFAULT_MAX_LANES;
    o->ig.steps = DEFAULT_IG_STEPS;
    o->ig.baseline = DMBP_BASELINE_ZERO;
    o->ig.rule = DMBP_IG_MIDPOINT;
    o->smoothgrad.samples = DEFAULT_SMOOTH_SAMPLES;
    o->smoothgrad.sigma = DEFAULT_SMOOTH_SIGMA;
    o->dmbp.iterations = DEFAULT_DMBP_ITERATIONS;
    o->dmbp.lr = DEFAULT_DMBP_LR;
    o->dmbp.init_logit = DEFAULT_DMBP_INIT_LOGIT;
    o->dmbp.samples = 1; /* no smoothing */
    o->dmbp.sigma = DEFAULT_DMBP_SIGMA;
    o->occlusion.baseline = DMBP_BASELINE_ZERO;
    o->rise.masks = DEFAULT_RISE_MASKS;
    o->rise.grid = DEFAULT_RISE_GRID;
    o->rise.p = DEFAULT_RISE_P;
    o->lrp.composite = DMBP_LRP_COMPOSITE_EPSILON_PLUS_FLAT;
    o->lrp.epsilon = DMBP_LRP_EPSILON_DEFAULT;
    o->lrp.gamma = DMBP_LRP_GAMMA_DEFAULT;
    dmbp_status known = set_preset(o, "dmbp"); /* cannot fail */
    (void)known;
}

void dmbp_explain_options_init_sized(dmbp_explain_options *o,
                                     size_t struct_size)
{
    dmbp_explain_options d;
    explain_defaults(&d);
    dmbp__options_init(o, struct_size, &d, EXPLAIN_OPTIONS_MIN, sizeof d);
}

/* A caller's struct that ends before the 0.3 fields dmbp_path_refresh
 * and dmbp_fix_negative (a program built against 0.2) chose its preset
 * through the fields it has: it gets the default preset's values of them
 * when its copies are the default preset's (DMBP_RR_STEPS path copies,
 * the contribution-sign start: its own init, whatever its iterations or
 * weights), and 0 (every copy each iteration, both sets learn: what 0.2
 * ran) for any other formulation, e.g. 0.2's "path" or "classic". */
static void old_tail(const dmbp_explain_options *in, dmbp_explain_options *o)
{
    size_t size;
    memcpy(&size, in, sizeof size);
    if (size >= offsetof(dmbp_explain_options, dmbp_fix_negative) +
                    sizeof o->dmbp_fix_negative)
        return;
    bool dflt = o->dmbp.path_steps == DMBP_RR_STEPS &&
                o->dmbp.mask_init == DMBP_MASK_INIT_CONTRIBUTION;
    if (size < offsetof(dmbp_explain_options, dmbp_path_refresh) +
                   sizeof o->dmbp_path_refresh && !dflt)
        o->dmbp_path_refresh = 0;
    if (!dflt)
        o->dmbp_fix_negative = 0;
}

static dmbp_status explain_options_in(const dmbp_explain_options *in,
                                      dmbp_explain_options *out)
{
    explain_defaults(out);
    TRY(dmbp__options_in(in, out, EXPLAIN_OPTIONS_MIN, sizeof *out,
                         "dmbp_explain_options"));
    if (in)
        old_tail(in, out);
    return DMBP_OK;
}

dmbp_status dmbp_explain_preset(dmbp_explain_options *o, const char *preset)
{
    if (!o || !preset)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_explain_preset: NULL "
                              "argument");
    /* Through the full struct: the caller's may end before the weights. */
    dmbp_explain_options full;
    TRY(explain_options_in(o, &full));
    TRY(set_preset(&full, preset));
    return dmbp__options_out(&full, o, EXPLAIN_OPTIONS_MIN, sizeof full,
                             "dmbp_explain_options");
}

static dmbp_status check_sigma(const char *name, float sigma)
{
    if (!isfinite(sigma) || sigma < 0)
        return dmbp_set_error(isfinite(sigma) ? DMBP_ERR_ARG
                                              : DMBP_ERR_NONFINITE,
                              "%s %g: must be a finite number >= 0", name,
                              sigma);
    return DMBP_OK;
}

/* Every method's settings are checked, whichever method runs: a bad
 * value is a mistake even where it is not read. */
static dmbp_status check_options(const dmbp_explain_options *o,
                                 const dmbp_preprocess_options *pre)
{
    if ((int)o->method < 0 || (int)o->method >= N_METHODS)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown method %d", o->method);
    if (o->ig.steps < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "ig.steps %d: must be >= 1",
                              o->ig.steps);
    if (o->ig.rule == DMBP_IG_TRAPEZOID && o->ig.steps < 2)
        return dmbp_set_error(DMBP_ERR_ARG, "the trapezoid rule needs at "
                              "least 2 steps");
    if ((int)o->ig.baseline < 0 || o->ig.baseline > DMBP_BASELINE_BLUR)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown baseline %d",
                              o->ig.baseline);
    const dmbp_occlusion_options *oc = &o->occlusion;
    if (oc->window < 0 || oc->stride < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "occlusion.%s %d: must be >= 0 "
                              "(0: the default)",
                              oc->window < 0 ? "window" : "stride",
                              oc->window < 0 ? oc->window : oc->stride);
    if ((int)oc->baseline < 0 || oc->baseline > DMBP_BASELINE_BLUR)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown baseline %d",
                              oc->baseline);
    const dmbp_rise_options *ri = &o->rise;
    if (ri->masks < 1 || ri->grid < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "rise.%s %d: must be >= 1",
                              ri->masks < 1 ? "masks" : "grid",
                              ri->masks < 1 ? ri->masks : ri->grid);
    if (!isfinite(ri->p))
        return dmbp_set_error(DMBP_ERR_NONFINITE, "rise.p is not a finite "
                              "number");
    if (!(ri->p > 0 && ri->p <= 1))
        return dmbp_set_error(DMBP_ERR_ARG, "rise.p %g: must be in (0, 1]",
                              ri->p);
    TRY(dmbp__lrp_check(&o->lrp));
    if ((int)o->ig.rule < 0 || o->ig.rule > DMBP_IG_RIGHT)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown integration rule %d",
                              o->ig.rule);
    if (o->smoothgrad.samples < 1 || o->dmbp.samples < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s.samples %d: must be >= 1",
                              o->smoothgrad.samples < 1 ? "smoothgrad"
                                                        : "dmbp",
                              o->smoothgrad.samples < 1
                                  ? o->smoothgrad.samples
                                  : o->dmbp.samples);
    TRY(check_sigma("smoothgrad.sigma", o->smoothgrad.sigma));
    TRY(check_sigma("dmbp.sigma", o->dmbp.sigma));
    if (o->fpmath != DMBP_FPMATH_STRICT && o->fpmath != DMBP_FPMATH_BF16)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown fpmath mode %d",
                              o->fpmath);
    if (o->max_lanes < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "max_lanes %d: must be >= 1",
                              o->max_lanes);
    const dmbp_dmbp_options *d = &o->dmbp;
    if (d->iterations < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp.iterations %d: must be "
                              ">= 1", d->iterations);
    if (!isfinite(d->tol))
        return dmbp_set_error(DMBP_ERR_NONFINITE, "dmbp.tol is not a finite "
                              "number");
    if (d->tol < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp.tol %g: must be >= 0 (0: "
                              "no convergence stop)", d->tol);
    if (d->path_steps < 0 || d->path_steps > MAX_PATH_STEPS)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp.path_steps %d: must be "
                              "from 0 (no path) to %d", d->path_steps,
                              MAX_PATH_STEPS);
    /* Only where DMBP runs: a program (and the CLI's --samples) may set
     * DMBP's samples for SmoothGrad's sake beside the path default. */
    if (o->method == DMBP_METHOD_DMBP && d->path_steps > 0 && d->samples > 1)
        return dmbp_set_error(DMBP_ERR_ARG, "path DMBP (dmbp.path_steps %d) "
                              "and the smoothed variant (dmbp.samples %d) "
                              "cannot be combined", d->path_steps,
                              d->samples);
    if (o->dmbp_path_refresh < 0 || o->dmbp_path_refresh > MAX_PATH_STEPS)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_path_refresh %d: must be "
                              "from 0 (every copy) to %d",
                              o->dmbp_path_refresh, MAX_PATH_STEPS);
    if (o->dmbp_fix_negative != 0 && o->dmbp_fix_negative != 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_fix_negative %d: must be 0 "
                              "or 1", o->dmbp_fix_negative);
    if ((int)d->mask_init < 0 || d->mask_init > DMBP_MASK_INIT_CONTRIBUTION)
        return dmbp_set_error(DMBP_ERR_ARG, "unknown dmbp.mask_init %d",
                              d->mask_init);
    if (d->tol_window < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp.tol_window %d: must be >= "
                              "1 (0: the default)", d->tol_window);
    const struct {
        const char *name;
        float v;
        bool positive;
    } nums[] = {{"lr", d->lr, true},
                {"init_logit", d->init_logit, false},
                {"w_completeness", d->w_completeness, false},
                {"w_sign", d->w_sign, false},
                {"w_nuisance", d->w_nuisance, false},
                {"w_evidence", d->w_evidence, false},
                {"w_sparsity", d->w_sparsity, false}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!isfinite(nums[i].v))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "dmbp.%s is not a "
                                  "finite number", nums[i].name);
        if (nums[i].positive && !(nums[i].v > 0))
            return dmbp_set_error(DMBP_ERR_ARG, "dmbp.%s %g: must be > 0",
                                  nums[i].name, nums[i].v);
        if (!strncmp(nums[i].name, "w_", 2) && nums[i].v < 0)
            return dmbp_set_error(DMBP_ERR_ARG, "dmbp.%s %g: weights must "
                                  "be >= 0", nums[i].name, nums[i].v);
    }
    for (int c = 0; c < 3; c++) {
        if (!isfinite(pre->mean[c]) || !isfinite(pre->std[c]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "preprocess mean/std: "
                                  "%s is not finite",
                                  isfinite(pre->mean[c]) ? "std" : "mean");
        if (pre->std[c] == 0)
            return dmbp_set_error(DMBP_ERR_ARG, "preprocess std: must not "
                                  "be 0");
    }
    return DMBP_OK;
}

int dmbp_explain_signed(const dmbp_explain_options *in)
{
    dmbp_explain_options o;
    if (explain_options_in(in, &o))
        return 0;
    switch (o.method) {
    case DMBP_METHOD_SALIENCY:
        return !o.saliency.abs;
    case DMBP_METHOD_GRADCAM:
    case DMBP_METHOD_GRADCAMPP:
    case DMBP_METHOD_SCORECAM:
    case DMBP_METHOD_RISE:
        return 0;
    default:
        return 1;
    }
}

dmbp_status dmbp_explain_check(const dmbp_model *m,
                               const dmbp_explain_options *in)
{
    dmbp_explain_options o;
    TRY(explain_options_in(in, &o));
    dmbp_preprocess_options pre;
    TRY(dmbp__preprocess_options_in(o.preprocess, &pre));
    TRY(check_options(&o, &pre));
    int v;
    if (m && (o.method == DMBP_METHOD_GRADCAM ||
              o.method == DMBP_METHOD_GRADCAMPP ||
              o.method == DMBP_METHOD_SCORECAM))
        TRY(dmbp__cam_layer(m, o.gradcam.layer, &v));
    return DMBP_OK;
}

/* Forward the images (in chunks) for their logits: targets and the
 * reported logit and probability. */
static dmbp_status first_pass(const dmbp__explain_ctx *ctx, const int *targets,
                              dmbp_result *r)
{
    const float *x = ctx->x;
    int n = ctx->n, c = ctx->c, h = ctx->h, w = ctx->w;
    const dmbp_explain_options *o = ctx->o;
    int k = dmbp_model_num_classes(ctx->m);
    int lanes = n < o->max_lanes ? n : o->max_lanes;
    dmbp_plan *p;
    TRY(dmbp__explain_plan(ctx, lanes, false, &p));
    size_t per = (size_t)c * h * w;
    float *buf = dmbp__malloc((size_t)lanes * per * sizeof(float));
    float *lg = dmbp__malloc((size_t)lanes * k * sizeof(float));
    float *prob = dmbp__malloc((size_t)k * sizeof(float));
    dmbp_status st = buf && lg && prob ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int i0 = 0; !st && i0 < n; i0 += lanes) {
        int cnt = n - i0 < lanes ? n - i0 : lanes;
        for (int l = 0; l < lanes; l++)
            memcpy(buf + l * per, x + (size_t)(i0 + (l < cnt ? l : 0)) * per,
                   per * sizeof(float));
        st = dmbp_plan_forward(p, buf, lg);
        for (int l = 0; !st && l < cnt; l++) {
            const float *li = lg + (size_t)l * k;
            int t = targets ? targets[i0 + l] : -1;
            if (t < -1 || t >= k) {
                st = dmbp_set_error(DMBP_ERR_ARG, "target class %d is out of "
                                    "range (the model has classes 0 to %d)",
                                    t, k - 1);
                break;
            }
            if (t < 0) {
                t = 0;
                for (int j = 1; j < k; j++)
                    t = li[j] > li[t] ? j : t;
            }
            dmbp_softmax(li, k, prob);
            r->target[i0 + l] = t;
            r->logit[i0 + l] = li[t];
            r->prob[i0 + l] = prob[t];
        }
    }
    free(buf);
    free(lg);
    free(prob);
    dmbp__explain_plan_done(ctx, p);
    return st;
}

dmbp_status dmbp__explain_with(const dmbp_model *m, const float *const *over,
                               const float *x, int n, int channels,
                               int height, int width, const int *targets,
                               const dmbp_explain_options *o,
                               dmbp_result **out)
{
    return dmbp__explain_cached(m, over, NULL, x, n, channels, height, width,
                                targets, o, out);
}

dmbp_status dmbp__explain_cached(const dmbp_model *m,
                                 const float *const *over,
                                 dmbp__plan_cache *cache, const float *x,
                                 int n, int channels, int height, int width,
                                 const int *targets,
                                 const dmbp_explain_options *o,
                                 dmbp_result **out)
{
    if (out)
        *out = NULL;
    if (!m || !x || !out || n < 1 || channels < 1 || height < 1 || width < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_explain: NULL argument or "
                              "empty size");
    dmbp_explain_options opt;
    TRY(explain_options_in(o, &opt));
    o = &opt;
    dmbp_preprocess_options pre;
    TRY(dmbp__preprocess_options_in(o->preprocess, &pre));
    TRY(check_options(o, &pre));
    int64_t total = (int64_t)n * channels * height * width;
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(x[i]))
            return dmbp_set_error(DMBP_ERR_NONFINITE, "input element %lld is "
                                  "not finite", (long long)i);
    dmbp_result *r = dmbp__calloc(1, sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    r->method = o->method;
    r->method_name = dmbp_method_name(o->method);
    r->n = n;
    r->target = dmbp__calloc((size_t)n, sizeof(int));
    r->logit = dmbp__calloc((size_t)n, sizeof(float));
    r->prob = dmbp__calloc((size_t)n, sizeof(float));
    dmbp_status st = r->target && r->logit && r->prob ? DMBP_OK
                                                      : DMBP_ERR_NOMEM;
    const dmbp__explain_ctx ctx = {m, x, n, channels, height, width,
                                 o, &pre, over, cache};
    if (!st)
        st = first_pass(&ctx, targets, r);
    if (!st) {
        switch (o->method) {
        case DMBP_METHOD_SALIENCY:
        case DMBP_METHOD_GXI:
        case DMBP_METHOD_GUIDED:
            st = dmbp__method_gradient(&ctx, r);
            break;
        case DMBP_METHOD_IG:
            st = dmbp__method_ig(&ctx, r);
            break;
        case DMBP_METHOD_SMOOTHGRAD:
            st = dmbp__method_smoothgrad(&ctx, r);
            break;
        case DMBP_METHOD_GRADCAM:
        case DMBP_METHOD_GRADCAMPP:
            st = dmbp__method_gradcam(&ctx, r);
            break;
        case DMBP_METHOD_SCORECAM:
            st = dmbp__method_scorecam(&ctx, r);
            break;
        case DMBP_METHOD_OCCLUSION:
            st = dmbp__method_occlusion(&ctx, r);
            break;
        case DMBP_METHOD_RISE:
            st = dmbp__method_rise(&ctx, r);
            break;
        case DMBP_METHOD_LRP:
            st = dmbp__method_lrp(&ctx, r);
            break;
        case DMBP_METHOD_DMBP:
            st = dmbp__method_dmbp(&ctx, r);
            break;
        }
    }
    if (st) {
        dmbp_result_free(r);
        return st;
    }
    *out = r;
    return DMBP_OK;
}

dmbp_status dmbp_explain(dmbp_session *s, const float *x, int n,
                         int channels, int height, int width,
                         const int *targets, const dmbp_explain_options *o,
                         dmbp_result **out)
{
    if (out)
        *out = NULL;
    TRY(dmbp__session_valid(s, "dmbp_explain"));
    dmbp__threads_apply();
    return dmbp__explain_cached(dmbp_session_model(s), NULL,
                                dmbp__session_cache(s), x, n, channels,
                                height, width, targets, o, out);
}
