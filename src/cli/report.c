/* dmbp report DIR and explain -O DIR --html: DIR/index.html from the image
 * sets in DIR and its subdirectories (their manifest.jsonl: one column per
 * method) and dmbp eval's reports there (eval.md, eval.svg), written by the
 * library's dmbp_report_write. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The string member "key" of a manifest line (malloc'ed), or NULL. */
static char *member_str(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    char *s = NULL;
    if (p && p[strlen(pat)] == '"')
        dmbp__json_parse_str(p + strlen(pat), &s);
    return s;
}

/* The number member "key" (in "scalars" too), or NAN. */
static double member_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    char *end;
    double v = p ? strtod(p + strlen(pat), &end) : NAN;
    return p && end != p + strlen(pat) ? v : NAN;
}

/* path if it exists, else dir/its base name (a set moved or written from
 * another directory); malloc'ed. */
static char *locate(const char *dir, const char *path)
{
    if (access(path, R_OK) == 0)
        return strdup(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(dir) + strlen(base) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, base);
    return s;
}

typedef struct report {
    dmbp_report_cell *cells;
    int n, cap;
    cli_names strings;  /* owns every string the cells point to */
    char *tables, *plot;
} report;

/* s kept by the report (NULL stays NULL); NULL on failure too. */
static const char *keep(report *r, char *s)
{
    if (!s || cli_names_add(&r->strings, s)) {
        free(s);
        return NULL;
    }
    free(s);
    return r->strings.v[r->strings.n - 1];
}

/* One set's finished items, the last record of an input winning. */
static int read_set(report *r, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return EXIT_OK; /* not a set */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = EXIT_OK;
    while (!rc && (len = getline(&line, &cap, f)) > 0) {
        dmbp_manifest_line *m;
        if (line[len - 1] == '\n')
            line[--len] = 0;
        const char *png = dmbp_manifest_parse(line, (size_t)len, &m) ==
                                  DMBP_MANIFEST_ITEM &&
                              dmbp_manifest_item_status(m) ==
                                  DMBP_MANIFEST_OK &&
                              dmbp_manifest_num_outputs(m) > 0
                          ? dmbp_manifest_output(m, 0) : "";
        if (strlen(png) > 4 && !strcmp(png + strlen(png) - 4, ".png")) {
            char *method = member_str(line, "method"),
                 *label = member_str(line, "label");
            char cap_[256];
            int t = (int)member_num(line, "target");
            int k = snprintf(cap_, sizeof cap_, "%s (%d) logit %.4g", label ?
                             label : "class", t, member_num(line, "logit"));
            static const char *const fs[][2] = {
                {"F", "F"}, {"F_pos", "F+"}, {"F_neg", "F-"},
                {"F_nuisance", "Fn"}};
            for (size_t j = 0; j < sizeof fs / sizeof *fs; j++) {
                double v = member_num(line, fs[j][0]);
                if (!isnan(v) && k > 0 && (size_t)k < sizeof cap_)
                    k += snprintf(cap_ + k, sizeof cap_ - (size_t)k,
                                  " %s %.4g", fs[j][1], v);
            }
            free(label);
            if (r->n == r->cap) {
                int nc = r->cap ? 2 * r->cap : 64;
                void *p = realloc(r->cells, (size_t)nc * sizeof *r->cells);
                if (!p) {
                    free(method);
                    rc = cli_oom();
                }
                r->cells = p ? p : r->cells;
                r->cap = p ? nc : r->cap;
            }
            char *stem = rc ? NULL : cli_stem(dmbp_manifest_input(m));
            dmbp_report_cell c = {keep(r, stem),
                                  keep(r, method ? method : strdup("?")),
                                  keep(r, locate(dir, png)),
                                  keep(r, strdup(cap_))};
            if (!rc && !(c.image && c.method && c.picture && c.caption))
                rc = cli_oom();
            if (!rc)
                r->cells[r->n++] = c;
        }
        dmbp_manifest_line_free(m);
    }
    free(line);
    fclose(f);
    /* dmbp eval -O DIR's reports: the first set's. */
    const char *names[2] = {"eval.md", "eval.svg"};
    char **slot[2] = {&r->tables, &r->plot};
    for (int k = 0; k < 2 && !rc; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (!*slot[k] && access(path, R_OK) == 0 && !(*slot[k] = strdup(path)))
            rc = cli_oom();
    }
    return rc;
}

int cli_report_dir(const char *dir, bool quiet)
{
    report r = {0};
    int rc = read_set(&r, dir);
    /* Subdirectories in name order: one set each (explain -O DIR/gxi,
     * -O DIR/ig ...). */
    struct dirent **ents = NULL;
    int ne = rc ? 0 : scandir(dir, &ents, NULL, alphasort);
    if (ne < 0) {
        fprintf(stderr, "dmbp: %s: cannot read the directory: %s\n", dir,
                strerror(errno));
        rc = EXIT_IO;
    }
    for (int i = 0; i < ne; i++) {
        char sub[4096];
        struct stat sb;
        snprintf(sub, sizeof sub, "%s/%s", dir, ents[i]->d_name);
        if (!rc && ents[i]->d_name[0] != '.' && stat(sub, &sb) == 0 &&
            S_ISDIR(sb.st_mode))
            rc = read_set(&r, sub);
        free(ents[i]);
    }
    free(ents);
    if (!rc && r.n == 0 && !r.tables && !r.plot) {
        fprintf(stderr, "dmbp: %s: no image set (manifest.jsonl) or eval "
                "report (eval.md, eval.svg) in it or its subdirectories\n",
                dir);
        rc = EXIT_IO;
    }
    char out[4096], title[4200];
    snprintf(out, sizeof out, "%s/index.html", dir);
    snprintf(title, sizeof title, "dmbp report: %s", dir);
    dmbp_report_options o;
    dmbp_report_options_init(&o);
    o.title = title;
    o.tables = r.tables;
    o.plot = r.plot;
    if (!rc) {
        cli_write_begin();
        dmbp_status st = dmbp_report_write(out, r.cells, r.n, &o);
        rc = cli_write_end(st ? cli_fail(st) : EXIT_OK);
    }
    if (!rc && !quiet)
        fprintf(stderr, "dmbp: %s: %d pictures\n", out, r.n);
    free(r.cells);
    free(r.tables);
    free(r.plot);
    cli_names_free(&r.strings);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    cli_args a;
    int rc = cli_args_parse(CMD_REPORT, argc, argv, &a);
    if (!rc && a.n_pos != 1)
        rc = cli_usage_error("report: %s", a.n_pos ? "one DIR at a time"
                                                   : "which DIR?");
    if (!rc)
        rc = cli_report_dir(a.pos[0], a.f.quiet);
    cli_args_free(&a);
    return rc < 0 ? EXIT_OK : rc;
}
