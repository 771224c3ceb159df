/* The library's image-set runner (dmbp_setrun.h) driven directly, with an
 * item callback that writes one small file per item and counts its calls:
 * a run stopped half-way and resumed computes only the items not done; a
 * failing item is recorded and the others go on; the same set computed in
 * two "ranks" (workers serving over pipes, results recorded by one
 * ledger) gives the manifest of a one-process run; a changed input is
 * computed again; max_failures stops the run; bad manifests, a bad result
 * line and outputs over inputs are refused, each with one line naming the
 * file and the problem; dmbp_setrun_rank over two ranks (threads with an
 * in-memory transport, each with a worker process: this program again)
 * gives the one-process manifest, and a worker killed on an item costs
 * only that item. */
#include "testlib.h"

#include <dmbp_setrun.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* This program as a worker of dmbp_setrun_rank: "IN:OUT:RANK". */
#define WORKER_ENV "TEST_SETRUN_WORKER"
/* A worker dies when given this item. */
#define DIE_ENV "TEST_SETRUN_DIE"
#define RANKS 2
#define CHUNK 2

#define N_ITEMS 5
#define STOP_CODE 42
#define FAIL_CODE 5

typedef struct ctx {
    const char *dir;
    char in[N_ITEMS][256];   /* the inputs: files of a few bytes */
    const char *inputs[N_ITEMS];
    int calls[N_ITEMS];      /* item callbacks per item */
    int stop_at, fail_at;    /* -1: none */
    int recorded[N_ITEMS];   /* record callbacks per item */
} ctx;

static void out_path(const ctx *c, int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/item%d.txt", c->dir, i);
}

static int item(void *user, dmbp_setrun_item *it)
{
    ctx *c = user;
    int i = it->index;
    c->calls[i]++;
    if (i == c->stop_at)
        return STOP_CODE;
    if (i == c->fail_at) {
        it->status = FAIL_CODE;
        snprintf(it->error, sizeof it->error, "item %d: refused", i);
        return 0;
    }
    char p[512];
    out_path(c, i, p, sizeof p);
    FILE *f = fopen(p, "w");
    if (f) {
        fprintf(f, "%d\n", 10 * i);
        fclose(f);
    }
    fprintf(it->fragment, "\"value\": %d, \"outputs\": {\"txt\": \"%s\"}",
            10 * i, p);
    fprintf(it->text, "item %d -> %s", i, p);
    return 0;
}

static dmbp_status outputs(void *user, int index, dmbp_setrun_paths *out)
{
    char p[512];
    out_path(user, index, p, sizeof p);
    return dmbp_setrun_paths_add(out, p);
}

static int record(void *user, int index, const char *line)
{
    ctx *c = user;
    c->recorded[index]++;
    /* Only records carrying this item's value read back. */
    char want[32];
    snprintf(want, sizeof want, "\"value\": %d,", 10 * index);
    return strstr(line, want) ? 0 : -1;
}

static const char *const fp[] = {"dmbp", "test", "--method", "saliency"};

static void options(ctx *c, dmbp_setrun_options *o, FILE *log)
{
    dmbp_setrun_options_init(o);
    o->dir = c->dir;
    o->log = log;
    o->fingerprint = fp;
    o->n_fingerprint = 2;
    o->item = item;
    o->outputs = outputs;
    o->record = record;
    o->user = c;
}

static void setup_names(ctx *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    c->dir = dir;
    c->stop_at = c->fail_at = -1;
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(c->in[i], sizeof c->in[i], "%s.in%d", dir, i);
        c->inputs[i] = c->in[i];
    }
}

static void setup(ctx *c, const char *dir)
{
    setup_names(c, dir);
    mkdir(dir, 0777);
    for (int i = 0; i < N_ITEMS; i++) {
        FILE *f = fopen(c->in[i], "w");
        if (f) {
            fprintf(f, "input %d\n", i);
            fclose(f);
        }
        c->inputs[i] = c->in[i];
    }
}

/* The manifest's lines without their timings and ranks, sorted. */
static char *records(const char *dir)
{
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    snprintf(cmd, sizeof cmd, "sed -e 's/, \"rank\": [0-9]*, \"seconds\": "
             "[0-9.]*}$/}/' -e 's/\"input_mtime_ns\": [0-9]*/T/' %s | sort",
             path);
    FILE *p = popen(cmd, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int ch;
    while (p && m && (ch = fgetc(p)) != EOF)
        fputc(ch, m);
    if (p)
        pclose(p);
    if (m)
        fclose(m);
    return buf;
}

static int count_lines(const char *dir, const char *needle)
{
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* The last library message is one line naming what and why. */
static void expect_refused(dmbp_status st, dmbp_status want,
                           const char *names, const char *why)
{
    const char *m = dmbp_last_error();
    CHECK(st == want, "%s: status %d, want %d (%s)", why, st, want, m);
    CHECK(strstr(m, names) && strstr(m, why) && !strchr(m, '\n'),
          "message '%s' should name %s and say %s on one line", m, names,
          why);
}

static void test_resume(const char *tmp)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/resume", tmp);
    ctx c;
    setup(&c, dir);
    dmbp_setrun_options o;
    options(&c, &o, NULL);
    dmbp_setrun_summary sum;
    /* Interrupted after two items (the callback stops the run). */
    c.stop_at = 2;
    dmbp_status st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.stop == STOP_CODE && sum.done == 2 &&
          sum.not_started == 3, "stopped run: st %d stop %d done %d "
          "not started %d", st, sum.stop, sum.done, sum.not_started);
    CHECK(count_lines(dir, "\"status\": \"claimed\"") == N_ITEMS,
          "every item to compute claimed before any work");
    /* Resumed: items 0 and 1 are proven done and not computed again. */
    c.stop_at = -1;
    o.resume = 1;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.skipped == 2 && sum.done == 3 && !sum.failed,
          "resume: st %d skipped %d done %d", st, sum.skipped, sum.done);
    /* Item 2 was called once when it stopped the first run. */
    for (int i = 0; i < N_ITEMS; i++)
        CHECK(c.calls[i] == 1 + (i == 2), "item %d computed %d times, "
              "want %d", i, c.calls[i], 1 + (i == 2));
    CHECK(c.recorded[0] == 2 && c.recorded[4] == 1,
          "record: a resumed item's record read back (%d), a fresh one's "
          "once (%d)", c.recorded[0], c.recorded[4]);
    /* Everything done: nothing computed; then an input changes. */
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.skipped == N_ITEMS && sum.done == 0,
          "all done: skipped %d done %d", sum.skipped, sum.done);
    FILE *f = fopen(c.in[3], "a");
    if (f) {
        fputs("changed\n", f);
        fclose(f);
    }
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.done == 1 && c.calls[3] == 2 && c.calls[4] == 1,
          "a changed input computed again: done %d calls %d", sum.done,
          c.calls[3]);
    /* A record whose results do not read back proves nothing. */
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sed -i 's/\"value\": 10,/\"value\": 11,/' %s",
             path);
    CHECK(system(cmd) == 0, "sed");
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.done == 1 && c.calls[1] == 2,
          "unreadable record: item 1 computed again (calls %d)", c.calls[1]);
    /* Another set's manifest (the fingerprint changed) is refused. */
    static const char *const other[] = {"dmbp", "test", "--method", "ig"};
    o.fingerprint = other;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_ARG, "manifest.jsonl",
                   "--method was 'saliency', now 'ig'");
    /* With force it starts anew: every item computed. */
    o.force = 1;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.done == N_ITEMS && sum.skipped == 0,
          "force: done %d skipped %d", sum.done, sum.skipped);
}

static void test_failures(const char *tmp)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/failures", tmp);
    ctx c;
    setup(&c, dir);
    dmbp_setrun_options o;
    options(&c, &o, NULL);
    dmbp_setrun_summary sum;
    c.fail_at = 1;
    dmbp_status st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.failed == 1 && sum.done == N_ITEMS - 1 &&
          sum.first_status == FAIL_CODE && !sum.not_started,
          "a failing item: failed %d done %d first status %d", sum.failed,
          sum.done, sum.first_status);
    CHECK(count_lines(dir, "\"status\": \"failed\", \"exit_status\": 5, "
                      "\"error\": \"item 1: refused\"") == 1,
          "the failure recorded with its status and reason");
    /* Resumed, the failed item (only) is computed again. */
    c.fail_at = -1;
    o.resume = 1;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.done == 1 && c.calls[1] == 2 && c.calls[0] == 1,
          "resume after a failure: done %d, item 1 computed %d times",
          sum.done, c.calls[1]);
    /* max_failures: the run stops at the second failure. */
    snprintf(dir, sizeof dir, "%s/maxfail", tmp);
    setup(&c, dir);
    options(&c, &o, NULL);
    o.max_failures = 1;
    c.fail_at = 0;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.failed == 1 && sum.done == 0 &&
          sum.not_started == N_ITEMS - 1 && sum.max_failures,
          "max_failures 1: failed %d done %d not started %d", sum.failed,
          sum.done, sum.not_started);
}

/* Item indices written to a worker serving over pipes; its result lines
 * come back for the ledger. */
static dmbp_status serve_items(ctx *c, const int *idx, int n,
                               char ***lines)
{
    int down[2], up[2];
    if (pipe(down) || pipe(up))
        return DMBP_ERR_IO;
    FILE *w = fdopen(down[1], "w");
    for (int k = 0; k < n; k++)
        fprintf(w, "%d\n", idx[k]);
    fclose(w);
    dmbp_setrun_options o;
    options(c, &o, NULL);
    o.dir = NULL; /* a worker keeps no manifest */
    int stop;
    dmbp_status st = dmbp_setrun_serve(c->inputs, N_ITEMS, &o, down[0],
                                       up[1], &stop);
    close(down[0]);
    close(up[1]);
    FILE *r = fdopen(up[0], "r");
    *lines = calloc((size_t)n + 1, sizeof **lines);
    size_t cap = 0;
    for (int k = 0; k < n && r; k++) {
        char *line = NULL;
        ssize_t len = getline(&line, &cap, r);
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = 0;
        (*lines)[k] = line;
        cap = 0;
    }
    if (r)
        fclose(r);
    return st;
}

static void test_shards(const char *tmp)
{
    char one[512], two[512];
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(two, sizeof two, "%s/two", tmp);
    ctx c1, c2;
    setup(&c1, one);
    setup(&c2, two);
    dmbp_setrun_options o;
    options(&c1, &o, NULL);
    dmbp_setrun_summary sum;
    c1.fail_at = c2.fail_at = 3;
    dmbp_status st = dmbp_setrun_run(c1.inputs, N_ITEMS, &o, &sum);
    CHECK(!st, "one process: %s", dmbp_last_error());
    /* Two ranks: a ledger, two workers, items shared out and recorded
     * in another order. The inputs are the same files (one's). */
    for (int i = 0; i < N_ITEMS; i++)
        c2.inputs[i] = c1.inputs[i];
    options(&c2, &o, NULL);
    o.ranks = 2;
    dmbp_setrun *s = NULL;
    st = dmbp_setrun_open(c2.inputs, N_ITEMS, &o, &s);
    CHECK(!st, "open: %s", dmbp_last_error());
    int count = 0;
    const int *todo = s ? dmbp_setrun_todo(s, &count) : NULL;
    CHECK(count == N_ITEMS, "todo %d", count);
    int shard[2][N_ITEMS], ns[2] = {0, 0};
    for (int k = 0; k < count; k++)
        shard[k % 2][ns[k % 2]++] = todo[k];
    for (int r = 1; r >= 0 && s; r--) {
        char **lines = NULL;
        st = serve_items(&c2, shard[r], ns[r], &lines);
        CHECK(!st, "serve: %s", dmbp_last_error());
        for (int k = ns[r] - 1; k >= 0; k--) {
            st = lines[k] ? dmbp_setrun_record(s, lines[k], r)
                          : DMBP_ERR_IO;
            CHECK(!st, "record rank %d: %s", r, dmbp_last_error());
            free(lines[k]);
        }
        free(lines);
    }
    /* A result line that is not one is refused. */
    st = s ? dmbp_setrun_record(s, "7 done", 1) : DMBP_ERR_ARG;
    expect_refused(st, DMBP_ERR_INTERNAL, "rank 1", "bad result");
    st = dmbp_setrun_close(s, &sum);
    CHECK(!st && sum.done == N_ITEMS - 1 && sum.failed == 1,
          "two ranks: done %d failed %d", sum.done, sum.failed);
    char *a = records(one), *b = records(two);
    /* The paths name each set's own folder: compare them as one. */
    for (char *p = b; p && (p = strstr(p, "/two/")); p += 5)
        memcpy(p, "/one/", 5);
    CHECK(a && b && *a && !strcmp(a, b), "two ranks' manifest differs from "
          "one process's:\n%s\n--\n%s", a, b);
    free(a);
    free(b);
}

static void test_refusals(const char *tmp)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/bad", tmp);
    ctx c;
    setup(&c, dir);
    dmbp_setrun_options o;
    options(&c, &o, NULL);
    o.resume = 1;
    dmbp_setrun_summary sum;
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    /* Not a manifest. */
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("not json\n", f);
        fclose(f);
    }
    dmbp_status st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_ARG, path, "no set fingerprint");
    CHECK(c.calls[0] == 0, "an item computed after a refusal");
    /* A symbolic link, to an input. */
    unlink(path);
    CHECK(symlink(c.in[0], path) == 0, "symlink");
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_IO, path, "symbolic link");
    unlink(path);
    /* A directory in the manifest's place. */
    mkdir(path, 0777);
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_IO, path, "directory is in the way");
    rmdir(path);
    /* An output that is an input: never, not even with force. */
    char out[512];
    out_path(&c, 2, out, sizeof out);
    CHECK(link(c.in[1], out) == 0, "link");
    o.force = 1;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_ARG, out, "refusing to overwrite the input");
    CHECK(c.calls[0] == 0, "an item computed after a refusal");
    /* An existing file the set did not write: only with force. */
    unlink(out);
    f = fopen(out, "w");
    if (f)
        fclose(f);
    o.force = 0;
    o.resume = 0;
    st = dmbp_setrun_run(c.inputs, N_ITEMS, &o, &sum);
    expect_refused(st, DMBP_ERR_ARG, out, "--force overwrites it");
    const char *outs[] = {out};
    st = dmbp_check_outputs(outs, 1, c.inputs, N_ITEMS, 1);
    CHECK(st == DMBP_OK, "dmbp_check_outputs with force: %s",
          dmbp_last_error());
    st = dmbp_check_outputs(outs, 1, c.inputs, N_ITEMS, 0);
    expect_refused(st, DMBP_ERR_ARG, out, "the file exists");
    /* Where an output would go: a missing directory, a file, none. */
    char where[700];
    snprintf(where, sizeof where, "%s/nodir/x.png", tmp);
    st = dmbp_check_writable_dir(where);
    expect_refused(st, DMBP_ERR_IO, "nodir: No such file", "cannot write into");
    snprintf(where, sizeof where, "%s/x.png", c.in[0]);
    st = dmbp_check_writable_dir(where);
    expect_refused(st, DMBP_ERR_IO, "not a directory", "cannot write into");
    snprintf(where, sizeof where, "%s/x.png", tmp);
    CHECK(!dmbp_check_writable_dir(where) && !dmbp_check_writable_dir("x.png"),
          "a writable directory refused: %s", dmbp_last_error());
    /* A file's hash: FNV-1a 64 of its bytes (of "a": the published
     * af63dc4c8601ec8c), and a missing file named. */
    char hash[64];
    FILE *hf = fopen(where, "w");
    if (hf) {
        fputc('a', hf);
        fclose(hf);
    }
    CHECK(!dmbp_file_hash(where, hash, sizeof hash) &&
              !strcmp(hash, "fnv1a64:af63dc4c8601ec8c size 1"),
          "hash: %s", hash);
    unlink(where);
    st = dmbp_file_hash(where, hash, sizeof hash);
    expect_refused(st, DMBP_ERR_IO, where, "cannot open");
    /* A struct without struct_size. */
    dmbp_setrun_options zero;
    memset(&zero, 0, sizeof zero);
    dmbp_setrun *s = NULL;
    st = dmbp_setrun_open(c.inputs, N_ITEMS, &zero, &s);
    CHECK(st == DMBP_ERR_ARG && !s, "options without struct_size accepted");
}

/* ---- ranks: an in-memory transport between two threads ---------------- */

typedef struct msg {
    int src;
    size_t len;
    void *buf;
    struct msg *next;
} msg;

typedef struct mailbox {
    pthread_mutex_t mu;
    msg *head[RANKS], *tail[RANKS];
} mailbox;

typedef struct endpoint {
    mailbox *box;
    int rank;
} endpoint;

static int tp_send(void *user, int dest, void *buf, size_t len)
{
    endpoint *e = user;
    msg *m = malloc(sizeof *m);
    if (!m || dest < 0 || dest >= RANKS) {
        free(m);
        free(buf);
        return -1;
    }
    *m = (msg){e->rank, len, buf, NULL};
    pthread_mutex_lock(&e->box->mu);
    if (e->box->tail[dest])
        e->box->tail[dest]->next = m;
    else
        e->box->head[dest] = m;
    e->box->tail[dest] = m;
    pthread_mutex_unlock(&e->box->mu);
    return 0;
}

static int tp_receive(void *user, void **buf, size_t *len, int *src)
{
    endpoint *e = user;
    pthread_mutex_lock(&e->box->mu);
    msg *m = e->box->head[e->rank];
    if (m && !(e->box->head[e->rank] = m->next))
        e->box->tail[e->rank] = NULL;
    pthread_mutex_unlock(&e->box->mu);
    if (!m)
        return 0;
    *buf = m->buf;
    *len = m->len;
    *src = m->src;
    free(m);
    return 1;
}

static int tp_flush(void *user)
{
    (void)user;
    return 0; /* delivered when sent */
}

typedef struct rank_job {
    ctx *c;
    dmbp_setrun_transport t;
    dmbp_setrun_worker *w;
    dmbp_setrun_summary sum;
    dmbp_status st;
} rank_job;

static void *rank_thread(void *arg)
{
    rank_job *j = arg;
    dmbp_setrun_options o;
    options(j->c, &o, NULL);
    o.ranks = RANKS;
    j->st = dmbp_setrun_rank(j->c->inputs, N_ITEMS, &o, &j->t, CHUNK, j->w,
                             &j->sum);
    return NULL;
}

/* The set in two ranks, each with a worker process (this program); die:
 * the item a worker dies on (-1: none). */
static void run_ranks(ctx *c, const char *self, int die,
                      dmbp_setrun_summary *sum)
{
    char die_s[16];
    snprintf(die_s, sizeof die_s, "%d", die);
    setenv(DIE_ENV, die_s, 1);
    mailbox box = {.mu = PTHREAD_MUTEX_INITIALIZER};
    endpoint ep[RANKS];
    rank_job job[RANKS];
    char *argv[] = {(char *)self, (char *)c->dir, NULL};
    for (int r = 0; r < RANKS; r++) {
        ep[r] = (endpoint){&box, r};
        job[r] = (rank_job){.c = c, .t = {r, RANKS, tp_send, tp_receive,
                                          tp_flush, &ep[r]}};
        dmbp_status st = dmbp_setrun_worker_start(self, argv, WORKER_ENV, r,
                                                  &job[r].w);
        CHECK(!st, "worker %d: %s", r, dmbp_last_error());
    }
    pthread_t th;
    CHECK(pthread_create(&th, NULL, rank_thread, &job[1]) == 0, "thread");
    rank_thread(&job[0]);
    pthread_join(th, NULL);
    for (int r = 0; r < RANKS; r++) {
        CHECK(!job[r].st, "rank %d: %s", r, dmbp_last_error());
        dmbp_setrun_worker_free(job[r].w);
    }
    *sum = job[0].sum;
}

static void test_ranks(const char *tmp, const char *self)
{
    char one[512], two[512], lost[512];
    snprintf(one, sizeof one, "%s/r-one", tmp);
    snprintf(two, sizeof two, "%s/r-two", tmp);
    snprintf(lost, sizeof lost, "%s/r-lost", tmp);
    ctx c1, c2, c3;
    setup(&c1, one);
    setup(&c2, two);
    setup(&c3, lost);
    dmbp_setrun_options o;
    options(&c1, &o, NULL);
    dmbp_setrun_summary sum;
    c1.fail_at = 3; /* the workers fail item 3 too (worker_main) */
    dmbp_status st = dmbp_setrun_run(c1.inputs, N_ITEMS, &o, &sum);
    CHECK(!st, "one process: %s", dmbp_last_error());
    /* Each set its own inputs (the workers name them as the ledger). */
    run_ranks(&c2, self, -1, &sum);
    CHECK(sum.done == N_ITEMS - 1 && sum.failed == 1 && !sum.lost &&
              !sum.not_started,
          "two ranks: done %d failed %d lost %d", sum.done, sum.failed,
          sum.lost);
    char *a = records(one), *b = records(two);
    for (char *p = b; p && (p = strstr(p, "/r-two")); p += 6)
        memcpy(p, "/r-one", 6);
    CHECK(a && b && *a && !strcmp(a, b), "two ranks' manifest differs from "
          "one process's:\n%s\n--\n%s", a, b);
    free(a);
    free(b);
    /* The worker given item 2 dies: that item is lost, the rest of its
     * chunk goes to the other rank, and resume computes only the lost
     * one (and the failing one). */
    run_ranks(&c3, self, 2, &sum);
    CHECK(sum.lost == 1 && sum.done + sum.failed == N_ITEMS - 1 &&
              !sum.not_started,
          "a dead worker: done %d failed %d lost %d not started %d",
          sum.done, sum.failed, sum.lost, sum.not_started);
    options(&c3, &o, NULL);
    o.resume = 1;
    c3.fail_at = 3;
    st = dmbp_setrun_run(c3.inputs, N_ITEMS, &o, &sum);
    CHECK(!st && sum.skipped == N_ITEMS - 2 && sum.done == 1 &&
              sum.failed == 1 && c3.calls[2] == 1,
          "resume after a lost item: skipped %d done %d (item 2 computed "
          "%d times)", sum.skipped, sum.done, c3.calls[2]);
}

/* This program started by dmbp_setrun_worker_start: serve the items. */
static int worker_main(const char *spec, const char *dir)
{
    int in, out, rank;
    if (sscanf(spec, "%d:%d:%d", &in, &out, &rank) != 3)
        return 2;
    ctx c;
    setup_names(&c, dir);
    c.fail_at = 3;
    const char *die = getenv(DIE_ENV);
    int die_at = die ? atoi(die) : -1;
    (void)rank;
    dmbp_setrun_options o;
    options(&c, &o, NULL);
    o.dir = NULL;
    if (die_at >= 0) {
        /* Killed as the OOM killer would, when given that item. */
        c.stop_at = die_at;
    }
    int stop = 0;
    dmbp_status st = dmbp_setrun_serve(c.inputs, N_ITEMS, &o, in, out,
                                       &stop);
    if (stop == STOP_CODE)
        raise(SIGKILL);
    return st ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (getenv(WORKER_ENV))
        return worker_main(getenv(WORKER_ENV), argc > 1 ? argv[1] : "");
    char tmp[] = "/tmp/dmbp-setrun-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_resume(tmp);
    test_failures(tmp);
    test_shards(tmp);
    test_refusals(tmp);
    test_ranks(tmp, argv[0]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (!failures && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    printf("test_setrun: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
