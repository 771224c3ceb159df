/* dmbp_eval_images_load: an image set's images, preprocessed for the model,
 * with their true classes and ground truths, as an evaluation takes them
 * (dmbp_eval_run_compute's x and truth). */
#include "eval/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

void dmbp_eval_images_free(dmbp_eval_images *im)
{
    if (!im)
        return;
    if (im->names)
        for (int i = 0; i < im->n; i++)
            free(im->names[i]);
    free(im->names);
    free(im->index);
    free(im->x);
    free(im->truth);
    free(im->true_class);
    free(im);
}

/* A device or a FIFO could be endless: images and truths are files. */
static dmbp_status regular_file(const char *path, const char *what)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        return DMBP_OK; /* the loader names what is wrong with those */
    return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not a regular file (%s are "
                          "read from files)", path, what);
}

/* Preprocess raw into slot i (the first image fixes the size; cap slots). */
static dmbp_status add_image(dmbp_eval_images *im, int i,
                             const dmbp_image *raw,
                             const dmbp_preprocess_options *pre, int cap)
{
    dmbp_image x = {0};
    dmbp_status st = dmbp_image_preprocess(raw, pre, &x);
    if (st) /* the preprocessing's message does not name the image */
        return dmbp__prefix_error(st, im->names[i]);
    if (i == 0) {
        im->c = x.channels;
        im->h = x.height;
        im->w = x.width;
        im->x = dmbp__malloc((size_t)cap * im->c * im->h * im->w *
                             sizeof(float));
        st = im->x ? DMBP_OK : DMBP_ERR_NOMEM;
    } else if (x.channels != im->c || x.height != im->h ||
               x.width != im->w) {
        st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: preprocessed to %dx%dx%d, "
                            "%s to %dx%dx%d: evaluated images must have one "
                            "size (the preprocessing's crop, dmbp --crop)", im->names[i], x.channels,
                            x.height, x.width, im->names[0], im->c, im->h,
                            im->w);
    }
    if (!st) {
        size_t per = (size_t)im->c * im->h * im->w;
        memcpy(im->x + (size_t)i * per, x.data, per * sizeof(float));
    }
    dmbp_image_free(&x);
    return st;
}

/* NAME.truth.png of image i (raw: the image as read) on the input grid. */
static dmbp_status add_truth(dmbp_eval_images *im, int i,
                             const dmbp_image *raw,
                             const dmbp_preprocess_options *pre)
{
    const char *name = im->names[i];
    size_t len = strlen(name);
    if (len < 4 || strcasecmp(name + len - 4, ".png"))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: --ground-truth needs PNG "
                              "files named NAME.png (the truth is NAME%s)",
                              name, DMBP_TRUTH_SUFFIX);
    size_t cap = len + strlen(DMBP_TRUTH_SUFFIX) + 1;
    char *path = dmbp__malloc(cap);
    if (!path)
        return DMBP_ERR_NOMEM;
    snprintf(path, cap, "%.*s%s", (int)(len - 4), name, DMBP_TRUTH_SUFFIX);
    dmbp_status st = regular_file(path, "ground truths");
    if (!st)
        st = dmbp_eval_truth_load(path, raw->height, raw->width, pre, im->h,
                                  im->w, im->truth + (size_t)i * im->h *
                                                         im->w);
    free(path);
    return st;
}

static dmbp_status load(const dmbp_image_set *s, int first, int n,
                        int classes, const dmbp_image_load_options *lo,
                        const dmbp_preprocess_options *pre, int ground_truth,
                        dmbp_eval_images *im)
{
    im->names = dmbp__calloc((size_t)n, sizeof *im->names);
    im->index = dmbp__calloc((size_t)n, sizeof *im->index);
    im->true_class = dmbp__calloc((size_t)n, sizeof *im->true_class);
    if (!im->names || !im->index || !im->true_class)
        return DMBP_ERR_NOMEM;
    bool idx = dmbp_image_set_is_idx(s);
    for (int i = 0; i < n; i++) {
        im->names[i] = dmbp__strdup(dmbp_image_set_name(s, first + i));
        if (!im->names[i])
            return DMBP_ERR_NOMEM;
        im->n = i + 1;
        im->index[i] = first + i;
        im->true_class[i] = dmbp_image_set_true_class(s, first + i);
        if (im->true_class[i] >= classes)
            return dmbp_set_error(DMBP_ERR_FORMAT, "%s: true class %d, the "
                                  "model has %d classes", im->names[i],
                                  im->true_class[i], classes);
        dmbp_image raw = {0};
        dmbp_status st = idx ? DMBP_OK : regular_file(im->names[i], "images");
        if (!st)
            st = dmbp_image_set_load(s, first + i, lo, &raw);
        if (!st)
            st = add_image(im, i, &raw, pre, n);
        if (!st && ground_truth && i == 0) {
            im->truth = dmbp__malloc((size_t)n * im->h * im->w);
            st = im->truth ? DMBP_OK : DMBP_ERR_NOMEM;
        }
        if (!st && ground_truth)
            st = add_truth(im, i, &raw, pre);
        dmbp_image_free(&raw);
        if (st)
            return st;
    }
    return DMBP_OK;
}

dmbp_status dmbp_eval_images_load(const dmbp_image_set *s, int first, int n,
                                  int classes,
                                  const dmbp_image_load_options *lo,
                                  const dmbp_preprocess_options *pre,
                                  int ground_truth, dmbp_eval_images **out)
{
    if (!out || !s || !pre)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_images_load: NULL "
                              "argument");
    *out = NULL;
    int total = dmbp_image_set_count(s);
    if (first < 0 || first >= total || n < 0 || classes < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_images_load: images "
                              "%d + %d of a set of %d (classes %d)", first,
                              n, total, classes);
    if (ground_truth && dmbp_image_set_is_idx(s))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: an idx: set has no ground "
                              "truth (NAME%s beside each NAME.png)",
                              dmbp_image_set_name(s, 0), DMBP_TRUTH_SUFFIX);
    if (n == 0 || n > total - first)
        n = total - first;
    dmbp_eval_images *im = dmbp__calloc(1, sizeof *im);
    if (!im)
        return DMBP_ERR_NOMEM;
    dmbp_status st = load(s, first, n, classes, lo, pre, ground_truth, im);
    if (st) {
        dmbp_eval_images_free(im);
        return st;
    }
    *out = im;
    return DMBP_OK;
}
