/* dmbp eval --images: a list file, a directory of PNGs, or an IDX3 file
 * (the MNIST format, as Debian's dataset-fashion-mnist ships it, gzipped),
 * each image preprocessed for the model as it is read. */
#include "eval.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* IDX magic: two zero bytes, type 0x08 (unsigned byte), 3 dimensions (the
 * images) or 1 (the labels). */
#define IDX3_UBYTE_MAGIC 0x00000803u
#define IDX1_UBYTE_MAGIC 0x00000801u
/* The labels file beside an images file, as MNIST and Fashion-MNIST name
 * them (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). */
#define IDX_IMAGES_PART "images-idx3-ubyte"
#define IDX_LABELS_PART "labels-idx1-ubyte"

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

/* ------------------------------------------------------------------ */
/* IDX3                                                               */
/* ------------------------------------------------------------------ */

static int idx_read(gzFile g, const char *path, void *buf, unsigned len,
                    const char *what)
{
    int got = gzread(g, buf, len);
    if (got == (int)len)
        return EXIT_OK;
    int zerr;
    const char *msg = gzerror(g, &zerr);
    if (got < 0 || zerr < 0) {
        if (zerr == Z_ERRNO)
            fprintf(stderr, "dmbp: %s: read error: %s\n", path,
                    strerror(errno));
        else
            fprintf(stderr, "dmbp: %s: corrupt compressed data: %s\n", path,
                    msg);
        return zerr == Z_ERRNO ? EXIT_IO : EXIT_FORMAT;
    }
    fprintf(stderr, "dmbp: %s: truncated: the file ends in %s\n", path,
            what);
    return EXIT_FORMAT;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
           (uint32_t)b[2] << 8 | b[3];
}

static int idx_labels(const char *path, uint32_t total, int offset,
                      int classes, ev_images *im);

static int load_idx(const char *path, int offset, int count, int classes,
                    const dmbp_preprocess_options *pre, ev_images *im)
{
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        fprintf(stderr, "dmbp: %s: cannot open: %s\n", path,
                errno ? strerror(errno) : "out of memory");
        return errno ? EXIT_IO : EXIT_INTERNAL;
    }
    unsigned char head[16];
    int rc = idx_read(g, path, head, sizeof head, "its header");
    uint32_t magic = be32(head), total = be32(head + 4);
    uint32_t rows = be32(head + 8), cols = be32(head + 12);
    if (!rc && magic != IDX3_UBYTE_MAGIC) {
        fprintf(stderr, "dmbp: %s: not an IDX3 file of unsigned bytes "
                "(magic 0x%08x, expected 0x%08x)\n", path, (unsigned)magic,
                IDX3_UBYTE_MAGIC);
        rc = EXIT_FORMAT;
    }
    if (!rc && (rows < 1 || cols < 1 || rows > DMBP_IMAGE_MAX_SIDE ||
                cols > DMBP_IMAGE_MAX_SIDE || total > INT32_MAX)) {
        fprintf(stderr, "dmbp: %s: implausible IDX3 sizes %u x %u x %u\n",
                path, (unsigned)total, (unsigned)rows, (unsigned)cols);
        rc = EXIT_FORMAT;
    }
    if (!rc && (uint32_t)offset >= total) {
        rc = cli_usage_error("--offset %d: %s holds %u images", offset, path,
                             (unsigned)total);
    }
    int n = 0;
    if (!rc) {
        n = (int)total - offset;
        if (count > 0 && count < n)
            n = count;
        rc = alloc_images(im, n);
    }
    size_t plane = (size_t)rows * cols;
    unsigned char *bytes = rc ? NULL : malloc(plane);
    float *data = rc ? NULL : malloc(plane * sizeof(float));
    if (!rc && (!bytes || !data))
        rc = cli_oom();
    /* Skip to the offset by reading: gzseek would do the same. */
    for (int i = 0; !rc && i < offset; i++)
        rc = idx_read(g, path, bytes, (unsigned)plane, "an image");
    size_t len = strlen(path) + 16;
    for (int i = 0; !rc && i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "image %d", offset + i);
        rc = idx_read(g, path, bytes, (unsigned)plane, what);
        if (rc)
            break;
        im->names[i] = malloc(len);
        if (!im->names[i]) {
            rc = cli_oom();
            break;
        }
        snprintf(im->names[i], len, "%s#%d", path, offset + i);
        im->index[i] = offset + i;
        im->n = i + 1;
        for (size_t p = 0; p < plane; p++)
            data[p] = bytes[p] / 255.0f;
        dmbp_image raw = {1, (int)rows, (int)cols, data};
        rc = add_image(im, i, &raw, pre, n);
    }
    free(bytes);
    free(data);
    gzclose(g);
    if (!rc)
        rc = idx_labels(path, total, offset, classes, im);
    return rc;
}

/* The true classes of images offset .. offset + im->n - 1 of the IDX3
 * file path from the IDX1 labels file beside it, when there is one: one
 * unsigned byte per image, as many as the images file holds. */
static int idx_labels(const char *path, uint32_t total, int offset,
                      int classes, ev_images *im)
{
    const char *base = strrchr(path, '/');
    const char *at = strstr(base ? base : path, IDX_IMAGES_PART);
    if (!at)
        return EXIT_OK;
    size_t len = strlen(path);
    char *lp = malloc(len + 1);
    if (!lp)
        return cli_oom();
    memcpy(lp, path, len + 1);
    memcpy(lp + (at - path), IDX_LABELS_PART, strlen(IDX_LABELS_PART));
    gzFile g = access(lp, F_OK) == 0 ? gzopen(lp, "rb") : NULL;
    unsigned char head[8], *cls = NULL;
    int rc = g ? idx_read(g, lp, head, sizeof head, "its header") : EXIT_OK;
    if (g && !rc && (be32(head) != IDX1_UBYTE_MAGIC || be32(head + 4) != total)) {
        fprintf(stderr, "dmbp: %s: not the IDX1 labels of %s (magic 0x%08x, "
                "%u labels for %u images)\n", lp, path, (unsigned)be32(head),
                (unsigned)be32(head + 4), (unsigned)total);
        rc = EXIT_FORMAT;
    }
    if (g && !rc && !(cls = malloc((size_t)offset + im->n)))
        rc = cli_oom();
    if (g && !rc)
        rc = idx_read(g, lp, cls, (unsigned)(offset + im->n), "a label");
    for (int i = 0; g && !rc && i < im->n; i++) {
        if (cls[offset + i] >= classes) {
            fprintf(stderr, "dmbp: %s: label %d of image %d: the model has "
                    "%d classes\n", lp, cls[offset + i], offset + i, classes);
            rc = EXIT_FORMAT;
        }
        im->true_cls[i] = cls[offset + i];
    }
    if (g)
        gzclose(g);
    free(cls);
    free(lp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* PNG paths: a directory or a list file                              */
/* ------------------------------------------------------------------ */

static int list_file(const char *file, cli_names *ps)
{
    int rc = cli_read_list(file, "a file listing PNG paths, a directory or "
                           "idx:PATH", ps);
    if (!rc && ps->n == 0)
        rc = cli_usage_error("--images %s: the list names no image", file);
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

static int load_files(const char *spec, bool dir, int offset, int count,
                      const dmbp_preprocess_options *pre,
                      const cli_flags *f, ev_images *im)
{
    bool truth = f->ground_truth;
    cli_names ps = {0};
    int rc = dir ? cli_list_dir(spec, &ps) : list_file(spec, &ps);
    if (!rc && offset >= ps.n)
        rc = cli_usage_error("--offset %d: %s has %d images", offset, spec,
                             ps.n);
    int n = rc ? 0 : ps.n - offset;
    if (count > 0 && count < n)
        n = count;
    if (!rc)
        rc = alloc_images(im, n);
    for (int i = 0; !rc && i < n; i++) {
        /* The name moves to im. */
        im->names[i] = ps.v[offset + i];
        ps.v[offset + i] = NULL;
        im->index[i] = offset + i;
        im->n = i + 1;
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
    cli_names_free(&ps);
    return rc;
}

int ev_images_load(const char *spec, int offset, int count, int classes,
                   const dmbp_preprocess_options *pre, const cli_flags *f,
                   ev_images *out)
{
    memset(out, 0, sizeof *out);
    bool truth = f->ground_truth;
    if (!strncmp(spec, "idx:", 4)) {
        if (!spec[4])
            return cli_usage_error("--images idx: needs a file name");
        if (truth)
            return cli_usage_error("--ground-truth needs PNG images with "
                                   "NAME%s beside each NAME.png, not "
                                   "--images %s", DMBP_TRUTH_SUFFIX, spec);
        return load_idx(spec + 4, offset, count, classes, pre, out);
    }
    struct stat sb;
    if (stat(spec, &sb) != 0) {
        fprintf(stderr, "dmbp: %s: cannot open: %s\n", spec, strerror(errno));
        return EXIT_IO;
    }
    return load_files(spec, S_ISDIR(sb.st_mode), offset, count, pre, f,
                      out);
}
