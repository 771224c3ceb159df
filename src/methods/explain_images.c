/* dmbp_explain_images (dmbp.h): pictures as loaded, each preprocessed,
 * checked against each other and the model, their targets resolved (the
 * K-th class by a forward pass of its own), then dmbp_explain. */
#include "methods.h"

#define NAME(names, i) ((names) && (names)[i] ? (names)[i] : "image")

/* The class of rank k (1: the top) of image x: one forward pass of a
 * plain plan; k selections of the largest, ties to the lower index. */
static dmbp_status class_of_rank(dmbp_plan **plan, const dmbp_model *m,
                                 const float *x, int h, int w, int k,
                                 int *cls)
{
    if (!*plan) {
        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.height = h;
        po.width = w;
        TRY(dmbp_plan_create(m, &po, plan));
    }
    int classes = dmbp_model_num_classes(m);
    float *logits = dmbp__malloc((size_t)classes * sizeof *logits);
    char *taken = dmbp__calloc((size_t)classes, 1);
    dmbp_status st = logits && taken ? dmbp_plan_forward(*plan, x, logits)
                                     : DMBP_ERR_NOMEM;
    for (int j = 0; !st && j < k; j++) {
        int best = -1;
        for (int i = 0; i < classes; i++)
            if (!taken[i] && (best < 0 || logits[i] > logits[best]))
                best = i;
        taken[best] = 1;
        *cls = best;
    }
    free(logits);
    free(taken);
    return st;
}

dmbp_status dmbp_model_class_of_rank(const dmbp_model *m, const float *x,
                                     int channels, int height, int width,
                                     int k, int *cls)
{
    (void)channels; /* the plan's, from the model */
    if (!m || !x || !cls || k < 1 || k > dmbp_model_num_classes(m))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_model_class_of_rank: rank "
                              "%d of %d classes, or NULL", k,
                              m ? dmbp_model_num_classes(m) : 0);
    dmbp_plan *plan = NULL;
    dmbp_status st = class_of_rank(&plan, m, x, height, width, k, cls);
    dmbp_plan_free(plan);
    return st;
}

/* Every image's target: -1 stays (dmbp_explain's top class), -K its K-th. */
dmbp_status dmbp__check_channels(const dmbp_model *m, int c)
{
    dmbp_shape decl = dmbp_model_input_shape(m);
    if (decl.ndim == 4 && decl.dims[1] && decl.dims[1] != c)
        return dmbp_set_error(DMBP_ERR_SHAPE, "the model takes %lld "
                              "channels, the preprocessed images have %d",
                              (long long)decl.dims[1], c);
    return DMBP_OK;
}

static dmbp_status resolve(const dmbp_model *m, const float *xs, int n,
                           int c, int h, int w, const int *targets, int *out)
{
    dmbp_plan *plan = NULL;
    size_t per = (size_t)c * h * w;
    int classes = dmbp_model_num_classes(m);
    dmbp_status st = DMBP_OK;
    for (int i = 0; !st && i < n; i++) {
        out[i] = targets ? targets[i] : -1;
        if (out[i] < -classes)
            st = dmbp_set_error(DMBP_ERR_ARG, "target %d: the model has %d "
                                "classes", out[i], classes);
        else if (out[i] < -1)
            st = class_of_rank(&plan, m, xs + (size_t)i * per, h, w,
                               -out[i], &out[i]);
    }
    dmbp_plan_free(plan);
    return st;
}

dmbp_status dmbp_explain_images(dmbp_session *s, const dmbp_image *originals,
                                const char *const *names, int n,
                                const dmbp_preprocess_options *pre,
                                const int *targets,
                                const dmbp_explain_options *o,
                                dmbp_result **out)
{
    *out = NULL;
    if (!s || !originals || n < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_explain_images: no "
                              "session or no images");
    const dmbp_model *m = dmbp_session_model(s);
    dmbp_preprocess_options defaults;
    if (!pre) {
        TRY(dmbp_model_preprocess_defaults(m, &defaults));
        pre = &defaults;
    }
    float *xs = NULL;
    int *tg = dmbp__malloc((size_t)n * sizeof *tg);
    int c = 0, h = 0, w = 0;
    size_t per = 0;
    dmbp_status st = tg ? DMBP_OK : DMBP_ERR_NOMEM;
    for (int i = 0; !st && i < n; i++) {
        dmbp_image x = {0};
        st = dmbp_image_preprocess(&originals[i], pre, &x);
        if (!st && i == 0) {
            c = x.channels;
            h = x.height;
            w = x.width;
            per = (size_t)c * h * w;
            xs = dmbp__malloc((size_t)n * per * sizeof *xs);
            st = xs ? DMBP_OK : DMBP_ERR_NOMEM;
        } else if (!st && (x.channels != c || x.height != h ||
                           x.width != w)) {
            st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: preprocessed to "
                                "%dx%dx%d, %s to %dx%dx%d: images explained "
                                "together must have one size (see --crop)",
                                NAME(names, i), x.channels, x.height,
                                x.width, NAME(names, 0), c, h, w);
        }
        if (!st)
            memcpy(xs + (size_t)i * per, x.data, per * sizeof *xs);
        dmbp_image_free(&x);
    }
    dmbp_shape decl = dmbp_model_input_shape(m);
    if (!st)
        st = dmbp__check_channels(m, c);
    /* A fixed height and width: the image named (dmbp_explain's message
     * names only the model). */
    if (!st && decl.ndim == 4 && decl.dims[2] && decl.dims[3] &&
        (decl.dims[2] != h || decl.dims[3] != w))
        st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: preprocessed to %dx%d, the "
                            "model takes %lldx%lld (see --resize and --crop)",
                            NAME(names, 0), h, w, (long long)decl.dims[2],
                            (long long)decl.dims[3]);
    if (!st)
        st = resolve(m, xs, n, c, h, w, targets, tg);
    if (!st)
        st = dmbp_explain(s, xs, n, c, h, w, tg, o, out);
    free(xs);
    free(tg);
    return st;
}
