/* Image sets with an output directory: the manifest, --resume, failures,
 * progress, and the run in one process or as an MPI rank's worker. */
#include "batch.h"
#include "cli.h"
#include "manifest.h"

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
    snprintf(l->path, plen, "%s/%s", b->dir, MANIFEST_NAME);
    int changed;
    int rc = cli_manifest_open(b, l->path, done, &l->fd, &l->skipped,
                               &changed);
    for (int i = 0; i < b->n; i++)
        if (!done[i])
            l->todo[l->n_todo++] = i;
    free(done);
    if (rc) {
        free(l->todo);
        free(l->path);
        free(l);
        return rc;
    }
    l->tty = isatty(2);
    l->mpi = ranks > 1 || cli_mpi_launcher();
    l->t0 = l->last_progress = now_seconds();
    if (changed && !b->quiet)
        fprintf(stderr, "dmbp: --resume: %d image%s changed since %s "
                "computed: computed again\n", changed,
                changed == 1 ? "" : "s", changed == 1 ? "it was" : "they were");
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

static int append_line(cli_ledger *l, const char *s, size_t len)
{
    return cli_manifest_append(l->path, l->fd, s, len);
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
    p = cli_json_string(p, ok ? &text : &error);
    if (!p) {
        fprintf(stderr, "dmbp: internal error: bad result from rank %d\n",
                rank);
        return EXIT_INTERNAL;
    }
    const char *fragment = cli_json_skip_ws(p);

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
    struct stat sb;
    bool have_stat = strcmp(b->inputs[index], "-") &&
                     stat(b->inputs[index], &sb) == 0;
    double t0 = now_seconds();
    cli_capture_begin();
    *rc = b->fn(b->ctx, index, &res);
    cli_capture_end();
    double secs = now_seconds() - t0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = *rc ? NULL : open_memstream(&buf, &len);
    if (f) {
        if (res.status == EXIT_OK) {
            fprintf(f, "%d ok %.6f ", index, secs);
            cli_json_str(f, res.text ? res.text : "");
            /* The input as it was before it was read: --resume computes
             * it again once it changed. */
            if (have_stat)
                fprintf(f, " \"input_size\": %lld, \"input_mtime_ns\": "
                        "%lld%s", (long long)sb.st_size,
                        (long long)sb.st_mtim.tv_sec * 1000000000LL +
                            sb.st_mtim.tv_nsec,
                        res.fragment && *res.fragment ? "," : "");
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

int cli_set_paths_outputs(void *ctx, int index, cli_names *out)
{
    char **paths = *(char ***)ctx;
    return cli_names_add(out, paths[index]);
}

int cli_set_paths(const char *dir, const char *const *images, int n,
                  const char *suffix, char ***out)
{
    char **p = calloc((size_t)n + 1, sizeof *p);
    char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    *out = p;
    int rc = p && sorted ? EXIT_OK : EXIT_INTERNAL;
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
    if (!rc && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                "%s\n", dir, strerror(errno));
        rc = EXIT_IO;
    }
    free(sorted);
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
    /* What was printed about it, in the program's words. */
    if (*cli_captured())
        snprintf(res->error, sizeof res->error, "%s", cli_captured());
    else if (*dmbp_last_error())
        snprintf(res->error, sizeof res->error, "%s", dmbp_last_error());
    else
        snprintf(res->error, sizeof res->error, "exit status %d", rc);
    /* A usage problem (an unknown --layer: the library's DMBP_ERR_ARG) is
     * every image's: the set stops at the first, with that status. */
    return rc == EXIT_INTERNAL || rc == EXIT_USAGE ? rc : EXIT_OK;
}
