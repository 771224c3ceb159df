/* Class names (--labels FILE or the model's) and the class each image is
 * explained for (--target, --targets FILE). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest line of a labels or targets file. */
#define LINE_MAX_LEN 4096
/* "top:K" selects the K-th most probable class. */
#define TOP_PREFIX "top:"

static int out_of_memory(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

/* The lines of path (line ends removed) into l; what names the file's role
 * in messages. */
static int read_lines(const char *path, const char *what, cli_names *l)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dmbp: %s: cannot open %s: %s\n", path, what,
                strerror(errno));
        return EXIT_IO;
    }
    char line[LINE_MAX_LEN];
    int rc = EXIT_OK;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "dmbp: %s: line %d is longer than %d bytes\n",
                    path, l->n + 1, LINE_MAX_LEN - 2);
            rc = EXIT_FORMAT;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        rc = cli_names_add(l, line);
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "dmbp: %s: read error: %s\n", path, strerror(errno));
        rc = EXIT_IO;
    }
    fclose(f);
    return rc;
}

int cli_labels_read(const char *path, int classes, cli_names *l)
{
    int rc = read_lines(path, "labels", l);
    if (!rc && l->n < classes) {
        fprintf(stderr, "dmbp: %s: %d labels for a model with %d classes\n",
                path, l->n, classes);
        rc = EXIT_FORMAT;
    }
    return rc;
}

const char *cli_label(const dmbp_model *m, const cli_names *l, int c)
{
    if (l && l->n)
        return c >= 0 && c < l->n ? l->v[c] : NULL;
    return dmbp_model_label(m, c);
}

/* One target: *cls a class or -1 (the top class), or *rank >= 2 for
 * top:K. */
static int parse_one(const char *spec, const char *where,
                     const dmbp_model *m, const cli_names *l, int *cls,
                     int *rank)
{
    int classes = dmbp_model_num_classes(m);
    *cls = -1;
    *rank = 0;
    if (!strcmp(spec, "auto"))
        return EXIT_OK;
    if (!strncmp(spec, TOP_PREFIX, strlen(TOP_PREFIX))) {
        int k;
        if (!cli_parse_int(spec + strlen(TOP_PREFIX), 1, classes, &k))
            return cli_usage_error("%s '%s': top:K needs K from 1 to %d",
                                   where, spec, classes);
        *rank = k > 1 ? k : 0;
        return EXIT_OK;
    }
    if (spec[0] >= '0' && spec[0] <= '9') {
        if (!cli_parse_int(spec, 0, classes - 1, cls))
            return cli_usage_error("%s '%s': expected a class from 0 to %d",
                                   where, spec, classes - 1);
        return EXIT_OK;
    }
    /* A label: exactly, else ignoring case. */
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < classes; c++) {
            const char *lab = cli_label(m, l, c);
            if (lab && (pass ? !strcasecmp(lab, spec) : !strcmp(lab, spec))) {
                *cls = c;
                return EXIT_OK;
            }
        }
    const char *first = cli_label(m, l, 0);
    if (!first)
        return cli_usage_error("%s '%s': the model has no labels (give a "
                               "class index or --labels FILE)", where, spec);
    return cli_usage_error("%s '%s': expected auto, top:K, a class from 0 "
                           "to %d or a label such as '%s'", where, spec,
                           classes - 1, first);
}

/* The class of rank k (1: the top) of image x: one forward pass. */
static int class_of_rank(dmbp_plan **plan, const dmbp_model *m,
                         const float *x, int c, int h, int w, int k,
                         int *cls)
{
    (void)c;
    dmbp_status st = DMBP_OK;
    if (!*plan) {
        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        po.height = h;
        po.width = w;
        st = dmbp_plan_create(m, &po, plan);
    }
    int classes = dmbp_model_num_classes(m);
    float *logits = malloc((size_t)classes * sizeof *logits);
    char *taken = calloc((size_t)classes, 1);
    if (!logits || !taken) {
        free(logits);
        free(taken);
        return out_of_memory();
    }
    if (!st)
        st = dmbp_plan_forward(*plan, x, logits);
    /* k selections of the largest, ties to the lower index (as predict). */
    for (int j = 0; !st && j < k; j++) {
        int best = -1;
        for (int i = 0; i < classes; i++)
            if (!taken[i] && (best < 0 || logits[i] > logits[best]))
                best = i;
        taken[best] = 1;
        *cls = best;
    }
    free(logits);
    free(taken);
    return st ? cli_fail(st) : EXIT_OK;
}

int cli_targets_resolve(const cli_flags *f, const dmbp_model *m,
                        const cli_names *labels, const float *xs, int n,
                        int c, int h, int w, int first, int set_size,
                        int *targets)
{
    if (set_size <= 0)
        set_size = n;
    if (f->target && f->targets)
        return cli_usage_error("--target and --targets exclude each other");
    cli_names specs = {0};
    int rc = EXIT_OK;
    if (f->targets) {
        rc = read_lines(f->targets, "targets", &specs);
        if (!rc && specs.n != set_size) {
            fprintf(stderr, "dmbp: %s: %d targets for %d images (one line "
                    "per image)\n", f->targets, specs.n, set_size);
            rc = EXIT_FORMAT;
        }
    }
    dmbp_plan *plan = NULL;
    size_t per = (size_t)c * h * w;
    for (int i = 0; !rc && i < n; i++) {
        const char *spec = f->targets ? specs.v[first + i]
                           : f->target ? f->target : "auto";
        char where[64];
        if (f->targets)
            snprintf(where, sizeof where, "%.40s: line %d", f->targets,
                     first + i + 1);
        else
            snprintf(where, sizeof where, "--target");
        int rank;
        rc = parse_one(spec, where, m, labels, &targets[i], &rank);
        if (!rc && rank) {
            if (!xs)
                rc = cli_usage_error("%s '%s': top:K is for explain and "
                                     "masks", where, spec);
            else
                rc = class_of_rank(&plan, m, xs + (size_t)i * per, c, h, w,
                                   rank, &targets[i]);
        }
        if (rc == EXIT_USAGE && f->targets)
            rc = EXIT_FORMAT; /* a bad line of a file, not of argv */
    }
    dmbp_plan_free(plan);
    cli_names_free(&specs);
    return rc;
}

int cli_targets_check_count(const cli_flags *f, int n)
{
    if (!f->targets)
        return EXIT_OK;
    if (f->target)
        return cli_usage_error("--target and --targets exclude each other");
    cli_names specs = {0};
    int rc = read_lines(f->targets, "targets", &specs);
    if (!rc && specs.n != n) {
        fprintf(stderr, "dmbp: %s: %d targets for %d images (one line per "
                "image)\n", f->targets, specs.n, n);
        rc = EXIT_FORMAT;
    }
    cli_names_free(&specs);
    return rc;
}
