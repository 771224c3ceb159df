/* Image sets with an output directory: the manifest, --resume, failures,
 * progress, and the run in one process or as an MPI rank's worker. */
#include "batch.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A terminal's progress line is redrawn at most this often (seconds); when
 * stderr is not a terminal (a cluster log) a plain line is written at most
 * this often. */
#define PROGRESS_TTY_INTERVAL 0.2
#define PROGRESS_LOG_INTERVAL 30.0
#define MANIFEST_NAME "manifest.jsonl"

char **cli_argv;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Just enough JSON to read back what we wrote                        */
/* ------------------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static void put_utf8(char **o, unsigned u)
{
    if (u < 0x80) {
        *(*o)++ = (char)u;
    } else if (u < 0x800) {
        *(*o)++ = (char)(0xc0 | u >> 6);
        *(*o)++ = (char)(0x80 | (u & 0x3f));
    } else {
        *(*o)++ = (char)(0xe0 | u >> 12);
        *(*o)++ = (char)(0x80 | ((u >> 6) & 0x3f));
        *(*o)++ = (char)(0x80 | (u & 0x3f));
    }
}

/* A JSON string at p (after whitespace): malloc'ed value in *out, the end
 * returned; NULL if malformed. */
static const char *json_string(const char *p, char **out)
{
    p = skip_ws(p);
    if (*p != '"')
        return NULL;
    const char *q = ++p;
    while (*q && *q != '"')
        q += (*q == '\\' && q[1]) ? 2 : 1;
    if (*q != '"')
        return NULL;
    char *s = malloc((size_t)(q - p) + 1), *o = s;
    if (!s)
        return NULL;
    while (p < q) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned u = 0;
            for (int k = 0; k < 4 && p < q; k++, p++) {
                char h = *p;
                u = u * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 :
                                        h >= 'A' ? h - 'A' + 10 : h - '0');
            }
            put_utf8(&o, u);
            break;
        }
        default: *o++ = c;
        }
    }
    *o = 0;
    *out = s;
    return q + 1;
}

/* Past one JSON value of any kind; NULL if malformed. */
static const char *json_skip(const char *p)
{
    p = skip_ws(p);
    if (*p == '"') {
        char *s;
        p = json_string(p, &s);
        if (p)
            free(s);
        return p;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = json_skip(p)))
                    return NULL;
                p = skip_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = json_skip(p)))
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

/* One manifest line: its input, whether it finished, its output paths. */
typedef struct mline {
    char *input;
    bool ok;
    char **outputs;
    int n_outputs;
} mline;

static void mline_free(mline *m)
{
    free(m->input);
    for (int k = 0; k < m->n_outputs; k++)
        free(m->outputs[k]);
    free(m->outputs);
    memset(m, 0, sizeof *m);
}

/* path is among m's outputs (NULL: any line will do). */
static bool has_output(const mline *m, const char *path)
{
    if (!path)
        return true;
    for (int k = 0; k < m->n_outputs; k++)
        if (!strcmp(m->outputs[k], path))
            return true;
    return false;
}

static bool mline_parse(const char *p, mline *m)
{
    memset(m, 0, sizeof *m);
    p = skip_ws(p);
    if (*p++ != '{')
        return false;
    for (;;) {
        char *key;
        if (!(p = json_string(p, &key)))
            goto bad;
        p = skip_ws(p);
        if (*p++ != ':') {
            free(key);
            goto bad;
        }
        if (!strcmp(key, "input")) {
            free(m->input);
            p = json_string(p, &m->input);
        } else if (!strcmp(key, "status")) {
            char *v;
            if ((p = json_string(p, &v))) {
                m->ok = !strcmp(v, "ok");
                free(v);
            }
        } else if (!strcmp(key, "outputs")) {
            p = skip_ws(p);
            if (*p++ != '{') {
                free(key);
                goto bad;
            }
            p = skip_ws(p);
            while (p && *p != '}') {
                char *k2, *v;
                if (!(p = json_string(p, &k2)))
                    break;
                free(k2);
                p = skip_ws(p);
                if (*p++ != ':' || !(p = json_string(p, &v))) {
                    p = NULL;
                    break;
                }
                char **grown = realloc(m->outputs, (size_t)(m->n_outputs + 1) *
                                                       sizeof *grown);
                if (!grown) {
                    free(v);
                    p = NULL;
                    break;
                }
                m->outputs = grown;
                m->outputs[m->n_outputs++] = v;
                p = skip_ws(p);
                if (*p == ',')
                    p = skip_ws(p + 1);
            }
            if (p)
                p++;
        } else {
            p = json_skip(p);
        }
        free(key);
        if (!p)
            goto bad;
        p = skip_ws(p);
        if (*p == '}')
            return m->input != NULL;
        if (*p++ != ',')
            goto bad;
    }
bad:
    mline_free(m);
    return false;
}

/* ------------------------------------------------------------------ */
/* The ledger: rank 0's view of the run                               */
/* ------------------------------------------------------------------ */

struct cli_ledger {
    const cli_batch *b;
    int fd;                 /* the manifest, O_APPEND */
    char *path;
    int *todo, n_todo;
    int ok, failed, lost, skipped;
    double t0, last_progress;
    int progress_width;     /* characters of the terminal line drawn */
    bool tty;
    bool mpi;               /* an MPI run: ranks, lost images, the manifest
                               named (one process says only what it did) */
};

static int by_input(const void *a, const void *b, void *ctx)
{
    const char *const *in = ctx;
    return strcmp(in[*(const int *)a], in[*(const int *)b]);
}

/* Mark inputs finished according to the manifest's complete lines; a
 * torn last line (the writer killed mid-write) is cut off. */
static int read_manifest(cli_ledger *l, bool *done)
{
    const cli_batch *b = l->b;
    FILE *f = fopen(l->path, "r");
    if (!f)
        return errno == ENOENT ? EXIT_OK : (fprintf(stderr, "dmbp: %s: %s\n",
                                   l->path, strerror(errno)), EXIT_IO);
    int *order = malloc((size_t)b->n * sizeof *order);
    if (!order) {
        fclose(f);
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < b->n; i++)
        order[i] = i;
    qsort_r(order, (size_t)b->n, sizeof *order, by_input,
            (void *)b->inputs);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t good = 0;
    int torn = 0, bad = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') {
            torn = 1;
            break;
        }
        good += len;
        mline m;
        if (!mline_parse(line, &m)) {
            bad++;
            continue;
        }
        bool exists = m.ok;
        for (int k = 0; k < m.n_outputs && exists; k++)
            exists = access(m.outputs[k], F_OK) == 0;
        if (exists) {
            /* Binary search for the input among the sorted names. */
            int lo = 0, hi = b->n - 1;
            while (lo <= hi) {
                int mid = (lo + hi) / 2;
                int c = strcmp(m.input, b->inputs[order[mid]]);
                if (c == 0) {
                    /* Every item of that name whose outputs these are. */
                    int j = mid;
                    while (j > 0 && !strcmp(m.input, b->inputs[order[j - 1]]))
                        j--;
                    for (; j < b->n && !strcmp(m.input, b->inputs[order[j]]);
                         j++)
                        if (has_output(&m, b->expect ?
                                               b->expect[order[j]] : NULL))
                            done[order[j]] = true;
                    break;
                }
                if (c < 0)
                    hi = mid - 1;
                else
                    lo = mid + 1;
            }
        }
        mline_free(&m);
    }
    free(line);
    free(order);
    fclose(f);
    if (torn) {
        fprintf(stderr, "dmbp: %s: ignoring an incomplete last line (the "
                "run was killed while writing it)\n", l->path);
        if (truncate(l->path, good) != 0) {
            fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
            return EXIT_IO;
        }
    }
    if (bad)
        fprintf(stderr, "dmbp: %s: ignoring %d unreadable line%s\n", l->path,
                bad, bad == 1 ? "" : "s");
    return EXIT_OK;
}

int cli_ledger_open(const cli_batch *b, int ranks, cli_ledger **out)
{
    cli_ledger *l = calloc(1, sizeof *l);
    bool *done = calloc((size_t)b->n + 1, sizeof *done);
    size_t plen = strlen(b->dir) + sizeof MANIFEST_NAME + 1;
    if (l)
        l->path = malloc(plen);
    if (l)
        l->todo = malloc(((size_t)b->n + 1) * sizeof *l->todo);
    if (!l || !done || !l->path || !l->todo) {
        free(done);
        if (l) {
            free(l->path);
            free(l->todo);
        }
        free(l);
        fprintf(stderr, "dmbp: out of memory\n");
        return EXIT_INTERNAL;
    }
    l->b = b;
    l->fd = -1;
    snprintf(l->path, plen, "%s/%s", b->dir, MANIFEST_NAME);
    int rc = b->resume ? read_manifest(l, done) : EXIT_OK;
    if (!rc) {
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
                                  (b->resume ? 0 : O_TRUNC), 0666);
        if (l->fd < 0) {
            fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
            rc = EXIT_IO;
        }
    }
    for (int i = 0; i < b->n; i++) {
        if (done[i])
            l->skipped++;
        else
            l->todo[l->n_todo++] = i;
    }
    free(done);
    if (rc) {
        free(l->todo);
        free(l->path);
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return rc;
    }
    l->tty = isatty(2);
    l->mpi = ranks > 1 || cli_mpi_launcher();
    l->t0 = l->last_progress = now_seconds();
    if (!b->quiet && l->mpi)
        fprintf(stderr, "dmbp: %d image%s to compute%s on %d rank%s, "
                "manifest %s\n", l->n_todo, l->n_todo == 1 ? "" : "s",
                l->skipped ? " (the others are done)" : "", ranks,
                ranks == 1 ? "" : "s", l->path);
    if (l->skipped && !b->quiet)
        fprintf(stderr, "dmbp: --resume: %d image%s already done%s\n",
                l->skipped, l->skipped == 1 ? "" : "s",
                l->mpi ? "" : l->n_todo == 0 ? ", 0 images to compute"
                : l->n_todo == 1 ? ", 1 image to compute" : "");
    if (l->skipped && !b->quiet && !l->mpi && l->n_todo > 1)
        fprintf(stderr, "dmbp: %d images to compute\n", l->n_todo);
    *out = l;
    return EXIT_OK;
}

const int *cli_ledger_todo(const cli_ledger *l, int *count)
{
    *count = l->n_todo;
    return l->todo;
}

static void progress_clear(cli_ledger *l)
{
    if (l->tty && l->progress_width) {
        fprintf(stderr, "\r%*s\r", l->progress_width, "");
        l->progress_width = 0;
    }
}

static void progress(cli_ledger *l, bool final)
{
    if (l->b->quiet)
        return;
    double now = now_seconds();
    double interval = l->tty ? PROGRESS_TTY_INTERVAL : PROGRESS_LOG_INTERVAL;
    if (!final && now - l->last_progress < interval)
        return;
    l->last_progress = now;
    int done = l->ok + l->failed + l->lost;
    double el = now - l->t0;
    double rate = el > 0 ? done * 60.0 / el : 0;
    char eta[96] = "";
    if (done > 0 && done < l->n_todo) {
        long s = lround(el * (l->n_todo - done) / done);
        snprintf(eta, sizeof eta, ", %ld:%02ld:%02ld left", s / 3600,
                 s / 60 % 60, s % 60);
    }
    char line[200], lost[32] = "";
    if (l->mpi)
        snprintf(lost, sizeof lost, ", %d lost", l->lost);
    int len = snprintf(line, sizeof line, "dmbp: %d/%d images (%d failed%s)"
                       ", %.1f images/min%s", done, l->n_todo, l->failed,
                       lost, rate, eta);
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    if (l->tty) {
        fprintf(stderr, "\r%s%*s", line,
                l->progress_width > len ? l->progress_width - len : 0, "");
        if (len > l->progress_width)
            l->progress_width = len;
        if (final)
            progress_clear(l);
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

/* The whole line in one write() and on disk before we go on: a reader
 * never sees half a line unless the writer died inside write(), and then
 * only as the last line, which read_manifest cuts off. */
static int append_line(cli_ledger *l, const char *s, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(l->fd, s + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
            return EXIT_IO;
        }
        off += (size_t)w;
    }
    if (fsync(l->fd) != 0 && errno != EINVAL) {
        fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
        return EXIT_IO;
    }
    return EXIT_OK;
}

int cli_ledger_record(cli_ledger *l, const char *line, int rank)
{
    const cli_batch *b = l->b;
    char *end, *text = NULL, *error = NULL;
    long idx = strtol(line, &end, 10);
    if (end == line || idx < 0 || idx >= b->n || *end != ' ') {
        fprintf(stderr, "dmbp: internal error: bad result from rank %d\n",
                rank);
        return EXIT_INTERNAL;
    }
    const char *p = end + 1;
    bool ok = !strncmp(p, "ok ", 3);
    int status = 0;
    p += ok ? 3 : 5;
    if (!ok)
        status = (int)strtol(p, (char **)&p, 10);
    double secs = strtod(p, (char **)&p);
    p = json_string(p, ok ? &text : &error);
    if (!p) {
        fprintf(stderr, "dmbp: internal error: bad result from rank %d\n",
                rank);
        return EXIT_INTERNAL;
    }
    const char *fragment = skip_ws(p);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        free(text);
        free(error);
        return EXIT_INTERNAL;
    }
    fputs("{\"input\": ", f);
    cli_json_str(f, b->inputs[idx]);
    if (ok) {
        fprintf(f, ", \"status\": \"ok\", %s", fragment);
    } else {
        fprintf(f, ", \"status\": \"failed\", \"exit_status\": %d, "
                "\"error\": ", status);
        cli_json_str(f, error);
    }
    fprintf(f, ", \"rank\": %d, \"seconds\": %.3f}\n", rank, secs);
    fclose(f);
    int rc = append_line(l, buf, len);
    progress_clear(l);
    if (ok) {
        l->ok++;
        if (b->json)
            fputs(buf, stdout);
        else
            printf("%s\n", text);
        fflush(stdout);
    } else {
        /* The worker already said why on stderr; the manifest keeps it. */
        l->failed++;
    }
    free(buf);
    free(text);
    free(error);
    progress(l, false);
    return rc;
}

void cli_ledger_lost(cli_ledger *l, int index, const char *why)
{
    progress_clear(l);
    l->lost++;
    fprintf(stderr, "dmbp: %s: lost (%s); rerun with --resume\n",
            l->b->inputs[index], why);
    progress(l, false);
}

bool cli_ledger_stop(const cli_ledger *l)
{
    return l->b->max_failures > 0 &&
           l->failed + l->lost >= l->b->max_failures;
}

int cli_ledger_close(cli_ledger *l)
{
    progress(l, true);
    int not_done = l->n_todo - l->ok - l->failed - l->lost;
    if (l->mpi && (!l->b->quiet || l->failed || l->lost || not_done))
        fprintf(stderr, "dmbp: %d done, %d failed, %d lost, %d not started"
                "%s, %d skipped (--resume); %.1f s\n", l->ok, l->failed,
                l->lost, not_done, cli_ledger_stop(l) ? " (--max-failures)"
                : "", l->skipped, now_seconds() - l->t0);
    else if (l->failed || not_done)
        /* One process: only what went wrong (the progress said the rest). */
        fprintf(stderr, "dmbp: %d done, %d failed, %d not started%s\n",
                l->ok, l->failed, not_done,
                cli_ledger_stop(l) ? " (--max-failures)" : "");
    int rc = EXIT_OK;
    if (l->failed + l->lost + not_done > 0)
        rc = EXIT_INCOMPLETE;
    if (l->fd >= 0 && close(l->fd) != 0) {
        fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
        rc = EXIT_IO;
    }
    free(l->todo);
    free(l->path);
    free(l);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Computing items                                                    */
/* ------------------------------------------------------------------ */

char *cli_result_format(const cli_batch *b, int index, int *rc)
{
    cli_item_result res = {0};
    double t0 = now_seconds();
    *rc = b->fn(b->ctx, index, &res);
    double secs = now_seconds() - t0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = *rc ? NULL : open_memstream(&buf, &len);
    if (f) {
        if (res.status == EXIT_OK) {
            fprintf(f, "%d ok %.6f ", index, secs);
            cli_json_str(f, res.text ? res.text : "");
            fprintf(f, " %s", res.fragment ? res.fragment : "");
        } else {
            fprintf(f, "%d fail %d %.6f ", index, res.status, secs);
            cli_json_str(f, res.error[0] ? res.error : "failed");
        }
        fclose(f);
    } else if (!*rc) {
        fprintf(stderr, "dmbp: out of memory\n");
        *rc = EXIT_INTERNAL;
    }
    free(res.fragment);
    free(res.text);
    return buf;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

int cli_batch_worker(const cli_batch *b, int fd_in, int fd_out, int rank)
{
    /* Test hook (tests/cli_mpi.sh): the worker of rank DMBP_TEST_DIE_RANK
     * (default 1) is killed when given its item after DMBP_TEST_DIE_AFTER
     * finished ones, as the OOM killer would. */
    const char *die = getenv("DMBP_TEST_DIE_AFTER");
    const char *die_rank = getenv("DMBP_TEST_DIE_RANK");
    long die_after = die ? strtol(die, NULL, 10) : -1;
    if (rank != (die_rank ? atoi(die_rank) : 1))
        die_after = -1;
    FILE *in = fdopen(fd_in, "r");
    if (!in)
        return EXIT_INTERNAL;
    char *line = NULL;
    size_t cap = 0;
    long finished = 0;
    int rc = EXIT_OK;
    while (getline(&line, &cap, in) > 0) {
        int idx = atoi(line);
        if (idx < 0 || idx >= b->n) {
            rc = EXIT_INTERNAL;
            break;
        }
        if (die_after >= 0 && finished >= die_after)
            raise(SIGKILL);
        char *res = cli_result_format(b, idx, &rc);
        if (!res)
            break;
        size_t len = strlen(res);
        res[len] = '\n';   /* replaces the terminator: written by length */
        int w = write_all(fd_out, res, len + 1);
        free(res);
        if (w)
            break;
        finished++;
    }
    free(line);
    fclose(in);
    return rc;
}

/* ------------------------------------------------------------------ */
/* One output file per image                                          */
/* ------------------------------------------------------------------ */

bool cli_batch_is_worker(void)
{
    return getenv("DMBP_MPI_WORKER") != NULL;
}

void cli_set_paths_free(char **paths, int n)
{
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_set_paths(const char *dir, const char *const *images, int n,
                  const char *suffix, const char *model, bool resume,
                  bool force, char ***out)
{
    char **p = calloc((size_t)n + 1, sizeof *p);
    char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    const char **inputs = malloc(((size_t)n + 1) * sizeof *inputs);
    *out = p;
    int rc = p && sorted && inputs ? EXIT_OK : EXIT_INTERNAL;
    for (int i = 0; i < n && !rc; i++) {
        char *stem = cli_stem(images[i]);
        size_t len = stem ? strlen(dir) + strlen(stem) + strlen(suffix) + 2
                          : 0;
        p[i] = stem ? malloc(len) : NULL;
        if (p[i])
            snprintf(p[i], len, "%s/%s%s", dir, stem, suffix);
        else
            rc = EXIT_INTERNAL;
        free(stem);
    }
    if (rc == EXIT_INTERNAL)
        fprintf(stderr, "dmbp: out of memory\n");
    /* Sorted copies find duplicate names in n log n (sets are large). */
    if (!rc) {
        memcpy(sorted, p, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_path);
        for (int i = 1; i < n && !rc; i++)
            if (!strcmp(sorted[i], sorted[i - 1])) {
                int a = -1, b = -1;
                for (int j = 0; j < n; j++)
                    if (!strcmp(p[j], sorted[i])) {
                        if (a < 0)
                            a = j;
                        else if (b < 0)
                            b = j;
                    }
                rc = cli_usage_error("%s and %s would both write %s",
                                     images[a], images[b], sorted[i]);
            }
    }
    if (!rc && !resume && !cli_batch_is_worker()) {
        inputs[0] = model;
        memcpy(inputs + 1, images, (size_t)n * sizeof *inputs);
        for (int i = 0; i < n && !rc; i++)
            rc = cli_check_output(p[i], inputs, n + 1, force);
    }
    if (!rc && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                "%s\n", dir, strerror(errno));
        rc = EXIT_IO;
    }
    free(sorted);
    free(inputs);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                            */
/* ------------------------------------------------------------------ */

static int run_here(const cli_batch *b)
{
    cli_ledger *l;
    int rc = cli_ledger_open(b, 1, &l);
    if (rc)
        return rc;
    int n;
    const int *todo = cli_ledger_todo(l, &n);
    for (int k = 0; k < n && !rc && !cli_ledger_stop(l); k++) {
        char *res = cli_result_format(b, todo[k], &rc);
        if (res)
            rc = cli_ledger_record(l, res, 0);
        free(res);
    }
    int rc2 = cli_ledger_close(l);
    return rc ? rc : rc2;
}

int cli_batch_run(const cli_batch *b)
{
    const char *w = getenv("DMBP_MPI_WORKER");
    if (w) {
        int in, out, rank;
        if (sscanf(w, "%d:%d:%d", &in, &out, &rank) != 3) {
            fprintf(stderr, "dmbp: DMBP_MPI_WORKER='%s': expected "
                    "IN:OUT:RANK\n", w);
            return EXIT_USAGE;
        }
        return cli_batch_worker(b, in, out, rank);
    }
    int rc = cli_mpi_run(b);
    return rc >= 0 ? rc : run_here(b);
}

int cli_item_failed(cli_item_result *res, int rc)
{
    res->status = rc;
    if (*dmbp_last_error())
        snprintf(res->error, sizeof res->error, "%s", dmbp_last_error());
    else
        snprintf(res->error, sizeof res->error, "exit status %d (the "
                 "message above says why)", rc);
    return rc == EXIT_INTERNAL ? rc : EXIT_OK;
}
