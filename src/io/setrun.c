/* Image sets item by item (dmbp_setrun.h): each item through the caller's
 * callback into a result line, and the ledger that records result lines:
 * the manifest line, the out line, the progress, the summary. Opening the
 * manifest (resume, the output checks) is setrun_open.c's. */
#include "io.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A terminal's progress line is redrawn at most this often (seconds); when
 * log is not a terminal (a cluster log) a plain line is written at most
 * this often. */
#define PROGRESS_TTY_INTERVAL 0.2
#define PROGRESS_LOG_INTERVAL 30.0
#define MANIFEST_NAME "manifest.jsonl"
#define NS_PER_S 1000000000LL

void dmbp_setrun_options_init_sized(dmbp_setrun_options *o,
                                    size_t struct_size)
{
    dmbp_setrun_options d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    dmbp__options_init(o, struct_size, &d, sizeof d, sizeof d);
}

dmbp_status dmbp__setrun_options_in(const dmbp_setrun_options *in,
                                    dmbp_setrun_options *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    return dmbp__options_in(in, out, sizeof *out, sizeof *out,
                            "dmbp_setrun_options");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Computing items                                                    */
/* ------------------------------------------------------------------ */

/* "<index> ok <seconds> <json-string text> <fragment>" or
 * "<index> fail <status> <seconds> <json-string error>", without '\n'. */
dmbp_status dmbp_setrun_compute(const char *const *inputs, int n, int index,
                                const dmbp_setrun_options *opt, char **line,
                                int *stop)
{
    *line = NULL;
    *stop = 0;
    dmbp_setrun_options o;
    TRY(dmbp__setrun_options_in(opt, &o));
    if (index < 0 || index >= n || !o.item)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_setrun_compute: item %d "
                              "of %d%s", index, n, o.item ? ""
                              : ", no item callback");
    dmbp_setrun_item it = {.index = index};
    char *frag = NULL, *text = NULL, *buf = NULL;
    size_t flen = 0, tlen = 0, len = 0;
    /* The input as it was before it was read: resume computes it again
     * once it changed. */
    struct stat sb;
    bool have_stat = dmbp__input_stat(inputs[index], &sb) == 0;
    it.fragment = open_memstream(&frag, &flen);
    it.text = open_memstream(&text, &tlen);
    double t0 = now_s();
    bool oom = !it.fragment || !it.text;
    if (!oom)
        *stop = o.item(o.user, &it);
    double secs = now_s() - t0;
    if (it.fragment)
        fclose(it.fragment);
    if (it.text)
        fclose(it.text);
    FILE *f = *stop || oom || !frag || !text ? NULL
                                             : open_memstream(&buf, &len);
    if (f) {
        while (tlen && text[tlen - 1] == '\n')
            text[--tlen] = 0;
        if (it.status == 0) {
            fprintf(f, "%d ok %.6f ", index, secs);
            dmbp__json_str(f, text);
            if (have_stat)
                fprintf(f, " \"input_size\": %lld, \"input_mtime_ns\": "
                        "%lld%s", (long long)sb.st_size,
                        (long long)sb.st_mtim.tv_sec * NS_PER_S +
                            sb.st_mtim.tv_nsec, *frag ? "," : "");
            fprintf(f, " %s", frag);
        } else {
            fprintf(f, "%d fail %d %.6f ", index, it.status, secs);
            dmbp__json_str(f, it.error[0] ? it.error : "failed");
        }
        fclose(f);
    }
    free(frag);
    free(text);
    if (!*stop && !buf)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    *line = buf;
    return DMBP_OK;
}

static bool write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        len -= (size_t)w;
    }
    return true;
}

dmbp_status dmbp_setrun_serve(const char *const *inputs, int n,
                              const dmbp_setrun_options *o, int fd_in,
                              int fd_out, int *stop)
{
    *stop = 0;
    int fd = dup(fd_in);
    FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!in) {
        if (fd >= 0)
            close(fd);
        return dmbp_set_error(DMBP_ERR_IO, "dmbp_setrun_serve: %s",
                              strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    dmbp_status st = DMBP_OK;
    while (!st && !*stop && getline(&line, &cap, in) > 0) {
        char *end;
        long idx = strtol(line, &end, 10);
        if (end == line || idx < 0 || idx >= n) {
            st = dmbp_set_error(DMBP_ERR_INTERNAL, "internal error: item "
                                "'%.20s' of %d", line, n);
            break;
        }
        char *res;
        st = dmbp_setrun_compute(inputs, n, (int)idx, o, &res, stop);
        if (st || !res)
            break;
        size_t len = strlen(res);
        res[len] = '\n'; /* replaces the terminator: written by length */
        bool ok = write_all(fd_out, res, len + 1);
        free(res);
        if (!ok)
            break; /* the ledger's side is gone: nothing more to say */
    }
    free(line);
    fclose(in);
    return st;
}

/* ------------------------------------------------------------------ */
/* The ledger                                                         */
/* ------------------------------------------------------------------ */

struct dmbp_setrun {
    dmbp_setrun_options o;
    const char *const *inputs;
    int n;
    int fd;                 /* the manifest, O_APPEND */
    char *path;
    int *todo, n_todo;
    int ok, failed, lost, skipped;
    int first_status;       /* the first failed item's status */
    double t0, last_progress;
    int progress_width;     /* characters of the terminal line drawn */
    bool tty;
};

#define say(s, ...) ((s)->o.log ? fprintf((s)->o.log, __VA_ARGS__) : 0)

dmbp_status dmbp_setrun_open(const char *const *inputs, int n,
                             const dmbp_setrun_options *opt,
                             dmbp_setrun **out)
{
    *out = NULL;
    dmbp_setrun *s = calloc(1, sizeof *s);
    if (!s)
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    dmbp_status st = dmbp__setrun_options_in(opt, &s->o);
    const dmbp_setrun_options *o = &s->o;
    s->inputs = inputs;
    s->n = n;
    s->fd = -1;
    bool *done = calloc((size_t)n + 1, sizeof *done);
    size_t plen = (o->dir ? strlen(o->dir) : 0) + sizeof MANIFEST_NAME + 1;
    s->path = malloc(plen);
    s->todo = malloc(((size_t)n + 1) * sizeof *s->todo);
    if (!st && (!done || !s->path || !s->todo))
        st = dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    if (!st && n < 0)
        st = dmbp_set_error(DMBP_ERR_ARG, "dmbp_setrun_open: %d items", n);
    int changed = 0;
    if (!st && o->dir) {
        snprintf(s->path, plen, "%s/%s", o->dir, MANIFEST_NAME);
        st = dmbp__setrun_manifest(inputs, n, o, s->path, done, &s->fd,
                                   &s->skipped, &changed);
    }
    for (int i = 0; !st && i < n; i++)
        if (!done[i])
            s->todo[s->n_todo++] = i;
    free(done);
    if (st) {
        free(s->todo);
        free(s->path);
        free(s);
        return st;
    }
    s->tty = o->log && isatty(fileno(o->log));
    s->t0 = s->last_progress = now_s();
    bool quiet = o->quiet, mpi = o->ranks > 0;
    if (changed && !quiet)
        say(s, "dmbp: --resume: %d image%s changed since %s computed: "
            "computed again\n", changed, changed == 1 ? "" : "s",
            changed == 1 ? "it was" : "they were");
    if (!quiet && mpi)
        say(s, "dmbp: %d image%s to compute%s on %d rank%s, %s%s\n",
            s->n_todo, s->n_todo == 1 ? "" : "s",
            s->skipped ? " (the others are done)" : "", o->ranks,
            o->ranks == 1 ? "" : "s", o->dir ? "manifest " : "no manifest",
            o->dir ? s->path : "");
    if (s->skipped && !quiet)
        say(s, "dmbp: --resume: %d image%s already done%s\n", s->skipped,
            s->skipped == 1 ? "" : "s",
            mpi ? "" : s->n_todo == 0 ? ", 0 images to compute"
            : s->n_todo == 1 ? ", 1 image to compute" : "");
    if (s->skipped && !quiet && !mpi && s->n_todo > 1)
        say(s, "dmbp: %d images to compute\n", s->n_todo);
    *out = s;
    return DMBP_OK;
}

const int *dmbp_setrun_todo(const dmbp_setrun *s, int *count)
{
    *count = s->n_todo;
    return s->todo;
}

static void progress_clear(dmbp_setrun *s)
{
    if (s->tty && s->progress_width) {
        say(s, "\r%*s\r", s->progress_width, "");
        s->progress_width = 0;
    }
}

static void progress(dmbp_setrun *s, bool final)
{
    if (s->o.quiet || !s->o.log)
        return;
    double now = now_s();
    double interval = s->tty ? PROGRESS_TTY_INTERVAL : PROGRESS_LOG_INTERVAL;
    if (!final && now - s->last_progress < interval)
        return;
    s->last_progress = now;
    int done = s->ok + s->failed + s->lost;
    double el = now - s->t0;
    double rate = el > 0 ? done * 60.0 / el : 0;
    char eta[96] = "";
    if (done > 0 && done < s->n_todo) {
        long t = lround(el * (s->n_todo - done) / done);
        snprintf(eta, sizeof eta, ", %ld:%02ld:%02ld left", t / 3600,
                 t / 60 % 60, t % 60);
    }
    char line[200], lost[32] = "";
    if (s->o.ranks > 0)
        snprintf(lost, sizeof lost, ", %d lost", s->lost);
    int len = snprintf(line, sizeof line, "dmbp: %d/%d images (%d failed%s)"
                       ", %.1f images/min%s", done, s->n_todo, s->failed,
                       lost, rate, eta);
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    if (s->tty) {
        say(s, "\r%s%*s", line,
            s->progress_width > len ? s->progress_width - len : 0, "");
        if (len > s->progress_width)
            s->progress_width = len;
        if (final)
            progress_clear(s);
    } else {
        say(s, "%s\n", line);
    }
    fflush(s->o.log);
}

dmbp_status dmbp_setrun_record(dmbp_setrun *s, const char *line, int rank)
{
    char *end, *text = NULL, *error = NULL;
    long idx = strtol(line, &end, 10);
    const char *p = end + 1;
    bool ok = !strncmp(p, "ok ", 3);
    bool bad = end == line || idx < 0 || idx >= s->n || *end != ' ' ||
               (!ok && strncmp(p, "fail ", 5));
    int status = 0;
    double secs = 0;
    if (!bad) {
        p += ok ? 3 : 5;
        if (!ok)
            status = (int)strtol(p, (char **)&p, 10);
        secs = strtod(p, (char **)&p);
        p = dmbp__json_parse_str(p, ok ? &text : &error);
    }
    if (bad || !p)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "internal error: bad result "
                              "from rank %d", rank);
    const char *fragment = dmbp__json_skip_ws(p);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        free(text);
        free(error);
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    }
    fputs("{\"input\": ", f);
    dmbp__json_str(f, s->inputs[idx]);
    if (ok) {
        fprintf(f, ", \"status\": \"ok\", %s", fragment);
    } else {
        fprintf(f, ", \"status\": \"failed\", \"exit_status\": %d, "
                "\"error\": ", status);
        dmbp__json_str(f, error);
    }
    fprintf(f, ", \"rank\": %d, \"seconds\": %.3f}\n", rank, secs);
    fclose(f);
    dmbp_status st = s->fd >= 0 ? dmbp__setrun_append(s->path, s->fd, buf,
                                                      len)
                                : DMBP_OK;
    if (!st && ok && s->o.record && s->o.record(s->o.user, (int)idx, buf))
        st = dmbp_set_error(DMBP_ERR_INTERNAL, "internal error: %s: its "
                            "result does not read back", s->inputs[idx]);
    progress_clear(s);
    if (ok) {
        s->ok++;
        if (s->o.out && s->o.json)
            fputs(buf, s->o.out);
        else if (s->o.out && *text)
            fprintf(s->o.out, "%s\n", text);
        if (s->o.out)
            fflush(s->o.out);
    } else if (!s->failed++) {
        /* The item already said why; the manifest keeps it. */
        s->first_status = status;
    }
    free(buf);
    free(text);
    free(error);
    progress(s, false);
    return st;
}

void dmbp_setrun_lost(dmbp_setrun *s, int index, const char *why)
{
    if (index < 0 || index >= s->n)
        return;
    progress_clear(s);
    s->lost++;
    say(s, "dmbp: %s: lost (%s); rerun with --resume\n", s->inputs[index],
        why);
    progress(s, false);
}

int dmbp_setrun_stopped(const dmbp_setrun *s)
{
    return s->o.max_failures > 0 &&
           s->failed + s->lost >= s->o.max_failures;
}

dmbp_status dmbp_setrun_close(dmbp_setrun *s, dmbp_setrun_summary *sum)
{
    if (!s)
        return DMBP_OK;
    progress(s, true);
    int not_done = s->n_todo - s->ok - s->failed - s->lost;
    bool stopped = dmbp_setrun_stopped(s);
    if (s->o.ranks > 0 && (!s->o.quiet || s->failed || s->lost || not_done))
        say(s, "dmbp: %d done, %d failed, %d lost, %d not started%s, %d "
            "skipped (--resume); %.1f s\n", s->ok, s->failed, s->lost,
            not_done, stopped ? " (--max-failures)" : "", s->skipped,
            now_s() - s->t0);
    else if ((s->failed || not_done) && s->o.dir)
        /* One process: only what went wrong (the progress said the rest;
         * without a manifest, the failed item's own message). */
        say(s, "dmbp: %d done, %d failed, %d not started%s\n", s->ok,
            s->failed, not_done, stopped ? " (--max-failures)" : "");
    if (sum) {
        *sum = (dmbp_setrun_summary){
            .done = s->ok, .failed = s->failed, .lost = s->lost,
            .not_started = not_done, .skipped = s->skipped,
            .first_status = s->first_status, .max_failures = stopped};
    }
    dmbp_status st = DMBP_OK;
    if (s->fd >= 0 && close(s->fd) != 0)
        st = dmbp_set_error(DMBP_ERR_IO, "%s: %s", s->path, strerror(errno));
    free(s->todo);
    free(s->path);
    free(s);
    return st;
}

dmbp_status dmbp_setrun_run(const char *const *inputs, int n,
                            const dmbp_setrun_options *o,
                            dmbp_setrun_summary *sum)
{
    if (sum)
        memset(sum, 0, sizeof *sum);
    dmbp_setrun *s;
    TRY(dmbp_setrun_open(inputs, n, o, &s));
    int count, stop = 0;
    const int *todo = dmbp_setrun_todo(s, &count);
    dmbp_status st = DMBP_OK;
    for (int k = 0; k < count && !st && !stop && !dmbp_setrun_stopped(s);
         k++) {
        char *line;
        st = dmbp_setrun_compute(inputs, n, todo[k], &s->o, &line, &stop);
        if (line)
            st = dmbp_setrun_record(s, line, 0);
        free(line);
    }
    dmbp_status st2 = dmbp_setrun_close(s, sum);
    if (sum)
        sum->stop = stop;
    return st ? st : st2;
}
