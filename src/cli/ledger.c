/* The ledger: rank 0's view of an image set (runner.h). It opens the
 * manifest (resume.c) and records every item's result: the manifest line,
 * the stdout line, the progress, the final summary and exit status. */
#include "cli.h"
#include "manifest.h"
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A terminal's progress line is redrawn at most this often (seconds); when
 * stderr is not a terminal (a cluster log) a plain line is written at most
 * this often. */
#define PROGRESS_TTY_INTERVAL 0.2
#define PROGRESS_LOG_INTERVAL 30.0
#define MANIFEST_NAME "manifest.jsonl"

struct cli_ledger {
    const cli_runner *b;
    int fd;                 /* the manifest, O_APPEND */
    char *path;
    int *todo, n_todo;
    int ok, failed, lost, skipped;
    int first_status;       /* the first failed item's exit status */
    double t0, last_progress;
    int progress_width;     /* characters of the terminal line drawn */
    bool tty;
    bool mpi;               /* an MPI run: ranks, lost images, the manifest
                               named (one process says only what it did) */
};

int cli_ledger_open(const cli_runner *b, int ranks, bool mpi,
                    cli_ledger **out)
{
    cli_ledger *l = calloc(1, sizeof *l);
    bool *done = calloc((size_t)b->n + 1, sizeof *done);
    size_t plen = (b->dir ? strlen(b->dir) : 0) + sizeof MANIFEST_NAME + 1;
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
        return cli_oom();
    }
    l->b = b;
    snprintf(l->path, plen, "%s/%s", b->dir, MANIFEST_NAME);
    int changed = 0, rc = EXIT_OK;
    l->fd = -1;
    if (b->dir)
        rc = cli_manifest_open(b, l->path, done, &l->fd, &l->skipped,
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
    l->mpi = mpi;
    l->t0 = l->last_progress = cli_now();
    if (changed && !b->quiet)
        fprintf(stderr, "dmbp: --resume: %d image%s changed since %s "
                "computed: computed again\n", changed,
                changed == 1 ? "" : "s", changed == 1 ? "it was" : "they were");
    if (!b->quiet && l->mpi)
        fprintf(stderr, "dmbp: %d image%s to compute%s on %d rank%s, "
                "%s%s\n", l->n_todo, l->n_todo == 1 ? "" : "s",
                l->skipped ? " (the others are done)" : "", ranks,
                ranks == 1 ? "" : "s", b->dir ? "manifest " : "no manifest",
                b->dir ? l->path : "");
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
    double now = cli_now();
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

int cli_ledger_record(cli_ledger *l, const char *line, int rank)
{
    const cli_runner *b = l->b;
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
    p = dmbp__json_parse_str(p, ok ? &text : &error);
    if (!p) {
        fprintf(stderr, "dmbp: internal error: bad result from rank %d\n",
                rank);
        return EXIT_INTERNAL;
    }
    const char *fragment = dmbp__json_skip_ws(p);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        free(text);
        free(error);
        return EXIT_INTERNAL;
    }
    fputs("{\"input\": ", f);
    dmbp__json_str(f, b->inputs[idx]);
    if (ok) {
        fprintf(f, ", \"status\": \"ok\", %s", fragment);
    } else {
        fprintf(f, ", \"status\": \"failed\", \"exit_status\": %d, "
                "\"error\": ", status);
        dmbp__json_str(f, error);
    }
    fprintf(f, ", \"rank\": %d, \"seconds\": %.3f}\n", rank, secs);
    fclose(f);
    int rc = l->fd >= 0 ? cli_manifest_append(l->path, l->fd, buf, len)
                        : EXIT_OK;
    if (!rc && ok && b->record && (rc = b->record(b->ctx, (int)idx, buf)) < 0) {
        fprintf(stderr, "dmbp: internal error: %s: its result does not "
                "read back\n", b->inputs[idx]);
        rc = EXIT_INTERNAL;
    }
    progress_clear(l);
    if (ok) {
        l->ok++;
        if (b->json)
            fputs(buf, stdout);
        else if (*text)
            printf("%s\n", text);
        fflush(stdout);
    } else {
        /* The worker already said why on stderr; the manifest keeps it. */
        if (!l->failed++)
            l->first_status = status;
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
                : "", l->skipped, cli_now() - l->t0);
    else if ((l->failed || not_done) && l->b->dir)
        /* One process: only what went wrong (the progress said the rest;
         * without a manifest, the failed item's own message). */
        fprintf(stderr, "dmbp: %d done, %d failed, %d not started%s\n",
                l->ok, l->failed, not_done,
                cli_ledger_stop(l) ? " (--max-failures)" : "");
    int rc = EXIT_OK;
    if (l->failed + l->lost + not_done > 0)
        rc = EXIT_INCOMPLETE;
    /* Without a manifest nothing can be resumed: the run failed as its
     * first failed item did. */
    if (!l->b->dir && l->failed && l->first_status)
        rc = l->first_status;
    if (l->fd >= 0 && close(l->fd) != 0) {
        fprintf(stderr, "dmbp: %s: %s\n", l->path, strerror(errno));
        rc = EXIT_IO;
    }
    free(l->todo);
    free(l->path);
    free(l);
    return rc;
}

