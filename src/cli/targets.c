/* Class names (--labels FILE or the model's) and the class each image is
 * explained for (--target, --targets FILE). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* One target (dmbp_target_parse), its problem in the words of where it
 * came from. */
static int parse_one(const char *spec, const char *file, int line,
                     const dmbp_model *m, const cli_names *l, int *target)
{
    if (dmbp_target_parse(m, (const char *const *)l->v, l->n, spec, target))
        return spec_error(file, line, spec, "%s", dmbp_last_error());
    return EXIT_OK;
}

void cli_targets_free(cli_targets *t)
{
    free(t->t);
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
    if (!rc && !(t->t = malloc((size_t)specs.n * sizeof *t->t)))
        rc = cli_oom();
    for (int i = 0; !rc && i < specs.n; i++) {
        rc = parse_one(specs.v[i], f->targets, i + 1, m, labels, &t->t[i]);
        if (!rc && t->t[i] < -1 && !top_ok)
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
    for (int i = 0; i < n; i++)
        targets[i] = t->t[t->n == 1 ? 0 : first + i];
    return EXIT_OK;
}

int cli_class_lines(const char *file, const dmbp_model *m,
                    const cli_names *labels, int n, const int *index,
                    int *cls)
{
    cli_names lines = {0};
    int rc = read_lines(file, 0, &lines);
    for (int i = 0; !rc && i < n; i++) {
        if (index[i] >= lines.n) {
            fprintf(stderr, "dmbp: %s: %d lines, no true label for image %d "
                    "(one line per image of --images)\n", file, lines.n,
                    index[i]);
            rc = EXIT_FORMAT;
        } else {
            const char *spec = lines.v[index[i]];
            rc = parse_one(spec, file, index[i] + 1, m, labels, &cls[i]);
            if (!rc && cls[i] < 0)
                rc = spec_error(file, index[i] + 1, spec, "a true label is "
                                "a class or a label, not auto or top:K");
        }
    }
    cli_names_free(&lines);
    return rc;
}
