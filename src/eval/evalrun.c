/* Evaluations (dmbp_eval_run): methods over a set of images, every image
 * explained by every method, then deletion, insertion, negative evidence,
 * AOPC, the ground-truth scores and (first few images) the
 * model-randomisation check; each image's numbers as JSON text and back
 * (an image set's manifest keeps them, so that a run resumes), and the
 * summary the reports (report.c, report_svg.c) print. */
#include "eval.h"
#include "io/io.h"

#include <time.h>

/* The run's options, the version of libdmbp 0.3 that added them. */
#define RUN_OPTIONS_MIN DMBP__END(dmbp_eval_run_options, offset)
#define DEFAULT_RAND_IMAGES 8

static const char *const metric_key[DMBP_EVAL_NUM_METRICS] = {
    "deletion_auc", "insertion_auc", "neg_rise_5", "neg_rise_10",
    "neg_rise_20", "aopc", "randomization_rho", "pos_mass_accuracy",
    "neg_mass_accuracy", "pos_rank_accuracy", "neg_rank_accuracy",
    "pos_pointing", "neg_pointing"};

const char *dmbp_eval_metric_name(int k)
{
    return k >= 0 && k < DMBP_EVAL_NUM_METRICS ? metric_key[k] : NULL;
}

static void run_defaults(dmbp_eval_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->randomization_images = DEFAULT_RAND_IMAGES;
    o->target = DMBP_EVAL_TARGET_TOP;
}

void dmbp_eval_run_options_init_sized(dmbp_eval_run_options *o,
                                      size_t struct_size)
{
    dmbp_eval_run_options d;
    run_defaults(&d);
    dmbp__options_init(o, struct_size, &d, RUN_OPTIONS_MIN, sizeof d);
}

double dmbp__now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Creating and freeing                                               */
/* ------------------------------------------------------------------ */

static dmbp_status alloc_method(dmbp_eval_run *r, dmbp__ev_method *em)
{
    size_t n = (size_t)r->n;
    em->v = dmbp__malloc(n * DMBP_EVAL_NUM_METRICS * sizeof *em->v);
    em->target = dmbp__calloc(n, sizeof *em->target);
    em->prob = dmbp__calloc(n, sizeof *em->prob);
    em->secs = dmbp__calloc(n * 3, sizeof *em->secs);
    em->del_curve = dmbp__calloc((size_t)r->points, sizeof(double));
    em->ins_curve = dmbp__calloc((size_t)r->points, sizeof(double));
    em->aopc_curve = dmbp__calloc((size_t)r->aopc_points, sizeof(double));
    em->rho = dmbp__malloc(((size_t)r->rand_images * r->stages + 1) *
                           sizeof(double));
    em->del_img = dmbp__calloc(n * (size_t)r->points + 1, sizeof(float));
    em->ins_img = dmbp__calloc(n * (size_t)r->points + 1, sizeof(float));
    em->aopc_img =
        dmbp__calloc(n * (size_t)r->aopc_points + 1, sizeof(float));
    if (!em->v || !em->target || !em->prob || !em->secs || !em->del_curve ||
        !em->ins_curve || !em->aopc_curve || !em->rho || !em->del_img ||
        !em->ins_img || !em->aopc_img)
        return DMBP_ERR_NOMEM;
    for (size_t i = 0; i < n * DMBP_EVAL_NUM_METRICS; i++)
        em->v[i] = NAN;
    for (size_t i = 0; i < (size_t)r->rand_images * r->stages; i++)
        em->rho[i] = NAN;
    return DMBP_OK;
}

static void free_method(dmbp__ev_method *em)
{
    void *p[] = {em->v, em->target, em->prob, em->secs, em->del_curve,
                 em->ins_curve, em->aopc_curve, em->rho, em->del_img,
                 em->ins_img, em->aopc_img, em->layer};
    for (size_t k = 0; k < sizeof p / sizeof *p; k++)
        free(p[k]);
}

void dmbp_eval_run_free(dmbp_eval_run *r)
{
    if (!r)
        return;
    for (int k = 0; r->m && k < r->n_methods; k++)
        free_method(&r->m[k]);
    free(r->m);
    for (int i = 0; r->names && i < r->n; i++)
        free(r->names[i]);
    for (int i = 0; r->labels && i < r->n_labels; i++)
        free(r->labels[i]);
    for (int s = 0; r->layer_names && s < r->stages; s++)
        free(r->layer_names[s]);
    void *p[] = {r->names, r->index, r->truth_cls, r->labels,
                 r->layer_names, r->lnames, r->pos, r->neg, r->model_name,
                 r->images_name};
    for (size_t k = 0; k < sizeof p / sizeof *p; k++)
        free(p[k]);
    dmbp_session_free(r->metrics);
    free(r);
}

/* A method's options copied (the first struct_size bytes over the
 * defaults), with what they point to owned by the run. */
static dmbp_status method_in(dmbp__ev_method *em,
                             const dmbp_explain_options *in)
{
    dmbp_explain_options_init(&em->o);
    TRY(dmbp__options_in(in, &em->o, DMBP__END(dmbp_explain_options, method),
                         sizeof em->o, "dmbp_explain_options"));
    if ((unsigned)em->o.method >= DMBP_NUM_METHODS)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: method "
                              "%d unknown", (int)em->o.method);
    /* What the caller's struct covers, not past its struct_size. */
    if (em->o.preprocess)
        TRY(dmbp__preprocess_options_in(em->o.preprocess, &em->pre));
    else
        dmbp_preprocess_options_init(&em->pre);
    em->o.preprocess = &em->pre;
    em->o.dmbp.progress = NULL;
    em->o.rise.progress = NULL;
    if (em->o.gradcam.layer) {
        em->layer = dmbp__strdup(em->o.gradcam.layer);
        if (!em->layer)
            return DMBP_ERR_NOMEM;
        em->o.gradcam.layer = em->layer;
    }
    return DMBP_OK;
}

static char *dup_or_empty(const char *s)
{
    return dmbp__strdup(s ? s : "");
}

static dmbp_status create(dmbp_eval_run *r, const dmbp_model *m, int n,
                          int h, int w,
                          const dmbp_explain_options *const *methods,
                          const dmbp_eval_run_options *o)
{
    dmbp_eval_run_options def;
    run_defaults(&def);
    r->o = def;
    TRY(dmbp__options_in(o, &r->o, RUN_OPTIONS_MIN, sizeof r->o,
                         "dmbp_eval_run_options"));
    dmbp_eval_options_init(&r->eo);
    if (r->o.metrics)
        TRY(dmbp__options_in(r->o.metrics, &r->eo,
                             DMBP__END(dmbp_eval_options, steps),
                             sizeof r->eo, "dmbp_eval_options"));
    r->o.metrics = &r->eo;
    if (r->o.target < DMBP_EVAL_TARGET_TRUE ||
        r->o.target >= dmbp_model_num_classes(m) ||
        r->o.randomization_images < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: target "
                              "%d or randomization_images %d out of range",
                              r->o.target, r->o.randomization_images);
    r->model_name = dup_or_empty(r->o.model_name);
    r->images_name = dup_or_empty(r->o.images_name);
    r->o.model_name = r->o.images_name = NULL;
    r->points = dmbp_eval_curve_points(&r->eo, h, w);
    r->aopc_points = dmbp_eval_aopc_points(&r->eo, h, w);
    if (r->points < 2 || r->aopc_points < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: the "
                              "curves of a %dx%d image need at least two "
                              "points (steps, step_pixels, regions)", h, w);
    r->stages = dmbp_model_num_weight_layers(m);
    r->rand_images = r->o.randomization_images < n
                         ? r->o.randomization_images : n;
    if (r->stages < 1)
        r->rand_images = 0;
    r->names = dmbp__calloc((size_t)n, sizeof *r->names);
    r->index = dmbp__calloc((size_t)n, sizeof *r->index);
    r->truth_cls = dmbp__malloc((size_t)n * sizeof *r->truth_cls);
    r->layer_names = dmbp__calloc((size_t)r->stages + 1, sizeof(char *));
    r->lnames = dmbp__calloc((size_t)r->stages + 1, sizeof(char *));
    r->pos = dmbp__malloc((size_t)h * w * sizeof(float));
    r->neg = dmbp__malloc((size_t)h * w * sizeof(float));
    r->m = dmbp__calloc((size_t)r->n_methods, sizeof *r->m);
    if (!r->model_name || !r->images_name || !r->names || !r->index ||
        !r->truth_cls || !r->layer_names || !r->lnames || !r->pos ||
        !r->neg || !r->m)
        return DMBP_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        r->index[i] = r->o.offset + i;
        r->truth_cls[i] = -1;
    }
    for (int k = 0; k < r->n_methods; k++) {
        TRY(alloc_method(r, &r->m[k]));
        TRY(method_in(&r->m[k], methods[k]));
        for (int j = 0; j < k; j++)
            if (r->m[j].o.method == r->m[k].o.method)
                return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: "
                                      "%s is listed twice",
                                      dmbp_method_name(r->m[k].o.method));
    }
    return dmbp_session_create(m, &r->metrics);
}

dmbp_status dmbp_eval_run_create(const dmbp_model *m, int n, int c, int h,
                                 int w,
                                 const dmbp_explain_options *const *methods,
                                 int n_methods, const dmbp_eval_run_options *o,
                                 dmbp_eval_run **out)
{
    if (out)
        *out = NULL;
    if (!m || !out || !methods || n_methods < 1 || n < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: NULL "
                              "argument, no method or no image");
    for (int k = 0; k < n_methods; k++)
        if (!methods[k])
            return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_create: "
                                  "methods[%d] is NULL", k);
    TRY(dmbp__check_map_sizes("dmbp_eval_run_create", c, h, w));
    dmbp_eval_run *r = dmbp__calloc(1, sizeof *r);
    if (!r)
        return DMBP_ERR_NOMEM;
    r->model = m;
    r->n = n;
    r->c = c;
    r->h = h;
    r->w = w;
    r->n_methods = n_methods;
    r->against = -1;
    dmbp_status st = create(r, m, n, h, w, methods, o);
    if (st) {
        dmbp_eval_run_free(r);
        return st;
    }
    *out = r;
    return DMBP_OK;
}

/* ------------------------------------------------------------------ */
/* What the reports name                                              */
/* ------------------------------------------------------------------ */

dmbp_status dmbp_eval_run_set_image(dmbp_eval_run *r, int i,
                                    const char *name, int index,
                                    int true_class)
{
    if (!r || i < 0 || i >= r->n || true_class < -1 ||
        true_class >= dmbp_model_num_classes(r->model))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_set_image: image "
                              "%d or class %d out of range", i, true_class);
    char *s = dup_or_empty(name);
    if (!s)
        return DMBP_ERR_NOMEM;
    free(r->names[i]);
    r->names[i] = s;
    r->index[i] = index;
    r->truth_cls[i] = true_class;
    return DMBP_OK;
}

dmbp_status dmbp_eval_run_set_labels(dmbp_eval_run *r,
                                     const char *const *labels, int n)
{
    if (!r || n < 0 || (n && !labels))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_set_labels: NULL "
                              "argument");
    char **v = dmbp__calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return DMBP_ERR_NOMEM;
    for (int k = 0; k < n; k++)
        if (!(v[k] = dup_or_empty(labels[k]))) {
            while (k-- > 0)
                free(v[k]);
            free(v);
            return DMBP_ERR_NOMEM;
        }
    for (int k = 0; r->labels && k < r->n_labels; k++)
        free(r->labels[k]);
    free(r->labels);
    r->labels = v;
    r->n_labels = n;
    return DMBP_OK;
}

dmbp_status dmbp_eval_run_set_against(dmbp_eval_run *r, int k)
{
    if (!r || k < -1 || k >= r->n_methods)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_set_against: "
                              "method %d out of range", k);
    r->against = k;
    return DMBP_OK;
}

const char *dmbp__ev_label(const dmbp_eval_run *r, int cls)
{
    if (cls < 0)
        return NULL;
    if (r->n_labels > 0)
        return cls < r->n_labels ? r->labels[cls] : NULL;
    return dmbp_model_label(r->model, cls);
}

double dmbp_eval_run_value(const dmbp_eval_run *r, int k, int i, int metric)
{
    if (!r || k < 0 || k >= r->n_methods || i < 0 || i >= r->n ||
        metric < 0 || metric >= DMBP_EVAL_NUM_METRICS)
        return NAN;
    return r->m[k].v[(size_t)i * DMBP_EVAL_NUM_METRICS + metric];
}

int dmbp_eval_run_target(const dmbp_eval_run *r, int k, int i)
{
    if (!r || k < 0 || k >= r->n_methods || i < 0 || i >= r->n)
        return -1;
    return r->m[k].target[i];
}
