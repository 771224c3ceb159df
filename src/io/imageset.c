/* Image sets (dmbp_image_set): the images one word names, a file listing
 * image paths, a directory of PNG and JPEG files, or idx:FILE (an IDX3
 * file of unsigned bytes, the MNIST format, gzipped or not, as Debian's
 * dataset-fashion-mnist ships it, with its true classes from the IDX1
 * labels file beside it). */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_PREFIX "idx:"
/* IDX magic: two zero bytes, type 0x08 (unsigned byte), 3 dimensions (the
 * images) or 1 (the labels). */
#define IDX3_UBYTE_MAGIC 0x00000803u
#define IDX1_UBYTE_MAGIC 0x00000801u
/* The labels file beside an images file, as MNIST and Fashion-MNIST name
 * them (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). */
#define IDX_IMAGES_PART "images-idx3-ubyte"
#define IDX_LABELS_PART "labels-idx1-ubyte"
#define IDX_HEADER_BYTES 16
#define IDX1_HEADER_BYTES 8
/* A list's names, grown by doubling from this. */
#define NAMES_CAP0 16

/* Extensions of the images a directory contributes. */
static const char *const image_ext[] = {".png", ".jpg", ".jpeg"};
#define N_IMAGE_EXT (sizeof image_ext / sizeof image_ext[0])

struct dmbp_image_set {
    int n, cap;
    char **names;          /* n: paths, or "FILE#K" for IDX             */
    int *true_cls;         /* n, -1 unknown                            */
    char *idx_path;        /* IDX: the file; NULL for paths            */
    int rows, cols;        /* IDX: each image's size                   */
    unsigned char *pixels; /* IDX: n x rows x cols, as the file has them */
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && !strcasecmp(s + ls - lx, suffix);
}

int dmbp_image_set_is_image_name(const char *name)
{
    if (!name || name[0] == '.' || ends_with(name, DMBP_TRUTH_SUFFIX))
        return false;
    for (size_t k = 0; k < N_IMAGE_EXT; k++)
        if (ends_with(name, image_ext[k]))
            return true;
    return false;
}

void dmbp_image_set_free(dmbp_image_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    free(s->true_cls);
    free(s->idx_path);
    free(s->pixels);
    free(s);
}

static dmbp_status add(dmbp_image_set *s, const char *name)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : NAMES_CAP0;
        char **nv = realloc(s->names, (size_t)cap * sizeof *nv);
        int *nc = nv ? realloc(s->true_cls, (size_t)cap * sizeof *nc) : NULL;
        if (nv)
            s->names = nv;
        if (!nc)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        s->true_cls = nc;
        s->cap = cap;
    }
    if (!(s->names[s->n] = dmbp__strdup(name)))
        return DMBP_ERR_NOMEM;
    s->true_cls[s->n++] = -1;
    return DMBP_OK;
}

/* ------------------------------------------------------------------ */
/* Directories and list files                                         */
/* ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

dmbp_status dmbp_image_set_add_dir(dmbp_image_set *s, const char *dir)
{
    if (!s || !dir)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_set_add_dir: NULL");
    DIR *d = opendir(dir);
    if (!d)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", dir,
                              strerror(errno));
    int first = s->n;
    dmbp_status st = DMBP_OK;
    size_t dl = strlen(dir);
    bool slash = dl && dir[dl - 1] == '/';
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (!dmbp_image_set_is_image_name(e->d_name))
            continue;
        size_t cap = dl + strlen(e->d_name) + 2;
        char *full = dmbp__malloc(cap);
        if (!full) {
            st = DMBP_ERR_NOMEM;
            break;
        }
        snprintf(full, cap, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        struct stat sb;
        if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
            st = add(s, full);
        free(full);
    }
    closedir(d);
    if (!st && s->n == first)
        st = dmbp_set_error(DMBP_ERR_IO, "%s: the directory has no PNG or "
                            "JPEG file", dir);
    if (!st)
        qsort(s->names + first, (size_t)(s->n - first), sizeof *s->names,
              by_name);
    return st;
}

dmbp_status dmbp_image_set_add_list(dmbp_image_set *s, const char *file)
{
    if (!s || !file)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_set_add_list: NULL");
    FILE *f = fopen(file, "r");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", file,
                              strerror(errno));
    static const unsigned char png_sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, f);
    if (got == sizeof sig && !memcmp(sig, png_sig, sizeof sig)) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_ARG, "%s: a PNG image, not a list of "
                              "images", file);
    }
    rewind(f);
    char line[DMBP_IMAGE_SET_LINE_MAX];
    int lineno = 0;
    dmbp_status st = DMBP_OK;
    while (!st && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: line %d is longer "
                                "than %d bytes", file, lineno,
                                DMBP_IMAGE_SET_LINE_MAX - 2);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len && line[0] != '#')
            st = add(s, line);
    }
    if (!st && ferror(f))
        st = dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", file,
                            strerror(errno));
    fclose(f);
    return st;
}

/* ------------------------------------------------------------------ */
/* IDX                                                                */
/* ------------------------------------------------------------------ */

static dmbp_status idx_read(gzFile g, const char *path, void *buf,
                            unsigned len, const char *what)
{
    int got = gzread(g, buf, len);
    if (got == (int)len)
        return DMBP_OK;
    int zerr;
    const char *msg = gzerror(g, &zerr);
    if (got < 0 || zerr < 0) {
        if (zerr == Z_ERRNO)
            return dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", path,
                                  strerror(errno));
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: corrupt compressed "
                              "data: %s", path, msg);
    }
    return dmbp_set_error(DMBP_ERR_FORMAT, "%s: truncated: the file ends in "
                          "%s", path, what);
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
           (uint32_t)b[2] << 8 | b[3];
}

static gzFile idx_open(const char *path)
{
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g)
        dmbp_set_error(errno ? DMBP_ERR_IO : DMBP_ERR_NOMEM,
                       "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    return g;
}

/* The true classes from the IDX1 labels file beside path, when there is
 * one: one unsigned byte per image, as many as the images file holds. */
static dmbp_status idx_labels(dmbp_image_set *s, const char *path)
{
    const char *base = strrchr(path, '/');
    const char *at = strstr(base ? base : path, IDX_IMAGES_PART);
    if (!at)
        return DMBP_OK;
    char *lp = dmbp__strdup(path);
    if (!lp)
        return DMBP_ERR_NOMEM;
    memcpy(lp + (at - path), IDX_LABELS_PART, strlen(IDX_LABELS_PART));
    if (access(lp, F_OK) != 0) {
        free(lp);
        return DMBP_OK;
    }
    gzFile g = idx_open(lp);
    unsigned char head[IDX1_HEADER_BYTES], *cls = NULL;
    dmbp_status st = g ? idx_read(g, lp, head, sizeof head, "its header")
                       : DMBP_ERR_IO;
    if (!st && (be32(head) != IDX1_UBYTE_MAGIC ||
                be32(head + 4) != (uint32_t)s->n))
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: not the IDX1 labels of %s "
                            "(magic 0x%08x, %u labels for %d images)", lp,
                            path, (unsigned)be32(head),
                            (unsigned)be32(head + 4), s->n);
    if (!st && !(cls = dmbp__malloc((size_t)s->n + 1)))
        st = DMBP_ERR_NOMEM;
    if (!st)
        st = idx_read(g, lp, cls, (unsigned)s->n, "a label");
    for (int i = 0; !st && i < s->n; i++)
        s->true_cls[i] = cls[i];
    if (g)
        gzclose(g);
    free(cls);
    free(lp);
    return st;
}

/* Every image's bytes into s->pixels, grown as they are read (a header
 * that claims more images than the file holds fails as truncated before
 * it allocates them). */
static dmbp_status idx_pixels(dmbp_image_set *s, gzFile g, const char *path,
                              uint32_t total)
{
    size_t plane = (size_t)s->rows * s->cols, cap = 0;
    dmbp_status st = DMBP_OK;
    for (uint32_t i = 0; !st && i < total; i++) {
        if ((size_t)i + 1 > cap) {
            size_t ncap = cap ? 2 * cap : NAMES_CAP0;
            unsigned char *np = ncap <= SIZE_MAX / plane
                                    ? realloc(s->pixels, ncap * plane) : NULL;
            if (!np)
                return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
            s->pixels = np;
            cap = ncap;
        }
        char what[64];
        snprintf(what, sizeof what, "image %u", (unsigned)i);
        st = idx_read(g, path, s->pixels + i * plane, (unsigned)plane, what);
    }
    return st;
}

static dmbp_status open_idx(dmbp_image_set *s, const char *path)
{
    if (!*path)
        return dmbp_set_error(DMBP_ERR_ARG, "idx: needs a file name");
    gzFile g = idx_open(path);
    if (!g)
        return DMBP_ERR_IO;
    unsigned char head[IDX_HEADER_BYTES];
    dmbp_status st = idx_read(g, path, head, sizeof head, "its header");
    uint32_t magic = be32(head), total = be32(head + 4);
    uint32_t rows = be32(head + 8), cols = be32(head + 12);
    if (!st && magic != IDX3_UBYTE_MAGIC)
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: not an IDX3 file of "
                            "unsigned bytes (magic 0x%08x, expected 0x%08x)",
                            path, (unsigned)magic, IDX3_UBYTE_MAGIC);
    if (!st && (rows < 1 || cols < 1 || rows > DMBP_IMAGE_MAX_SIDE ||
                cols > DMBP_IMAGE_MAX_SIDE || total > INT32_MAX))
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: implausible IDX3 sizes "
                            "%u x %u x %u", path, (unsigned)total,
                            (unsigned)rows, (unsigned)cols);
    s->rows = (int)rows;
    s->cols = (int)cols;
    if (!st)
        st = idx_pixels(s, g, path, total);
    gzclose(g);
    if (!st && !(s->idx_path = dmbp__strdup(path)))
        st = DMBP_ERR_NOMEM;
    size_t len = strlen(path) + 16;
    char *name = st ? NULL : dmbp__malloc(len);
    if (!st && !name)
        st = DMBP_ERR_NOMEM;
    for (uint32_t i = 0; !st && i < total; i++) {
        snprintf(name, len, "%s#%u", path, (unsigned)i);
        st = add(s, name);
    }
    free(name);
    return st ? st : idx_labels(s, path);
}

/* ------------------------------------------------------------------ */
/* The set                                                            */
/* ------------------------------------------------------------------ */

dmbp_status dmbp_image_set_create(dmbp_image_set **out)
{
    if (!out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_set_create: NULL");
    *out = dmbp__calloc(1, sizeof **out);
    return *out ? DMBP_OK : DMBP_ERR_NOMEM;
}

dmbp_status dmbp_image_set_open(const char *spec, dmbp_image_set **out)
{
    if (out)
        *out = NULL;
    if (!spec || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_set_open: NULL");
    dmbp_image_set *s = NULL;
    TRY(dmbp_image_set_create(&s));
    dmbp_status st;
    struct stat sb;
    if (!strncmp(spec, IDX_PREFIX, strlen(IDX_PREFIX)))
        st = open_idx(s, spec + strlen(IDX_PREFIX));
    else if (stat(spec, &sb) != 0)
        st = dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", spec,
                            strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = dmbp_image_set_add_dir(s, spec);
    else
        st = dmbp_image_set_add_list(s, spec);
    if (st) {
        dmbp_image_set_free(s);
        return st;
    }
    *out = s;
    return DMBP_OK;
}

int dmbp_image_set_count(const dmbp_image_set *s)
{
    return s ? s->n : 0;
}

const char *dmbp_image_set_name(const dmbp_image_set *s, int i)
{
    return s && i >= 0 && i < s->n ? s->names[i] : NULL;
}

int dmbp_image_set_true_class(const dmbp_image_set *s, int i)
{
    return s && i >= 0 && i < s->n ? s->true_cls[i] : -1;
}

int dmbp_image_set_is_idx(const dmbp_image_set *s)
{
    return s && s->idx_path;
}

/* Image i of an IDX set: gray, values / 255. */
static dmbp_status load_idx(const dmbp_image_set *s, int i, dmbp_image *out)
{
    size_t plane = (size_t)s->rows * s->cols;
    float *data = dmbp__malloc(plane * sizeof *data);
    if (!data)
        return DMBP_ERR_NOMEM;
    const unsigned char *bytes = s->pixels + (size_t)i * plane;
    for (size_t p = 0; p < plane; p++)
        data[p] = bytes[p] / 255.0f;
    *out = (dmbp_image){1, s->rows, s->cols, data};
    return DMBP_OK;
}

dmbp_status dmbp_image_set_load(const dmbp_image_set *s, int i,
                                const dmbp_image_load_options *o,
                                dmbp_image *out)
{
    if (!s || !out || i < 0 || i >= s->n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_image_set_load: image %d "
                              "of %d", i, s ? s->n : 0);
    memset(out, 0, sizeof *out);
    if (s->idx_path)
        return load_idx(s, i, out);
    return dmbp_image_load(s->names[i], o, out);
}
