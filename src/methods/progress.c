/* dmbp_progress (dmbp_render.h): dmbp explain's progress line on a
 * terminal, drawn by an explain progress callback: one line redrawn in
 * place, padded over a longer previous one, no escape sequences (a dumb
 * terminal shows it right). */
#include "methods.h"

#include <stdarg.h>
#include <time.h>

/* Redraw the line at most this often (seconds). */
#define PROGRESS_INTERVAL 0.1
#define LINE_MAX_CHARS 200
#define S_PER_MIN 60

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dmbp_progress_start(dmbp_progress *p, FILE *out, dmbp_method method,
                         int first, int call, int total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->method = method;
    p->first = first;
    p->call = call;
    p->total = total;
    p->t0 = now_s();
}

static void draw(dmbp_progress *p, bool force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void draw(dmbp_progress *p, bool force, const char *fmt, ...)
{
    double now = now_s();
    if (!p->out || (!force && p->width && now - p->last < PROGRESS_INTERVAL))
        return;
    p->last = now;
    char line[LINE_MAX_CHARS];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    fprintf(p->out, "\r%s%*s", line, p->width > len ? p->width - len : 0,
            "");
    fflush(p->out);
    if (len > p->width)
        p->width = len;
}

void dmbp_progress_clear(dmbp_progress *p)
{
    if (p->out && p->width) {
        fprintf(p->out, "\r%*s\r", p->width, "");
        fflush(p->out);
    }
    p->width = 0;
}

/* What a method's progress counts. */
static const char *unit(dmbp_method m)
{
    switch (m) {
    case DMBP_METHOD_IG: return "steps";
    case DMBP_METHOD_SMOOTHGRAD: return "samples";
    case DMBP_METHOD_OCCLUSION: return "patches";
    case DMBP_METHOD_SCORECAM: return "channels";
    case DMBP_METHOD_RISE: return "masks";
    default: return NULL; /* images: the gradients, the Grad-CAMs */
    }
}

int dmbp_progress_explain(void *user, int first_image, int n_images,
                          int iteration, int iterations, double loss)
{
    dmbp_progress *p = user;
    int n = p->total, call = p->call > 0 ? p->call : 1;
    /* Lane groups run one after the other, each for every iteration. */
    double done = (first_image + (double)n_images * iteration /
                                     (iterations > 0 ? iterations : 1)) /
                  call;
    char eta[32] = "";
    if (done > 0 && done < 1) {
        long s = lround((now_s() - p->t0) * (1 - done) / done);
        snprintf(eta, sizeof eta, "  ETA %ld:%02ld", s / S_PER_MIN,
                 s % S_PER_MIN);
    }
    int first = p->first + first_image + 1;
    bool last = iteration >= iterations;
    char which[48]; /* "image 3 of 9", "images 3-6 of 9" */
    if (n_images == 1)
        snprintf(which, sizeof which, "image %d of %d", first, n);
    else
        snprintf(which, sizeof which, "images %d-%d of %d", first,
                 first + n_images - 1, n);
    const char *u = unit(p->method);
    if (!isnan(loss)) /* DMBP */
        draw(p, last, "dmbp: %s  iteration %d/%d  loss %.4g%s", which,
             iteration, iterations, loss, eta);
    else if (u) /* steps, samples, patches ... */
        draw(p, last, "dmbp: %s  %s %d/%d%s", which, u, iteration,
             iterations, eta);
    else /* images as lanes: those done */
        draw(p, last, "dmbp: image %d of %d%s", p->first + iteration, n,
             eta);
    return 0;
}
