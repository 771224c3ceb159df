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

/* .npy: "\x93NUMPY", version, header length (2 bytes in 1.0, 4 in 2.0
 * and 3.0), a Python dict literal. */
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_HEADER_MAX 65536
/* DMBP's .npy stacks its five arrays: W+, W-, A+, A-, N. */
#define DMBP_PARTS 5

/* ------------------------------------------------------------------ */
/* Reading the .npy                                                   */
/* ------------------------------------------------------------------ */

typedef struct npy {
    int ndim;
    int64_t dims[4];
    float *data;
} npy;

/* The dict's value after 'key': in header, or NULL. */
static const char *npy_field(const char *header, const char *key)
{
    const char *p = strstr(header, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

/* Read a little-endian float32 C-order array of 3 (C x H x W) or 4
 * (5 x C x H x W) dimensions, C 1 or 3, H and W at most
 * DMBP_IMAGE_MAX_SIDE. Message printed, exit status returned. */
static int npy_read(const char *path, npy *a)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dmbp: %s: %s\n", path, strerror(errno));
        return EXIT_IO;
    }
    int rc = EXIT_FORMAT;
    unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
    char *header = NULL;
    const char *why = "not a .npy file";
    if (fread(pre, 1, NPY_MAGIC_LEN + 2, f) != NPY_MAGIC_LEN + 2 ||
        memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN))
        goto done;
    size_t hlen;
    if (pre[NPY_MAGIC_LEN] == 1) {
        unsigned char l[2];
        if (fread(l, 1, 2, f) != 2)
            goto done;
        hlen = (size_t)l[0] | (size_t)l[1] << 8;
    } else {
        unsigned char l[4];
        if (fread(l, 1, 4, f) != 4)
            goto done;
        hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 |
               (size_t)l[3] << 24;
    }
    why = "a header too long for an attribution";
    if (hlen > NPY_HEADER_MAX)
        goto done;
    header = calloc(hlen + 1, 1);
    if (!header) {
        fprintf(stderr, "dmbp: out of memory\n");
        fclose(f);
        return EXIT_INTERNAL;
    }
    why = "truncated";
    if (fread(header, 1, hlen, f) != hlen)
        goto done;
    const char *descr = npy_field(header, "'descr'");
    const char *order = npy_field(header, "'fortran_order'");
    const char *shape = npy_field(header, "'shape'");
    why = "not little-endian float32 in C order ('<f4', fortran_order "
          "False): not an array dmbp explain wrote";
    if (!descr || strncmp(descr, "'<f4'", 5) || !order ||
        strncmp(order, "False", 5) || !shape || *shape != '(')
        goto done;
    why = "its shape is neither C x H x W nor 5 x C x H x W (C 1 or 3): "
          "not an array dmbp explain wrote";
    const char *p = shape + 1;
    while (*p != ')') {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 1 || v > DMBP_IMAGE_MAX_SIDE ||
            a->ndim == 4)
            goto done;
        a->dims[a->ndim++] = v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    int c = a->ndim == 4 ? 1 : 0;
    if ((a->ndim == 4 && a->dims[0] != DMBP_PARTS) ||
        (a->ndim != 3 && a->ndim != 4) ||
        (a->dims[c] != 1 && a->dims[c] != 3))
        goto done;
    size_t n = 1;
    for (int k = 0; k < a->ndim; k++)
        n *= (size_t)a->dims[k];
    a->data = malloc(n * sizeof *a->data);
    if (!a->data) {
        fprintf(stderr, "dmbp: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    why = "truncated";
    if (fread(a->data, sizeof *a->data, n, f) != n)
        goto done;
    why = "data after the array";
    if (fgetc(f) != EOF)
        goto done;
    /* A .npy of NaN draws nothing meaningful: say so here. */
    why = "NaN or infinity in the array";
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a->data[i])) {
            rc = EXIT_NONFINITE;
            goto done;
        }
    rc = EXIT_OK;
done:
    if (rc) {
        fprintf(stderr, "dmbp: %s: %s\n", path, why);
        free(a->data);
        a->data = NULL;
    }
    free(header);
    fclose(f);
    return rc;
}

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
        rc = cli_targets_resolve(&tg, m, x->data, 1, x->channels, x->height,
                                 x->width, 0, target);
    cli_targets_free(&tg);
    if (rc || *target >= 0)
        return rc;
    int classes = dmbp_model_num_classes(m);
    float *logits = malloc((size_t)classes * sizeof *logits);
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.height = x->height;
    po.width = x->width;
    dmbp_plan *plan = NULL;
    dmbp_status st = logits ? dmbp_plan_create(m, &po, &plan)
                            : DMBP_ERR_NOMEM;
    if (!st)
        st = dmbp_plan_forward(plan, x->data, logits);
    if (!st) {
        *target = 0;
        for (int k = 1; k < classes; k++)
            if (logits[k] > logits[*target])
                *target = k;
    }
    dmbp_plan_free(plan);
    free(logits);
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
static int draw_all(const npy *a, dmbp_method method, int is_signed,
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
        int n = a->ndim;
        dmbp_status st = dmbp_render_pictures(
            method, is_signed, target, a->data, (int)a->dims[n - 3],
            (int)a->dims[n - 2], (int)a->dims[n - 1], orig, pre, prefix, o);
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
    npy a = {0};
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
    if ((rc = npy_read(npy_path, &a)))
        goto done;
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
    dmbp_status st = dmbp_model_load(f->model, &m);
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
    rc = draw_all(&a, method, is_signed, t, &orig, &pre, &o, prefix,
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
