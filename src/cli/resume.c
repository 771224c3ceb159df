/* Opening an image set's manifest: what --resume may skip, and the checks
 * every other output goes through (see dmbp(1), FILES). The manifest is
 * never followed through a symbolic link, must be a regular file and not
 * an input; it is read and appended through one descriptor. */
#include "runner.h"
#include "cli.h"
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEW_MANIFEST_MODE 0666

/* What the manifest says of each item. */
typedef struct item_state {
    cli_mrecord last;   /* the item's last record: it decides */
    cli_names seen;     /* every path any record of the item listed: files
                           the set itself wrote or was about to write */
} item_state;

typedef struct reader {
    const cli_runner *b;
    const char *path;
    int *order;         /* item indices sorted by input name */
    item_state *st;
    cli_fingerprint fp;
    bool has_fp;
    int lines, bad;
    off_t good;         /* bytes of complete lines */
    bool torn;
} reader;

static int by_input(const void *a, const void *b, void *ctx)
{
    const char *const *in = ctx;
    return strcmp(in[*(const int *)a], in[*(const int *)b]);
}

/* The first item named input in r->order, or -1. */
static int find_first(const reader *r, const char *input)
{
    const cli_runner *b = r->b;
    int lo = 0, hi = b->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(input, b->inputs[r->order[mid]]);
        if (c == 0) {
            while (mid > 0 && !strcmp(input, b->inputs[r->order[mid - 1]]))
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
 * paths it lists are the set's. */
static int take(reader *r, cli_mrecord *rec)
{
    const cli_runner *b = r->b;
    int j = find_first(r, rec->input);
    for (; j >= 0 && j < b->n && !strcmp(rec->input, b->inputs[r->order[j]]);
         j++) {
        item_state *s = &r->st[r->order[j]];
        for (int k = 0; k < rec->outputs.n; k++) {
            int rc = cli_names_add(&s->seen, rec->outputs.v[k]);
            if (rc)
                return rc;
        }
        cli_mrecord_free(&s->last);
        cli_mrecord copy = *rec;
        memset(&copy.outputs, 0, sizeof copy.outputs);
        copy.input = strdup(rec->input);
        copy.line = rec->line ? strdup(rec->line) : NULL;
        for (int k = 0; k < rec->outputs.n && copy.input; k++)
            if (cli_names_add(&copy.outputs, rec->outputs.v[k]))
                break;
        if (!copy.input || copy.outputs.n != rec->outputs.n ||
            (rec->line && !copy.line)) {
            cli_mrecord_free(&copy);
            return cli_oom();
        }
        s->last = copy;
    }
    return EXIT_OK;
}

static int read_records(reader *r, int fd)
{
    int fd2 = dup(fd);
    FILE *f = fd2 >= 0 ? fdopen(fd2, "r") : NULL;
    if (!f) {
        if (fd2 >= 0)
            close(fd2);
        fprintf(stderr, "dmbp: %s: %s\n", r->path, strerror(errno));
        return EXIT_IO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = EXIT_OK;
    while (!rc && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') {
            r->torn = true;
            break;
        }
        r->good += len;
        line[--len] = 0;
        cli_mrecord rec;
        cli_fingerprint fp;
        int kind = cli_manifest_parse(line, (size_t)len, &rec, &fp);
        if (kind == MLINE_SET && r->lines == 0) {
            r->fp = fp;
            r->has_fp = true;
        } else if (kind == MLINE_ITEM) {
            if (r->b->record && !(rec.line = strdup(line)))
                rc = cli_oom();
            if (!rc)
                rc = take(r, &rec);
        } else {
            cli_fingerprint_free(&fp);
            r->bad++;
        }
        cli_mrecord_free(&rec);
        r->lines++;
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "dmbp: %s: read error: %s\n", r->path,
                strerror(errno));
        rc = EXIT_IO;
    }
    free(line);
    fclose(f);
    return rc;
}

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

static bool listed(const cli_names *l, const char *path)
{
    for (int k = 0; k < l->n; k++)
        if (!strcmp(l->v[k], path))
            return true;
    return false;
}

/* Does the manifest prove item i done? Its last record is "ok", the input
 * has the size and time it had then, the record lists every output this
 * run would write, and each listed output is a regular file (not a link)
 * inside DIR and not an input. *changed: the input changed since. */
static int proven(const cli_runner *b, item_state *s, int i,
                  cli_inodes *inputs, bool *done, bool *changed)
{
    *done = *changed = false;
    const cli_mrecord *rec = &s->last;
    if (!rec->input || rec->status != MREC_OK)
        return EXIT_OK;
    struct stat sb;
    if (cli_input_stat(b->inputs[i], &sb) != 0)
        return EXIT_OK;
    long long mtime = (long long)sb.st_mtim.tv_sec * 1000000000LL +
                      sb.st_mtim.tv_nsec;
    if (!rec->has_stat || rec->size != (long long)sb.st_size ||
        rec->mtime_ns != mtime) {
        *changed = rec->has_stat;
        return EXIT_OK;
    }
    cli_names want = {0};
    int rc = b->outputs ? b->outputs(b->ctx, i, &want) : EXIT_OK;
    bool ok = !rc;
    for (int k = 0; k < want.n && ok; k++)
        ok = listed(&rec->outputs, want.v[k]);
    for (int k = 0; k < rec->outputs.n && ok; k++) {
        const char *p = rec->outputs.v[k];
        ok = inside(b->dir, p) && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode)
             && !cli_inodes_find(inputs, sb.st_dev, sb.st_ino);
    }
    cli_names_free(&want);
    *done = ok;
    return rc;
}

/* Item i is computed: each of its outputs goes through the checks of a
 * fresh run; a file the set itself listed may be replaced without
 * --force (an image killed half-way), an input never. */
static int check_todo(const cli_runner *b, item_state *s, int i,
                      cli_inodes *inputs)
{
    cli_names want = {0};
    int rc = b->outputs ? b->outputs(b->ctx, i, &want) : EXIT_OK;
    for (int k = 0; k < want.n && !rc; k++)
        rc = cli_check_output_in(want.v[k], inputs,
                                 b->args->f.force || (s && listed(&s->seen,
                                                          want.v[k])));
    cli_names_free(&want);
    return rc;
}

/* The manifest path itself: not a link, not an input, a regular file.
 * Without --resume a run starts the directory's manifest anew (once its
 * outputs passed their checks): it is the set's record, not a result. */
static int check_path(const cli_runner *b, const char *path,
                      cli_inodes *inputs, bool *exists)
{
    struct stat sb;
    *exists = lstat(path, &sb) == 0;
    if (!*exists)
        return EXIT_OK;
    if (S_ISLNK(sb.st_mode)) {
        fprintf(stderr, "dmbp: %s: a symbolic link: the manifest is not "
                "followed through links (remove it)\n", path);
        return EXIT_IO;
    }
    int rc = cli_check_output_in(path, inputs, true);
    if (rc)
        return rc;
    if (!S_ISREG(sb.st_mode)) {
        fprintf(stderr, "dmbp: %s: not a regular file\n", path);
        return EXIT_IO;
    }
    return EXIT_OK;
}

static int open_checked(const char *path, int flags, int *fd)
{
    *fd = open(path, flags | O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
               NEW_MANIFEST_MODE);
    struct stat sb;
    if (*fd >= 0 && fstat(*fd, &sb) == 0 && S_ISREG(sb.st_mode))
        return EXIT_OK;
    int err = *fd < 0 ? errno : 0;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    if (err == ELOOP)
        fprintf(stderr, "dmbp: %s: a symbolic link: the manifest is not "
                "followed through links (remove it)\n", path);
    else if (err)
        fprintf(stderr, "dmbp: %s: %s\n", path, strerror(err));
    else
        fprintf(stderr, "dmbp: %s: not a regular file\n", path);
    return EXIT_IO;
}

/* The fingerprint and one "claimed" line per item to compute, in one
 * write (on disk before any output is). */
static int write_head(const cli_runner *b, const cli_fingerprint *fp,
                      const char *path, int fd, bool fresh, const int *todo,
                      int n_todo)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return cli_oom();
    if (fresh)
        cli_fingerprint_write(f, fp);
    int rc = EXIT_OK;
    for (int k = 0; k < n_todo && !rc; k++) {
        cli_names want = {0};
        if (b->outputs)
            rc = b->outputs(b->ctx, todo[k], &want);
        fputs("{\"input\": ", f);
        dmbp__json_str(f, b->inputs[todo[k]]);
        fputs(", \"status\": \"claimed\", \"outputs\": {", f);
        for (int j = 0; j < want.n; j++) {
            fprintf(f, "%s\"%d\": ", j ? ", " : "", j);
            dmbp__json_str(f, want.v[j]);
        }
        fputs("}}\n", f);
        cli_names_free(&want);
    }
    fclose(f);
    if (!rc && len)
        rc = cli_manifest_append(path, fd, buf, len);
    free(buf);
    return rc;
}

int cli_manifest_open(const cli_runner *b, const char *path, bool *done,
                      int *fd_out, int *skipped, int *n_changed)
{
    *fd_out = -1;
    *skipped = *n_changed = 0;
    reader r = {.b = b, .path = path};
    cli_inodes inputs = {0};
    cli_fingerprint now = {0};
    const cli_flags *f = &b->args->f;
    const char *images = f->images && !strncmp(f->images, "idx:", 4)
                             ? f->images + 4 : f->images;
    const char *others[] = {b->model, f->labels, f->targets, images};
    int rc = cli_set_fingerprint(b->args, b->model, b->fp_extra,
                                 b->n_fp_extra, &now), fd = -1;
    for (size_t k = 0; k < sizeof others / sizeof *others && !rc; k++)
        rc = cli_inodes_add(&inputs, others[k]);
    for (int i = 0; i < b->n && !rc; i++)
        rc = cli_inodes_add(&inputs, b->inputs[i]);
    bool exists = false, fresh = true;
    if (!rc)
        rc = check_path(b, path, &inputs, &exists);
    if (!rc && exists && b->resume) {
        r.order = malloc(((size_t)b->n + 1) * sizeof *r.order);
        r.st = calloc((size_t)b->n + 1, sizeof *r.st);
        if (!r.order || !r.st)
            rc = cli_oom();
        for (int i = 0; i < b->n && !rc; i++)
            r.order[i] = i;
        if (!rc) {
            qsort_r(r.order, (size_t)b->n, sizeof *r.order, by_input,
                    (void *)b->inputs);
            rc = open_checked(path, 0, &fd);
        }
        if (!rc)
            rc = read_records(&r, fd);
        if (!rc && r.torn)
            fprintf(stderr, "dmbp: %s: ignoring an incomplete last line (the "
                    "run was killed while writing it)\n", path);
        if (!rc && r.bad)
            fprintf(stderr, "dmbp: %s: ignoring %d unreadable line%s\n",
                    path, r.bad, r.bad == 1 ? "" : "s");
        fresh = r.lines == 0;
        if (!rc && !fresh) {
            char *diff = r.has_fp ? cli_fingerprint_diff(&r.fp, &now)
                                  : NULL;
            if (!r.has_fp || diff) {
                if (!f->force) {
                    fprintf(stderr, "dmbp: %s: --resume: %s%s; --force "
                            "computes this set anew\n", path,
                            r.has_fp ? "another set: " : "the manifest has "
                            "no set fingerprint as its first line (an older "
                            "dmbp's, or not a manifest)",
                            diff ? diff : "");
                    rc = EXIT_USAGE;
                }
                fresh = true;
            }
            free(diff);
        }
    }
    int unusable = 0;
    for (int i = 0; i < b->n && !rc; i++) {
        bool changed = false;
        done[i] = false;
        if (!fresh)
            rc = proven(b, &r.st[i], i, &inputs, &done[i], &changed);
        /* The results a record carries must read back, or it proves
         * nothing (record: < 0). */
        int got = !rc && done[i] && b->record
                      ? b->record(b->ctx, i, r.st[i].last.line) : EXIT_OK;
        if (got < 0) {
            done[i] = false;
            unusable++;
        } else {
            rc = got;
        }
        *skipped += done[i];
        *n_changed += changed;
    }
    if (!rc && unusable)
        fprintf(stderr, "dmbp: %s: ignoring %d record%s whose results do "
                "not read back: computed again\n", path, unusable,
                unusable == 1 ? "" : "s");
    /* Every output to write, before anything is written. */
    int *todo = malloc(((size_t)b->n + 1) * sizeof *todo), n_todo = 0;
    if (!todo && !rc)
        rc = cli_oom();
    for (int i = 0; i < b->n && !rc; i++)
        if (!done[i]) {
            todo[n_todo++] = i;
            rc = check_todo(b, fresh || !r.st ? NULL : &r.st[i], i, &inputs);
        }
    if (!rc && fd < 0)
        rc = open_checked(path, O_CREAT, &fd);
    if (!rc && (fresh || r.torn) && ftruncate(fd, fresh ? 0 : r.good) != 0) {
        fprintf(stderr, "dmbp: %s: %s\n", path, strerror(errno));
        rc = EXIT_IO;
    }
    if (!rc)
        rc = write_head(b, &now, path, fd, fresh, todo, n_todo);
    free(todo);
    if (r.st)
        for (int i = 0; i < b->n; i++) {
            cli_mrecord_free(&r.st[i].last);
            cli_names_free(&r.st[i].seen);
        }
    free(r.st);
    free(r.order);
    cli_fingerprint_free(&r.fp);
    cli_fingerprint_free(&now);
    cli_inodes_free(&inputs);
    if (rc && fd >= 0)
        close(fd);
    else
        *fd_out = fd;
    return rc;
}

int cli_manifest_append(const char *path, int fd, const char *s, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, s + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "dmbp: %s: %s\n", path, strerror(errno));
            return EXIT_IO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        fprintf(stderr, "dmbp: %s: %s\n", path, strerror(errno));
        return EXIT_IO;
    }
    return EXIT_OK;
}
