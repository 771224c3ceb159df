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

static int out_of_memory(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

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
            return out_of_memory();
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return out_of_memory();
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
            rc = out_of_memory();
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

int cli_check_output(const char *path, const char *const *inputs,
                     int n_inputs, bool force)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return EXIT_OK; /* a new file */
    for (int i = 0; i < n_inputs; i++) {
        struct stat si;
        if (inputs[i] && strcmp(inputs[i], "-") && stat(inputs[i], &si) == 0
            && si.st_dev == sb.st_dev && si.st_ino == sb.st_ino) {
            fprintf(stderr, "dmbp: %s: refusing to overwrite the input %s "
                    "with an output (choose another -o or -O)\n", path,
                    inputs[i]);
            return EXIT_USAGE;
        }
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
