/* dmbp render FILE.npy --image IMAGE --model MODEL: the pictures dmbp
 * explain drew for a result, drawn again from its .npy without computing
 * the attribution again (other render options, another colormap, a
 * caption), byte for byte what explain writes with the same options. The
 * .npy holds the arrays (DMBP: W+, W-, A+, A-, N; else the map); the model
 * gives the preprocessing that maps them back onto the picture, the labels
 * and, for --caption without --target, the top class (one forward pass).
 * The pictures are the library's (dmbp_render_pictures), as explain's. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

/* The explained class for the caption: --target, or the top class of
 * one forward pass (what explain's auto target is). */
static int caption_target(const cli_args *a, const dmbp_model *m,
                          const cli_names *labels, const dmbp_image *x,
                          int *target)
{
    cli_targets tg = {0};
    int rc = cli_targets_load(&a->f, m, labels, 1, true, &tg);
    if (!rc)
        rc = cli_targets_for(&tg, 0, 1, target);
    cli_targets_free(&tg);
    if (rc || *target >= 0)
        return rc;
    dmbp_status st = dmbp_model_class_of_rank(m, x->data, x->channels,
                                              x->height, x->width, -*target,
                                              target);
    return st ? cli_fail(st) : EXIT_OK;
}

/* The output prefix: -o (without a final .png), else the .npy's path
 * without .npy (the pictures beside it, as explain named them). */
static char *out_prefix(const char *npy_path, const char *o)
{
    const char *src = o ? o : npy_path;
    const char *ext = o ? ".png" : ".npy";
    size_t len = strlen(src), lx = strlen(ext);
    if (len > lx && !strcasecmp(src + len - lx, ext))
        len -= lx;
    return strndup(src, len);
}

/* Explain's pictures of the arrays (dmbp_render_pictures), each path
 * checked first; the paths printed on out. */
static int draw_all(int ndim, const int64_t *dims, const float *data,
                    dmbp_method method, int is_signed,
                    int target, const dmbp_image *orig,
                    const dmbp_preprocess_options *pre,
                    const dmbp_output_options *o, const char *prefix,
                    bool force, bool json, const char *const *inputs,
                    FILE *out)
{
    cli_names paths = {0};
    int rc = EXIT_OK;
    for (int k = 0; k < DMBP_OUTPUT_NPY && !rc; k++) {
        size_t len = dmbp_output_path(method, prefix, o, k, NULL, 0);
        char *p = len ? malloc(len + 1) : NULL;
        if (len && !p)
            rc = cli_oom();
        else if (p)
            dmbp_output_path(method, prefix, o, k, p, len + 1);
        if (p && !rc && !(rc = cli_names_add(&paths, p)))
            rc = cli_check_outputs((const char *const *)&p, 1, inputs, 3, force);
        free(p);
    }
    if (!rc) {
        dmbp_status st = dmbp_render_pictures(
            method, is_signed, target, data, (int)dims[ndim - 3],
            (int)dims[ndim - 2], (int)dims[ndim - 1], orig, pre, prefix, o);
        rc = st ? cli_fail(st) : EXIT_OK;
    }
    if (!rc && json)
        fputs("{\"outputs\": [", out);
    for (int k = 0; k < paths.n && !rc; k++) {
        fputs(k ? (json ? ", " : " ") : "", out);
        if (json)
            dmbp__json_str(out, paths.v[k]);
        else
            fputs(paths.v[k], out);
    }
    if (!rc)
        fputs(json ? "]}\n" : "\n", out);
    cli_names_free(&paths);
    return rc;
}

int cmd_render(int argc, char **argv)
{
    cli_args args;
    int rc = cli_args_parse(CMD_RENDER, argc, argv, &args);
    if (rc) {
        cli_args_free(&args);
        return rc < 0 ? EXIT_OK : rc;
    }
    const cli_flags *f = &args.f;
    cli_names labels = {0};
    dmbp_model *m = NULL;
    dmbp_image orig = {0}, x = {0};
    struct {
        int ndim;
        int64_t dims[4];
        float *data;
    } a = {0};
    char *prefix = NULL;
    dmbp_method method;
    dmbp_preprocess_options pre;
    if (args.n_pos != 1) {
        rc = args.n_pos ? cli_usage_error("render: one FILE.npy at a time")
                        : cli_usage_error("render: which FILE.npy?");
        goto done;
    }
    if (!f->image || !f->model) {
        rc = cli_usage_error("--%s is required: %s", f->image ? "model"
                             : "image", f->image ? "the model explained "
                             "(its preprocessing and labels)"
                             : "the picture the result was computed on");
        goto done;
    }
    if ((rc = cli_check_render(f)))
        goto done;
    const char *npy_path = args.pos[0];
    dmbp_status st = dmbp_read_attribution_npy(npy_path, &a.ndim, a.dims,
                                               &a.data);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    bool dmbp = a.ndim == 4;
    method = f->given[CLI_O_METHOD] ? (dmbp_method)f->method
                                      : DMBP_METHOD_DMBP;
    if (!dmbp && !f->given[CLI_O_METHOD]) {
        rc = cli_usage_error("%s holds one map (C x H x W), not DMBP's five "
                             "arrays: name its method with --method",
                             npy_path);
        goto done;
    }
    if (dmbp != (method == DMBP_METHOD_DMBP)) {
        rc = cli_usage_error("%s: --method %s, but the file holds %s",
                             npy_path, dmbp_method_name(method),
                             dmbp ? "DMBP's five arrays" : "one map");
        goto done;
    }
    if ((rc = cli_check_methods(&args, 1u << method, "--method")))
        goto done;
    dmbp_explain_options eo;
    if ((rc = cli_explain_options(f, method, NULL, &eo)))
        goto done;
    int is_signed = dmbp_explain_signed(&eo);
    if ((rc = cli_check_colormap(f, method, is_signed)))
        goto done;
    st = dmbp_model_load(f->model, &m);
    if (!st)
        st = cli_load_image(f->image, f, &orig);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    if ((rc = cli_apply_pre(m, f, &pre)))
        goto done;
    if (f->labels && (rc = cli_labels_read(f->labels,
                                           dmbp_model_num_classes(m),
                                           &labels)))
        goto done;
    if ((st = dmbp_image_preprocess(&orig, &pre, &x))) {
        rc = cli_fail(st);
        goto done;
    }
    int c = (int)a.dims[a.ndim - 3];
    if (x.height != a.dims[a.ndim - 2] || x.width != a.dims[a.ndim - 1] ||
        (c != x.channels && c != 1)) {
        fprintf(stderr, "dmbp: %s: its maps are %dx%dx%d, the model's input "
                "of %s is %dx%dx%d (the preprocessing differs from explain's: "
                "see --resize and --crop)\n", npy_path, c,
                (int)a.dims[a.ndim - 2], (int)a.dims[a.ndim - 1], f->image,
                x.channels, x.height, x.width);
        rc = EXIT_SHAPE;
        goto done;
    }
    /* The caption's class: --target, or the model's top class. */
    int t = 0;
    if (f->caption && (rc = caption_target(&args, m, &labels, &x, &t)))
        goto done;
    dmbp_render_options ro;
    cli_render_options(f, &ro);
    dmbp_output_options o;
    dmbp_output_options_init(&o);
    o.render = &ro;
    o.caption = f->caption;
    o.label = f->caption ? cli_label(m, &labels, t) : NULL;
    if (!(prefix = out_prefix(npy_path, f->output))) {
        fprintf(stderr, "dmbp: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    const char *inputs[3] = {npy_path, f->image, f->model};
    rc = draw_all(a.ndim, a.dims, a.data, method, is_signed, t, &orig, &pre, &o, prefix,
                  f->force, f->json, inputs, stdout);
done:
    cli_names_free(&labels);
    free(prefix);
    free(a.data);
    dmbp_image_free(&x);
    dmbp_image_free(&orig);
    dmbp_model_free(m);
    cli_args_free(&args);
    return rc;
}
