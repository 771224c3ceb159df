/* dmbp_explain_options_set (dmbp.h): a method option by the name the dmbp
 * program gives it, its value as text, for the method o->method: the one
 * path from the command line's words to dmbp_explain_options. */
#include "methods.h"

#include <errno.h>

typedef enum kind { INT, FLOAT, U64, WORD } kind;

/* The options by name and kind. The program applies --preset first, then
 * --samples before --iters, --path-steps, --path-refresh, --fix-negative,
 * --mask-init and the weights, which may undo what it implies. */
static const struct opt {
    const char *name;
    kind k;
} opts[] = {
    {"tol", FLOAT}, {"w-completeness", FLOAT}, {"w-sign", FLOAT},
    {"w-nuisance", FLOAT}, {"w-evidence", FLOAT}, {"w-sparsity", FLOAT},
    {"abs", WORD}, {"steps", INT}, {"baseline", WORD}, {"ig-rule", WORD},
    {"samples", INT}, {"path-steps", INT}, {"path-refresh", INT},
    {"fix-negative", WORD},
    {"mask-init", WORD},
    {"sigma", FLOAT}, {"seed", U64}, {"of", WORD}, {"layer", WORD},
    {"window", INT}, {"stride", INT}, {"grid", INT}, {"keep", FLOAT},
    {"composite", WORD}, {"epsilon", FLOAT}, {"gamma", FLOAT},
    {"iters", INT}, {"lr", FLOAT}, {"init-logit", FLOAT},
    {"max-lanes", INT}, {"fpmath", WORD}, {"preset", WORD},
};

dmbp_status dmbp_explain_options_set(dmbp_explain_options *o,
                                     const char *name, const char *value)
{
    static const char fn[] = "dmbp_explain_options_set";
    if (!o || !name || !value)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL", fn);
    const struct opt *op = NULL;
    for (size_t k = 0; k < sizeof opts / sizeof *opts && !op; k++)
        if (!strcmp(opts[k].name, name))
            op = &opts[k];
    if (!op)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: no option '%s'", fn, name);
    char *end = NULL;
    long i = 0;
    float x = 0;
    unsigned long long u = 0;
    errno = 0;
    if (op->k == INT)
        i = strtol(value, &end, 10);
    else if (op->k == FLOAT)
        x = strtof(value, &end);
    else if (op->k == U64)
        u = strtoull(value, &end, 10);
    if (op->k != WORD && (end == value || *end || errno))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s '%s': not a number", fn,
                              name, value);
    dmbp_dmbp_options *d = &o->dmbp;
    int c = 0;
#define IS(s) (!strcmp(name, s))
#define CHOICE(list)                                                        \
    if ((c = dmbp__choice(list, value)) < 0)                                      \
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s '%s': expected one of " \
                              "%s", fn, name, value, list);
    if (IS("preset"))
        return dmbp_explain_preset(o, value);
    if (IS("tol"))
        d->tol = x;
    else if (IS("w-completeness"))
        d->w_completeness = x;
    else if (IS("w-sign"))
        d->w_sign = x;
    else if (IS("w-nuisance"))
        d->w_nuisance = x;
    else if (IS("w-evidence"))
        d->w_evidence = x;
    else if (IS("w-sparsity"))
        d->w_sparsity = x;
    else if (IS("abs")) {
        CHOICE("off|on");
        o->saliency.abs = c;
    } else if (IS("steps"))
        o->ig.steps = (int)i;
    else if (IS("baseline")) {
        static const dmbp_baseline b[] = {
            DMBP_BASELINE_ZERO, DMBP_BASELINE_BLACK, DMBP_BASELINE_BLUR};
        CHOICE("zero|black|blur");
        o->ig.baseline = o->occlusion.baseline = b[c];
    } else if (IS("ig-rule")) {
        static const dmbp_ig_rule r[] = {DMBP_IG_MIDPOINT, DMBP_IG_TRAPEZOID,
                                         DMBP_IG_LEFT, DMBP_IG_RIGHT};
        CHOICE("midpoint|trapezoid|left|right");
        o->ig.rule = r[c];
    } else if (IS("samples")) {
        /* SmoothGrad's samples, RISE's masks or DMBP's noisy copies. */
        o->smoothgrad.samples = o->rise.masks = d->samples = (int)i;
        /* DMBP's smoothed variant is a variant of the classic formulation
         * (dmbp-method.md section 3): noisy copies replace the path's.
         * From a path formulation (the default preset's) it takes the
         * classic preset whole: its iterations and weights, and both mask
         * sets learning (a negative set fixed at the constant start would
         * never leave it). Options set after it override. */
        if (o->method == DMBP_METHOD_DMBP && i > 1) {
            if (d->path_steps > 0)
                TRY(dmbp_explain_preset(o, "classic"));
            d->path_steps = 0;
            d->mask_init = DMBP_MASK_INIT_CONSTANT;
            o->dmbp_path_refresh = 0;
            o->dmbp_fix_negative = 0;
        }
    } else if (IS("path-steps"))
        d->path_steps = (int)i;
    else if (IS("path-refresh"))
        o->dmbp_path_refresh = (int)i;
    else if (IS("fix-negative")) {
        CHOICE("off|on");
        o->dmbp_fix_negative = c;
    }
    else if (IS("mask-init")) {
        CHOICE("constant|contribution");
        d->mask_init = c ? DMBP_MASK_INIT_CONTRIBUTION
                         : DMBP_MASK_INIT_CONSTANT;
    } else if (IS("sigma"))
        o->smoothgrad.sigma = d->sigma = x;
    else if (IS("seed"))
        o->smoothgrad.seed = o->rise.seed = d->seed = (uint64_t)u;
    else if (IS("of")) {
        CHOICE("grad|gxi");
        o->smoothgrad.of_gradient = c == 0;
    } else if (IS("layer"))
        o->gradcam.layer = value; /* borrowed: the caller's text */
    else if (IS("window"))
        o->occlusion.window = (int)i;
    else if (IS("stride"))
        o->occlusion.stride = (int)i;
    else if (IS("grid"))
        o->rise.grid = (int)i;
    else if (IS("keep"))
        o->rise.p = x;
    else if (IS("composite")) {
        dmbp_lrp_composite lc;
        TRY(dmbp_lrp_composite_from_name(value, &lc));
        o->lrp.composite = lc;
    } else if (IS("epsilon"))
        o->lrp.epsilon = x;
    else if (IS("gamma"))
        o->lrp.gamma = x;
    else if (IS("iters"))
        d->iterations = (int)i;
    else if (IS("lr"))
        d->lr = x;
    else if (IS("init-logit"))
        d->init_logit = x;
    else if (IS("max-lanes"))
        o->max_lanes = (int)i;
    else if (IS("fpmath")) {
        CHOICE("strict|f32|bf16");
        o->fpmath = c == 2 ? DMBP_FPMATH_BF16 : DMBP_FPMATH_STRICT;
    }
#undef IS
#undef CHOICE
    return DMBP_OK;
}
