/* Opening an image set's manifest (dmbp_setrun_open): what resume may
 * skip, and the checks every other output goes through (dmbp(1), FILES).
 * The manifest is never followed through a symbolic link, must be a
 * regular file and not an input; it is read and appended through one
 * descriptor. Also the output checks themselves (dmbp_check_outputs). */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEW_MANIFEST_MODE 0666
#define NS_PER_S 1000000000LL
#define INODES_CAP0 16

#define OOM() dmbp_set_error(DMBP_ERR_NOMEM, "out of memory")

/* ------------------------------------------------------------------ */
/* What the ledger and the manifest share (setrun.c calls them)       */
/* ------------------------------------------------------------------ */

dmbp_status dmbp_setrun_paths_add(dmbp_setrun_paths *p, const char *path)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 8;
        char **v = realloc(p->v, (size_t)cap * sizeof *v);
        if (!v)
            return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n] = strdup(path)))
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    p->n++;
    return DMBP_OK;
}

void dmbp__setrun_paths_free(dmbp_setrun_paths *p)
{
    for (int k = 0; k < p->n; k++)
        free(p->v[k]);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int dmbp__input_stat(const char *name, struct stat *sb)
{
    if (!strcmp(name, "-"))
        return -1;
    if (stat(name, sb) == 0)
        return 0;
    /* An IDX set's "PATH#INDEX": the file's size and time. */
    const char *hash = strrchr(name, '#');
    if (!hash || !hash[1] || strspn(hash + 1, "0123456789") !=
                                 strlen(hash + 1))
        return -1;
    char *path = strndup(name, (size_t)(hash - name));
    int r = path ? stat(path, sb) : -1;
    free(path);
    return r;
}

dmbp_status dmbp__setrun_append(const char *path, int fd, const char *buf,
                                size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return dmbp_set_error(DMBP_ERR_IO, "%s: %s", path,
                                  strerror(errno));
        off += (size_t)w;
    }
    /* On disk before we go on: a reader never sees half a line unless
     * the writer died inside write(), and then only as the last line,
     * which resume cuts off. */
    if (fsync(fd) != 0 && errno != EINVAL)
        return dmbp_set_error(DMBP_ERR_IO, "%s: %s", path, strerror(errno));
    return DMBP_OK;
}

/* ------------------------------------------------------------------ */
/* The inputs of a run, by file identity                              */
/* ------------------------------------------------------------------ */

/* A path, a hard link and a symbolic link to one file are one input:
 * built once for a set, looked up in log n. Names are borrowed. */
typedef struct inodes {
    struct inode {
        dev_t dev;
        ino_t ino;
        const char *name;
    } *v;
    int n, cap;
    bool sorted;
} inodes;

static dmbp_status inodes_add(inodes *s, const char *path)
{
    struct stat sb;
    if (!path || !strcmp(path, "-") || stat(path, &sb) != 0)
        return DMBP_OK; /* nothing there to overwrite */
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : INODES_CAP0;
        void *nv = realloc(s->v, (size_t)cap * sizeof *s->v);
        if (!nv)
            return OOM();
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (struct inode){sb.st_dev, sb.st_ino, path};
    s->sorted = false;
    return DMBP_OK;
}

static int by_inode(const void *a, const void *b)
{
    const struct inode *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const char *inodes_find(inodes *s, dev_t dev, ino_t ino)
{
    if (!s->sorted) {
        if (s->n)
            qsort(s->v, (size_t)s->n, sizeof *s->v, by_inode);
        s->sorted = true;
    }
    struct inode key = {dev, ino, NULL};
    const struct inode *hit =
        s->n ? bsearch(&key, s->v, (size_t)s->n, sizeof *s->v, by_inode)
             : NULL;
    return hit ? hit->name : NULL;
}

static dmbp_status check_output(const char *path, inodes *inputs,
                                bool force)
{
    struct stat sb, tb;
    if (lstat(path, &sb) != 0)
        return DMBP_OK; /* a new file */
    /* The file itself, and what a link there points at. */
    const char *in = inodes_find(inputs, sb.st_dev, sb.st_ino);
    if (!in && S_ISLNK(sb.st_mode) && stat(path, &tb) == 0)
        in = inodes_find(inputs, tb.st_dev, tb.st_ino);
    if (in)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: refusing to overwrite the "
                              "input %s with an output (choose another -o "
                              "or -O)", path, in);
    if (S_ISDIR(sb.st_mode))
        return dmbp_set_error(DMBP_ERR_IO, "%s: a directory is in the way "
                              "of an output file", path);
    if (!force)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: the file exists; --force "
                              "overwrites it", path);
    return DMBP_OK;
}

dmbp_status dmbp_check_outputs(const char *const *outputs, int n_outputs,
                               const char *const *inputs, int n_inputs,
                               int force)
{
    inodes set = {0};
    dmbp_status st = DMBP_OK;
    for (int i = 0; i < n_inputs && !st; i++)
        st = inodes_add(&set, inputs[i]);
    for (int k = 0; k < n_outputs && !st; k++)
        if (outputs[k])
            st = check_output(outputs[k], &set, force);
    free(set.v);
    return st;
}

/* Read in pieces of this size while hashing. */
#define HASH_CHUNK (1 << 20)
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

dmbp_status dmbp_file_hash(const char *path, char *buf, size_t cap)
{
    if (!path || !buf)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_file_hash: NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    unsigned char *chunk = malloc(HASH_CHUNK);
    if (!chunk) {
        close(fd);
        return OOM();
    }
    uint64_t h = FNV64_OFFSET;
    unsigned long long size = 0;
    ssize_t got;
    dmbp_status st = DMBP_OK;
    while (!st && (got = read(fd, chunk, HASH_CHUNK)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", path,
                                strerror(errno));
            break;
        }
        for (ssize_t k = 0; k < got; k++)
            h = (h ^ chunk[k]) * FNV64_PRIME;
        size += (unsigned long long)got;
    }
    free(chunk);
    close(fd);
    if (!st)
        snprintf(buf, cap, "fnv1a64:%016llx size %llu", (unsigned long long)h,
                 size);
    return st;
}

dmbp_status dmbp_check_writable_dir(const char *path)
{
    if (!path)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_check_writable_dir: NULL");
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(len + 2);
    if (!dir)
        return OOM();
    if (!slash)
        strcpy(dir, ".");
    else if (len == 0)
        strcpy(dir, "/");
    else
        snprintf(dir, len + 1, "%s", path);
    struct stat sb;
    const char *why = NULL;
    if (stat(dir, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(sb.st_mode))
        why = "not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = strerror(errno);
    dmbp_status st = why ? dmbp_set_error(DMBP_ERR_IO, "%s: cannot write "
                                          "into %s: %s", path, dir, why)
                         : DMBP_OK;
    free(dir);
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

dmbp_status dmbp_check_unique_outputs(const char *const *outputs,
                                      const char *const *names, int n)
{
    /* A sorted copy finds duplicate names in n log n (sets are large). */
    const char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    if (!sorted)
        return OOM();
    memcpy(sorted, outputs, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    dmbp_status st = DMBP_OK;
    for (int i = 1; i < n && !st; i++)
        if (!strcmp(sorted[i], sorted[i - 1])) {
            int a = -1, b = -1;
            for (int j = 0; j < n && b < 0; j++)
                if (!strcmp(outputs[j], sorted[i])) {
                    b = a < 0 ? -1 : j;
                    a = a < 0 ? j : a;
                }
            st = dmbp_set_error(DMBP_ERR_ARG, "%s and %s would both write "
                                "%s", names[a], names[b], sorted[i]);
        }
    free(sorted);
    return st;
}

/* ------------------------------------------------------------------ */
/* Reading the manifest back                                          */
/* ------------------------------------------------------------------ */

/* An item's last record, and every path any record of it listed (files
 * the set itself wrote or was about to write). */
typedef struct item_state {
    dmbp_manifest_line *last;
    char *line;
    dmbp_setrun_paths seen;
} item_state;

typedef struct reader {
    const char *const *inputs;
    int n;
    const dmbp_setrun_options *o;
    const char *path;
    int *order;         /* item indices sorted by input name */
    item_state *st;
    dmbp_manifest_line *fp;
    int lines, bad;
    off_t good;         /* bytes of complete lines */
    bool torn;
} reader;

static int by_input(const void *a, const void *b, void *ctx)
{
    const char *const *in = ctx;
    return strcmp(in[*(const int *)a], in[*(const int *)b]);
}

/* The first position in r->order of an item named input, or -1. */
static int find_first(const reader *r, const char *input)
{
    int lo = 0, hi = r->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(input, r->inputs[r->order[mid]]);
        if (c == 0) {
            while (mid > 0 && !strcmp(input, r->inputs[r->order[mid - 1]]))
                mid--;
            return mid;
        }
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

/* One record for every item of its name: the last one decides, and the
 * paths it lists are the set's. Takes rec. */
static dmbp_status take(reader *r, dmbp_manifest_line *rec, const char *line)
{
    const char *input = dmbp_manifest_input(rec);
    dmbp_status st = DMBP_OK;
    bool kept = false;
    for (int j = find_first(r, input);
         !st && j >= 0 && j < r->n && !strcmp(input, r->inputs[r->order[j]]);
         j++) {
        item_state *s = &r->st[r->order[j]];
        for (int k = 0; k < dmbp_manifest_num_outputs(rec) && !st; k++)
            st = dmbp_setrun_paths_add(&s->seen, dmbp_manifest_output(rec,
                                                                      k));
        char *copy = line ? strdup(line) : NULL;
        if (line && !copy)
            st = OOM();
        if (st) {
            free(copy);
            break;
        }
        /* Items of one name share the record: the first keeps it. */
        if (s->last && s->last != rec && !kept)
            dmbp_manifest_line_free(s->last);
        s->last = rec;
        free(s->line);
        s->line = copy;
        kept = true;
    }
    if (!kept)
        dmbp_manifest_line_free(rec);
    return st;
}

static dmbp_status read_records(reader *r, int fd)
{
    int fd2 = dup(fd);
    FILE *f = fd2 >= 0 ? fdopen(fd2, "r") : NULL;
    if (!f) {
        if (fd2 >= 0)
            close(fd2);
        return dmbp_set_error(DMBP_ERR_IO, "%s: %s", r->path,
                              strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    dmbp_status st = DMBP_OK;
    while (!st && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') {
            r->torn = true;
            break;
        }
        r->good += len;
        line[--len] = 0;
        dmbp_manifest_line *l;
        int kind = dmbp_manifest_parse(line, (size_t)len, &l);
        if (kind == DMBP_MANIFEST_SET && r->lines == 0) {
            r->fp = l;
        } else if (kind == DMBP_MANIFEST_ITEM) {
            st = take(r, l, r->o->record ? line : NULL);
        } else {
            dmbp_manifest_line_free(l);
            r->bad++;
        }
        r->lines++;
    }
    if (!st && ferror(f))
        st = dmbp_set_error(DMBP_ERR_IO, "%s: read error: %s", r->path,
                            strerror(errno));
    free(line);
    fclose(f);
    return st;
}

static void reader_free(reader *r)
{
    /* Items of one name share their last record: free each once. */
    for (int j = 0; r->st && j < r->n; j++) {
        item_state *s = &r->st[r->order[j]];
        bool shared = j > 0 && r->st[r->order[j - 1]].last == s->last;
        if (!shared)
            dmbp_manifest_line_free(s->last);
        free(s->line);
        dmbp__setrun_paths_free(&s->seen);
    }
    free(r->st);
    free(r->order);
    dmbp_manifest_line_free(r->fp);
}

/* ------------------------------------------------------------------ */
/* The fingerprint                                                    */
/* ------------------------------------------------------------------ */

static const char *fp_lookup(const char *const *kv, int n, const char *key)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(kv[2 * k], key))
            return kv[2 * k + 1];
    return NULL;
}

/* NULL when equal, else a malloc'ed "KEY was A, now B; ..." ("none"
 * where one side lacks the key). */
char *dmbp__setrun_fp_diff(const char *const *then, int n_then,
                           const char *const *now, int n_now)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    int n = 0;
    for (int side = 0; side < 2; side++) {
        const char *const *a = side ? now : then, *const *b = side ? then
                                                                  : now;
        int na = side ? n_now : n_then, nb = side ? n_then : n_now;
        for (int k = 0; k < na; k++) {
            const char *key = a[2 * k], *other = fp_lookup(b, nb, key);
            if (side && other)
                continue; /* compared in the first pass */
            if (other && !strcmp(other, a[2 * k + 1]))
                continue;
            const char *was = side ? "none" : a[2 * k + 1];
            const char *is = side ? a[2 * k + 1] : other ? other : "none";
            fprintf(f, "%s%s was '%s', now '%s'", n++ ? "; " : "", key, was,
                    is);
        }
    }
    fclose(f);
    if (!n) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The manifest's fingerprint as (key, value) pairs (borrowed from l). */
static const char **fp_pairs(const dmbp_manifest_line *l, int *n)
{
    *n = dmbp_manifest_num_keys(l);
    const char **kv = malloc(2 * (size_t)*n * sizeof *kv + 1);
    for (int k = 0; kv && k < *n; k++) {
        kv[2 * k] = dmbp_manifest_key(l, k);
        kv[2 * k + 1] = dmbp_manifest_value(l, k);
    }
    return kv;
}

/* ------------------------------------------------------------------ */
/* The checks                                                         */
/* ------------------------------------------------------------------ */

/* path names a file directly inside dir (as the run spells it: "-O d/"
 * gives "d/x" or "d//x"). */
static bool inside(const char *dir, const char *path)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if (strncmp(path, dir, dl) || (path[dl] != '/' && dir[dl - 1] != '/'))
        return false;
    const char *base = path + dl;
    while (*base == '/')
        base++;
    return *base && !strchr(base, '/') && strcmp(base, ".") &&
           strcmp(base, "..");
}

static bool listed(char *const *v, int n, const char *path)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(v[k], path))
            return true;
    return false;
}

static dmbp_status outputs_of(const dmbp_setrun_options *o, int i,
                              dmbp_setrun_paths *want)
{
    return o->outputs ? o->outputs(o->user, i, want) : DMBP_OK;
}

/* Does the manifest prove item i done? Its last record is "ok", the input
 * has the size and time it had then, the record lists every output this
 * run would write, and each listed output is a regular file (not a link)
 * inside dir and not an input. *changed: the input changed since. */
static dmbp_status proven(const reader *r, int i, inodes *in, bool *done,
                          bool *changed)
{
    *done = *changed = false;
    const dmbp_manifest_line *rec = r->st[i].last;
    if (!rec || dmbp_manifest_item_status(rec) != DMBP_MANIFEST_OK)
        return DMBP_OK;
    struct stat sb;
    if (dmbp__input_stat(r->inputs[i], &sb) != 0)
        return DMBP_OK;
    long long size, mtime, now = (long long)sb.st_mtim.tv_sec * NS_PER_S +
                                 sb.st_mtim.tv_nsec;
    bool has_stat = dmbp_manifest_input_stat(rec, &size, &mtime);
    if (!has_stat || size != (long long)sb.st_size || mtime != now) {
        *changed = has_stat;
        return DMBP_OK;
    }
    int n_out = dmbp_manifest_num_outputs(rec);
    char **outs = malloc(((size_t)n_out + 1) * sizeof *outs);
    if (!outs)
        return OOM();
    for (int k = 0; k < n_out; k++)
        outs[k] = (char *)dmbp_manifest_output(rec, k);
    dmbp_setrun_paths want = {0};
    dmbp_status st = outputs_of(r->o, i, &want);
    bool ok = !st;
    for (int k = 0; k < want.n && ok; k++)
        ok = listed(outs, n_out, want.v[k]);
    for (int k = 0; k < n_out && ok; k++)
        ok = inside(r->o->dir, outs[k]) && lstat(outs[k], &sb) == 0 &&
             S_ISREG(sb.st_mode) && !inodes_find(in, sb.st_dev, sb.st_ino);
    dmbp__setrun_paths_free(&want);
    free(outs);
    *done = ok;
    return st;
}

/* Item i is computed: each of its outputs goes through the checks of a
 * fresh run; a file the set itself listed may be replaced without
 * force (an image killed half-way), an input never. */
static dmbp_status check_todo(const dmbp_setrun_options *o,
                              const item_state *s, int i, inodes *in)
{
    dmbp_setrun_paths want = {0};
    dmbp_status st = outputs_of(o, i, &want);
    for (int k = 0; k < want.n && !st; k++)
        st = check_output(want.v[k], in, o->force ||
                          (s && listed(s->seen.v, s->seen.n, want.v[k])));
    dmbp__setrun_paths_free(&want);
    return st;
}

#define LINK_REFUSED "%s: a symbolic link: the manifest is not followed " \
                     "through links (remove it)"

/* The manifest path itself: not a link, not an input, a regular file. */
static dmbp_status check_path(const char *path, inodes *in, bool *exists)
{
    struct stat sb;
    *exists = lstat(path, &sb) == 0;
    if (!*exists)
        return DMBP_OK;
    if (S_ISLNK(sb.st_mode))
        return dmbp_set_error(DMBP_ERR_IO, LINK_REFUSED, path);
    TRY(check_output(path, in, true));
    if (!S_ISREG(sb.st_mode))
        return dmbp_set_error(DMBP_ERR_IO, "%s: not a regular file", path);
    return DMBP_OK;
}

static dmbp_status open_checked(const char *path, int flags, int *fd)
{
    *fd = open(path, flags | O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
               NEW_MANIFEST_MODE);
    struct stat sb;
    if (*fd >= 0 && fstat(*fd, &sb) == 0 && S_ISREG(sb.st_mode))
        return DMBP_OK;
    int err = *fd < 0 ? errno : 0;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    if (err == ELOOP)
        return dmbp_set_error(DMBP_ERR_IO, LINK_REFUSED, path);
    if (err)
        return dmbp_set_error(DMBP_ERR_IO, "%s: %s", path, strerror(err));
    return dmbp_set_error(DMBP_ERR_IO, "%s: not a regular file", path);
}

/* The fingerprint (a fresh manifest) and one "claimed" line per item to
 * compute, in one write. */
static dmbp_status write_head(const char *const *inputs,
                              const dmbp_setrun_options *o, const char *path,
                              int fd, bool fresh, const int *todo, int n_todo)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return OOM();
    if (fresh) {
        fputs("{\"set\": {", f);
        for (int k = 0; k < o->n_fingerprint; k++) {
            fputs(k ? ", " : "", f);
            dmbp__json_str(f, o->fingerprint[2 * k]);
            fputs(": ", f);
            dmbp__json_str(f, o->fingerprint[2 * k + 1]);
        }
        fputs("}}\n", f);
    }
    dmbp_status st = DMBP_OK;
    for (int k = 0; k < n_todo && !st; k++) {
        dmbp_setrun_paths want = {0};
        st = outputs_of(o, todo[k], &want);
        fputs("{\"input\": ", f);
        dmbp__json_str(f, inputs[todo[k]]);
        fputs(", \"status\": \"claimed\", \"outputs\": {", f);
        for (int j = 0; j < want.n; j++) {
            fprintf(f, "%s\"%d\": ", j ? ", " : "", j);
            dmbp__json_str(f, want.v[j]);
        }
        fputs("}}\n", f);
        dmbp__setrun_paths_free(&want);
    }
    fclose(f);
    if (!st && len)
        st = dmbp__setrun_append(path, fd, buf, len);
    free(buf);
    return st;
}

/* Read an existing manifest for resume: r filled, *fresh when the set
 * starts anew (no line, or another set's with force). */
static dmbp_status resume_read(reader *r, int *fd, bool *fresh)
{
    const dmbp_setrun_options *o = r->o;
    r->order = malloc(((size_t)r->n + 1) * sizeof *r->order);
    r->st = calloc((size_t)r->n + 1, sizeof *r->st);
    if (!r->order || !r->st)
        return OOM();
    for (int i = 0; i < r->n; i++)
        r->order[i] = i;
    qsort_r(r->order, (size_t)r->n, sizeof *r->order, by_input,
            (void *)r->inputs);
    TRY(open_checked(r->path, 0, fd));
    TRY(read_records(r, *fd));
    if (r->torn && o->log)
        fprintf(o->log, "dmbp: %s: ignoring an incomplete last line (the "
                "run was killed while writing it)\n", r->path);
    if (r->bad && o->log)
        fprintf(o->log, "dmbp: %s: ignoring %d unreadable line%s\n", r->path,
                r->bad, r->bad == 1 ? "" : "s");
    *fresh = r->lines == 0;
    if (*fresh)
        return DMBP_OK;
    int n_then = 0;
    const char **then = r->fp ? fp_pairs(r->fp, &n_then) : NULL;
    if (r->fp && !then)
        return OOM();
    char *diff = then ? dmbp__setrun_fp_diff(then, n_then, o->fingerprint,
                                             o->n_fingerprint)
                      : NULL;
    free(then);
    dmbp_status st = DMBP_OK;
    if ((!r->fp || diff) && !o->force)
        st = dmbp_set_error(DMBP_ERR_ARG, "%s: --resume: %s%s; --force "
                            "computes this set anew", r->path,
                            r->fp ? "another set: " : "the manifest has no "
                            "set fingerprint as its first line (an older "
                            "dmbp's, or not a manifest)", diff ? diff : "");
    *fresh = !r->fp || diff;
    free(diff);
    return st;
}

dmbp_status dmbp__setrun_manifest(const char *const *inputs, int n,
                                  const dmbp_setrun_options *o,
                                  const char *path, bool *done, int *fd_out,
                                  int *skipped, int *n_changed)
{
    *fd_out = -1;
    *skipped = *n_changed = 0;
    reader r = {.inputs = inputs, .n = n, .o = o, .path = path};
    inodes in = {0};
    int fd = -1;
    dmbp_status st = DMBP_OK;
    for (int k = 0; k < o->n_protect && !st; k++)
        st = inodes_add(&in, o->protect[k]);
    for (int i = 0; i < n && !st; i++)
        st = inodes_add(&in, inputs[i]);
    bool exists = false, fresh = true;
    if (!st)
        st = check_path(path, &in, &exists);
    if (!st && exists && o->resume)
        st = resume_read(&r, &fd, &fresh);
    int unusable = 0;
    for (int i = 0; i < n && !st; i++) {
        bool changed = false;
        done[i] = false;
        if (!fresh)
            st = proven(&r, i, &in, &done[i], &changed);
        /* The results a record carries must read back, or it proves
         * nothing. */
        if (!st && done[i] && o->record &&
            o->record(o->user, i, r.st[i].line)) {
            done[i] = false;
            unusable++;
        }
        *skipped += done[i];
        *n_changed += changed;
    }
    if (!st && unusable && o->log)
        fprintf(o->log, "dmbp: %s: ignoring %d record%s whose results do "
                "not read back: computed again\n", path, unusable,
                unusable == 1 ? "" : "s");
    /* Every output to write, before anything is written. */
    int *todo = malloc(((size_t)n + 1) * sizeof *todo), n_todo = 0;
    if (!todo && !st)
        st = OOM();
    for (int i = 0; i < n && !st; i++)
        if (!done[i]) {
            todo[n_todo++] = i;
            st = check_todo(o, fresh || !r.st ? NULL : &r.st[i], i, &in);
        }
    if (!st && fd < 0)
        st = open_checked(path, O_CREAT, &fd);
    if (!st && (fresh || r.torn) && ftruncate(fd, fresh ? 0 : r.good) != 0)
        st = dmbp_set_error(DMBP_ERR_IO, "%s: %s", path, strerror(errno));
    if (!st)
        st = write_head(inputs, o, path, fd, fresh, todo, n_todo);
    free(todo);
    reader_free(&r);
    free(in.v);
    if (st && fd >= 0)
        close(fd);
    else
        *fd_out = fd;
    return st;
}
