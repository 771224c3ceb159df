/* dmbp eval --images: the library's image set (a list file, a directory,
 * or idx:FILE), each image preprocessed for the model as it is read, with
 * its true class and, with --ground-truth, its NAME.truth.png. */
#include "eval.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ev_images_free(ev_images *im)
{
    if (im->names)
        for (int i = 0; i < im->n; i++)
            free(im->names[i]);
    free(im->names);
    free(im->index);
    free(im->x);
    free(im->truth);
    free(im->true_cls);
    memset(im, 0, sizeof *im);
}

static int alloc_images(ev_images *im, int n)
{
    im->names = calloc((size_t)n, sizeof *im->names);
    im->index = calloc((size_t)n, sizeof *im->index);
    im->true_cls = malloc((size_t)n * sizeof *im->true_cls);
    if (!im->names || !im->index || !im->true_cls)
        return cli_oom();
    for (int i = 0; i < n; i++)
        im->true_cls[i] = -1;
    return EXIT_OK;
}

/* Preprocess raw into slot i of im (the first image fixes the size). */
static int add_image(ev_images *im, int i, const dmbp_image *raw,
                     const dmbp_preprocess_options *pre, int cap)
{
    dmbp_image x = {0};
    dmbp_status st = dmbp_image_preprocess(raw, pre, &x);
    if (st) /* the library's detail does not name the image */
        return cli_fail_about(im->names[i], st);
    int rc = EXIT_OK;
    if (i == 0) {
        im->c = x.channels;
        im->h = x.height;
        im->w = x.width;
        im->x = malloc((size_t)cap * im->c * im->h * im->w * sizeof(float));
        if (!im->x)
            rc = cli_oom();
    } else if (x.channels != im->c || x.height != im->h ||
               x.width != im->w) {
        fprintf(stderr, "dmbp: %s: preprocessed to %dx%dx%d, %s to "
                "%dx%dx%d: evaluated images must have one size (see "
                "--crop)\n", im->names[i], x.channels, x.height, x.width,
                im->names[0], im->c, im->h, im->w);
        rc = EXIT_SHAPE;
    }
    if (!rc) {
        size_t per = (size_t)im->c * im->h * im->w;
        memcpy(im->x + (size_t)i * per, x.data, per * sizeof(float));
    }
    dmbp_image_free(&x);
    return rc;
}

/* NAME.truth.png of image i (raw: the image as read), brought to the
 * model's input grid by the image's own resize and crop
 * (dmbp_eval_truth_load). */
static int add_truth(ev_images *im, int i, const dmbp_image *raw,
                     const dmbp_preprocess_options *pre)
{
    const char *name = im->names[i];
    size_t len = strlen(name);
    if (len < 4 || strcasecmp(name + len - 4, ".png")) {
        fprintf(stderr, "dmbp: %s: --ground-truth needs PNG files named "
                "NAME.png (the truth is NAME%s)\n", name, DMBP_TRUTH_SUFFIX);
        return EXIT_USAGE;
    }
    size_t cap = len + strlen(DMBP_TRUTH_SUFFIX) + 1;
    char *path = malloc(cap);
    if (!path)
        return cli_oom();
    snprintf(path, cap, "%.*s%s", (int)(len - 4), name, DMBP_TRUTH_SUFFIX);
    dmbp_status st = cli_image_file_ok(path, "ground truths");
    if (!st)
        st = dmbp_eval_truth_load(path, raw->height, raw->width, pre, im->h,
                                  im->w, im->truth + (size_t)i * im->h *
                                                         im->w);
    free(path);
    return st ? cli_fail(st) : EXIT_OK;
}

int ev_images_load(const char *spec, int offset, int count, int classes,
                   const dmbp_preprocess_options *pre, const cli_flags *f,
                   ev_images *im)
{
    memset(im, 0, sizeof *im);
    bool truth = f->ground_truth;
    if (truth && !strncmp(spec, "idx:", 4))
        return cli_usage_error("--ground-truth needs PNG images with "
                               "NAME%s beside each NAME.png, not "
                               "--images %s", DMBP_TRUTH_SUFFIX, spec);
    const dmbp_image_set *s = NULL;
    int rc = cli_images_open(spec, CLI_IMAGES_TAKES, &s);
    int total = rc ? 0 : dmbp_image_set_count(s);
    if (!rc && offset >= total)
        rc = cli_usage_error("--offset %d: %s has %d images", offset, spec,
                             total);
    int n = rc ? 0 : total - offset;
    if (count > 0 && count < n)
        n = count;
    if (!rc)
        rc = alloc_images(im, n);
    for (int i = 0; !rc && i < n; i++) {
        im->names[i] = strdup(dmbp_image_set_name(s, offset + i));
        if (!im->names[i])
            return cli_oom();
        im->index[i] = offset + i;
        im->n = i + 1;
        im->true_cls[i] = dmbp_image_set_true_class(s, offset + i);
        if (im->true_cls[i] >= classes) {
            fprintf(stderr, "dmbp: %s: true class %d, the model has %d "
                    "classes\n", im->names[i], im->true_cls[i], classes);
            return EXIT_FORMAT;
        }
        dmbp_image raw = {0};
        dmbp_status st = cli_load_image(im->names[i], f, &raw);
        if (st)
            rc = cli_fail(st);
        else
            rc = add_image(im, i, &raw, pre, n);
        if (!rc && truth && i == 0) {
            im->truth = malloc((size_t)n * im->h * im->w);
            if (!im->truth)
                rc = cli_oom();
        }
        if (!rc && truth)
            rc = add_truth(im, i, &raw, pre);
        dmbp_image_free(&raw);
    }
    return rc;
}
