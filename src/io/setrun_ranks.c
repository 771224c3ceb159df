/* Image sets over several processes (dmbp_setrun.h): every rank is an
 * agent, which alone talks to the other ranks through the caller's
 * transport (the program's MPI), and a worker process, the caller's
 * program started again (dmbp_setrun_worker_start) that computes one item
 * at a time with dmbp_setrun_serve and answers over a pipe. Rank 0's agent
 * also schedules: it hands out items in chunks on request, and records
 * each result in the ledger. A worker that dies (the OOM killer picks the
 * process holding the memory) costs only its one in-flight item: its
 * agent reports it lost and gives back the rest of its chunk, and the run
 * goes on. The messages are text: "req", "res LINE", "lost I WHY",
 * "back I ...", "bye" to rank 0, "work I ..." (none: no more) from it. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long the agent waits on its worker's pipe before looking at the
 * transport again (milliseconds): short enough for prompt scheduling,
 * long enough that the idle agent costs nothing measurable. */
#define POLL_MS 2
#define US_PER_MS 1000
#define READ_CHUNK 4096
#define QUEUE_CAP0 16

#define OOM() dmbp_set_error(DMBP_ERR_NOMEM, "out of memory")

/* ---- the worker process ----------------------------------------------- */

struct dmbp_setrun_worker {
    pid_t pid;
    int to, from;        /* pipe ends: item indices out, results in */
    char *buf;           /* partial result line */
    size_t len, cap;
};

dmbp_status dmbp_setrun_worker_start(const char *path, char *const *argv,
                                     const char *env, int rank,
                                     dmbp_setrun_worker **out)
{
    *out = NULL;
    dmbp_setrun_worker *w = calloc(1, sizeof *w);
    if (!w)
        return OOM();
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC)) {
        free(w);
        return dmbp_set_error(DMBP_ERR_IO, "pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(w);
        return dmbp_set_error(DMBP_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        char val[64];
        snprintf(val, sizeof val, "%d:%d:%d", down[0], up[1], rank);
        /* The child keeps its two ends across exec. */
        fcntl(down[0], F_SETFD, 0);
        fcntl(up[1], F_SETFD, 0);
        setenv(env, val, 1);
        execv(path, argv);
        fprintf(stderr, "dmbp: cannot start the worker: %s\n",
                strerror(errno));
        _exit(1);
    }
    close(down[0]);
    close(up[1]);
    w->pid = pid;
    w->to = down[1];
    w->from = up[0];
    *out = w;
    return DMBP_OK;
}

/* Close the pipes and wait for the worker; why (may be NULL) says how it
 * ended when it died. */
static void worker_end(dmbp_setrun_worker *w, char *why, size_t cap)
{
    close(w->to);
    close(w->from);
    int status = 0;
    pid_t got = waitpid(w->pid, &status, 0);
    if (!why)
        return;
    if (got < 0)
        snprintf(why, cap, "worker vanished");
    else if (WIFSIGNALED(status))
        snprintf(why, cap, "its worker was killed by signal %d%s",
                 WTERMSIG(status), WTERMSIG(status) == SIGKILL ?
                 ", out of memory?" : "");
    else
        snprintf(why, cap, "its worker exited with status %d",
                 WEXITSTATUS(status));
}

void dmbp_setrun_worker_free(dmbp_setrun_worker *w)
{
    if (!w)
        return;
    if (w->pid > 0)
        worker_end(w, NULL, 0);
    free(w->buf);
    free(w);
}

/* ---- messages ---------------------------------------------------------- */

typedef struct rank_run {
    const char *const *inputs;
    int n;
    const dmbp_setrun_options *o;
    const dmbp_setrun_transport *t;
    /* rank 0: the scheduler */
    dmbp_setrun *ledger;
    const int *todo;
    int n_todo, next;
    int *back, n_back;     /* items given back by a rank whose worker died */
    bool *bye, *waiting;   /* per rank: finished; asked for work, unanswered */
    int n_bye;
    /* every rank: the agent */
    dmbp_setrun_worker *w;
    bool alive, asked, no_more;
    int *queue, n_queue, cap_queue;
    int inflight;
} rank_run;

/* Send head followed by body (may be NULL) to rank dest. */
static dmbp_status send_text(const rank_run *r, int dest, const char *head,
                             const char *body)
{
    size_t lh = strlen(head), lb = body ? strlen(body) : 0;
    char *m = malloc(lh + lb + 1);
    if (!m)
        return OOM();
    memcpy(m, head, lh);
    if (body)
        memcpy(m + lh, body, lb);
    m[lh + lb] = 0;
    if (r->t->send(r->t->user, dest, m, lh + lb + 1))
        return dmbp_set_error(DMBP_ERR_IO, "internal error: a message to "
                              "rank %d was not sent", dest);
    return DMBP_OK;
}

/* "HEAD i j k ..." of n items. */
static dmbp_status send_items(const rank_run *r, int dest, const char *head,
                              const int *items, int n)
{
    size_t cap = strlen(head) + 12 * (size_t)n + 1;
    char *m = malloc(cap);
    if (!m)
        return OOM();
    size_t len = (size_t)snprintf(m, cap, "%s", head);
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(m + len, cap - len, " %d", items[k]);
    dmbp_status st = send_text(r, dest, m, NULL);
    free(m);
    return st;
}

/* ---- rank 0: the scheduler ------------------------------------------- */

static int available(const rank_run *r)
{
    return dmbp_setrun_stopped(r->ledger) ? 0
                                          : r->n_back + r->n_todo - r->next;
}

/* Answer the ranks waiting for work: a chunk while there are items; an
 * empty chunk (stop) once no rank that is still working could give items
 * back. */
static dmbp_status answer(rank_run *r, int chunk)
{
    bool holders = false;
    for (int k = 0; k < r->t->ranks; k++)
        if (!r->bye[k] && !r->waiting[k])
            holders = true;
    int *items = malloc(((size_t)chunk + 1) * sizeof *items);
    if (!items)
        return OOM();
    dmbp_status st = DMBP_OK;
    for (int k = 0; k < r->t->ranks && !st; k++) {
        if (!r->waiting[k])
            continue;
        int avail = available(r);
        if (!avail && holders && !dmbp_setrun_stopped(r->ledger))
            continue;
        int n = avail < chunk ? avail : chunk;
        for (int j = 0; j < n; j++)
            items[j] = r->n_back ? r->back[--r->n_back] : r->todo[r->next++];
        r->waiting[k] = false;
        st = send_items(r, k, "work", items, n);
    }
    free(items);
    return st;
}

/* One message from a rank's agent. */
static dmbp_status scheduler(rank_run *r, const char *m, int src, int chunk)
{
    dmbp_status st = DMBP_OK;
    if (src < 0 || src >= r->t->ranks)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "internal error: a "
                              "message from rank %d", src);
    if (!strcmp(m, "req")) {
        r->waiting[src] = true;
    } else if (!strncmp(m, "res ", 4)) {
        st = dmbp_setrun_record(r->ledger, m + 4, src);
    } else if (!strncmp(m, "lost ", 5)) {
        char *end;
        long idx = strtol(m + 5, &end, 10);
        dmbp_setrun_lost(r->ledger, (int)idx, *end ? end + 1 : "");
    } else if (!strncmp(m, "back ", 5)) {
        const char *p = m + 5;
        char *end;
        for (long idx; (idx = strtol(p, &end, 10)), end != p; p = end)
            if (idx >= 0 && idx < r->n && r->n_back < r->n)
                r->back[r->n_back++] = (int)idx;
    } else if (!strcmp(m, "bye")) {
        r->bye[src] = true;
        r->waiting[src] = false;
        r->n_bye++;
    }
    return st ? st : answer(r, chunk);
}

/* ---- every rank: the agent ------------------------------------------- */

static void feed(rank_run *r)
{
    if (!r->alive || r->inflight >= 0 || !r->n_queue)
        return;
    r->inflight = r->queue[0];
    memmove(r->queue, r->queue + 1, (size_t)--r->n_queue * sizeof *r->queue);
    char line[32];
    int len = snprintf(line, sizeof line, "%d\n", r->inflight);
    /* A dead worker shows up as EOF on the other pipe; EPIPE is ignored. */
    if (write(r->w->to, line, (size_t)len) != len)
        return;
}

/* Items queued for a worker that died go back to rank 0. */
static dmbp_status give_back(rank_run *r)
{
    if (!r->n_queue)
        return DMBP_OK;
    dmbp_status st = send_items(r, 0, "back", r->queue, r->n_queue);
    r->n_queue = 0;
    return st;
}

/* The worker died: report its in-flight item, give back the queue. */
static dmbp_status lost(rank_run *r)
{
    char why[128];
    worker_end(r->w, why, sizeof why);
    r->w->pid = -1;
    r->alive = false;
    dmbp_status st = DMBP_OK;
    if (r->inflight >= 0) {
        char head[64];
        snprintf(head, sizeof head, "lost %d ", r->inflight);
        st = send_text(r, 0, head, why);
        r->inflight = -1;
    }
    return st ? st : give_back(r);
}

/* Read what the worker wrote; forward each complete result line. */
static dmbp_status from_worker(rank_run *r)
{
    char tmp[READ_CHUNK];
    ssize_t got = read(r->w->from, tmp, sizeof tmp);
    if (got < 0 && errno == EINTR)
        return DMBP_OK;
    if (got <= 0)
        return lost(r);
    dmbp_setrun_worker *w = r->w;
    if (w->len + (size_t)got + 1 > w->cap) {
        size_t cap = 2 * (w->len + (size_t)got + 1);
        char *nb = realloc(w->buf, cap);
        if (!nb)
            return OOM();
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, tmp, (size_t)got);
    w->len += (size_t)got;
    char *nl;
    while ((nl = memchr(w->buf, '\n', w->len))) {
        *nl = 0;
        TRY(send_text(r, 0, "res ", w->buf));
        r->inflight = -1;
        w->len -= (size_t)(nl + 1 - w->buf);
        memmove(w->buf, nl + 1, w->len);
    }
    feed(r);
    return DMBP_OK;
}

/* "work i j ...": items for this agent (none: no more). */
static dmbp_status take_work(rank_run *r, const char *m)
{
    r->asked = false;
    const char *p = m + 4;
    char *end;
    int before = r->n_queue;
    for (long idx; (idx = strtol(p, &end, 10)), end != p; p = end) {
        if (r->n_queue == r->cap_queue) {
            int cap = r->cap_queue ? 2 * r->cap_queue : QUEUE_CAP0;
            int *q = realloc(r->queue, (size_t)cap * sizeof *q);
            if (!q)
                return OOM();
            r->queue = q;
            r->cap_queue = cap;
        }
        r->queue[r->n_queue++] = (int)idx;
    }
    if (r->n_queue == before)
        r->no_more = true;
    feed(r);
    return DMBP_OK;
}

/* ---- the loop ---------------------------------------------------------- */

static dmbp_status loop(rank_run *r, int chunk)
{
    const dmbp_setrun_transport *t = r->t;
    bool said_bye = false;
    dmbp_status st = DMBP_OK;
    while (!st) {
        /* Ask for work while the worker has nothing queued. */
        if (r->alive && !r->asked && !r->no_more && !r->n_queue) {
            st = send_text(r, 0, "req", NULL);
            r->asked = true;
        }
        /* Work that reached an agent whose worker is dead goes back. */
        if (!r->alive && r->n_queue && !st)
            st = give_back(r);
        /* Bye once nothing more can arrive: a dead worker's agent first
         * waits for the answer to its last request. */
        if (!said_bye && ((!r->alive && !r->asked) ||
                          (r->no_more && !r->n_queue && r->inflight < 0))) {
            if (r->alive) {
                worker_end(r->w, NULL, 0);
                r->w->pid = -1;
                r->alive = false;
            }
            st = st ? st : send_text(r, 0, "bye", NULL);
            said_bye = true;
        }
        if (r->alive) {
            struct pollfd pfd = {r->w->from, POLLIN, 0};
            if (poll(&pfd, 1, POLL_MS) > 0 && !st)
                st = from_worker(r);
        } else {
            usleep(POLL_MS * US_PER_MS);
        }
        /* Messages: work for this agent, and (rank 0) agents' reports. */
        for (;;) {
            void *buf = NULL;
            size_t len = 0;
            int src = -1;
            int got = st ? 0 : t->receive(t->user, &buf, &len, &src);
            if (got < 0)
                st = dmbp_set_error(DMBP_ERR_IO, "internal error: receiving "
                                    "failed");
            if (got <= 0)
                break;
            char *m = buf;
            if (!len || m[len - 1]) {
                free(buf);
                st = dmbp_set_error(DMBP_ERR_INTERNAL, "internal error: a "
                                    "message without its terminator");
                break;
            }
            if (!strncmp(m, "work", 4) && (!m[4] || m[4] == ' '))
                st = take_work(r, m);
            else if (t->rank == 0)
                st = scheduler(r, m, src, chunk);
            free(buf);
        }
        int pending = st ? 0 : t->flush(t->user);
        if (pending < 0)
            st = dmbp_set_error(DMBP_ERR_IO, "internal error: sending failed");
        /* Rank 0 ends once every agent (itself too) said bye; the others
         * once their bye is delivered. */
        if (t->rank == 0 ? r->n_bye == t->ranks : said_bye && !pending)
            break;
    }
    while (!st) {
        int pending = t->flush(t->user);
        if (pending < 0)
            st = dmbp_set_error(DMBP_ERR_IO, "internal error: sending "
                                "failed");
        if (pending <= 0)
            break;
    }
    return st;
}

dmbp_status dmbp_setrun_rank(const char *const *inputs, int n,
                             const dmbp_setrun_options *opt,
                             const dmbp_setrun_transport *t, int chunk,
                             dmbp_setrun_worker *w, dmbp_setrun_summary *sum)
{
    if (sum)
        memset(sum, 0, sizeof *sum);
    if (!t || !w || t->rank < 0 || t->rank >= t->ranks || chunk < 1 ||
        !t->send || !t->receive || !t->flush)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_setrun_rank: no worker, "
                              "an incomplete transport, rank %d of %d or "
                              "chunk %d", t ? t->rank : 0, t ? t->ranks : 0,
                              chunk);
    /* Writing to a dead worker must not kill the agent. */
    signal(SIGPIPE, SIG_IGN);
    rank_run r = {.inputs = inputs, .n = n, .o = opt, .t = t, .w = w,
                  .alive = true, .inflight = -1};
    dmbp_status st = DMBP_OK;
    if (t->rank == 0) {
        st = dmbp_setrun_open(inputs, n, opt, &r.ledger);
        if (st)
            return st;
        r.todo = dmbp_setrun_todo(r.ledger, &r.n_todo);
        r.back = malloc(((size_t)n + 1) * sizeof *r.back);
        r.bye = calloc((size_t)t->ranks, sizeof *r.bye);
        r.waiting = calloc((size_t)t->ranks, sizeof *r.waiting);
        if (!r.back || !r.bye || !r.waiting)
            st = OOM();
    }
    if (!st)
        st = loop(&r, chunk);
    free(r.queue);
    free(r.back);
    free(r.bye);
    free(r.waiting);
    if (t->rank == 0) {
        dmbp_status st2 = dmbp_setrun_close(r.ledger, sum);
        st = st ? st : st2;
    }
    return st;
}
