/* Manifest lines as the ledger reads them back (the library's
 * dmbp_manifest_parse), and the set's fingerprint (manifest.h). */
#include "manifest.h"

#include <dmbp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_mrecord_free(cli_mrecord *r)
{
    free(r->input);
    free(r->line);
    cli_names_free(&r->outputs);
    memset(r, 0, sizeof *r);
}

void cli_fingerprint_free(cli_fingerprint *fp)
{
    cli_names_free(&fp->keys);
    cli_names_free(&fp->values);
}

/* The library reads the line (dmbp_manifest_parse); here it becomes the
 * ledger's record or fingerprint. */
int cli_manifest_parse(const char *line, size_t len, cli_mrecord *r,
                       cli_fingerprint *fp)
{
    memset(r, 0, sizeof *r);
    memset(fp, 0, sizeof *fp);
    dmbp_manifest_line *l;
    int kind = dmbp_manifest_parse(line, len, &l);
    int rc = EXIT_OK;
    if (kind == DMBP_MANIFEST_SET) {
        for (int k = 0; k < dmbp_manifest_num_keys(l) && !rc; k++)
            rc = cli_fingerprint_add(fp, dmbp_manifest_key(l, k),
                                     dmbp_manifest_value(l, k));
    } else if (kind == DMBP_MANIFEST_ITEM) {
        r->status = (cli_mstatus)dmbp_manifest_item_status(l);
        r->has_stat = dmbp_manifest_input_stat(l, &r->size, &r->mtime_ns);
        if (!(r->input = strdup(dmbp_manifest_input(l))))
            rc = EXIT_INTERNAL;
        for (int k = 0; k < dmbp_manifest_num_outputs(l) && !rc; k++)
            rc = cli_names_add(&r->outputs, dmbp_manifest_output(l, k));
    }
    dmbp_manifest_line_free(l);
    if (!rc)
        return kind == DMBP_MANIFEST_SET ? MLINE_SET
               : kind == DMBP_MANIFEST_ITEM ? MLINE_ITEM : MLINE_BAD;
    cli_mrecord_free(r);
    cli_fingerprint_free(fp);
    return MLINE_BAD;
}

/* ------------------------------------------------------------------ */
/* The fingerprint                                                    */
/* ------------------------------------------------------------------ */

int cli_fingerprint_add(cli_fingerprint *fp, const char *key,
                        const char *value)
{
    int rc = cli_names_add(&fp->keys, key);
    return rc ? rc : cli_names_add(&fp->values, value);
}

void cli_fingerprint_write(FILE *f, const cli_fingerprint *fp)
{
    fputs("{\"set\": {", f);
    for (int k = 0; k < fp->keys.n; k++) {
        fputs(k ? ", " : "", f);
        dmbp__json_str(f, fp->keys.v[k]);
        fputs(": ", f);
        dmbp__json_str(f, fp->values.v[k]);
    }
    fputs("}}\n", f);
}

static const char *lookup(const cli_fingerprint *fp, const char *key)
{
    for (int k = 0; k < fp->keys.n; k++)
        if (!strcmp(fp->keys.v[k], key))
            return fp->values.v[k];
    return NULL;
}

char *cli_fingerprint_diff(const cli_fingerprint *then,
                           const cli_fingerprint *now)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    int n = 0;
    for (int side = 0; side < 2; side++) {
        const cli_fingerprint *a = side ? now : then, *b = side ? then : now;
        for (int k = 0; k < a->keys.n; k++) {
            const char *key = a->keys.v[k], *other = lookup(b, key);
            if (side && other)
                continue; /* compared in the first pass */
            if (other && !strcmp(other, a->values.v[k]))
                continue;
            const char *was = side ? "none" : a->values.v[k];
            const char *is = side ? a->values.v[k] : other ? other : "none";
            fprintf(f, "%s%s was '%s', now '%s'", n++ ? "; " : "", key, was,
                    is);
        }
    }
    fclose(f);
    if (!n) {
        free(buf);
        return NULL;
    }
    return buf;
}

int cli_input_stat(const char *name, struct stat *sb)
{
    if (!strcmp(name, "-"))
        return -1;
    if (stat(name, sb) == 0)
        return 0;
    /* eval's "PATH#INDEX" of an IDX file: the file's size and time. */
    const char *hash = strrchr(name, '#');
    if (!hash || !hash[1] || strspn(hash + 1, "0123456789") !=
                                 strlen(hash + 1))
        return -1;
    char *path = strndup(name, (size_t)(hash - name));
    int r = path ? stat(path, sb) : -1;
    free(path);
    return r;
}

/* Read in pieces of this size while hashing. */
#define HASH_CHUNK (1 << 20)
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

int cli_file_hash(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "dmbp: %s: cannot open: %s\n", path,
                strerror(errno));
        return EXIT_IO;
    }
    unsigned char *chunk = malloc(HASH_CHUNK);
    if (!chunk) {
        close(fd);
        return cli_oom();
    }
    uint64_t h = FNV64_OFFSET;
    unsigned long long size = 0;
    ssize_t got;
    while ((got = read(fd, chunk, HASH_CHUNK)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "dmbp: %s: read error: %s\n", path,
                    strerror(errno));
            free(chunk);
            close(fd);
            return EXIT_IO;
        }
        for (ssize_t k = 0; k < got; k++)
            h = (h ^ chunk[k]) * FNV64_PRIME;
        size += (unsigned long long)got;
    }
    free(chunk);
    close(fd);
    snprintf(buf, cap, "fnv1a64:%016llx size %llu", (unsigned long long)h,
             size);
    return EXIT_OK;
}

/* Options that never change a set's results (how it runs, where it goes,
 * what is printed). */
static bool result_neutral(int id)
{
    switch (id) {
    case CLI_O_CSV: case CLI_O_JSON_OUT: case CLI_O_PLOT: case CLI_O_MARKDOWN:
    case CLI_O_N:
    case CLI_O_HELP: case CLI_O_JSON: case CLI_O_QUIET: case CLI_O_THREADS:
    case CLI_O_PLUGIN: case CLI_O_MAX_MEMORY: case CLI_O_OUTPUT_DIR:
    case CLI_O_FORCE: case CLI_O_IMAGES: case CLI_O_RESUME:
    case CLI_O_MAX_FAILURES: case CLI_O_CHUNK: case CLI_O_BATCH:
    case CLI_O_HTML: case CLI_O_OUTPUT: /* a report; eval's -o PREFIX */
        return true;
    default:
        return false;
    }
}

/* Longest option value text kept in a fingerprint. */
#define FP_VALUE_MAX 4096

int cli_set_fingerprint(const cli_args *a, const char *model,
                        const char *const *extra, int n_extra,
                        cli_fingerprint *fp)
{
    memset(fp, 0, sizeof *fp);
    char hash[96], val[FP_VALUE_MAX], key[80];
    int rc = cli_fingerprint_add(fp, "dmbp", dmbp_version());
    if (!rc)
        rc = cli_fingerprint_add(fp, "command", a->cmd_name);
    if (!rc)
        rc = cli_file_hash(model, hash, sizeof hash);
    if (!rc)
        rc = cli_fingerprint_add(fp, "model", hash);
    for (int k = 0; k + 1 < 2 * n_extra && !rc; k += 2)
        rc = cli_fingerprint_add(fp, extra[k], extra[k + 1]);
    const cli_flags *f = &a->f;
    if (!rc && !f->given[CLI_O_TARGET] && !f->given[CLI_O_TARGETS] &&
        (a->cmd & CMD_ATTR))
        rc = cli_fingerprint_add(fp, "--target", "auto");
    for (int id = 0; id < CLI_O_COUNT && !rc; id++) {
        if (!f->given[id] || result_neutral(id))
            continue;
        snprintf(key, sizeof key, "--%s", cli_option_name(id));
        if (lookup(fp, key))
            continue; /* the caller's extra says it (explain's method) */
        if (id == CLI_O_LABELS || id == CLI_O_TARGETS)
            rc = cli_file_hash(id == CLI_O_LABELS ? f->labels : f->targets,
                               val, sizeof val);
        else
            cli_option_text(f, id, val, sizeof val);
        if (!rc)
            rc = cli_fingerprint_add(fp, key, val);
    }
    return rc;
}
