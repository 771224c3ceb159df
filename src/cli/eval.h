/* dmbp eval: what its files share (src/cli/eval*.c). */
#ifndef DMBP_CLI_EVAL_H
#define DMBP_CLI_EVAL_H

#include "cli.h"

/* ---- images (eval_images.c) ------------------------------------------ */

/* The selected images, preprocessed for the model. */
typedef struct ev_images {
    int n;
    char **names;       /* a PNG's path, or "PATH#INDEX" for IDX       */
    int *index;         /* position in the source (offset included)   */
    int c, h, w;
    float *x;           /* n x c x h x w, as the model takes them      */
    uint8_t *truth;     /* n x h x w DMBP_TRUTH_* (--ground-truth), or
                           NULL                                         */
    int *true_cls;      /* n: each image's true class, or -1 (an idx:
                           set's labels file, --true-labels)            */
} ev_images;


/* --images SPEC: "idx:PATH" (an IDX3 file of unsigned bytes, gzipped or
 * not: values / 255 as gray images), a directory (its *.png, sorted by
 * name; .png, .jpg and .jpeg files) or a file listing image paths, one
 * per line (read with cli_load_image and the flags f). With
 * f->ground_truth, each PNG's NAME.truth.png too, through the same resize
 * and crop. Images offset ..
 * offset + count - 1 (count 0: all to the end), each through
 * dmbp_image_preprocess with pre; an idx: set's true classes (< classes)
 * from its IDX1 labels file beside it, when there is one. On failure a message is printed and the
 * exit status returned; free out with ev_images_free either way. */
int ev_images_load(const char *spec, int offset, int count, int classes,
                   const dmbp_preprocess_options *pre, const cli_flags *f,
                   ev_images *out);
void ev_images_free(ev_images *im);

#endif
