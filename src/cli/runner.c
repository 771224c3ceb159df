/* The image-set runner (runner.h): the run in this process (the
 * library's dmbp_setrun_run), as an MPI rank's worker, or over the ranks
 * (mpi.c), with the options manifest.c makes from the command line; and
 * one output file per image (cli_set_paths). */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set by cli_run: this process kept the ledger. */
static bool reports;

bool cli_run_reports(void)
{
    return reports;
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
        char *stem = dmbp_output_stem(images[i]);
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

/* A worker process of an MPI rank (mpi.c): items from IN, results to OUT. */
static int serve(const cli_runner *b, const char *w)
{
    int in, out, rank;
    if (sscanf(w, "%d:%d:%d", &in, &out, &rank) != 3) {
        fprintf(stderr, "dmbp: DMBP_MPI_WORKER='%s': expected IN:OUT:RANK\n",
                w);
        return EXIT_USAGE;
    }
    cli_setrun s;
    int rc = cli_setrun_init(b, false, 0, &s);
    /* The test hook's worker: rank DMBP_TEST_DIE_RANK (default 1). */
    const char *die = getenv("DMBP_TEST_DIE_AFTER");
    const char *die_rank = getenv("DMBP_TEST_DIE_RANK");
    if (die && rank == (die_rank ? atoi(die_rank) : 1))
        s.die_after = strtol(die, NULL, 10);
    int stop = 0;
    dmbp_status st = rc ? DMBP_OK
                        : dmbp_setrun_serve(b->inputs, b->n, &s.o, in, out,
                                            &stop);
    close(in);
    close(out);
    cli_setrun_free(&s);
    return rc ? rc : stop ? stop : st ? cli_fail(st) : EXIT_OK;
}

int cli_run(const cli_runner *b)
{
    const char *w = getenv("DMBP_MPI_WORKER");
    reports = !w;
    if (w)
        return serve(b, w);
    int rc = b->local ? -1 : cli_mpi_run(b, &reports);
    if (rc >= 0)
        return rc;
    cli_setrun s;
    dmbp_setrun_summary sum = {0};
    rc = cli_setrun_init(b, true, 0, &s);
    if (!rc) {
        dmbp_status st = dmbp_setrun_run(b->inputs, b->n, &s.o, &sum);
        rc = cli_setrun_exit(b, st, &sum);
    }
    cli_setrun_free(&s);
    return rc;
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
