/* The image-set runner: the library's (dmbp_setrun.h: the manifest,
 * --resume, failures, progress; without -O the same ledger without a
 * manifest) fed by the subcommands' per-item functions, with the set's
 * fingerprint from the command line. One process is the library's run
 * alone; under an MPI launcher the same ledger runs on rank 0 and the
 * items in each rank's worker process (src/cli/mpi.c, the transport).
 * Files: runner.c (cli_run: one process, a worker, or MPI), mpi.c (the
 * transport), manifest.c (the library's options: the fingerprint, the
 * item wrapper). Calls go one way: runner.c -> mpi.c -> manifest.c. */
#ifndef DMBP_CLI_RUNNER_H
#define DMBP_CLI_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

#include <dmbp_setrun.h>

struct cli_names;
struct cli_args;

/* One item as the per-item function sees it (dmbp_setrun.h): its index,
 * the manifest fragment and stdout line it writes on success, its status
 * and error on failure. */
typedef dmbp_setrun_item cli_item;

/* Compute item it->index (outputs written, atomically, before it returns)
 * and describe it. Returns EXIT_OK when the item was handled, failed or
 * not (it->status, set by cli_item_failed); any other value stops the
 * whole run with that status (out of memory, the model cannot be loaded). */
typedef int (*cli_item_fn)(void *ctx, cli_item *it);

/* Record in it that the item failed with exit status rc: the message
 * printed for it (cli_captured), else the library's last error. Returns
 * what the item function returns for it: EXIT_OK (the run goes on), or rc
 * itself for EXIT_INTERNAL and EXIT_USAGE (a problem of the command line
 * that only an image revealed is every image's: the run stops). */
int cli_item_failed(cli_item *it, int rc);

typedef struct cli_runner {
    const char *const *inputs;  /* item names, as recorded in the manifest */
    int n;
    const char *dir;            /* the output directory, holding the
                                   manifest; NULL: no manifest (--resume
                                   and outputs are the caller's, and the
                                   run's status is its first failed
                                   item's) */
    bool resume;                /* skip items the manifest proves done */
    bool quiet;                 /* no progress */
    bool json;                  /* stdout: the manifest lines, not text */
    int max_failures;           /* stop after this many (0: no limit) */
    int chunk;                  /* items handed to a rank at a time */
    bool local;                 /* in this process even under an MPI
                                   launcher (a run without -O) */
    cli_item_fn fn;
    void *ctx;
    /* Item index's output paths, appended to *out (a cli_names): what
     * --resume requires a record to list, and what is checked before any
     * work (never an input; an existing file the set did not list only
     * with force). NULL: items write no file of their own (eval). */
    int (*outputs)(void *ctx, int index, struct cli_names *out);
    /* In the ledger's process (one process, or rank 0), for every item
     * done: its whole manifest line (a fresh item's, or the record that
     * proved it done under --resume). NULL: not needed. Returns an exit
     * status, or -1 for a record whose results do not read back: --resume
     * then computes the item again. */
    int (*record)(void *ctx, int index, const char *line);
    /* The command line and the model: --force, the run's other inputs
     * (the model, --labels, --targets, an --images list: never
     * overwritten, not even by the manifest), and the set's fingerprint
     * (manifest.h), with fp_extra's (key, value) pairs: --resume refuses
     * a manifest of another set. */
    const struct cli_args *args;
    const char *model;
    const char *const *fp_extra;
    int n_fp_extra;
} cli_runner;

/* Images handed to a rank at a time (--chunk): small, so that slow images
 * do not leave ranks idle; the scheduling cost per image is small next to
 * any explanation (docs/cluster.md). */
#define CLI_DEFAULT_CHUNK 2

/* Exit status of a run that completed but lost or failed some images. */
#define EXIT_INCOMPLETE 8

/* Run every item (see dmbp(1), "Image sets"). Chooses by itself: a worker
 * process of an MPI rank (DMBP_MPI_WORKER set), an MPI run (launched by
 * mpirun/srun and built with MPI), or this process alone. */
int cli_run(const cli_runner *b);
/* After cli_run: true in the process that kept the ledger (one process,
 * or rank 0), the one that reports on the whole set. */
bool cli_run_reports(void);

/* One output file per image, for the subcommands whose set mode writes a
 * single file per image (predict, masks): *out gets n malloc'ed paths
 * DIR/<stem of image i><suffix>. Before any work: two images of one stem
 * are a usage error naming both; DIR is created (the ledger checks the
 * files themselves, cli_manifest_open). Message printed and status
 * returned on failure; free with cli_set_paths_free either way. */
int cli_set_paths(const char *dir, const char *const *images, int n,
                  const char *suffix, char ***out);
/* The outputs callback of such a set: ctx's first member is the paths. */
int cli_set_paths_outputs(void *ctx, int index, struct cli_names *out);
void cli_set_paths_free(char **paths, int n);

/* ---- the library's options (manifest.c) -------------------------------- */

/* The library's options for b (dmbp_setrun.h), with what they point to:
 * the set's fingerprint and the protected inputs (only for the ledger's
 * process: ledger), the item wrapper's state. */
typedef struct cli_setrun {
    dmbp_setrun_options o;
    const cli_runner *b;
    struct cli_names *fp;  /* keys and values, interleaved */
    const char *protect[4];
    long die_after, finished; /* test hook: DMBP_TEST_DIE_AFTER (worker) */
} cli_setrun;
/* Message printed and status returned on failure; free with
 * cli_setrun_free either way. ranks: 0 for one process. */
int cli_setrun_init(const cli_runner *b, bool ledger, int ranks,
                    cli_setrun *s);
void cli_setrun_free(cli_setrun *s);
/* The run's exit status from the library's status and summary. */
int cli_setrun_exit(const cli_runner *b, dmbp_status st,
                    const dmbp_setrun_summary *sum);

/* The fingerprint of a set computed by subcommand a->cmd_name from model
 * (manifest.c), as interleaved (key, value) pairs appended to kv: the
 * library's version, the model file's hash, every option given that can
 * change a result (files such as --labels and --targets by their
 * contents' hash), the target rule, and extra (key, value) pairs
 * (explain: the method). Message printed and status returned on failure. */
int cli_set_fingerprint(const struct cli_args *a, const char *model,
                        const char *const *extra, int n_extra,
                        struct cli_names *kv);

/* ---- MPI (mpi.c) ------------------------------------------------------- */

/* The run over MPI ranks; -1 when this is not an MPI run (not built with
 * MPI, or no launcher). *reports: this rank keeps the ledger. */
int cli_mpi_run(const cli_runner *b, bool *reports);
/* The name of the launcher variable that made this an MPI run, or NULL. */
const char *cli_mpi_launcher(void);
/* Ranks of the job the launcher started (1 without a launcher, or when
 * the launcher does not say). */
int cli_launcher_ranks(void);
/* The subcommands without an image-set mode in use (no -O) would do the
 * same work on every rank: under a launcher with several ranks, rank 0
 * says so and every rank returns EXIT_USAGE; else EXIT_OK. */
int cli_refuse_replicated(const char *cmd);

/* main()'s argv, for re-executing the program as a worker. */
extern char **cli_argv;

#endif
