/* dmbp masks MODEL IMAGE: DMBP's learned filter masks as JSON, and which
 * filters carry the positive and the negative evidence. With -O DIR, an
 * image set (runner.h): DIR/<stem>-masks.json per image, the manifest,
 * --resume, MPI ranks. */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MASKS_DEFAULT_TOP 5

/* ------------------------------------------------------------------ */
/* Image sets: --output-dir (runner.h), alone or on MPI ranks           */
/* ------------------------------------------------------------------ */

typedef struct set_ctx {
    char **paths;          /* per image: DIR/<stem>-masks.json (first:
                              cli_set_paths_outputs reads it) */
    const char *model;
    const cli_args *a;
    const char **images;
    int n, top;
    cli_xrun run;          /* the model, loaded by the first item */
} set_ctx;

/* Item idx: its masks computed (on its own, so that they do not depend
 * on which images share its lanes, or its rank), written, described. */
static int masks_item(void *vctx, cli_item *it)
{
    set_ctx *c = vctx;
    int rc, idx = it->index;
    bool set = c->a->f.output_dir;
    c->run.first = set ? idx : 0;
    c->run.set_size = set ? c->n : 0;
    if (!c->run.m && (rc = cli_xrun_prepare(&c->run, c->model, c->a)))
        return rc;
    dmbp_set_error(DMBP_OK, "%s", "");
    rc = cli_xrun_images(&c->run, &c->images[idx], 1, c->a,
                         DMBP_METHOD_DMBP);
    if (!rc) {
        cli_write_begin();
        dmbp_status st = dmbp_result_write_masks_file(
            c->run.r, 0, c->images[idx], c->paths[idx]);
        rc = cli_write_end(st ? cli_fail(st) : EXIT_OK);
    }
    if (rc)
        return cli_item_failed(it, rc);
    const dmbp_result *r = c->run.r;
    int t = dmbp_result_target(r, 0);
    const char *label = cli_xrun_label(&c->run, t);
    FILE *f = it->fragment;
    fprintf(f, "\"method\": \"dmbp\", \"target\": %d, \"label\": ", t);
    if (label)
        dmbp__json_str(f, label);
    else
        fprintf(f, "null");
    fprintf(f, ", \"logit\": ");
    cli_json_num(f, dmbp_result_logit(r, 0));
    fprintf(f, ", \"prob\": ");
    cli_json_num(f, dmbp_result_prob(r, 0));
    fprintf(f, ", \"outputs\": {\"masks\": ");
    dmbp__json_str(f, c->paths[idx]);
    fprintf(f, "}");
    if (!set && c->a->f.json) {
        /* --json: the file's document, one line, on stdout too. */
        dmbp_status st = dmbp_result_write_masks_json(c->run.r, 0,
                                                      c->images[idx],
                                                      it->text);
        return st ? cli_fail(st) : EXIT_OK;
    }
    dmbp_status st = dmbp_result_write_line(
        r, 0, c->images[idx], label, c->paths[idx], 0, it->text);
    if (!st && fputc('\n', it->text) == EOF)
        st = dmbp_set_error(DMBP_ERR_IO, "write error");
    if (!st)
        st = dmbp_result_write_top_masks(r, 0, c->top, it->text);
    return st ? cli_fail(st) : EXIT_OK;
}

/* The images through the runner: an image set with -O DIR (its manifest,
 * --resume, MPI ranks), else the one image in this process. */
static int masks_images(const cli_args *a, const char *model,
                        const char **images, int n, int top, char **paths)
{
    const cli_flags *f = &a->f;
    bool set = f->output_dir;
    set_ctx c = {.paths = paths, .model = model, .a = a, .images = images,
                 .n = n, .top = top, .run = {.set_size = n}};
    /* The model's, the labels' and the targets' problems end a set
     * before any rank starts, once. */
    int rc = set ? cli_xrun_prepare(&c.run, model, a) : EXIT_OK;
    cli_xrun_free(&c.run);
    cli_runner b = {.inputs = images, .n = n, .dir = f->output_dir,
                    .resume = f->resume, .quiet = f->quiet || !set,
                    .json = f->json && set,
                    .max_failures = set ? f->max_failures : 1,
                    .chunk = f->chunk ? f->chunk : CLI_DEFAULT_CHUNK,
                    .local = !set, .fn = masks_item, .ctx = &c,
                    .outputs = cli_set_paths_outputs, .args = a,
                    .model = model};
    if (!rc)
        rc = cli_run(&b);
    cli_xrun_free(&c.run);
    return rc;
}

int cmd_masks(int argc, char **argv)
{
    cli_args a;
    const char *model = NULL, *image = NULL, *out = NULL;
    int top = MASKS_DEFAULT_TOP;
    char *path = NULL;
    int rc = cli_args_parse(CMD_MASKS, argc, argv, &a);
    if (!rc && a.n_pos < 1)
        rc = cli_usage_error("masks: which model?");
    if (!rc && a.n_pos < 2 && !a.f.images)
        rc = cli_usage_error("masks: no image given");
    const char *dir = rc ? NULL : a.f.output_dir;
    if (!rc && a.n_pos > 2 && !dir)
        rc = cli_usage_error("masks: one image at a time (or -O DIR for "
                             "an image set)");
    if (!rc && dir && a.f.output)
        rc = cli_usage_error("-o and -O (--output-dir) exclude each "
                             "other");
    if (!rc)
        rc = cli_check_methods(&a, MB(DMBP), "masks (DMBP)");
    /* DMBP's options checked before any work, as explain does. */
    if (!rc)
        rc = cli_check_explain(&a.f, DMBP_METHOD_DMBP, NULL);
    if (rc) {
        cli_args_free(&a);
        return rc < 0 ? EXIT_OK : rc;
    }
    model = a.pos[0];
    cli_names imgs = {0};
    if (dir) {
        char **paths = NULL;
        rc = cli_expand_images(&a.pos[1], a.n_pos - 1, &imgs);
        if (!rc && a.f.images)
            rc = cli_read_list(a.f.images, CLI_IMAGES_TAKES, &imgs);
        if (!rc)
            rc = cli_set_paths(dir, (const char *const *)imgs.v, imgs.n,
                               "-masks.json", &paths);
        if (!rc)
            rc = masks_images(&a, model, (const char **)imgs.v, imgs.n,
                              a.f.given[CLI_O_TOP] ? a.f.top : top, paths);
        cli_set_paths_free(paths, imgs.n);
        cli_names_free(&imgs);
        cli_args_free(&a);
        return rc;
    }
    rc = cli_refuse_replicated("masks");
    if (!rc)
        rc = cli_expand_images(&a.pos[1], a.n_pos - 1, &imgs);
    if (!rc && a.f.images)
        rc = cli_read_list(a.f.images, CLI_IMAGES_TAKES, &imgs);
    if (!rc && imgs.n != 1)
        rc = cli_usage_error("masks: one image at a time (%s holds %d; "
                             "-O DIR for an image set)",
                             a.n_pos > 1 ? a.pos[1] : a.f.images, imgs.n);
    if (rc) {
        cli_names_free(&imgs);
        cli_args_free(&a);
        return rc;
    }
    image = imgs.v[0];
    out = a.f.output;
    if (a.f.given[CLI_O_TOP])
        top = a.f.top;
    if (out) {
        path = strdup(out);
    } else {
        char *stem = dmbp_output_stem(image);
        if (stem) {
            size_t len = strlen(stem) + sizeof "-masks.json";
            path = malloc(len);
            if (path)
                snprintf(path, len, "%s-masks.json", stem);
        }
        free(stem);
    }
    if (!path) {
        return cli_oom();
    }
    rc = cli_check_writable_dir(path);
    const char *inputs[2] = {model, image};
    if (!rc)
        rc = cli_check_outputs((const char *const *)&path, 1, inputs, 2,
                               a.f.force);
    if (!rc)
        rc = masks_images(&a, model, &image, 1, top, &path);
    free(path);
    cli_names_free(&imgs);
    cli_args_free(&a);
    return rc;
}
