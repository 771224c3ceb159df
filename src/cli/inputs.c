/* IMAGE arguments: files, directories of images, and - (standard input);
 * the one function that loads an image for every subcommand; output
 * paths checked against the inputs and existing files. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Ground-truth masks beside images (another tool's input): not images. */
#define TRUTH_SUFFIX ".truth.png"
/* Extensions of the images a directory contributes. */
static const char *const image_ext[] = {".png", ".jpg", ".jpeg"};
#define N_IMAGE_EXT (sizeof image_ext / sizeof image_ext[0])

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && !strcasecmp(s + ls - lx, suffix);
}

static bool is_image_name(const char *name)
{
    if (name[0] == '.' || ends_with(name, TRUTH_SUFFIX))
        return false;
    for (size_t k = 0; k < N_IMAGE_EXT; k++)
        if (ends_with(name, image_ext[k]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Lists of names                                                     */
/* ------------------------------------------------------------------ */

void cli_names_free(cli_names *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int cli_names_add(cli_names *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return cli_oom();
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return cli_oom();
    l->n++;
    return EXIT_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_list_dir(const char *dir, cli_names *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "dmbp: %s: cannot open: %s\n", dir, strerror(errno));
        return EXIT_IO;
    }
    int first = out->n, rc = EXIT_OK;
    size_t dl = strlen(dir);
    bool slash = dl && dir[dl - 1] == '/';
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!is_image_name(e->d_name))
            continue;
        size_t cap = dl + strlen(e->d_name) + 2;
        char *full = malloc(cap);
        if (!full) {
            rc = cli_oom();
            break;
        }
        snprintf(full, cap, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        struct stat sb;
        if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
            rc = cli_names_add(out, full);
        free(full);
    }
    closedir(d);
    if (!rc && out->n == first) {
        fprintf(stderr, "dmbp: %s: the directory has no PNG or JPEG file\n",
                dir);
        rc = EXIT_IO;
    }
    if (!rc)
        qsort(out->v + first, (size_t)(out->n - first), sizeof *out->v,
              by_name);
    return rc;
}

int cli_expand_images(const char *const *args, int n, cli_names *out)
{
    memset(out, 0, sizeof *out);
    int stdin_seen = 0;
    for (int i = 0; i < n; i++) {
        int rc;
        struct stat sb;
        if (!strcmp(args[i], "-")) {
            if (stdin_seen++)
                return cli_usage_error("- (standard input) given twice");
            rc = cli_names_add(out, "-");
        } else if (stat(args[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rc = cli_list_dir(args[i], out);
        } else {
            rc = cli_names_add(out, args[i]);
        }
        if (rc)
            return rc;
    }
    return EXIT_OK;
}


char *cli_stem(const char *path)
{
    if (!strcmp(path, "-"))
        return strdup("stdin");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    for (size_t k = 0; k < N_IMAGE_EXT; k++)
        if (ends_with(base, image_ext[k])) {
            len -= strlen(image_ext[k]);
            break;
        }
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = 0;
    }
    return s;
}

/* ------------------------------------------------------------------ */
/* Outputs                                                            */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* The inputs of a run, by file identity                              */
/* ------------------------------------------------------------------ */

void cli_inodes_free(cli_inodes *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

int cli_inodes_add(cli_inodes *s, const char *path)
{
    struct stat sb;
    if (!path || !strcmp(path, "-") || stat(path, &sb) != 0)
        return EXIT_OK; /* nothing there to overwrite */
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        void *nv = realloc(s->v, (size_t)cap * sizeof *s->v);
        if (!nv)
            return cli_oom();
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n].dev = sb.st_dev;
    s->v[s->n].ino = sb.st_ino;
    s->v[s->n].name = path;
    s->n++;
    s->sorted = false;
    return EXIT_OK;
}

static int by_inode(const void *a, const void *b)
{
    const struct cli_inode *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

const char *cli_inodes_find(cli_inodes *s, dev_t dev, ino_t ino)
{
    if (!s->sorted) {
        if (s->n)
            qsort(s->v, (size_t)s->n, sizeof *s->v, by_inode);
        s->sorted = true;
    }
    struct cli_inode key = {dev, ino, NULL};
    const struct cli_inode *hit =
        s->n ? bsearch(&key, s->v, (size_t)s->n, sizeof *s->v, by_inode)
             : NULL;
    return hit ? hit->name : NULL;
}

int cli_check_output_in(const char *path, cli_inodes *inputs, bool force)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return EXIT_OK; /* a new file */
    /* The file itself, and what a link there points at. */
    struct stat tb;
    const char *in = cli_inodes_find(inputs, sb.st_dev, sb.st_ino);
    if (!in && S_ISLNK(sb.st_mode) && stat(path, &tb) == 0)
        in = cli_inodes_find(inputs, tb.st_dev, tb.st_ino);
    if (in) {
        fprintf(stderr, "dmbp: %s: refusing to overwrite the input %s "
                "with an output (choose another -o or -O)\n", path, in);
        return EXIT_USAGE;
    }
    if (S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "dmbp: %s: a directory is in the way of an output "
                "file\n", path);
        return EXIT_IO;
    }
    if (!force) {
        fprintf(stderr, "dmbp: %s: the file exists; --force overwrites it\n",
                path);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cli_check_output(const char *path, const char *const *inputs,
                     int n_inputs, bool force)
{
    cli_inodes set = {0};
    int rc = EXIT_OK;
    for (int i = 0; i < n_inputs && !rc; i++)
        rc = cli_inodes_add(&set, inputs[i]);
    if (!rc)
        rc = cli_check_output_in(path, &set, force);
    cli_inodes_free(&set);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_unique_outputs(char *const *outs, const char *const *images, int n,
                       const char *tail)
{
    /* Sorted copies find duplicate names in n log n (sets are large). */
    char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    if (!sorted)
        return cli_oom();
    memcpy(sorted, outs, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_name);
    int rc = EXIT_OK;
    for (int i = 1; i < n && !rc; i++)
        if (!strcmp(sorted[i], sorted[i - 1])) {
            int a = -1, b = -1;
            for (int j = 0; j < n && b < 0; j++)
                if (!strcmp(outs[j], sorted[i])) {
                    b = a < 0 ? -1 : j;
                    a = a < 0 ? j : a;
                }
            rc = cli_usage_error("%s and %s would both write %s%s",
                                 images[a], images[b], sorted[i], tail);
        }
    free(sorted);
    return rc;
}

int cli_read_list(const char *file, const char *takes, cli_names *out)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "dmbp: %s: cannot open: %s\n", file, strerror(errno));
        return EXIT_IO;
    }
    static const unsigned char png_sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, f);
    if (got == sizeof sig && !memcmp(sig, png_sig, sizeof sig)) {
        fclose(f);
        return cli_usage_error("--images %s: a PNG image; --images takes %s",
                               file, takes);
    }
    rewind(f);
    char line[CLI_LIST_LINE_MAX];
    int rc = EXIT_OK, lineno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "dmbp: %s: line %d is longer than %d bytes\n",
                    file, lineno, CLI_LIST_LINE_MAX - 2);
            rc = EXIT_FORMAT;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len && line[0] != '#')
            rc = cli_names_add(out, line);
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "dmbp: %s: read error: %s\n", file, strerror(errno));
        rc = EXIT_IO;
    }
    fclose(f);
    return rc;
}
