/* The library's options of a set from the command line (runner.h): the
 * set's fingerprint (what makes its results), the protected inputs, the
 * item wrapper (what an item printed becomes its error; the worker's
 * test hook), and the exit status from the summary. runner.c and mpi.c
 * run the set with them. */
#include "runner.h"
#include "cli.h"

#include <signal.h>
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

/* ------------------------------------------------------------------ */
/* The library's options                                              */
/* ------------------------------------------------------------------ */

/* The item callback: b->fn with what it prints captured. */
static int item(void *user, dmbp_setrun_item *it)
{
    cli_setrun *s = user;
    /* Test hook (tests/cli_mpi.sh): the worker is killed when given its
     * item after DMBP_TEST_DIE_AFTER finished ones, as the OOM killer
     * would. */
    if (s->die_after >= 0 && s->finished++ >= s->die_after)
        raise(SIGKILL);
    cli_capture_begin();
    int rc = s->b->fn(s->b->ctx, it);
    cli_capture_end();
    return rc;
}

static dmbp_status outputs(void *user, int index, dmbp_setrun_paths *out)
{
    const cli_setrun *s = user;
    cli_names l = {0};
    dmbp_status st = s->b->outputs(s->b->ctx, index, &l)
                         ? dmbp_set_error(DMBP_ERR_NOMEM, "out of memory")
                         : DMBP_OK;
    for (int k = 0; k < l.n && !st; k++)
        st = dmbp_setrun_paths_add(out, l.v[k]);
    cli_names_free(&l);
    return st;
}

static int record(void *user, int index, const char *line)
{
    const cli_setrun *s = user;
    return s->b->record(s->b->ctx, index, line);
}

int cli_setrun_init(const cli_runner *b, bool ledger, int ranks,
                    cli_setrun *s)
{
    memset(s, 0, sizeof *s);
    s->b = b;
    s->die_after = -1;
    dmbp_setrun_options *o = &s->o;
    dmbp_setrun_options_init(o);
    o->dir = b->dir;
    o->resume = b->resume;
    o->force = b->args->f.force;
    o->json = b->json;
    o->quiet = b->quiet;
    o->max_failures = b->max_failures;
    o->ranks = ranks;
    o->log = stderr;
    o->out = stdout;
    o->item = item;
    o->outputs = b->outputs ? outputs : NULL;
    o->record = b->record ? record : NULL;
    o->user = s;
    if (!ledger || !b->dir)
        return EXIT_OK;
    /* The run's other inputs: never overwritten, not even by the
     * manifest. */
    const cli_flags *f = &b->args->f;
    const char *images = f->images && !strncmp(f->images, "idx:", 4)
                             ? f->images + 4 : f->images;
    const char *others[] = {b->model, f->labels, f->targets, images};
    for (int k = 0; k < 4; k++)
        if (others[k])
            s->protect[o->n_protect++] = others[k];
    o->protect = s->protect;
    if (!(s->fp = calloc(1, sizeof *s->fp)))
        return cli_oom();
    int rc = cli_set_fingerprint(b->args, b->model, b->fp_extra,
                                 b->n_fp_extra, s->fp);
    o->fingerprint = (const char *const *)s->fp->v;
    o->n_fingerprint = s->fp->n / 2;
    return rc;
}

void cli_setrun_free(cli_setrun *s)
{
    if (s->fp)
        cli_names_free(s->fp);
    free(s->fp);
    s->fp = NULL;
}

int cli_setrun_exit(const cli_runner *b, dmbp_status st,
                    const dmbp_setrun_summary *sum)
{
    if (sum->stop)
        return sum->stop; /* the item said why */
    if (st)
        return cli_fail(st);
    if (sum->failed + sum->lost + sum->not_started == 0)
        return EXIT_OK;
    /* Without a manifest nothing can be resumed: the run failed as its
     * first failed item did. */
    if (!b->dir && sum->failed && sum->first_status)
        return sum->first_status;
    return EXIT_INCOMPLETE;
}
