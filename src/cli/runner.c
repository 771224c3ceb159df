/* The image-set runner (runner.h): the library's options from the
 * command line, the item wrapper (what an item printed becomes its error;
 * the worker's test hook), and the run in this process or over MPI ranks
 * (mpi.c). */
#include "runner.h"
#include "cli.h"

#include <errno.h>
#include <signal.h>
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
/* The library's options                                              */
/* ------------------------------------------------------------------ */

/* The item callback: b->fn with what it prints captured. */
static int item(void *user, dmbp_setrun_item *it)
{
    cli_setrun *s = user;
    /* Test hook (tests/cli_mpi.sh): the worker is killed when given its
     * item after DMBP_TEST_DIE_AFTER finished ones, as the OOM killer
     * would. */
    if (s->die_after >= 0 && s->finished++ >= s->die_after)
        raise(SIGKILL);
    cli_capture_begin();
    int rc = s->b->fn(s->b->ctx, it);
    cli_capture_end();
    return rc;
}

static dmbp_status outputs(void *user, int index, dmbp_setrun_paths *out)
{
    const cli_setrun *s = user;
    cli_names l = {0};
    dmbp_status st = s->b->outputs(s->b->ctx, index, &l)
                         ? dmbp_set_error(DMBP_ERR_NOMEM, "out of memory")
                         : DMBP_OK;
    for (int k = 0; k < l.n && !st; k++)
        st = dmbp_setrun_paths_add(out, l.v[k]);
    cli_names_free(&l);
    return st;
}

static int record(void *user, int index, const char *line)
{
    const cli_setrun *s = user;
    return s->b->record(s->b->ctx, index, line);
}

int cli_setrun_init(const cli_runner *b, bool ledger, int ranks,
                    cli_setrun *s)
{
    memset(s, 0, sizeof *s);
    s->b = b;
    s->die_after = -1;
    dmbp_setrun_options *o = &s->o;
    dmbp_setrun_options_init(o);
    o->dir = b->dir;
    o->resume = b->resume;
    o->force = b->args->f.force;
    o->json = b->json;
    o->quiet = b->quiet;
    o->max_failures = b->max_failures;
    o->ranks = ranks;
    o->log = stderr;
    o->out = stdout;
    o->item = item;
    o->outputs = b->outputs ? outputs : NULL;
    o->record = b->record ? record : NULL;
    o->user = s;
    if (!ledger || !b->dir)
        return EXIT_OK;
    /* The run's other inputs: never overwritten, not even by the
     * manifest. */
    const cli_flags *f = &b->args->f;
    const char *images = f->images && !strncmp(f->images, "idx:", 4)
                             ? f->images + 4 : f->images;
    const char *others[] = {b->model, f->labels, f->targets, images};
    for (int k = 0; k < 4; k++)
        if (others[k])
            s->protect[o->n_protect++] = others[k];
    o->protect = s->protect;
    if (!(s->fp = calloc(1, sizeof *s->fp)))
        return cli_oom();
    int rc = cli_set_fingerprint(b->args, b->model, b->fp_extra,
                                 b->n_fp_extra, s->fp);
    o->fingerprint = (const char *const *)s->fp->v;
    o->n_fingerprint = s->fp->n / 2;
    return rc;
}

void cli_setrun_free(cli_setrun *s)
{
    if (s->fp)
        cli_names_free(s->fp);
    free(s->fp);
    s->fp = NULL;
}

int cli_setrun_exit(const cli_runner *b, dmbp_status st,
                    const dmbp_setrun_summary *sum)
{
    if (sum->stop)
        return sum->stop; /* the item said why */
    if (st)
        return cli_fail(st);
    if (sum->failed + sum->lost + sum->not_started == 0)
        return EXIT_OK;
    /* Without a manifest nothing can be resumed: the run failed as its
     * first failed item did. */
    if (!b->dir && sum->failed && sum->first_status)
        return sum->first_status;
    return EXIT_INCOMPLETE;
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
