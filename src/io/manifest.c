/* An image set's manifest lines read back (dmbp_manifest_parse,
 * dmbp.h): just enough JSON to read what the program writes; anything
 * else is a bad line. */
#include "base.h"

#include <errno.h>

#define skip_ws dmbp__json_skip_ws

/* A growing list of malloc'ed strings. */
typedef struct strs {
    int n, cap;
    char **v;
} strs;

/* Appends s (taking it); false, s freed, when out of memory. */
static bool strs_add(strs *l, char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

static void strs_free(strs *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

struct dmbp_manifest_line {
    dmbp_manifest_kind kind;
    char *input;
    int status;                  /* a dmbp_manifest_status; -1: a set */
    strs outputs;                /* the paths of "outputs" */
    bool has_stat;               /* input_size and input_mtime_ns given */
    long long size, mtime_ns;
    strs keys, values;           /* a set's fingerprint */
};

void dmbp_manifest_line_free(dmbp_manifest_line *l)
{
    if (!l)
        return;
    free(l->input);
    strs_free(&l->outputs);
    strs_free(&l->keys);
    strs_free(&l->values);
    free(l);
}

/* Past one JSON value of any kind, at most depth levels deep; NULL if
 * malformed or deeper. */
static const char *json_skip(const char *p, int depth)
{
    p = skip_ws(p);
    if (*p == '"') {
        char *s;
        p = dmbp__json_parse_str(p, &s);
        free(s);
        return p;
    }
    if (*p == '{' || *p == '[') {
        if (depth <= 0)
            return NULL;
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                char *key;
                if (!(p = dmbp__json_parse_str(p, &key)))
                    return NULL;
                free(key);
                p = skip_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = json_skip(p, depth - 1)))
                return NULL;
            p = skip_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    const char *start = p;
    while (*p && !strchr(",}] \t\r\n", *p))
        p++;
    return p > start ? p : NULL;
}

/* A whole decimal integer >= 0 at p. */
static const char *json_count(const char *p, long long *v)
{
    p = skip_ws(p);
    if (*p < '0' || *p > '9')
        return NULL;
    char *end;
    errno = 0;
    *v = strtoll(p, &end, 10);
    if (errno || strchr(".eE", *end))
        return NULL;
    return end;
}

/* {"k": "v", ...} of strings into keys/values (keys may be NULL). */
static const char *json_strings(const char *p, strs *keys,
                                strs *values)
{
    p = skip_ws(p);
    if (*p++ != '{')
        return NULL;
    p = skip_ws(p);
    if (*p == '}')
        return p + 1;
    for (;;) {
        char *k, *v;
        if (!(p = dmbp__json_parse_str(p, &k)))
            return NULL;
        p = skip_ws(p);
        if (*p++ != ':' || !(p = dmbp__json_parse_str(p, &v))) {
            free(k);
            return NULL;
        }
        bool ok = keys ? strs_add(keys, k) : (free(k), true);
        ok = ok && strs_add(values, v);
        if (!ok)
            return NULL;
        p = skip_ws(p);
        if (*p == '}')
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

dmbp_manifest_kind dmbp_manifest_parse(const char *line, size_t len,
                                       dmbp_manifest_line **out)
{
    *out = NULL;
    if (!line || memchr(line, 0, len))
        return DMBP_MANIFEST_BAD;
    /* The line ends at len: a copy with its terminator. */
    char *copy = dmbp__malloc(len + 1);
    dmbp_manifest_line *r = dmbp__calloc(1, sizeof *r);
    if (!copy || !r) {
        free(copy);
        free(r);
        return DMBP_MANIFEST_BAD;
    }
    memcpy(copy, line, len);
    copy[len] = 0;
    const char *p = skip_ws(copy);
    if (*p++ != '{')
        goto bad;
    bool has_status = false, has_size = false, has_mtime = false,
         has_outputs = false;
    bool is_set = false;
    int fields = 0;
    for (;;) {
        char *key, *v = NULL;
        if (!(p = dmbp__json_parse_str(p, &key)))
            goto bad;
        p = skip_ws(p);
        if (*p++ != ':') {
            free(key);
            goto bad;
        }
        fields++;
        if (!strcmp(key, "set")) {
            is_set = true;
            p = json_strings(p, &r->keys, &r->values);
        } else if (!strcmp(key, "input")) {
            free(r->input);
            p = dmbp__json_parse_str(p, &r->input);
        } else if (!strcmp(key, "status")) {
            if ((p = dmbp__json_parse_str(p, &v))) {
                has_status = true;
                if (!strcmp(v, "ok"))
                    r->status = DMBP_MANIFEST_OK;
                else if (!strcmp(v, "failed"))
                    r->status = DMBP_MANIFEST_FAILED;
                else if (!strcmp(v, "claimed"))
                    r->status = DMBP_MANIFEST_CLAIMED;
                else
                    p = NULL;
                free(v);
            }
        } else if (!strcmp(key, "outputs")) {
            strs_free(&r->outputs);
            p = json_strings(p, NULL, &r->outputs);
            has_outputs = true;
        } else if (!strcmp(key, "input_size")) {
            p = json_count(p, &r->size);
            has_size = true;
        } else if (!strcmp(key, "input_mtime_ns")) {
            p = json_count(p, &r->mtime_ns);
            has_mtime = true;
        } else {
            p = json_skip(p, DMBP_MANIFEST_MAX_DEPTH);
        }
        free(key);
        if (!p)
            goto bad;
        p = skip_ws(p);
        if (*p == '}')
            break;
        if (*p++ != ',')
            goto bad;
    }
    if (*skip_ws(p + 1))
        goto bad; /* something after the object */
    if (is_set) {
        if (fields != 1 || r->input)
            goto bad;
        r->kind = DMBP_MANIFEST_SET;
        r->status = -1;
        free(copy);
        *out = r;
        return DMBP_MANIFEST_SET;
    }
    /* An "ok" record lists what it wrote (eval's: nothing); the ledger
     * checks the list against what the run would write. */
    if (!r->input || !has_status ||
        (r->status == DMBP_MANIFEST_OK && !has_outputs))
        goto bad;
    r->has_stat = has_size && has_mtime;
    r->kind = DMBP_MANIFEST_ITEM;
    free(copy);
    *out = r;
    return DMBP_MANIFEST_ITEM;
bad:
    dmbp_manifest_line_free(r);
    free(copy);
    return DMBP_MANIFEST_BAD;
}

const char *dmbp_manifest_input(const dmbp_manifest_line *l)
{
    return l ? l->input : NULL;
}

int dmbp_manifest_item_status(const dmbp_manifest_line *l)
{
    return l ? l->status : -1;
}

int dmbp_manifest_num_outputs(const dmbp_manifest_line *l)
{
    return l ? l->outputs.n : 0;
}

const char *dmbp_manifest_output(const dmbp_manifest_line *l, int k)
{
    return l && k >= 0 && k < l->outputs.n ? l->outputs.v[k] : NULL;
}

int dmbp_manifest_input_stat(const dmbp_manifest_line *l, long long *size,
                             long long *mtime_ns)
{
    if (!l || !l->has_stat)
        return 0;
    if (size)
        *size = l->size;
    if (mtime_ns)
        *mtime_ns = l->mtime_ns;
    return 1;
}

int dmbp_manifest_num_keys(const dmbp_manifest_line *l)
{
    return l ? l->keys.n : 0;
}

const char *dmbp_manifest_key(const dmbp_manifest_line *l, int k)
{
    return l && k >= 0 && k < l->keys.n ? l->keys.v[k] : NULL;
}

const char *dmbp_manifest_value(const dmbp_manifest_line *l, int k)
{
    return l && k >= 0 && k < l->values.n ? l->values.v[k] : NULL;
}
