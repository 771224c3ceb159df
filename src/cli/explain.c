/* dmbp explain MODEL IMAGE...: attribution maps as PNG overlays and .npy
 * arrays (the options and the computation are in explain_run.c). */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/* Output names                                                       */
/* ------------------------------------------------------------------ */

typedef struct explain_opts {
    cli_args a;
    dmbp_method method;
    const char *out;    /* -o PREFIX */
    const char *masks;  /* --masks FILE */
    bool json;
    const char *outdir; /* -O DIR: the image-set mode (runner.h) */
} explain_opts;

/* Extensions of our outputs: -o out.png means the prefix "out". */
static const char *const out_ext[] = {".png", ".npy"};

/* Where outputs go: a directory (-O DIR, or -o naming one), or a -o
 * prefix without its extension; NULL both: the current directory. */
typedef struct out_naming {
    char *dir, *prefix;
} out_naming;

static int naming_init(const explain_opts *e, out_naming *nm)
{
    const char *o = e->out, *d = e->a.f.output_dir;
    if (o && d)
        return cli_usage_error("-o and -O (--output-dir) exclude each other");
    struct stat sb;
    size_t len = o ? strlen(o) : 0;
    if (o && (o[len - 1] == '/' || (stat(o, &sb) == 0 && S_ISDIR(sb.st_mode))))
        d = o, o = NULL;
    if (d) {
        /* One level is created; a missing parent is the user's typo. */
        if (mkdir(d, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                    "%s\n", d, strerror(errno));
            return EXIT_IO;
        }
        if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "dmbp: %s: not a directory\n", d);
            return EXIT_IO;
        }
        if (!(nm->dir = strdup(d)))
            return cli_oom();
        size_t dl = strlen(nm->dir);
        while (dl > 1 && nm->dir[dl - 1] == '/')
            nm->dir[--dl] = 0;
    }
    if (o) {
        for (size_t k = 0; k < sizeof out_ext / sizeof *out_ext; k++) {
            size_t lx = strlen(out_ext[k]);
            if (len > lx && !strcasecmp(o + len - lx, out_ext[k])) {
                len -= lx;
                break;
            }
        }
        if (!(nm->prefix = strndup(o, len)))
            return cli_oom();
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Writing the results (dmbp_result_write_outputs)                    */
/* ------------------------------------------------------------------ */

typedef struct writer {
    const cli_xrun *run;
    dmbp_render_options ro; /* from the flags; scale set by --shared-scale */
} writer;

/* The library's output options of image i of a run with e. */
static void output_options(const explain_opts *e, const writer *wr, int i,
                           const char *image, const char *masks,
                           dmbp_output_options *o)
{
    dmbp_output_options_init(o);
    o->render = &wr->ro;
    o->caption = e->a.f.caption;
    o->label = wr->run ? cli_xrun_label(wr->run,
                                        dmbp_result_target(wr->run->r, i))
                       : NULL;
    o->masks = masks;
    o->image_name = image;
}

/* --shared-scale: the largest of the images' own scales for all
 * (dmbp_result_shared_scale; all maps zero: each renders as all 0). */
static int writer_init(writer *wr, const cli_xrun *run, const cli_flags *f)
{
    wr->run = run;
    cli_render_options(f, &wr->ro);
    dmbp_status st = f->shared_scale ? dmbp_result_shared_scale(
        run->r, &wr->ro, &wr->ro.scale) : DMBP_OK;
    return st ? cli_fail(st) : EXIT_OK;
}

/* The line printed for image i (without its newline); members: its JSON
 * (dmbp_result_write_outputs). */
static int print_image(FILE *f, const cli_xrun *run, int i,
                       const char *image, const char *png,
                       const char *members, bool json)
{
    if (json) {
        fprintf(f, "{\"image\": ");
        dmbp__json_str(f, image);
        fprintf(f, ", %s}", members);
        return EXIT_OK;
    }
    dmbp_status st = dmbp_result_write_line(
        run->r, i, image, cli_xrun_label(run, dmbp_result_target(run->r, i)),
        png, 1, f);
    return st ? cli_fail(st) : EXIT_OK;
}

/* Every output file of image i of n, from its prefix
 * (dmbp_output_path), appended to out. */
static int add_paths(const explain_opts *e, const char *prefix, int i,
                     int n, cli_names *out)
{
    char *masks = e->masks ? dmbp_output_masks_path(e->masks, i, n) : NULL;
    if (e->masks && !masks)
        return cli_oom();
    dmbp_output_options o;
    dmbp_output_options_init(&o);
    o.masks = masks;
    int rc = EXIT_OK;
    for (int k = 0; k < DMBP_OUTPUT_COUNT && !rc; k++) {
        size_t len = dmbp_output_path(e->method, prefix, &o, k, NULL, 0);
        char *p = len ? malloc(len + 1) : NULL;
        if (len && !p)
            rc = cli_oom();
        else if (p)
            dmbp_output_path(e->method, prefix, &o, k, p, len + 1);
        if (p && !rc)
            rc = cli_names_add(out, p);
        free(p);
    }
    free(masks);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

static int parse(int argc, char **argv, explain_opts *e, const char **model,
                 cli_names *images)
{
    int rc = cli_args_parse(CMD_EXPLAIN, argc, argv, &e->a);
    if (rc)
        return rc;
    const cli_flags *f = &e->a.f;
    e->method = DMBP_METHOD_DMBP;
    if (f->given[CLI_O_METHOD]) {
        char name[32];
        if (dmbp_method_from_name(cli_choice(CLI_O_METHOD, f->method, name,
                                             sizeof name), &e->method))
            return cli_usage_error("--method '%s': unknown", name);
    }
    e->out = f->output;
    e->masks = f->masks;
    e->json = f->json;
    e->outdir = f->output_dir;
    if (e->a.n_pos < 1)
        return cli_usage_error("explain: which model?");
    *model = e->a.pos[0];
    /* The images named on the command line, then those of an --images
     * list. */
    for (int k = 1; k < e->a.n_pos && !rc; k++)
        rc = cli_names_add(images, e->a.pos[k]);
    if (!rc && f->images)
        rc = cli_read_list(f->images, "a file listing image paths", images);
    if (rc)
        return rc;
    if (images->n < 1)
        return cli_usage_error("explain: no images given");
    if (e->outdir && e->out)
        return cli_usage_error("-o and -O (--output-dir) exclude each other");
    if (e->outdir && e->masks)
        return cli_usage_error("--masks is not available with --output-dir");
    /* An image set writes each image's pictures as soon as it is done, on
     * its own scale; one scale for all is for runs without -O. */
    if (f->html && !e->outdir)
        return cli_usage_error("--html needs -O DIR (the report is "
                               "DIR/index.html)");
    if (e->outdir && f->shared_scale)
        return cli_usage_error("--shared-scale is not available with "
                               "--output-dir (each image of a set is drawn "
                               "when it is done)");
    char what[64];
    snprintf(what, sizeof what, "--method %s", dmbp_method_name(e->method));
    rc = cli_check_methods(&e->a, 1u << e->method, what);
    /* Every option checked before the first image (the model's side,
     * --layer, once it is loaded: explain_images). */
    if (!rc)
        rc = cli_check_render(f);
    if (!rc)
        rc = cli_check_explain(f, e->method, NULL);
    dmbp_explain_options o;
    if (!rc)
        rc = cli_explain_options(f, e->method, NULL, &o);
    return rc ? rc : cli_check_colormap(f, e->method, dmbp_explain_signed(&o));
}

/* Every file the run will write, checked before any work: not an input,
 * not an existing file unless --force, somewhere writable. */
static int check_outputs(const explain_opts *e, const char *model,
                         const cli_names *imgs, char **prefixes)
{
    const cli_flags *f = &e->a.f;
    cli_names in = {0}, outs = {0};
    const char *others[] = {model, f->labels, f->targets, f->images};
    int rc = EXIT_OK;
    for (size_t k = 0; k < sizeof others / sizeof *others && !rc; k++)
        rc = others[k] ? cli_names_add(&in, others[k]) : EXIT_OK;
    for (int i = 0; i < imgs->n && !rc; i++)
        rc = cli_names_add(&in, imgs->v[i]);
    if (!rc)
        rc = cli_check_writable_dir(prefixes[0]);
    if (!rc && e->masks)
        rc = cli_check_writable_dir(e->masks);
    for (int i = 0; i < imgs->n && !rc; i++)
        rc = add_paths(e, prefixes[i], i, imgs->n, &outs);
    if (!rc)
        rc = cli_check_outputs((const char *const *)outs.v, outs.n,
                               (const char *const *)in.v, in.n, f->force);
    cli_names_free(&in);
    cli_names_free(&outs);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Image sets: --output-dir (runner.h), alone or on MPI ranks           */
/* ------------------------------------------------------------------ */

typedef struct set_ctx {
    const explain_opts *e;
    const char *model;
    const char **images;
    int n;              /* images on the command line or in the set */
    char **prefixes;
    cli_xrun run;       /* the model, loaded by the first item */
    writer wr;          /* run's result, ready to write */
    int first, count;   /* the images run holds */
} set_ctx;

/* Item idx: its image explained, written, then described. Each image is
 * explained on its own, so that its result does not depend on which
 * images share its call, or its rank, and its files are written as soon
 * as it is done (a run stopped after an image keeps it); --shared-scale
 * (without -O) explains all images in one call at the first item. */
static int explain_item(void *vctx, cli_item *it)
{
    set_ctx *c = vctx;
    int rc = EXIT_OK, idx = it->index;
    bool set = c->e->outdir, one = set || !c->e->a.f.shared_scale;
    if (idx < c->first || idx >= c->first + c->count) {
        c->count = 0;
        memset(&c->wr, 0, sizeof c->wr);
        c->run.first = one ? idx : 0;
        c->run.set_size = one ? c->n : 0;
        if (!c->run.m && (rc = cli_xrun_prepare(&c->run, c->model, &c->e->a)))
            return rc;
        dmbp_set_error(DMBP_OK, "%s", "");
        rc = cli_xrun_images(&c->run, &c->images[c->run.first],
                             one ? 1 : c->n, &c->e->a, c->e->method);
        if (!rc)
            rc = writer_init(&c->wr, &c->run, &c->e->a.f);
        if (rc)
            return cli_item_failed(it, rc);
        c->first = c->run.first;
        c->count = c->run.n;
    }
    int j = idx - c->first, i = set ? 0 : idx, n = set ? 1 : c->n;
    char *masks = c->e->masks ? dmbp_output_masks_path(c->e->masks, i, n) : NULL;
    char *members = NULL;
    size_t len = 0;
    FILE *json = open_memstream(&members, &len);
    if ((c->e->masks && !masks) || !json) {
        rc = cli_oom();
    } else {
        dmbp_output_options o;
        output_options(c->e, &c->wr, j, c->images[idx], masks, &o);
        cli_write_begin();
        dmbp_status st = dmbp_result_write_outputs(
            c->run.r, j, &c->run.bg[j], &c->run.pre, c->prefixes[idx], &o,
            json);
        rc = cli_write_end(st ? cli_fail(st) : EXIT_OK);
    }
    if (json && fclose(json) && !rc)
        rc = cli_oom();
    if (rc) {
        rc = cli_item_failed(it, rc);
    } else {
        cli_names paths = {0};
        rc = add_paths(c->e, c->prefixes[idx], i, n, &paths);
        fputs(members, it->fragment);
        if (!rc)
            rc = print_image(it->text, &c->run, j, c->images[idx],
                             paths.v[0], members, !set && c->e->json);
        cli_names_free(&paths);
    }
    free(members);
    free(masks);
    return rc; /* EXIT_OK, or what stops the run (cli_item_failed) */
}

/* Image idx's output files (runner.h's outputs). */
static int set_outputs(void *vctx, int idx, cli_names *out)
{
    set_ctx *c = vctx;
    return add_paths(c->e, c->prefixes[idx], 0, 1, out);
}

/* The images through the runner: an image set with -O DIR (its
 * manifest, --resume, MPI ranks; naming_init made DIR), else in this
 * process, no manifest. */
static int explain_images(const explain_opts *e, const char *model,
                          const char **images, int n, char **prefixes)
{
    const cli_flags *f = &e->a.f;
    set_ctx c = {.e = e, .model = model, .images = images, .n = n,
                 .prefixes = prefixes, .run = {.set_size = n}};
    /* The model's, the labels', the targets' and the method options'
     * problems (--layer) end the run before any image (or rank) starts,
     * once. */
    int rc = cli_xrun_prepare(&c.run, model, &e->a);
    if (!rc)
        rc = cli_check_explain(f, e->method, c.run.m);
    /* One process keeps what it loaded (the --targets file is read once);
     * under a launcher the items run in each rank's worker. */
    if (rc || (e->outdir && cli_mpi_launcher()))
        cli_xrun_free(&c.run);
    if (rc)
        return rc;
    const char *fp_extra[2] = {"--method", dmbp_method_name(e->method)};
    cli_runner b = {.inputs = images, .n = n, .dir = e->outdir,
                    .resume = f->resume, .quiet = f->quiet || !e->outdir,
                    .json = e->json && e->outdir,
                    .max_failures = e->outdir ? f->max_failures : 1,
                    .chunk = f->chunk ? f->chunk : CLI_DEFAULT_CHUNK,
                    .local = !e->outdir, .fn = explain_item, .ctx = &c,
                    .outputs = set_outputs, .args = &e->a, .model = model,
                    .fp_extra = fp_extra, .n_fp_extra = 1};
    rc = cli_run(&b);
    cli_xrun_free(&c.run);
    /* --html: the set's report, by the process that kept its ledger, also
     * when some images failed (their cells stay empty). */
    if (f->html && cli_run_reports() && (!rc || rc == EXIT_INCOMPLETE)) {
        int rr = cli_report_dir(e->outdir, f->quiet);
        rc = rr ? rr : rc;
    }
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    explain_opts e = {.out = NULL};
    const char *model = NULL;
    cli_names ia = {0};
    char **prefixes = NULL;
    cli_names imgs = {0};
    out_naming nm = {NULL, NULL};
    int rc = parse(argc, argv, &e, &model, &ia);
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    if (!rc)
        rc = naming_init(&e, &nm);
    if (!rc)
        rc = cli_expand_images((const char *const *)ia.v, ia.n, &imgs);
    if (rc)
        goto done;
    int n = imgs.n;
    char **images = imgs.v;

    /* Before any work: two images must not write the same files, and the
     * files must have somewhere to go. */
    prefixes = calloc((size_t)n, sizeof *prefixes);
    if (!prefixes) {
        rc = cli_oom();
        goto done;
    }
    for (int i = 0; i < n && !rc; i++) {
        prefixes[i] = dmbp_output_prefix(nm.dir, nm.prefix, images[i], i, n,
                                         e.method);
        if (!prefixes[i])
            rc = cli_oom();
    }
    if (!rc)
        rc = cli_unique_outputs(prefixes, (const char *const *)images, n,
                                ".png (use -o)");
    /* An image set's outputs are checked by its ledger, once it knows
     * which images --resume skips (cli_manifest_open). */
    if (!rc && !e.outdir)
        rc = check_outputs(&e, model, &imgs, prefixes);
    if (rc)
        goto done;
    if (!e.outdir)
        rc = cli_refuse_replicated("explain");
    if (!rc)
        rc = explain_images(&e, model, (const char **)images, n, prefixes);
done:
    if (prefixes)
        for (int i = 0; i < imgs.n; i++)
            free(prefixes[i]);
    free(prefixes);
    free(nm.dir);
    free(nm.prefix);
    cli_names_free(&imgs);
    cli_names_free(&ia);
    cli_args_free(&e.a);
    return rc;
}
