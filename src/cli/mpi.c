/* Image sets across MPI ranks (docs/cluster.md).
 *
 * Every rank is two processes: an agent, which alone speaks MPI, and a
 * worker, the same program re-executed (DMBP_MPI_WORKER=IN:OUT:RANK) that
 * computes one item at a time on its OpenMP threads and answers over a
 * pipe. Rank 0's agent also schedules: it hands out items in chunks on
 * request, records each result in the manifest and prints it. A worker that
 * dies (the OOM killer picks the process holding the memory) costs only its
 * one in-flight item: its agent reports it lost and gives back the rest of
 * its chunk, and the run goes on. Open MPI 4.1's mpirun ends the whole job
 * when an MPI process itself dies, so that is the one failure the split
 * exists for; the manifest survives it either way. */
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

#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

enum { TAG_MSG = 1, TAG_WORK = 2 };

/* How long the agent waits on its worker's pipe before looking at MPI
 * messages again (milliseconds): short enough for prompt scheduling, long
 * enough that the idle agent costs nothing measurable. */
#define POLL_MS 2

/* ---- non-blocking sends, kept until complete ------------------------ */

typedef struct pending {
    MPI_Request req;
    void *buf;
} pending;

typedef struct sends {
    pending *p;
    int n, cap;
} sends;

static int sends_progress(sends *s)
{
    for (int k = 0; k < s->n;) {
        int done = 0;
        if (MPI_Test(&s->p[k].req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return EXIT_INTERNAL;
        if (done) {
            free(s->p[k].buf);
            s->p[k] = s->p[--s->n];
        } else {
            k++;
        }
    }
    return EXIT_OK;
}

/* Send len bytes (buf malloc'ed, owned from here on). */
static int send_buf(sends *s, void *buf, int count, MPI_Datatype type,
                    int dest, int tag)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        pending *p = realloc(s->p, (size_t)cap * sizeof *p);
        if (!p) {
            free(buf);
            return EXIT_INTERNAL;
        }
        s->p = p;
        s->cap = cap;
    }
    if (MPI_Isend(buf, count, type, dest, tag, MPI_COMM_WORLD,
                  &s->p[s->n].req) != MPI_SUCCESS) {
        free(buf);
        return EXIT_INTERNAL;
    }
    s->p[s->n++].buf = buf;
    return EXIT_OK;
}

static int send_text(sends *s, const char *head, const char *body)
{
    size_t lh = strlen(head), lb = body ? strlen(body) : 0;
    char *m = malloc(lh + lb + 1);
    if (!m)
        return EXIT_INTERNAL;
    memcpy(m, head, lh);
    if (body)
        memcpy(m + lh, body, lb);
    m[lh + lb] = 0;
    return send_buf(s, m, (int)(lh + lb + 1), MPI_CHAR, 0, TAG_MSG);
}

/* ---- the worker process ----------------------------------------------- */

typedef struct worker {
    pid_t pid;
    int to, from;        /* pipe ends: item indices out, results in */
    char *buf;           /* partial result line */
    size_t len, cap;
} worker;


/* Started before MPI_Init, so that no MPI state is ever forked. */
static int worker_spawn(worker *w, int rank)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC)) {
        fprintf(stderr, "dmbp: pipe: %s\n", strerror(errno));
        return EXIT_INTERNAL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "dmbp: fork: %s\n", strerror(errno));
        return EXIT_INTERNAL;
    }
    if (pid == 0) {
        char env[64];
        snprintf(env, sizeof env, "%d:%d:%d", down[0], up[1], rank);
        /* The child keeps its two ends across exec. */
        fcntl(down[0], F_SETFD, 0);
        fcntl(up[1], F_SETFD, 0);
        setenv("DMBP_MPI_WORKER", env, 1);
        execv("/proc/self/exe", cli_argv);
        fprintf(stderr, "dmbp: cannot start the worker: %s\n",
                strerror(errno));
        _exit(EXIT_INTERNAL);
    }
    close(down[0]);
    close(up[1]);
    w->pid = pid;
    w->to = down[1];
    w->from = up[0];
    return EXIT_OK;
}

static void worker_reason(pid_t pid, char *why, size_t cap)
{
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        snprintf(why, cap, "worker vanished");
    else if (WIFSIGNALED(status))
        snprintf(why, cap, "its worker was killed by signal %d%s",
                 WTERMSIG(status), WTERMSIG(status) == SIGKILL ?
                 ", out of memory?" : "");
    else
        snprintf(why, cap, "its worker exited with status %d",
                 WEXITSTATUS(status));
}

/* ---- rank 0: the scheduler ------------------------------------------- */

typedef struct sched {
    const cli_runner *b;
    dmbp_setrun *ledger;
    const int *todo;
    int n_todo, next;
    int *back, n_back;     /* items given back by a rank whose worker died */
    int ranks;
    bool *bye, *waiting;   /* per rank: finished; asked for work, unanswered */
} sched;

static int sched_available(const sched *s)
{
    return dmbp_setrun_stopped(s->ledger) ? 0 : s->n_back + s->n_todo - s->next;
}

/* Answer the ranks waiting for work: a chunk while there are items; an
 * empty chunk (stop) once no rank that is still working could give items
 * back. */
static int sched_answer(sched *s, sends *out)
{
    bool holders = false;
    for (int r = 0; r < s->ranks; r++)
        if (!s->bye[r] && !s->waiting[r])
            holders = true;
    for (int r = 0; r < s->ranks; r++) {
        if (!s->waiting[r])
            continue;
        int avail = sched_available(s);
        if (!avail && holders && !dmbp_setrun_stopped(s->ledger))
            continue;
        int n = avail < s->b->chunk ? avail : s->b->chunk;
        int *chunk = malloc(((size_t)n + 1) * sizeof *chunk);
        if (!chunk)
            return EXIT_INTERNAL;
        for (int k = 0; k < n; k++)
            chunk[k] = s->n_back ? s->back[--s->n_back] : s->todo[s->next++];
        s->waiting[r] = false;
        int rc = send_buf(out, chunk, n, MPI_INT, r, TAG_WORK);
        if (rc)
            return rc;
    }
    return EXIT_OK;
}

/* One message from a rank's agent. */
static int sched_message(sched *s, const char *m, int src, sends *out)
{
    if (!strcmp(m, "req")) {
        s->waiting[src] = true;
    } else if (!strncmp(m, "res ", 4)) {
        dmbp_status st = dmbp_setrun_record(s->ledger, m + 4, src);
        if (st)
            return cli_fail(st);
    } else if (!strncmp(m, "lost ", 5)) {
        char *end;
        long idx = strtol(m + 5, &end, 10);
        dmbp_setrun_lost(s->ledger, (int)idx, *end ? end + 1 : "");
    } else if (!strncmp(m, "back ", 5)) {
        const char *p = m + 5;
        char *end;
        for (long idx; (idx = strtol(p, &end, 10)), end != p; p = end)
            if (idx >= 0 && idx < s->b->n)
                s->back[s->n_back++] = (int)idx;
    } else if (!strcmp(m, "bye")) {
        s->bye[src] = true;
        s->waiting[src] = false;
    }
    return sched_answer(s, out);
}

/* ---- every rank: the agent ------------------------------------------- */

typedef struct agent {
    worker w;
    bool alive, asked, no_more;
    int *queue, n_queue, cap_queue;
    int inflight;
} agent;

static int agent_feed(agent *a)
{
    if (!a->alive || a->inflight >= 0 || !a->n_queue)
        return EXIT_OK;
    a->inflight = a->queue[0];
    memmove(a->queue, a->queue + 1, (size_t)--a->n_queue * sizeof *a->queue);
    char line[32];
    int len = snprintf(line, sizeof line, "%d\n", a->inflight);
    /* A dead worker shows up as EOF on the other pipe; ignore EPIPE. */
    if (write(a->w.to, line, (size_t)len) != len)
        return EXIT_OK;
    return EXIT_OK;
}

/* Items queued for a worker that died go back to rank 0. */
static int agent_give_back(agent *a, sends *out)
{
    if (!a->n_queue)
        return EXIT_OK;
    size_t cap = 8 + 12 * (size_t)a->n_queue;
    char *m = malloc(cap);
    if (!m)
        return EXIT_INTERNAL;
    size_t len = (size_t)snprintf(m, cap, "back");
    for (int k = 0; k < a->n_queue; k++)
        len += (size_t)snprintf(m + len, cap - len, " %d", a->queue[k]);
    int rc = send_text(out, m, NULL);
    free(m);
    a->n_queue = 0;
    return rc;
}

/* The worker died: report its in-flight item, give back the queue. */
static int agent_lost(agent *a, sends *out)
{
    char why[128];
    worker_reason(a->w.pid, why, sizeof why);
    a->alive = false;
    close(a->w.to);
    close(a->w.from);
    int rc = EXIT_OK;
    if (a->inflight >= 0) {
        char head[64];
        snprintf(head, sizeof head, "lost %d ", a->inflight);
        rc = send_text(out, head, why);
        a->inflight = -1;
    }
    return rc ? rc : agent_give_back(a, out);
}

/* Read what the worker wrote; forward each complete result line. */
static int agent_read(agent *a, sends *out)
{
    char tmp[4096];
    ssize_t got = read(a->w.from, tmp, sizeof tmp);
    if (got < 0 && errno == EINTR)
        return EXIT_OK;
    if (got <= 0)
        return agent_lost(a, out);
    worker *w = &a->w;
    if (w->len + (size_t)got + 1 > w->cap) {
        size_t cap = 2 * (w->len + (size_t)got + 1);
        char *nb = realloc(w->buf, cap);
        if (!nb)
            return EXIT_INTERNAL;
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, tmp, (size_t)got);
    w->len += (size_t)got;
    char *nl;
    while ((nl = memchr(w->buf, '\n', w->len))) {
        *nl = 0;
        int rc = send_text(out, "res ", w->buf);
        if (rc)
            return rc;
        a->inflight = -1;
        w->len -= (size_t)(nl + 1 - w->buf);
        memmove(w->buf, nl + 1, w->len);
    }
    return agent_feed(a);
}

static int agent_take_work(agent *a, int src_count, const int *items)
{
    a->asked = false;
    if (src_count == 0) {
        a->no_more = true;
        return EXIT_OK;
    }
    if (a->n_queue + src_count > a->cap_queue) {
        int cap = 2 * (a->n_queue + src_count);
        int *q = realloc(a->queue, (size_t)cap * sizeof *q);
        if (!q)
            return EXIT_INTERNAL;
        a->queue = q;
        a->cap_queue = cap;
    }
    memcpy(a->queue + a->n_queue, items, (size_t)src_count * sizeof *items);
    a->n_queue += src_count;
    return agent_feed(a);
}

static int run(const cli_runner *b, agent *a, int rank, int ranks)
{
    sends out = {0};
    sched s = {.b = b, .ranks = ranks};
    cli_setrun lo;
    int rc = EXIT_OK;
    if (rank == 0) {
        dmbp_status st = DMBP_OK;
        rc = cli_setrun_init(b, true, ranks, &lo);
        if (!rc)
            st = dmbp_setrun_open(b->inputs, b->n, &lo.o, &s.ledger);
        if (rc || st) {
            cli_setrun_free(&lo);
            return rc ? rc : cli_fail(st);
        }
        s.todo = dmbp_setrun_todo(s.ledger, &s.n_todo);
        s.back = malloc(((size_t)b->n + 1) * sizeof *s.back);
        s.bye = calloc((size_t)ranks, sizeof *s.bye);
        s.waiting = calloc((size_t)ranks, sizeof *s.waiting);
        if (!s.back || !s.bye || !s.waiting)
            rc = EXIT_INTERNAL;
    }
    bool said_bye = false;
    int n_bye = 0;
    while (!rc) {
        /* The agent: ask for work while the worker has nothing queued. */
        if (a->alive && !a->asked && !a->no_more && !a->n_queue) {
            rc = send_text(&out, "req", NULL);
            a->asked = true;
        }
        /* Work that reached an agent whose worker is dead goes back. */
        if (!a->alive && a->n_queue && !rc)
            rc = agent_give_back(a, &out);
        /* Bye once nothing more can arrive: a dead worker's agent first
         * waits for the answer to its last request. */
        if (!said_bye && ((!a->alive && !a->asked) ||
                          (a->no_more && !a->n_queue && a->inflight < 0))) {
            if (a->alive) {
                close(a->w.to);
                close(a->w.from);
                waitpid(a->w.pid, NULL, 0);
                a->alive = false;
            }
            rc = rc ? rc : send_text(&out, "bye", NULL);
            said_bye = true;
        }
        if (a->alive) {
            struct pollfd pfd = {a->w.from, POLLIN, 0};
            int pr = poll(&pfd, 1, POLL_MS);
            if (pr > 0 && !rc)
                rc = agent_read(a, &out);
        } else {
            usleep(POLL_MS * 1000);
        }
        /* Messages: work for this agent, and (rank 0) agents' reports. */
        for (;;) {
            int flag = 0;
            MPI_Status st;
            if (rc || MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                                 &flag, &st) != MPI_SUCCESS || !flag)
                break;
            int count;
            if (st.MPI_TAG == TAG_WORK) {
                MPI_Get_count(&st, MPI_INT, &count);
                int *items = malloc(((size_t)count + 1) * sizeof *items);
                if (!items) {
                    rc = EXIT_INTERNAL;
                    break;
                }
                MPI_Recv(items, count, MPI_INT, st.MPI_SOURCE, TAG_WORK,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                rc = agent_take_work(a, count, items);
                free(items);
            } else {
                MPI_Get_count(&st, MPI_CHAR, &count);
                char *m = malloc((size_t)count + 1);
                if (!m) {
                    rc = EXIT_INTERNAL;
                    break;
                }
                MPI_Recv(m, count, MPI_CHAR, st.MPI_SOURCE, TAG_MSG,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                m[count] = 0;
                if (!strcmp(m, "bye"))
                    n_bye++;
                rc = sched_message(&s, m, st.MPI_SOURCE, &out);
                free(m);
            }
        }
        if (!rc)
            rc = sends_progress(&out);
        /* Rank 0 ends once every agent (itself too) said bye; the others
         * once their bye is delivered. */
        if (rank == 0 ? n_bye == ranks : said_bye && out.n == 0)
            break;
    }
    while (!rc && out.n)
        rc = sends_progress(&out);
    free(out.p);
    free(s.back);
    free(s.bye);
    free(s.waiting);
    if (rank == 0) {
        dmbp_setrun_summary sum;
        dmbp_status st = dmbp_setrun_close(s.ledger, &sum);
        int rc2 = cli_setrun_exit(b, st, &sum);
        rc = rc ? rc : rc2;
        cli_setrun_free(&lo);
    }
    return rc;
}

int cli_mpi_run(const cli_runner *b, bool *reports)
{
    if (!cli_mpi_launcher())
        return -1;
    agent a = {.inflight = -1};
    int rank = launcher_rank();
    int rc = worker_spawn(&a.w, rank);
    if (rc)
        return rc;
    a.alive = true;
    /* Writing to a dead worker must not kill the agent. */
    signal(SIGPIPE, SIG_IGN);
    int ranks = 1;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "dmbp: MPI_Init failed\n");
        kill(a.w.pid, SIGTERM);
        return EXIT_INTERNAL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    *reports = rank == 0;
    rc = run(b, &a, rank, ranks);
    if (a.alive) {
        close(a.w.to);
        close(a.w.from);
        waitpid(a.w.pid, NULL, 0);
    }
    free(a.queue);
    free(a.w.buf);
    /* A broken run (not merely incomplete) must not leave the other ranks
     * waiting. */
    if (rc && rc != EXIT_INCOMPLETE)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return rc;
}

#endif
