/* Class names (--labels FILE or the model's) and the class each image is
 * explained for (--target, --targets FILE). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest line of a labels or targets file, its line end not counted. */
#define LINE_TEXT_MAX 4094
/* "top:K" selects the K-th most probable class; "label:NAME" a label even
 * when NAME reads as a number, auto or top:K. */
#define TOP_PREFIX "top:"
#define LABEL_PREFIX "label:"

/* The lines of path (a final "\n" or "\r\n" removed) into l; what names
 * the file's role in messages. A line of more than LINE_TEXT_MAX bytes or
 * with a NUL byte is a format error naming the line (a NUL would cut the
 * label short and shift nothing visibly). */
static int read_lines(const char *path, const char *what, cli_names *l)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dmbp: %s: cannot open %s: %s\n", path, what,
                strerror(errno));
        return EXIT_IO;
    }
    /* Room for the text, a '\r' before the '\n', and the terminator. */
    char line[LINE_TEXT_MAX + 2];
    size_t len = 0;
    int rc = EXIT_OK, c;
    bool pending = false;   /* a line begun and not yet added */
    while (!rc && (c = getc(f)) != EOF) {
        if (c == '\n') {
            if (len && line[len - 1] == '\r')
                len--;
            line[len] = 0;
            rc = cli_names_add(l, line);
            len = 0;
            pending = false;
            continue;
        }
        pending = true;
        if (c == 0) {
            fprintf(stderr, "dmbp: %s: line %d holds a NUL byte (%s are "
                    "text)\n", path, l->n + 1, what);
            rc = EXIT_FORMAT;
        } else if (len == LINE_TEXT_MAX + 1 ||
                   (len == LINE_TEXT_MAX && c != '\r')) {
            fprintf(stderr, "dmbp: %s: line %d is longer than %d bytes\n",
                    path, l->n + 1, LINE_TEXT_MAX);
            rc = EXIT_FORMAT;
        } else {
            line[len++] = (char)c;
        }
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "dmbp: %s: read error: %s\n", path, strerror(errno));
        rc = EXIT_IO;
    }
    if (!rc && pending) {
        /* A last line without its end; a lone '\r' there is kept out too. */
        if (len && line[len - 1] == '\r')
            len--;
        if (len > LINE_TEXT_MAX) {
            fprintf(stderr, "dmbp: %s: line %d is longer than %d bytes\n",
                    path, l->n + 1, LINE_TEXT_MAX);
            rc = EXIT_FORMAT;
        } else {
            line[len] = 0;
            rc = cli_names_add(l, line);
        }
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

/* The class labelled name: exactly, else ignoring case; two classes of
 * that label (exactly, or ignoring case when none is exact) are
 * ambiguous. */
static int find_label(const char *name, const char *file, int line,
                      const char *spec, const dmbp_model *m,
                      const cli_names *l, int *cls)
{
    int classes = dmbp_model_num_classes(m);
    for (int pass = 0; pass < 2; pass++) {
        int hit = -1;
        for (int c = 0; c < classes; c++) {
            const char *lab = cli_label(m, l, c);
            if (!lab || (pass ? strcasecmp(lab, name) : strcmp(lab, name)))
                continue;
            if (hit >= 0)
                return spec_error(file, line, spec, "classes %d and %d are "
                                  "both labelled '%s' (give the class "
                                  "index)", hit, c, cli_label(m, l, hit));
            hit = c;
        }
        if (hit >= 0) {
            *cls = hit;
            return EXIT_OK;
        }
    }
    const char *first = cli_label(m, l, 0);
    if (!first)
        return spec_error(file, line, spec, "the model has no labels (give "
                          "a class index or --labels FILE)");
    return spec_error(file, line, spec, "expected auto, top:K, a class from "
                      "0 to %d or a label such as '%s' (label:NAME for a "
                      "label that reads as one of the others)", classes - 1,
                      first);
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
        return cli_oom();
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
        rc = read_lines(f->targets, "targets", &specs);
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

int cli_targets_resolve(const cli_targets *t, const dmbp_model *m,
                        const float *xs, int n, int c, int h, int w,
                        int first, int *targets)
{
    if (!t->n || (t->n > 1 && first + n > t->n)) {
        fprintf(stderr, "dmbp: internal error: images %d to %d of %d "
                "targets\n", first, first + n - 1, t->n);
        return EXIT_INTERNAL;
    }
    dmbp_plan *plan = NULL;
    size_t per = (size_t)c * h * w;
    int rc = EXIT_OK;
    for (int i = 0; !rc && i < n; i++) {
        int k = t->n == 1 ? 0 : first + i;
        targets[i] = t->cls[k];
        if (t->rank[k])
            rc = class_of_rank(&plan, m, xs + (size_t)i * per, c, h, w,
                               t->rank[k], &targets[i]);
    }
    dmbp_plan_free(plan);
    return rc;
}

int cli_class_lines(const char *file, const dmbp_model *m,
                    const cli_names *labels, int n, const int *index,
                    int *cls)
{
    cli_names lines = {0};
    int rc = read_lines(file, "true labels", &lines);
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
