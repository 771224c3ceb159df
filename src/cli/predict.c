/* dmbp predict MODEL IMAGE...: class, label and probability per image,
 * through the image-set runner (runner.h). Images are preprocessed one by
 * one and run through the network in batches of --batch images of one
 * size by the library's classifier (dmbp_classifier): the runner's items
 * read their logits from the batch holding them. With -O DIR, an
 * image set: one image per forward call, DIR/<stem>-predict.json per
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

/* The run: the model, and the library's classifier of the images in
 * batches (dmbp_classifier: each image loaded once, in order). */
typedef struct ctx {
    char **paths;          /* -O: per image DIR/<stem>-predict.json (the
                              first member: cli_set_paths_outputs) */
    const char *model;
    const cli_args *a;
    const predict_opts *o;
    const char *const *images;
    int n;
    int batch;             /* images per forward call (1 with -O) */
    dmbp_model *m;
    cli_names labels;
    dmbp_preprocess_options pre;
    int k;                 /* classes */
    dmbp_classifier *cl;
    const float *logits;   /* of the item being described */
    float *prob;
    int *order;
    int at;                /* the item being described */
} ctx;

/* Image i preprocessed into *x (the classifier's load). */
static dmbp_status load_image(void *vctx, int i, dmbp_image *x)
{
    const ctx *c = vctx;
    dmbp_image img = {0};
    dmbp_status st = cli_load_image(c->images[i], &c->a->f, &img);
    if (!st)
        st = dmbp_image_preprocess(&img, &c->pre, x);
    dmbp_image_free(&img);
    return st;
}

static int load(ctx *c)
{
    dmbp_status st = dmbp_model_load(c->model, &c->m);
    if (st)
        return cli_fail(st);
    int rc = cli_apply_pre(c->m, &c->a->f, &c->pre);
    c->k = dmbp_model_num_classes(c->m);
    if (!rc && c->o->labels_path)
        rc = cli_labels_read(c->o->labels_path, c->k, &c->labels);
    if (rc)
        return rc;
    dmbp_classifier_options co;
    dmbp_classifier_options_init(&co);
    co.batch = c->batch;
    co.max_memory = cli_max_memory;
    co.load = load_image;
    co.user = c;
    if ((st = dmbp_classifier_create(c->m, c->n, &co, &c->cl)))
        return cli_fail(st);
    c->prob = malloc((size_t)c->k * sizeof(float));
    c->order = malloc((size_t)c->k * sizeof(int));
    if (!c->prob || !c->order)
        return cli_oom();
    return EXIT_OK;
}

static void unload(ctx *c)
{
    dmbp_classifier_free(c->cl);
    dmbp_model_free(c->m);
    free(c->prob);
    free(c->order);
    cli_names_free(&c->labels);
    c->cl = NULL;
    c->m = NULL;
    c->prob = NULL;
    c->order = NULL;
}

static void write_json(FILE *f, const void *vctx)
{
    const ctx *c = vctx;
    /* A write error shows in ferror(f), which cli_write_atomic reports. */
    dmbp_status st = dmbp_write_prediction(
        f, 1, c->images[c->at], c->logits, c->k, c->o->top, c->m,
        (const char *const *)c->labels.v, c->labels.n);
    (void)st;
}

/* Item idx: its logits (from the classifier's batch holding it), its
 * JSON file written (-O), then described. */
static int item(void *vctx, cli_item *it)
{
    ctx *c = vctx;
    int rc, idx = it->index;
    if (!c->m && (rc = load(c)))
        return rc;
    dmbp_set_error(DMBP_OK, "%s", "");
    dmbp_status lst = dmbp_classifier_logits(c->cl, idx, &c->logits);
    rc = lst ? cli_fail(lst) : EXIT_OK;
    int top = c->o->top < c->k ? c->o->top : c->k;
    if (!rc)
        dmbp_rank_classes(c->logits, c->k, 1, c->prob, c->order);
    c->at = idx;
    if (!rc && c->paths)
        rc = cli_write_atomic(c->paths[idx], write_json, c);
    if (rc)
        return cli_item_failed(it, rc);
    int t = c->order[0];
    const char *lab = cli_label(c->m, &c->labels, t);
    FILE *f = it->fragment;
    fprintf(f, "\"target\": %d, \"label\": ", t);
    if (lab)
        dmbp__json_str(f, lab);
    else
        fprintf(f, "null");
    fprintf(f, ", \"prob\": %.9g", c->prob[t]);
    if (c->paths) {
        fprintf(f, ", \"outputs\": {\"json\": ");
        dmbp__json_str(f, c->paths[idx]);
        fprintf(f, "}");
    }
    dmbp_status st = dmbp_write_prediction(
        it->text, !c->paths && c->o->json, c->images[idx], c->logits, c->k,
        top, c->m, (const char *const *)c->labels.v, c->labels.n);
    return st ? cli_fail(st) : EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = {PREDICT_DEFAULT_TOP, PREDICT_DEFAULT_BATCH, false, NULL,
                      NULL};
    cli_args a;
    const char **images = NULL;
    int n = 0;
    cli_names names = {0};
    ctx c = {.a = &a, .o = &o};
    int rc = parse(argc, argv, &a, &o, &c.model, &images, &n);
    if (!rc)
        rc = expand(&a, &names, &images, &n);
    if (rc < 0) {
        cli_args_free(&a);
        return EXIT_OK; /* --help */
    }
    c.images = images;
    c.n = n;
    c.batch = o.outdir ? 1 : n < o.batch ? n : o.batch;
    if (!rc && o.outdir)
        rc = cli_set_paths(o.outdir, images, n, "-predict.json", &c.paths);
    else if (!rc)
        rc = cli_refuse_replicated("predict");
    /* The model's problems end the run before any image (or rank)
     * starts; under a launcher the items load it again where they run. */
    if (!rc)
        rc = load(&c);
    if (rc || (o.outdir && cli_mpi_launcher()))
        unload(&c);
    const cli_flags *f = &a.f;
    cli_runner b = {.inputs = images, .n = n, .dir = o.outdir,
                    .resume = f->resume, .quiet = f->quiet || !o.outdir,
                    .json = o.json && o.outdir,
                    .max_failures = o.outdir ? f->max_failures : 1,
                    .chunk = f->chunk ? f->chunk : CLI_DEFAULT_CHUNK,
                    .local = !o.outdir, .fn = item, .ctx = &c,
                    .outputs = o.outdir ? cli_set_paths_outputs : NULL,
                    .args = &a, .model = c.model};
    if (!rc)
        rc = cli_run(&b);
    unload(&c);
    cli_set_paths_free(c.paths, n);
    cli_names_free(&names);
    cli_args_free(&a);
    return rc;
}
