/* dmbp_classifier (dmbp_render.h): a list of images classified in
 * batches, as dmbp predict runs them. The batch from image i holds up to
 * o.batch images of i's size, ended early by one of another size or one
 * that fails to load, which is kept for its own call (so that every image
 * is loaded once: standard input is read once), through one forward call
 * of a plan made for that size; a short batch repeats its last image,
 * whose logits are not used. */
#include "methods.h"

#define CLASSIFIER_DEFAULT_BATCH 8
#define CLASSIFIER_OPTIONS_MIN DMBP__END(dmbp_classifier_options, user)
/* The longest kept message of an image that failed to load. */
#define CLASSIFIER_MSG_MAX 1024

struct dmbp_classifier {
    const dmbp_model *m;
    dmbp_classifier_options o;
    int n, k;              /* images, classes */
    dmbp_plan *plan;       /* of the batch's image size */
    int c, h, w;
    float *input, *logits; /* batch images */
    int first, count;      /* the batch: images first .. first+count-1 */
    /* The image after the batch when it ended it: loaded with another
     * size, or failing to load (its message kept for its own call). */
    int next;              /* its index, or -1 */
    dmbp_image next_x;
    dmbp_status next_st;
    char next_msg[CLASSIFIER_MSG_MAX];
};

static void classifier_defaults(dmbp_classifier_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->batch = CLASSIFIER_DEFAULT_BATCH;
}

void dmbp_classifier_options_init_sized(dmbp_classifier_options *o,
                                        size_t struct_size)
{
    dmbp_classifier_options d;
    classifier_defaults(&d);
    dmbp__options_init(o, struct_size, &d, CLASSIFIER_OPTIONS_MIN, sizeof d);
}

dmbp_status dmbp_classifier_create(const dmbp_model *m, int n,
                                   const dmbp_classifier_options *o,
                                   dmbp_classifier **out)
{
    static const char fn[] = "dmbp_classifier_create";
    if (!out)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL out", fn);
    *out = NULL;
    dmbp_classifier_options opt;
    classifier_defaults(&opt);
    TRY(dmbp__options_in(o, &opt, CLASSIFIER_OPTIONS_MIN, sizeof opt,
                         "dmbp_classifier_options"));
    if (!m || n < 1 || !opt.load)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL model or load "
                              "callback, or no image (n %d)", fn, n);
    if (opt.batch < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: batch %d: expected 1 or "
                              "more", fn, opt.batch);
    if (opt.batch > n)
        opt.batch = n;
    dmbp_classifier *c = dmbp__calloc(1, sizeof *c);
    if (!c)
        return DMBP_ERR_NOMEM;
    c->m = m;
    c->o = opt;
    c->n = n;
    c->k = dmbp_model_num_classes(m);
    c->next = -1;
    c->logits = dmbp__malloc((size_t)opt.batch * (size_t)c->k *
                             sizeof *c->logits);
    if (!c->logits) {
        dmbp_classifier_free(c);
        return DMBP_ERR_NOMEM;
    }
    *out = c;
    return DMBP_OK;
}

void dmbp_classifier_free(dmbp_classifier *c)
{
    if (!c)
        return;
    dmbp_plan_free(c->plan);
    free(c->input);
    free(c->logits);
    dmbp_image_free(&c->next_x);
    free(c);
}

/* A plan for images of x's size (the one kept when it fits). */
static dmbp_status ensure_plan(dmbp_classifier *c, const dmbp_image *x)
{
    if (c->plan && c->c == x->channels && c->h == x->height &&
        c->w == x->width)
        return DMBP_OK;
    dmbp_plan_free(c->plan);
    c->plan = NULL;
    free(c->input);
    c->input = NULL;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.max_memory = c->o.max_memory;
    po.batch = c->o.batch;
    po.height = x->height;
    po.width = x->width;
    TRY(dmbp__check_channels(c->m, x->channels));
    TRY(dmbp_plan_create(c->m, &po, &c->plan));
    c->c = x->channels;
    c->h = x->height;
    c->w = x->width;
    c->input = dmbp__malloc((size_t)c->o.batch * (size_t)c->c *
                            (size_t)c->h * (size_t)c->w * sizeof(float));
    return c->input ? DMBP_OK : DMBP_ERR_NOMEM;
}

/* Image i preprocessed into *x: the one kept after the last batch, or
 * loaded now. */
static dmbp_status image_at(dmbp_classifier *c, int i, dmbp_image *x)
{
    if (c->next == i) {
        c->next = -1;
        *x = c->next_x;
        memset(&c->next_x, 0, sizeof c->next_x);
        return c->next_st ? dmbp_set_error(c->next_st, "%s", c->next_msg)
                          : DMBP_OK;
    }
    return c->o.load(c->o.user, i, x);
}

/* The batch from image idx (the file's comment). */
static dmbp_status batch_from(dmbp_classifier *c, int idx)
{
    c->first = idx;
    c->count = 0;
    dmbp_status st = DMBP_OK;
    size_t per = 0;
    for (int i = idx; i < c->n && c->count < c->o.batch && !st; i++) {
        dmbp_image x = {0};
        dmbp_status ls = image_at(c, i, &x);
        if (ls && i == idx)
            return ls;
        if (ls || (c->count && (x.channels != c->c || x.height != c->h ||
                                x.width != c->w))) {
            dmbp_image_free(&c->next_x);
            c->next = i;
            c->next_x = x;
            c->next_st = ls;
            snprintf(c->next_msg, sizeof c->next_msg, "%s",
                     ls ? dmbp_last_error() : "");
            break;
        }
        if (!c->count && !(st = ensure_plan(c, &x)))
            per = (size_t)c->c * c->h * c->w;
        if (!st)
            memcpy(c->input + c->count++ * per, x.data, per * sizeof(float));
        dmbp_image_free(&x);
    }
    for (int i = c->count; !st && i < c->o.batch; i++)
        memcpy(c->input + i * per, c->input + (c->count - 1) * per,
               per * sizeof(float));
    if (!st)
        st = dmbp_plan_forward(c->plan, c->input, c->logits);
    if (st)
        c->count = 0;
    return st;
}

dmbp_status dmbp_classifier_logits(dmbp_classifier *c, int index,
                                   const float **logits)
{
    if (!c || !logits || index < 0 || index >= c->n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_classifier_logits: NULL "
                              "argument or image %d not in [0, %d)", index,
                              c ? c->n : 0);
    if (index < c->first || index >= c->first + c->count)
        TRY(batch_from(c, index));
    *logits = c->logits + (size_t)(index - c->first) * c->k;
    return DMBP_OK;
}
