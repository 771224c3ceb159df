/* Class names (--labels FILE or the model's) and the class each image is
 * explained for (--target, --targets FILE). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "top:K" selects the K-th most probable class; "label:NAME" a label even
 * when NAME reads as a number, auto or top:K. */
#define TOP_PREFIX "top:"
#define LABEL_PREFIX "label:"

/* The lines of path (dmbp_labels_read: at least `classes` of them) into
 * l. */
static int read_lines(const char *path, int classes, cli_names *l)
{
    dmbp_labels *dl = NULL;
    dmbp_status st = dmbp_labels_read(path, classes, &dl);
    int rc = st ? cli_fail(st) : EXIT_OK;
    for (int i = 0; !rc && i < dmbp_labels_count(dl); i++)
        rc = cli_names_add(l, dmbp_labels_get(dl, i));
    dmbp_labels_free(dl);
    return rc;
}

int cli_labels_read(const char *path, int classes, cli_names *l)
{
    return read_lines(path, classes, l);
}

const char *cli_label(const dmbp_model *m, const cli_names *l, int c)
{
    return dmbp_class_label(m, l ? (const char *const *)l->v : NULL,
                            l ? l->n : 0, c);
}

/* A target's problem, in the words of where it came from: --target is a
 * usage error, a line of --targets FILE a format error naming the line. */
static int spec_error(const char *file, int line, const char *spec,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int spec_error(const char *file, int line, const char *spec,
                      const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!file)
        return cli_usage_error("--target '%s': %s", spec, why);
    fprintf(stderr, "dmbp: %s: line %d '%s': %s\n", file, line, spec, why);
    return EXIT_FORMAT;
}

/* The class labelled name (dmbp_label_find), or the error of spec. */
static int find_label(const char *name, const char *file, int line,
                      const char *spec, const dmbp_model *m,
                      const cli_names *l, int *cls)
{
    const char *near = NULL;
    dmbp_status st = dmbp_label_find(m, (const char *const *)l->v, l->n,
                                     name, cls, &near);
    if (!st)
        return EXIT_OK;
    if (strstr(dmbp_last_error(), "both labelled"))
        return spec_error(file, line, spec, "%s", dmbp_last_error());
    const char *first = cli_label(m, l, 0);
    if (!first)
        return spec_error(file, line, spec, "the model has no labels (give "
                          "a class index or --labels FILE)");
    char hint[DMBP_LABEL_MAX + 32] = "";
    if (near)
        snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    return spec_error(file, line, spec, "expected auto, top:K, a class from "
                      "0 to %d or a label such as '%s' (label:NAME for a "
                      "label that reads as one of the others)%s",
                      dmbp_model_num_classes(m) - 1, first, hint);
}

/* One target: *cls a class or -1 (the top class), or *rank >= 2 for
 * top:K. */
static int parse_one(const char *spec, const char *file, int line,
                     const dmbp_model *m, const cli_names *l, int *cls,
                     int *rank)
{
    int classes = dmbp_model_num_classes(m);
    *cls = -1;
    *rank = 0;
    if (!strncmp(spec, LABEL_PREFIX, strlen(LABEL_PREFIX)))
        return find_label(spec + strlen(LABEL_PREFIX), file, line, spec, m,
                          l, cls);
    if (!strcmp(spec, "auto"))
        return EXIT_OK;
    if (!strncmp(spec, TOP_PREFIX, strlen(TOP_PREFIX))) {
        int k;
        if (!cli_parse_int(spec + strlen(TOP_PREFIX), 1, classes, &k))
            return spec_error(file, line, spec, "top:K needs K from 1 to %d",
                              classes);
        *rank = k > 1 ? k : 0;
        return EXIT_OK;
    }
    if (spec[0] >= '0' && spec[0] <= '9') {
        if (!cli_parse_int(spec, 0, classes - 1, cls))
            return spec_error(file, line, spec, "expected a class from 0 to "
                              "%d", classes - 1);
        return EXIT_OK;
    }
    return find_label(spec, file, line, spec, m, l, cls);
}

void cli_targets_free(cli_targets *t)
{
    free(t->cls);
    free(t->rank);
    memset(t, 0, sizeof *t);
}

int cli_targets_load(const cli_flags *f, const dmbp_model *m,
                     const cli_names *labels, int set_size, bool top_ok,
                     cli_targets *t)
{
    cli_targets_free(t);
    if (f->target && f->targets)
        return cli_usage_error("--target and --targets exclude each other");
    cli_names specs = {0};
    int rc = EXIT_OK;
    if (f->targets) {
        rc = read_lines(f->targets, 0, &specs);
        if (!rc && specs.n != set_size) {
            fprintf(stderr, "dmbp: %s: %d targets for %d images (one line "
                    "per image)\n", f->targets, specs.n, set_size);
            rc = EXIT_FORMAT;
        }
    } else {
        rc = cli_names_add(&specs, f->target ? f->target : "auto");
    }
    if (!rc) {
        t->cls = malloc((size_t)specs.n * sizeof *t->cls);
        t->rank = malloc((size_t)specs.n * sizeof *t->rank);
        if (!t->cls || !t->rank)
            rc = cli_oom();
    }
    for (int i = 0; !rc && i < specs.n; i++) {
        rc = parse_one(specs.v[i], f->targets, i + 1, m, labels, &t->cls[i],
                       &t->rank[i]);
        if (!rc && t->rank[i] && !top_ok)
            rc = spec_error(f->targets, i + 1, specs.v[i], "top:K is for "
                            "explain and masks");
    }
    t->n = specs.n;
    cli_names_free(&specs);
    if (rc)
        cli_targets_free(t);
    return rc;
}

int cli_targets_for(const cli_targets *t, int first, int n, int *targets)
{
    if (!t->n || (t->n > 1 && first + n > t->n)) {
        fprintf(stderr, "dmbp: internal error: images %d to %d of %d "
                "targets\n", first, first + n - 1, t->n);
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < n; i++) {
        int k = t->n == 1 ? 0 : first + i;
        targets[i] = t->rank[k] ? -t->rank[k] : t->cls[k];
    }
    return EXIT_OK;
}

int cli_class_lines(const char *file, const dmbp_model *m,
                    const cli_names *labels, int n, const int *index,
                    int *cls)
{
    cli_names lines = {0};
    int rc = read_lines(file, 0, &lines);
    for (int i = 0; !rc && i < n; i++) {
        int rank;
        if (index[i] >= lines.n) {
            fprintf(stderr, "dmbp: %s: %d lines, no true label for image %d "
                    "(one line per image of --images)\n", file, lines.n,
                    index[i]);
            rc = EXIT_FORMAT;
        } else {
            const char *spec = lines.v[index[i]];
            rc = parse_one(spec, file, index[i] + 1, m, labels, &cls[i],
                           &rank);
            if (!rc && (cls[i] < 0 || rank))
                rc = spec_error(file, index[i] + 1, spec, "a true label is "
                                "a class or a label, not auto or top:K");
        }
    }
    cli_names_free(&lines);
    return rc;
}
