/* IMAGE arguments (files, directories of images, and - for standard
 * input) and --images SPEC (a list file, a directory or idx:FILE: the
 * library's image sets, kept for the run so that an idx: set's images
 * load through cli_load_image); output paths checked against the inputs
 * and existing files; every image the program reads is loaded here
 * (cli_load_image). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ------------------------------------------------------------------ */
/* Image sets (the library's dmbp_image_set)                          */
/* ------------------------------------------------------------------ */

/* Every set opened by this process: kept until exit, so that an idx:
 * set's "FILE#K" names load through cli_load_image. */
static struct {
    dmbp_image_set **v;
    int n;
} sets;

static void free_sets(void)
{
    for (int k = 0; k < sets.n; k++)
        dmbp_image_set_free(sets.v[k]);
    free(sets.v);
    memset(&sets, 0, sizeof sets);
}

static int keep(dmbp_image_set *s)
{
    dmbp_image_set **nv = realloc(sets.v, (size_t)(sets.n + 1) * sizeof *nv);
    if (!nv) {
        dmbp_image_set_free(s);
        return cli_oom();
    }
    if (!sets.n)
        atexit(free_sets);
    sets.v = nv;
    sets.v[sets.n++] = s;
    return EXIT_OK;
}

static int append(const dmbp_image_set *s, cli_names *out)
{
    int rc = EXIT_OK;
    for (int i = 0; !rc && i < dmbp_image_set_count(s); i++)
        rc = cli_names_add(out, dmbp_image_set_name(s, i));
    return rc;
}

int cli_list_dir(const char *dir, cli_names *out)
{
    dmbp_image_set *s = NULL;
    dmbp_status st = dmbp_image_set_create(&s);
    if (!st)
        st = dmbp_image_set_add_dir(s, dir);
    int rc = st ? cli_fail(st) : append(s, out);
    dmbp_image_set_free(s);
    return rc;
}

int cli_images_open(const char *spec, const char *takes,
                    const dmbp_image_set **out)
{
    dmbp_image_set *s = NULL;
    dmbp_status st = dmbp_image_set_open(spec, &s);
    if (st == DMBP_ERR_ARG && strncmp(spec, "idx:", 4))
        return cli_usage_error("--images %s: a PNG image; --images takes %s",
                               spec, takes);
    if (st)
        return cli_fail(st);
    if (dmbp_image_set_count(s) == 0) {
        dmbp_image_set_free(s);
        return cli_usage_error("--images %s: the list names no image", spec);
    }
    *out = s;
    return keep(s);
}

int cli_read_list(const char *spec, const char *takes, cli_names *out)
{
    const dmbp_image_set *s = NULL;
    int rc = cli_images_open(spec, takes, &s);
    return rc ? rc : append(s, out);
}

dmbp_status cli_set_image(const char *name, const dmbp_image_load_options *o,
                          dmbp_image *out, bool *found)
{
    *found = false;
    for (int k = 0; k < sets.n; k++) {
        const dmbp_image_set *s = sets.v[k];
        if (!dmbp_image_set_is_idx(s))
            continue;
        /* Its names are FILE#0 .. FILE#(n-1), in order. */
        const char *hash = strrchr(name, '#');
        int n = dmbp_image_set_count(s), i;
        const char *first = dmbp_image_set_name(s, 0);
        if (!hash || strncmp(first, name, (size_t)(hash - name) + 1) ||
            !cli_parse_int(hash + 1, 0, n - 1, &i) ||
            strcmp(dmbp_image_set_name(s, i), name))
            continue;
        *found = true;
        return dmbp_image_set_load(s, i, o, out);
    }
    return DMBP_OK;
}

dmbp_status cli_image_file_ok(const char *path, const char *what)
{
    struct stat sb;
    if (!strcmp(path, "-") || stat(path, &sb) != 0 || S_ISREG(sb.st_mode) ||
        S_ISDIR(sb.st_mode))
        return DMBP_OK; /* the loader names what is wrong with those */
    return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not a regular file (%s are "
                          "read from files%s)", path, what,
                          strcmp(what, "images") ? ""
                          : ", or from - for standard input");
}

void cli_load_options(const cli_flags *f, dmbp_image_load_options *o)
{
    dmbp_image_load_options_init(o);
    o->exif_rotate = f->exif_rotate;
    if (f->given[CLI_O_MAX_PIXELS])
        o->max_pixels = f->max_pixels > INT64_MAX ? INT64_MAX
                                                  : (int64_t)f->max_pixels;
}

dmbp_status cli_load_image(const char *path, const cli_flags *f,
                           dmbp_image *out)
{
    dmbp_image_load_options o;
    cli_load_options(f, &o);
    bool in_set;
    dmbp_status set_st = cli_set_image(path, &o, out, &in_set);
    if (in_set) /* image K of an --images idx:FILE */
        return set_st;
    if (!strcmp(path, "-"))
        return dmbp_image_load_fd(0, "standard input", &o, out);
    /* A device or a FIFO could be endless: files only (the loader bounds
     * what it reads from one anyway). */
    dmbp_status st = cli_image_file_ok(path, "images");
    return st ? st : dmbp_image_load(path, &o, out);
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


/* ------------------------------------------------------------------ */
/* Outputs                                                            */
/* ------------------------------------------------------------------ */

int cli_check_outputs(const char *const *outs, int n_outs,
                      const char *const *inputs, int n_inputs, bool force)
{
    dmbp_status st = dmbp_check_outputs(outs, n_outs, inputs, n_inputs,
                                        force);
    return st ? cli_fail(st) : EXIT_OK;
}

int cli_check_writable_dir(const char *path)
{
    dmbp_status st = dmbp_check_writable_dir(path);
    return st ? cli_fail(st) : EXIT_OK;
}

int cli_unique_outputs(char *const *outs, const char *const *images, int n,
                       const char *tail)
{
    dmbp_status st = dmbp_check_unique_outputs((const char *const *)outs,
                                               images, n);
    if (st == DMBP_ERR_ARG)
        return cli_usage_error("%s%s", dmbp_last_error(), tail);
    return st ? cli_fail(st) : EXIT_OK;
}
