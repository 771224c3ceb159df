/* Helpers shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_fail(dmbp_status st)
{
    fprintf(stderr, "dmbp: %s\n", dmbp_last_error());
    switch (st) {
    case DMBP_OK: return EXIT_OK;
    case DMBP_ERR_ARG: return EXIT_USAGE;
    case DMBP_ERR_IO: return EXIT_IO;
    case DMBP_ERR_FORMAT: return EXIT_FORMAT;
    case DMBP_ERR_UNSUPPORTED: return EXIT_UNSUPPORTED;
    case DMBP_ERR_SHAPE: return EXIT_SHAPE;
    case DMBP_ERR_NONFINITE: return EXIT_NONFINITE;
    default: return EXIT_INTERNAL;
    }
}

int cli_oom(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

/* --colormap's choices are the enum's values in order. */
_Static_assert(DMBP_COLORMAP_DEFAULT == 0 && DMBP_COLORMAP_SEISMIC == 1 &&
                   DMBP_COLORMAP_BWR == 2 && DMBP_COLORMAP_REDS == 3 &&
                   DMBP_COLORMAP_INFERNO == 4,
               "--colormap choices out of step with dmbp_colormap");

void cli_render_options(const cli_flags *f, dmbp_render_options *o)
{
    dmbp_render_options_init(o);
    if (f->given[CLI_O_ALPHA])
        o->alpha = f->alpha;
    if (f->given[CLI_O_PERCENTILE])
        o->percentile = f->percentile;
    if (f->given[CLI_O_COLORMAP])
        o->colormap = f->colormap; /* the choices follow dmbp_colormap */
    o->colorbar = f->colorbar;
    o->heatmap_only = f->heatmap_only;
    o->keep_colour = f->keep_colour;
    /* --caption: "" asks for each picture's line (cli_caption). */
    o->caption = f->caption ? "" : NULL;
}

int cli_check_render(const cli_flags *f)
{
    if (f->given[CLI_O_ALPHA] && !(f->alpha >= 0 && f->alpha <= 1))
        return cli_usage_error("--alpha '%g': expected a number from 0 to 1",
                               (double)f->alpha);
    if (f->given[CLI_O_PERCENTILE] &&
        !(f->percentile > 0 && f->percentile <= 100))
        return cli_usage_error("--percentile '%g': expected a number above "
                               "0, at most 100", (double)f->percentile);
    /* Whatever else the library would refuse, on one blank pixel. */
    dmbp_render_options o;
    cli_render_options(f, &o);
    float zero = 0;
    double scale;
    if (dmbp_render_scale(&zero, NULL, 1, 1, 1, &o, &scale))
        return cli_usage_error("%s", dmbp_last_error());
    return EXIT_OK;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dmbp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see dmbp --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

bool cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false; /* strtoull would accept and negate a '-' */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_floats3(const char *s, float *out)
{
    float tmp[3];
    int n = 0;
    const char *c = s;
    for (;;) {
        char *end;
        float x = strtof(c, &end);
        if (end == c || !isfinite(x) || n == 3)
            return false;
        tmp[n++] = x;
        c = end;
        if (*c == 0)
            break;
        if (*c != ',')
            return false;
        c++;
    }
    if (n != 1 && n != 3)
        return false;
    for (int i = 0; i < 3; i++)
        out[i] = tmp[n == 1 ? 0 : i];
    return true;
}

int cli_apply_pre(const dmbp_model *m, const cli_flags *f,
                  dmbp_preprocess_options *o)
{
    dmbp_status st = dmbp_model_preprocess_defaults(m, o);
    if (st)
        return cli_fail(st);
    if (f->given[CLI_O_RESIZE])
        o->resize = f->resize;
    if (f->no_resize)
        o->resize = 0;
    if (f->given[CLI_O_CROP])
        o->crop = f->crop;
    if (f->given[CLI_O_MEAN])
        memcpy(o->mean, f->mean, sizeof o->mean);
    if (f->given[CLI_O_STD])
        memcpy(o->std, f->std, sizeof o->std);
    return EXIT_OK;
}

/* What write() makes, in memory, then written whole or not at all by the
 * library (dmbp_write_file): a failure leaves neither a partial file nor
 * a temporary one. */
int cli_write_atomic(const char *path, void (*write)(FILE *, const void *),
                     const void *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return cli_oom();
    write(f, ctx);
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return cli_oom();
    }
    dmbp_status st = dmbp_write_file(path, buf, len);
    free(buf);
    return st ? cli_fail(st) : EXIT_OK;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "SIZE" with an optional K, M, G or T (powers of 1024) suffix. */
bool cli_parse_size(const char *s, size_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v == 0 || v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)v << shift;
    return true;
}

/* ------------------------------------------------------------------ */
/* What an image set's item printed                                   */
/* ------------------------------------------------------------------ */

/* The longest message line kept (an item's error field is shorter). */
#define CAPTURE_MAX 1024
#define MSG_PREFIX "dmbp: "

static char capture_line[CAPTURE_MAX], capture_last[CAPTURE_MAX];
static size_t capture_len;
static FILE *capture_saved, *capture_tee;

static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(2, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* as stderr would: messages are best effort */
        off += (size_t)w;
    }
    size_t plen = strlen(MSG_PREFIX);
    for (size_t k = 0; k < n; k++) {
        char c = buf[k];
        if (c == '\n' || c == '\r') {
            /* A line of ours, not a progress line redrawn with \r. */
            capture_line[capture_len] = 0;
            if (c == '\n' && capture_len > plen &&
                !strncmp(capture_line, MSG_PREFIX, plen))
                memcpy(capture_last, capture_line + plen,
                       capture_len - plen + 1);
            capture_len = 0;
        } else if (capture_len + 1 < CAPTURE_MAX) {
            capture_line[capture_len++] = c;
        }
    }
    return (ssize_t)n;
}

void cli_capture_begin(void)
{
    capture_last[0] = 0;
    capture_len = 0;
    fflush(stderr);
    cookie_io_functions_t io = {.write = tee_write};
    capture_tee = fopencookie(NULL, "w", io);
    if (!capture_tee)
        return; /* messages still go out; the error field says less */
    setvbuf(capture_tee, NULL, _IONBF, 0);
    capture_saved = stderr;
    stderr = capture_tee;
}

void cli_capture_end(void)
{
    if (!capture_tee)
        return;
    fflush(capture_tee);
    stderr = capture_saved;
    fclose(capture_tee);
    capture_tee = NULL;
}

const char *cli_captured(void)
{
    return capture_last;
}
