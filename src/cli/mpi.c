/* Image sets across MPI ranks (docs/cluster.md): the launcher's
 * variables, and MPI as the transport of the library's run over ranks
 * (dmbp_setrun_rank). Every rank is two processes: the agent, which alone
 * speaks MPI, and a worker, the same program re-executed
 * (DMBP_MPI_WORKER=IN:OUT:RANK, runner.c) that computes one item at a
 * time and answers over a pipe; rank 0 keeps the ledger. A worker that
 * dies (the OOM killer picks the process holding the memory) costs only
 * its one in-flight item. Open MPI 4.1's mpirun ends the whole job when
 * an MPI process itself dies, so that is the one failure the split exists
 * for; the manifest survives it either way. */
#include "runner.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The environment variables through which launchers announce a rank:
 * Open MPI's mpirun, PMIx (srun --mpi=pmix, prterun), PMI-1/2 (srun
 * --mpi=pmi2, MPICH's hydra). */
char **cli_argv;

static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE",
                                            "PMIX_RANK", "PMI_RANK"};

const char *cli_mpi_launcher(void)
{
    for (size_t k = 0; k < sizeof launcher_vars / sizeof *launcher_vars; k++)
        if (getenv(launcher_vars[k]))
            return launcher_vars[k];
    return NULL;
}

/* The size of the job and this rank, as the launcher announces them
 * before MPI_Init (1 and 0 without a launcher; size 1 when it does not
 * say). */
static int env_int(const char *const *vars, size_t n, int none)
{
    for (size_t k = 0; k < n; k++)
        if (getenv(vars[k]))
            return atoi(getenv(vars[k]));
    return none;
}

int cli_launcher_ranks(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "SLURM_NTASKS"};
    return cli_mpi_launcher() ? env_int(vars, sizeof vars / sizeof *vars, 1)
                              : 1;
}

static int launcher_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                       "PMI_RANK"};
    return env_int(vars, sizeof vars / sizeof *vars, 0);
}

int cli_refuse_replicated(const char *cmd)
{
    int n = cli_launcher_ranks();
    if (n <= 1)
        return EXIT_OK;
    if (launcher_rank() == 0)
        fprintf(stderr, "dmbp: %s: started by an MPI launcher with %d ranks "
                "but without -O DIR (--output-dir): every rank would do the "
                "same work and write the same files; give -O DIR to share "
                "the images out, or start one rank\n", cmd, n);
    return EXIT_USAGE;
}

#ifndef HAVE_MPI

int cli_mpi_run(const cli_runner *b, bool *reports)
{
    (void)b, (void)reports;
    static bool warned;
    if (cli_mpi_launcher() && !warned) {
        warned = true;
        fprintf(stderr, "dmbp: started by an MPI launcher (%s is set) but "
                "built without MPI: every rank runs the whole set (rebuild "
                "with ./configure --with-mpi)\n", cli_mpi_launcher());
    }
    return -1;
}

#else

#include <mpi.h>

enum { TAG_MSG = 1 };

/* ---- the transport: non-blocking sends, kept until complete ----------- */

typedef struct pending {
    MPI_Request req;
    void *buf;
} pending;

typedef struct sends {
    pending *p;
    int n, cap;
} sends;

static int mpi_flush(void *user)
{
    sends *s = user;
    for (int k = 0; k < s->n;) {
        int done = 0;
        if (MPI_Test(&s->p[k].req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (done) {
            free(s->p[k].buf);
            s->p[k] = s->p[--s->n];
        } else {
            k++;
        }
    }
    return s->n;
}

static int mpi_send(void *user, int dest, void *buf, size_t len)
{
    sends *s = user;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        pending *p = realloc(s->p, (size_t)cap * sizeof *p);
        if (!p) {
            free(buf);
            return -1;
        }
        s->p = p;
        s->cap = cap;
    }
    if (MPI_Isend(buf, (int)len, MPI_CHAR, dest, TAG_MSG, MPI_COMM_WORLD,
                  &s->p[s->n].req) != MPI_SUCCESS) {
        free(buf);
        return -1;
    }
    s->p[s->n++].buf = buf;
    return 0;
}

static int mpi_receive(void *user, void **buf, size_t *len, int *src)
{
    (void)user;
    int flag = 0, count;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_MSG, MPI_COMM_WORLD, &flag, &st) !=
        MPI_SUCCESS)
        return -1;
    if (!flag)
        return 0;
    MPI_Get_count(&st, MPI_CHAR, &count);
    *buf = malloc((size_t)count + 1);
    if (!*buf)
        return -1;
    if (MPI_Recv(*buf, count, MPI_CHAR, st.MPI_SOURCE, TAG_MSG,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        free(*buf);
        return -1;
    }
    *len = (size_t)count;
    *src = st.MPI_SOURCE;
    return 1;
}

int cli_mpi_run(const cli_runner *b, bool *reports)
{
    if (!cli_mpi_launcher())
        return -1;
    int rank = launcher_rank(), ranks = 1;
    /* Started before MPI_Init, so that no MPI state is ever forked. */
    dmbp_setrun_worker *w;
    dmbp_status st = dmbp_setrun_worker_start("/proc/self/exe", cli_argv,
                                              "DMBP_MPI_WORKER", rank, &w);
    if (st)
        return cli_fail(st);
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "dmbp: MPI_Init failed\n");
        dmbp_setrun_worker_free(w);
        return EXIT_INTERNAL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    *reports = rank == 0;
    sends out = {0};
    dmbp_setrun_transport t = {rank, ranks, mpi_send, mpi_receive, mpi_flush,
                             &out};
    cli_setrun s;
    dmbp_setrun_summary sum;
    int rc = cli_setrun_init(b, rank == 0, ranks, &s);
    if (!rc) {
        st = dmbp_setrun_rank(b->inputs, b->n, &s.o, &t, b->chunk, w, &sum);
        rc = rank == 0 ? cli_setrun_exit(b, st, &sum)
                       : st ? cli_fail(st) : EXIT_OK;
    }
    cli_setrun_free(&s);
    dmbp_setrun_worker_free(w);
    free(out.p);
    /* A broken run (not merely incomplete) must not leave the other ranks
     * waiting. */
    if (rc && rc != EXIT_INCOMPLETE)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return rc;
}

#endif
