/* dmbp eval MODEL --images SPEC --methods LIST: faithfulness of attribution
 * methods on many images. The library's evaluation (dmbp_eval_run,
 * dmbp_eval.h) computes and reports; this file parses the options and
 * runs each image as an item of the image-set runner (runner.h): its
 * numbers by every method, written as the item's manifest fragment. The
 * ledger's process reads every image's numbers back from those lines
 * (fresh, or proven done by --resume), then the library writes the table,
 * CSV, JSON, SVG and Markdown. */
#include "cli.h"
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV_DEFAULT_METHODS                                                  \
    "dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam,gradcam++,scorecam,"     \
    "occlusion,rise"
/* Images per dmbp_explain call: enough to fill DMBP's lanes (16 images at
 * the default 32), few enough that progress moves. */
#define EV_DEFAULT_BATCH 64
#define EV_DEFAULT_RAND_IMAGES 8

/* ------------------------------------------------------------------ */
/* Options                                                            */
/* ------------------------------------------------------------------ */

typedef struct eval_opts {
    cli_args a;
    int n, offset, batch, rand_images;
    uint64_t seed;
    dmbp_eval_options eo;
    const char *outdir;   /* -O DIR: the manifest, --resume */
    dmbp_method m[DMBP_NUM_METHODS];  /* --methods */
    int n_methods, against;           /* --against: index in m, or -1 */
} eval_opts;

/* --methods LIST into e->m, --against into e->against. */
static int parse_methods(eval_opts *e, eval_opts *r)
{
    const char *list = e->a.f.methods ? e->a.f.methods : EV_DEFAULT_METHODS;
    r->against = -1;
    if (dmbp_method_list_parse(list, "--methods", r->m, &r->n_methods))
        return cli_usage_error("%s", dmbp_last_error());
    const char *against = e->a.f.against;
    if (against) {
        dmbp_method a;
        if (dmbp_method_from_name(against, &a)) {
            char names[256] = "";
            for (int m = 0; m < DMBP_NUM_METHODS; m++)
                snprintf(names + strlen(names), sizeof names - strlen(names),
                         "%s%s", m == 0 ? "" : m == DMBP_NUM_METHODS - 1
                         ? " or " : ", ", dmbp_method_name((dmbp_method)m));
            return cli_usage_error("--against '%s': expected %s", against,
                                   names);
        }
        for (int k = 0; k < r->n_methods; k++)
            if (r->m[k] == a)
                r->against = k;
        if (r->against < 0)
            return cli_usage_error("--against %s: not among --methods %s",
                                   against, list);
    }
    return EXIT_OK;
}

static int parse(int argc, char **argv, eval_opts *e, const char **model)
{
    int rc = cli_args_parse(CMD_EVAL, argc, argv, &e->a);
    if (rc)
        return rc;
    const cli_flags *f = &e->a.f;
    if (e->a.n_pos < 1)
        return cli_usage_error("eval: which model?");
    if (e->a.n_pos > 1)
        return cli_usage_error("eval: one model at a time ('%s' and '%s'); "
                               "images go to --images", e->a.pos[0],
                               e->a.pos[1]);
    *model = e->a.pos[0];
    if (!f->images)
        return cli_usage_error("eval: --images is required (a file listing "
                               "image paths, a directory or idx:PATH)");
    if (f->given[CLI_O_CURVE_STEPS] && f->given[CLI_O_STEP_PIXELS])
        return cli_usage_error("--curve-steps and --step-pixels exclude each "
                               "other");
    if (f->given[CLI_O_N])
        e->n = f->n;
    if (f->given[CLI_O_OFFSET])
        e->offset = f->offset;
    if (f->given[CLI_O_BATCH])
        e->batch = f->batch;
    if (f->given[CLI_O_RAND_IMAGES])
        e->rand_images = f->rand_images;
    /* The metrics' options by name (dmbp_eval_options_set). */
    static const int metric[] = {
        CLI_O_CURVE_STEPS, CLI_O_STEP_PIXELS, CLI_O_REGIONS,
        CLI_O_REGION_SIZE, CLI_O_MAX_LANES, CLI_O_SUBSTRATE,
        CLI_O_INSERTION_START, CLI_O_EVAL_SEED};
    for (size_t k = 0; k < sizeof metric / sizeof *metric; k++) {
        char v[64];
        cli_option_text(f, metric[k], v, sizeof v);
        dmbp_status st = f->given[metric[k]] ? dmbp_eval_options_set(
            &e->eo, cli_option_name(metric[k]), v) : DMBP_OK;
        if (st)
            return cli_fail(st);
    }
    e->seed = f->eval_seed; /* 0 when not given, the default */
    rc = parse_methods(e, e);
    if (rc)
        return rc;
    unsigned listed = 0;
    for (int k = 0; k < e->n_methods; k++)
        listed |= 1u << e->m[k];
    char what[160];
    snprintf(what, sizeof what, "--methods %s",
             f->methods ? f->methods : EV_DEFAULT_METHODS);
    rc = cli_check_methods(&e->a, listed, what);
    if (rc)
        return rc;
    e->outdir = f->output_dir;
    const char *outs[4] = {f->csv, f->json_out, f->plot, f->markdown};
    for (int k = 0; k < 4; k++) /* -O DIR's reports: DIR is made later */
        if (outs[k] && !(f->output_dir && outs[k] == e->a.owned[k]) &&
            (rc = cli_check_writable_dir(outs[k])))
            return rc;
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* One image: the item                                                */
/* ------------------------------------------------------------------ */

typedef struct ev_ctx {
    dmbp_eval_run *run;
    const eval_opts *e;
    const dmbp_eval_images *im;
    bool *done;               /* n: numbers known (recorded) */
    int win0, win1;           /* images computed by the last window */
} ev_ctx;

/* The item: image i's numbers, computed with the window of images that
 * starts at it (up to --batch images not yet done), unless an earlier
 * window already did. */
static int eval_item(void *vctx, cli_item *it)
{
    ev_ctx *x = vctx;
    const dmbp_eval_images *im = x->im;
    int i = it->index;
    dmbp_set_error(DMBP_OK, "%s", "");
    if (i < x->win0 || i >= x->win1) {
        int end = i + 1;
        while (end < im->n && end - i < x->e->batch && !x->done[end])
            end++;
        x->win0 = x->win1 = 0;
        size_t hw = (size_t)im->h * im->w;
        dmbp_status st = dmbp_eval_run_compute(
            x->run, i, end - i, im->x + (size_t)i * im->c * hw,
            im->truth ? im->truth + (size_t)i * hw : NULL);
        if (st)
            return cli_item_failed(it, cli_fail(st));
        x->win0 = i;
        x->win1 = end;
    }
    fputs("\"outputs\": {}, ", it->fragment);
    dmbp_status st = dmbp_eval_run_write_image(x->run, i, it->fragment);
    return st ? cli_fail(st) : EXIT_OK;
}

/* The ledger's record of image i (a fresh line or one --resume trusts):
 * its numbers into the run; -1 when they do not read back. */
static int eval_record(void *vctx, int i, const char *line)
{
    ev_ctx *x = vctx;
    if (dmbp_eval_run_read_image(x->run, i, line))
        return -1; /* not numbers we wrote: the image is computed again */
    x->done[i] = true;
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

/* The reports asked for: written by the library, each whole or not at
 * all (dmbp_eval_run_write_file); the table (or --json) on stdout. */
static int report(const dmbp_eval_run *run, const cli_flags *f)
{
    const char *path[4] = {f->csv, f->json_out, f->plot, f->markdown};
    static const dmbp_eval_report kind[4] = {
        DMBP_EVAL_REPORT_CSV, DMBP_EVAL_REPORT_JSON, DMBP_EVAL_REPORT_SVG,
        DMBP_EVAL_REPORT_MARKDOWN};
    int rc = EXIT_OK;
    for (int k = 0; k < 4 && !rc; k++)
        if (path[k]) {
            cli_write_begin();
            dmbp_status st = dmbp_eval_run_write_file(run, kind[k], path[k]);
            rc = cli_write_end(st ? cli_fail(st) : EXIT_OK);
        }
    if (rc)
        return rc;
    /* --json: the results as JSON on stdout instead of the table. */
    dmbp_status st = dmbp_eval_run_write(
        run, f->json ? DMBP_EVAL_REPORT_JSON : DMBP_EVAL_REPORT_TABLE, stdout);
    fflush(stdout);
    return st ? cli_fail(st) : EXIT_OK;
}

/* Every image's true class (--true-labels FILE, else the data set's
 * labels, else unknown) into im->true_class; with --targets true each
 * image must have one. */
static int true_classes(const cli_flags *f, const dmbp_model *model,
                        const cli_names *labels, dmbp_eval_images *im)
{
    int rc = EXIT_OK;
    if (f->true_labels)
        rc = cli_class_lines(f->true_labels, model, labels, im->n, im->index,
                             im->true_class);
    for (int i = 0; !rc && f->eval_targets && i < im->n; i++)
        if (im->true_class[i] < 0)
            rc = cli_usage_error("--targets true: %s has no true label "
                                 "(give --true-labels FILE)", im->names[i]);
    return rc;
}

/* --images: the library's set, and from it the images to evaluate
 * (dmbp_eval_images_load). */
static int load_images(const cli_flags *f, const eval_opts *e, int classes,
                       const dmbp_preprocess_options *pre,
                       dmbp_eval_images **im)
{
    if (f->ground_truth && !strncmp(f->images, "idx:", 4))
        return cli_usage_error("--ground-truth needs PNG images with "
                               "NAME%s beside each NAME.png, not "
                               "--images %s", DMBP_TRUTH_SUFFIX, f->images);
    const dmbp_image_set *s = NULL;
    int rc = cli_images_open(f->images, CLI_IMAGES_TAKES, &s);
    if (!rc && e->offset >= dmbp_image_set_count(s))
        rc = cli_usage_error("--offset %d: %s has %d images", e->offset,
                             f->images, dmbp_image_set_count(s));
    if (rc)
        return rc;
    dmbp_image_load_options lo;
    cli_load_options(f, &lo);
    dmbp_status st = dmbp_eval_images_load(s, e->offset, e->n, classes, &lo,
                                           pre, f->ground_truth, im);
    return st ? cli_fail(st) : EXIT_OK;
}

/* The model, its labels, the target and the images, as every process of
 * the run loads them, and the library's evaluation of them. */
static int setup(eval_opts *e, const char *model_path, dmbp_model **model,
                 cli_names *labels, dmbp_eval_images **im,
                 dmbp_eval_run **run)
{
    const cli_flags *f = &e->a.f;
    dmbp_preprocess_options pre;
    dmbp_status st = dmbp_model_load(model_path, model);
    if (st)
        return cli_fail(st);
    int rc = EXIT_OK, target = DMBP_EVAL_TARGET_TOP;
    if (f->labels)
        rc = cli_labels_read(f->labels, dmbp_model_num_classes(*model),
                             labels);
    /* One target for every image: top:K, which needs each image's
     * logits, is explain's. */
    cli_targets tg = {0};
    if (!rc && f->eval_targets && f->target)
        rc = cli_usage_error("--target and --targets exclude each other");
    if (!rc && f->eval_targets && strcmp(f->eval_targets, "true"))
        rc = cli_usage_error("--targets '%s': eval takes only 'true' (each "
                             "image's true class)", f->eval_targets);
    if (!rc && !f->eval_targets)
        rc = cli_targets_load(f, *model, labels, 1, false, &tg);
    if (!rc)
        target = f->eval_targets ? DMBP_EVAL_TARGET_TRUE : tg.t[0];
    cli_targets_free(&tg);
    if (!rc)
        rc = cli_apply_pre(*model, f, &pre);
    /* Every method's options checked before any image is read or
     * explained, as explain does (cli_check_explain). */
    for (int k = 0; k < e->n_methods && !rc; k++)
        rc = cli_check_explain(f, e->m[k], *model);
    if (!rc)
        rc = load_images(f, e, dmbp_model_num_classes(*model), &pre, im);
    if (!rc)
        rc = true_classes(f, *model, labels, *im);
    dmbp_explain_options o[DMBP_NUM_METHODS];
    const dmbp_explain_options *op[DMBP_NUM_METHODS];
    for (int k = 0; k < e->n_methods && !rc; k++) {
        rc = cli_explain_options(f, e->m[k], &pre, &o[k]);
        op[k] = &o[k];
    }
    if (rc)
        return rc;
    dmbp_eval_run_options ro;
    dmbp_eval_run_options_init(&ro);
    ro.metrics = &e->eo;
    ro.randomization_images = e->rand_images;
    ro.ground_truth = f->ground_truth;
    ro.seed = e->seed;
    ro.target = target;
    ro.model_name = model_path;
    ro.images_name = f->images;
    ro.offset = e->offset;
    const dmbp_eval_images *m = *im;
    st = dmbp_eval_run_create(*model, m->n, m->c, m->h, m->w, op,
                              e->n_methods, &ro, run);
    if (st == DMBP_ERR_ARG && e->eo.step_pixels > 0)
        return cli_usage_error("--step-pixels %d: the curves need at least "
                               "two points", e->eo.step_pixels);
    for (int i = 0; !st && i < m->n; i++)
        st = dmbp_eval_run_set_image(*run, i, m->names[i], m->index[i],
                                     m->true_class[i]);
    if (!st && labels->n)
        st = dmbp_eval_run_set_labels(*run, (const char *const *)labels->v,
                                      labels->n);
    if (!st)
        st = dmbp_eval_run_set_against(*run, e->against);
    return st ? cli_fail(st) : EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts e = {.batch = EV_DEFAULT_BATCH,
                   .rand_images = EV_DEFAULT_RAND_IMAGES, .against = -1};
    dmbp_eval_options_init(&e.eo);
    cli_names labels = {0};
    dmbp_eval_images *im = NULL;
    dmbp_model *model = NULL;
    dmbp_eval_run *run = NULL;
    ev_ctx x = {.e = &e};
    const char *model_path = NULL;
    double t_start = cli_now();
    int rc = parse(argc, argv, &e, &model_path);
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    const cli_flags *f = &e.a.f;
    if (!rc)
        rc = setup(&e, model_path, &model, &labels, &im, &run);
    if (rc)
        goto done;
    x.run = run;
    x.im = im;
    x.done = calloc((size_t)im->n + 1, sizeof *x.done);
    if (!x.done) {
        rc = cli_oom();
        goto done;
    }
    if (e.outdir && mkdir(e.outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                "%s\n", e.outdir, strerror(errno));
        rc = EXIT_IO;
        goto done;
    }
    /* No report file may replace an input. */
    const char *outs[4] = {f->csv, f->json_out, f->plot, f->markdown};
    const char *others[4] = {model_path, f->labels, f->images,
                             f->true_labels};
    cli_names in = {0};
    for (int k = 0; k < 4 && !rc; k++)
        rc = others[k] ? cli_names_add(&in, others[k]) : EXIT_OK;
    for (int i = 0; i < im->n && !rc; i++)
        rc = cli_names_add(&in, im->names[i]);
    if (!rc)
        rc = cli_check_outputs(outs, 4, (const char *const *)in.v, in.n,
                               true);
    cli_names_free(&in);
    char methods[160];
    snprintf(methods, sizeof methods, "%s",
             f->methods ? f->methods : EV_DEFAULT_METHODS);
    const char *fp_extra[2] = {"--methods", methods};
    /* Windows of --batch images: one rank's chunk is one window. */
    cli_runner b = {.inputs = (const char *const *)im->names, .n = im->n,
                    .dir = e.outdir, .resume = f->resume,
                    .quiet = f->quiet || (!e.outdir && !isatty(2)),
                    .max_failures = e.outdir ? f->max_failures : 1,
                    .chunk = f->chunk ? f->chunk : e.batch,
                    .fn = eval_item, .ctx = &x, .record = eval_record,
                    .args = &e.a, .model = model_path, .fp_extra = fp_extra,
                    .n_fp_extra = 1};
    if (!rc)
        rc = cli_run(&b);
    if (rc || !cli_run_reports())
        goto done;
    dmbp_status st = dmbp_eval_run_finish(run, cli_now() - t_start);
    rc = st ? cli_fail(st) : report(run, f);
done:
    free(x.done);
    dmbp_eval_images_free(im);
    dmbp_eval_run_free(run);
    dmbp_model_free(model);
    cli_names_free(&labels);
    cli_args_free(&e.a);
    return rc;
}
