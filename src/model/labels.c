/* Class labels (dmbp_labels): a file of one label per line or the model's
 * own, and the class a label names, with the nearest label suggested when
 * none matches. */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <strings.h>

/* A list's lines, grown by doubling from this. */
#define LINES_CAP0 16
/* A suggestion is offered when at most this share of the name (in edits,
 * rounded up) differs, so that "sandel" finds "Sandal" and "xyz" nothing. */
#define SUGGEST_EDITS_NUM 1
#define SUGGEST_EDITS_DEN 3

struct dmbp_labels {
    int n, cap;
    char **v;
};

void dmbp_labels_free(dmbp_labels *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l);
}

static dmbp_status add(dmbp_labels *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : LINES_CAP0;
        char **nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        l->v = nv;
        l->cap = cap;
    }
    char *c = dmbp__malloc(len + 1);
    if (!c)
        return DMBP_ERR_NOMEM;
    memcpy(c, s, len);
    c[len] = 0;
    l->v[l->n++] = c;
    return DMBP_OK;
}

/* The lines of f: a final "\n" or "\r\n" removed, a NUL byte or more than
 * DMBP_LABEL_MAX bytes a format error naming the line. */
static dmbp_status read_lines(FILE *f, const char *path, dmbp_labels *l)
{
    /* Room for the text and a '\r' before the '\n'. */
    char line[DMBP_LABEL_MAX + 1];
    size_t len = 0;
    int c;
    bool pending = false; /* a line begun and not yet added */
    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            if (len && line[len - 1] == '\r')
                len--;
            TRY(add(l, line, len));
            len = 0;
            pending = false;
            continue;
        }
        pending = true;
        if (c == 0)
            return dmbp_set_error(DMBP_ERR_FORMAT, "%s: line %d holds a NUL "
                                  "byte (labels and targets are text)", path,
                                  l->n + 1);
        if (len == DMBP_LABEL_MAX + 1 || (len == DMBP_LABEL_MAX && c != '\r'))
            return dmbp_set_error(DMBP_ERR_FORMAT, "%s: line %d is longer "
                                  "than %d bytes", path, l->n + 1,
                                  DMBP_LABEL_MAX);
        line[len++] = (char)c;
    }
    if (ferror(f))
        return dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", path,
                              strerror(errno));
    /* A last line without its end; a lone '\r' there is kept out too. */
    if (pending && len && line[len - 1] == '\r')
        len--;
    if (pending && len > DMBP_LABEL_MAX)
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: line %d is longer than "
                              "%d bytes", path, l->n + 1, DMBP_LABEL_MAX);
    return pending ? add(l, line, len) : DMBP_OK;
}

dmbp_status dmbp_labels_read(const char *path, int classes, dmbp_labels **out)
{
    if (out)
        *out = NULL;
    if (!path || !out || classes < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_labels_read: NULL or "
                              "classes < 0");
    FILE *f = fopen(path, "r");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    dmbp_labels *l = dmbp__calloc(1, sizeof *l);
    dmbp_status st = l ? read_lines(f, path, l) : DMBP_ERR_NOMEM;
    fclose(f);
    if (!st && l->n < classes)
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: %d labels for a model with "
                            "%d classes", path, l->n, classes);
    if (st) {
        dmbp_labels_free(l);
        return st;
    }
    *out = l;
    return DMBP_OK;
}

int dmbp_labels_count(const dmbp_labels *l)
{
    return l ? l->n : 0;
}

const char *dmbp_labels_get(const dmbp_labels *l, int i)
{
    return l && i >= 0 && i < l->n ? l->v[i] : NULL;
}

const char *dmbp_class_label(const dmbp_model *m, const char *const *labels,
                             int n, int cls)
{
    if (labels && n > 0)
        return cls >= 0 && cls < n ? labels[cls] : NULL;
    return m ? dmbp_model_label(m, cls) : NULL;
}

/* Levenshtein distance of a and b ignoring ASCII case, or a number above
 * cap when it exceeds cap (long labels are not compared in full). */
static int distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > DMBP_LABEL_MAX || lb > DMBP_LABEL_MAX ||
        (la > lb ? la - lb : lb - la) > (size_t)cap)
        return cap + 1;
    int *row = dmbp__malloc((lb + 1) * sizeof *row);
    if (!row)
        return cap + 1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int same = tolower((unsigned char)a[i - 1]) ==
                       tolower((unsigned char)b[j - 1]);
            int best = diag + !same;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

dmbp_status dmbp_label_find(const dmbp_model *m, const char *const *l,
                            int n, const char *name, int *cls,
                            const char **nearest)
{
    if (nearest)
        *nearest = NULL;
    if (!m || !name || !cls)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_label_find: NULL");
    int classes = dmbp_model_num_classes(m);
    *cls = -1;
    for (int pass = 0; pass < 2; pass++) {
        int hit = -1;
        for (int c = 0; c < classes; c++) {
            const char *lab = dmbp_class_label(m, l, n, c);
            if (!lab || (pass ? strcasecmp(lab, name) : strcmp(lab, name)))
                continue;
            if (hit >= 0)
                return dmbp_set_error(DMBP_ERR_ARG, "classes %d and %d are "
                                      "both labelled '%s' (give the class "
                                      "index)", hit, c,
                                      dmbp_class_label(m, l, n, hit));
            hit = c;
        }
        if (hit >= 0) {
            *cls = hit;
            return DMBP_OK;
        }
    }
    int cap = (int)((strlen(name) * SUGGEST_EDITS_NUM + SUGGEST_EDITS_DEN -
                     1) / SUGGEST_EDITS_DEN);
    int best = cap + 1;
    const char *near = NULL;
    for (int c = 0; c < classes; c++) {
        const char *lab = dmbp_class_label(m, l, n, c);
        int d = lab ? distance(name, lab, cap) : best;
        if (d < best) {
            best = d;
            near = lab;
        }
    }
    if (nearest)
        *nearest = near;
    if (near)
        return dmbp_set_error(DMBP_ERR_ARG, "no class is labelled '%s'; did "
                              "you mean '%s'?", name, near);
    return dmbp_set_error(DMBP_ERR_ARG, "no class is labelled '%s'", name);
}

/* "top:K" selects the K-th most probable class; "label:NAME" a label even
 * when NAME reads as a number, auto or top:K. */
#define TOP_PREFIX "top:"
#define LABEL_PREFIX "label:"

/* The class labelled name, or why not in the words of a target. */
static dmbp_status target_label(const dmbp_model *m, const char *const *l,
                                int n, const char *name, int *target)
{
    const char *near = NULL;
    dmbp_status st = dmbp_label_find(m, l, n, name, target, &near);
    if (!st || strstr(dmbp_last_error(), "both labelled"))
        return st;
    const char *first = dmbp_class_label(m, l, n, 0);
    if (!first)
        return dmbp_set_error(DMBP_ERR_ARG, "the model has no labels (give "
                              "a class index or --labels FILE)");
    char hint[DMBP_LABEL_MAX + 32] = "";
    if (near)
        snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    return dmbp_set_error(DMBP_ERR_ARG, "expected auto, top:K, a class from "
                          "0 to %d or a label such as '%s' (label:NAME for a "
                          "label that reads as one of the others)%s",
                          dmbp_model_num_classes(m) - 1, first, hint);
}

/* A whole number in [lo, hi], as strtol reads one. */
static bool whole(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

dmbp_status dmbp_target_parse(const dmbp_model *m, const char *const *l,
                              int n, const char *spec, int *target)
{
    if (!m || !spec || !target)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_target_parse: NULL");
    int classes = dmbp_model_num_classes(m), k;
    *target = -1;
    if (!strncmp(spec, LABEL_PREFIX, strlen(LABEL_PREFIX)))
        return target_label(m, l, n, spec + strlen(LABEL_PREFIX), target);
    if (!strcmp(spec, "auto"))
        return DMBP_OK;
    if (!strncmp(spec, TOP_PREFIX, strlen(TOP_PREFIX))) {
        if (!whole(spec + strlen(TOP_PREFIX), 1, classes, &k))
            return dmbp_set_error(DMBP_ERR_ARG, "top:K needs K from 1 to %d",
                                  classes);
        *target = -k;
        return DMBP_OK;
    }
    if (spec[0] >= '0' && spec[0] <= '9') {
        if (!whole(spec, 0, classes - 1, target))
            return dmbp_set_error(DMBP_ERR_ARG, "expected a class from 0 to "
                                  "%d", classes - 1);
        return DMBP_OK;
    }
    return target_label(m, l, n, spec, target);
}
