/* The set's fingerprint from the command line (runner.h): what makes a
 * set's results, for the library's manifest (dmbp_setrun.h). */
#include "runner.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* dmbp_file_hash, its message printed. */
static int file_hash(const char *path, char *buf, size_t cap)
{
    dmbp_status st = dmbp_file_hash(path, buf, cap);
    return st ? cli_fail(st) : EXIT_OK;
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

static int add(cli_names *kv, const char *key, const char *value)
{
    int rc = cli_names_add(kv, key);
    return rc ? rc : cli_names_add(kv, value);
}

static bool has_key(const cli_names *kv, const char *key)
{
    for (int k = 0; k + 1 < kv->n; k += 2)
        if (!strcmp(kv->v[k], key))
            return true;
    return false;
}

int cli_set_fingerprint(const cli_args *a, const char *model,
                        const char *const *extra, int n_extra, cli_names *kv)
{
    char hash[96], val[FP_VALUE_MAX], key[80];
    int rc = add(kv, "dmbp", dmbp_version());
    if (!rc)
        rc = add(kv, "command", a->cmd_name);
    if (!rc)
        rc = file_hash(model, hash, sizeof hash);
    if (!rc)
        rc = add(kv, "model", hash);
    for (int k = 0; k + 1 < 2 * n_extra && !rc; k += 2)
        rc = add(kv, extra[k], extra[k + 1]);
    const cli_flags *f = &a->f;
    if (!rc && !f->given[CLI_O_TARGET] && !f->given[CLI_O_TARGETS] &&
        (a->cmd & CMD_ATTR))
        rc = add(kv, "--target", "auto");
    for (int id = 0; id < CLI_O_COUNT && !rc; id++) {
        if (!f->given[id] || result_neutral(id))
            continue;
        snprintf(key, sizeof key, "--%s", cli_option_name(id));
        if (has_key(kv, key))
            continue; /* the caller's extra says it (explain's method) */
        if (id == CLI_O_LABELS || id == CLI_O_TARGETS)
            rc = file_hash(id == CLI_O_LABELS ? f->labels : f->targets, val,
                           sizeof val);
        else
            cli_option_text(f, id, val, sizeof val);
        if (!rc)
            rc = add(kv, key, val);
    }
    return rc;
}
