/* dmbp_report_write_dir (dmbp_render.h): DIR/index.html from the image
 * sets in DIR and its subdirectories (their manifest.jsonl: one column per
 * method) and dmbp eval's reports there (eval.md, eval.svg), through
 * dmbp_report_write. */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Paths built here (a set's files, its subdirectories) are cut at this. */
#define PATH_CAP 4096
#define REPORT_CAP0 64
#define OOM() dmbp_set_error(DMBP_ERR_NOMEM, "out of memory")

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
    char **strings;     /* owns every string the cells point to */
    int n_strings, cap_strings;
    char *tables, *plot;
} report;

/* s (malloc'ed) kept by the report; NULL on failure (s freed). */
static const char *keep(report *r, char *s)
{
    if (s && r->n_strings == r->cap_strings) {
        int cap = r->cap_strings ? 2 * r->cap_strings : REPORT_CAP0;
        char **v = realloc(r->strings, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            return NULL;
        }
        r->strings = v;
        r->cap_strings = cap;
    }
    if (s)
        r->strings[r->n_strings++] = s;
    return s;
}

/* Extensions a cell's image name drops. */
static const char *const image_ext[] = {".png", ".jpg", ".jpeg"};

/* Basename of path without a final .png/.jpg/.jpeg (any case), "stdin"
 * for "-"; malloc'ed. */
static char *stem(const char *path)
{
    if (!strcmp(path, "-"))
        return strdup("stdin");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    for (size_t k = 0; k < sizeof image_ext / sizeof *image_ext; k++) {
        size_t lx = strlen(image_ext[k]);
        if (len > lx && !strcasecmp(base + len - lx, image_ext[k])) {
            len -= lx;
            break;
        }
    }
    return strndup(base, len);
}

/* One set's finished items, the last record of an input winning. */
static dmbp_status read_set(report *r, const char *dir)
{
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return DMBP_OK; /* not a set */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    dmbp_status rc = DMBP_OK;
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
                    rc = OOM();
                }
                r->cells = p ? p : r->cells;
                r->cap = p ? nc : r->cap;
            }
            char *name = rc ? NULL : stem(dmbp_manifest_input(m));
            dmbp_report_cell c = {keep(r, name),
                                  keep(r, method ? method : strdup("?")),
                                  keep(r, locate(dir, png)),
                                  keep(r, strdup(cap_))};
            if (!rc && !(c.image && c.method && c.picture && c.caption))
                rc = OOM();
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
            rc = OOM();
    }
    return rc;
}

dmbp_status dmbp_report_write_dir(const char *dir,
                                  const dmbp_report_options *opt,
                                  int *pictures)
{
    if (pictures)
        *pictures = 0;
    if (!dir)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_report_write_dir: NULL "
                              "directory");
    dmbp_report_options o;
    dmbp_report_options_init(&o);
    if (opt)
        TRY(dmbp__options_in(opt, &o, DMBP__END(dmbp_report_options,
                                                max_file_bytes),
                             sizeof o, "dmbp_report_options"));
    report r = {0};
    dmbp_status rc = read_set(&r, dir);
    /* Subdirectories in name order: one set each (explain -O DIR/gxi,
     * -O DIR/ig ...). */
    struct dirent **ents = NULL;
    int ne = rc ? 0 : scandir(dir, &ents, NULL, alphasort);
    if (ne < 0)
        rc = dmbp_set_error(DMBP_ERR_IO, "%s: cannot read the directory: "
                            "%s", dir, strerror(errno));
    for (int i = 0; i < ne; i++) {
        char sub[PATH_CAP];
        struct stat sb;
        snprintf(sub, sizeof sub, "%s/%s", dir, ents[i]->d_name);
        if (!rc && ents[i]->d_name[0] != '.' && stat(sub, &sb) == 0 &&
            S_ISDIR(sb.st_mode))
            rc = read_set(&r, sub);
        free(ents[i]);
    }
    free(ents);
    if (!rc && r.n == 0 && !r.tables && !r.plot && !o.tables && !o.plot)
        rc = dmbp_set_error(DMBP_ERR_IO, "%s: no image set (manifest.jsonl) "
                            "or eval report (eval.md, eval.svg) in it or its "
                            "subdirectories", dir);
    char out[PATH_CAP], title[PATH_CAP + 16];
    snprintf(out, sizeof out, "%s/index.html", dir);
    snprintf(title, sizeof title, "dmbp report: %s", dir);
    if (!o.title)
        o.title = title;
    if (!o.tables)
        o.tables = r.tables;
    if (!o.plot)
        o.plot = r.plot;
    if (!rc)
        rc = dmbp_report_write(out, r.cells, r.n, &o);
    if (!rc && pictures)
        *pictures = r.n;
    free(r.cells);
    free(r.tables);
    free(r.plot);
    for (int k = 0; k < r.n_strings; k++)
        free(r.strings[k]);
    free(r.strings);
    return rc;
}
