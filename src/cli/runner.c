/* The image-set runner (runner.h): each item through the subcommand's
 * function, its fragment and line collected here, then recorded by the
 * ledger; in this process, or as an MPI rank's worker (mpi.c). */
#include "runner.h"
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

/* Set by cli_run: this process kept the ledger. */
static bool reports;

bool cli_run_reports(void)
{
    return reports;
}

/* ------------------------------------------------------------------ */
/* Computing items                                                    */
/* ------------------------------------------------------------------ */

/* Item index computed through b->fn, as a result line for the ledger:
 * "<index> ok <seconds> <json-string text> <fragment>" or
 * "<index> fail <status> <seconds> <json-string error>" (malloc'ed, no
 * '\n'), or NULL with *rc set when the run must stop. */
static char *result_format(const cli_runner *b, int index, int *rc)
{
    cli_item it = {.index = index};
    char *frag = NULL, *text = NULL, *buf = NULL;
    size_t flen = 0, tlen = 0, len = 0;
    /* The input as it was before it was read: --resume computes it again
     * once it changed. */
    struct stat sb;
    bool have_stat = cli_input_stat(b->inputs[index], &sb) == 0;
    it.fragment = open_memstream(&frag, &flen);
    it.text = open_memstream(&text, &tlen);
    double t0 = cli_now();
    *rc = EXIT_INTERNAL;
    if (it.fragment && it.text) {
        cli_capture_begin();
        *rc = b->fn(b->ctx, &it);
        cli_capture_end();
    }
    double secs = cli_now() - t0;
    if (it.fragment)
        fclose(it.fragment);
    if (it.text)
        fclose(it.text);
    FILE *f = *rc || !frag || !text ? NULL : open_memstream(&buf, &len);
    if (f) {
        while (tlen && text[tlen - 1] == '\n')
            text[--tlen] = 0;
        if (it.status == EXIT_OK) {
            fprintf(f, "%d ok %.6f ", index, secs);
            dmbp__json_str(f, text);
            if (have_stat)
                fprintf(f, " \"input_size\": %lld, \"input_mtime_ns\": "
                        "%lld%s", (long long)sb.st_size,
                        (long long)sb.st_mtim.tv_sec * 1000000000LL +
                            sb.st_mtim.tv_nsec, *frag ? "," : "");
            fprintf(f, " %s", frag);
        } else {
            fprintf(f, "%d fail %d %.6f ", index, it.status, secs);
            dmbp__json_str(f, it.error[0] ? it.error : "failed");
        }
        fclose(f);
    } else if (!*rc) {
        *rc = cli_oom();
    }
    free(frag);
    free(text);
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

/* The worker side of an MPI rank: item indices arrive one per line on
 * fd_in, result lines leave on fd_out. */
static int worker(const cli_runner *b, int fd_in, int fd_out, int rank)
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
        char *res = result_format(b, idx, &rc);
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

void cli_set_paths_free(char **paths, int n)
{
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
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
    *out = p;
    int rc = p ? EXIT_OK : EXIT_INTERNAL;
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
    if (!rc)
        rc = cli_unique_outputs(p, images, n, "");
    if (!rc && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                "%s\n", dir, strerror(errno));
        rc = EXIT_IO;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                            */
/* ------------------------------------------------------------------ */

static int run_here(const cli_runner *b)
{
    cli_ledger *l;
    int rc = cli_ledger_open(b, 1, false, &l);
    if (rc)
        return rc;
    int n;
    const int *todo = cli_ledger_todo(l, &n);
    for (int k = 0; k < n && !rc && !cli_ledger_stop(l); k++) {
        char *res = result_format(b, todo[k], &rc);
        if (res)
            rc = cli_ledger_record(l, res, 0);
        free(res);
    }
    int rc2 = cli_ledger_close(l);
    return rc ? rc : rc2;
}

int cli_run(const cli_runner *b)
{
    const char *w = getenv("DMBP_MPI_WORKER");
    if (w) {
        int in, out, rank;
        if (sscanf(w, "%d:%d:%d", &in, &out, &rank) != 3) {
            fprintf(stderr, "dmbp: DMBP_MPI_WORKER='%s': expected "
                    "IN:OUT:RANK\n", w);
            return EXIT_USAGE;
        }
        reports = false;
        return worker(b, in, out, rank);
    }
    reports = true;
    int rc = b->local ? -1 : cli_mpi_run(b, &reports);
    return rc >= 0 ? rc : run_here(b);
}

int cli_item_failed(cli_item *res, int rc)
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
