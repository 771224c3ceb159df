/* dmbp predict MODEL IMAGE...: class, label and probability per image.
 * Images are preprocessed one by one and run through the network in
 * batches (one plan, one forward call per batch). With -O DIR, an image
 * set (runner.h): one image per forward call, DIR/<stem>-predict.json per
 * image, the manifest, --resume, MPI ranks. */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_DEFAULT_TOP 5
#define PREDICT_DEFAULT_BATCH 8
#define PREDICT_MAX_BATCH 1024

typedef struct predict_opts {
    int top, batch;
    bool json;
    const char *labels_path;
    const char *outdir;   /* -O DIR: the image-set mode */
} predict_opts;

static void print_result(FILE *f, bool json, const dmbp_model *m,
                         const cli_names *l, const predict_opts *o,
                         const char *image, const float *logits, float *prob,
                         int *order, int k)
{
    dmbp_softmax(logits, k, prob);
    for (int i = 0; i < k; i++)
        order[i] = i;
    /* Selection of the top entries by logit (probabilities of nearly
     * equal logits round to the same float), ties to the lower index. */
    int top = o->top < k ? o->top : k;
    for (int i = 0; i < top; i++) {
        int best = i;
        for (int j = i + 1; j < k; j++)
            if (logits[order[j]] > logits[order[best]] ||
                (logits[order[j]] == logits[order[best]] &&
                 order[j] < order[best]))
                best = j;
        int t = order[i];
        order[i] = order[best];
        order[best] = t;
    }
    if (json) {
        fprintf(f, "{\"image\": ");
        dmbp__json_str(f, image);
        fprintf(f, ", \"top\": [");
        for (int i = 0; i < top; i++) {
            const char *lab = cli_label(m, l, order[i]);
            fprintf(f, "%s{\"class\": %d, \"label\": ", i ? ", " : "",
                    order[i]);
            if (lab)
                dmbp__json_str(f, lab);
            else
                fprintf(f, "null");
            fprintf(f, ", \"prob\": %.9g}", prob[order[i]]);
        }
        fprintf(f, "], \"logits\": [");
        for (int i = 0; i < k; i++)
            fprintf(f, "%s%.9g", i ? ", " : "", logits[i]);
        fprintf(f, "]}\n");
    } else {
        fprintf(f, "%s\n", image);
        for (int i = 0; i < top; i++) {
            const char *lab = cli_label(m, l, order[i]);
            fprintf(f, "  %5d  %-24s %.4f\n", order[i], lab ? lab : "-",
                    prob[order[i]]);
        }
    }
}

static int parse(int argc, char **argv, cli_args *a, predict_opts *o,
                 const char **model, const char ***images, int *n_images)
{
    int rc = cli_args_parse(CMD_PREDICT, argc, argv, a);
    if (rc)
        return rc;
    const cli_flags *f = &a->f;
    if (f->given[CLI_O_TOP])
        o->top = f->top;
    if (f->given[CLI_O_BATCH]) {
        if (f->batch > PREDICT_MAX_BATCH)
            return cli_usage_error("--batch '%d': expected 1 to %d", f->batch,
                                   PREDICT_MAX_BATCH);
        o->batch = f->batch;
    }
    o->json = f->json;
    o->labels_path = f->labels;
    o->outdir = f->output_dir;
    if (a->n_pos < 1)
        return cli_usage_error("predict: which model?");
    if (a->n_pos < 2 && !f->images)
        return cli_usage_error("predict: no images given");
    *model = a->pos[0];
    *images = a->pos + 1;
    *n_images = a->n_pos - 1;
    return EXIT_OK;
}

/* The images: directories listed, "-" kept, then those of --images. */
static int expand(const cli_args *a, cli_names *l, const char ***images,
                  int *n_images)
{
    int rc = cli_expand_images(*images, *n_images, l);
    if (!rc && a->f.images)
        rc = cli_read_list(a->f.images, CLI_IMAGES_TAKES, l);
    *images = (const char **)l->v;
    *n_images = l->n;
    return rc;
}

typedef struct run {
    dmbp_model *m;
    dmbp_plan *plan;
    int batch;            /* the plan's batch */
    int c, h, w;          /* the plan's image shape */
    float *input;         /* batch x c x h x w */
    float *logits, *prob;
    int *order;
    const char **names;   /* images in the pending batch */
    int pending;
} run;

static int flush(run *r, const cli_names *l, const predict_opts *o, int k)
{
    if (!r->pending)
        return EXIT_OK;
    size_t per = (size_t)r->c * r->h * r->w;
    /* A short last batch repeats its last image; those results are not
     * printed. */
    for (int i = r->pending; i < r->batch; i++)
        memcpy(r->input + i * per, r->input + (r->pending - 1) * per,
               per * sizeof(float));
    dmbp_status st = dmbp_plan_forward(r->plan, r->input, r->logits);
    if (st)
        return cli_fail(st);
    for (int i = 0; i < r->pending; i++)
        print_result(stdout, o->json, r->m, l, o, r->names[i],
                     r->logits + (size_t)i * k, r->prob, r->order, k);
    fflush(stdout);
    r->pending = 0;
    return EXIT_OK;
}

static int ensure_plan(run *r, const dmbp_image *x, int batch)
{
    if (r->plan && r->c == x->channels && r->h == x->height &&
        r->w == x->width)
        return EXIT_OK;
    dmbp_plan_free(r->plan);
    r->plan = NULL;
    free(r->input);
    r->input = NULL;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.max_memory = cli_max_memory;
    po.batch = batch;
    po.height = x->height;
    po.width = x->width;
    dmbp_shape decl = dmbp_model_input_shape(r->m);
    if (decl.ndim == 4 && decl.dims[1] && decl.dims[1] != x->channels) {
        fprintf(stderr, "dmbp: the model takes %lld channels, the "
                "preprocessed image has %d\n", (long long)decl.dims[1],
                x->channels);
        return EXIT_SHAPE;
    }
    dmbp_status st = dmbp_plan_create(r->m, &po, &r->plan);
    if (st)
        return cli_fail(st);
    r->batch = batch;
    r->c = x->channels;
    r->h = x->height;
    r->w = x->width;
    r->input = malloc((size_t)batch * r->c * r->h * r->w * sizeof(float));
    if (!r->input) {
        return cli_oom();
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Image sets: --output-dir (runner.h), alone or on MPI ranks           */
/* ------------------------------------------------------------------ */

typedef struct set_ctx {
    char **paths;          /* per image: DIR/<stem>-predict.json (first:
                              cli_set_paths_outputs reads it) */
    const char *model;
    const cli_args *a;
    const predict_opts *o;
    const char *const *images;
    run r;                 /* the model (loaded by the first item), the
                              plan of the last image's shape, batch 1 */
    cli_names labels;
    dmbp_preprocess_options pre;
    int k;
} set_ctx;

typedef struct json_ctx {
    set_ctx *c;
    const char *image;
} json_ctx;

static void write_json(FILE *f, const void *ctx)
{
    const json_ctx *j = ctx;
    set_ctx *c = j->c;
    print_result(f, true, c->r.m, &c->labels, c->o, j->image, c->r.logits,
                 c->r.prob, c->r.order, c->k);
}

static int set_load(set_ctx *c)
{
    dmbp_status st = dmbp_model_load(c->model, &c->r.m);
    if (st)
        return cli_fail(st);
    int rc = cli_apply_pre(c->r.m, &c->a->f, &c->pre);
    c->k = dmbp_model_num_classes(c->r.m);
    if (!rc && c->o->labels_path)
        rc = cli_labels_read(c->o->labels_path, c->k, &c->labels);
    if (rc)
        return rc;
    c->r.logits = malloc((size_t)c->k * sizeof(float));
    c->r.prob = malloc((size_t)c->k * sizeof(float));
    c->r.order = malloc((size_t)c->k * sizeof(int));
    if (!c->r.logits || !c->r.prob || !c->r.order) {
        return cli_oom();
    }
    return EXIT_OK;
}

static void set_unload(set_ctx *c)
{
    dmbp_plan_free(c->r.plan);
    dmbp_model_free(c->r.m);
    free(c->r.input);
    free(c->r.logits);
    free(c->r.prob);
    free(c->r.order);
    cli_names_free(&c->labels);
    memset(&c->r, 0, sizeof c->r);
}

/* One image on its own (batch 1, so that its numbers do not depend on
 * which images share its batch, or its rank): the JSON file written, then
 * described. Images of one shape share a plan. */
static int set_item(void *vctx, cli_item *it)
{
    set_ctx *c = vctx;
    int rc, idx = it->index;
    if (!c->r.m && (rc = set_load(c)))
        return rc;
    dmbp_set_error(DMBP_OK, "%s", "");
    const char *image = c->images[idx];
    dmbp_image img = {0}, x = {0};
    dmbp_status st = cli_load_image(image, &c->a->f, &img);
    if (!st)
        st = dmbp_image_preprocess(&img, &c->pre, &x);
    dmbp_image_free(&img);
    rc = st ? cli_fail(st) : ensure_plan(&c->r, &x, 1);
    if (!rc) {
        memcpy(c->r.input, x.data,
               (size_t)c->r.c * c->r.h * c->r.w * sizeof(float));
        st = dmbp_plan_forward(c->r.plan, c->r.input, c->r.logits);
        rc = st ? cli_fail(st) : EXIT_OK;
    }
    dmbp_image_free(&x);
    json_ctx j = {c, image};
    if (!rc)
        rc = cli_write_atomic(c->paths[idx], write_json, &j);
    if (rc)
        return cli_item_failed(it, rc);
    /* write_json left the softmax and the order of the top classes. */
    int t = c->r.order[0];
    const char *lab = cli_label(c->r.m, &c->labels, t);
    FILE *f = it->fragment;
    fprintf(f, "\"target\": %d, \"label\": ", t);
    if (lab)
        dmbp__json_str(f, lab);
    else
        fprintf(f, "null");
    fprintf(f, ", \"prob\": %.9g, \"outputs\": {\"json\": ", c->r.prob[t]);
    dmbp__json_str(f, c->paths[idx]);
    fprintf(f, "}");
    print_result(it->text, false, c->r.m, &c->labels, c->o, image,
                 c->r.logits, c->r.prob, c->r.order, c->k);
    return EXIT_OK;
}

static int predict_set(const cli_args *a, const predict_opts *o,
                       const char *model, const char **images, int n)
{
    const cli_flags *f = &a->f;
    set_ctx c = {.model = model, .a = a, .o = o, .images = images};
    int rc = cli_set_paths(o->outdir, images, n, "-predict.json", &c.paths);
    /* The model's problems end the run before any rank starts; the items
     * load it again where they run (an MPI rank's worker). */
    if (!rc)
        rc = set_load(&c);
    set_unload(&c);
    cli_runner b = {.inputs = images, .n = n, .dir = o->outdir,
                   .resume = f->resume, .quiet = f->quiet, .json = o->json,
                   .max_failures = f->max_failures,
                   .chunk = f->chunk ? f->chunk : CLI_DEFAULT_CHUNK,
                   .fn = set_item, .ctx = &c,
                   .outputs = cli_set_paths_outputs, .args = a,
                   .model = model};
    if (!rc)
        rc = cli_run(&b);
    set_unload(&c);
    cli_set_paths_free(c.paths, n);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = {PREDICT_DEFAULT_TOP, PREDICT_DEFAULT_BATCH, false, NULL,
                      NULL};
    cli_args a;
    const char *model = NULL;
    const char **images = NULL;
    int n_images = 0;
    cli_names l = {0};
    run r = {0};
    cli_names names = {0};
    int rc = parse(argc, argv, &a, &o, &model, &images, &n_images);
    if (!rc)
        rc = expand(&a, &names, &images, &n_images);
    dmbp_preprocess_options pre;
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    if (rc)
        goto done;
    if (o.outdir) {
        rc = predict_set(&a, &o, model, images, n_images);
        goto done;
    }
    rc = cli_refuse_replicated("predict");
    if (rc)
        goto done;
    dmbp_status st = dmbp_model_load(model, &r.m);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    rc = cli_apply_pre(r.m, &a.f, &pre);
    if (rc)
        goto done;
    int k = dmbp_model_num_classes(r.m);
    if (o.labels_path) {
        rc = cli_labels_read(o.labels_path, k, &l);
        if (rc)
            goto done;
    }
    int batch = n_images < o.batch ? n_images : o.batch;
    r.logits = malloc((size_t)batch * k * sizeof(float));
    r.prob = malloc((size_t)k * sizeof(float));
    r.order = malloc((size_t)k * sizeof(int));
    r.names = calloc((size_t)batch, sizeof *r.names);
    if (!r.logits || !r.prob || !r.order || !r.names) {
        rc = cli_oom();
        goto done;
    }
    for (int i = 0; i < n_images && !rc; i++) {
        dmbp_image img = {0}, x = {0};
        st = cli_load_image(images[i], &a.f, &img);
        if (!st)
            st = dmbp_image_preprocess(&img, &pre, &x);
        dmbp_image_free(&img);
        if (st) {
            /* Print what was already computed, then the error. */
            dmbp_status err = st;
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", dmbp_last_error());
            if (r.plan)
                flush(&r, &l, &o, k);
            rc = cli_fail(dmbp_set_error(err, "%s", msg));
            break;
        }
        if (r.plan && (r.c != x.channels || r.h != x.height ||
                       r.w != x.width))
            rc = flush(&r, &l, &o, k);
        if (!rc)
            rc = ensure_plan(&r, &x, batch);
        if (!rc) {
            size_t per = (size_t)r.c * r.h * r.w;
            memcpy(r.input + r.pending * per, x.data, per * sizeof(float));
            r.names[r.pending++] = images[i];
            if (r.pending == r.batch)
                rc = flush(&r, &l, &o, k);
        }
        dmbp_image_free(&x);
    }
    if (!rc)
        rc = flush(&r, &l, &o, k);
done:
    dmbp_plan_free(r.plan);
    dmbp_model_free(r.m);
    free(r.input);
    free(r.logits);
    free(r.prob);
    free(r.order);
    free(r.names);
    cli_names_free(&l);
    cli_names_free(&names);
    cli_args_free(&a);
    return rc;
}
