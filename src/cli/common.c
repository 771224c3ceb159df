/* Helpers shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

/* Largest --resize / --crop accepted: far above any model's input, small
 * enough that sizes cannot overflow. */
#define CLI_MAX_SIDE 16384

int cli_parse_pre(int argc, char **argv, int *i, cli_pre *p)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--no-resize")) {
        p->no_resize = true;
        return 1;
    }
    bool is_resize = !strcmp(a, "--resize"), is_crop = !strcmp(a, "--crop");
    bool is_mean = !strcmp(a, "--mean"), is_std = !strcmp(a, "--std");
    if (!is_resize && !is_crop && !is_mean && !is_std)
        return 0;
    if (*i + 1 >= argc) {
        cli_usage_error("%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    if (is_resize || is_crop) {
        int x;
        if (!cli_parse_int(v, 0, CLI_MAX_SIDE, &x)) {
            cli_usage_error("%s '%s': expected a size from 0 to %d", a, v,
                            CLI_MAX_SIDE);
            return -1;
        }
        if (is_resize) {
            p->resize = x;
            p->resize_set = true;
        } else {
            p->crop = x;
            p->crop_set = true;
        }
        return 1;
    }
    float *dst = is_mean ? p->mean : p->std;
    if (!cli_parse_floats3(v, dst)) {
        cli_usage_error("%s '%s': expected 1 or 3 finite numbers separated "
                        "by commas", a, v);
        return -1;
    }
    if (is_std && (dst[0] == 0 || dst[1] == 0 || dst[2] == 0)) {
        cli_usage_error("--std '%s': a standard deviation cannot be 0", v);
        return -1;
    }
    if (is_mean)
        p->mean_set = true;
    else
        p->std_set = true;
    return 1;
}

int cli_apply_pre(const dmbp_model *m, const cli_pre *p,
                  dmbp_preprocess_options *o)
{
    dmbp_status st = dmbp_model_preprocess_defaults(m, o);
    if (st)
        return cli_fail(st);
    if (p->resize_set)
        o->resize = p->resize;
    if (p->no_resize)
        o->resize = 0;
    if (p->crop_set)
        o->crop = p->crop;
    if (p->mean_set)
        memcpy(o->mean, p->mean, sizeof o->mean);
    if (p->std_set)
        memcpy(o->std, p->std, sizeof o->std);
    return EXIT_OK;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

/* New output files get the usual mode less the umask. */
#define NEW_FILE_MODE 0666
/* Temporary names tried before giving up (another process's leftovers). */
#define TMP_NAME_TRIES 100

/* Written to a temporary file beside path, renamed over it once complete:
 * a failure leaves neither a partial file nor the temporary one. */
int cli_write_atomic(const char *path, void (*write)(FILE *, const void *),
                     const void *ctx)
{
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    if (!tmp) {
        fprintf(stderr, "dmbp: out of memory\n");
        return EXIT_INTERNAL;
    }
    int fd = -1, err = 0;
    for (int t = 0; t < TMP_NAME_TRIES && fd < 0; t++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), t);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  NEW_FILE_MODE);
        err = errno;
        if (fd < 0 && err != EEXIST)
            break;
    }
    if (fd < 0) {
        fprintf(stderr, "dmbp: %s: cannot create temporary file %s: %s\n",
                path, tmp, strerror(err));
        free(tmp);
        return EXIT_IO;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        err = errno;
        close(fd);
    } else {
        errno = 0;
        write(f, ctx);
        err = ferror(f) ? (errno ? errno : EIO) : 0;
        /* fclose reports what the buffer deferred (a full disk, NFS). */
        if (fclose(f) != 0 && !err)
            err = errno ? errno : EIO;
        if (!err && rename(tmp, path) != 0)
            err = errno;
    }
    if (err) {
        unlink(tmp);
        fprintf(stderr, "dmbp: %s: write error: %s\n", path, strerror(err));
        free(tmp);
        return EXIT_IO;
    }
    free(tmp);
    return EXIT_OK;
}

